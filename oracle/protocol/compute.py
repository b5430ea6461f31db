"""Compute proof (proof of work), version 2: a throughput proof sized to the claimed class and
GPU count, device-dominated for the prover, milliseconds for the verifier.

Pure functions: no I/O, no clock reads (timings are measured by the caller and passed in).

Protocol, version 2. All integers big-endian unless said; || is concatenation; keccak256 is
Ethereum's; int8 is two's complement.

1. PRG (counter-based, bit for bit; a GPU derives the matrices where it multiplies them).
       mix32(x):  x ^= x >> 16;  x = x * 0x21F0AAAD mod 2^32;  x ^= x >> 15;
                  x = x * 0x735A2D97 mod 2^32;  x ^= x >> 15
   (Wellons' lowbias32: both constants are below 2^31, so every product of a 32-bit word fits
   a signed 64-bit integer, on numpy and on torch alike.) A matrix with 32-byte key K has
   k0 = uint32(K[0:4]), k1 = uint32(K[4:8]) and, for row i and word w < width / 4,
       h_i        = mix32(i ^ k0)
       word(i, w) = mix32(mix32(w ^ h_i) ^ k1)
       M[i, 4w + b] = int8(byte b of word(i, w)),  b = 0 the least significant byte
   so any row is derived alone, in O(width). Full-range int8 entries: int8 GEMM with int32
   accumulation is the fastest exact path on every GPU class (int4 units cannot hold them,
   fp8/fp16/tf32 cannot sum them exactly), so a class's throughput is its int8 throughput.

2. Challenge. The verifier sends `seed` (32 bytes, fresh, unknown to the node until the clock
   starts), `matrix_seed` (32 bytes, the epoch's: the same for every challenge of the epoch)
   and the shape for the node's claim (`shape_for`): width n (the class's), `rows` per stream
   and `streams` = the claimed GPU count (one stream per GPU, all within one deadline).
       B          = matrix of key keccak256("plinth-compute-v2/B" || matrix_seed || uint32(n)),
                    n x n
       key        = keccak256("plinth-compute-v2" || seed || node || uint64(epoch) ||
                              matrix_seed || uint32(n) || uint32(rows) || uint32(streams))
       X_s        = matrix of key keccak256(key || "X" || uint32(s)), rows x n, s < streams
       S          = matrix of key keccak256(key || "S"), n x 8

3. Prover. For every stream s and row i: C = X_s[i] @ B exactly (|entry| <= 2^14 n <= 2^28:
   exact in int32), then the row's digest
       g(y)       = int8(bits 7..14 of y)                       (elementwise, nonlinear)
       D          = g(C) @ S                                    (8 int32 values, exact)
       d[s, i]    = XOR over c < 8 of (D[c] mod 2^16)           (uint16)
   Only the digests leave the device: 2 bytes a row, whatever the width. Commitment: the
   digests in stream-major order (q = s * rows + i), cut into blocks of BLOCK digests (the last
   may be shorter); leaf_b = blake2b-256(uint32(b) || the block's digests as uint16);
   root = oracle.protocol.merkle.PositionalTree over the leaves (keccak256 pairs). The node
   returns (root, elapsed_s, and the challenge it answered: seed, matrix_seed, n, rows,
   streams), signed; the verifier times the commitment itself (challenge sent -> commitment
   received); the node's elapsed_s is informational.

4. Reveal. After the commitment arrives the verifier draws `salt` (32 fresh bytes) and asks
   for rows q_j = uint256(keccak256(seed || node || root || salt || uint32(j))) mod (rows *
   streams), the first k distinct in order of appearance. The node answers with the salt and k
   it was given (signed) and, per asked row: q, the row C as n int32, its block's digests and
   the leaf's Merkle proof. Withholding the reveal after a commitment is a failure (the
   oracle's `withheld`), as a wrong row is.

5. Verify (`verify`, never raises on bad input; the first failing check is the verdict):
   challenge, commitment and latency well formed (malformed), the shape the class and count
   ask for (wrong_size, unknown_class), the echoes equal to the challenge (malformed), the
   reveal well formed (malformed; wrong_size: a row not 4n bytes, a block not its length),
   exactly the asked rows in order (wrong_indices), every block's proof reaching the root
   (bad_proof), and for every row (wrong_row): its digest in the block equal to the digest of
   the revealed C, and C = X_s[i] @ B by Freivalds' check: for two secret vectors r (entries
   uniform in [0, 2^16), drawn by the verifier and never sent), C . r == X_s[i] . (B r) in exact
   64-bit integers (|each side| <= 2^58). B r is computed once per (matrix_seed, n) per
   verifier process (`Probe`): n^2 work once per epoch and width, then O(n) per revealed row.
   Last, the commitment latency within `deadline_s` (late). Else ok.

6. Why it binds what is paid.
   - Work. A committed digest needs all of its row's C (g keeps bits 7..14 of every entry, so no
     linear shortcut such as X (B S) computes it), so a node that skipped a fraction f of the
     rows has those digests wrong and is caught when a sampled row is one of them: at least
     1 - (1 - f)^k, minus a 2^-16 chance per such row of guessing a digest. Reveals cannot be
     fabricated: a revealed C != X_s[i] @ B passes both Freivalds vectors with probability at
     most 2^-32, and the digest must match what was committed before the salt existed.
   - Throughput. The shape gives every class `device_s` of work per stream at its claimed
     rate, so the deadline (slack times that, plus the host and network allowances) is
     dominated by the device: a device of a slower class cannot meet it. `streams` = the
     claimed GPU count: a node with fewer GPUs must skip streams (caught as above) or be late,
     so the count is proven, not declared.
   - Sharing. X is the node's own (node, seed, epoch in the key): no row of work is the same for
     two nodes or two challenges, so colluding nodes have nothing to share but B, which is
     n^2 PRG words (milliseconds on a GPU). Knowing B from the start of the epoch buys no
     shortcut for X @ B with X unknown beyond generic preprocessing (table methods save a
     log factor, far less than int8 tensor cores give).
   - Verifier. Per node-challenge: k rows of X (O(k n) PRG), 2k dot products and k digests,
     k leaves and proofs: independent of the prover's work (python -m oracle.bench.compute_ratio).
   Limits: timing proves throughput, not the device's identity (an A100 and an RTX 4090 are
   within a few percent of each other and may claim each other's class); the class table's
   sustained rates are calibrated from published peaks (section 7) until measured on each GPU
   (the benchmark prints the GPU path's timings when one is lent).

7. Hardware classes (HARDWARE_CLASSES, index = NodeRegistry's hwClass): sustained exact int8
   multiply-accumulates per second of one device, and the width n of its challenges:
       rows(shape)   = ceil(device_s * macs_per_s / n^2), at least MIN_ROWS, rounded up to 32
       deadline_s    = slack * rows * n^2 / macs_per_s                  (the device)
                       + host_s + streams * rows * 2 / HASH_BYTES_PER_S   (the host)
                       + network_s
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from eth_utils import keccak

from oracle.protocol._checks import (
    distinct_indices,
    is_int,
    is_seconds,
    node_bytes,
    samples_needed,
)
from oracle.protocol.merkle import PositionalTree, tree_depth, verify_positional_proof

VERSION = 2
SEED_BYTES = 32
SALT_BYTES = 32
ROOT_BYTES = 32
MAX_N = 16384  # |C| <= 2^14 n <= 2^28: exact in int32, and both Freivalds sides within 2^58
MAX_STREAMS = 64  # GPUs one challenge can prove; a larger claim gets no challenge it can pass
MAX_ROWS = 2**26  # rows of one stream (2 bytes of digest each)
MIN_ROWS = 64
ROW_ALIGN = 32  # rows per stream are a multiple of this (torch._int_mm wants more than 16)
BLOCK = 2048  # digests per Merkle leaf (4 KiB)
DIGEST_COLUMNS = 8
DEFAULT_K = 44  # smallest k with 1 - 0.9^k >= 0.99
DEVICE_S = 2.0  # the protocol's work per stream, in seconds of the claimed class's device
HASH_BYTES_PER_S = 4e8  # host hashing of the digests the allowance assumes (blake2b: ~6e8 here)
FREIVALDS_VECTORS = 2
FREIVALDS_BITS = 16
SPOT_CHECK_ROWS = 4
_M32 = 0xFFFFFFFF
_MIX = (0x21F0AAAD, 0x735A2D97)
_FLOAT32_INNER = 1024  # int8 x int8 partial sums over 1024 terms stay within 2^24
_TAG = b"plinth-compute-v2"


class Reason(StrEnum):
    """Verdict reason codes; the value is what providers look up."""

    OK = "ok"
    MALFORMED = "malformed"
    WRONG_SIZE = "wrong_size"
    UNKNOWN_CLASS = "unknown_class"
    UNPROVABLE = "unprovable_claim"  # e.g. more GPUs than one challenge can prove
    WRONG_INDICES = "wrong_indices"
    BAD_PROOF = "bad_proof"
    WRONG_ROW = "wrong_row"
    LATE = "late"


@dataclass(frozen=True)
class HardwareClass:
    """A class a compute node claims: what one device of it sustains, and the allowances its
    honest nodes need beyond the device's work."""

    index: int  # NodeRegistry's hwClass
    name: str
    macs_per_s: float  # sustained exact int8 multiply-accumulates per second, one device
    n: int  # the width of its challenges (and of the epoch's B for it)
    slack: float = 1.2  # on the device time: clocks, thermals, a busy bus
    host_s: float = 0.15  # fixed host work: launch, PRG of B on first use, the tree
    network_s: float = 0.35  # round trip, TLS, signing, queueing


