"""oracle/proofs/compute.py: derivation, exact product, row commitment, sampling, the verifier's
reason codes, the dishonest lazy prover, detection probability; and the positional tree that
oracle/merkle.py factors out of ChunkTree. Pure: no chain, no network."""

import hashlib
import math
import os
import random
from dataclasses import replace

import numpy as np
import pytest
from eth_utils import keccak

from oracle.protocol import compute
from oracle.protocol.compute import (
    DEFAULT_K,
    HARDWARE_CLASSES,
    MAX_N,
    Challenge,
    Commitment,
    Computation,
    Reason,
    Reveal,
    Verdict,
    challenge_key,
    commit_rows,
    deadline_s,
    derive_matrices,
    derive_rows,
    detection_probability,
    encode_row,
    lazy_prover,
    multiply,
    multiply_cpu,
    prove,
    row_leaf,
    rows_for_detection,
    sample_rows,
    verify,
)
from oracle.protocol.merkle import (
    CHUNK_SIZE,
    ChunkTree,
    PositionalTree,
    chunk_leaf,
    verify_chunk_proof,
    verify_positional_proof,
)

NODE = "0x" + "11" * 20
OTHER_NODE = "0x" + "22" * 20
CPU = 0


def make_challenge(n: int = 64, seed: int = 0, node: str = NODE, epoch: int = 3) -> Challenge:
    return Challenge(seed=random.Random(seed).randbytes(32), n=n, node=node, epoch=epoch)


def salt_of(i: int) -> bytes:
    return keccak(b"salt" + i.to_bytes(4, "big"))


def answer(computation: Computation, salt: bytes, k: int = DEFAULT_K) -> tuple[Commitment, Reveal]:
    """What a node sends: its commitment, then the rows the verifier asks for."""
    rows = sample_rows(computation.challenge, computation.root, salt, k)
    return computation.commitment(elapsed_s=0.01), computation.reveal(rows, salt, k)


def check(challenge, commitment, reveal, salt, latency=0.0, hw_class=CPU, k=DEFAULT_K) -> Verdict:
    return verify(
        challenge,
        commitment,
        reveal,
        salt=salt,
        hw_class=hw_class,
        commit_latency_s=latency,
        k=k,
    )


@pytest.fixture(scope="module")
def honest() -> Computation:
    return prove(make_challenge(n=96, seed=1))


@pytest.fixture(scope="module")
def salt() -> bytes:
    return salt_of(0)


# ---------------------------------------------------------------- references written apart


def reference_matrix(challenge: Challenge, label: bytes) -> list[list[int]]:
    """The derivation as the module docstring specifies it, in plain Python."""
    key = keccak(
        challenge.seed
        + bytes.fromhex(challenge.node[2:])
        + challenge.epoch.to_bytes(8, "big")
        + challenge.n.to_bytes(4, "big")
    )
    n = challenge.n
    return [
        [
            (byte & 0x0F) - 8
            for byte in hashlib.shake_256(key + label + i.to_bytes(4, "big")).digest(n)
        ]
        for i in range(n)
    ]


