"""oracle/protocol/compute.py, version 2: the PRG against a plain-Python reference of its
specification, the exact product, digests and their tree, sampling, every verdict reason of the
verifier (Freivalds' check included), the lazy prover, the GPU path's trust rule, the class
table's guarantees; and the positional tree that oracle/merkle.py factors out of ChunkTree.
Pure: no chain, no network."""

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
    BLOCK,
    DEFAULT_K,
    HARDWARE_CLASSES,
    MAX_STREAMS,
    Challenge,
    Commitment,
    Computation,
    Params,
    Probe,
    Reason,
    Reveal,
    RevealedRow,
    Verdict,
    block_leaf,
    challenge_key,
    commit_digests,
    deadline_s,
    derive_rows,
    detection_probability,
    digest_key,
    digests_of,
    lazy_prover,
    matrix_key,
    multiply_cpu,
    prove,
    prove_cpu,
    rows_for_detection,
    sample_rows,
    shape_for,
    stream_key,
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
SMALL = Params(device_s=1e-6, max_n=64)  # the CPU class: 64 rows of 64
WIDE = Params(device_s=0.0004, max_n=64)  # 992 rows a stream: 3 streams span two leaves


def make_challenge(
    params: Params = SMALL, count: int = 1, seed: int = 0, node: str = NODE, epoch: int = 3
) -> Challenge:
    shape = shape_for(HARDWARE_CLASSES[CPU], count, params)
    rng = random.Random(seed)
    return Challenge(rng.randbytes(32), rng.randbytes(32), node, epoch, shape.n, shape.rows,
                     shape.streams)  # fmt: skip


def salt_of(i: int) -> bytes:
    return keccak(b"salt" + i.to_bytes(4, "big"))


def answer(computation: Computation, salt: bytes, k: int = DEFAULT_K) -> tuple[Commitment, Reveal]:
    """What a node sends: its commitment, then the rows the verifier asks for."""
    rows = sample_rows(computation.challenge, computation.root, salt, k)
    return computation.commitment(elapsed_s=0.01), computation.reveal(rows, salt, k)


def check(
    challenge, commitment, reveal, salt, latency=0.0, k=DEFAULT_K, params=SMALL, count=None
) -> Verdict:
    return verify(challenge, commitment, reveal, salt=salt, hw_class=CPU,
                  gpu_count=challenge.streams if count is None else count,
                  commit_latency_s=latency, k=k, params=params)  # fmt: skip


@pytest.fixture(scope="module")
def honest() -> Computation:
    return prove(make_challenge(seed=1))


@pytest.fixture(scope="module")
def streams3() -> Computation:
    return prove(make_challenge(WIDE, count=3, seed=2))


@pytest.fixture(scope="module")
def salt() -> bytes:
    return salt_of(0)


# ---------------------------------------------------------------- references written apart


def _mix32(x: int) -> int:
    x ^= x >> 16
    x = (x * 0x21F0AAAD) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x735A2D97) & 0xFFFFFFFF
    return x ^ (x >> 15)


