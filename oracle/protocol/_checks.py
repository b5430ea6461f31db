"""Shared by the verifiers: strict input checks (they never raise on bad input, so each check
answers yes or no) and the sampling arithmetic of spot checks."""

from __future__ import annotations

import math
from typing import Any

from eth_utils import keccak


def is_int(x: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_seconds(x: Any) -> bool:
    """A finite, non-negative duration in seconds."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def node_bytes(node: Any) -> bytes | None:
    """The 20 bytes of a 0x-address string, or None if it is not one."""
    if not isinstance(node, str) or len(node) != 42 or node[:2] not in ("0x", "0X"):
        return None
    try:
        return bytes.fromhex(node[2:])
    except ValueError:
        return None


def samples_needed(survive: float, probability: float) -> int:
    """The smallest k with 1 - survive^k >= probability: how many independent spot checks catch
    a cheater that each check misses with probability `survive` (0 < survive < 1)."""
    if not 0 < survive < 1 or not 0 <= probability < 1:
        raise ValueError(f"need 0 < survive < 1 and 0 <= p < 1, got {survive}, {probability}")
    k = max(0, math.ceil(math.log1p(-probability) / math.log(survive)))
    while 1 - survive**k < probability:  # guards rounding
        k += 1
    return k


def distinct_indices(prefix: bytes, n: int, k: int) -> list[int]:
    """The first k distinct values of uint256(keccak256(prefix || uint32(j))) mod n, j = 0, 1, ...
    in order of appearance (k <= n)."""
    chosen: list[int] = []
    seen: set[int] = set()
    j = 0
    while len(chosen) < k:
        x = int.from_bytes(keccak(prefix + j.to_bytes(4, "big")), "big") % n
        if x not in seen:
            seen.add(x)
            chosen.append(x)
        j += 1
    return chosen
