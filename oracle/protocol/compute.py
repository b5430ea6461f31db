"""Compute proof (proof of work): commit-then-reveal integer matrix product, sampled rows.

Pure functions: no I/O, no clock reads (timings are measured by the caller and passed in).

Protocol, version 1. All integers big-endian; || is concatenation; keccak256 is Ethereum's.

1. Challenge. The verifier picks `seed` (32 bytes) and a size `n` (1 <= n <= MAX_N) for the
   node (its node-key address, 20 bytes) in `epoch` (uint64). The seed must stay unknown to the
   node until the verifier starts the clock (e.g. keccak256(epoch seed || fresh nonce)): a node
   that learns it earlier can precompute the product and the deadline means nothing.
       key      = keccak256(seed || node || uint64(epoch) || uint32(n))
       M[i, j]  = (byte j of shake_256(key || label || uint32(i)).digest(n) & 0x0F) - 8
   for M = A with label b"A" and M = B with label b"B": n x n int8 matrices with entries in
   [-8, 7], one byte per entry, one SHAKE stream per row (so a verifier derives only the rows of
   A it samples). Node and epoch in the key make a response worthless for another node or epoch;
   n in the key makes the matrices of different sizes unrelated.

2. Prover. C = A @ B exactly. |A[i,k] * B[k,j]| <= 64, so every partial sum of every entry is
   an integer of absolute value <= 64 n <= 2^20 (n <= MAX_N): exact in int32, in float32
   (integers up to 2^24) and in float64, whatever the summation order. CPU path: BLAS float32
   product cast to int32 (float64 beyond 2^18). GPU path, only when torch and CUDA import:
   `torch._int_mm` on int8 CUDA tensors (int32 accumulation); its result is trusted only after
   SPOT_CHECK_ROWS rows match the CPU (reduced-precision accumulators are known to drop low
   bits), otherwise the CPU result is used.
   Row commitment: leaf_i = keccak256(uint256(i) || C[i, 0] || ... || C[i, n-1]), each entry
   int32 two's complement (4n bytes a row); root = oracle.protocol.merkle.PositionalTree over
   leaf_0..leaf_{n-1}: parent = keccak256(left || right), leaves padded with 32 zero bytes to a
   power of two. A proof is the tree_depth(n) siblings from the leaf level up.

3. Commit. The node returns (root, elapsed_s, seed, n), signed by the node key: the seed and
   size it answered are part of what it signs, so its signed answers are evidence anyone can
   replay against exactly the challenge it took (a committee member re-verifies another
   member's evidence this way) and nobody can pin them on another challenge. The verifier times
   the commitment itself (challenge sent -> commitment received); the node's elapsed_s is
   informational only.

4. Reveal. After the commitment arrives the verifier draws `salt` (32 fresh bytes, recorded with
   the evidence so anyone can replay the verdict) and asks for the rows
       x_j = uint256(keccak256(seed || node || root || salt || uint32(j))) mod n,  j = 0, 1, ...
   keeping the first k distinct values in order of appearance. The salt is what makes the rows
   unpredictable when the root is fixed: with rows drawn from the root alone, a node that skips
   a fraction f of the rows can re-roll garbage rows until the sample misses all of them, which
   takes about (1 - f)^-k tries of log2(n) hashes each (about 100 tries for f = 0.1, k = 44).
   The node answers with the salt and k it was given (signed, as in 3) and, for each asked row
   in the same order: index, the 4n-byte row, proof.

5. Verify (`verify`, never raises on bad input). The first failing check is the verdict:
   challenge, commitment, salt and latency well formed (malformed) with n in [k, MAX_N]
   (wrong_size); the claimed class known (unknown_class); the commitment's and the reveal's
   echoes of seed, n, salt and k equal to the challenge's (malformed); the reveal well formed
   (malformed: types, index out of range, proof not tree_depth(n) hashes of 32 bytes;
   wrong_size: a row not 4n bytes); exactly the asked rows in the asked order (wrong_indices);
   every proof reaches the root (bad_proof); every row equals A[i] @ B, recomputed in O(n^2)
   (wrong_row); the commitment latency within deadline_s(n, class) (late). Else ok.

6. Hardware classes (HARDWARE_CLASSES, index = NodeRegistry's hwClass):
       deadline_s(n, c) = c.slack * (n^3 / c.macs_per_s + n^2 / c.host_entries_per_s)
                          + c.network_s
   n^3 multiply-accumulates (2 n^3 operations) for the product and n^2 entries of host work
   (deriving A and B, encoding and hashing the rows of C): the host term dominates on a GPU
   until n is in the tens of thousands, so leaving it out would fail honest GPU nodes.

7. Detection. A node that commits to garbage in a fraction f of the rows passes only if no
   sampled row is one of them: probability C(n - fn, k) / C(n, k) <= (1 - f)^k, so it is caught
   with probability at least 1 - (1 - f)^k. DEFAULT_K = 44 is the smallest k that catches
   f = 0.1 with probability >= 0.99 (0.9^44 = 0.0097). The verifier does k n^2 of the
   prover's n^3 multiply-accumulates: k / n, under 2% for n >= 2200 (n = 4096: 1.07%).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from eth_utils import keccak

from oracle.protocol._checks import distinct_indices, is_int, is_seconds, node_bytes, samples_needed
from oracle.protocol.merkle import PositionalTree, tree_depth, verify_positional_proof

SEED_BYTES = 32
SALT_BYTES = 32
ROOT_BYTES = 32
ENTRY_MIN, ENTRY_MAX = -8, 7
MAX_N = 16384  # C is 1 GiB of int32 here; A and B 256 MiB each
DEFAULT_K = 44  # smallest k with 1 - 0.9^k >= 0.99
SPOT_CHECK_ROWS = 8
LABEL_A, LABEL_B = b"A", b"B"
_MAX_ENTRY = max(-ENTRY_MIN, ENTRY_MAX) ** 2  # 64: the largest |a * b|
_FLOAT32_EXACT = 2**24  # float32 holds every integer up to this
_FLOAT64_EXACT = 2**53


class Reason(StrEnum):
    """Verdict reason codes; the value is what providers look up."""

    OK = "ok"
    MALFORMED = "malformed"
    WRONG_SIZE = "wrong_size"
    UNKNOWN_CLASS = "unknown_class"
    WRONG_INDICES = "wrong_indices"
    BAD_PROOF = "bad_proof"
    WRONG_ROW = "wrong_row"
    LATE = "late"


@dataclass(frozen=True)
class Challenge:
    seed: bytes
    n: int
    node: str  # the node key's address, "0x" + 40 hex digits
    epoch: int


@dataclass(frozen=True)
class Commitment:
    root: bytes
    elapsed_s: float  # the node's own measurement; the verifier times the commitment itself
    # The challenge the node says it answered, signed with the root (None only for a commitment
    # built in-process): a signed answer names its seed and size, so it is evidence anyone can
    # replay, and nobody can pin it on another challenge.
    seed: bytes | None = None
    n: int | None = None


@dataclass(frozen=True)
class RevealedRow:
    index: int
    row: bytes  # n int32 big-endian
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Reveal:
    rows: tuple[RevealedRow, ...]
    salt: bytes | None = None  # the salt and k the node answered (signed), as for Commitment
    k: int | None = None


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: Reason
    row: int | None = None  # the row at fault, when one is
    detail: str = ""


@dataclass(frozen=True)
class HardwareClass:
    """A class a compute node claims; its deadline must be met by any honest node of it."""

    index: int  # NodeRegistry's hwClass
    name: str
    macs_per_s: float  # sustained int8 (GPU) or fp64 (CPU) multiply-accumulates per second
    host_entries_per_s: float = 1e7  # n^2 host work: derive A, B; encode and hash rows of C
    slack: float = 2.0
    network_s: float = 0.5  # fixed allowance: round trip, TLS, signing, queueing


# CPU: numpy float64 matmul on these 2-core AVX-512 machines measured 48 (n = 256), 58 (512),
# 57 (1024) and 59 (2048) GMAC/s uncontended, best of 5, and down to 23 at n = 1024 while other
# jobs shared the cores (python -m oracle.bench.compute_ratio); 1e10 leaves room for that.
# Host work measured about 4e7 entries/s here (derive 2 n^2 bytes of SHAKE, hash 4 n^2 bytes of
# keccak); 1e7 for the same reason.
# GPU figures are NVIDIA's dense INT8 tensor peaks (the "with sparsity" figure is twice these),
# halved to multiply-accumulates, times a sustained fraction of 1/4 for torch._int_mm at
# challenge sizes. GPU hosts run the same row hashing, on server CPUs: 2e7 entries/s.
HARDWARE_CLASSES: dict[int, HardwareClass] = {
    c.index: c
    for c in (
        HardwareClass(0, "cpu", macs_per_s=1e10),
        # RTX 3090: 284.7 dense INT8 TOPS (NVIDIA Ampere GA102 whitepaper) -> 142 T MAC/s peak.
        HardwareClass(1, "gpu-consumer", macs_per_s=3.5e13, host_entries_per_s=2e7),
        # A100: 624 dense INT8 TOPS (A100 datasheet, 1248 with sparsity) -> 312 T MAC/s peak.
        HardwareClass(2, "a100", macs_per_s=7.8e13, host_entries_per_s=2e7),
        # H100 PCIe: 1513 dense INT8 TOPS (H100 datasheet: 3026 with sparsity; SXM 1979) ->
        # 756 T MAC/s peak.
        HardwareClass(3, "h100", macs_per_s=1.9e14, host_entries_per_s=2e7),
    )
}


def deadline_s(n: int, hw_class: HardwareClass) -> float:
    """Seconds from challenge sent to commitment received that an honest node of the class needs
    at most."""
    compute = n**3 / hw_class.macs_per_s
    host = n**2 / hw_class.host_entries_per_s
    return hw_class.slack * (compute + host) + hw_class.network_s


def detection_probability(fraction_skipped: float, k: int = DEFAULT_K) -> float:
    """Lower bound on catching a node that faked `fraction_skipped` of the rows, per challenge
    (exact for sampling with replacement; sampling distinct rows only does better)."""
    if not 0 <= fraction_skipped <= 1 or k < 0:
        raise ValueError(f"need 0 <= f <= 1 and k >= 0, got f={fraction_skipped}, k={k}")
    return 1 - (1 - fraction_skipped) ** k


def rows_for_detection(fraction_skipped: float, probability: float) -> int:
    """The smallest k with detection_probability(fraction_skipped, k) >= probability."""
    if not 0 < fraction_skipped < 1:
        raise ValueError(f"need 0 < f < 1, got f={fraction_skipped}")
    return samples_needed(1 - fraction_skipped, probability)


# ---------------------------------------------------------------- validation


def _challenge_error(challenge: Any) -> str | None:
    if not isinstance(challenge, Challenge):
        return "challenge is not a Challenge"
    if not isinstance(challenge.seed, bytes) or len(challenge.seed) != SEED_BYTES:
        return f"seed must be {SEED_BYTES} bytes"
    if node_bytes(challenge.node) is None:
        return "node must be an address, 0x and 40 hex digits"
    if not is_int(challenge.epoch) or not 0 <= challenge.epoch < 2**64:
        return "epoch must be a uint64"
    if not is_int(challenge.n):
        return "n must be an int"
    return None


def _check_challenge(challenge: Challenge) -> None:
    error = _challenge_error(challenge)
    if error is None and not 1 <= challenge.n <= MAX_N:
        error = f"n must be in [1, {MAX_N}], got {challenge.n}"
    if error is not None:
        raise ValueError(error)


# ---------------------------------------------------------------- derivation


def challenge_key(challenge: Challenge) -> bytes:
    _check_challenge(challenge)
    return keccak(
        challenge.seed
        + node_bytes(challenge.node)
        + challenge.epoch.to_bytes(8, "big")
        + challenge.n.to_bytes(4, "big")
    )


def derive_rows(key: bytes, label: bytes, rows: Sequence[int], n: int) -> np.ndarray:
    """Rows `rows` of the matrix `label` (LABEL_A or LABEL_B): int8, shape (len(rows), n)."""
    raw = b"".join(hashlib.shake_256(key + label + i.to_bytes(4, "big")).digest(n) for i in rows)
    out = np.frombuffer(raw, dtype=np.uint8).reshape(len(rows), n) & np.uint8(0x0F)
    out = out.view(np.int8)
    out -= np.int8(-ENTRY_MIN)
    return out


def derive_matrices(challenge: Challenge) -> tuple[np.ndarray, np.ndarray]:
    """A and B of the challenge, n x n int8."""
    key, n = challenge_key(challenge), challenge.n
    return derive_rows(key, LABEL_A, range(n), n), derive_rows(key, LABEL_B, range(n), n)


# ---------------------------------------------------------------- product


def multiply_cpu(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact int8 product as int32 through BLAS: float32 while every partial sum fits in 24 bits,
    float64 beyond."""
    inner = a.shape[1]
    bound = _MAX_ENTRY * inner
    if bound >= 2**31:
        raise ValueError(f"inner dimension {inner} overflows int32")
    dtype = np.float32 if bound <= _FLOAT32_EXACT else np.float64
    assert bound < _FLOAT64_EXACT
    return (a.astype(dtype) @ b.astype(dtype)).astype(np.int32)


