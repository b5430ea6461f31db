"""oracle.committee.evidence on real signed answers: what a node signed is proven, what a member
says is not. Each answer here is built and signed exactly as the reference agent does
(oracle.protocol.wire payloads in oracle.protocol.envelope.SignedResponse)."""

import json
import os
from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak

from oracle.committee.evidence import Facts, check, digest, evidence_object, needs_evidence
from oracle.protocol import compute, storage, wire
from oracle.protocol.envelope import challenge_id, member_nonce, sign_response
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree

CHAIN, EPOCH, CLASS, COUNT = 31337, 9, 0, 1
PARAMS = compute.Params(device_s=1e-6, max_n=64)  # the CPU class: 64 rows of 64
SHAPE = compute.shape_for(compute.HARDWARE_CLASSES[CLASS], COUNT, PARAMS)
EPOCH_SEED = keccak(b"epoch seed")
MATRIX_SEED = compute.matrix_seed_for(EPOCH_SEED)
NODE, OTHER = Account.create(), Account.create()
MEMBER, PEER = Account.create().address.lower(), Account.create().address.lower()
LEASE_ID = 3
DATA = bytes(range(256)) * 40  # 10 chunks
TREE = ChunkTree.from_data(DATA)


def facts(lease_owner=NODE.address, claim=(CLASS, COUNT)) -> Facts:
    leases = {LEASE_ID: (lease_owner.lower(), TREE.root, len(DATA))}
    return Facts(CHAIN, EPOCH, lambda node: claim, PARAMS, MATRIX_SEED, leases.get)


def origin() -> tuple[bytes, dict]:
    """A nonce of MEMBER's, and the fields its request keeps (oracle.service.challenge)."""
    r = os.urandom(32)
    return member_nonce(MEMBER, r), {"member": MEMBER, "member_r": wire.hexb(r)}


def _raw(key, cid: bytes, payload) -> bytes:
    return json.dumps(sign_response(key.key, CHAIN, cid, payload).to_wire()).encode()


def entry(kind: str, cid: bytes, obj: dict, *, passed=True, reason="ok", lease_id=0) -> dict:
    return {"challenge_id": wire.hexb(cid), "node": NODE.address.lower(), "kind": kind,
            "passed": passed, "reason": reason, "detail": "", "latency_us": 1_000,
            "deadline_us": 2_000_000, "lease_id": lease_id, "chunk_index": 0,
            "coverage_micro": 0, "attempts": 1, "evidence": digest(obj)}  # fmt: skip


def compute_case(
    prover=compute.prove, *, seed=None, k=compute.DEFAULT_K, key=NODE, shape=SHAPE,
    matrix_seed=MATRIX_SEED, stage="reveal", reason="ok",
):  # fmt: skip
    """(entry, evidence object) of one compute challenge answered by `prover`, signed by `key`:
    a commitment and a reveal, a commitment alone (stage "commit": then withheld), or the
    node's "gave up" (stage "gave_up")."""
    nonce, fields = origin()
    seed = seed or keccak(nonce + b"compute-seed")
    cid = challenge_id(CHAIN, NODE.address, EPOCH, "compute", nonce)
    challenge = compute.Challenge(seed, matrix_seed, NODE.address, EPOCH, shape.n, shape.rows,
                                  shape.streams)  # fmt: skip
    salt = os.urandom(32)
    if stage == "gave_up":
        responses = [_raw(key, cid, wire.gave_up_payload(3.0, "past the deadline"))]
    else:
        done = prover(challenge)
        responses = [_raw(key, cid, wire.commit_payload(done.commitment(0.01), "cpu"))]
        if stage == "reveal":
            rows = compute.sample_rows(done.challenge, done.root, salt, k)
            responses.append(_raw(key, cid, wire.reveal_payload(done.reveal(rows, salt, k))))
    request = {"epoch": EPOCH, "nonce": wire.hexb(nonce), "seed": wire.hexb(seed),
               "matrix_seed": wire.hexb(matrix_seed), "n": shape.n, "rows": shape.rows,
               "streams": shape.streams, "chain_id": CHAIN, "hw_class": CLASS,
               "gpu_count": COUNT, "salt": wire.hexb(salt), **fields}  # fmt: skip
    obj = evidence_object(wire.hexb(cid), request, responses)
    passed = reason == "ok"
    return entry("compute", cid, obj, passed=passed, reason=reason), obj


