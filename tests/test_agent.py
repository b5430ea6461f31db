"""The node agent over HTTP (aiohttp_client) against the pure verifiers, and the storage proof:
honest agents pass, each dishonest behaviour fails with its reason code, malformed requests get
400, a response for one epoch does not verify as another, stored data survives a restart."""

from __future__ import annotations

import asyncio
import json
import os
import time

import aiohttp
import numpy as np
import pytest
from aiohttp import ClientTimeout
from eth_account import Account
from eth_utils import keccak
from plinth_testlib import serving

from oracle.agent import ConfigError, LeaseTerms, Settings, TableLeases, create_app, load_settings
from oracle.agent.app import AGENT
from oracle.agent.radio import HttpRadio
from oracle.protocol import compute, storage, wire
from oracle.protocol.coverage import (
    RadioClaim,
    beacon_secret,
    schedule_beacons,
    share_signer,
    sign_share,
    validate_witnesses,
)
from oracle.protocol.eip712 import data_receipt_signer
from oracle.protocol.envelope import EnvelopeError, SignedResponse, challenge_id, verify_response
from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree, verify_chunk_proof
from oracle.service.challenge import Limits, challenge_storage
from oracle.sim.air import airwaves_for
from oracle.sim.behaviours import (
    Honest,
    LazyStorage,
    Offline,
    RemoteStore,
    SkipWork,
    SlowGpu,
    WithholdStorage,
)
from oracle.sim.radio import Radio, RadioMedium
from oracle.sim.radio_service import create_radio_app

CHAIN = 31337
MARKET = "0x" + "4d" * 20  # the Marketplace the customers' LeaseData signatures name
CUSTOMER = Account.create()
aio = pytest.mark.asyncio


def settings_for(tmp_path, kind: NodeKind, hw_class: int = 0, key: bytes | None = None, **kw):
    return Settings(
        node_key=key or bytes(Account.create().key),
        kind=kind,
        chain_id=CHAIN,
        data_dir=tmp_path / "data",
        hw_class=hw_class,
        **{"marketplace": MARKET, **kw},
    )


async def post(client, path: str, body) -> tuple[int, dict, float]:
    started = time.perf_counter()
    resp = await client.post(path, data=json.dumps(body))
    payload = await resp.json()
    return resp.status, payload, time.perf_counter() - started


def opened(wire_body: dict, cid: bytes, node: str):
    return verify_response(SignedResponse.from_wire(wire_body), CHAIN, cid, node)


def h(raw: bytes) -> str:
    return "0x" + raw.hex()


# --- compute ----------------------------------------------------------------------------------


TINY = compute.Params(device_s=1e-6, max_n=64)  # the CPU class: 64 rows of 64


def commit_body(shape: compute.Shape, epoch: int = 7, nonce: bytes | None = None, **kw) -> dict:
    body = {
        "epoch": epoch, "nonce": h(nonce or os.urandom(32)), "seed": h(os.urandom(32)),
        "matrix_seed": h(os.urandom(32)), "n": shape.n, "rows": shape.rows,
        "streams": shape.streams, "chain_id": CHAIN,
    }  # fmt: skip
    return {**body, **kw}


async def run_compute(
    client, node: str, hw_class: int, gpu_count: int = 1, params=TINY, epoch: int = 7
) -> compute.Verdict:
    """One challenge as the oracle runs it (oracle.service.challenge.challenge_compute)."""
    shape = compute.shape_for(compute.HARDWARE_CLASSES[hw_class], gpu_count, params)
    nonce, salt = os.urandom(32), os.urandom(32)
    body = commit_body(shape, epoch, nonce)
    status, answer, latency = await post(client, "/compute/commit", body)
    assert status == 200, answer
    cid = challenge_id(CHAIN, node, epoch, "compute", nonce)
    payload = opened(answer, cid, node)
    gave_up = wire.gave_up_from_payload(payload)
    if gave_up is not None:
        return compute.Verdict(False, compute.Reason.LATE, detail=gave_up)
    commitment = wire.commitment_from_payload(payload)
    status, answer, _ = await post(
        client, "/compute/reveal", {"challenge_id": h(cid), "salt": h(salt), "k": compute.DEFAULT_K}
    )
    assert status == 200, answer
    reveal = wire.reveal_from_payload(opened(answer, cid, node))
    challenge = compute.Challenge(
        bytes.fromhex(body["seed"][2:]), bytes.fromhex(body["matrix_seed"][2:]), node, epoch,
        shape.n, shape.rows, shape.streams,
    )  # fmt: skip
    return compute.verify(challenge, commitment, reveal, salt=salt, hw_class=hw_class,
                          gpu_count=gpu_count, commit_latency_s=latency, params=params)  # fmt: skip


@aio
async def test_compute_round_trip_passes_when_honest(aiohttp_client, tmp_path):
    settings = settings_for(tmp_path, NodeKind.COMPUTE, gpu_count=2)
    client = await aiohttp_client(create_app(settings))
    for count in (1, 2):
        verdict = await run_compute(client, settings.address, hw_class=0, gpu_count=count)
        assert verdict.passed, verdict


@aio
async def test_compute_fails_wrong_row_when_work_skipped(aiohttp_client, tmp_path):
    settings = settings_for(tmp_path, NodeKind.COMPUTE)
    client = await aiohttp_client(create_app(settings, SkipWork(fraction=0.5)))
    verdict = await run_compute(client, settings.address, hw_class=0)
    assert (verdict.passed, verdict.reason) == (False, compute.Reason.WRONG_ROW)


