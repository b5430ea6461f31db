// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStakingVault
/// @notice Collateral per node. The node's owner stakes; stake is bonded until the owner asks
/// to unbond it; unbonding stake waits `unbondingDelay` in a per-node queue of at most
/// `MAX_UNBONDING_ENTRIES` entries, then can be withdrawn.
///
/// Slashability: bonded stake AND stake in the unbonding queue are slashable until withdrawn
/// (escaping a slash by unbonding first is the classic staking bug). While the slashing manager
/// holds a pending slash against the node, nothing can be withdrawn. A slash takes from bonded
/// stake first, then from the newest unbonding entries.
///
/// @dev Warning: `unbondingDelay` must exceed the time from a fault to its report being
/// accepted (one epoch plus report latency) plus the dispute window, or a node could withdraw
/// between its fault and the pending slash. The deploy script checks this.
///
/// Invariant: token.balanceOf(vault) == sum over nodes of (bonded + unbonding), tokens sent to
/// the vault by plain transfer aside.
interface IStakingVault {
    struct UnbondingEntry {
        uint128 amount;
        uint64 releaseAt;
    }

    /// @notice Raised by `stake` and `requestUnbond` for a zero amount.
    error ZeroAmount();
    /// @notice Raised by `stake`, `requestUnbond` and `withdraw` when the caller does not own the
    /// node (also for an unregistered node).
    error NotNodeOwner(address node, address caller);
    /// @notice Raised by `stake` for a node that is Exiting or Exited.
    error CannotStake(address node);
    /// @notice Raised by `requestUnbond` for more than is bonded.
    error InsufficientBonded(address node, uint256 bonded, uint256 requested);
    /// @notice Raised by `requestUnbond` when an Active or Jailed node would keep less bonded stake
    /// than the minimum for its kind; exit first.
    error BelowMinimumStake(address node, uint256 remaining, uint256 minimum);
    /// @notice Raised by `requestUnbond` when the node already has MAX_UNBONDING_ENTRIES entries;
    /// withdraw matured entries first.
    error UnbondingQueueFull(address node);
    /// @notice Raised by `withdraw` while a slash against the node is pending.
    error PendingSlash(address node);
    /// @notice Raised by `withdraw` when no unbonding entry has matured.
    error NothingToWithdraw(address node);
    /// @notice Raised by `withdraw` when nothing can be paid yet but an entry has matured: it waits
    /// until the hub has settled the epoch containing its release time (`releaseEpoch`, the
    /// earliest such; every epoch before `settledBefore` is settled), so a report for the epochs it
    /// was still slashable in can land first.
    error NotSettled(address node, uint64 releaseEpoch, uint64 settledBefore);
    /// @notice Raised at deployment and by `setUnbondingDelay` for a delay of 0 or above 365 days
    /// ("unbondingDelay"), and by `stake` for an amount of 2^128 or more ("amount").
    error InvalidParameter(bytes32 name, uint256 value);

    /// @notice Emitted by `stake` and `stakeWithPermit`: `owner` added `amount`; `bonded` is the
    /// node's bonded stake after it.
    event Staked(address indexed node, address indexed owner, uint256 amount, uint256 bonded);
    /// @notice Emitted by `requestUnbond`: `amount` left bonded stake and matures at `releaseAt`.
    event UnbondRequested(address indexed node, uint256 amount, uint64 releaseAt);
    /// @notice Emitted by `withdraw`: `amount`, the sum of the entries paid, went to the node's
    /// owner `to`.
    event Withdrawn(address indexed node, address indexed to, uint256 amount);
    /// @notice Emitted by `slash`: of `requested`, `fromBonded` came from bonded stake and
    /// `fromUnbonding` from the newest unbonding entries; their sum went to the slashing manager.
    event Slashed(address indexed node, uint256 requested, uint256 fromBonded, uint256 fromUnbonding);
    /// @notice Emitted at deployment and by `setUnbondingDelay`; `delay` is in seconds.
    event UnbondingDelaySet(uint64 delay);
    /// @notice Emitted once, by `setSlashingManager`.
    event SlasherSet(address slasher);

    /// @notice Bounds the per-node unbonding queue (no unbounded loops).
    function MAX_UNBONDING_ENTRIES() external view returns (uint256);

    /// @notice Adds `amount` (pulled from the caller) to `node`'s bonded stake. Node owner only.
    function stake(address node, uint256 amount) external;

    /// @notice `stake` with an EIP-2612 permit instead of a prior approval.
    function stakeWithPermit(address node, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Moves `amount` from bonded into the unbonding queue. Node owner only.
    function requestUnbond(address node, uint256 amount) external;

    /// @notice Pays out every matured unbonding entry to the node owner. Node owner only.
    function withdraw(address node) external returns (uint256 amount);

    /// @notice Removes up to `amount` from the node's stake and sends it to the slasher.
    /// Slashing manager only. Returns what was actually taken.
    /// It has the power to take up to `amount` of any node's stake, bonded first, then the newest
    /// unbonding entries, and send it to itself, also while the vault is paused; it cannot take
    /// more than the node's bonded plus unbonding stake.
    function slash(address node, uint256 amount) external returns (uint256 slashed);

    function bondedOf(address node) external view returns (uint256);
    function unbondingOf(address node) external view returns (uint256);
    /// @notice Bonded plus unbonding: everything still slashable.
    function slashableOf(address node) external view returns (uint256);
    /// @notice What `withdraw` would pay now (ignoring a pending slash): matured entries whose
    /// release epoch the hub has settled.
    function withdrawableOf(address node) external view returns (uint256);
    function unbondingEntries(address node) external view returns (UnbondingEntry[] memory);
    function totalBonded() external view returns (uint256);
    function totalUnbonding() external view returns (uint256);
    function unbondingDelay() external view returns (uint64);
}
