"""Agent settings: `agent.toml`, validated at start-up with clear errors.

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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address

from oracle.protocol.compute import HARDWARE_CLASSES, MAX_STREAMS
from oracle.protocol.hardware import NodeKind

VERSION = "0.1.0"
_KEYS = {
    "kind", "chain_id", "host", "port", "data_dir", "hw_class", "gpu_count", "backend",
    "max_body_mib", "keystore", "password_file", "password_env", "rpc_url", "marketplace",
    "oracles", "share_window_s",
}  # fmt: skip


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

    @property
    def address(self) -> str:
        return Account.from_key(self.node_key).address


def _int(table: dict, key: str, default: Any, lo: int, hi: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"agent.{key} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def _str(table: dict, key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"agent.{key} must be a non-empty string, got {value!r}")
    return value


def read_password(table: dict, base: Path) -> str:
    if ("password_file" in table) == ("password_env" in table):
        raise ConfigError("set exactly one of agent.password_file and agent.password_env")
    if "password_env" in table:
        name = _str(table, "password_env")
        if name not in os.environ:
            raise ConfigError(f"environment variable {name} (agent.password_env) is not set")
        return os.environ[name]
    path = base / _str(table, "password_file")
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


def parse_settings(raw: dict, base: Path) -> Settings:
    table = raw.get("agent")
    if not isinstance(table, dict):
        raise ConfigError("the config needs an [agent] table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown keys in [agent]: {', '.join(unknown)}")
    try:
        kind = NodeKind.parse(_str(table, "kind"))
    except ValueError as exc:
        raise ConfigError(f"agent.kind: {exc}") from None
    hw_class = _int(table, "hw_class", 0, 0, 255)
    if kind == NodeKind.COMPUTE and hw_class not in HARDWARE_CLASSES:
        raise ConfigError(f"agent.hw_class {hw_class} unknown: one of {sorted(HARDWARE_CLASSES)}")
    backend = _str(table, "backend", "auto")
    if backend not in ("auto", "cpu", "gpu"):
        raise ConfigError(f"agent.backend must be auto, cpu or gpu, got {backend!r}")
    rpc_url = marketplace = None
    if kind == NodeKind.STORAGE:  # uploads are checked against the lease on the chain
        rpc_url = _str(table, "rpc_url", None)
        marketplace = _str(table, "marketplace", None)
        if not is_address(marketplace):
            raise ConfigError(f"agent.marketplace must be an address, got {marketplace!r}")
    oracles = table.get("oracles", [])
    if (
        not isinstance(oracles, list)
        or len(oracles) > 64
        or not all(isinstance(a, str) and is_address(a) for a in oracles)
    ):
        raise ConfigError(
            "agent.oracles must be a list of at most 64 addresses (the committee's members)"
        )
    window = table.get("share_window_s", 10.0)
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window <= 60:
        raise ConfigError(f"agent.share_window_s must be a number in (0, 60], got {window!r}")
    password = read_password(table, base)
    return Settings(
        node_key=load_key(base / _str(table, "keystore"), password),
        kind=kind,
        chain_id=_int(table, "chain_id", None, 1, 2**64 - 1),
        data_dir=base / _str(table, "data_dir", "agent-data"),
        host=_str(table, "host", "127.0.0.1"),
        port=_int(table, "port", 8700, 1, 65535),
        hw_class=hw_class,
        gpu_count=_int(table, "gpu_count", 1, 1, MAX_STREAMS),
        backend=backend,
        max_body_bytes=_int(table, "max_body_mib", 16, 1, 1024) * 1024 * 1024,
        rpc_url=rpc_url,
        marketplace=marketplace,
        oracles=tuple(to_checksum_address(a) for a in oracles),
        share_window_s=float(window),
    )


def load_settings(path: str | Path) -> Settings:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_settings(raw, path.parent)