@aio
async def test_a_commitment_is_revealed_for_one_salt_only(aiohttp_client, tmp_path):
    """A member that re-asks with new salts until the sample misses a lazy prover's skipped
    rows would hold a "pass" the node signed: the agent reveals each commitment once (the same
    request again gets the same rows, for a retry)."""
    settings = settings_for(tmp_path, NodeKind.COMPUTE)
    client = await aiohttp_client(create_app(settings))
    nonce = os.urandom(32)
    shape = compute.shape_for(compute.HARDWARE_CLASSES[0], 1, TINY)
    assert (await post(client, "/compute/commit", commit_body(shape, nonce=nonce)))[0] == 200
    cid = h(challenge_id(CHAIN, settings.address, 7, "compute", nonce))
    first = {"challenge_id": cid, "salt": h(b"\x01" * 32), "k": compute.DEFAULT_K}
    status, body, _ = await post(client, "/compute/reveal", first)
    assert status == 200
    status, again, _ = await post(client, "/compute/reveal", first)
    assert status == 200 and again == body  # a retry: the same signed rows
    for other in ({**first, "salt": h(b"\x02" * 32)}, {**first, "k": compute.DEFAULT_K - 1}):
        status, refused, _ = await post(client, "/compute/reveal", other)
        assert status == 409 and "another salt or k" in refused["error"]


@aio
async def test_the_reference_agent_on_this_cpu_claiming_an_h100_is_late_at_the_default_size(
    aiohttp_client, tmp_path
):
    # No artificial delay: the honest prover on this machine's CPU, registered as an H100, gets
    # the H100's challenge (2 s of an H100's work, 7.6e14 multiply-accumulates), gives up at
    # the deadline and says so, signed; the oracle records it late.
    settings = settings_for(tmp_path, NodeKind.COMPUTE, hw_class=3)
    client = await aiohttp_client(create_app(settings))
    started = time.perf_counter()
    verdict = await run_compute(client, settings.address, hw_class=3, params=compute.DEFAULT_PARAMS)
    spent = time.perf_counter() - started
    assert (verdict.passed, verdict.reason) == (False, compute.Reason.LATE)
    assert "gave up" in verdict.detail
    shape = compute.shape_for(compute.HARDWARE_CLASSES[3], 1)
    assert spent < compute.deadline_s(shape, compute.HARDWARE_CLASSES[3]) + 5


@aio
async def test_compute_fails_late_when_the_answer_comes_after_the_deadline(
    aiohttp_client, tmp_path
):
    settings = settings_for(tmp_path, NodeKind.COMPUTE)
    shape = compute.shape_for(compute.HARDWARE_CLASSES[0], 1, TINY)
    slow = SlowGpu(delay_s=compute.deadline_s(shape, compute.HARDWARE_CLASSES[0]) + 0.1)
    client = await aiohttp_client(create_app(settings, slow))
    verdict = await run_compute(client, settings.address, hw_class=0)
    assert (verdict.passed, verdict.reason) == (False, compute.Reason.LATE)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"streams": 2}, "streams: this node has 1 GPUs"),
        ({"rows": compute.MAX_ROWS}, "s of a cpu's work"),
    ],
)
@aio
async def test_compute_commit_400_when_the_challenge_is_more_than_the_claim(
    aiohttp_client, tmp_path, change, needle
):
    # The route is open to anyone: nobody buys more of the node's devices than its claim.
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.COMPUTE)))
    shape = compute.shape_for(compute.HARDWARE_CLASSES[0], 1, TINY)
    status, body, _ = await post(client, "/compute/commit", commit_body(shape, **change))
    assert status == 400 and needle in body["error"]


@aio
async def test_compute_reveal_404_when_commitment_unknown(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.COMPUTE)))
    body = {"challenge_id": h(b"\x01" * 32), "salt": h(b"\x02" * 32), "k": 4}
    status, payload, _ = await post(client, "/compute/reveal", body)
    assert status == 404 and "error" in payload


# --- storage ----------------------------------------------------------------------------------


def lease_on_chain(client, lease_id: int, node: str, data: bytes, **kw) -> LeaseTerms:
    """Records the lease as the Marketplace would (the app's lease table)."""
    agent = client.server.app[AGENT]
    if agent.leases is None:
        agent.leases = TableLeases()
    tree = ChunkTree.from_data(data)
    terms = LeaseTerms(**{"lease_id": lease_id, "customer": CUSTOMER.address, "node": node,
                          "data_root": tree.root, "data_size": len(data), "end_epoch": 100,
                          "closed": False, **kw})  # fmt: skip
    agent.leases.table[lease_id] = terms
    return terms


async def store(
    client, node: str, lease_id: int, data: bytes, nonce: bytes | None = None
) -> storage.Challenge:
    lease_on_chain(client, lease_id, node, data)
    body = wire.upload_body(CUSTOMER.key, lease_id, node, data, CHAIN, MARKET)
    status, body, _ = await post(client, "/storage/data", body)
    assert status == 200, body
    cid = challenge_id(CHAIN, node, 0, "storage-data", lease_id.to_bytes(32, "big"))
    receipt = opened(body, cid, node)
    tree = ChunkTree.from_data(data)
    signature = bytes.fromhex(receipt.pop("receipt")[2:])
    assert receipt == {
        "lease_id": lease_id,
        "root": h(tree.root),
        "n_chunks": tree.n_chunks,
        "size": len(data),
    }
    # its DataReceipt, for Marketplace.confirmData: signed by the node, for this lease's data
    signer = data_receipt_signer(signature, lease_id, node, tree.root, len(data), CHAIN, MARKET)
    assert signer == node
    nonce = nonce if nonce is not None else os.urandom(32)
    return storage.Challenge(nonce, node, lease_id, tree.n_chunks, tree.root)


async def audit(client, challenge: storage.Challenge, epoch: int = 5):
    body = {"epoch": epoch, "nonce": h(challenge.nonce), "lease_id": challenge.lease_id}
    status, wire_body, latency = await post(client, "/storage/audit", {**body, "chain_id": CHAIN})
    assert status == 200, wire_body
    return wire_body, latency


def storage_cid(challenge: storage.Challenge, epoch: int = 5) -> bytes:
    return challenge_id(CHAIN, challenge.node, epoch, "storage", challenge.nonce)


@pytest.fixture
def data():
    return np.random.default_rng(1).bytes(64 * CHUNK_SIZE - 100)


