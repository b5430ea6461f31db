"""Gate on a slither JSON report: every high- or medium-impact finding must be listed in the
baseline file, keyed by (detector, contract, function) so that moving code does not break it.

Baseline lines: `detector Contract function  # reason`, where function is the signature slither
prints (for a finding on a state variable, the variable's name; `-` for a contract-level
finding). Blank lines and lines starting with # are ignored.

Exit status: 0 when every high/medium finding is triaged, 1 when some are not, 2 when slither
produced no usable report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

GATED = ("High", "Medium")


def finding_key(result: dict) -> tuple[str, str, str]:
    """(detector, contract, function) of a slither result: the first element's enclosing
    function and contract ('-' where there is none)."""
    contract, function = "-", "-"
    for element in result.get("elements", []):
        kind = element.get("type")
        parent = element.get("type_specific_fields", {}).get("parent", {})
        if kind == "function":
            function = element.get("type_specific_fields", {}).get("signature", element["name"])
            contract = parent.get("name", "-")
            break
        if parent.get("type") == "function":
            function = parent.get("type_specific_fields", {}).get("signature", parent["name"])
            contract = parent.get("type_specific_fields", {}).get("parent", {}).get("name", "-")
            break
        if parent.get("type") == "contract":
            # A state variable (or other member) finding: keyed by the member's name.
            contract, function = parent.get("name", "-"), element.get("name", "-")
            break
        if kind == "contract":
            contract = element.get("name", "-")
            break
    return (result["check"], contract, function)


def load_baseline(path: Path) -> dict[tuple[str, str, str], str]:
    entries = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, reason = line.partition("#")
        fields = body.split()
        if len(fields) != 3 or not reason.strip():
            raise SystemExit(f"{path}:{number}: expected 'detector contract function  # reason'")
        entries[tuple(fields)] = reason.strip()
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("baseline", type=Path)
    parser.add_argument("--log", type=Path, help="slither's console output, shown on errors")
    args = parser.parse_args()

    def broken(message: str) -> int:
        print(f"slither: {message}", file=sys.stderr)
        if args.log and args.log.exists():
            print(args.log.read_text()[-4000:], file=sys.stderr)
        return 2

    if not args.report.exists():
        return broken(f"no report at {args.report} (compilation failed?)")
    report = json.loads(args.report.read_text())
    if not report.get("success"):
        return broken(f"slither failed: {report.get('error')}")
    baseline = load_baseline(args.baseline)

    results = report.get("results", {}).get("detectors", [])
    gated = [r for r in results if r.get("impact") in GATED]
    seen = set()
    new = []
    for r in gated:
        key = finding_key(r)
        seen.add(key)
        if key not in baseline:
            new.append((key, r))
    for key in sorted(set(baseline) - seen):
        print(f"slither: baseline entry no longer found (remove it): {' '.join(key)}")
    others = len(results) - len(gated)
    print(
        f"slither: {len(gated)} high/medium finding(s), {len(gated) - len(new)} triaged in "
        f"{args.baseline}, {len(new)} new; {others} low/informational/optimization not gated"
    )
    for (check, contract, function), r in new:
        where = r.get("first_markdown_element", "")
        print(f"NEW [{r['impact']}/{r['confidence']}] {check} {contract} {function}  ({where})")
        print("    " + r.get("description", "").strip().splitlines()[0])
    if new:
        print(
            f"slither: fix these, or triage each in {args.baseline} with a one-line reason",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