def reference_product(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [
        [sum(a[i][t] * b[t][j] for t in range(len(b))) for j in range(len(b[0]))]
        for i in range(len(a))
    ]


def reference_positional_root(leaves: list[bytes]) -> bytes:
    size = 1
    while size < len(leaves):
        size *= 2
    padded = leaves + [b"\x00" * 32] * (size - len(leaves))

    def root(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return padded[lo]
        mid = (lo + hi) // 2
        return keccak(root(lo, mid) + root(mid, hi))

    return root(0, size)


# ---------------------------------------------------------------- derivation


def test_derive_matrices_is_deterministic_and_in_range():
    a1, b1 = derive_matrices(make_challenge(n=64))
    a2, b2 = derive_matrices(make_challenge(n=64))
    assert a1.dtype == np.int8 and a1.shape == (64, 64) and b1.shape == (64, 64)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    for m in (a1, b1):
        assert m.min() == -8 and m.max() == 7
    assert not np.array_equal(a1, b1)


@pytest.mark.parametrize("n", [1, 5, 17])
def test_derive_matrices_matches_the_specification_when_written_independently(n):
    challenge = make_challenge(n=n, seed=n)
    a, b = derive_matrices(challenge)
    assert a.tolist() == reference_matrix(challenge, b"A")
    assert b.tolist() == reference_matrix(challenge, b"B")


def test_challenge_key_binds_seed_node_epoch_and_size():
    c = make_challenge(n=64)
    key = keccak(
        c.seed + bytes.fromhex(NODE[2:]) + (3).to_bytes(8, "big") + (64).to_bytes(4, "big")
    )
    assert challenge_key(c) == key


@pytest.mark.parametrize("change", [{"node": OTHER_NODE}, {"epoch": 4}, {"seed": b"\x00" * 32}])
def test_derive_matrices_differ_when_node_epoch_or_seed_differ(change):
    base = make_challenge(n=64)
    a1, b1 = derive_matrices(base)
    a2, b2 = derive_matrices(replace(base, **change))
    assert not np.array_equal(a1, a2) and not np.array_equal(b1, b2)


def test_derive_matrices_ignore_the_case_of_the_node_address():
    lower = make_challenge(node="0x" + "ab" * 20)
    upper = replace(lower, node="0x" + "AB" * 20)
    assert challenge_key(lower) == challenge_key(upper)


def test_derive_rows_gives_the_rows_of_the_full_matrix():
    challenge = make_challenge(n=64)
    a, b = derive_matrices(challenge)
    rows = [63, 0, 17]
    assert np.array_equal(derive_rows(challenge_key(challenge), b"A", rows, 64), a[rows])
    assert np.array_equal(derive_rows(challenge_key(challenge), b"B", rows, 64), b[rows])


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": MAX_N + 1}, {"seed": b"x" * 31}, {"node": "0x12"}])
def test_challenge_key_raises_when_challenge_invalid(bad):
    with pytest.raises(ValueError):
        challenge_key(replace(make_challenge(), **bad))


# ---------------------------------------------------------------- exact product


@pytest.mark.parametrize("trial", range(6))
def test_multiply_cpu_is_exact_when_compared_with_pure_python(trial):
    rng = np.random.default_rng(trial)
    m, inner, cols = (int(x) for x in rng.integers(1, 14, size=3))
    a = rng.integers(-8, 8, size=(m, inner), dtype=np.int8)
    b = rng.integers(-8, 8, size=(inner, cols), dtype=np.int8)
    c = multiply_cpu(a, b)
    assert c.dtype == np.int32
    assert c.tolist() == reference_product(a.tolist(), b.tolist())


@pytest.mark.parametrize("n", [3, 8, 12])
def test_prove_commits_to_the_exact_product_of_the_derived_matrices(n):
    challenge = make_challenge(n=n, seed=100 + n)
    computation = prove(challenge, backend="cpu")
    expected = reference_product(
        reference_matrix(challenge, b"A"), reference_matrix(challenge, b"B")
    )
    assert computation.product.tolist() == expected
    assert computation.backend == "cpu"


def test_multiply_cpu_is_exact_at_the_extremes_of_the_entry_range():
    a = np.full((3, 64), -8, dtype=np.int8)
    assert (multiply_cpu(a, a.T.copy()) == 64 * 64).all()
    b = np.full((64, 3), 7, dtype=np.int8)
    assert (multiply_cpu(a, b) == -56 * 64).all()


@pytest.mark.parametrize("inner", [2**18, 2**18 + 2])
def test_multiply_cpu_stays_exact_when_sums_pass_float32_integer_range(inner):
    # (inner - 1) * 64 + 1 is odd: float32 would round it once it exceeds 2^24.
    a = np.full((1, inner), -8, dtype=np.int8)
    a[0, -1] = 1
    c = multiply_cpu(a, a.T.copy())
    assert int(c[0, 0]) == (inner - 1) * 64 + 1


def test_multiply_cpu_raises_when_inner_dimension_overflows_int32():
    with pytest.raises(ValueError):
        multiply_cpu(np.empty((1, 2**25), np.int8), np.empty((2**25, 1), np.int8))


# ---------------------------------------------------------------- GPU path (a stand-in torch)


class FakeTensor:
    def __init__(self, array):
        self.array = array

    def to(self, device):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


class FakeTorch:
    """Just what the GPU path calls; `_int_mm` is exact, drops low bits, or raises."""

    def __init__(self, mode: str = "exact"):
        self.mode = mode
        self.calls = 0

    def device(self, name):
        return name

    def from_numpy(self, array):
        return FakeTensor(array)

    def _int_mm(self, ta, tb):
        self.calls += 1
        if self.mode == "error":
            raise RuntimeError("CUDA out of memory")
        c = ta.array.astype(np.int32) @ tb.array.astype(np.int32)
        if self.mode == "lossy":
            c = c & ~np.int32(0x7)  # an accumulator that drops the low bits
        return FakeTensor(c)


@pytest.mark.parametrize(
    ("mode", "backend"),
    [("exact", "gpu"), ("lossy", "cpu-gpu-mismatch"), ("error", "cpu-gpu-error")],
)
def test_multiply_trusts_the_gpu_only_when_its_rows_match_the_cpu(monkeypatch, mode, backend):
    fake = FakeTorch(mode)
    monkeypatch.setattr(compute, "_torch_cuda", lambda: fake)
    a, b = derive_matrices(make_challenge(n=64))
    c, used = multiply(a, b)
    assert used == backend and fake.calls == 1
    assert np.array_equal(c, multiply_cpu(a, b))


def test_multiply_uses_cpu_when_shape_unsupported_or_cpu_asked(monkeypatch):
    fake = FakeTorch()
    monkeypatch.setattr(compute, "_torch_cuda", lambda: fake)
    a, b = derive_matrices(make_challenge(n=60))  # not a multiple of 8
    assert multiply(a, b)[1] == "cpu"
    a, b = derive_matrices(make_challenge(n=64))
    assert multiply(a, b, backend="cpu")[1] == "cpu"
    assert fake.calls == 0


def test_multiply_raises_when_gpu_asked_without_torch(monkeypatch):
    monkeypatch.setattr(compute, "_torch_cuda", lambda: None)
    a, b = derive_matrices(make_challenge(n=64))
    with pytest.raises(RuntimeError):
        multiply(a, b, backend="gpu")


# ---------------------------------------------------------------- commitment and sampling


def test_encode_row_is_int32_big_endian_twos_complement():
    assert encode_row(np.array([1, -1, -512, 2**31 - 1], dtype=np.int32)) == bytes.fromhex(
        "00000001fffffffffffffe007fffffff"
    )


def test_commit_rows_root_matches_an_independent_positional_tree(honest):
    c = honest.product
    leaves = [
        keccak(
            i.to_bytes(32, "big") + b"".join(int(x).to_bytes(4, "big", signed=True) for x in row)
        )
        for i, row in enumerate(c.tolist())
    ]
    assert honest.root == reference_positional_root(leaves)
    assert commit_rows(c[:5]).root == reference_positional_root(leaves[:5])


def test_sample_rows_returns_k_distinct_rows_deterministically(honest, salt):
    rows = sample_rows(honest.challenge, honest.root, salt)
    assert len(rows) == DEFAULT_K == len(set(rows))
    assert all(0 <= r < honest.challenge.n for r in rows)
    assert rows == sample_rows(honest.challenge, honest.root, salt)
    assert rows != sample_rows(honest.challenge, honest.root, salt_of(1))
    assert rows != sample_rows(honest.challenge, keccak(honest.root), salt)


def test_sample_rows_follows_the_counter_construction(honest, salt):
    c, n = honest.challenge, honest.challenge.n
    expected: list[int] = []
    for j in range(10_000):
        digest = keccak(
            c.seed + bytes.fromhex(c.node[2:]) + honest.root + salt + j.to_bytes(4, "big")
        )
        row = int.from_bytes(digest, "big") % n
        if row not in expected:
            expected.append(row)
        if len(expected) == 10:
            break
    assert sample_rows(c, honest.root, salt, k=10) == expected


def test_sample_rows_raises_when_more_rows_asked_than_exist(honest, salt):
    with pytest.raises(ValueError):
        sample_rows(honest.challenge, honest.root, salt, k=honest.challenge.n + 1)


# ---------------------------------------------------------------- verify: honest and faults


def test_verify_passes_when_prover_honest(honest, salt):
    commitment, reveal = answer(honest, salt)
    verdict = check(honest.challenge, commitment, reveal, salt, latency=0.2)
    assert verdict == Verdict(passed=True, reason=Reason.OK)
    assert verdict.reason == "ok"


@pytest.mark.parametrize("hw_class", sorted(HARDWARE_CLASSES))
def test_verify_passes_when_honest_and_on_time_for_every_class(honest, salt, hw_class):
    commitment, reveal = answer(honest, salt)
    limit = deadline_s(honest.challenge.n, HARDWARE_CLASSES[hw_class])
    assert check(honest.challenge, commitment, reveal, salt, limit, hw_class).passed


def test_verify_fails_wrong_row_when_committed_rows_are_wrong(honest, salt):
    c = honest.product.copy()
    c[:, 5] += 1
    bad = Computation(honest.challenge, c, commit_rows(c), "tampered")
    commitment, reveal = answer(bad, salt)
    verdict = check(bad.challenge, commitment, reveal, salt)
    first = reveal.rows[0].index
    assert (verdict.passed, verdict.reason, verdict.row) == (False, Reason.WRONG_ROW, first)
    assert f"C[{first}, 5]" in verdict.detail


def test_verify_names_the_one_wrong_row_when_it_is_sampled(honest):
    c = honest.product.copy()
    c[7, 0] -= 3
    bad = Computation(honest.challenge, c, commit_rows(c), "tampered")
    salt = next(
        salt_of(i) for i in range(200) if 7 in sample_rows(bad.challenge, bad.root, salt_of(i))
    )
    verdict = check(bad.challenge, *answer(bad, salt), salt)
    assert (verdict.reason, verdict.row) == (Reason.WRONG_ROW, 7)


def test_verify_fails_bad_proof_when_a_sibling_is_altered(honest, salt):
    commitment, reveal = answer(honest, salt)
    item = reveal.rows[3]
    proof = list(item.proof)
    proof[2] = bytes([proof[2][0] ^ 1]) + proof[2][1:]
    rows = list(reveal.rows)
    rows[3] = replace(item, proof=tuple(proof))
    verdict = check(honest.challenge, commitment, Reveal(tuple(rows)), salt)
    assert (verdict.reason, verdict.row) == (Reason.BAD_PROOF, item.index)


def test_verify_fails_bad_proof_when_revealed_row_is_not_the_committed_one(honest, salt):
    # A lazy node that commits to garbage, then computes the asked rows honestly after the
    # fact: the correct rows do not match its commitment.
    lazy = lazy_prover(1.0)(honest.challenge)
    asked = sample_rows(honest.challenge, lazy.root, salt)
    reveal = Reveal(
        tuple(replace(r, row=encode_row(honest.product[r.index])) for r in lazy.reveal(asked).rows)
    )
    verdict = check(honest.challenge, lazy.commitment(0.01), reveal, salt)
    assert (verdict.reason, verdict.row) == (Reason.BAD_PROOF, asked[0])


def test_verify_fails_bad_proof_when_root_is_not_the_tree_of_the_rows(honest, salt):
    wrong_root = keccak(b"not the root")
    reveal = honest.reveal(sample_rows(honest.challenge, wrong_root, salt))
    verdict = check(honest.challenge, Commitment(wrong_root, 0.01), reveal, salt)
    assert verdict.reason == Reason.BAD_PROOF


@pytest.mark.parametrize("how", ["other", "fewer", "more", "reordered", "duplicated", "other_salt"])
def test_verify_fails_wrong_indices_when_rows_are_not_those_asked(honest, salt, how):
    asked = sample_rows(honest.challenge, honest.root, salt)
    spare = next(i for i in range(honest.challenge.n) if i not in asked)
    indices = {
        "other": [*asked[:-1], spare],
        "fewer": asked[:-1],
        "more": [*asked, spare],
        "reordered": asked[::-1],
        "duplicated": [*asked[:-1], asked[0]],
        "other_salt": sample_rows(honest.challenge, honest.root, salt_of(99)),
    }[how]
    verdict = check(honest.challenge, honest.commitment(0.01), honest.reveal(indices), salt)
    assert (verdict.passed, verdict.reason) == (False, Reason.WRONG_INDICES)


def test_verify_fails_late_when_commitment_after_deadline(honest, salt):
    commitment, reveal = answer(honest, salt)
    limit = deadline_s(honest.challenge.n, HARDWARE_CLASSES[CPU])
    assert check(honest.challenge, commitment, reveal, salt, latency=limit).passed
    verdict = check(honest.challenge, commitment, reveal, salt, latency=limit + 1e-3)
    assert (verdict.passed, verdict.reason) == (False, Reason.LATE)


def test_verify_fails_late_when_node_claims_a_faster_class_than_its_latency_shows():
    # Large enough that the compute term of the deadline matters.
    n = 1024
    cpu, gpu = deadline_s(n, HARDWARE_CLASSES[0]), deadline_s(n, HARDWARE_CLASSES[3])
    assert gpu < cpu
    computation = prove(make_challenge(n=n, seed=9))
    salt = salt_of(5)
    commitment, reveal = answer(computation, salt)
    latency = (cpu + gpu) / 2
    assert check(computation.challenge, commitment, reveal, salt, latency, hw_class=0).passed
    verdict = check(computation.challenge, commitment, reveal, salt, latency, hw_class=3)
    assert verdict.reason == Reason.LATE


@pytest.mark.parametrize("change", [{"node": OTHER_NODE}, {"epoch": 4}, {"seed": b"\x01" * 32}])
def test_verify_fails_when_response_replayed_for_another_node_epoch_or_seed(honest, salt, change):
    commitment, reveal = answer(honest, salt)
    verdict = check(replace(honest.challenge, **change), commitment, reveal, salt)
    assert not verdict.passed
    if "seed" in change:  # the signed commitment names its seed: it answers another challenge
        assert verdict.reason == Reason.MALFORMED and "another challenge" in verdict.detail
    else:
        assert verdict.reason in (Reason.WRONG_INDICES, Reason.BAD_PROOF, Reason.WRONG_ROW)


def test_verify_refuses_a_reveal_that_names_another_salt_or_k(honest, salt):
    commitment, reveal = answer(honest, salt)
    for echo in ({"salt": b"\x09" * 32}, {"k": reveal.k + 1}):
        verdict = check(honest.challenge, commitment, replace(reveal, **echo), salt)
        assert verdict.reason == Reason.MALFORMED and "another salt or k" in verdict.detail


def test_verify_fails_wrong_row_when_replayed_with_rows_reasked_for_another_epoch(honest, salt):
    # Even a reveal re-cut to the other challenge's sample fails: the rows belong to other A, B.
    other = replace(honest.challenge, epoch=honest.challenge.epoch + 1)
    reveal = honest.reveal(sample_rows(other, honest.root, salt))
    assert check(other, honest.commitment(0.01), reveal, salt).reason == Reason.WRONG_ROW


# ---------------------------------------------------------------- verify: malformed input


def _mutate_row(reveal: Reveal, **fields) -> Reveal:
    return Reveal((replace(reveal.rows[0], **fields), *reveal.rows[1:]))


MALFORMED_CASES = {
    "seed short": lambda c, m, r, s: (replace(c, seed=c.seed[:31]), m, r, s, Reason.MALFORMED),
    "seed str": lambda c, m, r, s: (replace(c, seed=c.seed.hex()), m, r, s, Reason.MALFORMED),
    "node short": lambda c, m, r, s: (replace(c, node="0x1234"), m, r, s, Reason.MALFORMED),
    "node not hex": lambda c, m, r, s: (
        replace(c, node="0x" + "zz" * 20),
        m,
        r,
        s,
        Reason.MALFORMED,
    ),
    "node bytes": lambda c, m, r, s: (replace(c, node=b"\x11" * 20), m, r, s, Reason.MALFORMED),
    "epoch negative": lambda c, m, r, s: (replace(c, epoch=-1), m, r, s, Reason.MALFORMED),
    "epoch 2^64": lambda c, m, r, s: (replace(c, epoch=2**64), m, r, s, Reason.MALFORMED),
    "epoch bool": lambda c, m, r, s: (replace(c, epoch=True), m, r, s, Reason.MALFORMED),
    "n float": lambda c, m, r, s: (replace(c, n=96.0), m, r, s, Reason.MALFORMED),
    "n below k": lambda c, m, r, s: (replace(c, n=DEFAULT_K - 1), m, r, s, Reason.WRONG_SIZE),
    "n above max": lambda c, m, r, s: (replace(c, n=MAX_N + 1), m, r, s, Reason.WRONG_SIZE),
    "challenge none": lambda c, m, r, s: (None, m, r, s, Reason.MALFORMED),
    "root short": lambda c, m, r, s: (c, Commitment(m.root[:31], 0.1), r, s, Reason.MALFORMED),
    "root hex": lambda c, m, r, s: (c, Commitment(m.root.hex(), 0.1), r, s, Reason.MALFORMED),
    "commitment tuple": lambda c, m, r, s: (c, (m.root, 0.1), r, s, Reason.MALFORMED),
    "salt short": lambda c, m, r, s: (c, m, r, s[:16], Reason.MALFORMED),
    "salt none": lambda c, m, r, s: (c, m, r, None, Reason.MALFORMED),
    "reveal list": lambda c, m, r, s: (c, m, list(r.rows), s, Reason.MALFORMED),
    "rows none": lambda c, m, r, s: (c, m, Reveal(None), s, Reason.MALFORMED),
    "row item tuple": lambda c, m, r, s: (c, m, Reveal(((1, b"", ()),)), s, Reason.MALFORMED),
    "index bool": lambda c, m, r, s: (c, m, _mutate_row(r, index=True), s, Reason.MALFORMED),
    "index str": lambda c, m, r, s: (c, m, _mutate_row(r, index="3"), s, Reason.MALFORMED),
    "index negative": lambda c, m, r, s: (c, m, _mutate_row(r, index=-1), s, Reason.MALFORMED),
    "index n": lambda c, m, r, s: (c, m, _mutate_row(r, index=c.n), s, Reason.MALFORMED),
    "row bytearray": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, row=bytearray(r.rows[0].row)),
        s,
        Reason.MALFORMED,
    ),
    "row ndarray": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, row=np.frombuffer(r.rows[0].row, ">i4")),
        s,
        Reason.MALFORMED,
    ),
    "row int64": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, row=np.frombuffer(r.rows[0].row, ">i4").astype(">i8").tobytes()),
        s,
        Reason.WRONG_SIZE,
    ),
    "row short": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, row=r.rows[0].row[:-1]),
        s,
        Reason.WRONG_SIZE,
    ),
    "proof short": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, proof=r.rows[0].proof[:-1]),
        s,
        Reason.MALFORMED,
    ),
    "proof long": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, proof=(*r.rows[0].proof, b"\x00" * 32)),
        s,
        Reason.MALFORMED,
    ),
    "proof hash short": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, proof=(r.rows[0].proof[0][:31], *r.rows[0].proof[1:])),
        s,
        Reason.MALFORMED,
    ),
    "proof hash hex": lambda c, m, r, s: (
        c,
        m,
        _mutate_row(r, proof=(r.rows[0].proof[0].hex(), *r.rows[0].proof[1:])),
        s,
        Reason.MALFORMED,
    ),
    "proof none": lambda c, m, r, s: (c, m, _mutate_row(r, proof=None), s, Reason.MALFORMED),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_CASES))
