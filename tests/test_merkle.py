"""oracle/merkle.py as pure Python: chunk trees, proofs, padding, and the rewards tree.

The on-chain side of the same encodings is checked in test_rewards_distributor.py (rewards
leaves and proofs); here the trees are compared with independent reference computations."""

import random

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from oracle.protocol.merkle import (
    CHUNK_SIZE,
    ZERO_HASH,
    ChunkTree,
    RewardsTree,
    chunk_leaf,
    rewards_leaf,
    seal_root,
    split_chunks,
    tree_depth,
    verify_chunk_proof,
    verify_rewards_proof,
)


def random_chunks(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(CHUNK_SIZE) for _ in range(n)]


def random_accounts(n: int, seed: int = 0) -> dict[str, int]:
    rng = random.Random(seed)
    return {to_checksum_address(rng.randbytes(20)): rng.randrange(1, 10**24) for _ in range(n)}


def reference_chunk_root(chunks: list[bytes]) -> bytes:
    """Positional tree written independently: recursive halving over the padded leaves."""
    leaves = [keccak(i.to_bytes(32, "big") + c) for i, c in enumerate(chunks)]
    size = 1
    while size < len(leaves):
        size *= 2
    leaves += [b"\x00" * 32] * (size - len(leaves))

    def root(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        mid = (lo + hi) // 2
        return keccak(root(lo, mid) + root(mid, hi))

    return root(0, size)


# ---------------------------------------------------------------- split_chunks


def test_split_chunks_pads_last_chunk_with_zeros_when_data_not_multiple():
    data = b"\xab" * (CHUNK_SIZE + 10)
    chunks = split_chunks(data)
    assert len(chunks) == 2
    assert all(len(c) == CHUNK_SIZE for c in chunks)
    assert chunks[0] == data[:CHUNK_SIZE]
    assert chunks[1] == b"\xab" * 10 + b"\x00" * (CHUNK_SIZE - 10)


def test_split_chunks_adds_no_padding_when_data_is_whole_chunks():
    data = bytes(range(256)) * 8  # 2048 bytes, 2 chunks exactly
    chunks = split_chunks(data)
    assert chunks == [data[:CHUNK_SIZE], data[CHUNK_SIZE:]]


def test_split_chunks_returns_one_padded_chunk_when_data_is_one_byte():
    assert split_chunks(b"\x01") == [b"\x01" + b"\x00" * (CHUNK_SIZE - 1)]


def test_split_chunks_raises_when_data_empty():
    with pytest.raises(ValueError):
        split_chunks(b"")


def test_tree_depth_is_ceil_log2_when_counting_leaves():
    expected = {0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 8: 3, 9: 4, 1023: 10, 1024: 10, 1025: 11}
    assert {n: tree_depth(n) for n in expected} == expected


# ---------------------------------------------------------------- ChunkTree


@pytest.mark.parametrize("n", [1, 2, 3, 5, 1024])
def test_chunk_tree_root_matches_reference_and_every_proof_verifies_when_n_chunks(n):
    chunks = random_chunks(n, seed=n)
    tree = ChunkTree(chunks)
    assert tree.n_chunks == n
    assert tree.root == reference_chunk_root(chunks)
    indices = range(n) if n <= 8 else [0, 1, 2, 511, 512, 777, n - 2, n - 1]
    for i in indices:
        proof = tree.proof(i)
        assert len(proof) == tree_depth(n)
        assert verify_chunk_proof(tree.root, n, i, chunks[i], proof)


def test_chunk_tree_root_is_the_leaf_when_single_chunk():
    chunk = random_chunks(1)[0]
    tree = ChunkTree([chunk])
    assert tree.root == chunk_leaf(0, chunk) == keccak(bytes(32) + chunk)
    assert tree.proof(0) == []


def test_chunk_tree_pads_with_zero_hashes_when_not_power_of_two():
    chunks = random_chunks(3)
    tree = ChunkTree(chunks)
    left = keccak(chunk_leaf(0, chunks[0]) + chunk_leaf(1, chunks[1]))
    right = keccak(chunk_leaf(2, chunks[2]) + ZERO_HASH)
    assert tree.root == keccak(left + right)
    assert tree.proof(2) == [ZERO_HASH, left]


def test_chunk_tree_from_data_equals_tree_of_split_chunks_when_built_from_bytes():
    data = random.Random(7).randbytes(5 * CHUNK_SIZE - 100)
    assert ChunkTree.from_data(data).root == ChunkTree(split_chunks(data)).root


def test_chunk_tree_raises_when_no_chunks():
    with pytest.raises(ValueError):
        ChunkTree([])


def test_chunk_tree_raises_when_chunk_has_wrong_size():
    chunks = random_chunks(2)
    with pytest.raises(ValueError):
        ChunkTree([chunks[0], chunks[1][:-1]])


@pytest.mark.parametrize("index", [-1, 5])
def test_chunk_proof_raises_when_index_out_of_range(index):
    tree = ChunkTree(random_chunks(5))
    with pytest.raises(IndexError):
        tree.proof(index)


def test_verify_chunk_proof_rejects_when_chunk_tampered():
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    tampered = bytes([chunks[3][0] ^ 1]) + chunks[3][1:]
    assert not verify_chunk_proof(tree.root, 5, 3, tampered, tree.proof(3))


def test_verify_chunk_proof_rejects_when_chunk_from_another_index():
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    assert not verify_chunk_proof(tree.root, 5, 3, chunks[2], tree.proof(3))


def test_verify_chunk_proof_rejects_when_index_changed():
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    for wrong in (2, 4, 6, 7):
        assert not verify_chunk_proof(tree.root, 5, wrong, chunks[3], tree.proof(3))


def test_verify_chunk_proof_rejects_when_index_past_data_even_if_padding_leaf():
    # Index 5 of a 5-chunk tree is a zero-hash padding slot: no chunk can be proven there.
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    assert not verify_chunk_proof(tree.root, 5, 5, chunks[4], tree.proof(4))
    assert not verify_chunk_proof(tree.root, 5, -1, chunks[0], tree.proof(0))


def test_verify_chunk_proof_rejects_when_proof_length_wrong():
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    proof = tree.proof(1)
    assert not verify_chunk_proof(tree.root, 5, 1, chunks[1], proof[:-1])
    assert not verify_chunk_proof(tree.root, 5, 1, chunks[1], [*proof, ZERO_HASH])
    assert not verify_chunk_proof(tree.root, 5, 1, chunks[1], [])


def test_verify_chunk_proof_rejects_when_sibling_tampered():
    chunks = random_chunks(5)
    tree = ChunkTree(chunks)
    proof = tree.proof(1)
    for d in range(len(proof)):
        bad = list(proof)
        bad[d] = bytes([bad[d][0] ^ 0x80]) + bad[d][1:]
        assert not verify_chunk_proof(tree.root, 5, 1, chunks[1], bad)


def test_verify_chunk_proof_rejects_when_chunk_size_wrong():
    chunks = random_chunks(1)
    tree = ChunkTree(chunks)
    assert not verify_chunk_proof(tree.root, 1, 0, chunks[0] + b"\x00", [])
    assert not verify_chunk_proof(tree.root, 1, 0, chunks[0][:-1], [])


def test_verify_chunk_proof_rejects_when_root_of_another_tree():
    a, b = ChunkTree(random_chunks(4, seed=1)), ChunkTree(random_chunks(4, seed=2))
    chunk = random_chunks(4, seed=1)[2]
    assert not verify_chunk_proof(b.root, 4, 2, chunk, a.proof(2))


# ---------------------------------------------------------------- RewardsTree


def test_rewards_leaf_is_double_keccak_of_abi_encoding_when_computed():
    account = "0x" + "11" * 20
    inner = keccak(bytes(12) + bytes.fromhex("11" * 20) + (12345).to_bytes(32, "big"))
    assert rewards_leaf(account, 12345) == keccak(inner)
    assert rewards_leaf(account, 12345) == keccak(
        keccak(encode(["address", "uint256"], [account, 12345]))
    )


def test_rewards_tree_root_is_zero_when_empty():
    tree = RewardsTree({})
    assert tree.root == ZERO_HASH
    assert len(tree) == 0


def test_rewards_tree_root_is_the_leaf_when_single_account():
    account = "0x" + "22" * 20
    tree = RewardsTree({account: 5})
    assert tree.root == rewards_leaf(account, 5)
    assert tree.proof(account) == []
    assert verify_rewards_proof(tree.sealed_root, account, 5, [])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_rewards_proofs_verify_for_every_account_when_n_accounts(n):
    amounts = random_accounts(n, seed=n)
    tree = RewardsTree(amounts)
    assert len(tree) == n
    for account, amount in amounts.items():
        proof = tree.proof(account)
        assert len(proof) <= 2 * tree_depth(n)  # a sibling's hash and sum per level
        assert verify_rewards_proof(tree.sealed_root, account, amount, proof)


def test_rewards_tree_root_is_independent_of_input_order_when_shuffled():
    amounts = random_accounts(37, seed=3)
    items = list(amounts.items())
    roots = set()
    rng = random.Random(4)
    for _ in range(5):
        rng.shuffle(items)
        roots.add(RewardsTree(dict(items)).root)
    assert len(roots) == 1


def test_rewards_tree_has_one_leaf_per_account_when_same_address_in_two_cases():
    account = to_checksum_address("0x" + "ab" * 20)
    tree = RewardsTree({account: 9, account.lower(): 9, "0x" + "cd" * 20: 1})
    assert len(tree) == 2
    assert tree.root == RewardsTree({account: 9, "0x" + "cd" * 20: 1}).root
    # Proofs are found whatever the case the caller uses.
    assert tree.proof(account.lower()) == tree.proof(account)


def test_rewards_tree_raises_when_amount_out_of_range():
    with pytest.raises(ValueError):
        RewardsTree({"0x" + "11" * 20: -1})
    with pytest.raises(ValueError):
        RewardsTree({"0x" + "11" * 20: 2**256})


def test_rewards_proof_raises_when_account_not_in_tree():
    tree = RewardsTree(random_accounts(3))
    with pytest.raises(KeyError):
        tree.proof("0x" + "99" * 20)


def test_rewards_tree_root_changes_when_any_amount_changes():
    amounts = random_accounts(7, seed=5)
    root = RewardsTree(amounts).root
    for account in amounts:
        changed = dict(amounts, **{account: amounts[account] + 1})
        assert RewardsTree(changed).root != root


def test_verify_rewards_proof_rejects_when_amount_account_or_tree_wrong():
    amounts = random_accounts(7, seed=6)
    tree = RewardsTree(amounts)
    other = RewardsTree(random_accounts(7, seed=8))
    accounts = list(amounts)
    a, b = accounts[0], accounts[1]
    proof = tree.proof(a)
    assert verify_rewards_proof(tree.sealed_root, a, amounts[a], proof)
    assert not verify_rewards_proof(tree.sealed_root, a, amounts[a] + 1, proof)
    assert not verify_rewards_proof(tree.sealed_root, b, amounts[a], proof)
    assert not verify_rewards_proof(
        tree.root, a, amounts[a], other.proof(next(iter(other.amounts)))
    )
    assert not verify_rewards_proof(other.sealed_root, a, amounts[a], proof)
    assert not verify_rewards_proof(tree.sealed_root, a, amounts[a], proof[:-1])


def test_rewards_proof_carries_odd_node_up_when_level_has_odd_length():
    # 3 leaves: the third has no sibling on the first level, so its proof has one level.
    amounts = random_accounts(3, seed=9)
    tree = RewardsTree(amounts)
    lengths = sorted(len(tree.proof(a)) for a in amounts)
    assert lengths == [2, 4, 4]


def test_a_sum_tree_that_over_assigns_has_no_valid_proof():
    """L-2: a root whose leaves add up to more than was published let early claimers take
    others' rewards. The sealed root binds the tree's sum: claims verify only against the sum
    actually published."""
    amounts = random_accounts(5, seed=10)
    tree = RewardsTree(amounts)
    a = next(iter(amounts))
    proof = tree.proof(a)
    # Published: one unit less than the leaves add up to.
    assert not verify_rewards_proof(seal_root(tree.root, tree.total - 1), a, amounts[a], proof)
    assert verify_rewards_proof(seal_root(tree.root, tree.total), a, amounts[a], proof)
    # A sibling's sum lowered to make room for a larger leaf changes the hashes above it.
    forged = list(proof)
    forged[1] = (int.from_bytes(proof[1], "big") - 1).to_bytes(32, "big")
    assert not verify_rewards_proof(tree.sealed_root, a, amounts[a] + 1, forged)
    assert not verify_rewards_proof(tree.sealed_root, a, amounts[a], proof[:-1])


def test_rewards_tree_rejects_one_account_twice_with_different_amounts():
    account = "0x" + "ab" * 20
    with pytest.raises(ValueError, match="appears twice"):
        RewardsTree({account: 1, account.upper().replace("0X", "0x"): 2})
