"""Storage proof (proof of storage): keccak Merkle audits of a sequential walk over chunks.
Pure functions: no I/O, no clock reads (the caller measures the latency and passes it in).

Protocol, version 2 (version 1 audited 10 independent random chunks: a node fetching them in
parallel from a store 1.8 s away passed a 2 s deadline). All integers big-endian; || is
concatenation; keccak256 is Ethereum's.

1. Data. A lease's data is zero-padded to whole CHUNK_SIZE (1024-byte) chunks; the data root is
   oracle.protocol.merkle.ChunkTree over them: leaf_i = keccak256(uint256(i) || chunk_i), positional
   parents keccak256(left || right), leaves padded with zero hashes to a power of two. This is
   the tree SlashingManager.disputeStorageSlash checks, so any proof a node gives the oracle is
   also what it can put on-chain to dispute a slash (`oracle.protocol.merkle.verify_chunk_proof`
   is the Python twin of that check). The oracle keeps only (root, n_chunks) per lease.

2. Challenge. Per epoch, node and lease the oracle derives a 32-byte nonce from the epoch seed
   (`audit_nonce`: keccak256("plinth-storage-audit-v1" || seed || uint64(epoch) || node ||
   uint256(lease_id))), so nobody can predict or choose it before the seed is on-chain. The
   audit is a **sequential walk** of k = DEFAULT_K (64) chunks, each step's index drawn from the
   previous step's chunk bytes:
       x_0     = uint256(keccak256(tag || nonce || node || uint256(lease_id) || uint32(0))) mod n
       x_(j+1) = uint256(keccak256(tag || nonce || node || uint256(lease_id) || uint32(j + 1)
                                   || chunk_(x_j))) mod n
   with tag "plinth-storage-walk-v2" (`first_index`, `next_index`, `walk_indices`); indices
   may repeat. No step can be asked before the previous chunk is in hand, so a node that keeps
   its data elsewhere pays the round trip to it k times in a row, where a local disk pays k
   reads (an SSD about 0.1 ms, a hard disk about 10 ms).

3. Response payload (canonical JSON, signed in an oracle.protocol.envelope.SignedResponse whose
   challenge_id binds chain, node, epoch, kind "storage" and the nonce):
       {"lease_id": lease_id,
        "chunks": [{"index": x_0, "chunk": "0x" + 2048 hex digits,
                    "proof": ["0x" + 64 hex digits, ... tree_depth(n_chunks) siblings]}, ...]}
   one item per step of the walk, in order. The lease id names the lease answered, so
   the signed answer is evidence against exactly that lease's root and nobody can pin it on
   another lease.

4. Verify (`verify`, never raises on bad input). The first failing check is the verdict:
   challenge or payload not well formed (malformed: types, hex, sizes of the proof hashes, a
   lease id other than the challenge's);
   not k steps, or a step whose index is not the one the walk asks given the chunk answered at
   the step before (wrong_indices); a chunk that is not
   CHUNK_SIZE bytes (bad_chunk); a proof that does not reach the root, including one with the
   wrong number of siblings (bad_proof); the answer after the deadline (late). Else ok. A
   failing chunk's index goes into the verdict: it is what an on-chain StorageAuditFailed slash
   names and what the node must produce a valid proof for to dispute it.

5. Detection. A node that keeps only a fraction q of the chunks (and cannot rebuild the others)
   passes only if every step lands on a kept chunk: each index is a fresh hash, so about q^k
   (0.5^64 = 5e-20; q = 0.9: 0.1 %). A lease of few chunks is walked with repeats, and any
   missing chunk is caught with probability 1 - (1 - 1/n)^k.

6. Outsourcing (a node that keeps nothing and fetches each asked chunk from a store r away).
   The deadline (PipelineSettings.storage_deadline_s, 2 s) is NETWORK_ALLOWANCE_S (1 s: the
   oracle's round trip to the node and the transfer) plus k x STEP_BUDGET_S (15 ms a step: a
   hard disk's seek with margin), and the walk costs the outsourcer at least k x r: a store
   50 ms away needs 3.2 s, 200 ms away 12.8 s; both miss the deadline (oracle.bench.audits
   measures it). What the walk cannot see: a store closer than about 15 ms (same metro), and a
   remote party that runs the walk itself next to the data (it then stores the data in full,
   and the node is its relay; replication that proves distinct copies needs sealed replicas,
   a later step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eth_utils import keccak

from oracle.protocol._checks import is_int, is_seconds, node_bytes, samples_needed
from oracle.protocol.merkle import CHUNK_SIZE, tree_depth, verify_chunk_proof

NONCE_BYTES = 32
ROOT_BYTES = 32
AUDIT_TAG = b"plinth-storage-audit-v1"
WALK_TAG = b"plinth-storage-walk-v2"
DEFAULT_K = 64  # steps of the walk: 64 round trips to a remote store cannot fit the deadline
STEP_BUDGET_S = 0.015  # a local read per step, a hard disk's seek with margin
NETWORK_ALLOWANCE_S = 1.0  # the oracle's round trip to the node and the answer's transfer
DEFAULT_DEADLINE_S = NETWORK_ALLOWANCE_S + DEFAULT_K * STEP_BUDGET_S  # 1.96 s
MAX_CHUNKS = 2**32  # indices are hashed as uint32 positions; leases stay far below this


class Reason(StrEnum):
    """Verdict reason codes; the value is what providers look up."""

    OK = "ok"
    MALFORMED = "malformed"
    WRONG_INDICES = "wrong_indices"
    BAD_CHUNK = "bad_chunk"
    BAD_PROOF = "bad_proof"
    LATE = "late"


@dataclass(frozen=True)
class Challenge:
    nonce: bytes  # 32 bytes, from audit_nonce(epoch seed, epoch, node, lease_id)
    node: str  # the node key's address, "0x" + 40 hex digits
    lease_id: int  # uint256
    n_chunks: int  # of the lease's data, as the oracle recorded it
    root: bytes  # the lease's data root


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: Reason
    detail: str = ""
    index: int | None = None  # the chunk at fault, when one is


def detection_probability(fraction_kept: float, k: int = DEFAULT_K) -> float:
    """Lower bound on catching, in one audit of k chunks, a node that kept `fraction_kept` of
    them (exact when drawing with replacement; distinct indices only do better)."""
    if not 0 <= fraction_kept <= 1 or k < 0:
        raise ValueError(f"need 0 <= q <= 1 and k >= 0, got q={fraction_kept}, k={k}")
    return 1 - fraction_kept**k


def chunks_for_detection(fraction_kept: float, probability: float) -> int:
    """The smallest k with detection_probability(fraction_kept, k) >= probability."""
    return samples_needed(fraction_kept, probability)


# ---------------------------------------------------------------- validation


def _challenge_error(challenge: Any) -> str | None:
    if not isinstance(challenge, Challenge):
        return "challenge is not a storage Challenge"
    if not isinstance(challenge.nonce, bytes) or len(challenge.nonce) != NONCE_BYTES:
        return f"nonce must be {NONCE_BYTES} bytes"
    if node_bytes(challenge.node) is None:
        return "node must be an address, 0x and 40 hex digits"
    if not is_int(challenge.lease_id) or not 0 <= challenge.lease_id < 2**256:
        return "lease_id must be a uint256"
    if not is_int(challenge.n_chunks) or not 1 <= challenge.n_chunks <= MAX_CHUNKS:
        return f"n_chunks must be in [1, {MAX_CHUNKS}]"
    if not isinstance(challenge.root, bytes) or len(challenge.root) != ROOT_BYTES:
        return f"root must be {ROOT_BYTES} bytes"
    return None


# ---------------------------------------------------------------- derivation


def audit_nonce(epoch_seed: bytes, epoch: int, node: str, lease_id: int) -> bytes:
    """The audit nonce of (epoch, node, lease), from the epoch seed the chain provides."""
    node_raw = node_bytes(node)
    if not isinstance(epoch_seed, bytes) or len(epoch_seed) != 32 or node_raw is None:
        raise ValueError("need a 32-byte epoch seed and a node address")
    if not is_int(epoch) or not 0 <= epoch < 2**64:
        raise ValueError("epoch must be a uint64")
    if not is_int(lease_id) or not 0 <= lease_id < 2**256:
        raise ValueError("lease_id must be a uint256")
    return keccak(
        AUDIT_TAG + epoch_seed + epoch.to_bytes(8, "big") + node_raw + lease_id.to_bytes(32, "big")
    )


def _walk_prefix(challenge: Challenge) -> bytes:
    error = _challenge_error(challenge)
    if error is not None:
        raise ValueError(error)
    return (
        WALK_TAG + challenge.nonce + node_bytes(challenge.node)
        + challenge.lease_id.to_bytes(32, "big")
    )  # fmt: skip


def first_index(challenge: Challenge) -> int:
    """x_0, the walk's first chunk (it depends on the nonce alone)."""
    digest = keccak(_walk_prefix(challenge) + (0).to_bytes(4, "big"))
    return int.from_bytes(digest, "big") % challenge.n_chunks


