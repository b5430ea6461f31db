"""Node kinds and hardware claims, as NodeRegistry stores them. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from enum import IntEnum


class NodeKind(IntEnum):
    COMPUTE = 0
    STORAGE = 1
    WIRELESS = 2

    @classmethod
    def parse(cls, name: str | int) -> NodeKind:
        if isinstance(name, int):
            return cls(name)
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown node kind {name!r}: compute, storage or wireless") from None


class NodeStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    ACTIVE = 2
    JAILED = 3
    EXITING = 4
    EXITED = 5


class SlashReason(IntEnum):
    INVALID_COMPUTE = 1
    MISSED_DEADLINE = 2
    STORAGE_AUDIT_FAILED = 3
    LOCATION_SPOOFED = 4
    OFFLINE = 5


def _model(name: str) -> bytes:
    raw = name.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"GPU model must be 1-32 ASCII characters: {name!r}")
    return raw.ljust(32, b"\x00")


@dataclass(frozen=True)
class HardwareClaim:
    """Field for field the contract's HardwareClaim; fields of other kinds stay zero."""

    hw_class: int = 0
    gpu_count: int = 0
    gpu_model: bytes = b"\x00" * 32
    capacity_bytes: int = 0
    h3_cell: int = 0
    lat_e6: int = 0
    lon_e6: int = 0
    tx_power_dbm: int = 0  # tenths of dBm
    antenna_gain_dbi: int = 0  # tenths of dBi

    @classmethod
    def compute(cls, gpu_model: str, gpu_count: int = 1, hw_class: int = 1) -> HardwareClaim:
        return cls(hw_class=hw_class, gpu_count=gpu_count, gpu_model=_model(gpu_model))

    @classmethod
    def storage(cls, capacity_bytes: int) -> HardwareClaim:
        return cls(capacity_bytes=capacity_bytes)

    @classmethod
    def wireless(
        cls,
        lat: float,
        lon: float,
        tx_power_dbm: float = 27.0,
        antenna_gain_dbi: float = 3.0,
        h3_cell: int | None = None,
    ) -> HardwareClaim:
        if h3_cell is None:
            import h3

            h3_cell = int(h3.latlng_to_cell(lat, lon, 8), 16)
        return cls(
            h3_cell=h3_cell,
            lat_e6=round(lat * 1e6),
            lon_e6=round(lon * 1e6),
            tx_power_dbm=round(tx_power_dbm * 10),
            antenna_gain_dbi=round(antenna_gain_dbi * 10),
        )

    def as_tuple(self) -> tuple:
        return astuple(self)
