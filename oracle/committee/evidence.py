"""Evidence between committee members: what a member shows for a verdict, and the check another
member runs on it before the verdict counts. Pure: no I/O, no clock.

**Evidence of one challenge** = the canonical JSON (oracle.protocol.envelope.canonical_json) of

    {"challenge_id": 0x-hex32, "request": {what the member sent, as stored},
     "responses": [0x-hex of each answer's exact bytes, in the order received]}

and its digest keccak256("plinth-evidence-v1" || that JSON). A bundle verdict names the digest
(``"evidence"``; null when the node sent nothing); the member serves the object itself
(``POST /committee/epochs/{n}/evidence`` with the digests), the leader gathers the objects a round
needs and names them in the proposal, and every member fetches them from the leader and
checks the same bytes.

**The check** (``check``) proves only what the node itself signed, never what the member says:

1. the object is the one the verdict names (digest), for this chain, epoch and node: the
   challenge id is recomputed from the request's nonce (oracle.protocol.envelope.challenge_id),
   and the nonce from the claiming member's address and the request's `member_r`
   (oracle.service.challenge.fresh_nonce), so a member cannot show another member's challenge
   as its own;
2. every answer is signed by the node's key for that challenge id (a member cannot forge one);
3. the answers are replayed through the protocol's own verifier against the challenge they
   name themselves (each signed answer echoes its seed and shape, salt and k, lease id:
   oracle.protocol.wire), with the node's hardware class and GPU count and the lease's root and
   size from the chain, and the timing left out: the compute seed must be the one the nonce
   derives, the matrix seed the epoch's, the shape the committee's for the node's claim
   (compute.shape_for with the committee's Params) and k the protocol's DEFAULT_K (checked
   before any work, so a check costs what an honest verification costs), a storage answer must
   name the verdict's lease, a lease of that node. A node's signed "gave up" backs only its
   lateness, a commitment without a reveal only "withheld" (WORD_CLAIMS).

Its result (``Checked``): ``backed`` when the node signed answers to exactly this challenge;
then ``passed`` when they verify, or the verifier's fraud ``reason`` (and failing row or chunk)
when the node signed work that is wrong. Anything else is not backed, and the verdict counts
for nothing (oracle.committee.rules). Timing (late, no answer) is the one thing evidence cannot
show: it counts by majority.

Witness verdicts are derived by each member from the whole coverage round (every node's signed
reports judged together), not from one exchange: they carry no evidence and count by majority;
the beacon and witness-list answers behind them are checked like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from oracle.protocol import compute, storage, wire
from oracle.protocol.envelope import (
    EnvelopeError,
    SignedResponse,
    canonical_json,
    challenge_id,
    member_nonce,
    verify_response,
)
from oracle.protocol.merkle import CHUNK_SIZE
from oracle.protocol.strict import DecodeError, JsonLimits, decode_json, items, nat
from oracle.service.score import COMPUTE_FRAUD, STORAGE_FRAUD

EVIDENCE_TAG = b"plinth-evidence-v1"
MAX_RESPONSES = 4  # compute: commit and reveal; the other kinds: one answer
MAX_RESPONSE_BYTES = 8 << 20  # the challenge stage's own limit (challenge.Limits)
RESPONSE_LIMITS = JsonLimits(max_bytes=MAX_RESPONSE_BYTES)
# Verdict reasons that say the node signed wrong work: a slash when its evidence proves it (the
# scoring stage's own lists, so every reason that can slash is one that needs evidence).
FRAUD = {"compute": COMPUTE_FRAUD, "storage": STORAGE_FRAUD}
CHECKED_KINDS = frozenset({"compute", "storage", "beacon", "coverage"})
# Failures that say the node answered and then was too slow or stopped: its signed answers
# show that it answered (so it is not offline), the member's word says the rest, and they count
# by majority (oracle.committee.rules): "late" (after the deadline, or the node's own signed
# "gave up") and "withheld" (committed, then no reveal).
WORD_CLAIMS = frozenset({"late", "withheld"})
COMPUTE_SEED_TAG = b"compute-seed"


@dataclass(frozen=True)
class Checked:
    backed: bool  # the node signed answers to exactly this challenge
    passed: bool = False  # ... and they verify (timing left out)
    reason: str = ""  # the verifier's reason (a fraud reason when backed and not passed)
    index: int = 0  # the failing row or chunk
    detail: str = ""


@dataclass(frozen=True)
class Facts:
    """The chain's view a check needs (every member reads the same from its own RPC)."""

    chain_id: int
    epoch: int
    # node (lowercase) -> its registered (hwClass, gpuCount); None if not a compute node
    compute_claim: Callable[[str], tuple[int, int] | None]
    compute: compute.Params  # the committee's challenge parameters (every member the same)
    matrix_seed: bytes  # the epoch's (compute.matrix_seed_for its seed)
    lease: Callable[[int], tuple[str, bytes, int] | None]  # id -> (node lowercase, root, size)