def test_verify_fails_without_raising_when_input_malformed(honest, salt, case):
    commitment, reveal = answer(honest, salt)
    challenge, commitment, reveal, salt, reason = MALFORMED_CASES[case](
        honest.challenge, commitment, reveal, salt
    )
    verdict = check(challenge, commitment, reveal, salt)
    assert (verdict.passed, verdict.reason) == (False, reason)


@pytest.mark.parametrize("latency", [float("nan"), float("inf"), -0.1, "0.1", None, True])
def test_verify_fails_malformed_when_latency_not_a_duration(honest, salt, latency):
    verdict = check(honest.challenge, *answer(honest, salt), salt, latency=latency)
    assert verdict.reason == Reason.MALFORMED


@pytest.mark.parametrize("hw_class", [99, -1, "0", None, 1.0])
def test_verify_fails_unknown_class_when_class_not_in_table(honest, salt, hw_class):
    verdict = check(honest.challenge, *answer(honest, salt), salt, hw_class=hw_class)
    assert verdict.reason == Reason.UNKNOWN_CLASS


@pytest.mark.parametrize("k", [0, -3, 97, 2.5])
def test_verify_fails_wrong_size_when_k_cannot_be_sampled(honest, salt, k):
    verdict = check(honest.challenge, *answer(honest, salt), salt, k=k)
    assert verdict.reason == Reason.WRONG_SIZE