def _torch_cuda() -> Any | None:
    """torch when it and a CUDA device are usable; never required."""
    try:
        import torch
    except (ImportError, OSError):  # OSError: torch present but its CUDA libraries are broken
        return None
    return torch if torch.cuda.is_available() else None


def _multiply_gpu(torch: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    device = torch.device("cuda")
    ta = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    tb = torch.from_numpy(np.ascontiguousarray(b)).to(device)
    return torch._int_mm(ta, tb).cpu().numpy().astype(np.int32, copy=False)


def _spot_rows(m: int) -> list[int]:
    return sorted(
        {round(i * (m - 1) / max(SPOT_CHECK_ROWS - 1, 1)) for i in range(SPOT_CHECK_ROWS)}
    )


def multiply(a: np.ndarray, b: np.ndarray, backend: str = "auto") -> tuple[np.ndarray, str]:
    """(A @ B as int32, the backend that produced it): "cpu", "gpu", or, with the CPU's result,
    "cpu-gpu-mismatch" when the GPU's failed the spot check against the CPU and "cpu-gpu-error"
    when torch raised."""
    if backend not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown backend {backend!r}: auto, cpu or gpu")
    m, inner = a.shape
    # torch._int_mm: more than 16 rows, inner and output dimensions multiples of 8.
    shape_ok = m > 16 and inner % 8 == 0 and b.shape[1] % 8 == 0
    torch = _torch_cuda() if backend != "cpu" else None
    if backend == "gpu" and (torch is None or not shape_ok):
        raise RuntimeError("GPU path needs torch with CUDA and a shape torch._int_mm accepts")
    if torch is None or not shape_ok:
        return multiply_cpu(a, b), "cpu"
    try:
        c = _multiply_gpu(torch, a, b)
    except RuntimeError:  # CUDA out of memory, a kernel torch lacks for this device, ...
        return multiply_cpu(a, b), "cpu-gpu-error"
    rows = _spot_rows(m)
    if c.shape == (m, b.shape[1]) and np.array_equal(c[rows], multiply_cpu(a[rows], b)):
        return c, "gpu"
    return multiply_cpu(a, b), "cpu-gpu-mismatch"


# ---------------------------------------------------------------- commitment


def encode_row(row: np.ndarray) -> bytes:
    """A row of C as the bytes the leaf hashes: int32 big-endian."""
    return np.ascontiguousarray(row, dtype=">i4").tobytes()


def row_leaf(index: int, row: bytes) -> bytes:
    return keccak(index.to_bytes(32, "big") + row)


def commit_rows(c: np.ndarray) -> PositionalTree:
    """The positional Merkle tree over the rows of C."""
    encoded = np.ascontiguousarray(c, dtype=">i4").tobytes()
    width = 4 * c.shape[1]
    return PositionalTree(
        [row_leaf(i, encoded[i * width : (i + 1) * width]) for i in range(c.shape[0])]
    )


@dataclass
class Computation:
    """What a prover holds between commit and reveal."""

    challenge: Challenge
    product: np.ndarray = field(repr=False)  # C, n x n int32, as committed
    tree: PositionalTree = field(repr=False)
    backend: str

    @property
    def root(self) -> bytes:
        return self.tree.root

    def commitment(self, elapsed_s: float) -> Commitment:
        c = self.challenge
        return Commitment(root=self.root, elapsed_s=elapsed_s, seed=c.seed, n=c.n)

    def reveal(self, indices: Sequence[int], salt: bytes | None = None, k: int | None = None):
        return Reveal(
            rows=tuple(
                RevealedRow(
                    index=i, row=encode_row(self.product[i]), proof=tuple(self.tree.proof(i))
                )
                for i in indices
            ),
            salt=salt,
            k=k,
        )


def prove(challenge: Challenge, backend: str = "auto") -> Computation:
    """The honest prover: derive A and B, compute C exactly, commit to its rows."""
    a, b = derive_matrices(challenge)
    c, used = multiply(a, b, backend)
    return Computation(challenge=challenge, product=c, tree=commit_rows(c), backend=used)


def lazy_prover(fraction_skipped: float) -> Callable[[Challenge], Computation]:
    """A dishonest prover for the simulation: computes only a fraction 1 - f of the rows of C
    (chosen pseudo-randomly per challenge), fills the others with in-range garbage and commits
    to the whole as if it were C."""
    if not 0 <= fraction_skipped <= 1:
        raise ValueError(f"fraction_skipped must be in [0, 1], got {fraction_skipped}")

    def prove_lazily(challenge: Challenge) -> Computation:
        a, b = derive_matrices(challenge)
        n = challenge.n
        rng = np.random.default_rng(int.from_bytes(challenge_key(challenge), "big"))
        skipped = np.zeros(n, dtype=bool)
        skipped[rng.choice(n, size=round(fraction_skipped * n), replace=False)] = True
        c = np.empty((n, n), dtype=np.int32)
        if (~skipped).any():
            c[~skipped] = multiply_cpu(a[~skipped], b)
        bound = _MAX_ENTRY * n
        c[skipped] = rng.integers(-bound, bound + 1, size=(int(skipped.sum()), n), dtype=np.int32)
        return Computation(challenge=challenge, product=c, tree=commit_rows(c), backend="lazy")

    return prove_lazily


# ---------------------------------------------------------------- reveal and verify


def sample_rows(challenge: Challenge, root: bytes, salt: bytes, k: int = DEFAULT_K) -> list[int]:
    """The k distinct rows the verifier asks for, in the order they must be revealed."""
    _check_challenge(challenge)
    if len(root) != ROOT_BYTES or len(salt) != SALT_BYTES:
        raise ValueError(f"root and salt must be {ROOT_BYTES} and {SALT_BYTES} bytes")
    n = challenge.n
    if not 0 <= k <= n:
        raise ValueError(f"cannot sample {k} distinct rows of {n}")
    prefix = challenge.seed + node_bytes(challenge.node) + root + salt
    return distinct_indices(prefix, n, k)


def _fail(reason: Reason, detail: str, row: int | None = None) -> Verdict:
    return Verdict(passed=False, reason=reason, row=row, detail=detail)


def _reveal_error(reveal: Any, n: int) -> Verdict | None:
    """Structural checks on the node's reveal, before anything is hashed."""
    if not isinstance(reveal, Reveal) or not isinstance(reveal.rows, tuple | list):
        return _fail(Reason.MALFORMED, "reveal is not a Reveal with a sequence of rows")
    depth = tree_depth(n)
    for position, item in enumerate(reveal.rows):
        if not isinstance(item, RevealedRow) or not is_int(item.index):
            return _fail(Reason.MALFORMED, f"revealed item {position} is not a RevealedRow")
        if not 0 <= item.index < n:
            return _fail(Reason.MALFORMED, f"row index {item.index} out of range", item.index)
        if not isinstance(item.row, bytes):
            return _fail(Reason.MALFORMED, "row must be bytes (int32 big-endian)", item.index)
        if len(item.row) != 4 * n:
            return _fail(
                Reason.WRONG_SIZE, f"row is {len(item.row)} bytes, expected {4 * n}", item.index
            )
        proof = item.proof
        if not isinstance(proof, tuple | list) or len(proof) != depth:
            return _fail(Reason.MALFORMED, f"proof must be {depth} hashes", item.index)
        if not all(isinstance(s, bytes) and len(s) == 32 for s in proof):
            return _fail(Reason.MALFORMED, "proof hashes must be 32 bytes each", item.index)
    return None


def verify(
    challenge: Challenge,
    commitment: Commitment,
    reveal: Reveal,
    *,
    salt: bytes,
    hw_class: int,
    commit_latency_s: float,
    k: int = DEFAULT_K,
    classes: Mapping[int, HardwareClass] = HARDWARE_CLASSES,
) -> Verdict:
    """The verdict on one compute challenge. `commit_latency_s` is the verifier's own measure,
    challenge sent to commitment received; `salt` the bytes drawn after the commitment arrived.
    Never raises on malformed input."""
    error = _challenge_error(challenge)
    if error is not None:
        return _fail(Reason.MALFORMED, error)
    n = challenge.n
    if not is_int(k) or k < 1 or not k <= n <= MAX_N:
        return _fail(Reason.WRONG_SIZE, f"n = {n} must be in [k = {k}, {MAX_N}]")
    if not isinstance(commitment, Commitment) or not isinstance(commitment.root, bytes):
        return _fail(Reason.MALFORMED, "commitment is not a Commitment with a bytes root")
    if len(commitment.root) != ROOT_BYTES:
        return _fail(Reason.MALFORMED, f"root must be {ROOT_BYTES} bytes")
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        return _fail(Reason.MALFORMED, f"salt must be {SALT_BYTES} bytes")
    if not is_seconds(commit_latency_s):
        return _fail(Reason.MALFORMED, "commit latency must be a finite number of seconds >= 0")
    cls = classes.get(hw_class) if is_int(hw_class) else None
    if cls is None:
        return _fail(Reason.UNKNOWN_CLASS, f"no hardware class {hw_class!r}")
    if commitment.seed is not None and (commitment.seed, commitment.n) != (challenge.seed, n):
        return _fail(Reason.MALFORMED, "the commitment answers another challenge (seed or n)")
    failed = _reveal_error(reveal, n)
    if failed is not None:
        return failed
    if reveal.salt is not None and (reveal.salt, reveal.k) != (salt, k):
        return _fail(Reason.MALFORMED, "the reveal answers another salt or k")

    asked = sample_rows(challenge, commitment.root, salt, k)
    given = [item.index for item in reveal.rows]
    if given != asked:
        missing = sorted(set(asked) - set(given))
        return _fail(
            Reason.WRONG_INDICES,
            f"revealed {len(given)} rows, not the {k} asked in order; missing {missing[:8]}",
            missing[0] if missing else None,
        )
    for item in reveal.rows:
        leaf = row_leaf(item.index, item.row)
        if not verify_positional_proof(commitment.root, n, item.index, leaf, item.proof):
            return _fail(Reason.BAD_PROOF, "proof does not reach the committed root", item.index)

    key = challenge_key(challenge)
    b = derive_rows(key, LABEL_B, range(n), n)
    expected = multiply_cpu(derive_rows(key, LABEL_A, asked, n), b)
    for position, item in enumerate(reveal.rows):
        got = np.frombuffer(item.row, dtype=">i4")
        if not np.array_equal(got, expected[position]):
            column = int(np.flatnonzero(got != expected[position])[0])
            return _fail(
                Reason.WRONG_ROW,
                f"C[{item.index}, {column}] is {int(got[column])}, "
                f"A @ B gives {int(expected[position, column])}",
                item.index,
            )

    limit = deadline_s(n, cls)
    if commit_latency_s > limit:
        return _fail(
            Reason.LATE,
            f"commitment after {commit_latency_s:.3f} s, {cls.name} allows {limit:.3f} s",
        )
    return Verdict(passed=True, reason=Reason.OK)
