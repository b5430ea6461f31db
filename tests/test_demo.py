"""`make demo`'s network, run as a test: 33 agents (one hostile), a committee of 5 oracles
(threshold 3) of which one stops mid-run and one lies in its bundles, three epochs on anvil.
Every epoch is settled, by the members' signatures; honest nodes end rewarded and never
slashed; every dishonest node ends slashed or unrewarded; the summary has the fields the
README documents. The explorer is checked in Chromium on the same network."""

import asyncio
from dataclasses import replace

import pytest
from explorer_browser import check_explorer, chromium_path

from scripts import _deploy
from scripts._deploy import ROOT, load_params
from scripts.demo import failed_checks, run


def test_demo_settles_three_epochs_rewarding_honest_nodes_and_catching_cheaters(
    params, tmp_path, monkeypatch
):
    """...and, while its network is up, the explorer in a real browser (tests/explorer_browser.py:
    every page, its numbers against the API and the chain, the map, a proof, a claim)."""
    if chromium_path() is None:
        pytest.fail(
            "the explorer's browser test needs Debian's chromium: `apt-get install chromium` "
            "(make test does it as root), or PLINTH_CHROMIUM=/path/to/chromium"
        )
    browser: dict = {}

    async def explore(network: dict) -> None:
        browser.update(await asyncio.to_thread(check_explorer, network))

    record_path = tmp_path / "local.json"
    monkeypatch.setattr(_deploy, "deployment_path", lambda name=None: record_path)
    local = load_params(ROOT / "config" / "local.toml")
    summary = asyncio.run(
        run(
            replace(
                params,
                guardian="deployer",
                treasury="deployer",
                committee=local.committee,
                # The demo runs on the timelocked deployment `make demo` deploys.
                governance_delay=local.governance_delay,
                proposers=local.proposers,
            ),
            3,
            tmp_path / "s.json",
            lambda *_: None,
            explore,
        )
    )
    visited = {route.split("/")[1] for route in browser["pages"]}
    assert visited == {"", "nodes", "node", "epoch", "account"} and browser["claimed"] > 0, browser
    assert summary["chain_id"] == 31337
    # The demo's anvil dies with it: its addresses are in the summary, no record is written.
    assert not record_path.exists()
    assert summary["governance_delay"] == local.governance_delay
    assert "PlinthTimelock" in summary["contracts"]
    assert len(summary["epochs"]) == 3
    committee = {a.lower() for a in summary["committee"]["members"]}
    assert len(committee) == 5 and summary["committee"]["threshold"] == 3
    hostile = summary["committee"]["hostile"].lower()
    assert hostile in committee and hostile != summary["committee"]["stopped"].lower()
    stopped = summary["committee"]["stopped"].lower()
    for e in summary["epochs"]:
        assert {"epoch", "report_tx", "demand", "emissions", "rewards_total", "slashes"} <= set(e)
        assert e["demand"] > 0 and e["rewards_total"] > 0
        assert e["scheme"] == params.scheme
        signers = [s.lower() for s in e["signers"]]
        assert len(signers) >= 3 and set(signers) <= committee and len(set(signers)) == len(signers)
        # the hostile member's invented timeouts make compute-0 disputed: its passes count by
        # the node's signed answers, which the round carries and every signer re-verified
        assert e["evidence"] > 0
    # the stopped member would have led the second epoch: another member took over
    second = summary["epochs"][1]
    assert second["attempt"] >= 1 and second["leader"].lower() != stopped
    assert all(stopped not in [s.lower() for s in e["signers"]] for e in summary["epochs"][1:])
    nodes = summary["nodes"]
    assert len(nodes) >= 30 and {n["kind"] for n in nodes} == {"compute", "storage", "wireless"}
    honest = [n for n in nodes if n["behaviour"] == "honest"]
    cheats = [n for n in nodes if n["behaviour"] != "honest"]
    assert {n["behaviour"] for n in cheats} == {
        "lazy storage",
        "storage withholder",
        "CPU claiming an H100",
        "skipped work",
        "spoofed location",
        "phantom witness",
        "offline mid-run",
        "hostile",
    }
    wronged = [n for n in honest if not (n["rewards"] > 0 and n["slashed"] == 0)]
    assert not wronged, (wronged, summary["epochs"])
    escaped = [n for n in cheats if not (n["slashed"] > 0 or n["rewards"] == 0)]
    assert not escaped, escaped
    assert failed_checks(summary, 3) == []
    assert sum(n["claimed"] for n in nodes) > 0


def test_the_demo_fails_when_its_checks_fail():
    summary = {
        "epochs": [{}, {}],
        "nodes": [
            {"name": "a", "behaviour": "honest", "rewards": 0, "slashed": 0},
            {"name": "b", "behaviour": "honest", "rewards": 5, "slashed": 1},
            {"name": "c", "behaviour": "lazy storage", "rewards": 5, "slashed": 0},
            {"name": "d", "behaviour": "honest", "rewards": 5, "slashed": 0},
        ],
    }
    assert failed_checks(summary, 3) == [
        "2 of 3 epochs settled",
        "honest node a unrewarded",
        "honest node b slashed",
        "lazy storage node c rewarded and not slashed",
    ]