def next_index(challenge: Challenge, step: int, previous_chunk: bytes) -> int:
    """x_step, from the chunk read at step - 1 (as stored: CHUNK_SIZE bytes)."""
    if not is_int(step) or not 1 <= step < 2**32:
        raise ValueError(f"step must be in [1, 2^32), got {step!r}")
    digest = keccak(_walk_prefix(challenge) + step.to_bytes(4, "big") + bytes(previous_chunk))
    return int.from_bytes(digest, "big") % challenge.n_chunks


def walk_indices(challenge: Challenge, chunks: list[bytes]) -> list[int]:
    """The walk's first len(chunks) indices: x_0, then each next one from the chunk read at the
    step before it."""
    if not chunks:
        return []
    out = [first_index(challenge)]
    for step, chunk in enumerate(chunks[:-1], start=1):
        out.append(next_index(challenge, step, chunk))
    return out


def walk(
    challenge: Challenge, read: Callable[[int], tuple[bytes, list[bytes]]], k: int = DEFAULT_K
) -> list[tuple[int, bytes, list[bytes]]]:
    """The k (index, chunk, proof) steps of the walk, reading each chunk (and its proof) with
    `read(index)` before the next index is known: what an honest node answers."""
    if not is_int(k) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    out = []
    index = first_index(challenge)
    for step in range(k):
        chunk, proof = read(index)
        out.append((index, chunk, proof))
        if step + 1 < k:
            index = next_index(challenge, step + 1, chunk)
    return out


