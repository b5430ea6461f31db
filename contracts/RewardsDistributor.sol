// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Governed} from "./base/Governed.sol";
import {IRewardsDistributor} from "../interfaces/IRewardsDistributor.sol";
import {IOracleHub} from "../interfaces/IOracleHub.sol";
import {SumTree} from "./lib/SumTree.sol";

/// @title RewardsDistributor
/// @notice Holds the minted rewards and pays cumulative Merkle sum-tree claims against the roots
/// the oracle hub keeps (the two latest epochs with rewards): settling an epoch writes nothing
/// here.
contract RewardsDistributor is IRewardsDistributor, Governed, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- storage
    IERC20 private immutable _token;
    IOracleHub private _hub;
    mapping(address account => uint256) private _claimed;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, address initialGuardian, IERC20 token_) Governed(initialOwner, initialGuardian) {
        if (address(token_) == address(0)) revert ZeroAddress();
        _token = token_;
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IRewardsDistributor
    function claim(uint64 epoch, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 amount)
    {
        IOracleHub hub = _hub;
        if (address(hub) == address(0)) revert RootUnavailable(epoch, 0);
        bytes32 root = hub.rewardsRoot(epoch);
        if (root == bytes32(0)) revert RootUnavailable(epoch, latestEpoch());
        if (SumTree.truncate(SumTree.sealedRoot(proof, account, cumulativeAmount)) != root) {
            revert InvalidProof(account, cumulativeAmount);
        }
        uint256 claimed = _claimed[account];
        if (cumulativeAmount <= claimed) revert NothingToClaim(account, cumulativeAmount, claimed);
        // Cannot underflow: cumulativeAmount > claimed.
        unchecked {
            amount = cumulativeAmount - claimed;
        }
        _claimed[account] = cumulativeAmount;
        emit Claimed(account, epoch, amount, cumulativeAmount);
        _token.safeTransfer(account, amount);
    }

    /// @notice Wires the oracle hub, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the contract whose rewards roots claims are checked against,
    /// and so decide who can claim the tokens held here; it cannot be the zero address or be
    /// changed once set (AlreadySet).
    function setOracleHub(address hub) external onlyWiring {
        _hub = IOracleHub(_setOnce(address(_hub), hub));
        emit OracleHubSet(hub);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IRewardsDistributor
    function rootOf(uint64 epoch) external view returns (bytes32) {
        IOracleHub hub = _hub;
        return address(hub) == address(0) ? bytes32(0) : hub.rewardsRoot(epoch);
    }

    /// @inheritdoc IRewardsDistributor
    function latestEpoch() public view returns (uint64 epoch) {
        IOracleHub hub = _hub;
        if (address(hub) == address(0)) return 0;
        (bool any, uint64 latest) = hub.latestRewardsEpoch();
        return any ? latest : 0;
    }

    /// @inheritdoc IRewardsDistributor
    function claimedOf(address account) external view returns (uint256) {
        return _claimed[account];
    }

    /// @inheritdoc IRewardsDistributor
    function sealRoot(bytes32 top, uint256 total) external pure returns (bytes32) {
        return SumTree.seal(top, total);
    }

    /// @inheritdoc IRewardsDistributor
    function leafOf(address account, uint256 cumulativeAmount) external pure returns (bytes32) {
        return SumTree.leaf(account, cumulativeAmount);
    }

    function oracleHub() external view returns (address) {
        return address(_hub);
    }
}
