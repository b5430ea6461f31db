"""Compares a fresh gas report with the committed snapshot (docs/gas.md).

    python tools/gas_compare.py docs/gas.md NEW.md [--tolerance-pct 2]

Every markdown table row whose second cell is a gas figure counts, keyed by the table's
heading and the row's first cell. A row that costs more than the tolerance above the snapshot
fails (exit 1), and so does a row of the snapshot that the new report lacks (the snapshot is
out of date: `make gas` regenerates it); rows that got cheaper by more than the tolerance, or
are new, are listed with a reminder to regenerate."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_NUMBER = re.compile(r"^[\d,]+$")


def rows(text: str) -> dict[str, int]:
    """(heading / first cell) -> the gas in the second cell, for every table row with one."""
    out: dict[str, int] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if "|" in line else []
        if len(cells) >= 2 and _NUMBER.match(cells[1]) and not set(cells[0]) <= {"-", ":", " "}:
            out[f"{heading} / {cells[0]}"] = int(cells[1].replace(",", ""))
    return out


def compare(old: dict[str, int], new: dict[str, int], tolerance_pct: float) -> tuple[list, list]:
    """(failures, notes): lines describing regressions / missing rows, and improvements / new."""
    failures, notes = [], []
    for key, before in old.items():
        if key not in new:
            failures.append(f"missing from the new report: {key}")
            continue
        after = new[key]
        change = 100.0 * (after - before) / before if before else 0.0
        line = f"{key}: {before:,} -> {after:,} ({change:+.2f} %)"
        if change > tolerance_pct:
            failures.append(line)
        elif change < -tolerance_pct:
            notes.append(line)
    notes += [f"new row: {k}: {v:,}" for k, v in new.items() if k not in old]
    return failures, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--tolerance-pct", type=float, default=2.0)
    args = ap.parse_args(argv)
    old, new = rows(args.snapshot.read_text()), rows(args.new.read_text())
    if not old:
        print(f"error: no gas rows in {args.snapshot}", file=sys.stderr)
        return 1
    failures, notes = compare(old, new, args.tolerance_pct)
    for line in notes:
        print(f"  {line}")
    if notes:
        print("Some figures improved or are new: regenerate the snapshot with `make gas`.")
    if failures:
        print(f"Gas regressions above {args.tolerance_pct:g} % (or rows gone):", file=sys.stderr)
        for line in failures:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"gas: {len(old)} rows within {args.tolerance_pct:g} % of {args.snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
