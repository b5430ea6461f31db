// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SumTree
/// @notice The rewards Merkle sum tree (oracle/protocol/merkle.py RewardsTree): every node is
/// (hash, sum). Leaf: (keccak256(bytes.concat(keccak256(abi.encode(account, amount)))), amount);
/// a parent of (hA, sA) and (hB, sB) with hA < hB is (keccak256(abi.encode(hA, sA, hB, sB)),
/// sA + sB). The top hash is sealed with the tree's sum: `seal(top, sum)`; the hub stores the
/// seal's low 216 bits (`truncate`) next to the epoch in one slot.
library SumTree {
    uint256 private constant _MASK = (1 << 216) - 1;

    function leaf(address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    /// @dev keccak256(abi.encode(top, total)): a top hash bound to its sum.
    function seal(bytes32 top, uint256 total) internal pure returns (bytes32 sealed_) {
        // The scratch space (0x00-0x3f) holds the two words; no memory is allocated.
        assembly ("memory-safe") {
            mstore(0x00, top)
            mstore(0x20, total)
            sealed_ := keccak256(0x00, 0x40)
        }
    }

    /// @dev The low 216 bits of `root` (what the hub stores).
    function truncate(bytes32 root) internal pure returns (bytes32) {
        return bytes32(uint256(root) & _MASK);
    }

    /// @dev The sealed root `proof` (sibling hash, sibling sum per level) leads to from the leaf
    /// (account, amount); zero for a proof of odd length or whose sums pass 2^256.
    function sealedRoot(bytes32[] calldata proof, address account, uint256 amount) internal pure returns (bytes32) {
        uint256 n = proof.length;
        if (n % 2 != 0) return bytes32(0);
        bytes32 h = leaf(account, amount);
        uint256 s = amount;
        for (uint256 i; i < n; i += 2) {
            bytes32 h2 = proof[i];
            uint256 s2 = uint256(proof[i + 1]);
            if (s2 > type(uint256).max - s) return bytes32(0);
            h = h < h2 ? keccak256(abi.encode(h, s, h2, s2)) : keccak256(abi.encode(h2, s2, h, s));
            // Cannot overflow: checked above.
            unchecked {
                s += s2;
            }
        }
        return seal(h, s);
    }
}
