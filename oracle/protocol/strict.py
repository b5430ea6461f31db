"""Strict JSON at every boundary: the one decoder for bytes from a node, a peer member or an API
client. Pure: no I/O, no clock.

`decode_json(raw, limits)` refuses, with a DecodeError (a ValueError) that names the problem,
before any of the decoded value is used:

- a body over `max_bytes` (checked first, on the raw length), or not UTF-8;
- nesting deeper than `max_depth` (checked on the raw text, before the parser recurses: the
  parser's own recursion guard depends on the interpreter's recursion limit, which py-ecc and
  py-evm raise to 100,000 at import, far past the C stack, so a body of a few thousand `[`
  would otherwise crash the process);
- NaN, Infinity, duplicate object keys;
- more than `max_items` values in all, a string longer than `max_string`, an integer outside
  [-2**255, 2**256) (Python parses integers of any size, and one huge integer reaching float()
  or a fixed-width encoding raises OverflowError far from here).

The message decoders (oracle.protocol.wire, oracle.committee.rules, the API's parameters) then
check each field's type and range; nothing past them does arithmetic on an unchecked number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

INT_MIN, INT_MAX = -(2**255), 2**256 - 1
# A string, its content consumed possessively; an unterminated one runs to the end of the text
# (the parser refuses it later), so one left-to-right pass removes every string in linear time.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class DecodeError(ValueError):
    """Bytes that are not an acceptable message, with the reason."""


@dataclass(frozen=True)
class JsonLimits:
    max_bytes: int = 4 << 20
    max_depth: int = 16
    max_items: int = 1_000_000
    max_string: int = 16 << 20


def _check_depth(text: str, max_depth: int) -> None:
    """Refuses nesting deeper than `max_depth`. Strings are removed first (a bracket inside a
    string is not nesting), then each pass removes every innermost [] and {} pair: text that
    still has brackets after max_depth passes is nested deeper (or unbalanced, which the parser
    refuses anyway). Every pass runs at C speed, so a 4 MiB body costs milliseconds."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets.count("[") != brackets.count("]") or brackets.count("{") != brackets.count("}"):
        raise DecodeError("unbalanced brackets")
    if re.search(rf"[\[{{]{{{max_depth + 1}}}", brackets):  # the common bomb, in one scan
        raise DecodeError(f"nested deeper than {max_depth} levels")
    for _ in range(max_depth):
        if not brackets:
            return
        brackets = brackets.replace("[]", "").replace("{}", "")
    if brackets:
        raise DecodeError(f"nested deeper than {max_depth} levels")


def _no_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not allowed")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise DecodeError("duplicate key in an object")
    return out


def _check_values(value: Any, limits: JsonLimits) -> None:
    stack, count = [value], 0
    while stack:
        v = stack.pop()
        count += 1
        if count > limits.max_items:
            raise DecodeError(f"more than {limits.max_items} values")
        if isinstance(v, dict):
            stack.extend(v.values())
            for k in v:
                if len(k) > limits.max_string:
                    raise DecodeError(f"a key longer than {limits.max_string} characters")
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            if len(v) > limits.max_string:
                raise DecodeError(f"a string longer than {limits.max_string} characters")
        elif isinstance(v, int) and not isinstance(v, bool) and not INT_MIN <= v <= INT_MAX:
            raise DecodeError("an integer out of the 256-bit range")


def decode_json(raw: bytes | bytearray | str, limits: JsonLimits = JsonLimits()) -> Any:
    """The JSON value of `raw`, or DecodeError. See the module docstring for what is refused."""
    if len(raw) > limits.max_bytes:
        raise DecodeError(f"body of {len(raw)} bytes exceeds {limits.max_bytes}")
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("body is not UTF-8") from None
    else:
        text = raw
    _check_depth(text, limits.max_depth)
    try:
        value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_object)
    except DecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; int digits over the limit
        raise DecodeError(f"not JSON: {str(exc)[:120]}") from None
    _check_values(value, limits)
    return value


def nat(value: Any, what: str, upper: int) -> int:
    """`value` if it is an integer (not a bool) in [0, upper]; DecodeError otherwise."""
    if type(value) is not int or not 0 <= value <= upper:
        raise DecodeError(f"{what} must be an integer in [0, {upper}], got {_show(value)}")
    return value


def integer(value: Any, what: str, lower: int, upper: int) -> int:
    """`value` if it is an integer (not a bool) in [lower, upper]; DecodeError otherwise."""
    if type(value) is not int or not lower <= value <= upper:
        raise DecodeError(f"{what} must be an integer in [{lower}, {upper}], got {_show(value)}")
    return value


def number(value: Any, what: str, lower: float, upper: float) -> float:
    """`value` as a float if it is a finite number (int or float, not a bool) in [lower,
    upper]; DecodeError otherwise. Range first, so a huge integer never reaches float()."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (lower <= value <= upper)
    ):
        raise DecodeError(f"{what} must be a number in [{lower}, {upper}], got {_show(value)}")
    return float(value)


def text(value: Any, what: str, max_len: int) -> str:
    """`value` if it is a string of at most `max_len` characters; DecodeError otherwise."""
    if not isinstance(value, str) or len(value) > max_len:
        raise DecodeError(f"{what} must be a string of at most {max_len} characters")
    return value


def items(value: Any, what: str, max_len: int) -> list:
    """`value` if it is a list of at most `max_len` items; DecodeError otherwise."""
    if not isinstance(value, list) or len(value) > max_len:
        raise DecodeError(f"{what} must be a list of at most {max_len} items")
    return value


def _show(value: Any) -> str:
    """A short, safe rendering of a refused value (never the whole of a huge one)."""
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)[:60]
