// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEpochClock
/// @notice Epochs are fixed windows of `epochDuration` seconds from `genesis`:
/// epoch e covers [genesis + e * duration, genesis + (e + 1) * duration). The marketplace, the
/// emissions controller and the oracle hub share one clock (same immutables, checked at wiring).
interface IEpochClock {
    /// @notice Raised when a contract is wired to another that runs on a different clock: by the
    /// emissions controller's `setOracleHub` and the marketplace's `setEmissionsController`.
    /// `genesis` and `epochDuration` are the other contract's.
    error ClockMismatch(uint64 genesis, uint64 epochDuration);
    /// @notice Raised at deployment when the genesis or the epoch duration is zero.
    error InvalidClock(uint64 genesis, uint64 epochDuration);

    function genesis() external view returns (uint64);
    function epochDuration() external view returns (uint64);
    /// @notice The epoch that contains block.timestamp (0 before genesis).
    function currentEpoch() external view returns (uint64);
    function epochStart(uint64 epoch) external view returns (uint64);
}
