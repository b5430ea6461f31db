"""tools/gas_compare.py, the CI check of docs/gas.md: pure, no chain."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gas_compare", ROOT / "tools" / "gas_compare.py")
gas_compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gas_compare)


def test_the_committed_snapshot_has_rows_for_every_user_action():
    rows = gas_compare.rows((ROOT / "docs" / "gas.md").read_text())
    actions = {k.split(" / ", 1)[1] for k in rows if k.startswith("Gas per user action / ")}
    for action in ("register (compute node)", "openLease (compute, 4 epochs)", "submitReport k=4",
                   "claim depth 20 (later claim)", "withdraw (one matured entry)"):  # fmt: skip
        assert action in actions
    assert all(v > 21_000 for k, v in rows.items() if k.startswith("Gas per user action"))


def test_a_row_more_than_the_tolerance_dearer_fails_and_within_it_passes(tmp_path):
    old = (
        "# Gas\n\n| action | gas | note |\n| --- | ---: | --- |\n"
        "| a | 100,000 | x |\n| b | 50,000 |  |\n"
    )
    within = old.replace("100,000", "101,999")
    dearer = old.replace("100,000", "102,001")
    cheaper = old.replace("50,000", "40,000")
    gone = old.replace("| b | 50,000 |  |\n", "")
    paths = {}
    for name, text in {"old": old, "within": within, "dearer": dearer, "cheaper": cheaper,
                       "gone": gone}.items():  # fmt: skip
        paths[name] = tmp_path / f"{name}.md"
        paths[name].write_text(text)
    run = lambda new: gas_compare.main([str(paths["old"]), str(paths[new])])  # noqa: E731
    assert run("within") == 0
    assert run("dearer") == 1
    assert run("cheaper") == 0  # an improvement only asks to regenerate
    assert run("gone") == 1
