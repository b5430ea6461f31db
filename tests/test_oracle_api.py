"""The oracle's HTTP API with aiohttp_client over a store holding one scored, reported epoch."""

import pytest
import pytest_asyncio
from eth_account import Account

from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import verify_positional_proof, verify_rewards_proof
from oracle.service.api import create_api
from oracle.service.report import build_epoch, result_leaf
from oracle.service.score import NodeInput, VerdictRecord, score_epoch
from oracle.service.store import Store

EPOCH = 7


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
        create_api(store, {"challenges_compute_passed": 1}, {"operator": "0xop"})
    )


@pytest.mark.asyncio
async def test_claims_serve_a_proof_the_distributor_accepts(client, reported):
    _, build, owner, _, _ = reported
    body = await (await client.get(f"/claims/{owner}")).json()
    assert body["epoch"] == EPOCH and int(body["amount"]) == build.cumulative[owner]
    proof = [bytes.fromhex(p[2:]) for p in body["proof"]]
    assert verify_rewards_proof(build.rewards_tree.root, owner, int(body["amount"]), proof)


@pytest.mark.asyncio
async def test_nodes_explain_an_unrewarded_node_with_its_proven_line(client, reported):
    _, build, _, _, bad = reported
    [entry] = (await (await client.get(f"/nodes/{bad}")).json())["epochs"]
    assert (entry["epoch"], entry["reason"], entry["reward"]) == (EPOCH, "late", 0)
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
    assert (await (await client.get("/health")).json())["latest_epoch"] == EPOCH
    assert (
        "plinth_oracle_challenges_compute_passed 1" in await (await client.get("/metrics")).text()
    )


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
