"""Oracle operator settings: a TOML file validated at start-up (pydantic models: unknown
tables and keys refused, every problem listed at once; config/oracle.example.toml documents
every key). Keys never sit in the config: it names an encrypted keystore (eth-account /
`ape accounts export` format) and where the password comes from (a file or an environment
variable). Relative paths are relative to the config file's folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from pydantic import Field, ValidationInfo, field_validator, model_validator

from oracle.protocol.compute import DEFAULT_PARAMS, DEVICE_S, MAX_N, Params
from oracle.protocol.coverage import MAX_REVEAL_AFTER_S, CoverageParams
from oracle.tomlconfig import HttpUrl, Section, read_toml, resolve, validate


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the field."""


@dataclass(frozen=True)
class ChallengeSettings:
    concurrency: int = 64
    timeout_s: float = 5.0
    max_response_bytes: int = 8 << 20  # a compute reveal at n = 8192 is about 3.3 MB
    # The compute challenges' size (oracle.protocol.compute.Params): seconds of the claimed
    # class's work per device, and the widest matrix. Every member must use the same.
    compute: Params = DEFAULT_PARAMS
    storage_deadline_s: float = 2.0
    attempts: int = 4  # tries (each a fresh challenge) before "no answer"
    backoff_s: float = 0.5  # before the second try, doubled before each later one
    # A node that answered nothing is challenged again this long after the first sweep (absent:
    # a third of the epoch; 0: never): Offline needs silence at two moments of the epoch.
    recheck_after_s: float | None = None
    # Share of the wireless nodes that beacon each epoch; every member must use the same one
    # (the beacon schedule follows it).
    beacon_fraction: float = CoverageParams().beacon_fraction
    # A beacon's secret is asked for this long after its beacon request; witness lists that
    # reach this member later count for nothing (oracle.protocol.coverage, "A secret only the
    # air carries"). Longer than the witness lists take to gather, retries included.
    beacon_reveal_after_s: float = CoverageParams().reveal_after_s


@dataclass(frozen=True)
class CommitteeConfig:
    """[committee]: the other members' API URLs, by operator address. Empty: this operator
    reports alone (a committee of one, or local cosigners in tests)."""

    peers: dict[str, str]
    leader_timeout_s: float = 30.0
    request_timeout_s: float = 10.0
    spacing_s: float = 2.5  # members' compute challenges of one node are this far apart


@dataclass(frozen=True)
class Settings:
    rpc_url: str
    deployment: Path
    build_manifest: Path | None
    keystore: Path
    password_file: Path | None
    password_env: str | None
    store_path: Path
    api_host: str
    api_port: int
    challenges: ChallengeSettings
    poll_interval_s: float = 2.0
    committee: CommitteeConfig = CommitteeConfig(peers={})
    # /health reports the operator unhealthy below this balance (it pays for reports)
    min_balance_wei: int = 10**16
    # the JSON-RPC URL /deployment gives browsers (the explorer reads the chain itself)
    public_rpc_url: str | None = None

    def load_key(self):
        """The operator's LocalAccount, decrypted from the keystore."""
        if self.password_file is not None:
            try:
                password = self.password_file.read_text().rstrip("\n")
            except OSError as exc:
                raise ConfigError(f"operator.password_file: cannot read: {exc}") from None
        else:
            password = os.environ.get(self.password_env or "")
            if password is None:
                raise ConfigError(f"operator.password_env: ${self.password_env} is not set")
        try:
            keystore = json.loads(self.keystore.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"operator.keystore: cannot read {self.keystore}: {exc}") from None
        try:
            return Account.from_key(Account.decrypt(keystore, password))
        except ValueError:
            raise ConfigError("operator.keystore: wrong password or corrupt keystore") from None


Positive = Annotated[float, Field(gt=0)]


def _existing(what: str, hint: str = ""):
    """A validator: the path (relative to the config file) must exist."""

    def check(value: str, info: ValidationInfo) -> str:
        path = resolve(info.context["base"], value)
        if not path.exists():
            raise ValueError(f"{path} does not exist{hint}")
        return value

    check.__name__ = f"check_{what}"
    return check


class ChainSection(Section):
    rpc_url: HttpUrl
    deployment: str
    build_manifest: str | None = None
    poll_interval_s: Positive = 2.0
    min_balance_eth: float = Field(0.01, ge=0)

    _deployment = field_validator("deployment")(
        _existing("deployment", " (run `ape run deploy`; it writes deployments/<network>.json)")
    )


