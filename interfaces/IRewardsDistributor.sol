// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRewardsDistributor
/// @notice Pays rewards against one Merkle root per epoch over (account, cumulativeAmount):
/// the total an account has earned since genesis. One claim with one proof pays everything
/// owed (cumulative minus already claimed), in O(log n) gas; no loop over nodes or accounts.
/// Claiming again against the same or an older root pays nothing more.
///
/// Leaf: keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount)))); inner
/// nodes hash sorted pairs (OpenZeppelin MerkleProof). The two latest roots are claimable, so a
/// claim built just before a new root lands still goes through.
interface IRewardsDistributor {
    error RootUnavailable(uint64 epoch, uint64 latestEpoch);
    error InvalidProof(address account, uint256 cumulativeAmount);
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 claimed);
    error EpochNotIncreasing(uint64 epoch, uint64 latestEpoch);
    error InvalidRoot();

    event Claimed(address indexed account, uint64 indexed epoch, uint256 amount, uint256 cumulativeAmount);
    event OracleHubSet(address hub);

    /// @notice Publishes the rewards root of `epoch`. Oracle hub only (its ReportAccepted
    /// event records the root; publishing adds no event of its own to keep settlement cheap).
    function publish(uint64 epoch, bytes32 root, uint256 epochRewards) external;

    /// @notice Pays `account` what it is owed under the root of `epoch`. Anyone may call; the
    /// tokens always go to `account`.
    function claim(uint64 epoch, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    function rootOf(uint64 epoch) external view returns (bytes32);
    function latestEpoch() external view returns (uint64);
    function claimedOf(address account) external view returns (uint256);
    /// @notice Sum of all epoch rewards published (and minted here).
    function totalPublished() external view returns (uint256);
    function leafOf(address account, uint256 cumulativeAmount) external pure returns (bytes32);
}