# GPU figures are NVIDIA's dense INT8 tensor peaks (the "with sparsity" figure is twice these),
# halved to multiply-accumulates, times a sustained fraction of 1/2 for torch._int_mm at
# these widths (not yet measured on each card: see the module docstring, section 6).
# CPU: numpy float32 BLAS on these 2-core AVX-512 machines measured 40-60 G MAC/s uncontended
# and down to about 20 with other jobs on the cores (python -m oracle.bench.compute_ratio);
# 1e10 with slack 2 leaves room for that.
HARDWARE_CLASSES: dict[int, HardwareClass] = {
    c.index: c
    for c in (
        HardwareClass(0, "cpu", macs_per_s=1e10, n=1024, slack=2.0, host_s=0.5),
        # RTX 3090: 284.7 dense INT8 TOPS (NVIDIA Ampere GA102 whitepaper).
        HardwareClass(1, "rtx3090", macs_per_s=7.1e13, n=8192),
        # A100: 624 dense INT8 TOPS (A100 datasheet, 1248 with sparsity).
        HardwareClass(2, "a100", macs_per_s=1.56e14, n=8192),
        # H100 PCIe: 1513 dense INT8 TOPS (H100 datasheet: 3026 with sparsity; SXM 1979).
        HardwareClass(3, "h100", macs_per_s=3.78e14, n=8192),
        # RTX 4090: 660.6 dense INT8 TOPS (NVIDIA Ada Lovelace whitepaper, 1321.2 with sparsity).
        HardwareClass(4, "rtx4090", macs_per_s=1.65e14, n=8192),
    )
}