# ---------------------------------------------------------------- response


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def build_payload(lease_id: int, chunks: list[tuple[int, bytes, list[bytes]]]) -> dict:
    """The response payload from (index, chunk, proof) triples, in the asked order."""
    return {
        "lease_id": lease_id,
        "chunks": [
            {"index": i, "chunk": _hex(chunk), "proof": [_hex(s) for s in proof]}
            for i, chunk, proof in chunks
        ],
    }


def _unhex(value: Any) -> bytes | None:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) % 2:
        return None
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        return None


def _fail(reason: Reason, detail: str, index: int | None = None) -> Verdict:
    return Verdict(passed=False, reason=reason, detail=detail, index=index)


def verify(
    challenge: Challenge,
    payload: Any,
    latency_s: float,
    deadline_s: float,
    *,
    k: int = DEFAULT_K,
) -> Verdict:
    """The verdict on one storage audit. `payload` is the decoded JSON the node signed,
    `latency_s` the verifier's own measure (challenge sent to answer received). Never raises on
    malformed input."""
    error = _challenge_error(challenge)
    if error is not None:
        return _fail(Reason.MALFORMED, error)
    if not is_int(k) or k < 1:
        return _fail(Reason.MALFORMED, f"k must be a positive int, got {k!r}")
    if not is_seconds(latency_s) or not is_seconds(deadline_s):
        return _fail(Reason.MALFORMED, "latency and deadline must be finite seconds >= 0")
    if not isinstance(payload, dict) or set(payload) != {"lease_id", "chunks"}:
        return _fail(Reason.MALFORMED, 'payload must be an object with "lease_id" and "chunks"')
    if not is_int(payload["lease_id"]) or payload["lease_id"] != challenge.lease_id:
        return _fail(Reason.MALFORMED, f"the answer is for another lease than {challenge.lease_id}")
    items = payload["chunks"]
    if not isinstance(items, list):
        return _fail(Reason.MALFORMED, "chunks must be a list")

    parsed: list[tuple[int, bytes, list[bytes]]] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"index", "chunk", "proof"}:
            return _fail(Reason.MALFORMED, f"item {position} must have index, chunk and proof")
        index, chunk, proof = item["index"], _unhex(item["chunk"]), item["proof"]
        if not is_int(index):
            return _fail(Reason.MALFORMED, f"item {position}: index is not an int")
        if chunk is None:
            return _fail(Reason.MALFORMED, f"item {position}: chunk is not 0x-hex", index)
        if not isinstance(proof, list) or len(proof) > 256:
            return _fail(Reason.MALFORMED, f"item {position}: proof is not a list", index)
        siblings = [_unhex(s) for s in proof]
        if any(s is None or len(s) != 32 for s in siblings):
            return _fail(Reason.MALFORMED, f"item {position}: proof hashes must be 32 bytes", index)
        parsed.append((index, chunk, siblings))  # type: ignore[arg-type]

    if len(parsed) != k:
        return _fail(
            Reason.WRONG_INDICES, f"answered {len(parsed)} steps of the {k}-step walk",
            first_index(challenge),
        )  # fmt: skip
    depth = tree_depth(challenge.n_chunks)
    expected = first_index(challenge)
    for step, (index, chunk, siblings) in enumerate(parsed):
        if step:
            expected = next_index(challenge, step, parsed[step - 1][1])
        if index != expected:
            return _fail(
                Reason.WRONG_INDICES,
                f"step {step} answered chunk {index}; the walk asks chunk {expected}",
                expected,
            )
        if len(chunk) != CHUNK_SIZE:
            return _fail(
                Reason.BAD_CHUNK, f"chunk {index} is {len(chunk)} bytes, not {CHUNK_SIZE}", index
            )
        if len(siblings) != depth:
            return _fail(
                Reason.BAD_PROOF, f"proof of chunk {index} has {len(siblings)} of {depth}", index
            )
        if not verify_chunk_proof(challenge.root, challenge.n_chunks, index, chunk, siblings):
            return _fail(Reason.BAD_PROOF, f"chunk {index} does not reach the data root", index)
    if latency_s > deadline_s:
        return _fail(Reason.LATE, f"answer after {latency_s:.3f} s, deadline {deadline_s:.3f} s")
    return Verdict(passed=True, reason=Reason.OK)
