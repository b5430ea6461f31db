// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IEpochClock
/// @notice Epochs are fixed windows of `epochDuration` seconds from `genesis`:
/// epoch e covers [genesis + e * duration, genesis + (e + 1) * duration). The marketplace, the
/// emissions controller and the oracle hub share one clock (same immutables, checked at wiring).
interface IEpochClock {
    /// @notice Two contracts wired together run on different clocks.
    error ClockMismatch(uint64 genesis, uint64 epochDuration);
    /// @notice Genesis and epoch duration must both be non-zero.
    error InvalidClock(uint64 genesis, uint64 epochDuration);

    function genesis() external view returns (uint64);
    function epochDuration() external view returns (uint64);
    /// @notice The epoch that contains block.timestamp (0 before genesis).
    function currentEpoch() external view returns (uint64);
    function epochStart(uint64 epoch) external view returns (uint64);
}
