"""Strict input checks shared by the verifiers (they never raise on bad input, so each check
answers yes or no)."""

from __future__ import annotations

import math
from typing import Any


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