def test_verify_never_raises_when_reveal_fields_are_randomly_corrupted(honest, salt):
    rng = random.Random(7)
    commitment, reveal = answer(honest, salt)
    junk = [None, -1, 2**300, b"", b"\x00" * 32, "x", 1.5, (), [b"\x00" * 32], object()]
    for _ in range(150):
        rows = list(reveal.rows)
        i = rng.randrange(len(rows))
        name = rng.choice(["index", "row", "proof"])
        rows[i] = replace(rows[i], **{name: rng.choice(junk)})
        verdict = check(honest.challenge, commitment, Reveal(tuple(rows)), salt)
        assert isinstance(verdict, Verdict) and not verdict.passed


# ---------------------------------------------------------------- dishonest prover, detection


@pytest.mark.parametrize("seed", range(4))
def test_lazy_prover_is_caught_when_half_the_rows_skipped(seed):
    challenge = make_challenge(n=64, seed=seed)
    lazy = lazy_prover(0.5)(challenge)
    salt = salt_of(seed)
    verdict = check(challenge, *answer(lazy, salt), salt)
    assert (verdict.passed, verdict.reason) == (False, Reason.WRONG_ROW)


def test_lazy_prover_computes_the_rows_it_does_not_skip():
    challenge = make_challenge(n=64, seed=5)
    honest_c = prove(challenge).product
    lazy_c = lazy_prover(0.25)(challenge).product
    wrong = (lazy_c != honest_c).any(axis=1)
    assert wrong.sum() == 16
    bound = 64 * 64
    assert lazy_c.min() >= -bound and lazy_c.max() <= bound