@aio
async def test_storage_audit_passes_when_honest(aiohttp_client, tmp_path, data):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    client = await aiohttp_client(create_app(settings))
    challenge = await store(client, settings.address, 9, data)
    wire_body, latency = await audit(client, challenge)
    payload = opened(wire_body, storage_cid(challenge), settings.address)
    verdict = storage.verify(challenge, payload, latency, deadline_s=5.0)
    assert verdict == storage.Verdict(True, storage.Reason.OK)
    chunks = [bytes.fromhex(c["chunk"][2:]) for c in payload["chunks"]]
    assert [c["index"] for c in payload["chunks"]] == storage.walk_indices(challenge, chunks)
    assert len(payload["chunks"]) == storage.DEFAULT_K == 64


@aio
async def test_a_refused_audit_is_data_withheld_only_once_the_receipt_is_on_the_chain(
    aiohttp_client, tmp_path, data
):
    """A node that took the data (and signed its receipt) and then answers audits 404 "no data":
    with the receipt on the chain the oracle records data_withheld, naming the first chunk it
    asked for (the node's on-chain dispute); without it, a plain refusal (unrewarded only)."""
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    client = await aiohttp_client(create_app(settings, WithholdStorage()))
    challenge = await store(client, settings.address, 9, data)
    endpoint = str(client.make_url("")).rstrip("/")
    common = dict(chain_id=CHAIN, node=settings.address, epoch=5, epoch_seed=b"\x07" * 32,
                  lease_id=9, n_chunks=challenge.n_chunks, root=challenge.root, deadline_s=5.0,
                  limits=Limits(timeout_s=5.0))  # fmt: skip
    async with aiohttp.ClientSession() as http:
        held = await challenge_storage(http, endpoint, data_held=True, **common)
        plain = await challenge_storage(http, endpoint, **common)
    assert (held.passed, held.reason, held.lease_id) == (False, "data_withheld", 9)
    first = storage.first_index(
        storage.Challenge(bytes.fromhex(held.request["nonce"][2:]), settings.address, 9,
                          challenge.n_chunks, challenge.root)
    )  # fmt: skip
    assert held.index == first and "404" in held.detail
    assert (plain.passed, plain.reason) == (False, "refused")


@aio
async def test_a_node_fetching_chunks_from_a_remote_store_misses_the_walks_deadline(
    aiohttp_client, tmp_path, data
):
    """The walk's 64 steps each wait for the chunk before: 20 ms a fetch is 1.28 s, late at a
    1 s deadline, where the honest node's local walk takes milliseconds (oracle.bench.audits
    measures 50 and 200 ms against the service's 2 s)."""
    honest = settings_for(tmp_path / "h", NodeKind.STORAGE)
    remote = settings_for(tmp_path / "r", NodeKind.STORAGE)
    h_client = await aiohttp_client(create_app(honest))
    r_client = await aiohttp_client(create_app(remote, RemoteStore(rtt_s=0.02)))
    verdicts = []
    for settings, client in ((honest, h_client), (remote, r_client)):
        challenge = await store(client, settings.address, 9, data)
        wire_body, latency = await audit(client, challenge)
        payload = opened(wire_body, storage_cid(challenge), settings.address)
        verdicts.append((storage.verify(challenge, payload, latency, deadline_s=1.0), latency))
    (ok, _), (late, slow) = verdicts
    assert ok.passed
    assert (late.passed, late.reason) == (False, storage.Reason.LATE) and slow >= 64 * 0.02


@aio
async def test_storage_audit_fails_bad_proof_naming_a_dropped_chunk_when_lazy(
    aiohttp_client, tmp_path, data
):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    lazy = LazyStorage(fraction_kept=0.5)
    client = await aiohttp_client(create_app(settings, lazy))
    # A fixed nonce keeps the test deterministic (a random one lets the lazy node through with
    # probability about 0.5^10).
    challenge = await store(client, settings.address, 9, data, nonce=b"\x11" * 32)
    wire_body, latency = await audit(client, challenge)
    verdict = storage.verify(
        challenge, opened(wire_body, storage_cid(challenge), settings.address), latency, 5.0
    )
    assert (verdict.passed, verdict.reason) == (False, storage.Reason.BAD_PROOF)
    answered = opened(wire_body, storage_cid(challenge), settings.address)["chunks"]
    assert verdict.index in [c["index"] for c in answered]
    assert not lazy.keeps_chunk(9, verdict.index)
    # An honest node holding the chunk could dispute the slash with exactly this check.
    tree = ChunkTree.from_data(data)
    chunk = (data + b"\x00" * CHUNK_SIZE)[verdict.index * CHUNK_SIZE :][:CHUNK_SIZE]
    assert verify_chunk_proof(
        challenge.root, challenge.n_chunks, verdict.index, chunk, tree.proof(verdict.index)
    )


@aio
async def test_storage_data_survives_agent_restart(aiohttp_client, tmp_path, data):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    first = await aiohttp_client(create_app(settings))
    challenge = await store(first, settings.address, 3, data)
    await first.close()
    second = await aiohttp_client(create_app(settings))  # same data dir, fresh process state
    wire_body, latency = await audit(second, challenge)
    payload = opened(wire_body, storage_cid(challenge), settings.address)
    assert storage.verify(challenge, payload, latency, 5.0).passed


@aio
async def test_storage_response_does_not_verify_for_another_epoch(aiohttp_client, tmp_path, data):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    client = await aiohttp_client(create_app(settings))
    challenge = await store(client, settings.address, 1, data)
    wire_body, _ = await audit(client, challenge, epoch=5)
    with pytest.raises(EnvelopeError):
        opened(wire_body, storage_cid(challenge, epoch=6), settings.address)
    other = Account.create().address
    with pytest.raises(EnvelopeError):
        opened(wire_body, challenge_id(CHAIN, other, 5, "storage", challenge.nonce), other)


