"""TOML config files checked by pydantic models, for the oracle (oracle.toml) and the node
agent (agent.toml): unknown tables and keys are refused (with the nearest known name), every
problem is listed at once, and relative paths are explained (they are relative to the config
file's folder, not to the working directory)."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError


class Section(BaseModel):
    """A config table: unknown keys refused, no silent type coercion (an int is accepted where
    a float is expected, as TOML writes `3` for 3.0)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def read_toml(path: Path, error: type[Exception]) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{path}: no such config file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not valid TOML: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def validate(model: type[BaseModel], raw: dict, path: Path, error: type[Exception]) -> Any:
    """`model` checked against `raw` (the parsed file); every problem in one `error`."""
    try:
        return model.model_validate(raw, context={"base": path.parent})
    except ValidationError as exc:
        problems = [_describe(model, e) for e in exc.errors()]
        raise error(
            f"{path}: {len(problems)} problem{'s' if len(problems) > 1 else ''} "
            f"(relative paths are relative to {path.parent.resolve()}):\n  " + "\n  ".join(problems)
        ) from None


def _describe(model: type[BaseModel], err: dict) -> str:
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "(file)"
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known(model, loc[:-1])
        near = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        table = isinstance(err.get("input"), dict)
        what = f"unknown table [{where}]" if table else f"unknown key {where}"
        hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(sorted(known))}"
        return what + hint
    if kind == "missing":
        return f"{where}: required"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    if kind != "value_error" and not isinstance(got, dict):
        msg += f" (got {got!r})"
    return f"{where}: {msg}"


def _known(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The field names of the table at `loc` (empty where it is not a model)."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return list(getattr(current, "model_fields", {}))


def resolve(base: Path, value: str) -> Path:
    """`value` as a path relative to the config file's folder `base` (~ expanded)."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"an http(s) URL, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