def test_lazy_prover_passes_when_nothing_skipped(salt):
    challenge = make_challenge(n=64, seed=6)
    lazy = lazy_prover(0.0)(challenge)
    assert np.array_equal(lazy.product, prove(challenge).product)
    assert check(challenge, *answer(lazy, salt), salt).passed


def test_lazy_prover_is_caught_at_the_rate_sampling_predicts():
    # One commitment, many verifier salts: each salt is an independent sample of k rows.
    n, skipped, k, trials = 64, 16, 8, 1500
    challenge = make_challenge(n=n, seed=11)
    lazy = lazy_prover(skipped / n)(challenge)
    misses = 0
    for t in range(trials):
        salt = salt_of(t)
        verdict = check(challenge, *answer(lazy, salt, k), salt, k=k)
        assert verdict.reason in (Reason.OK, Reason.WRONG_ROW)
        misses += verdict.passed
    exact_miss = math.comb(n - skipped, k) / math.comb(n, k)  # sampling without replacement
    assert exact_miss <= 1 - detection_probability(skipped / n, k)
    sigma = math.sqrt(trials * exact_miss * (1 - exact_miss))
    assert abs(misses - trials * exact_miss) < 5 * sigma


def test_detection_probability_is_one_minus_miss_probability():
    assert detection_probability(0.1, 44) == pytest.approx(1 - 0.9**44)
    assert detection_probability(0.0, 44) == 0.0
    assert detection_probability(1.0, 1) == 1.0
    assert detection_probability(0.5, 0) == 0.0
    with pytest.raises(ValueError):
        detection_probability(1.5, 10)