@aio
async def test_an_upload_is_stored_only_from_the_customer_and_only_the_leases_data(
    aiohttp_client, tmp_path, data
):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    client = await aiohttp_client(create_app(settings, leases=TableLeases()))
    node = settings.address
    challenge = await store(client, node, 9, data)
    stored = (tmp_path / "data").rglob("*")
    before = {p: p.read_bytes() for p in stored if p.is_file()}
    zeros = bytes(len(data))
    other = Account.create()
    cases = [
        # the overwrite attack: anyone replacing the lease's data with zeros
        (wire.upload_body(CUSTOMER.key, 9, node, zeros, CHAIN, MARKET), 403, "customer"),
        (wire.upload_body(other.key, 9, node, data, CHAIN, MARKET), 403, "customer"),
        (wire.upload_body(CUSTOMER.key, 9, node, data, CHAIN, "0x" + "11" * 20), 403,
         "customer"),  # signed for another Marketplace
        (wire.upload_body(CUSTOMER.key, 9, node, data, 1, MARKET), 403, "customer"),
        (wire.upload_body(CUSTOMER.key, 10, node, data, CHAIN, MARKET), 404, "no lease 10"),
    ]  # fmt: skip
    lease_on_chain(client, 11, other.address, data)  # a lease of another node
    cases.append((wire.upload_body(CUSTOMER.key, 11, node, data, CHAIN, MARKET), 403, "node"))
    lease_on_chain(client, 12, node, data, closed=True)
    cases.append((wire.upload_body(CUSTOMER.key, 12, node, data, CHAIN, MARKET), 409, "closed"))
    # signed by the customer for the recorded root and size, but other bytes
    terms = lease_on_chain(client, 13, node, data)
    forged = {**wire.upload_body(CUSTOMER.key, 13, node, data, CHAIN, MARKET),
              "data": h(zeros)}  # fmt: skip
    cases.append((forged, 409, "root"))
    cases.append(({**forged, "data": h(data + b"x")}, 409, f"is {terms.data_size} bytes"))
    for body, status, needle in cases:
        got, answer, _ = await post(client, "/storage/data", body)
        assert (got, needle in answer["error"]) == (status, True), answer
    after = {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert after == before  # nothing stored was replaced, nothing else was stored
    # the customer's own upload again is answered (the same receipt) and changes nothing
    await store(client, node, 9, data)
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file()} == before
    wire_body, latency = await audit(client, challenge)
    assert storage.verify(challenge, opened(wire_body, storage_cid(challenge), node), latency,
                          5.0).passed  # fmt: skip


@aio
async def test_an_upload_is_refused_without_a_source_of_lease_terms(aiohttp_client, tmp_path):
    settings = settings_for(tmp_path, NodeKind.STORAGE)
    client = await aiohttp_client(create_app(settings))
    body = wire.upload_body(CUSTOMER.key, 1, settings.address, b"abc", CHAIN, MARKET)
    status, answer, _ = await post(client, "/storage/data", body)
    assert status == 503 and "agent.rpc_url" in answer["error"]


@aio
async def test_storage_audit_404_when_lease_unknown(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE)))
    body = {"epoch": 1, "nonce": h(b"\x01" * 32), "lease_id": 77, "chain_id": CHAIN}
    status, _, _ = await post(client, "/storage/audit", body)
    assert status == 404


def honest_payload(data: bytes, challenge: storage.Challenge) -> dict:
    tree = ChunkTree.from_data(data)
    padded = data + b"\x00" * (-len(data) % CHUNK_SIZE)
    return storage.build_payload(
        challenge.lease_id,
        storage.walk(
            challenge, lambda i: (padded[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE], tree.proof(i))
        ),
    )


def pure_data() -> bytes:
    return np.random.default_rng(1).bytes(64 * CHUNK_SIZE - 100)


def honest_payload_chunk(data: bytes, index: int) -> tuple[str, list[str]]:
    tree = ChunkTree.from_data(data)
    padded = data + b"\x00" * (-len(data) % CHUNK_SIZE)
    chunk = padded[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE]
    return h(chunk), [h(p) for p in tree.proof(index)]


@pytest.fixture
def pure_case(data):
    tree = ChunkTree.from_data(data)
    challenge = storage.Challenge(b"\x05" * 32, "0x" + "ab" * 20, 4, tree.n_chunks, tree.root)
    return challenge, honest_payload(data, challenge)


def test_storage_verify_rejects_each_adversarial_answer(pure_case):
    challenge, good = pure_case
    assert storage.verify(challenge, good, 0.1, 1.0).passed
    asked = [c["index"] for c in good["chunks"]]

    def altered(position: int, **changes) -> dict:
        chunks = [dict(c) for c in good["chunks"]]
        chunks[position].update(changes)
        return {**good, "chunks": chunks}

    cases = {
        storage.Reason.WRONG_INDICES: {**good, "chunks": good["chunks"][1:]},
        storage.Reason.BAD_CHUNK: altered(2, chunk=good["chunks"][2]["chunk"][:-2]),
        storage.Reason.BAD_PROOF: altered(3, chunk="0x" + "00" * CHUNK_SIZE),
    }
    for reason, payload in cases.items():
        verdict = storage.verify(challenge, payload, 0.1, 1.0)
        assert verdict.reason == reason, verdict
    assert (
        storage.verify(challenge, cases[storage.Reason.WRONG_INDICES], 0.1, 1.0).index == asked[0]
    )
    assert storage.verify(challenge, cases[storage.Reason.BAD_CHUNK], 0.1, 1.0).index == asked[2]
    assert storage.verify(challenge, cases[storage.Reason.BAD_PROOF], 0.1, 1.0).index == asked[3]
    # a true chunk with its true proof, but not the one the walk asks at that step
    other = next(i for i in range(challenge.n_chunks) if i != asked[5])
    tree_proof = honest_payload_chunk(pure_data(), other)
    swapped = altered(5, index=other, chunk=tree_proof[0], proof=tree_proof[1])
    got = storage.verify(challenge, swapped, 0.1, 1.0)
    assert (got.reason, got.index) == (storage.Reason.WRONG_INDICES, asked[5])
    short_proof = altered(1, proof=good["chunks"][1]["proof"][:-1])
    assert storage.verify(challenge, short_proof, 0.1, 1.0).reason == storage.Reason.BAD_PROOF
    assert storage.verify(challenge, good, 1.5, 1.0).reason == storage.Reason.LATE
    # An answer naming another lease is not evidence about this one (nor of fraud).
    other = storage.verify(challenge, {**good, "lease_id": challenge.lease_id + 1}, 0.1, 1.0)
    assert other.reason == storage.Reason.MALFORMED and "another lease" in other.detail


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {"chunks": None},
        {"chunks": [1]},
        {"chunks": [{"index": "0", "chunk": "0x", "proof": []}]},
        {"chunks": [{"index": 0, "chunk": "zz", "proof": []}]},
        {"chunks": [{"index": 0, "chunk": "0x00", "proof": ["0x12"]}]},
        {"chunks": [{"index": 0, "chunk": "0x00", "proof": "0x"}]},
        {"lease_id": 4, "chunks": [], "extra": 1},
        {"chunks": []},
        {"lease_id": "4", "chunks": []},
        {"lease_id": 4, "chunks": [{"index": 0, "chunk": "zz", "proof": []}]},
    ],
)
def test_storage_verify_says_malformed_and_never_raises(pure_case, payload):
    challenge, _ = pure_case
    assert storage.verify(challenge, payload, 0.1, 1.0).reason == storage.Reason.MALFORMED


