"""Writes the deployed contracts' ABIs to abi/ (committed, for wallets, cast and the oracle)
from Ape's build manifest, with abi/errors.tsv: every custom error's selector and signature,
so a raw revert selector can be looked up offline (`grep 0x<selector> abi/errors.tsv`).

    python tools/export_abi.py            regenerate abi/ (`make abi` compiles first)
    python tools/export_abi.py --check    exit 1 if abi/ differs from the build (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".build" / "__local__.json"
OUT = ROOT / "abi"
CONTRACTS = (
    "PlinthToken",
    "NodeRegistry",
    "StakingVault",
    "Marketplace",
    "RewardsDistributor",
    "EmissionsController",
    "SlashingManager",
    "OracleHub",
    "PlinthTimelock",
)


def _type(param: dict) -> str:
    """The canonical ABI type of a parameter (tuples spelled out)."""
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + t[len("tuple") :]
    return t


def signature(item: dict) -> str:
    return f"{item['name']}({','.join(_type(p) for p in item.get('inputs', []))})"


def render(manifest: Path = MANIFEST) -> dict[str, str]:
    """File name -> content of every file abi/ should hold."""
    try:
        types = json.loads(manifest.read_text())["contractTypes"]
    except FileNotFoundError:
        sys.exit(f"error: no build manifest at {manifest}: run `make compile` first")
    files: dict[str, str] = {}
    errors: dict[str, tuple[str, set[str]]] = {}
    for name in CONTRACTS:
        if name not in types:
            sys.exit(f"error: {manifest} lacks {name}: run `make compile` first")
        abi = types[name]["abi"]
        files[f"{name}.json"] = json.dumps(abi, indent=1) + "\n"
        for item in abi:
            if item["type"] == "error":
                sig = signature(item)
                selector = "0x" + keccak(text=sig)[:4].hex()
                errors.setdefault(selector, (sig, set()))[1].add(name)
    lines = ["selector\tsignature\tcontracts"]
    for selector, (sig, where) in sorted(errors.items()):
        lines.append(f"{selector}\t{sig}\t{','.join(sorted(where))}")
    files["errors.tsv"] = "\n".join(lines) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if abi/ is not current")
    args = parser.parse_args(argv)
    want = render()
    if args.check:
        have = {p.name: p.read_text() for p in OUT.glob("*")} if OUT.is_dir() else {}
        stale = sorted(n for n in want.keys() | have.keys() if want.get(n) != have.get(n))
        if stale:
            print(f"abi/ is not current ({', '.join(stale)}): run `make abi`", file=sys.stderr)
            return 1
        print(f"abi/: {len(want)} files current")
        return 0
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*"):
        if old.name not in want:
            old.unlink()
    for name, text in want.items():
        (OUT / name).write_text(text)
    print(f"abi/: wrote {len(want)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