def needs_evidence(entry: Mapping) -> bool:
    """A verdict that claims the node answered (a pass, lateness, or fraud): what only the
    node's signed answers can show."""
    if entry["kind"] not in CHECKED_KINDS:
        return False
    return (
        entry["passed"]
        or entry["reason"] in WORD_CLAIMS
        or entry["reason"] in FRAUD.get(entry["kind"], ())
    )


def evidence_object(cid: str, request: Mapping, responses: list[bytes]) -> dict:
    return {
        "challenge_id": cid,
        "request": dict(request),
        "responses": [wire.hexb(r) for r in responses],
    }


def digest(obj: Mapping) -> str:
    """The 0x-hex digest a verdict names its evidence by."""
    return wire.hexb(keccak(EVIDENCE_TAG + canonical_json(obj)))


def _unbacked(detail: str) -> Checked:
    return Checked(backed=False, detail=detail)


def check(entry: Mapping, obj: Any, facts: Facts, member: str) -> Checked:
    """What `obj` (the decoded evidence object) proves about the verdict `entry` of `member`'s
    bundle (module docstring). Never raises on anything in `obj`."""
    try:
        return _check(entry, obj, facts, member)
    except (DecodeError, EnvelopeError, ValueError, TypeError, KeyError, MemoryError) as exc:
        return _unbacked(f"unreadable evidence: {type(exc).__name__}: {exc}")


def _check(entry: Mapping, obj: Any, facts: Facts, member: str) -> Checked:
    if not isinstance(obj, dict) or set(obj) != {"challenge_id", "request", "responses"}:
        return _unbacked("evidence must have exactly challenge_id, request and responses")
    if entry["evidence"] is None or digest(obj) != entry["evidence"]:
        return _unbacked("not the evidence the verdict names")
    node, kind, cid = entry["node"], entry["kind"], entry["challenge_id"]
    request = obj["request"]
    if not isinstance(request, dict):
        return _unbacked("request must be an object")
    nonce = wire.unhex(request.get("nonce"), 32, "nonce")
    r = wire.unhex(request.get("member_r"), 32, "member_r")
    if nonce != member_nonce(member, r):
        return _unbacked("not a challenge of this member (the nonce is another member's)")
    if (
        nat(request.get("epoch"), "epoch", 2**64 - 1) != facts.epoch
        or request.get("chain_id") != facts.chain_id
    ):
        return _unbacked("evidence of another epoch or chain")
    raw_cid = challenge_id(facts.chain_id, node, facts.epoch, kind, nonce)
    if wire.hexb(raw_cid) != cid or obj["challenge_id"] != cid:
        return _unbacked("the request's nonce does not give the verdict's challenge id")
    payloads = []
    for r in items(obj["responses"], "responses", MAX_RESPONSES):
        body = decode_json(wire.unhex(r, None, "response"), RESPONSE_LIMITS)
        payloads.append(verify_response(SignedResponse.from_wire(body), facts.chain_id, raw_cid,
                                        node))  # fmt: skip
    if kind == "compute":
        return _compute(entry, payloads, nonce, facts)
    if kind == "storage":
        return _storage(entry, payloads, nonce, facts)
    if kind == "beacon":
        # the beacon answer, then (when the member's share was in) the shares' reveal
        if not 1 <= len(payloads) <= 2:
            return _unbacked("a beacon's evidence is its answer and at most a reveal")
        beacon_hash, _ = wire.beacon_answer_from_payload(payloads[0])
        if len(payloads) == 2 and wire.secret_reveal_from_payload(payloads[1])[0] != beacon_hash:
            return _unbacked("the reveal names another beacon")
    elif len(payloads) != 1:
        return _unbacked(f"a {kind} answer is one signed response")
    else:
        got_epoch, reports = wire.witnesses_from_payload(payloads[0])
        if got_epoch != facts.epoch or any(r.witness != node for r in reports):
            return _unbacked("witness reports of another epoch or witness")
    return Checked(backed=True, passed=True, reason="ok")


