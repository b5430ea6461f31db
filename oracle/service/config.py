"""Oracle operator settings: a TOML file validated at start-up. Keys never sit in the config:
it names an encrypted keystore (eth-account / `ape accounts export` format) and where the
password comes from (a file or an environment variable)."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from eth_account import Account
from eth_utils import is_address, to_checksum_address

from oracle.protocol.compute import DEFAULT_PARAMS, DEVICE_S, MAX_N, Params
from oracle.protocol.coverage import MAX_REVEAL_AFTER_S, CoverageParams


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


def _table(raw: dict, name: str) -> dict:
    t = raw.get(name, {})
    if not isinstance(t, dict):
        raise ConfigError(f"[{name}] must be a table")
    return t


def _get(t: dict, where: str, key: str, kind: type, default: Any = ..., check=None) -> Any:
    if key not in t:
        if default is ...:
            raise ConfigError(f"{where}.{key}: required")
        return default
    value = t[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    if check is not None and not check(value):
        raise ConfigError(f"{where}.{key}: out of range: {value!r}")
    return value


def load_settings(path: str | Path) -> Settings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = path.parent

    def rel(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else base / q

    chain, op = _table(raw, "chain"), _table(raw, "operator")
    store, api, ch = _table(raw, "store"), _table(raw, "api"), _table(raw, "challenges")
    rpc_url = _get(chain, "chain", "rpc_url", str)
    if urlparse(rpc_url).scheme not in ("http", "https"):
        raise ConfigError(f"chain.rpc_url: an http(s) URL, got {rpc_url!r}")
    deployment = rel(_get(chain, "chain", "deployment", str))
    if not deployment.exists():
        raise ConfigError(f"chain.deployment: {deployment} does not exist (run `ape run deploy`)")
    manifest = _get(chain, "chain", "build_manifest", str, None)
    keystore = rel(_get(op, "operator", "keystore", str))
    if not keystore.exists():
        raise ConfigError(f"operator.keystore: {keystore} does not exist")
    if "private_key" in op:
        raise ConfigError("operator.private_key: keys never go in the config; use a keystore")
    password_file = _get(op, "operator", "password_file", str, None)
    password_env = _get(op, "operator", "password_env", str, None)
    if (password_file is None) == (password_env is None):
        raise ConfigError("operator: set exactly one of password_file and password_env")
    positive = lambda x: x > 0  # noqa: E731
    cm = _table(raw, "committee")
    peers = _table(cm, "peers") if "peers" in cm else {}
    for member, url in peers.items():
        if not is_address(member):
            raise ConfigError(f"committee.peers: {member!r} is not an address")
        if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
            raise ConfigError(f"committee.peers.{member}: an http(s) URL, got {url!r}")
    committee = CommitteeConfig(
        peers={to_checksum_address(m): u for m, u in peers.items()},
        leader_timeout_s=_get(cm, "committee", "leader_timeout_s", float, 30.0, positive),
        request_timeout_s=_get(cm, "committee", "request_timeout_s", float, 10.0, positive),
        spacing_s=_get(cm, "committee", "spacing_s", float, 2.5, lambda x: 0 <= x <= 60),
    )
    return Settings(
        committee=committee,
        rpc_url=rpc_url,
        deployment=deployment,
        build_manifest=rel(manifest) if manifest else None,
        keystore=keystore,
        password_file=rel(password_file) if password_file else None,
        password_env=password_env,
        store_path=rel(_get(store, "store", "path", str)),
        api_host=_get(api, "api", "host", str, "127.0.0.1"),
        api_port=_get(api, "api", "port", int, 8700, lambda p: 0 <= p < 65536),
        poll_interval_s=_get(chain, "chain", "poll_interval_s", float, 2.0, positive),
        challenges=ChallengeSettings(
            concurrency=_get(ch, "challenges", "concurrency", int, 64, lambda x: 0 < x <= 4096),
            timeout_s=_get(ch, "challenges", "timeout_s", float, 5.0, positive),
            max_response_bytes=_get(
                ch,
                "challenges",
                "max_response_bytes",
                int,
                8 << 20,
                lambda x: 1024 <= x <= 64 << 20,
            ),
            compute=Params(
                device_s=_get(
                    ch, "challenges", "compute_device_s", float, DEVICE_S, lambda x: 0 < x <= 60
                ),
                max_n=_get(
                    ch,
                    "challenges",
                    "compute_max_n",
                    int,
                    MAX_N,
                    lambda x: 8 <= x <= MAX_N and x % 8 == 0,
                ),
            ),
            storage_deadline_s=_get(ch, "challenges", "storage_deadline_s", float, 2.0, positive),
            attempts=_get(ch, "challenges", "attempts", int, 4, lambda x: 1 <= x <= 10),
            backoff_s=_get(ch, "challenges", "backoff_s", float, 0.5, lambda x: 0 <= x <= 60),
            recheck_after_s=_get(
                ch, "challenges", "recheck_after_s", float, None, lambda x: 0 <= x <= 86_400
            ),
            beacon_fraction=_get(
                ch,
                "challenges",
                "beacon_fraction",
                float,
                CoverageParams().beacon_fraction,
                lambda x: 0 < x <= 1,
            ),
            beacon_reveal_after_s=_get(
                ch,
                "challenges",
                "beacon_reveal_after_s",
                float,
                CoverageParams().reveal_after_s,
                lambda x: 0 < x <= MAX_REVEAL_AFTER_S,
            ),
        ),
    )