class OperatorSection(Section):
    keystore: str
    password_file: str | None = None
    password_env: str | None = None

    _keystore = field_validator("keystore")(_existing("keystore", " (an eth-account keystore)"))

    @model_validator(mode="before")
    @classmethod
    def _no_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "private_key" in data:
            raise ValueError("private_key: keys never go in the config; use a keystore")
        return data

    @model_validator(mode="after")
    def _one_password(self) -> OperatorSection:
        if (self.password_file is None) == (self.password_env is None):
            raise ValueError("set exactly one of password_file and password_env")
        return self


class StoreSection(Section):
    path: str


class ApiSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(8700, ge=0, lt=65536)
    # What /deployment tells browsers (the explorer) to read the chain through. Default:
    # _local_rpc (the chain's rpc_url only when it and this API are on this machine and it has no
    # credentials), else none: a provider's URL often carries an API key, which must not be
    # published.
    public_rpc_url: HttpUrl | None = None


class ChallengesSection(Section):
    concurrency: int = Field(64, gt=0, le=4096)
    timeout_s: Positive = 5.0
    max_response_bytes: int = Field(8 << 20, ge=1024, le=64 << 20)
    compute_device_s: float = Field(DEVICE_S, gt=0, le=60)
    compute_max_n: int = Field(MAX_N, ge=8, le=MAX_N, multiple_of=8)
    storage_deadline_s: Positive = 2.0
    attempts: int = Field(4, ge=1, le=10)
    backoff_s: float = Field(0.5, ge=0, le=60)
    recheck_after_s: float | None = Field(None, ge=0, le=86_400)
    beacon_fraction: float = Field(CoverageParams().beacon_fraction, gt=0, le=1)
    beacon_reveal_after_s: float = Field(
        CoverageParams().reveal_after_s, gt=0, le=MAX_REVEAL_AFTER_S
    )


class CommitteeSection(Section):
    peers: dict[str, HttpUrl] = {}
    leader_timeout_s: Positive = 30.0
    request_timeout_s: Positive = 10.0
    spacing_s: float = Field(2.5, ge=0, le=60)

    @field_validator("peers", mode="before")
    @classmethod
    def _table(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("[peers] must be a table of operator address = API URL")
        for member in value:
            if not is_address(member):
                raise ValueError(f"{member!r} is not an address")
        return value


class OracleConfig(Section):
    """oracle.toml."""

    chain: ChainSection
    operator: OperatorSection
    store: StoreSection
    api: ApiSection = ApiSection()
    challenges: ChallengesSection = ChallengesSection()
    committee: CommitteeSection = CommitteeSection()


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _local_rpc(rpc_url: str, api_host: str) -> str | None:
    """The chain's URL, published to browsers by default only when it and the API are both on
    this machine (a remote visitor's 127.0.0.1 is another machine) and it carries no
    credentials."""
    url = urlparse(rpc_url)
    if url.hostname in LOOPBACK and api_host in LOOPBACK and not (url.username or url.password):
        return rpc_url
    return None


def load_settings(path: str | Path) -> Settings:
    path = Path(path)
    cfg: OracleConfig = validate(OracleConfig, read_toml(path, ConfigError), path, ConfigError)
    base = path.parent
    chain, op, ch, cm = cfg.chain, cfg.operator, cfg.challenges, cfg.committee
    return Settings(
        committee=CommitteeConfig(
            peers={to_checksum_address(m): u for m, u in cm.peers.items()},
            leader_timeout_s=cm.leader_timeout_s,
            request_timeout_s=cm.request_timeout_s,
            spacing_s=cm.spacing_s,
        ),
        rpc_url=chain.rpc_url,
        deployment=resolve(base, chain.deployment),
        build_manifest=resolve(base, chain.build_manifest) if chain.build_manifest else None,
        keystore=resolve(base, op.keystore),
        password_file=resolve(base, op.password_file) if op.password_file else None,
        password_env=op.password_env,
        store_path=resolve(base, cfg.store.path),
        api_host=cfg.api.host,
        api_port=cfg.api.port,
        public_rpc_url=cfg.api.public_rpc_url or _local_rpc(chain.rpc_url, cfg.api.host),
        poll_interval_s=chain.poll_interval_s,
        min_balance_wei=int(chain.min_balance_eth * 10**18),
        challenges=ChallengeSettings(
            concurrency=ch.concurrency,
            timeout_s=ch.timeout_s,
            max_response_bytes=ch.max_response_bytes,
            compute=Params(device_s=ch.compute_device_s, max_n=ch.compute_max_n),
            storage_deadline_s=ch.storage_deadline_s,
            attempts=ch.attempts,
            backoff_s=ch.backoff_s,
            recheck_after_s=ch.recheck_after_s,
            beacon_fraction=ch.beacon_fraction,
            beacon_reveal_after_s=ch.beacon_reveal_after_s,
        ),
    )