def test_default_k_catches_a_tenth_skipped_with_probability_099():
    assert rows_for_detection(0.1, 0.99) == DEFAULT_K == 44
    assert detection_probability(0.1, DEFAULT_K) >= 0.99
    assert detection_probability(0.1, DEFAULT_K - 1) < 0.99
    assert detection_probability(0.5, DEFAULT_K) > 1 - 1e-13


# ---------------------------------------------------------------- hardware classes


def test_hardware_classes_are_indexed_and_faster_classes_have_shorter_deadlines():
    assert all(i == c.index for i, c in HARDWARE_CLASSES.items())
    assert HARDWARE_CLASSES[0].name == "cpu"
    ordered = [HARDWARE_CLASSES[i] for i in sorted(HARDWARE_CLASSES)]
    speeds = [c.macs_per_s for c in ordered]
    assert speeds == sorted(speeds)
    for n in (256, 1024, 8192):
        deadlines = [deadline_s(n, c) for c in ordered]
        assert deadlines == sorted(deadlines, reverse=True)


def test_deadline_is_slack_times_compute_and_host_work_plus_network():
    c = HARDWARE_CLASSES[0]
    n = 512
    expected = c.slack * (n**3 / c.macs_per_s + n**2 / c.host_entries_per_s) + c.network_s
    assert deadline_s(n, c) == pytest.approx(expected)