@dataclass(frozen=True)
class Params:
    """What a committee agrees on for its challenges (every member the same, or the evidence of
    one does not verify for the others): `device_s` seconds of the claimed class's work per
    device, widths capped at `max_n` (production: the class's own; tests and the demo shrink
    both, which leaves the network allowance dominant, so timing proves little there)."""

    device_s: float = DEVICE_S
    max_n: int = MAX_N

    def __post_init__(self):
        if not (isinstance(self.device_s, int | float) and 0 < self.device_s <= 60):
            raise ValueError(f"device_s must be in (0, 60], got {self.device_s!r}")
        if not (is_int(self.max_n) and 8 <= self.max_n <= MAX_N and self.max_n % 8 == 0):
            raise ValueError(f"max_n must be a multiple of 8 in [8, {MAX_N}], got {self.max_n!r}")


DEFAULT_PARAMS = Params()


@dataclass(frozen=True)
class Shape:
    n: int
    rows: int  # per stream
    streams: int

    @property
    def total_rows(self) -> int:
        return self.rows * self.streams

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the products, all streams."""
        return self.total_rows * self.n * self.n


def shape_for(hw_class: HardwareClass, gpu_count: int, params: Params = DEFAULT_PARAMS) -> Shape:
    """The challenge for a node claiming `gpu_count` devices of `hw_class`: params.device_s of
    the class's work per device, at the class's width capped by params.max_n. ValueError for a
    claim no challenge can prove (a count outside [1, MAX_STREAMS], more rows than MAX_ROWS)."""
    if not is_int(gpu_count) or not 1 <= gpu_count <= MAX_STREAMS:
        raise ValueError(f"a challenge proves 1 to {MAX_STREAMS} devices, not {gpu_count!r}")
    n = min(hw_class.n, params.max_n)
    rows = max(MIN_ROWS, math.ceil(params.device_s * hw_class.macs_per_s / (n * n)))
    rows = -(-rows // ROW_ALIGN) * ROW_ALIGN
    if rows > MAX_ROWS:
        raise ValueError(f"{rows} rows per stream exceed {MAX_ROWS}: use a wider n")
    return Shape(n, rows, gpu_count)


def deadline_s(shape: Shape, hw_class: HardwareClass) -> float:
    """Seconds from challenge sent to commitment received that an honest node of the class
    needs at most (the streams run in parallel, one per device)."""
    device = shape.rows * shape.n * shape.n / hw_class.macs_per_s
    host = hw_class.host_s + 2 * shape.total_rows / HASH_BYTES_PER_S
    return hw_class.slack * device + host + hw_class.network_s


def detection_probability(fraction_skipped: float, k: int = DEFAULT_K) -> float:
    """Lower bound on catching a node that skipped `fraction_skipped` of the rows, per
    challenge (sampling with replacement; distinct rows only do better), ignoring the 2^-16
    chance per sampled skipped row of a guessed digest."""
    if not 0 <= fraction_skipped <= 1 or k < 0:
        raise ValueError(f"need 0 <= f <= 1 and k >= 0, got f={fraction_skipped}, k={k}")
    return 1 - (1 - fraction_skipped) ** k


def rows_for_detection(fraction_skipped: float, probability: float) -> int:
    """The smallest k with detection_probability(fraction_skipped, k) >= probability."""
    if not 0 < fraction_skipped < 1:
        raise ValueError(f"need 0 < f < 1, got {fraction_skipped}")
    return samples_needed(1 - fraction_skipped, probability)


# ---------------------------------------------------------------- the challenge


@dataclass(frozen=True)
class Challenge:
    seed: bytes
    matrix_seed: bytes  # the epoch's: B's
    node: str  # the node key's address, "0x" + 40 hex digits
    epoch: int
    n: int
    rows: int  # per stream
    streams: int

    @property
    def shape(self) -> Shape:
        return Shape(self.n, self.rows, self.streams)


@dataclass(frozen=True)
class Commitment:
    root: bytes
    elapsed_s: float  # the node's own measurement; the verifier times the commitment itself
    # The challenge the node says it answered, signed with the root (None only for a commitment
    # built in-process): a signed answer names its challenge, so it is evidence anyone can
    # replay, and nobody can pin it on another challenge.
    seed: bytes | None = None
    matrix_seed: bytes | None = None
    n: int | None = None
    rows: int | None = None
    streams: int | None = None

    def echo(self) -> tuple:
        return (self.seed, self.matrix_seed, self.n, self.rows, self.streams)


@dataclass(frozen=True)
class RevealedRow:
    index: int  # q = stream * rows + row
    row: bytes  # C's row: n int32, big-endian
    block: bytes  # the digests of the row's leaf, uint16 big-endian
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


def _challenge_error(c: Any) -> str | None:
    if not isinstance(c, Challenge):
        return "challenge is not a Challenge"
    for name in ("seed", "matrix_seed"):
        value = getattr(c, name)
        if not isinstance(value, bytes) or len(value) != SEED_BYTES:
            return f"{name} must be {SEED_BYTES} bytes"
    if node_bytes(c.node) is None:
        return "node must be an address, 0x and 40 hex digits"
    if not is_int(c.epoch) or not 0 <= c.epoch < 2**64:
        return "epoch must be a uint64"
    if not (is_int(c.n) and 8 <= c.n <= MAX_N and c.n % 8 == 0):
        return f"n must be a multiple of 8 in [8, {MAX_N}]"
    if not (is_int(c.rows) and MIN_ROWS <= c.rows <= MAX_ROWS and c.rows % ROW_ALIGN == 0):
        return f"rows must be a multiple of {ROW_ALIGN} in [{MIN_ROWS}, {MAX_ROWS}]"
    if not (is_int(c.streams) and 1 <= c.streams <= MAX_STREAMS):
        return f"streams must be in [1, {MAX_STREAMS}]"
    return None


def _check_challenge(challenge: Challenge) -> None:
    error = _challenge_error(challenge)
    if error is not None:
        raise ValueError(error)


def challenge_key(c: Challenge) -> bytes:
    _check_challenge(c)
    return keccak(
        _TAG
        + c.seed
        + node_bytes(c.node)
        + c.epoch.to_bytes(8, "big")
        + c.matrix_seed
        + c.n.to_bytes(4, "big")
        + c.rows.to_bytes(4, "big")
        + c.streams.to_bytes(4, "big")
    )


def matrix_seed_for(epoch_seed: bytes) -> bytes:
    """The epoch's matrix seed, from its seed (oracle.service.chain.epoch_seed): every member
    asks for the same B in an epoch, so each verifier derives B r once per epoch and width."""
    return keccak(_TAG + b"/matrix" + epoch_seed)


def matrix_key(matrix_seed: bytes, n: int) -> bytes:
    return keccak(_TAG + b"/B" + matrix_seed + n.to_bytes(4, "big"))


def stream_key(key: bytes, stream: int) -> bytes:
    return keccak(key + b"X" + stream.to_bytes(4, "big"))


def digest_key(key: bytes) -> bytes:
    return keccak(key + b"S")


# ---------------------------------------------------------------- PRG (numpy reference)


def _mix32(x: np.ndarray) -> np.ndarray:
    """lowbias32 on uint64 arrays holding 32-bit words."""
    x = x ^ (x >> np.uint64(16))
    x = (x * np.uint64(_MIX[0])) & np.uint64(_M32)
    x = x ^ (x >> np.uint64(15))
    x = (x * np.uint64(_MIX[1])) & np.uint64(_M32)
    return x ^ (x >> np.uint64(15))


def derive_rows(key: bytes, rows: Sequence[int] | np.ndarray, width: int) -> np.ndarray:
    """Rows `rows` of the matrix with key `key` and `width` columns (a multiple of 4): int8,
    shape (len(rows), width)."""
    if width % 4:
        raise ValueError(f"width {width} is not a multiple of 4")
    k0 = np.uint64(int.from_bytes(key[0:4], "big"))
    k1 = np.uint64(int.from_bytes(key[4:8], "big"))
    i = np.asarray(rows, dtype=np.uint64).reshape(-1, 1)
    h = _mix32(i ^ k0)
    w = np.arange(width // 4, dtype=np.uint64).reshape(1, -1)
    words = _mix32(_mix32(w ^ h) ^ k1).astype("<u4")
    return words.view(np.int8).reshape(len(i), width)


def derive_block(key: bytes, start: int, count: int, width: int) -> np.ndarray:
    return derive_rows(key, np.arange(start, start + count, dtype=np.uint64), width)


# ---------------------------------------------------------------- product and digests


def multiply_cpu(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact int8 product as int32 through float32 BLAS, the inner dimension cut into blocks
    of 1024 (every partial sum of a block stays within 2^24)."""
    inner = a.shape[1]
    if inner > MAX_N:
        raise ValueError(f"inner dimension {inner} exceeds {MAX_N}")
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int32)
    for lo in range(0, inner, _FLOAT32_INNER):
        hi = min(lo + _FLOAT32_INNER, inner)
        part = a[:, lo:hi].astype(np.float32) @ np.asarray(b[lo:hi], dtype=np.float32)
        out += part.astype(np.int32)
    return out