def test_storage_verify_says_malformed_for_a_bad_challenge_or_timing(pure_case):
    challenge, good = pure_case
    bad = storage.Challenge(b"\x05" * 31, challenge.node, 4, challenge.n_chunks, challenge.root)
    assert storage.verify(bad, good, 0.1, 1.0).reason == storage.Reason.MALFORMED
    assert storage.verify(challenge, good, float("nan"), 1.0).reason == storage.Reason.MALFORMED


def test_storage_walk_is_sequential_and_catches_what_the_sampling_did():
    """Each step's index comes from the chunk read before it (another chunk there, another
    walk), indices stay in range with repeats in a small lease, and 64 steps catch even a node
    keeping 90 % of its chunks with probability 0.999 (10 independent samples: 0.65)."""
    assert storage.chunks_for_detection(0.5, 0.999) == 10 < storage.DEFAULT_K == 64
    assert storage.detection_probability(0.9, storage.DEFAULT_K) > 0.998  # keeping 90 %
    c = storage.Challenge(b"\x01" * 32, "0x" + "cd" * 20, 1, 1_000, b"\x00" * 32)
    a, b = b"\x00" * CHUNK_SIZE, b"\x01" + b"\x00" * (CHUNK_SIZE - 1)
    assert storage.next_index(c, 1, a) != storage.next_index(c, 1, b)
    assert storage.walk_indices(c, [a, b])[0] == storage.first_index(c)
    small = storage.Challenge(b"\x01" * 32, "0x" + "cd" * 20, 1, 3, b"\x00" * 32)
    steps = storage.walk(small, lambda i: (bytes([i]) * CHUNK_SIZE, []))
    assert len(steps) == 64 and {i for i, _, _ in steps} == {0, 1, 2}
    assert pytest.approx(1.96) == storage.DEFAULT_DEADLINE_S


# --- coverage ---------------------------------------------------------------------------------


BASE = (37.7749, -122.4194)  # beaconer's true and claimed position