def _read(index: int) -> tuple[bytes, list[bytes]]:
    padded = DATA + b"\x00" * (-len(DATA) % CHUNK_SIZE)
    return padded[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE], TREE.proof(index)


def storage_case(*, alter=None, lease_id=LEASE_ID, key=NODE):
    nonce, fields = origin()
    cid = challenge_id(CHAIN, NODE.address, EPOCH, "storage", nonce)
    challenge = storage.Challenge(nonce, NODE.address, LEASE_ID, TREE.n_chunks, TREE.root)
    chunks = storage.walk(challenge, _read)
    if alter is not None:
        i, _, proof = chunks[alter]
        chunks[alter] = (i, b"\x00" * CHUNK_SIZE, proof)
    payload = storage.build_payload(lease_id, chunks)
    request = {"epoch": EPOCH, "nonce": wire.hexb(nonce), "lease_id": LEASE_ID, "chain_id": CHAIN,
               **fields}  # fmt: skip
    obj = evidence_object(wire.hexb(cid), request, [_raw(key, cid, payload)])
    return entry("storage", cid, obj, lease_id=LEASE_ID), obj


def test_an_honest_compute_answer_is_a_backed_pass():
    e, obj = compute_case()
    assert needs_evidence(e)
    got = check(e, obj, facts(), MEMBER)
    assert (got.backed, got.passed, got.reason) == (True, True, "ok")


def test_wrong_rows_the_node_signed_are_proven_fraud_whatever_the_member_claims():
    e, obj = compute_case(compute.lazy_prover(1.0))
    for claim in (e, {**e, "passed": False, "reason": "wrong_row"}):
        got = check(claim, obj, facts(), MEMBER)
        assert (got.backed, got.passed, got.reason) == (True, False, "wrong_row")
        assert 0 <= got.index < SHAPE.total_rows


@pytest.mark.parametrize(
    "tamper",
    [
        "digest",  # not the object the verdict names
        "signature",  # an answer not signed by the node
        "other_node",  # signed, by another key
        "nonce",  # a request whose nonce gives another challenge id
        "epoch",  # evidence of another epoch
        "shape",  # not an evidence object
        "seed",  # the node answered a seed the nonce does not derive
        "few_rows",  # fewer rows revealed than the protocol asks (checked before any work)
        "other_size",  # a shape other than the committee's for the claim (work to re-derive)
        "other_count",  # the chain says another GPU count than the challenge was sized for
        "other_matrix",  # B of another epoch
        "unregistered",  # not a compute node on the chain
        "another_member",  # another member's challenge, shown as this member's
    ],
)
def test_compute_evidence_that_does_not_hold_backs_nothing(tamper):
    e, obj = compute_case()
    f = facts()
    if tamper == "digest":
        e = {**e, "evidence": "0x" + "00" * 32}
    elif tamper == "signature":
        body = json.loads(bytes.fromhex(obj["responses"][1][2:]))
        sig = body["signature"]
        body["signature"] = sig[:20] + ("1" if sig[20] != "1" else "2") + sig[21:]
        obj = {**obj, "responses": [obj["responses"][0], wire.hexb(json.dumps(body).encode())]}
        e = {**e, "evidence": digest(obj)}
    elif tamper == "other_node":
        e, obj = compute_case(key=OTHER)
    elif tamper == "nonce":
        obj = {**obj, "request": {**obj["request"], "nonce": wire.hexb(os.urandom(32))}}
        e = {**e, "evidence": digest(obj)}
    elif tamper == "epoch":
        f = replace(f, epoch=EPOCH + 1)
    elif tamper == "shape":
        obj = {**obj, "extra": 1}
        e = {**e, "evidence": digest(obj)}
    elif tamper == "seed":
        e, obj = compute_case(seed=os.urandom(32))
    elif tamper == "few_rows":
        e, obj = compute_case(k=2)
    elif tamper == "other_size":
        e, obj = compute_case(shape=compute.Shape(128, 64, 1))
    elif tamper == "other_count":
        f = replace(f, compute_claim=lambda node: (CLASS, 2))
    elif tamper == "other_matrix":
        e, obj = compute_case(matrix_seed=keccak(b"another epoch"))
    elif tamper == "unregistered":
        f = replace(f, compute_claim=lambda node: None)
    got = check(e, obj, f, PEER if tamper == "another_member" else MEMBER)
    assert not got.backed, got


