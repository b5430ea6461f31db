"""Merkle trees with the exact encodings the contracts verify. Pure functions, no I/O.

Rewards tree (RewardsDistributor): leaf = keccak256(keccak256(abi.encode(account, cumulative))),
inner node = keccak256 of the sorted pair (OpenZeppelin MerkleProof); an odd node at the end of
a level is carried up unchanged.

Positional tree (PositionalTree): parent = keccak256(left || right) by position, leaves padded
with zero hashes to a power of two; a proof is the sibling at each level, leaf first.

Storage tree (SlashingManager dispute, storage audits): a positional tree over the data
zero-padded to whole CHUNK_SIZE chunks, leaf = keccak256(uint256 index || chunk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

CHUNK_SIZE = 1024
ZERO_HASH = b"\x00" * 32


def rewards_leaf(account: str, cumulative_amount: int) -> bytes:
    """The distributor's leaf for (account, cumulative amount)."""
    return keccak(keccak(encode(["address", "uint256"], [account, cumulative_amount])))


class RewardsTree:
    """Cumulative rewards per account as a Merkle sum tree (RewardsDistributor's): every node is
    (hash, sum); a parent of (hA, sA), (hB, sB) with hA < hB is (keccak(hA, sA, hB, sB), sA + sB),
    a node without a sibling moves up unchanged. `root` is the top hash (what the report
    carries), `total` the sum of all amounts, `sealed_root` the top hash sealed with `total`
    (the hub stores its low 216 bits, `stored_root`, once the total minted equals `total`);
    `proof(account)` is what `RewardsDistributor.claim` takes (the sibling's hash and sum, 32
    bytes each, per level)."""

    def __init__(self, cumulative: Mapping[str, int]):
        self.amounts: dict[str, int] = {}
        for account, amount in cumulative.items():
            if amount < 0 or amount >= 2**256:
                raise ValueError(f"amount out of range for {account}: {amount}")
            key = to_checksum_address(account)
            if key in self.amounts and self.amounts[key] != amount:
                raise ValueError(f"{key} appears twice with different amounts")
            self.amounts[key] = int(amount)
        self.total = sum(self.amounts.values())
        if self.total >= 2**256:
            raise ValueError("the amounts add up to 2^256 or more")
        self._accounts = sorted(self.amounts, key=lambda a: int(a, 16))
        self._index = {a: i for i, a in enumerate(self._accounts)}
        level = [(rewards_leaf(a, self.amounts[a]), self.amounts[a]) for a in self._accounts]
        self._levels: list[list[tuple[bytes, int]]] = [level]
        while len(level) > 1:
            level = [
                sum_pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
            self._levels.append(level)

    @property
    def root(self) -> bytes:
        return self._levels[-1][0][0] if self._accounts else ZERO_HASH

    @property
    def sealed_root(self) -> bytes:
        return seal_root(self.root, self.total)

    @property
    def stored_root(self) -> bytes:
        """What OracleHub.rewardsRoot returns for the epoch (and the distributor's rootOf)."""
        return stored_root(self.sealed_root)

    def __len__(self) -> int:
        return len(self._accounts)

    def proof(self, account: str) -> list[bytes]:
        index = self._index[to_checksum_address(account)]
        proof = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                h, s = level[sibling]
                proof += [h, s.to_bytes(32, "big")]
            index //= 2
        return proof


def seal_root(top: bytes, total: int) -> bytes:
    """RewardsDistributor.sealRoot: the top hash bound to the tree's sum."""
    return keccak(encode(["bytes32", "uint256"], [top, total]))


def stored_root(sealed: bytes) -> bytes:
    """SumTree.truncate: the low 216 bits of a sealed root (the hub keeps the epoch in the top
    40 bits of the slot), as 32 bytes."""
    return bytes(5) + bytes(sealed)[5:]


def sum_pair(a: tuple[bytes, int], b: tuple[bytes, int]) -> tuple[bytes, int]:
    """The parent (hash, sum) of two sum-tree nodes (RewardsDistributor's)."""
    (ha, sa), (hb, sb) = (a, b) if a[0] < b[0] else (b, a)
    return keccak(encode(["bytes32", "uint256", "bytes32", "uint256"], [ha, sa, hb, sb])), sa + sb


def verify_rewards_proof(
    sealed_root: bytes, account: str, cumulative: int, proof: Sequence[bytes]
) -> bool:
    """RewardsDistributor's check of a claim against the epoch's root: `root` is the sealed
    root or what the hub stores of it (its low 216 bits)."""
    if len(proof) % 2:
        return False
    node = (rewards_leaf(account, cumulative), cumulative)
    for i in range(0, len(proof), 2):
        node = sum_pair(node, (bytes(proof[i]), int.from_bytes(proof[i + 1], "big")))
        if node[1] >= 2**256:
            return False
    return stored_root(seal_root(*node)) == stored_root(sealed_root)


def split_chunks(data: bytes) -> list[bytes]:
    """Data as whole CHUNK_SIZE chunks, the last zero-padded."""
    if not data:
        raise ValueError("no data to chunk")
    padded = data + b"\x00" * (-len(data) % CHUNK_SIZE)
    return [padded[i : i + CHUNK_SIZE] for i in range(0, len(padded), CHUNK_SIZE)]


def chunk_leaf(index: int, chunk: bytes) -> bytes:
    return keccak(index.to_bytes(32, "big") + chunk)


def tree_depth(n_leaves: int) -> int:
    """Levels above the leaves once padded to a power of two."""
    return max(n_leaves - 1, 0).bit_length()


class PositionalTree:
    """Positional Merkle tree over given 32-byte leaves, padded with ZERO_HASH to a power of two."""

    def __init__(self, leaves: Sequence[bytes]):
        if not leaves:
            raise ValueError("a positional tree needs at least one leaf")
        self.n_leaves = len(leaves)
        level = list(leaves)
        level += [ZERO_HASH] * ((1 << tree_depth(len(level))) - len(level))
        self._levels = [level]
        while len(level) > 1:
            level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            self._levels.append(level)

    @property
    def root(self) -> bytes:
        return self._levels[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """Siblings from the leaf level up; tree_depth(n_leaves) of them."""
        if not 0 <= index < self.n_leaves:
            raise IndexError(f"leaf {index} out of range (0..{self.n_leaves - 1})")
        return [level[(index >> d) ^ 1] for d, level in enumerate(self._levels[:-1])]


def verify_positional_proof(
    root: bytes, n_leaves: int, index: int, leaf: bytes, proof: Sequence[bytes]
) -> bool:
    """Strict: index in range, exactly tree_depth(n_leaves) siblings of 32 bytes each."""
    if not 0 <= index < n_leaves or len(proof) != tree_depth(n_leaves):
        return False
    node = leaf
    for d, sibling in enumerate(proof):
        if len(sibling) != 32:
            return False
        node = keccak(node + sibling) if (index >> d) & 1 == 0 else keccak(sibling + node)
    return node == root


class ChunkTree:
    """Positional Merkle tree over storage chunks."""

    def __init__(self, chunks: Sequence[bytes]):
        if not chunks:
            raise ValueError("a chunk tree needs at least one chunk")
        for i, chunk in enumerate(chunks):
            if len(chunk) != CHUNK_SIZE:
                raise ValueError(f"chunk {i} is {len(chunk)} bytes, expected {CHUNK_SIZE}")
        self.n_chunks = len(chunks)
        self._tree = PositionalTree([chunk_leaf(i, c) for i, c in enumerate(chunks)])

    @classmethod
    def from_data(cls, data: bytes) -> ChunkTree:
        return cls(split_chunks(data))

    @property
    def root(self) -> bytes:
        return self._tree.root

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.n_chunks:
            raise IndexError(f"chunk {index} out of range (0..{self.n_chunks - 1})")
        return self._tree.proof(index)


def verify_chunk_proof(
    root: bytes, n_chunks: int, index: int, chunk: bytes, proof: Sequence[bytes]
) -> bool:
    """The same check as SlashingManager's dispute: strict chunk size, index and proof length."""
    if len(chunk) != CHUNK_SIZE or not 0 <= index < n_chunks:
        return False
    return verify_positional_proof(root, n_chunks, index, chunk_leaf(index, chunk), proof)
