// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Governed} from "./base/Governed.sol";
import {IRewardsDistributor} from "../interfaces/IRewardsDistributor.sol";

/// @title RewardsDistributor
/// @notice Cumulative Merkle sum-tree claims: one root per epoch, the latest two kept in a ring of two
/// slots so that publishing never writes a fresh storage slot (one packed state slot plus
/// one root slot per epoch settled).
contract RewardsDistributor is IRewardsDistributor, Governed, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- storage
    /// @dev Epochs of the two ring slots, the published total and flags, in one slot.
    /// flags: bit 0 = slot holding the latest root, bit 1 = one root published, bit 2 = two.
    struct RingState {
        uint64 epoch0;
        uint64 epoch1;
        uint120 totalPublished;
        uint8 flags;
    }

    uint8 private constant _LATEST_SLOT = 1;
    uint8 private constant _HAS_ONE = 2;
    uint8 private constant _HAS_TWO = 4;

    IERC20 private immutable _token;
    address private _hub;
    RingState private _ring;
    bytes32[2] private _roots;
    mapping(address account => uint256) private _claimed;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, address initialGuardian, IERC20 token_) Governed(initialOwner, initialGuardian) {
        if (address(token_) == address(0)) revert ZeroAddress();
        _token = token_;
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IRewardsDistributor
    function publish(uint64 epoch, bytes32 root, uint256 epochRewards) external {
        _only(_hub);
        if (root == bytes32(0)) revert InvalidRoot();
        RingState memory ring = _ring;
        uint256 slot;
        if (ring.flags & _HAS_ONE != 0) {
            uint256 latestSlot = ring.flags & _LATEST_SLOT;
            uint64 latest = latestSlot == 0 ? ring.epoch0 : ring.epoch1;
            if (epoch <= latest) revert EpochNotIncreasing(epoch, latest);
            // Overwrite the older slot; the latest stays claimable.
            slot = 1 - latestSlot;
            ring.flags = _HAS_ONE | _HAS_TWO | uint8(slot);
        } else {
            ring.flags = _HAS_ONE;
        }
        if (slot == 0) ring.epoch0 = epoch;
        else ring.epoch1 = epoch;
        ring.totalPublished += SafeCast.toUint120(epochRewards);
        _ring = ring;
        _roots[slot] = sealRoot(root, ring.totalPublished);
    }

    /// @inheritdoc IRewardsDistributor
    function claim(uint64 epoch, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 amount)
    {
        bytes32 root = rootOf(epoch);
        if (root == bytes32(0)) revert RootUnavailable(epoch, latestEpoch());
        if (!_verify(proof, root, account, cumulativeAmount)) revert InvalidProof(account, cumulativeAmount);
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
    /// It has the power to choose the only contract that can publish roots (`publish`), and so
    /// decide who can claim the tokens held here; it cannot be the zero address or be changed once
    /// set (AlreadySet).
    function setOracleHub(address hub) external onlyWiring {
        _hub = _setOnce(_hub, hub);
        emit OracleHubSet(hub);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IRewardsDistributor
    function rootOf(uint64 epoch) public view returns (bytes32) {
        RingState memory ring = _ring;
        if (ring.flags & _HAS_ONE == 0) return bytes32(0);
        uint256 latestSlot = ring.flags & _LATEST_SLOT;
        if ((latestSlot == 0 ? ring.epoch0 : ring.epoch1) == epoch) return _roots[latestSlot];
        if (ring.flags & _HAS_TWO != 0 && (latestSlot == 0 ? ring.epoch1 : ring.epoch0) == epoch) {
            return _roots[1 - latestSlot];
        }
        return bytes32(0);
    }

    /// @inheritdoc IRewardsDistributor
    function latestEpoch() public view returns (uint64) {
        RingState memory ring = _ring;
        return ring.flags & _LATEST_SLOT == 0 ? ring.epoch0 : ring.epoch1;
    }

    /// @inheritdoc IRewardsDistributor
    function claimedOf(address account) external view returns (uint256) {
        return _claimed[account];
    }

    /// @inheritdoc IRewardsDistributor
    function totalPublished() external view returns (uint256) {
        return _ring.totalPublished;
    }

    /// @inheritdoc IRewardsDistributor
    function sealRoot(bytes32 top, uint256 total) public pure returns (bytes32) {
        return keccak256(abi.encode(top, total));
    }

    /// @inheritdoc IRewardsDistributor
    function leafOf(address account, uint256 cumulativeAmount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
    }

    function oracleHub() external view returns (address) {
        return _hub;
    }

    // ---------------------------------------------------------------- internal
    /// @dev Walks the sum-tree proof (sibling hash, sibling sum per level) from the leaf up and
    /// checks the top hash sealed with the sum against `root`. A sum past 2^256 is invalid.
    function _verify(bytes32[] calldata proof, bytes32 root, address account, uint256 amount)
        private
        pure
        returns (bool)
    {
        uint256 n = proof.length;
        if (n % 2 != 0) return false;
        bytes32 h = leafOf(account, amount);
        uint256 s = amount;
        for (uint256 i; i < n; i += 2) {
            bytes32 h2 = proof[i];
            uint256 s2 = uint256(proof[i + 1]);
            if (s2 > type(uint256).max - s) return false;
            h = h < h2 ? keccak256(abi.encode(h, s, h2, s2)) : keccak256(abi.encode(h2, s2, h, s));
            // Cannot overflow: checked above.
            unchecked {
                s += s2;
            }
        }
        return sealRoot(h, s) == root;
    }
}
