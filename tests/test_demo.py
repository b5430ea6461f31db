"""`make demo`'s network, run as a test: 30 agents, the oracle, three epochs on anvil. Honest
nodes end rewarded and never slashed; every dishonest node ends slashed or unrewarded; the
summary has the fields the README documents."""

import asyncio
from dataclasses import replace

from scripts import _deploy
from scripts.demo import run


def test_demo_settles_three_epochs_rewarding_honest_nodes_and_catching_cheaters(
    params, tmp_path, monkeypatch
):
    monkeypatch.setattr(_deploy, "deployment_path", lambda name=None: tmp_path / "local.json")
    summary = asyncio.run(
        run(
            replace(params, guardian="deployer", treasury="deployer"),
            3,
            tmp_path / "s.json",
            lambda *_: None,
        )
    )
    assert summary["chain_id"] == 31337
    assert len(summary["epochs"]) == 3
    for e in summary["epochs"]:
        assert {"epoch", "report_tx", "demand", "emissions", "rewards_total", "slashes"} <= set(e)
        assert e["demand"] > 0 and e["rewards_total"] > 0
    nodes = summary["nodes"]
    assert len(nodes) >= 30 and {n["kind"] for n in nodes} == {"compute", "storage", "wireless"}
    honest = [n for n in nodes if n["behaviour"] == "honest"]
    cheats = [n for n in nodes if n["behaviour"] != "honest"]
    assert {n["behaviour"] for n in cheats} == {
        "lazy storage",
        "slow GPU",
        "skipped work",
        "spoofed location",
        "offline mid-run",
    }
    assert all(n["rewards"] > 0 and n["slashed"] == 0 for n in honest), honest
    assert all(n["slashed"] > 0 or n["rewards"] == 0 for n in cheats), cheats
    assert sum(n["claimed"] for n in nodes) > 0
