"""/health says why an oracle cannot settle, /metrics follows Prometheus naming (parsed by
prometheus_client's text and OpenMetrics parsers), and the shipped alert rules and dashboard
use only metrics the oracle exports."""

import json
import re

import pytest
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_prom

from oracle.service.api import create_api
from oracle.service.health import BEHIND_EPOCHS, FAILED_PASSES, Health
from oracle.service.metrics import COUNTERS, OracleCollector
from oracle.service.store import Store
from scripts._deploy import ROOT

OPERATOR = "0x" + "aa" * 20
OTHER = "0x" + "bb" * 20


def health(**kw) -> Health:
    return Health(
        OPERATOR, **{"alone": False, "min_balance_wei": 10**16, "stale_after_s": 120.0, **kw}
    )


def test_a_fresh_oracle_is_starting_then_ok_after_a_pass():
    h = health()
    assert h.state() == ("starting", [])
    h.observed(10, 9, 3, [OPERATOR, OTHER], 10**18)
    h.pass_ok()
    assert h.state() == ("ok", [])


def test_repeated_failures_name_the_error_and_the_fix():
    h = health()
    for _ in range(FAILED_PASSES):
        h.pass_failed(RuntimeError("OracleHub reverted NotEnoughSignatures(count=1, threshold=3)"))
    state, problems = h.state()
    assert state == "unhealthy"
    assert "the last 3 pipeline passes failed" in problems[0]
    assert "start the other members" in problems[0]
    h.pass_ok()
    assert h.state() == ("ok", [])


def test_an_operator_alone_against_a_committee_of_three_is_told_so():
    h = health(alone=True)
    h.observed(10, 9, 3, [OPERATOR, OTHER, "0x" + "cc" * 20], 10**18)
    h.pass_ok()
    _, [problem] = h.state()
    assert "runs alone" in problem and "needs 3 signatures" in problem
    h.observed(10, 9, 1, [OPERATOR], 10**18)
    assert h.state() == ("ok", [])


def test_a_hub_behind_a_non_member_and_a_low_balance_are_each_reported():
    h = health()
    h.pass_ok()
    h.observed(20, 20 - BEHIND_EPOCHS - 1, 2, [OTHER], 10**15)
    _, problems = h.state()
    assert any(f"no report for {BEHIND_EPOCHS + 1} ended epochs" in p for p in problems)
    assert any("not in the hub's committee" in p for p in problems)
    assert any("fund " + OPERATOR in p for p in problems)
    h.observed(20, 20 - BEHIND_EPOCHS, 2, [OPERATOR], 10**17)
    assert h.state() == ("ok", [])


def test_a_stuck_loop_and_a_silent_rpc_are_problems():
    h = health()
    h.pass_ok()
    assert h.problems(now=h.last_ok_at + 121) == ["no pipeline pass has completed for 121 s"]
    h.unobserved(ConnectionError("refused"))
    assert h.problems(now=h.last_ok_at)[0].startswith("the chain's RPC does not answer")


@pytest.mark.asyncio
async def test_health_answers_503_with_the_problems_and_metrics_parse(aiohttp_client, tmp_path):
    h = health()
    for _ in range(FAILED_PASSES):
        h.pass_failed(RuntimeError("boom"))
    store = Store(tmp_path / "o.sqlite")
    counts = {"loop_errors": 3, "challenges_storage_failed": 2, "round_seconds": 1.5}
    client = await aiohttp_client(create_api(store, counts, {"operator": OPERATOR}, h))
    r = await client.get("/health")
    body = await r.json()
    assert r.status == 503 and body["status"] == "unhealthy"
    assert body["consecutive_failed_passes"] == FAILED_PASSES and "boom" in body["last_error"]

    text = await (await client.get("/metrics")).text()
    families = {f.name: f for f in parse_prom(text)}
    for name in COUNTERS:
        assert families[f"plinth_oracle_{name}"].type == "counter", name
    assert "# HELP plinth_oracle_loop_errors_total" in text
    assert "plinth_oracle_loop_errors_total 3.0" in text
    assert 'plinth_oracle_challenges_total{kind="storage",result="failed"} 2.0' in text
    assert families["plinth_oracle_healthy"].samples[0].value == 0
    assert families["plinth_oracle_last_round_seconds"].samples[0].value == 1.5
    for family in families.values():
        assert family.documentation, family.name

    r = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    om = {f.name: f for f in parse_om(await r.text())}
    assert om["plinth_oracle_reports_submitted"].type == "counter"
    store.close()


def test_alert_rules_and_dashboard_use_only_exported_metrics():
    collector = OracleCollector({}, health(), lambda: None)
    known = {s.name for family in collector.collect() for s in family.samples} | {"up"}
    assert "plinth_oracle_unsettled_epochs" in known
    rules = yaml.safe_load((ROOT / "docs" / "ops" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((ROOT / "docs" / "ops" / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 8
    for expr in exprs:
        for name in re.findall(r"\b(plinth_oracle_[a-z_]+|up)\b", expr):
            assert name in known, (name, expr)
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"PlinthOracleNoReport", "PlinthOracleProposalsRefused", "PlinthOracleLoopErrors",
            "PlinthOracleLowBalance"} <= alerts  # fmt: skip


def test_every_count_the_oracle_keeps_is_exported():
    """A counter added to the pipeline but not to oracle.service.metrics would never show."""
    from oracle.service.metrics import GAUGES

    used = set()
    for path in (ROOT / "oracle").rglob("*.py"):
        if "bench" not in path.parts:
            used |= set(re.findall(r'metrics\["([a-z_]+)"\]', path.read_text()))
    assert used, "no counts found: the pattern is stale"
    assert used <= set(COUNTERS) | set(GAUGES), used - set(COUNTERS) - set(GAUGES)