def test_a_nodes_signed_gave_up_backs_its_lateness_and_nothing_else():
    e, obj = compute_case(stage="gave_up", reason="late")
    assert needs_evidence(e)
    got = check(e, obj, facts(), MEMBER)
    assert (got.backed, got.passed) == (True, True) and "gave up" in got.detail
    for claim in ({**e, "passed": True, "reason": "ok"}, {**e, "passed": False,
                                                            "reason": "withheld"}):  # fmt: skip
        assert not check(claim, obj, facts(), MEMBER).backed


def test_a_commitment_without_a_reveal_backs_withholding_and_no_pass_or_fraud():
    e, obj = compute_case(stage="commit", reason="withheld")
    assert needs_evidence(e)
    got = check(e, obj, facts(), MEMBER)
    assert (got.backed, got.passed) == (True, True)  # the node answered: the claim stands
    for claim in ({**e, "passed": True, "reason": "ok"}, {**e, "reason": "wrong_row"}):
        assert not check(claim, obj, facts(), MEMBER).backed


def test_a_storage_answer_is_checked_against_the_chains_root_for_that_lease():
    e, obj = storage_case()
    got = check(e, obj, facts(), MEMBER)
    assert (got.backed, got.passed) == (True, True)
    # a chunk that does not reach the root, signed by the node: proven, and it names the chunk
    e, obj = storage_case(alter=2)
    got = check({**e, "passed": False, "reason": "bad_proof"}, obj, facts(), MEMBER)
    assert (got.backed, got.passed, got.reason) == (True, False, "bad_proof")
    walked = storage.walk(
        storage.Challenge(
            bytes.fromhex(obj["request"]["nonce"][2:]),
            NODE.address,
            LEASE_ID,
            TREE.n_chunks,
            TREE.root,
        ),
        _read,
    )
    assert got.index == walked[2][0]


def test_storage_evidence_for_another_lease_or_node_backs_nothing():
    e, obj = storage_case(lease_id=LEASE_ID + 1)  # the node answered about another lease
    assert not check(e, obj, facts(), MEMBER).backed
    e, obj = storage_case()
    assert not check({**e, "lease_id": LEASE_ID + 1}, obj, facts(), MEMBER).backed
    assert not check(e, obj, facts(lease_owner=OTHER.address), MEMBER).backed  # not its lease
    assert not check(e, obj, facts(), PEER).backed  # another member's audit


def test_check_never_raises_on_hostile_objects():
    e, obj = compute_case()
    hostile = [
        None,
        [],
        "x",
        {**obj, "responses": "0x"},
        {**obj, "responses": ["0x" + "5b" * 9]},
        {**obj, "responses": [1, 2]},
        {**obj, "request": []},
        {**obj, "request": {**obj["request"], "nonce": 7}},
        {**obj, "request": {**obj["request"], "epoch": 2**80}},
        {**obj, "responses": [obj["responses"][0]] * 5},
    ]
    for h in hostile:
        try:
            d = digest(h)
        except TypeError:
            d = "0x" + "00" * 32
        assert not check({**e, "evidence": d}, h, facts(), MEMBER).backed


def test_every_reason_that_can_slash_for_wrong_work_needs_evidence():
    """The scoring's fraud lists are the evidence check's: no reason slashes on a member's word."""
    from oracle.service.score import COMPUTE_FRAUD, STORAGE_FRAUD

    e, _ = compute_case()
    for kind, reasons in (("compute", COMPUTE_FRAUD), ("storage", STORAGE_FRAUD)):
        for reason in reasons:
            assert needs_evidence({**e, "kind": kind, "passed": False, "reason": reason})
    assert not needs_evidence({**e, "passed": False, "reason": "timeout"})
    assert not needs_evidence({**e, "kind": "witness", "passed": False, "reason": "too_strong"})