def squash(c: np.ndarray) -> np.ndarray:
    """g: bits 7..14 of every int32 entry, as int8."""
    return ((c >> 7) & 0xFF).astype(np.uint8).view(np.int8)


def digests_of(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """uint16 digest of every row of C (int32, m x n) with the digest matrix S (int8, n x 8)."""
    d = (squash(c).astype(np.float64) @ s.astype(np.float64)).astype(np.int64)  # exact: < 2^28
    folded = np.bitwise_xor.reduce(d & 0xFFFF, axis=1)
    return folded.astype(np.uint16)


def block_leaf(index: int, block: bytes) -> bytes:
    return hashlib.blake2b(index.to_bytes(4, "big") + block, digest_size=32).digest()


def commit_digests(digests: np.ndarray) -> PositionalTree:
    """The Merkle tree over the blocks of the stream-major digests."""
    raw = np.ascontiguousarray(digests, dtype=">u2").tobytes()
    size = 2 * BLOCK
    return PositionalTree(
        [block_leaf(b, raw[o : o + size]) for b, o in enumerate(range(0, len(raw), size))]
    )


class TooSlow(RuntimeError):
    """The prover gave up: it could not finish before the deadline."""


@dataclass
class Computation:
    """What a prover holds between commit and reveal: the digests and their tree; revealed
    rows of C are recomputed on demand (k rows: k n^2 work, in one product)."""

    challenge: Challenge
    digests: np.ndarray = field(repr=False)  # uint16, stream-major
    tree: PositionalTree = field(repr=False)
    backend: str
    # rows q (stream-major) -> their rows of C, int32; None: the honest product (product_rows)
    rows_of: Callable[[Sequence[int]], np.ndarray] | None = field(default=None, repr=False)

    @property
    def root(self) -> bytes:
        return self.tree.root

    def product_rows(self, indices: Sequence[int]) -> np.ndarray:
        if self.rows_of is not None:
            return self.rows_of(indices)
        return product_rows(self.challenge, indices)

    def product_row(self, q: int) -> np.ndarray:
        return self.product_rows([q])[0]

    def commitment(self, elapsed_s: float) -> Commitment:
        c = self.challenge
        return Commitment(self.root, elapsed_s, c.seed, c.matrix_seed, c.n, c.rows, c.streams)

    def reveal(self, indices: Sequence[int], salt: bytes | None = None, k: int | None = None):
        raw = np.ascontiguousarray(self.digests, dtype=">u2").tobytes()
        rows = self.product_rows(list(indices)) if len(indices) else []
        out = []
        for q, row in zip(indices, rows, strict=True):
            b = q // BLOCK
            out.append(
                RevealedRow(
                    index=q,
                    row=np.ascontiguousarray(row, dtype=">i4").tobytes(),
                    block=raw[2 * b * BLOCK : 2 * (b + 1) * BLOCK],
                    proof=tuple(self.tree.proof(b)),
                )
            )
        return Reveal(rows=tuple(out), salt=salt, k=k)


_MATRICES: OrderedDict[tuple[bytes, int], np.ndarray] = OrderedDict()
_MATRICES_LOCK = threading.Lock()


def epoch_matrix(matrix_seed: bytes, n: int, keep: int = 2) -> np.ndarray:
    """B (int8, n x n), derived once per (matrix_seed, n) and process (the last `keep`), held
    as float32 (exact for int8): the CPU's products take it as it is."""
    with _MATRICES_LOCK:
        hit = _MATRICES.get((matrix_seed, n))
        if hit is not None:
            _MATRICES.move_to_end((matrix_seed, n))
            return hit
    b = derive_block(matrix_key(matrix_seed, n), 0, n, n).astype(np.float32)
    with _MATRICES_LOCK:
        _MATRICES[(matrix_seed, n)] = b
        while len(_MATRICES) > keep:
            _MATRICES.popitem(last=False)
    return b


def x_rows(challenge: Challenge, indices: Sequence[int]) -> np.ndarray:
    """Rows `indices` (stream-major: q = stream * rows + row) of the streams' X, int8, in the
    order given (one derivation per stream)."""
    key = challenge_key(challenge)
    out = np.empty((len(indices), challenge.n), dtype=np.int8)
    by_stream: dict[int, list[int]] = {}
    for position, q in enumerate(indices):
        by_stream.setdefault(q // challenge.rows, []).append(position)
    for stream, positions in by_stream.items():
        rows = [indices[p] % challenge.rows for p in positions]
        out[positions] = derive_rows(stream_key(key, stream), rows, challenge.n)
    return out


def product_rows(challenge: Challenge, indices: Sequence[int]) -> np.ndarray:
    """Rows `indices` (stream-major) of the honest C, int32: one product, every stream's rows
    times the same B."""
    b = epoch_matrix(challenge.matrix_seed, challenge.n)
    return multiply_cpu(x_rows(challenge, indices), b)


GiveUp = Callable[[float], bool]  # asked with the fraction of the work done so far


def _chunk_rows(n: int) -> int:
    """Rows per chunk of work: about 2^30 multiply-accumulates, so a prover that must give up
    notices within a fraction of a second."""
    return max(ROW_ALIGN, min(4096, 2**30 // (n * n)))


def prove_cpu(
    challenge: Challenge,
    *,
    skip: Callable[[int, np.ndarray], np.ndarray] | None = None,
    give_up: GiveUp | None = None,
) -> Computation:
    """The reference prover on the CPU (numpy). `skip(stream, rows) -> mask` marks rows whose
    work is skipped (their digests are garbage: the simulation's lazy node); `give_up(done)`,
    asked between chunks with the fraction done, aborts with TooSlow (a node that cannot meet
    its deadline stops working)."""
    key = challenge_key(challenge)
    n, rows = challenge.n, challenge.rows
    b = epoch_matrix(challenge.matrix_seed, n)
    s = derive_block(digest_key(key), 0, n, DIGEST_COLUMNS)
    digests = np.empty(rows * challenge.streams, dtype=np.uint16)
    chunk_rows = _chunk_rows(n)
    for stream in range(challenge.streams):
        skey = stream_key(key, stream)
        for lo in range(0, rows, chunk_rows):
            done = (stream * rows + lo) / (rows * challenge.streams)
            if give_up is not None and give_up(done):
                raise TooSlow(f"gave up at stream {stream}, row {lo} of {rows}")
            idx = np.arange(lo, min(lo + chunk_rows, rows), dtype=np.uint64)
            lazy = skip(stream, idx) if skip is not None else None
            out = digests[stream * rows + lo : stream * rows + lo + len(idx)]
            work = idx if lazy is None else idx[~lazy]
            if len(work):
                c = multiply_cpu(derive_rows(skey, work, n), b)
                if lazy is None:
                    out[:] = digests_of(c, s)
                else:
                    out[~lazy] = digests_of(c, s)
            if lazy is not None and lazy.any():
                garbage = derive_rows(keccak(skey + b"lazy"), idx[lazy], 4)
                out[lazy] = garbage.view("<u2")[:, 0]

    return Computation(challenge, digests, commit_digests(digests), "cpu")


def _torch_cuda() -> Any | None:
    """torch when it and a CUDA device are usable; never required."""
    try:
        import torch
    except (ImportError, OSError):  # OSError: torch present but its CUDA libraries are broken
        return None
    return torch if torch.cuda.is_available() else None


def prove(
    challenge: Challenge, backend: str = "auto", give_up: GiveUp | None = None
) -> Computation:
    """The honest prover: on the GPU(s) when torch with CUDA is present (oracle.protocol.
    compute_gpu, checked row by row against the CPU reference on a few rows, the CPU's result
    used on any mismatch), else on the CPU."""
    if backend not in ("auto", "cpu", "gpu"):
        raise ValueError(f"unknown backend {backend!r}: auto, cpu or gpu")
    torch = _torch_cuda() if backend != "cpu" else None
    if backend == "gpu" and torch is None:
        raise RuntimeError("the GPU path needs torch with CUDA")
    if torch is None:
        return prove_cpu(challenge, give_up=give_up)
    from oracle.protocol import compute_gpu

    try:
        computation = compute_gpu.prove(torch, challenge, give_up=give_up)
    except TooSlow:
        raise
    except RuntimeError:  # CUDA out of memory, a kernel torch lacks for this device, ...
        computation = prove_cpu(challenge, give_up=give_up)
        computation.backend = "cpu-gpu-error"
        return computation
    if spot_check(computation):
        return computation
    computation = prove_cpu(challenge, give_up=give_up)
    computation.backend = "cpu-gpu-mismatch"
    return computation


def spot_check(computation: Computation, count: int = SPOT_CHECK_ROWS) -> bool:
    """Whether the digests of `count` rows spread over every stream equal the CPU reference's
    (reduced-precision accumulators and PRG slips are caught before a commitment is sent)."""
    c = computation.challenge
    s = derive_block(digest_key(challenge_key(c)), 0, c.n, DIGEST_COLUMNS)
    total = c.rows * c.streams
    picks = sorted({round(j * (total - 1) / max(count - 1, 1)) for j in range(count)})
    rows = product_rows(c, picks)
    return bool(np.array_equal(digests_of(rows, s), computation.digests[picks]))


def lazy_prover(fraction_skipped: float) -> Callable[..., Computation]:
    """A dishonest prover for the simulation: does the work of only 1 - f of the rows (chosen
    pseudo-randomly per challenge) and commits garbage digests for the others."""
    if not 0 <= fraction_skipped <= 1:
        raise ValueError(f"fraction_skipped must be in [0, 1], got {fraction_skipped}")

    def prove_lazily(challenge: Challenge, give_up=None) -> Computation:
        key = challenge_key(challenge)

        def skip(stream: int, idx: np.ndarray) -> np.ndarray:
            draw = derive_rows(keccak(key + b"skip" + stream.to_bytes(4, "big")), idx, 4)
            return draw.view("<u4")[:, 0] < np.uint32(round(fraction_skipped * 2**32 - 1))

        computation = prove_cpu(challenge, skip=skip if fraction_skipped else None,
                                give_up=give_up)  # fmt: skip
        computation.backend = "lazy"
        return computation

    return prove_lazily


# ---------------------------------------------------------------- reveal and verify


def sample_rows(challenge: Challenge, root: bytes, salt: bytes, k: int = DEFAULT_K) -> list[int]:
    """The k distinct rows (stream-major) the verifier asks for, in the order they must be
    revealed."""
    _check_challenge(challenge)
    if len(root) != ROOT_BYTES or len(salt) != SALT_BYTES:
        raise ValueError(f"root and salt must be {ROOT_BYTES} and {SALT_BYTES} bytes")
    total = challenge.rows * challenge.streams
    if not 0 <= k <= total:
        raise ValueError(f"cannot sample {k} distinct rows of {total}")
    prefix = challenge.seed + node_bytes(challenge.node) + root + salt
    return distinct_indices(prefix, total, k)


@dataclass(frozen=True)
class Probe:
    """The verifier's secret Freivalds vectors for one (matrix_seed, n): r (n x 2, entries in
    [0, 2^16)) and B r (n x 2), exact in int64. Never sent anywhere."""

    matrix_seed: bytes
    n: int
    r: np.ndarray = field(repr=False)
    br: np.ndarray = field(repr=False)

    @classmethod
    def draw(cls, matrix_seed: bytes, n: int, chunk_rows: int = 1024) -> Probe:
        import os

        r = np.frombuffer(os.urandom(2 * n * FREIVALDS_VECTORS), dtype="<u2")
        r = r.reshape(n, FREIVALDS_VECTORS).astype(np.int64)
        br = np.empty((n, FREIVALDS_VECTORS), dtype=np.int64)
        key, rf = matrix_key(matrix_seed, n), r.astype(np.float64)
        for lo in range(0, n, chunk_rows):  # B in slices: n^2 bytes never held at once
            part = derive_block(key, lo, min(chunk_rows, n - lo), n).astype(np.float64)
            br[lo : lo + len(part)] = (part @ rf).astype(np.int64)  # exact: |B r| < 2^37
        return cls(matrix_seed, n, r, br)


_PROBES: OrderedDict[tuple[bytes, int], Probe] = OrderedDict()
_PROBES_LOCK = threading.Lock()
_PROBE_BUILDS: dict[tuple[bytes, int], threading.Lock] = {}


def probe_for(matrix_seed: bytes, n: int, keep: int = 8) -> Probe:
    """This process's Probe for (matrix_seed, n), drawn on first use (n^2 PRG words and a
    product: about once per epoch and width); threads asking at once draw it once."""
    k = (matrix_seed, n)
    with _PROBES_LOCK:
        if k in _PROBES:
            _PROBES.move_to_end(k)
            return _PROBES[k]
        build = _PROBE_BUILDS.setdefault(k, threading.Lock())
    with build:
        with _PROBES_LOCK:
            if k in _PROBES:
                return _PROBES[k]
        probe = Probe.draw(matrix_seed, n)
        with _PROBES_LOCK:
            _PROBES[k] = probe
            _PROBE_BUILDS.pop(k, None)
            while len(_PROBES) > keep:
                _PROBES.popitem(last=False)
        return probe


def _fail(reason: Reason, detail: str, row: int | None = None) -> Verdict:
    return Verdict(passed=False, reason=reason, row=row, detail=detail)


def _block_size(c: Challenge, q: int) -> int:
    """Bytes of the block holding row q."""
    total = c.rows * c.streams
    start = (q // BLOCK) * BLOCK
    return 2 * min(BLOCK, total - start)


def _reveal_error(reveal: Any, c: Challenge) -> Verdict | None:
    """Structural checks on the node's reveal, before anything is hashed."""
    if not isinstance(reveal, Reveal) or not isinstance(reveal.rows, tuple | list):
        return _fail(Reason.MALFORMED, "reveal is not a Reveal with a sequence of rows")
    total = c.rows * c.streams
    depth = tree_depth(-(-total // BLOCK))
    for position, item in enumerate(reveal.rows):
        if not isinstance(item, RevealedRow) or not is_int(item.index):
            return _fail(Reason.MALFORMED, f"revealed item {position} is not a RevealedRow")
        if not 0 <= item.index < total:
            return _fail(Reason.MALFORMED, f"row index {item.index} out of range", item.index)
        if not isinstance(item.row, bytes) or not isinstance(item.block, bytes):
            return _fail(Reason.MALFORMED, "row and block must be bytes", item.index)
        if len(item.row) != 4 * c.n:
            return _fail(
                Reason.WRONG_SIZE, f"row is {len(item.row)} bytes, expected {4 * c.n}", item.index
            )
        if len(item.block) != _block_size(c, item.index):
            return _fail(Reason.WRONG_SIZE, f"block is {len(item.block)} bytes", item.index)
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
    gpu_count: int,
    commit_latency_s: float,
    k: int = DEFAULT_K,
    params: Params = DEFAULT_PARAMS,
    classes: Mapping[int, HardwareClass] = HARDWARE_CLASSES,
    probe: Probe | None = None,
) -> Verdict:
    """The verdict on one compute challenge to a node claiming `gpu_count` devices of
    `hw_class`. `commit_latency_s` is the verifier's own measure, challenge sent to commitment
    received; `salt` the bytes drawn after the commitment arrived; `params` the committee's
    (shape_for). Never raises on malformed input."""
    error = _challenge_error(challenge)
    if error is not None:
        return _fail(Reason.MALFORMED, error)
    c = challenge
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
    try:
        expected = shape_for(cls, gpu_count, params)
    except ValueError as exc:
        return _fail(Reason.UNPROVABLE, f"no challenge can prove this claim: {exc}")
    if c.shape != expected:  # the verifier's own inconsistency: never the node's fault
        return _fail(Reason.MALFORMED, f"shape {c.shape} is not {expected} for the claim")
    if not is_int(k) or not 1 <= k <= c.rows * c.streams:
        return _fail(Reason.WRONG_SIZE, f"k = {k!r} must be in [1, {c.rows * c.streams}]")
    if commitment.seed is not None and commitment.echo() != (
        c.seed, c.matrix_seed, c.n, c.rows, c.streams
    ):  # fmt: skip
        return _fail(Reason.MALFORMED, "the commitment answers another challenge")
    failed = _reveal_error(reveal, c)
    if failed is not None:
        return failed
    if reveal.salt is not None and (reveal.salt, reveal.k) != (salt, k):
        return _fail(Reason.MALFORMED, "the reveal answers another salt or k")

    asked = sample_rows(c, commitment.root, salt, k)
    given = [item.index for item in reveal.rows]
    if given != asked:
        missing = sorted(set(asked) - set(given))
        return _fail(
            Reason.WRONG_INDICES,
            f"revealed {len(given)} rows, not the {k} asked in order; missing {missing[:8]}",
            missing[0] if missing else None,
        )
    leaves = -(-c.rows * c.streams // BLOCK)
    for item in reveal.rows:
        b = item.index // BLOCK
        if not verify_positional_proof(
            commitment.root, leaves, b, block_leaf(b, item.block), item.proof
        ):
            return _fail(Reason.BAD_PROOF, "proof does not reach the committed root", item.index)

    key = challenge_key(c)
    rows_c = np.stack([np.frombuffer(item.row, dtype=">i4") for item in reveal.rows])
    s = derive_block(digest_key(key), 0, c.n, DIGEST_COLUMNS)
    digests = digests_of(rows_c.astype(np.int32), s)
    for position, item in enumerate(reveal.rows):
        slot = 2 * (item.index % BLOCK)
        committed = int.from_bytes(item.block[slot : slot + 2], "big")
        if committed != int(digests[position]):
            return _fail(
                Reason.WRONG_ROW,
                f"row {item.index}: committed digest {committed:#06x}, the revealed row gives "
                f"{int(digests[position]):#06x}",
                item.index,
            )
    probe = probe if probe is not None else probe_for(c.matrix_seed, c.n)
    if (probe.matrix_seed, probe.n) != (c.matrix_seed, c.n):
        raise ValueError("the probe is for another matrix")
    x = x_rows(c, [item.index for item in reveal.rows])
    lhs = rows_c.astype(np.int64) @ probe.r
    rhs = x.astype(np.int64) @ probe.br
    bad = np.flatnonzero((lhs != rhs).any(axis=1))
    if len(bad):
        q = reveal.rows[int(bad[0])].index
        return _fail(Reason.WRONG_ROW, f"row {q} is not X @ B (Freivalds' check)", q)

    limit = deadline_s(c.shape, cls)
    if commit_latency_s > limit:
        return _fail(
            Reason.LATE,
            f"commitment after {commit_latency_s:.3f} s, {c.streams} x {cls.name} allows "
            f"{limit:.3f} s",
        )
    return Verdict(passed=True, reason=Reason.OK)