def _verdict(v, index: int | None, kind: str) -> Checked:
    if v.passed:
        return Checked(backed=True, passed=True, reason="ok")
    if str(v.reason) in FRAUD[kind]:
        return Checked(backed=True, reason=str(v.reason), index=index or 0, detail=v.detail)
    return _unbacked(f"the answers prove nothing: {v.reason} ({v.detail})")


def _compute(entry, payloads, nonce: bytes, facts: Facts) -> Checked:
    claim = facts.compute_claim(entry["node"])
    if claim is None:
        return _unbacked("not a registered compute node")
    hw_class, gpu_count = claim
    if len(payloads) == 1 and entry["reason"] in WORD_CLAIMS:
        gave_up = wire.gave_up_from_payload(payloads[0])
        if gave_up is not None:  # the node signed that it could not finish: late, as claimed
            if entry["reason"] != "late":
                return _unbacked("a node that gave up did not commit: it can only be late")
            return Checked(backed=True, passed=True, reason="ok", detail=gave_up)
    if not 1 <= len(payloads) <= 2:
        return _unbacked("a compute answer is a commitment and a reveal")
    commitment = wire.commitment_from_payload(payloads[0])
    if commitment.seed != keccak(nonce + COMPUTE_SEED_TAG):
        return _unbacked("the seed is not the one the nonce derives")
    if commitment.matrix_seed != facts.matrix_seed:
        return _unbacked("the matrix seed is not the epoch's")
    cls = compute.HARDWARE_CLASSES.get(hw_class)
    try:
        shape = compute.shape_for(cls, gpu_count, facts.compute) if cls else None
    except ValueError:
        shape = None
    if shape is None or (commitment.n, commitment.rows, commitment.streams) != (
        shape.n, shape.rows, shape.streams
    ):  # fmt: skip
        return _unbacked(f"not the committee's challenge for this node's claim ({shape})")
    challenge = compute.Challenge(commitment.seed, commitment.matrix_seed, entry["node"],
                                  facts.epoch, shape.n, shape.rows, shape.streams)  # fmt: skip
    if len(payloads) == 1:  # committed, never revealed: backs only "withheld" (or late)
        if entry["passed"] or entry["reason"] not in WORD_CLAIMS:
            return _unbacked("a commitment alone proves no work")
        return Checked(backed=True, passed=True, reason="ok")
    reveal = wire.reveal_from_payload(payloads[1])
    if reveal.k != compute.DEFAULT_K:
        return _unbacked(f"k = {reveal.k}: the committee asks k = {compute.DEFAULT_K}")
    v = compute.verify(challenge, commitment, reveal, salt=reveal.salt, hw_class=hw_class,
                       gpu_count=gpu_count, commit_latency_s=0.0, k=reveal.k,
                       params=facts.compute)  # fmt: skip
    return _verdict(v, v.row, "compute")


def _storage(entry, payloads, nonce: bytes, facts: Facts) -> Checked:
    if len(payloads) != 1 or not isinstance(payloads[0], dict):
        return _unbacked("a storage answer is one signed object")
    lease_id = payloads[0].get("lease_id")
    if lease_id != entry["lease_id"]:
        return _unbacked(f"the answer is for lease {lease_id!r}, the verdict names another")
    lease = facts.lease(entry["lease_id"])
    if lease is None or lease[0] != entry["node"]:
        return _unbacked(f"lease {lease_id} is not a lease of this node")
    _, root, size = lease
    challenge = storage.Challenge(nonce=nonce, node=entry["node"], lease_id=lease_id,
                                  n_chunks=-(-size // CHUNK_SIZE), root=root)  # fmt: skip
    v = storage.verify(challenge, payloads[0], 0.0, 1.0)
    return _verdict(v, v.index, "storage")
