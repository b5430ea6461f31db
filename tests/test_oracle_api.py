"""The oracle's HTTP API with aiohttp_client over a store holding one scored, reported epoch."""

import asyncio
import json
import os
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import pytest_asyncio
import yarl
from aiohttp.test_utils import TestServer
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import verify_positional_proof, verify_rewards_proof
from oracle.service.api import create_api
from oracle.service.health import Health
from oracle.service.report import build_epoch, result_leaf
from oracle.service.score import NodeInput, VerdictRecord, score_epoch
from oracle.service.store import Store

EPOCH = 7


def fresh_health() -> Health:
    return Health("0xop", alone=True, min_balance_wei=0, stale_after_s=600.0)


@pytest.fixture
def reported(tmp_path):
    owner, other = Account.create().address, Account.create().address
    good, bad = Account.create().address, Account.create().address
    ok = VerdictRecord("0x" + "01" * 32, True, "ok", latency_s=0.1, deadline_s=1.0)
    late = VerdictRecord("0x" + "02" * 32, False, "late", latency_s=2.0, deadline_s=1.0)
    nodes = [
        NodeInput(good, owner, NodeKind.COMPUTE, (ok,), hw_class=0, gpu_count=1),
        NodeInput(bad, other, NodeKind.COMPUTE, (late,), hw_class=0, gpu_count=1),
    ]
    results = score_epoch(EPOCH, nodes, 1_000 * 10**18)
    build = build_epoch(EPOCH, 1, results, {})
    store = Store(tmp_path / "o.sqlite")
    store.schedule_epoch(EPOCH, b"\x05" * 32)
    store.advance_epoch(EPOCH, "scheduled", "challenged")
    store.save_scores(EPOCH, results)
    store.create_report(
        EPOCH,
        b"\x09" * 32,
        build.report_json(),
        build.rewards_entries_json(),
        build.results_file,
        build.report.results_root,
    )
    return store, build, owner, good, bad


@pytest_asyncio.fixture
async def client(aiohttp_client, reported):
    store = reported[0]
    return await aiohttp_client(
        create_api(store, {"challenges_compute_passed": 1}, {"operator": "0xop"}, fresh_health())
    )


@pytest.mark.asyncio
async def test_claims_serve_a_proof_the_distributor_accepts(client, reported):
    _, build, owner, _, _ = reported
    body = await (await client.get(f"/claims/{owner}")).json()
    assert body["epoch"] == EPOCH and int(body["amount"]) == build.cumulative[owner]
    proof = [bytes.fromhex(p[2:]) for p in body["proof"]]
    assert verify_rewards_proof(build.rewards_tree.sealed_root, owner, int(body["amount"]), proof)


@pytest.mark.asyncio
async def test_nodes_explain_an_unrewarded_node_with_its_proven_line(client, reported):
    _, build, _, _, bad = reported
    [entry] = (await (await client.get(f"/nodes/{bad}")).json())["epochs"]
    assert (entry["epoch"], entry["reason"], entry["reward"]) == (EPOCH, "late", "0")
    proof = entry["proof"]
    assert verify_positional_proof(
        build.report.results_root,
        len(build.node_lines),
        proof["index"],
        result_leaf(entry["line"].encode()),
        [bytes.fromhex(p[2:]) for p in proof["siblings"]],
    )


@pytest.mark.asyncio
async def test_epoch_results_health_and_metrics(client, reported):
    _, build, _, _, _ = reported
    epoch = await (await client.get(f"/epochs/{EPOCH}")).json()
    assert epoch["state"] == "reported" and epoch["report"]["digest"] == "0x" + "09" * 32
    assert await (await client.get(f"/epochs/{EPOCH}/results")).read() == build.results_file
    health = await client.get("/health")
    assert health.status == 200
    assert (await health.json())["latest_epoch"] == EPOCH
    assert (await health.json())["status"] == "starting"  # no pipeline pass yet
    text = await (await client.get("/metrics")).text()
    assert 'plinth_oracle_challenges_total{kind="compute",result="passed"} 1.0' in text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nodes/0x12", 400),
        ("/claims/nope", 400),
        ("/epochs/-1", 400),
        ("/epochs/99", 404),
        (f"/nodes/{'0x' + '11' * 20}", 404),
        (f"/claims/{'0x' + '11' * 20}", 404),
    ],
)
async def test_bad_or_unknown_requests_get_clear_errors(client, path, status):
    resp = await client.get(path)
    assert resp.status == status and "error" in await resp.json()


