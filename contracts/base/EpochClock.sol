// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEpochClock} from "../../interfaces/IEpochClock.sol";

/// @title EpochClock
/// @notice Fixed-length epochs from a genesis timestamp, as immutables (no storage reads).
abstract contract EpochClock is IEpochClock {
    uint64 private immutable _genesis;
    uint64 private immutable _epochDuration;

    constructor(uint64 genesis_, uint64 epochDuration_) {
        if (epochDuration_ == 0 || genesis_ == 0) revert InvalidClock(genesis_, epochDuration_);
        _genesis = genesis_;
        _epochDuration = epochDuration_;
    }

    /// @inheritdoc IEpochClock
    function genesis() public view returns (uint64) {
        return _genesis;
    }

    /// @inheritdoc IEpochClock
    function epochDuration() public view returns (uint64) {
        return _epochDuration;
    }

    /// @inheritdoc IEpochClock
    function currentEpoch() public view returns (uint64) {
        if (block.timestamp < _genesis) return 0;
        return uint64((block.timestamp - _genesis) / _epochDuration);
    }

    /// @inheritdoc IEpochClock
    function epochStart(uint64 epoch) public view returns (uint64) {
        return _genesis + epoch * _epochDuration;
    }

    /// @dev Reverts unless `other` runs on the same clock.
    function _checkSameClock(IEpochClock other) internal view {
        if (other.genesis() != _genesis || other.epochDuration() != _epochDuration) {
            revert ClockMismatch(other.genesis(), other.epochDuration());
        }
    }
}
