// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRewardsDistributor
/// @notice Pays rewards against one Merkle root per epoch over (account, cumulativeAmount):
/// the total an account has earned since genesis. One claim with one proof pays everything
/// owed (cumulative minus already claimed), in O(log n) gas; no loop over nodes or accounts.
/// Claiming again against the same or an older root pays nothing more.
///
/// A Merkle sum tree: every node is (hash, sum). Leaf: (keccak256(bytes.concat(keccak256(
/// abi.encode(account, cumulativeAmount)))), cumulativeAmount); a parent of (hA, sA) and (hB, sB)
/// with hA < hB is (keccak256(abi.encode(hA, sA, hB, sB)), sA + sB); a node without a sibling
/// moves up unchanged (contracts/lib/SumTree.sol). The report carries the top hash; the oracle
/// hub keeps `SumTree.seal(top, total)` with the total minted into this contract since genesis
/// (the emissions controller's `totalEmitted` after the epoch's mint), truncated to 216 bits, so
/// a claim's proof (the siblings' hash and sum, two words per level) must add up to exactly what
/// was minted: a root whose leaves add up to more has no valid proof, and no account can take
/// another's tokens through it. The roots of the two latest epochs with rewards are claimable
/// (IOracleHub.rewardsRoot), so a claim built just before a new root lands still goes through.
interface IRewardsDistributor {
    /// @notice Raised by `claim` when `epoch` is not one of the two latest epochs with rewards
    /// roots kept by the hub (or none is); `latestEpoch` is the latest one.
    error RootUnavailable(uint64 epoch, uint64 latestEpoch);
    /// @notice Raised by `claim` when the proof does not show the leaf (account, cumulativeAmount)
    /// under the epoch's root.
    error InvalidProof(address account, uint256 cumulativeAmount);
    /// @notice Raised by `claim` when `cumulativeAmount` is not above what the account has
    /// `claimed` already.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 claimed);
    /// @notice Emitted by `claim`: `amount` was paid to `account` under the root of `epoch`, which
    /// brings its total claimed to `cumulativeAmount`.
    event Claimed(address indexed account, uint64 indexed epoch, uint256 amount, uint256 cumulativeAmount);
    /// @notice Emitted once, by `setOracleHub`.
    event OracleHubSet(address hub);

    /// @notice Pays `account` what it is owed under the root of `epoch`. Anyone may call; the
    /// tokens always go to `account`.
    function claim(uint64 epoch, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    /// @notice The root claims of `epoch` are checked against (IOracleHub.rewardsRoot): the low
    /// 216 bits of sealRoot(top, total minted); zero if the epoch's root is not kept.
    function rootOf(uint64 epoch) external view returns (bytes32);
    /// @notice keccak256(abi.encode(top, total)): a sum tree's top hash bound to its sum.
    function sealRoot(bytes32 top, uint256 total) external pure returns (bytes32);
    /// @notice The latest epoch with a rewards root (0 before the first).
    function latestEpoch() external view returns (uint64);
    function claimedOf(address account) external view returns (uint256);
    function leafOf(address account, uint256 cumulativeAmount) external pure returns (bytes32);
}
