"""The committed ABIs (abi/) are the compiled contracts' and name every custom error."""

import csv
import json
import subprocess
import sys

from ape import project
from eth_utils import keccak

from scripts._deploy import ROOT


def test_committed_abis_match_the_compiled_contracts():
    project.load_contracts()  # compiles what changed, refreshing the build manifest
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "export_abi.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_errors_tsv_lists_every_custom_error_with_its_selector():
    rows = list(csv.DictReader((ROOT / "abi" / "errors.tsv").open(), delimiter="\t"))
    listed = {r["signature"] for r in rows}
    for r in rows:
        assert r["selector"] == "0x" + keccak(text=r["signature"])[:4].hex()
    for path in (ROOT / "abi").glob("*.json"):
        for item in json.loads(path.read_text()):
            if item["type"] == "error":
                types = ",".join(i["type"] for i in item["inputs"] if "tuple" not in i["type"])
                if all("tuple" not in i["type"] for i in item["inputs"]):
                    assert f"{item['name']}({types})" in listed, (path.name, item["name"])
    assert "NotEnoughSignatures(uint256,uint256)" in listed
