// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Governed} from "./base/Governed.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ISlashingManager} from "../interfaces/ISlashingManager.sol";
import {IOracleHub} from "../interfaces/IOracleHub.sol";

/// @title StakingVault
/// @notice Per-node collateral with a bounded unbonding queue; slashable until withdrawn.
/// An unbonding entry is withdrawable once its release time has passed AND the oracle hub has
/// settled the epoch containing that time, and no slash of the node is pending: a node cannot
/// exit, unbond and withdraw before the report of the epoch it failed in has landed.
contract StakingVault is IStakingVault, Governed, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants
    /// @inheritdoc IStakingVault
    uint256 public constant MAX_UNBONDING_ENTRIES = 16;
    uint64 private constant _MAX_DELAY = 365 days;

    // ---------------------------------------------------------------- storage
    struct NodeStake {
        uint128 bonded;
        uint128 unbonding;
    }

    IERC20 private immutable _token;
    INodeRegistry private immutable _registry;
    ISlashingManager private _slasher;
    uint64 private _unbondingDelay;
    uint128 private _totalBonded;
    uint128 private _totalUnbonding;
    mapping(address node => NodeStake) private _stakes;
    mapping(address node => UnbondingEntry[]) private _queues;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, address initialGuardian, IERC20 token_, INodeRegistry registry_, uint64 delay)
        Governed(initialOwner, initialGuardian)
    {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        _token = token_;
        _registry = registry_;
        _setUnbondingDelay(delay);
    }

    // ---------------------------------------------------------------- external: owners
    /// @inheritdoc IStakingVault
    function stake(address node, uint256 amount) public nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        _checkOwner(node);
        INodeRegistry.NodeStatus s = _registry.statusOf(node);
        if (s == INodeRegistry.NodeStatus.Exiting || s == INodeRegistry.NodeStatus.Exited) revert CannotStake(node);

        NodeStake storage st = _stakes[node];
        uint128 bonded = st.bonded + _toU128(amount);
        st.bonded = bonded;
        _totalBonded += uint128(amount);
        emit Staked(node, msg.sender, amount, bonded);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStakingVault
    function stakeWithPermit(address node, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        // A front-run permit leaves the allowance in place: ignore its failure and let
        // transferFrom decide (OpenZeppelin's recommended pattern).
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        stake(node, amount);
    }

    /// @inheritdoc IStakingVault
    function requestUnbond(address node, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        _checkOwner(node);
        NodeStake storage st = _stakes[node];
        uint256 bonded = st.bonded;
        if (amount > bonded) revert InsufficientBonded(node, bonded, amount);
        INodeRegistry.NodeStatus s = _registry.statusOf(node);
        if (s == INodeRegistry.NodeStatus.Active || s == INodeRegistry.NodeStatus.Jailed) {
            uint256 minimum = _registry.minStakeOf(node);
            // Cannot underflow: amount <= bonded was checked above.
            unchecked {
                if (bonded - amount < minimum) revert BelowMinimumStake(node, bonded - amount, minimum);
            }
        }
        UnbondingEntry[] storage queue = _queues[node];
        if (queue.length >= MAX_UNBONDING_ENTRIES) revert UnbondingQueueFull(node);

        uint64 releaseAt = uint64(block.timestamp) + _unbondingDelay;
        // Cannot overflow or underflow: amount <= bonded <= 2^128 - 1, and totals are sums of
        // the per-node figures they move between.
        unchecked {
            st.bonded = uint128(bonded - amount);
            st.unbonding += uint128(amount);
            _totalBonded -= uint128(amount);
            _totalUnbonding += uint128(amount);
        }
        queue.push(UnbondingEntry({amount: uint128(amount), releaseAt: releaseAt}));
        emit UnbondRequested(node, amount, releaseAt);
    }

    /// @inheritdoc IStakingVault
    function withdraw(address node) external nonReentrant whenNotPaused returns (uint256 amount) {
        address owner_ = _checkOwner(node);
        if (_slasher.pendingSlashCount(node) != 0) revert PendingSlash(node);
        (uint64 settledBefore, uint64 genesis, uint64 duration) = _settlement();
        uint64 waiting = type(uint64).max; // the earliest matured, unsettled entry's epoch
        UnbondingEntry[] storage queue = _queues[node];
        // Bounded by MAX_UNBONDING_ENTRIES. Withdrawable entries are removed and the others
        // shifted down in place, keeping request order: `slash` relies on the last entry being
        // the newest.
        uint256 n = queue.length;
        uint256 kept;
        for (uint256 i; i < n; ++i) {
            UnbondingEntry memory e = queue[i];
            bool matured = e.releaseAt <= block.timestamp;
            uint64 releaseEpoch = _epochOf(e.releaseAt, genesis, duration);
            if (matured && releaseEpoch < settledBefore) {
                amount += e.amount;
            } else {
                if (matured && releaseEpoch < waiting) waiting = releaseEpoch;
                if (kept != i) queue[kept] = e;
                ++kept;
            }
        }
        while (queue.length > kept) queue.pop();
        if (amount == 0) {
            if (waiting != type(uint64).max) revert NotSettled(node, waiting, settledBefore);
            revert NothingToWithdraw(node);
        }
        // Cannot underflow: amount is a sum of this node's queued entries.
        unchecked {
            _stakes[node].unbonding -= uint128(amount);
            _totalUnbonding -= uint128(amount);
        }
        emit Withdrawn(node, owner_, amount);
        _token.safeTransfer(owner_, amount);
    }

    // ---------------------------------------------------------------- external: slashing
    /// @inheritdoc IStakingVault
    function slash(address node, uint256 amount) external nonReentrant returns (uint256 slashed) {
        _only(address(_slasher));
        NodeStake storage st = _stakes[node];
        uint256 fromBonded = amount < st.bonded ? amount : st.bonded;
        uint256 rest = amount - fromBonded;
        uint256 fromUnbonding;
        UnbondingEntry[] storage queue = _queues[node];
        // Newest entries first; bounded by MAX_UNBONDING_ENTRIES.
        while (rest > 0 && queue.length > 0) {
            UnbondingEntry storage last = queue[queue.length - 1];
            uint256 take = rest < last.amount ? rest : last.amount;
            // Cannot underflow: take <= last.amount and take <= rest.
            unchecked {
                rest -= take;
                fromUnbonding += take;
                if (take == last.amount) queue.pop();
                else last.amount -= uint128(take);
            }
        }
        slashed = fromBonded + fromUnbonding;
        // Cannot underflow: each part was taken from the figure it is subtracted from.
        unchecked {
            st.bonded -= uint128(fromBonded);
            st.unbonding -= uint128(fromUnbonding);
            _totalBonded -= uint128(fromBonded);
            _totalUnbonding -= uint128(fromUnbonding);
        }
        emit Slashed(node, amount, fromBonded, fromUnbonding);
        if (slashed > 0) _token.safeTransfer(msg.sender, slashed);
    }

    // ---------------------------------------------------------------- external: owner
    /// @notice Sets the unbonding delay. Owner only.
    /// It has the power to set the delay from 1 second to 365 days, for unbond requests made from
    /// then on; entries already queued keep their `releaseAt`.
    /// @dev Warning: the delay must exceed one epoch plus the report latency plus the dispute
    /// window (see the interface); this setter does not check it, the deploy script does only at
    /// deployment.
    function setUnbondingDelay(uint64 delay) external onlyOwner {
        _setUnbondingDelay(delay);
    }

    /// @notice Wires the slashing manager, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the only contract that can take stake (`slash`), whose pending
    /// slashes and oracle hub gate withdrawals; it cannot be the zero address or be changed once
    /// set (AlreadySet).
    /// @dev Warning: withdraw reverts until it is set, and until it has its oracle hub.
    function setSlashingManager(address slasher) external onlyWiring {
        _slasher = ISlashingManager(_setOnce(address(_slasher), slasher));
        emit SlasherSet(slasher);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IStakingVault
    function bondedOf(address node) external view returns (uint256) {
        return _stakes[node].bonded;
    }

    /// @inheritdoc IStakingVault
    function unbondingOf(address node) external view returns (uint256) {
        return _stakes[node].unbonding;
    }

    /// @inheritdoc IStakingVault
    function slashableOf(address node) external view returns (uint256) {
        NodeStake storage st = _stakes[node];
        return uint256(st.bonded) + st.unbonding;
    }

    /// @inheritdoc IStakingVault
    function withdrawableOf(address node) external view returns (uint256 amount) {
        (uint64 settledBefore, uint64 genesis, uint64 duration) = _settlement();
        UnbondingEntry[] storage queue = _queues[node];
        for (uint256 i; i < queue.length; ++i) {
            UnbondingEntry memory e = queue[i];
            if (e.releaseAt <= block.timestamp && _epochOf(e.releaseAt, genesis, duration) < settledBefore) {
                amount += e.amount;
            }
        }
    }

    /// @inheritdoc IStakingVault
    function unbondingEntries(address node) external view returns (UnbondingEntry[] memory) {
        return _queues[node];
    }

    /// @inheritdoc IStakingVault
    function totalBonded() external view returns (uint256) {
        return _totalBonded;
    }

    /// @inheritdoc IStakingVault
    function totalUnbonding() external view returns (uint256) {
        return _totalUnbonding;
    }

    /// @inheritdoc IStakingVault
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    function token() external view returns (address) {
        return address(_token);
    }

    function registry() external view returns (address) {
        return address(_registry);
    }

    function slashingManager() external view returns (address) {
        return address(_slasher);
    }

    // ---------------------------------------------------------------- internal
    function _checkOwner(address node) private view returns (address owner_) {
        owner_ = _registry.ownerOf(node);
        if (owner_ != msg.sender || owner_ == address(0)) revert NotNodeOwner(node, msg.sender);
    }

    /// @dev (the hub's first unsettled epoch, its clock's genesis and epoch duration)
    function _settlement() private view returns (uint64 settledBefore, uint64 genesis, uint64 duration) {
        IOracleHub hub = IOracleHub(_slasher.oracleHub());
        return (hub.nextEpoch(), hub.genesis(), hub.epochDuration());
    }

    function _epochOf(uint64 t, uint64 genesis, uint64 duration) private pure returns (uint64) {
        return t < genesis ? 0 : (t - genesis) / duration;
    }

    function _setUnbondingDelay(uint64 delay) private {
        if (delay == 0 || delay > _MAX_DELAY) revert InvalidParameter("unbondingDelay", delay);
        _unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    function _toU128(uint256 x) private pure returns (uint128) {
        if (x > type(uint128).max) revert InvalidParameter("amount", x);
        return uint128(x);
    }
}