# Every route, hostile requests (Hypothesis): any path segment (percent-encoded, so it stays one
# segment and reaches the handler decoded), query, method and body. The API answers each with a
# client error or a normal answer, never a server error, and goes on serving the real answers.
ROUTES = [
    "/health",
    "/metrics",
    "/deployment",
    "/epochs",
    "/nodes",
    "/epochs/{}",
    "/epochs/{}/results",
    "/epochs/7/proofs/{}",
    "/epochs/{}/proofs/0x" + "11" * 20,
    "/nodes/{}",
    "/claims/{}",
    "/explorer/{}",
]
QUERY_KEYS = st.one_of(
    st.sampled_from(["limit", "before", "kind", "status", "reason", "cursor"]), st.text(max_size=20)
)
SEGMENTS = st.one_of(
    st.text(max_size=300),
    st.integers().map(str),
    st.integers(min_value=10**17, max_value=10**400).map(str),
    st.sampled_from(
        ["-1", "0x", "0x" + "zz" * 20, "\uff11\uff12", "7" * 19, "[" * 2000, "%00", "..", ""]
    ),
    st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
)
REQUESTS = settings(
    max_examples=1_000 if os.environ.get("CI") == "true" else 150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_route_answers_hostile_requests_without_a_server_error(reported):
    store, build, owner, good, _ = reported
    loop = asyncio.new_event_loop()
    server = TestServer(
        create_api(store, {}, {"operator": "0xop"}, fresh_health()), host="127.0.0.1"
    )
    loop.run_until_complete(server.start_server())
    http = loop.run_until_complete(_session())
    base = str(server.make_url("")).rstrip("/")

    async def send(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if len(path) > 8_000:
            # Past aiohttp's 8,190-byte request line the server's parser answers 400 and
            # closes; aiohttp's client cannot read that answer, so read it from a socket.
            # (that 400 is aiohttp's own plain-text page, before any route runs)
            return await raw_status(server.port, method, path), b""
        url = yarl.URL(base + path, encoded=True)
        async with http.request(method, url, data=body or None) as r:
            return r.status, await r.read()

    @REQUESTS
    @given(
        route=st.sampled_from(ROUTES),
        segment=SEGMENTS,
        query=st.dictionaries(QUERY_KEYS, st.one_of(SEGMENTS, st.text(max_size=60)), max_size=3),
        method=st.sampled_from(["GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]),
        body=st.one_of(st.just(b""), st.binary(max_size=2048), st.just(b"[" * 100_000)),
    )
    def one(route, segment, query, method, body):
        path = route.format(quote(segment, safe=""))
        if query:
            path += "?" + urlencode(query)
        status, raw = loop.run_until_complete(send(method, path, body))
        assert status < 500, (method, path, status, raw[:200])
        if status == 400 and method != "HEAD" and len(path) <= 8_000:
            assert "error" in json.loads(raw)

    try:
        one()
        # a request line past the parser's limit is refused before any route runs
        status, _ = loop.run_until_complete(send("GET", "/epochs/" + "%5B" * 3_000, b""))
        assert status == 400
        # still serving the real answers
        status, raw = loop.run_until_complete(send("GET", f"/claims/{owner}", b""))
        assert status == 200 and int(json.loads(raw)["amount"]) == build.cumulative[owner]
        status, _ = loop.run_until_complete(send("GET", f"/nodes/{good}", b""))
        assert status == 200
    finally:
        loop.run_until_complete(http.close())
        loop.run_until_complete(server.close())
        loop.close()


async def raw_status(port: int, method: str, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
    return int(line.split()[1])


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


# ---------------------------------------------------------------- conventions, lists, caching


@pytest.mark.asyncio
async def test_amounts_are_decimal_strings_and_keys_snake_case(client, reported):
    """A JSON number above 2^53 changes in JavaScript's JSON.parse; amounts are strings."""
    _, build, owner, good, _ = reported
    report = (await (await client.get(f"/epochs/{EPOCH}")).json())["report"]
    assert report["total_rewards"] == str(build.report.total_rewards)
    assert int(report["total_rewards"]) > 2**53
    assert {"committee_version", "rewards_root", "results_root", "failed_demand"} <= set(report)
    assert not any(c.isupper() for key in report for c in key)
    [entry] = (await (await client.get(f"/nodes/{good}")).json())["epochs"]
    assert entry["reward"] == str(build.cumulative[owner])  # the owner's only node, one epoch
    listed = (await (await client.get("/epochs")).json())["epochs"]
    assert listed[0]["total_rewards"] == report["total_rewards"]


@pytest.mark.asyncio
async def test_list_endpoints_page_and_filter(aiohttp_client, reported):
    store, _, _, good, bad = reported
    for e in range(EPOCH + 1, EPOCH + 6):
        store.schedule_epoch(e, bytes([e]) * 32)
    snapshot = {
        good.lower(): SimpleNamespace(status=2, eligible=True, region=840, kind=0),  # active
        bad.lower(): SimpleNamespace(status=3, eligible=False, region=840, kind=0),  # jailed
    }
    record = {"chain_id": 31337, "genesis": 1, "epoch_duration": 60, "contracts": {"X": good}}
    client = await aiohttp_client(
        create_api(
            store,
            {},
            {"operator": "0xop"},
            fresh_health(),
            deployment_=record,
            chain_nodes=lambda: snapshot,
        )
    )
    page = await (await client.get("/epochs?limit=2")).json()
    assert [e["epoch"] for e in page["epochs"]] == [EPOCH + 5, EPOCH + 4]
    page = await (await client.get(f"/epochs?limit=10&before={page['next_before']}")).json()
    assert [e["epoch"] for e in page["epochs"]] == [EPOCH + 3, EPOCH + 2, EPOCH + 1, EPOCH]
    assert page["next_before"] is None and "digest" in page["epochs"][-1]

    everyone = (await (await client.get("/nodes")).json())["nodes"]
    assert sorted(n["node"] for n in everyone) == sorted([good, bad])
    first = await (await client.get("/nodes?limit=1")).json()
    rest = await (await client.get(f"/nodes?limit=1&cursor={first['next_cursor']}")).json()
    assert [first["nodes"][0]["node"], rest["nodes"][0]["node"]] == [n["node"] for n in everyone]
    jailed = (await (await client.get("/nodes?status=jailed")).json())["nodes"]
    assert [n["node"] for n in jailed] == [bad] and jailed[0]["eligible"] is False
    assert (await (await client.get("/nodes?reason=late")).json())["nodes"][0]["node"] == bad
    assert (await (await client.get("/nodes?kind=storage")).json())["nodes"] == []
    for bad_query in ("kind=gpu", "status=asleep", "limit=0", "limit=99999", "cursor=0x12"):
        r = await client.get(f"/nodes?{bad_query}")
        assert r.status == 400 and "error" in await r.json(), bad_query
    assert await (await client.get("/deployment")).json() == record


@pytest.mark.asyncio
async def test_settled_epochs_are_immutable_for_caches_and_every_origin_may_read(client, reported):
    store = reported[0]
    r = await client.get(f"/epochs/{EPOCH}/results")
    assert r.headers["Cache-Control"] == "no-cache"  # reported, not yet settled on-chain
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    store.advance_epoch(EPOCH, "reported", "submitted")
    store.advance_epoch(EPOCH, "submitted", "confirmed")
    for path in (f"/epochs/{EPOCH}", f"/epochs/{EPOCH}/results"):
        r = await client.get(path)
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
    preflight = await client.options(f"/epochs/{EPOCH}")
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    missing = await client.get("/epochs/99")
    assert missing.status == 404 and missing.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.asyncio
async def test_trees_are_built_once_per_epoch_not_per_request(client, reported, monkeypatch):
    import oracle.service.api as api

    _, build, owner, good, _ = reported
    builds = []
    real = api._build_view
    monkeypatch.setattr(api, "_build_view", lambda report: builds.append(1) or real(report))
    answers = await asyncio.gather(
        *(client.get(f"/claims/{owner}") for _ in range(20)),
        *(client.get(f"/epochs/{EPOCH}/proofs/{good}") for _ in range(20)),
    )
    assert {a.status for a in answers} == {200} and len(builds) == 1
    body = await answers[-1].json()
    assert verify_positional_proof(
        build.report.results_root,
        len(build.node_lines),
        body["proof"]["index"],
        result_leaf(body["line"].encode()),
        [bytes.fromhex(p[2:]) for p in body["proof"]["siblings"]],
    )


@pytest.mark.asyncio
async def test_nodes_carry_wireless_locations_and_the_explorer_is_served(
    aiohttp_client, reported, tmp_path, monkeypatch
):
    from oracle.protocol.hardware import HardwareClaim
    from oracle.service import api as api_module

    store, _, _, good, bad = reported
    cell = 0x8828308285FFFFF
    snapshot = {
        good.lower(): SimpleNamespace(
            status=2,
            eligible=True,
            region=840,
            kind=NodeKind.WIRELESS,
            hardware=HardwareClaim(h3_cell=cell, lat_e6=37_774_900, lon_e6=-122_419_400),
        ),
        bad.lower(): SimpleNamespace(
            status=2, eligible=True, region=840, kind=NodeKind.COMPUTE, hardware=HardwareClaim()
        ),
    }
    built = tmp_path / "explorer"
    monkeypatch.setattr(api_module, "EXPLORER_DIR", built)
    client = await aiohttp_client(
        create_api(store, {}, {"operator": "0xop"}, fresh_health(), chain_nodes=lambda: snapshot)
    )
    nodes = {n["node"]: n for n in (await (await client.get("/nodes")).json())["nodes"]}
    where = {"h3_cell": "8828308285fffff", "lat": 37.7749, "lon": -122.4194}
    assert nodes[good]["location"] == where
    assert nodes[bad]["location"] is None

    r = await client.get("/explorer/")
    assert r.status == 404 and "make explorer" in (await r.json())["error"]
    built.mkdir()
    (built / "index.html").write_text("<!doctype html><title>x</title>")
    (built / "app.js").write_text("export {};")
    r = await client.get("/explorer/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        (await client.get("/explorer/app.js")).headers["Content-Type"].startswith("text/javascript")
    )
    r = await client.get("/", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/explorer/"
    for name in ("secret.txt", "..%2F..%2Fpyproject.toml", "%2e%2e", "..%2Fapi.py"):
        r = await client.get(f"/explorer/{name}", allow_redirects=False)
        assert r.status in (302, 404) and b"[project]" not in await r.read(), name