def offset(lat: float, lon: float, north_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lon


MEMBERS = [Account.from_key(keccak(f"member {i}".encode())) for i in range(3)]


def share_request(epoch: int, beacon, member, reveal_after_ms: int = 300, share=None, **extra):
    """A member's beacon request: its fresh share of the beacon's secret, signed by it."""
    share = share or os.urandom(32)
    signature = sign_share(member, CHAIN, beacon.hash, share)
    nonce = os.urandom(32)
    body = {
        "epoch": epoch, "nonce": h(nonce), "chain_id": CHAIN,
        "beacon": wire.beacon_to_wire(beacon),
        "share": wire.share_to_wire(member.address, share, signature),
        "reveal_after_ms": reveal_after_ms, **extra,
    }  # fmt: skip
    return body, nonce, share


async def reveal(client, epoch: int, nonce: bytes, beacon_hash: bytes):
    body = {"epoch": epoch, "nonce": h(nonce), "chain_id": CHAIN, "beacon_hash": h(beacon_hash)}
    return await post(client, "/coverage/reveal", body)


async def coverage_round(
    aiohttp_client, tmp_path, witness_claim_m: float, true_m: float = 350, radio_url=None
):
    """Two members hand the beaconer their shares; it transmits once both are in; the witness
    reports what it heard; after the reveal delay the beaconer reveals the shares, and the
    report is judged with the secret they make. With `radio_url` the agents reach the air
    through plinth-radio (HttpRadio), as standalone agents do; else through the in-process
    medium the demo shares."""
    oracles = (MEMBERS[0].address, MEMBERS[1].address)
    # Fixed keys: the medium's per-link shadowing (sigma 7 dB) follows the two addresses, so
    # random keys would make the margins below a matter of luck.
    beaconer = settings_for(tmp_path / "b", NodeKind.WIRELESS, key=keccak(b"beaconer"),
                            oracles=oracles, share_window_s=5.0)  # fmt: skip
    witness = settings_for(tmp_path / "w", NodeKind.WIRELESS, key=keccak(b"witness"))
    if radio_url is None:
        medium = RadioMedium(np.random.default_rng(7))
        medium.place(beaconer.address, Radio(*BASE))
        medium.place(witness.address, Radio(*offset(*BASE, true_m)))  # where it really is
        b_radio = w_radio = airwaves_for(medium)
    else:
        b_radio, w_radio = HttpRadio(radio_url), HttpRadio(radio_url)
        b_radio.attach(beaconer.address, *BASE, 27.0, 3.0)
        w_radio.attach(witness.address, *offset(*BASE, true_m), 27.0, 3.0)
    claims = {
        beaconer.address: RadioClaim(*BASE),
        witness.address: RadioClaim(*offset(*BASE, witness_claim_m)),  # what it asserted
    }
    b_client = await aiohttp_client(create_app(beaconer, radio=b_radio))
    w_client = await aiohttp_client(create_app(witness, radio=w_radio))
    epoch, start = 11, 1_700_000_000.0
    (beacon,) = schedule_beacons(b"\x09" * 32, epoch, [beaconer.address], start)
    requests = [share_request(epoch, beacon, m) for m in MEMBERS[:2]]
    answers = await asyncio.gather(*(post(b_client, "/coverage/beacon", r) for r, _, _ in requests))
    for (status, wire_body, _), (_, nonce, _) in zip(answers, requests, strict=True):
        assert status == 200, wire_body
        sent = opened(wire_body, challenge_id(CHAIN, beaconer.address, epoch, "beacon", nonce),
                      beaconer.address)  # fmt: skip
        assert sent == {"beacon_hash": h(beacon.hash), "heard_by": 1,
                        "members": sorted(oracles, key=lambda a: int(a, 16))}  # fmt: skip
    nonce = os.urandom(32)
    body = {"epoch": epoch, "nonce": h(nonce), "chain_id": CHAIN}
    status, wire_body, _ = await post(w_client, "/coverage/witnesses", body)
    assert status == 200, wire_body
    cid = challenge_id(CHAIN, witness.address, epoch, "coverage", nonce)
    got_epoch, reports = wire.witnesses_from_payload(opened(wire_body, cid, witness.address))
    assert got_epoch == epoch and len(reports) == 1
    with pytest.raises(EnvelopeError):  # not a witness list for the next epoch
        opened(wire_body, challenge_id(CHAIN, witness.address, epoch + 1, "coverage", nonce),
               witness.address)  # fmt: skip
    _, first_nonce, _ = requests[0]
    status, early, _ = await reveal(b_client, epoch, first_nonce, beacon.hash)
    assert status == 425 and "revealed in" in early["error"]  # nobody learns it before
    await asyncio.sleep(0.35)
    status, wire_body, _ = await reveal(b_client, epoch, first_nonce, beacon.hash)
    assert status == 200, wire_body
    revealed = opened(wire_body, challenge_id(CHAIN, beaconer.address, epoch, "beacon",
                                              first_nonce), beaconer.address)  # fmt: skip
    got, shares = wire.secret_reveal_from_payload(revealed)
    assert got == beacon.hash
    assert {m: s for m, s, _ in shares} == {
        m.address: r[2] for m, r in zip(MEMBERS[:2], requests, strict=True)
    }
    assert all(share_signer(CHAIN, beacon.hash, s, sig) == m for m, s, sig in shares)
    secret = beacon_secret(beacon.hash, {m: s for m, s, _ in shares})
    return validate_witnesses(
        [beacon], reports, claims, now=beacon.tx_time + 2, secrets={beacon.hash: secret}
    )


@aio
async def test_coverage_round_trip_valid_when_honest(aiohttp_client, tmp_path):
    (verdict,) = await coverage_round(aiohttp_client, tmp_path, witness_claim_m=350)
    assert verdict.valid, verdict


@aio
async def test_coverage_round_trip_through_the_radio_service_as_standalone_agents_run(
    aiohttp_client, tmp_path
):
    """plinth-radio (its own thread and loop, as its own process would be) carries the same
    round: valid when honest, too strong when the witness spoofs its place."""
    with serving(create_radio_app(seed=7)) as url:
        (verdict,) = await coverage_round(aiohttp_client, tmp_path / "a", 350, radio_url=url)
        assert verdict.valid, verdict
    with serving(create_radio_app(seed=7)) as url:
        (spoofed,) = await coverage_round(aiohttp_client, tmp_path / "b", 80_000, radio_url=url)
        assert (spoofed.valid, spoofed.reason) == (False, "too_strong")


@aio
async def test_coverage_witness_too_strong_when_location_spoofed(aiohttp_client, tmp_path):
    # Really 350 m away, claims 80 km: it hears far too well for the claimed distance.
    (verdict,) = await coverage_round(aiohttp_client, tmp_path, witness_claim_m=80_000)
    assert (verdict.valid, verdict.reason) == (False, "too_strong")


@aio
async def test_a_beacon_share_must_be_signed_by_one_of_the_nodes_oracles(aiohttp_client, tmp_path):
    """Nobody else can make the node transmit early (before the members' shares are in)."""
    settings = settings_for(tmp_path, NodeKind.WIRELESS, oracles=(MEMBERS[0].address,))
    client = await aiohttp_client(
        create_app(settings, radio=airwaves_for(RadioMedium(np.random.default_rng(1))))
    )
    (beacon,) = schedule_beacons(b"\x09" * 32, 1, [settings.address], 1.7e9)
    body, _, _ = share_request(1, beacon, MEMBERS[2])
    status, payload, _ = await post(client, "/coverage/beacon", body)
    assert status == 403 and "not one of this node's oracles" in payload["error"]
    forged = {**body, "share": {**body["share"], "member": MEMBERS[0].address}}
    status, payload, _ = await post(client, "/coverage/beacon", forged)
    assert status == 400 and "does not recover" in payload["error"]
    assert not client.server.app[AGENT].beacons  # neither touched the beacon


@aio
async def test_a_beacon_goes_on_the_air_after_the_window_and_a_late_share_is_not_in_it(
    aiohttp_client, tmp_path
):
    """One member of two is silent: the node transmits share_window_s after the first share,
    with it; a share arriving after that is answered with the members that are in (the late
    member then knows its view cannot trust this beacon), and changes nothing."""
    oracles = (MEMBERS[0].address, MEMBERS[1].address)
    settings = settings_for(tmp_path, NodeKind.WIRELESS, oracles=oracles, share_window_s=0.3)
    client = await aiohttp_client(
        create_app(settings, radio=airwaves_for(RadioMedium(np.random.default_rng(1))))
    )
    (beacon,) = schedule_beacons(b"\x09" * 32, 1, [settings.address], 1.7e9)
    body, nonce, _ = share_request(1, beacon, MEMBERS[0], reveal_after_ms=1)
    started = time.perf_counter()
    status, wire_body, _ = await post(client, "/coverage/beacon", body)
    assert status == 200 and time.perf_counter() - started >= 0.3
    cid = challenge_id(CHAIN, settings.address, 1, "beacon", nonce)
    assert opened(wire_body, cid, settings.address)["members"] == [MEMBERS[0].address]
    late, late_nonce, _ = share_request(1, beacon, MEMBERS[1])
    status, wire_body, _ = await post(client, "/coverage/beacon", late)
    cid = challenge_id(CHAIN, settings.address, 1, "beacon", late_nonce)
    assert status == 200 and opened(wire_body, cid, settings.address)["members"] == [
        MEMBERS[0].address
    ]
    status, wire_body, _ = await reveal(client, 1, nonce, beacon.hash)
    cid = challenge_id(CHAIN, settings.address, 1, "beacon", nonce)
    _, shares = wire.secret_reveal_from_payload(opened(wire_body, cid, settings.address))
    assert [m for m, _, _ in shares] == [MEMBERS[0].address]


@aio
async def test_no_member_can_shorten_the_reveal_delay_of_the_others(aiohttp_client, tmp_path):
    """A hostile member asking for a 1 ms delay gets the secret no sooner than the honest
    member's 600 ms: a phantom it feeds is too late for the honest member's witness lists."""
    settings = settings_for(tmp_path, NodeKind.WIRELESS)
    client = await aiohttp_client(
        create_app(settings, radio=airwaves_for(RadioMedium(np.random.default_rng(1))))
    )
    (beacon,) = schedule_beacons(b"\x09" * 32, 1, [settings.address], 1.7e9)
    honest, _, _ = share_request(1, beacon, MEMBERS[0], reveal_after_ms=600)
    hostile, hostile_nonce, _ = share_request(1, beacon, MEMBERS[1], reveal_after_ms=1)
    await asyncio.gather(post(client, "/coverage/beacon", honest),
                         post(client, "/coverage/beacon", hostile))  # fmt: skip
    await asyncio.sleep(0.05)
    status, payload, _ = await reveal(client, 1, hostile_nonce, beacon.hash)
    assert status == 425, payload
    await asyncio.sleep(0.6)
    assert (await reveal(client, 1, hostile_nonce, beacon.hash))[0] == 200
    assert (await reveal(client, 2, hostile_nonce, beacon.hash))[0] == 404  # not of epoch 2


@aio
async def test_coverage_endpoints_503_without_a_medium(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.WIRELESS)))
    body = {"epoch": 1, "nonce": h(b"\x01" * 32), "chain_id": CHAIN}
    status, _, _ = await post(client, "/coverage/witnesses", body)
    assert status == 503