def reference_rows(key: bytes, rows, width: int) -> list[list[int]]:
    """The PRG as the module docstring specifies it, in plain Python."""
    k0, k1 = int.from_bytes(key[0:4], "big"), int.from_bytes(key[4:8], "big")
    out = []
    for i in rows:
        h = _mix32(i ^ k0)
        row = []
        for w in range(width // 4):
            word = _mix32(_mix32(w ^ h) ^ k1)
            for b in range(4):
                byte = (word >> (8 * b)) & 0xFF
                row.append(byte - 256 if byte >= 128 else byte)
        out.append(row)
    return out


def reference_digest(c_row: list[int], s: list[list[int]]) -> int:
    g = []
    for y in c_row:
        byte = (y >> 7) & 0xFF
        g.append(byte - 256 if byte >= 128 else byte)
    d = [sum(g[j] * s[j][col] for j in range(len(g))) for col in range(len(s[0]))]
    out = 0
    for v in d:
        out ^= v & 0xFFFF
    return out


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


# ---------------------------------------------------------------- PRG and keys


@pytest.mark.parametrize("width", [4, 8, 64])
def test_derive_rows_matches_the_specification_when_written_independently(width):
    key = keccak(b"k%d" % width)
    rows = [0, 1, 7, 2**32 - 1]
    assert derive_rows(key, rows, width).tolist() == reference_rows(key, rows, width)


def test_derive_rows_of_a_subset_are_those_rows_of_the_whole_matrix():
    key = keccak(b"subset")
    whole = derive_rows(key, range(40), 32)
    assert np.array_equal(derive_rows(key, [39, 3, 17], 32), whole[[39, 3, 17]])


def test_derived_entries_cover_the_full_int8_range_evenly():
    entries = derive_rows(keccak(b"range"), range(256), 1024).ravel()
    counts = np.bincount(entries.astype(np.int16) + 128, minlength=256)
    assert entries.min() == -128 and entries.max() == 127
    expected = entries.size / 256
    assert ((counts - expected) ** 2 / expected).sum() < 400  # chi-square, 255 dof


def test_derive_rows_refuses_a_width_not_a_multiple_of_4():
    with pytest.raises(ValueError):
        derive_rows(keccak(b"x"), [0], 6)


def test_challenge_key_binds_every_field():
    base = make_challenge()
    keys = {challenge_key(base)}
    for change in (
        {"seed": b"\x05" * 32}, {"matrix_seed": b"\x06" * 32}, {"node": OTHER_NODE},
        {"epoch": 4}, {"n": 56}, {"rows": 96}, {"streams": 2},
    ):  # fmt: skip
        keys.add(challenge_key(replace(base, **change)))
    assert len(keys) == 8


def test_challenge_key_ignores_the_case_of_the_node_address():
    base = make_challenge(node="0x" + "ab" * 20)
    assert challenge_key(base) == challenge_key(replace(base, node="0x" + "AB" * 20))


@pytest.mark.parametrize(
    "bad",
    [{"n": 0}, {"n": 60}, {"n": compute.MAX_N + 8}, {"rows": 63}, {"rows": 100},
     {"streams": 0}, {"streams": MAX_STREAMS + 1}, {"seed": b"x" * 31},
     {"matrix_seed": None}, {"node": "0x12"}, {"epoch": -1}],
)  # fmt: skip
def test_challenge_key_raises_when_challenge_invalid(bad):
    with pytest.raises(ValueError):
        challenge_key(replace(make_challenge(), **bad))


def test_the_epoch_matrix_is_keyed_by_matrix_seed_and_width_only():
    a = make_challenge(seed=1)
    b = make_challenge(seed=2)
    assert matrix_key(a.matrix_seed, 64) != matrix_key(b.matrix_seed, 64)
    assert matrix_key(a.matrix_seed, 64) != matrix_key(a.matrix_seed, 56)
    assert compute.matrix_seed_for(b"\x01" * 32) != compute.matrix_seed_for(b"\x02" * 32)


# ---------------------------------------------------------------- product and digests


@pytest.mark.parametrize("trial", range(4))
def test_multiply_cpu_is_exact_when_compared_with_pure_python(trial):
    rng = np.random.default_rng(trial)
    a = rng.integers(-128, 128, size=(5, 24), dtype=np.int8)
    b = rng.integers(-128, 128, size=(24, 16), dtype=np.int8)
    expected = [[sum(int(a[i, t]) * int(b[t, j]) for t in range(24)) for j in range(16)]
                for i in range(5)]  # fmt: skip
    assert multiply_cpu(a, b).tolist() == expected


@pytest.mark.parametrize("value", [-128, 127])
def test_multiply_cpu_stays_exact_when_sums_pass_float32_integer_range(value):
    # 3000 terms of 128^2 = 49,152,000 > 2^24: float32 alone would round; the 1024-term blocks
    # keep every partial sum exact.
    inner = 3000
    a = np.full((2, inner), value, dtype=np.int8)
    b = np.full((inner, 8), -128, dtype=np.int8)
    assert (multiply_cpu(a, b) == inner * value * -128).all()
    b[0, 0] = 1
    assert multiply_cpu(a, b)[0, 0] == (inner - 1) * value * -128 + value


def test_digests_match_the_specification_when_written_independently():
    rng = np.random.default_rng(5)
    c = rng.integers(-(2**27), 2**27, size=(3, 16), dtype=np.int32)
    s = rng.integers(-128, 128, size=(16, 8), dtype=np.int8)
    expected = [reference_digest(row, s.tolist()) for row in c.tolist()]
    assert digests_of(c, s).tolist() == expected


def test_prove_commits_to_the_digests_of_the_exact_products(streams3):
    c = streams3.challenge
    key = challenge_key(c)
    b = reference_rows(matrix_key(c.matrix_seed, c.n), range(c.n), c.n)
    s = reference_rows(digest_key(key), range(c.n), 8)
    for q in (0, c.rows - 1, c.rows, 2 * c.rows + 5, 3 * c.rows - 1):
        x = reference_rows(stream_key(key, q // c.rows), [q % c.rows], c.n)[0]
        row = [sum(x[t] * b[t][j] for t in range(c.n)) for j in range(c.n)]
        assert streams3.product_row(q).tolist() == row
        assert int(streams3.digests[q]) == reference_digest(row, s)


def test_the_root_is_the_positional_tree_of_the_digest_blocks(streams3):
    raw = np.asarray(streams3.digests, dtype=">u2").tobytes()
    blocks = [raw[o : o + 2 * BLOCK] for o in range(0, len(raw), 2 * BLOCK)]
    assert len(blocks) == 2 and len(blocks[1]) == 2 * (3 * streams3.challenge.rows - BLOCK)
    leaves = [
        hashlib.blake2b(b.to_bytes(4, "big") + block, digest_size=32).digest()
        for b, block in enumerate(blocks)
    ]
    assert streams3.root == reference_positional_root(leaves)
    assert commit_digests(streams3.digests).root == streams3.root


# ---------------------------------------------------------------- sampling


def test_sample_rows_returns_k_distinct_rows_deterministically(streams3, salt):
    rows = sample_rows(streams3.challenge, streams3.root, salt)
    assert len(rows) == len(set(rows)) == DEFAULT_K
    assert all(0 <= q < 3 * streams3.challenge.rows for q in rows)
    assert rows == sample_rows(streams3.challenge, streams3.root, salt)
    assert rows != sample_rows(streams3.challenge, streams3.root, salt_of(1))


def test_sample_rows_follows_the_counter_construction(honest, salt):
    c = honest.challenge
    prefix = c.seed + bytes.fromhex(c.node[2:]) + honest.root + salt
    expected, j = [], 0
    while len(expected) < 5:
        q = int.from_bytes(keccak(prefix + j.to_bytes(4, "big")), "big") % c.rows
        if q not in expected:
            expected.append(q)
        j += 1
    assert sample_rows(c, honest.root, salt, 5) == expected


def test_sample_rows_raises_when_more_rows_asked_than_exist(honest, salt):
    with pytest.raises(ValueError):
        sample_rows(honest.challenge, honest.root, salt, honest.challenge.rows + 1)


# ---------------------------------------------------------------- verify: honest


def test_verify_passes_when_prover_honest(honest, salt):
    assert check(honest.challenge, *answer(honest, salt), salt).passed


def test_verify_passes_every_stream_of_a_multi_gpu_claim(streams3):
    for t in range(4):
        salt = salt_of(t)
        verdict = check(streams3.challenge, *answer(streams3, salt), salt, params=WIDE)
        assert verdict.passed, verdict


def test_verify_passes_with_any_verifiers_secret_vectors(honest, salt):
    c = honest.challenge
    a, b = Probe.draw(c.matrix_seed, c.n), Probe.draw(c.matrix_seed, c.n)
    assert not np.array_equal(a.r, b.r)
    for probe in (a, b):
        assert verify(c, *answer(honest, salt), salt=salt, hw_class=CPU, gpu_count=1,
                      commit_latency_s=0.0, params=SMALL, probe=probe).passed  # fmt: skip


def test_a_fresh_challenge_at_the_largest_node_and_epoch_is_self_consistent():
    shape = shape_for(HARDWARE_CLASSES[CPU], 1, SMALL)
    c = Challenge(os.urandom(32), os.urandom(32), OTHER_NODE, 2**64 - 1, shape.n, shape.rows, 1)
    salt = os.urandom(32)
    assert check(c, *answer(prove(c), salt), salt).passed


# ---------------------------------------------------------------- verify: wrong work


def _consistent_liar(challenge: Challenge, bump: int = 1) -> Computation:
    """Commits to digests of rows that are not X @ B (every row off by `bump` in one column):
    digest and row agree, so only Freivalds' check can tell."""
    honest = prove_cpu(challenge)
    key = challenge_key(challenge)
    s = derive_rows(digest_key(key), range(challenge.n), 8)

    def row(q: int) -> np.ndarray:
        r = honest.product_row(q).copy()
        r[q % challenge.n] += bump
        return r

    rows = np.stack([row(q) for q in range(challenge.rows * challenge.streams)])
    digests = digests_of(rows, s)
    return Computation(challenge, digests, commit_digests(digests), "liar",
                       lambda qs: np.stack([row(q) for q in qs]))  # fmt: skip


def test_verify_fails_wrong_row_when_rows_agree_with_digests_but_are_not_the_product(salt):
    challenge = make_challenge(seed=4)
    liar = _consistent_liar(challenge)
    verdict = check(challenge, *answer(liar, salt), salt)
    assert verdict.reason == Reason.WRONG_ROW and "Freivalds" in verdict.detail
    # even a change of 1 in one entry of a big row (bits 0..6 leave the digest unchanged)
    assert check(challenge, *answer(_consistent_liar(challenge, 2**20), salt), salt).reason == (
        Reason.WRONG_ROW
    )


def test_verify_fails_wrong_row_when_the_revealed_row_is_not_the_committed_one(honest, salt):
    commitment, reveal = answer(honest, salt)
    item = reveal.rows[3]
    row = bytearray(item.row)
    row[-1] ^= 0x80  # bit 7 of the last entry: its digest changes
    tampered = replace(reveal, rows=(*reveal.rows[:3], replace(item, row=bytes(row)),
                                     *reveal.rows[4:]))  # fmt: skip
    verdict = check(honest.challenge, commitment, tampered, salt)
    assert verdict.reason == Reason.WRONG_ROW and verdict.row == item.index


@pytest.mark.parametrize("seed", range(3))
def test_lazy_prover_is_caught_when_half_the_rows_skipped(seed):
    challenge = make_challenge(seed=10 + seed)
    lazy = lazy_prover(0.5)(challenge)
    salt = salt_of(seed)
    verdict = check(challenge, *answer(lazy, salt), salt)
    assert verdict.reason == Reason.WRONG_ROW and "committed digest" in verdict.detail


def test_lazy_prover_passes_when_nothing_skipped(salt):
    challenge = make_challenge(seed=20)
    assert check(challenge, *answer(lazy_prover(0.0)(challenge), salt), salt).passed


def test_lazy_prover_is_caught_at_the_rate_sampling_predicts():
    # One commitment, many verifier salts: each salt is an independent sample of k rows.
    k, trials = 8, 600
    challenge = make_challenge(seed=11)
    lazy = lazy_prover(0.25)(challenge)
    honest = prove_cpu(challenge)
    skipped = int((lazy.digests != honest.digests).sum())
    n = challenge.rows
    assert 4 <= skipped <= 30
    misses = 0
    for t in range(trials):
        salt = salt_of(t)
        verdict = check(challenge, *answer(lazy, salt, k), salt, k=k)
        assert verdict.reason in (Reason.OK, Reason.WRONG_ROW)
        misses += verdict.passed
    exact_miss = math.comb(n - skipped, k) / math.comb(n, k)  # sampling without replacement
    sigma = math.sqrt(trials * exact_miss * (1 - exact_miss))
    assert abs(misses - trials * exact_miss) < 5 * sigma + 1


def test_a_node_with_fewer_gpus_than_claimed_skips_streams_and_is_caught(salt):
    # Claims 3 GPUs, has the time of 2: the third stream's digests are garbage.
    challenge = make_challenge(WIDE, count=3, seed=12)

    def skip(stream, idx):
        return np.full(len(idx), stream == 2)

    partial = prove_cpu(challenge, skip=skip)
    verdict = check(challenge, *answer(partial, salt), salt, params=WIDE)
    assert verdict.reason == Reason.WRONG_ROW and verdict.row >= 2 * challenge.rows


# ---------------------------------------------------------------- verify: proofs and indices


def test_verify_fails_bad_proof_when_a_sibling_is_altered(streams3, salt):
    commitment, reveal = answer(streams3, salt)
    item = reveal.rows[0]
    bad = replace(item, proof=(b"\x00" * 32, *item.proof[1:]))
    verdict = check(streams3.challenge, commitment, replace(reveal, rows=(bad, *reveal.rows[1:])),
                    salt, params=WIDE)  # fmt: skip
    assert verdict.reason == Reason.BAD_PROOF and verdict.row == item.index


def test_verify_fails_bad_proof_when_the_block_is_not_the_committed_one(honest, salt):
    commitment, reveal = answer(honest, salt)
    item = reveal.rows[0]
    other = (item.index + 1) % BLOCK
    block = bytearray(item.block)
    block[2 * other] ^= 1  # another row's digest in the same block
    bad = replace(item, block=bytes(block))
    verdict = check(honest.challenge, commitment, replace(reveal, rows=(bad, *reveal.rows[1:])),
                    salt)  # fmt: skip
    assert verdict.reason == Reason.BAD_PROOF


def test_verify_fails_bad_proof_when_the_root_is_not_the_tree_of_the_digests(honest, salt):
    commitment, reveal = answer(honest, salt)
    other = replace(commitment, root=keccak(b"another root"))
    assert check(honest.challenge, other, reveal, salt).reason in (
        Reason.WRONG_INDICES, Reason.BAD_PROOF,
    )  # fmt: skip


@pytest.mark.parametrize("how", ["other", "fewer", "more", "reordered", "duplicated", "other_salt"])
def test_verify_fails_wrong_indices_when_rows_are_not_those_asked(honest, salt, how):
    commitment, reveal = answer(honest, salt)
    rows = list(reveal.rows)
    if how == "other":
        asked = set(sample_rows(honest.challenge, honest.root, salt))
        q = next(i for i in range(honest.challenge.rows) if i not in asked)
        rows[0] = honest.reveal([q]).rows[0]
    elif how == "fewer":
        rows = rows[:-1]
    elif how == "more":
        rows = [*rows, rows[0]]
    elif how == "reordered":
        rows[0], rows[1] = rows[1], rows[0]
    elif how == "duplicated":
        rows[1] = rows[0]
    else:
        rows = list(honest.reveal(sample_rows(honest.challenge, honest.root, salt_of(9))).rows)
    verdict = check(honest.challenge, commitment, replace(reveal, rows=tuple(rows)), salt)
    assert verdict.reason == Reason.WRONG_INDICES


# ---------------------------------------------------------------- verify: timing, claims, echoes


def test_verify_fails_late_when_commitment_after_deadline(honest, salt):
    limit = deadline_s(honest.challenge.shape, HARDWARE_CLASSES[CPU])
    assert check(honest.challenge, *answer(honest, salt), salt, latency=limit).passed
    verdict = check(honest.challenge, *answer(honest, salt), salt, latency=limit + 0.001)
    assert verdict.reason == Reason.LATE


def test_verify_fails_unprovable_claim_when_more_gpus_than_a_challenge_proves(honest, salt):
    for count in (0, MAX_STREAMS + 1, 65_535):
        verdict = check(honest.challenge, *answer(honest, salt), salt, count=count)
        assert verdict.reason == Reason.UNPROVABLE


def test_verify_fails_malformed_when_the_shape_is_not_the_claims(honest, salt):
    # The verifier's own challenge must be the committee's for the claim: never the node's
    # fault, so malformed (unattributable), not fraud.
    verdict = check(honest.challenge, *answer(honest, salt), salt, count=2)
    assert verdict.reason == Reason.MALFORMED
    verdict = check(honest.challenge, *answer(honest, salt), salt, params=WIDE)
    assert verdict.reason == Reason.MALFORMED


@pytest.mark.parametrize(
    "change",
    [{"seed": b"\x01" * 32}, {"matrix_seed": b"\x02" * 32}, {"n": 56}, {"rows": 96},
     {"streams": 2}],
)  # fmt: skip
def test_verify_refuses_a_commitment_that_names_another_challenge(honest, salt, change):
    commitment, reveal = answer(honest, salt)
    verdict = check(honest.challenge, replace(commitment, **change), reveal, salt)
    assert verdict.reason == Reason.MALFORMED


def test_verify_refuses_a_reveal_that_names_another_salt_or_k(honest, salt):
    commitment, reveal = answer(honest, salt)
    for change in ({"salt": salt_of(5)}, {"k": DEFAULT_K - 1}):
        assert check(honest.challenge, commitment, replace(reveal, **change), salt).reason == (
            Reason.MALFORMED
        )


@pytest.mark.parametrize("change", [{"node": OTHER_NODE}, {"epoch": 4}])
def test_verify_fails_when_an_answer_is_replayed_for_another_node_or_epoch(honest, salt, change):
    verdict = check(replace(honest.challenge, **change), *answer(honest, salt), salt)
    assert not verdict.passed
    assert verdict.reason in (Reason.WRONG_INDICES, Reason.WRONG_ROW)


def _malformed_cases(c: Computation, salt: bytes):
    commitment, reveal = answer(c, salt)
    item = reveal.rows[0]
    one = lambda **kw: replace(reveal, rows=(replace(item, **kw), *reveal.rows[1:]))  # noqa: E731
    return {
        "challenge_none": (None, commitment, reveal, Reason.MALFORMED),
        "commitment_none": (c.challenge, None, reveal, Reason.MALFORMED),
        "root_short": (c.challenge, replace(commitment, root=b"\x01" * 31), reveal,
                       Reason.MALFORMED),
        "reveal_none": (c.challenge, commitment, None, Reason.MALFORMED),
        "rows_not_list": (c.challenge, commitment, replace(reveal, rows=5), Reason.MALFORMED),
        "item_not_row": (c.challenge, commitment, replace(reveal, rows=("x",)), Reason.MALFORMED),
        "index_bool": (c.challenge, commitment, one(index=True), Reason.MALFORMED),
        "index_out": (c.challenge, commitment, one(index=10**9), Reason.MALFORMED),
        "row_str": (c.challenge, commitment, one(row="00"), Reason.MALFORMED),
        "row_short": (c.challenge, commitment, one(row=item.row[:-4]), Reason.WRONG_SIZE),
        "block_short": (c.challenge, commitment, one(block=item.block[:-2]), Reason.WRONG_SIZE),
        "proof_long": (c.challenge, commitment, one(proof=(*item.proof, b"\x00" * 32)),
                       Reason.MALFORMED),
    }  # fmt: skip


MALFORMED = [
    "challenge_none", "commitment_none", "root_short", "reveal_none", "rows_not_list",
    "item_not_row", "index_bool", "index_out", "row_str", "row_short", "block_short",
    "proof_long",
]  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED)
def test_verify_fails_without_raising_when_input_malformed(honest, salt, case):
    challenge, commitment, reveal, reason = _malformed_cases(honest, salt)[case]
    verdict = verify(challenge, commitment, reveal, salt=salt, hw_class=CPU, gpu_count=1,
                     commit_latency_s=0.0, params=SMALL)  # fmt: skip
    assert not verdict.passed and verdict.reason == reason


@pytest.mark.parametrize("latency", [float("nan"), float("inf"), -0.1, "0.1", None, True])
def test_verify_fails_malformed_when_latency_not_a_duration(honest, salt, latency):
    verdict = check(honest.challenge, *answer(honest, salt), salt, latency=latency)
    assert verdict.reason == Reason.MALFORMED


@pytest.mark.parametrize("hw_class", [99, -1, "0", None, 1.0])
def test_verify_fails_unknown_class_when_class_not_in_table(honest, salt, hw_class):
    verdict = verify(honest.challenge, *answer(honest, salt), salt=salt, hw_class=hw_class,
                     gpu_count=1, commit_latency_s=0.0, params=SMALL)  # fmt: skip
    assert verdict.reason == Reason.UNKNOWN_CLASS


@pytest.mark.parametrize("k", [0, -3, 65, 2.5])
def test_verify_fails_wrong_size_when_k_cannot_be_sampled(honest, salt, k):
    assert check(honest.challenge, *answer(honest, salt), salt, k=k).reason == Reason.WRONG_SIZE


def test_verify_never_raises_when_reveal_fields_are_randomly_corrupted(honest, salt):
    rng = random.Random(7)
    commitment, reveal = answer(honest, salt)
    values = [None, -1, 2**70, b"", b"\x00" * 33, "0x", (b"\x00" * 32,) * 40, 1.5]  # not ():
    # a one-leaf tree's proofs are empty
    for _ in range(300):
        items = list(reveal.rows)
        i = rng.randrange(len(items))
        field_name = rng.choice(["index", "row", "block", "proof"])
        items[i] = replace(items[i], **{field_name: rng.choice(values)})
        verdict = check(honest.challenge, commitment, replace(reveal, rows=tuple(items)), salt)
        assert not verdict.passed


# ---------------------------------------------------------------- the GPU path's trust rule


def _fake_gpu(monkeypatch, outcome):
    """compute.prove with a GPU that `outcome`s: returns the honest result, a wrong one, or
    raises."""
    from oracle.protocol import compute_gpu

    monkeypatch.setattr(compute, "_torch_cuda", lambda: object())

    def fake(torch, challenge, give_up=None):
        if outcome == "raise":
            raise RuntimeError("CUDA out of memory")
        result = prove_cpu(challenge)
        if outcome == "wrong":
            result.digests = result.digests.copy()
            result.digests[-1] ^= 1
        result.backend = "gpu"
        return result

    monkeypatch.setattr(compute_gpu, "prove", fake)


@pytest.mark.parametrize(("outcome", "backend"), [("right", "gpu"), ("wrong", "cpu-gpu-mismatch"),
                                                 ("raise", "cpu-gpu-error")])  # fmt: skip
def test_prove_trusts_the_gpu_only_when_its_digests_match_the_cpu(monkeypatch, outcome, backend):
    _fake_gpu(monkeypatch, outcome)
    challenge = make_challenge(seed=30)
    result = prove(challenge)
    assert result.backend == backend
    assert np.array_equal(result.digests, prove_cpu(challenge).digests)


def test_prove_raises_when_the_gpu_is_asked_without_torch(monkeypatch):
    monkeypatch.setattr(compute, "_torch_cuda", lambda: None)
    with pytest.raises(RuntimeError):
        prove(make_challenge(), backend="gpu")
    assert prove(make_challenge(), backend="cpu").backend == "cpu"


def test_the_torch_path_is_bit_exact_with_the_reference_where_torch_is_installed():
    torch = pytest.importorskip("torch")
    from oracle.protocol import compute_gpu

    challenge = make_challenge(WIDE, count=2, seed=31)
    got = compute_gpu.prove(torch, challenge, devices=[torch.device("cpu")], chunk_rows=256)
    assert np.array_equal(got.digests, prove_cpu(challenge).digests)


def test_prove_gives_up_when_asked_and_says_so():
    with pytest.raises(compute.TooSlow):
        prove_cpu(make_challenge(WIDE, count=2), give_up=lambda done: done > 0.4)


# ---------------------------------------------------------------- the class table


def test_hardware_classes_are_indexed_with_the_cpu_first():
    assert all(i == c.index for i, c in HARDWARE_CLASSES.items())
    assert HARDWARE_CLASSES[0].name == "cpu"
    assert {c.name for c in HARDWARE_CLASSES.values()} >= {"cpu", "a100", "h100", "rtx4090"}


def test_shape_gives_every_class_device_s_of_its_work_per_stream():
    for cls in HARDWARE_CLASSES.values():
        shape = shape_for(cls, 2)
        seconds = shape.rows * shape.n**2 / cls.macs_per_s
        assert compute.DEVICE_S <= seconds < compute.DEVICE_S * 1.01
        assert shape.rows % compute.ROW_ALIGN == 0 and shape.streams == 2


def test_the_deadline_is_dominated_by_the_device_for_every_gpu_class():
    for cls in HARDWARE_CLASSES.values():
        shape = shape_for(cls, 8)
        device = cls.slack * shape.rows * shape.n**2 / cls.macs_per_s
        assert device / deadline_s(shape, cls) > 0.7, cls.name


def test_an_h100_deadline_is_below_an_rtx4090s_honest_time_by_1_5x():
    by_name = {c.name: c for c in HARDWARE_CLASSES.values()}
    h100, rtx4090 = by_name["h100"], by_name["rtx4090"]
    shape = shape_for(h100, 1)
    honest_4090 = shape.rows * shape.n**2 / rtx4090.macs_per_s
    assert honest_4090 >= 1.5 * deadline_s(shape, h100)


def test_a_cpu_needs_far_longer_than_any_gpu_class_allows():
    # The CPU class's own (generous) rate: at least 1,000 times each GPU deadline.
    cpu = HARDWARE_CLASSES[CPU]
    for cls in HARDWARE_CLASSES.values():
        if cls is not cpu:
            shape = shape_for(cls, 1)
            assert shape.macs / cpu.macs_per_s > 1000 * deadline_s(shape, cls)


def test_deadline_is_slack_times_device_plus_host_and_network():
    cls = HARDWARE_CLASSES[3]
    shape = shape_for(cls, 4)
    expected = (
        cls.slack * shape.rows * shape.n**2 / cls.macs_per_s
        + cls.host_s + 2 * shape.total_rows / compute.HASH_BYTES_PER_S + cls.network_s
    )  # fmt: skip
    assert deadline_s(shape, cls) == pytest.approx(expected)


def test_params_refuse_values_no_committee_can_use():
    for bad in ({"device_s": 0}, {"device_s": 61}, {"max_n": 60}, {"max_n": 2**15}):
        with pytest.raises(ValueError):
            Params(**bad)


def test_detection_probability_is_one_minus_miss_probability():
    assert detection_probability(0.1, 44) == pytest.approx(1 - 0.9**44)
    assert detection_probability(0.0, 44) == 0.0
    assert detection_probability(1.0, 1) == 1.0
    with pytest.raises(ValueError):
        detection_probability(1.5, 10)


def test_default_k_catches_a_tenth_skipped_with_probability_099():
    assert rows_for_detection(0.1, 0.99) == DEFAULT_K == 44
    assert detection_probability(0.1, DEFAULT_K - 1) < 0.99


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


def test_revealed_blocks_prove_against_the_root(streams3):
    leaves = -(-3 * streams3.challenge.rows // BLOCK)
    for item in streams3.reveal([0, BLOCK - 1, BLOCK, 3 * streams3.challenge.rows - 1]).rows:
        assert len(item.row) == 4 * streams3.challenge.n
        b = item.index // BLOCK
        assert verify_positional_proof(streams3.root, leaves, b, block_leaf(b, item.block),
                                       item.proof)  # fmt: skip


def test_revealed_rows_are_int32_big_endian():
    c = make_challenge(seed=40)
    computation = prove_cpu(c)
    item = computation.reveal([5]).rows[0]
    assert np.frombuffer(item.row, dtype=">i4").tolist() == computation.product_row(5).tolist()
    assert isinstance(item, RevealedRow)
