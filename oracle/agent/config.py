"""Agent settings: `agent.toml`, validated at start-up (pydantic models: unknown keys refused,
every problem listed at once; config/agent.example.toml documents every key).

    [agent]
    kind = "storage"              # compute | storage | wireless
    chain_id = 31337
    host = "127.0.0.1"
    port = 8700
    data_dir = "agent-data"       # relative to the config file
    hw_class = 0                  # compute: the class registered in NodeRegistry
    gpu_count = 1                 # compute: the GPU count registered (one stream each)
    backend = "auto"              # compute: auto | cpu | gpu
    max_body_mib = 16
    rpc_url = "http://127.0.0.1:8545"   # storage: the chain the leases are read from
    marketplace = "0x..."         # storage: the Marketplace (deployments/<network>.json)
    oracles = ["0x...", "0x..."]  # wireless: the committee's members (OracleHub.members()):
                                  # only they may hand this node a beacon's secret share
    share_window_s = 10.0         # wireless: transmit at most this long after a first share
    keystore = "node.json"        # eth-account keystore (Account.encrypt), relative to the file
    password_file = "node.pass"   # or: password_env = "PLINTH_NODE_PASSWORD"

The node key is never in the config: only the encrypted keystore and where its password is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from pydantic import Field, field_validator, model_validator

from oracle.protocol.compute import HARDWARE_CLASSES, MAX_STREAMS
from oracle.protocol.hardware import NodeKind
from oracle.tomlconfig import HttpUrl, Section, read_toml, resolve, validate

VERSION = "0.1.0"


class ConfigError(ValueError):
    """A configuration that cannot run; the message says what to fix."""


@dataclass(frozen=True)
class Settings:
    node_key: bytes = field(repr=False)  # 32-byte private key, decrypted from the keystore
    kind: NodeKind
    chain_id: int
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8700
    hw_class: int = 0
    gpu_count: int = 1  # compute: the count registered (challenges for more are refused)
    backend: str = "auto"
    max_body_bytes: int = 16 * 1024 * 1024
    # computations kept between commit and reveal (LRU): members x tries x epochs in flight
    # (4 x 4 x 2); each holds the digests and their tree only (at most a few MB)
    compute_cache: int = 32
    # storage: where an upload is checked against its lease (the Marketplace's terms and the
    # customer's signature; oracle.agent.leases)
    rpc_url: str | None = None
    marketplace: str | None = None
    # wireless: the oracle committee's member addresses; a beacon share signed by anyone else
    # is refused (403). Empty: shares from any signer (tests; a node on a real network sets it,
    # or anyone could make it transmit early, before the members' shares are in).
    oracles: tuple[str, ...] = ()
    share_window_s: float = 10.0  # transmit this long after a beacon's first share at the latest
    # wireless: the radio medium (plinth-radio) and this node's true radio in it
    radio_url: str | None = None
    lat: float | None = None
    lon: float | None = None
    tx_power_dbm: float = 27.0
    antenna_gain_dbi: float = 3.0

    @property
    def address(self) -> str:
        return Account.from_key(self.node_key).address


def read_password(password_file: str | None, password_env: str | None, base: Path) -> str:
    """The keystore's password, from the environment variable or the file (exactly one is set:
    the model checks it)."""
    if password_env is not None:
        if password_env not in os.environ:
            raise ConfigError(
                f"environment variable {password_env} (agent.password_env) is not set"
            )
        return os.environ[password_env]
    path = resolve(base, password_file or "")
    try:
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"cannot read agent.password_file {path}: {exc.strerror}") from None


def load_key(keystore: Path, password: str) -> bytes:
    try:
        encrypted = json.loads(keystore.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read agent.keystore {keystore}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"agent.keystore {keystore} is not JSON") from None
    try:
        return bytes(Account.decrypt(encrypted, password))
    except ValueError as exc:
        raise ConfigError(f"cannot decrypt {keystore}: {exc} (wrong password?)") from None


class AgentSection(Section):
    kind: str
    chain_id: int = Field(ge=1, le=2**64 - 1)
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8700, ge=1, le=65535)
    data_dir: str = Field("agent-data", min_length=1)
    hw_class: int = Field(0, ge=0, le=255)
    gpu_count: int = Field(1, ge=1, le=MAX_STREAMS)
    backend: Literal["auto", "cpu", "gpu"] = "auto"
    max_body_mib: int = Field(16, ge=1, le=1024)
    keystore: str = Field(min_length=1)
    password_file: str | None = Field(None, min_length=1)
    password_env: str | None = Field(None, min_length=1)
    rpc_url: HttpUrl | None = None
    marketplace: str | None = None
    oracles: list[str] = Field([], max_length=64)
    share_window_s: float = Field(10.0, gt=0, le=60)
    radio_url: HttpUrl | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    tx_power_dbm: float = Field(27.0, ge=-10, le=36)
    antenna_gain_dbi: float = Field(3.0, ge=-10, le=20)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        NodeKind.parse(value)  # ValueError names the kinds
        return value

    @field_validator("oracles")
    @classmethod
    def _oracles(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not is_address(a)]
        if bad:
            raise ValueError(f"the committee's member addresses; not addresses: {bad[:3]}")
        return value

    @field_validator("marketplace")
    @classmethod
    def _marketplace(cls, value: str | None) -> str | None:
        if value is not None and not is_address(value):
            raise ValueError(f"must be an address, got {value!r}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> AgentSection:
        problems = []
        if (self.password_file is None) == (self.password_env is None):
            problems.append("set exactly one of agent.password_file and agent.password_env")
        kind = NodeKind.parse(self.kind)
        if kind == NodeKind.COMPUTE and self.hw_class not in HARDWARE_CLASSES:
            problems.append(
                f"agent.hw_class {self.hw_class} unknown: one of {sorted(HARDWARE_CLASSES)}"
            )
        if kind == NodeKind.WIRELESS:  # without a radio every challenge would fail
            problems += [
                f"agent.{key}: required for a wireless agent (its radio: the medium it "
                "transmits and hears through, `make radio` starts plinth-radio, and where the "
                "radio really is)"
                for key in ("radio_url", "lat", "lon")
                if getattr(self, key) is None
            ]
        if kind == NodeKind.STORAGE:  # uploads are checked against the lease on the chain
            problems += [
                f"agent.{key}: required for a storage agent (uploads are checked against "
                "their lease on the chain)"
                for key in ("rpc_url", "marketplace")
                if getattr(self, key) is None
            ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AgentConfig(Section):
    """agent.toml."""

    agent: AgentSection


def parse_settings(raw: dict, base: Path, path: Path | None = None) -> Settings:
    """Settings from a parsed agent.toml whose folder is `base`."""
    cfg: AgentConfig = validate(AgentConfig, raw, path or base / "agent.toml", ConfigError)
    a = cfg.agent
    return Settings(
        node_key=load_key(
            resolve(base, a.keystore), read_password(a.password_file, a.password_env, base)
        ),
        kind=NodeKind.parse(a.kind),
        chain_id=a.chain_id,
        data_dir=resolve(base, a.data_dir),
        host=a.host,
        port=a.port,
        hw_class=a.hw_class,
        gpu_count=a.gpu_count,
        backend=a.backend,
        max_body_bytes=a.max_body_mib * 1024 * 1024,
        rpc_url=a.rpc_url,
        marketplace=a.marketplace,
        oracles=tuple(to_checksum_address(x) for x in a.oracles),
        share_window_s=float(a.share_window_s),
        radio_url=a.radio_url,
        lat=a.lat,
        lon=a.lon,
        tx_power_dbm=a.tx_power_dbm,
        antenna_gain_dbi=a.antenna_gain_dbi,
    )


def load_settings(path: str | Path) -> Settings:
    path = Path(path)
    return parse_settings(read_toml(path, ConfigError), path.parent, path)