# --- requests, health, offline ----------------------------------------------------------------

GOOD_COMMIT = {"epoch": 1, "nonce": h(b"\x01" * 32), "seed": h(b"\x02" * 32),
               "matrix_seed": h(b"\x03" * 32), "n": 64, "rows": 64, "streams": 1,
               "chain_id": CHAIN}  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        {**GOOD_COMMIT, "extra": 1},
        {k: v for k, v in GOOD_COMMIT.items() if k != "seed"},
        {k: v for k, v in GOOD_COMMIT.items() if k != "matrix_seed"},
        {**GOOD_COMMIT, "n": compute.MAX_N + 8},
        {**GOOD_COMMIT, "n": 0},
        {**GOOD_COMMIT, "n": 60},
        {**GOOD_COMMIT, "n": True},
        {**GOOD_COMMIT, "n": "64"},
        {**GOOD_COMMIT, "rows": 0},
        {**GOOD_COMMIT, "rows": 100},
        {**GOOD_COMMIT, "rows": compute.MAX_ROWS + 32},
        {**GOOD_COMMIT, "streams": 0},
        {**GOOD_COMMIT, "streams": compute.MAX_STREAMS + 1},
        {**GOOD_COMMIT, "epoch": -1},
        {**GOOD_COMMIT, "seed": h(b"\x02" * 31)},
        {**GOOD_COMMIT, "nonce": "0x" + "zz" * 32},
        {**GOOD_COMMIT, "chain_id": 1},
    ],
)
@aio
async def test_compute_commit_400_when_body_malformed(aiohttp_client, tmp_path, body):
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.COMPUTE)))
    raw = body if isinstance(body, str) else json.dumps(body)
    resp = await client.post("/compute/commit", data=raw)
    assert resp.status == 400
    assert "error" in await resp.json()


@aio
async def test_requests_400_when_storage_or_beacon_body_malformed(aiohttp_client, tmp_path):
    storage_client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE)))
    sig = h(b"\x01" * 65)
    for body in (
        {"lease_id": 1, "data": "0x", "signature": sig},
        {"lease_id": 1, "data": "0x123", "signature": sig},
        {"lease_id": 2**256, "data": "0x00", "signature": sig},
        {"lease_id": 1, "data": "0x00"},
        {"lease_id": 1, "data": "0x00", "signature": h(b"\x01" * 64)},
    ):
        assert (await post(storage_client, "/storage/data", body))[0] == 400
    medium = RadioMedium(np.random.default_rng(1))
    settings = settings_for(tmp_path / "w", NodeKind.WIRELESS)
    client = await aiohttp_client(create_app(settings, radio=airwaves_for(medium)))
    (beacon,) = schedule_beacons(b"\x09" * 32, 1, [Account.create().address], 1.7e9)
    body = {"epoch": 1, "nonce": h(b"\x01" * 32), "chain_id": CHAIN}
    good, _, _ = share_request(1, beacon, MEMBERS[0])
    for bad in (wire.beacon_to_wire(beacon), {"beaconer": settings.address}):
        status, payload, _ = await post(client, "/coverage/beacon", {**good, "beacon": bad})
        assert status == 400, payload  # someone else's beacon; an incomplete one
    (mine,) = schedule_beacons(b"\x09" * 32, 1, [settings.address], 1.7e9)
    good, _, _ = share_request(1, mine, MEMBERS[0])
    changes = (
        {"share": {**good["share"], "share": "0x12"}},
        {"share": {**good["share"], "signature": h(b"\x01" * 64)}},
        {"share": None},
        {"reveal_after_ms": 0},
        {"reveal_after_ms": 10**9},
    )
    for change in changes:
        status, payload, _ = await post(client, "/coverage/beacon", {**good, **change})
        assert status == 400, (change, payload)