# ---------------------------------------------------------------- PositionalTree and ChunkTree


def chunks(count: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(CHUNK_SIZE) for _ in range(count)]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 9, 33])
def test_chunk_tree_is_the_positional_tree_of_its_chunk_leaves(count):
    data = chunks(count, seed=count)
    leaves = [chunk_leaf(i, c) for i, c in enumerate(data)]
    chunk_tree, tree = ChunkTree(data), PositionalTree(leaves)
    assert chunk_tree.root == tree.root == reference_positional_root(leaves)
    for i, chunk in enumerate(data):
        assert chunk_tree.proof(i) == tree.proof(i)
        assert verify_chunk_proof(chunk_tree.root, count, i, chunk, tree.proof(i))
        assert verify_positional_proof(tree.root, count, i, leaves[i], tree.proof(i))


def test_positional_tree_rejects_bad_proofs_and_indices():
    leaves = [keccak(bytes([i])) for i in range(6)]
    tree = PositionalTree(leaves)
    proof = tree.proof(4)
    assert not verify_positional_proof(tree.root, 6, 3, leaves[4], proof)
    assert not verify_positional_proof(tree.root, 6, 6, leaves[4], proof)
    assert not verify_positional_proof(tree.root, 6, 4, leaves[4], proof[:-1])
    assert not verify_positional_proof(tree.root, 6, 4, leaves[4], [proof[0][:31], *proof[1:]])
    with pytest.raises(IndexError):
        tree.proof(6)
    with pytest.raises(ValueError):
        PositionalTree([])


def test_prove_reveals_rows_whose_proofs_check_against_the_root(honest):
    for item in honest.reveal([0, 95, 42]).rows:
        assert len(item.row) == 4 * 96
        leaf = row_leaf(item.index, item.row)
        assert verify_positional_proof(honest.root, 96, item.index, leaf, item.proof)


def test_reveal_of_a_fresh_seed_is_self_consistent():
    challenge = Challenge(seed=os.urandom(32), n=80, node=OTHER_NODE, epoch=2**64 - 1)
    computation = prove(challenge)
    salt = os.urandom(32)
    assert check(challenge, *answer(computation, salt), salt).passed