@aio
async def test_request_413_when_body_over_limit(aiohttp_client, tmp_path):
    settings = settings_for(tmp_path, NodeKind.STORAGE, max_body_bytes=4096)
    client = await aiohttp_client(create_app(settings))
    status, payload, _ = await post(
        client, "/storage/data", {"lease_id": 1, "data": h(b"1" * 4096), "signature": h(bytes(65))}
    )
    assert status == 413 and "error" in payload


@aio
async def test_endpoints_of_other_kinds_are_not_served(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE)))
    assert (await client.post("/compute/commit", data="{}")).status == 404


@aio
async def test_health_is_signed_and_bound_to_the_nonce(aiohttp_client, tmp_path):
    settings = settings_for(tmp_path, NodeKind.COMPUTE, hw_class=1)
    client = await aiohttp_client(create_app(settings))
    nonce = os.urandom(32)
    resp = await client.get("/health", params={"nonce": h(nonce)})
    payload = opened(await resp.json(), challenge_id(CHAIN, settings.address, 0, "health", nonce),
                     settings.address)  # fmt: skip
    assert payload["node"] == settings.address and payload["kind"] == "compute"
    assert payload["hw_class"] == 1 and payload["version"]


@aio
async def test_offline_refuses_with_503_until_back_online(aiohttp_client, tmp_path):
    behaviour = Offline()
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE), behaviour))
    assert (await client.get("/health")).status == 503
    behaviour.go_online()
    assert (await client.get("/health")).status == 200
    honest = Honest()
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE), honest))
    honest.go_offline()  # mid-run
    assert (await client.get("/health")).status == 503


@aio
async def test_offline_hang_times_the_caller_out(aiohttp_client, tmp_path):
    behaviour = Offline(offline_mode="hang", hang_s=5.0)
    client = await aiohttp_client(create_app(settings_for(tmp_path, NodeKind.STORAGE), behaviour))
    with pytest.raises(asyncio.TimeoutError):
        await client.get("/health", timeout=ClientTimeout(total=0.2))


# --- config -----------------------------------------------------------------------------------


def write_config(tmp_path, extra: str = "", password: str = "hunter2") -> tuple:
    account = Account.create()
    keystore = Account.encrypt(account.key, password, kdf="pbkdf2", iterations=2)
    (tmp_path / "node.json").write_text(json.dumps(keystore))
    (tmp_path / "node.pass").write_text("hunter2\n")
    path = tmp_path / "agent.toml"
    path.write_text(
        '[agent]\nkind = "storage"\nchain_id = 31337\nkeystore = "node.json"\n'
        f'rpc_url = "http://127.0.0.1:8545"\nmarketplace = "{MARKET}"\n' + extra
    )
    return path, account


def test_load_settings_decrypts_the_keystore_with_the_password_file(tmp_path):
    path, account = write_config(tmp_path, 'password_file = "node.pass"\nport = 9000\n')
    settings = load_settings(path)
    assert settings.address == account.address and settings.port == 9000
    assert (settings.oracles, settings.share_window_s) == ((), 10.0)
    assert settings.kind == NodeKind.STORAGE and settings.data_dir == tmp_path / "agent-data"


def test_load_settings_reads_the_password_from_the_environment(tmp_path, monkeypatch):
    path, account = write_config(tmp_path, 'password_env = "PLINTH_TEST_PW"\n')
    monkeypatch.setenv("PLINTH_TEST_PW", "hunter2")
    assert load_settings(path).address == account.address


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", "exactly one of"),
        ('password_env = "PLINTH_UNSET_VAR_X"\n', "is not set"),
        ('password_file = "node.pass"\nsecret = 1\n', "unknown key agent.secret"),
        ('password_file = "node.pass"\nport = 0\n', "agent.port"),
        ('password_file = "node.pass"\nkind = "x"\n', "TOML"),
        ('password_file = "node.pass"\noracles = ["0x12"]\n', "agent.oracles"),
        ('password_file = "node.pass"\noracles = "0x12"\n', "agent.oracles"),
        ('password_file = "node.pass"\nshare_window_s = 0\n', "agent.share_window_s"),
        ('password_file = "node.pass"\nshare_window_s = 1e9\n', "agent.share_window_s"),
    ],
)
def test_load_settings_fails_clearly_when_config_is_bad(tmp_path, extra, message):
    path, _ = write_config(tmp_path, extra)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


@pytest.mark.parametrize(
    ("drop", "message"), [("rpc_url", "agent.rpc_url"), ("marketplace", "agent.marketplace")]
)
def test_a_storage_agent_needs_the_chain_its_leases_are_read_from(tmp_path, drop, message):
    path, _ = write_config(tmp_path, 'password_file = "node.pass"\n')
    lines = [x for x in path.read_text().splitlines() if not x.startswith(drop)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
    path.write_text(path.read_text() + f'{drop} = "0x12"\n')
    if drop == "marketplace":
        with pytest.raises(ConfigError, match="must be an address"):
            load_settings(path)


def test_load_settings_lists_every_problem_at_once_and_suggests_the_key_meant(tmp_path):
    path, _ = write_config(
        tmp_path, 'password_file = "node.pass"\nport = 0\nshare_window_s = 0\nhw_clas = 1\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "3 problems" in message and f"relative to {tmp_path.resolve()}" in message
    assert "agent.port" in message and "agent.share_window_s" in message
    assert "unknown key agent.hw_clas; did you mean 'hw_class'?" in message


def test_load_settings_fails_clearly_when_password_is_wrong(tmp_path):
    path, _ = write_config(tmp_path, 'password_file = "node.pass"\n', password="other")
    with pytest.raises(ConfigError, match="wrong password"):
        load_settings(path)
