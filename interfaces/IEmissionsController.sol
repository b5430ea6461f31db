// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEpochClock} from "./IEpochClock.sol";

/// @title IEmissionsController
/// @notice Demand-based emissions: the reward budget of an epoch grows with what customers
/// actually paid through the marketplace in that epoch, on top of a decaying bootstrap floor.
///
///     budget_e = min(cap_e, floor_e + kappa * demand_e)
///     floor_e  = floor_0 * r^e                  (r = floorDecayWad / 1e18, 0 <= r <= 1)
///     cap_e    = min(capPerEpoch, token.cap() - token.totalSupply())
///
/// See EmissionsController.sol for the derivation and the edge cases.
interface IEmissionsController is IEpochClock {
    /// @notice Raised by `mintForEpoch` when the report distributes more than the epoch's budget
    /// (`amount` > `budget`).
    error ExceedsBudget(uint64 epoch, uint256 amount, uint256 budget);
    /// @notice Raised by `mintForEpoch` for an epoch below `nextEpoch` (minted or skipped already),
    /// and by `skipTo` for a target not above it.
    error EpochAlreadyMinted(uint64 epoch, uint64 nextEpoch);
    /// @notice Raised at deployment and by `setSchedule` when a parameter is out of range:
    /// `floorDecayWad` above 1e18, `kappaWad` above 100e18, or `capPerEpoch` zero, below `floor0`,
    /// above `capEnvelope()` or at least 2^128 (`name` is "capPerEpoch" in all four).
    error InvalidParameter(bytes32 name, uint256 value);

    /// @notice Emitted by `mintForEpoch` for every settled epoch, also when nothing is minted;
    /// `demand` is the paid demand (the marketplace's, less the failed leases').
    /// @param demand The epoch's finalized marketplace demand.
    /// @param floor The epoch's bootstrap floor.
    /// @param budget The epoch's budget: min(cap, floor + kappa * demand).
    /// @param minted What was minted into the distributor (the report's total rewards).
    event EpochEmitted(uint64 indexed epoch, uint256 demand, uint256 floor, uint256 budget, uint256 minted);
    /// @notice Emitted at deployment and by `setSchedule` with the new parameters.
    event ScheduleSet(uint256 floor0, uint256 floorDecayWad, uint256 kappaWad, uint256 capPerEpoch);
    /// @notice Emitted once, by `setOracleHub`.
    event OracleHubSet(address hub);
    /// @notice Epochs [fromEpoch, nextEpoch) will never be minted (OracleHub.skipEpochs);
    /// `demand` is the finalized demand of epoch nextEpoch - 1.
    event EpochsSkipped(uint64 fromEpoch, uint64 nextEpoch, uint256 demand);

    /// @notice Finalizes the epoch's demand, checks `amount` against its budget and mints
    /// `amount` to the rewards distributor. Oracle hub only; epochs strictly increasing. The
    /// budget counts the demand less `failedDemand`, what the leases of nodes that failed the
    /// epoch pay (refunded to their customers): only demand for proven service earns emissions.
    /// It has the power to mint, into the rewards distributor only, any amount up to the budget of
    /// an ended epoch at or after `nextEpoch`, once per epoch; the epochs it passes over are never
    /// minted. It cannot mint for an earlier epoch, above the budget or to another address, and
    /// mints nothing while this contract is paused.
    /// @return emitted `totalEmitted()` after the mint: what the rewards distributor has received
    /// since genesis (the hub seals the epoch's rewards root with it).
    function mintForEpoch(uint64 epoch, uint256 amount, uint256 failedDemand) external returns (uint256 emitted);

    /// @notice Marks every epoch before `nextEpoch` as never to be minted and finalizes its
    /// demand (a walk over the epochs skipped, which the hub bounds). Oracle hub only.
    /// It has the power to move `nextEpoch` forward to any epoch whose predecessor has ended, so
    /// that the epochs in between are never minted; it cannot move it back, and it mints nothing.
    function skipTo(uint64 nextEpoch) external;

    /// @notice The budget of `epoch` from the demand the marketplace has recorded for it.
    function budgetOf(uint64 epoch) external view returns (uint256);

    /// @notice The bootstrap floor of `epoch`: floor_0 * r^epoch.
    function floorOf(uint64 epoch) external view returns (uint256);

    /// @notice The budget formula on explicit inputs (pure apart from the parameters).
    function budgetFor(uint64 epoch, uint256 demand, uint256 remainingSupply) external view returns (uint256);

    function floor0() external view returns (uint256);
    function floorDecayWad() external view returns (uint256);
    function kappaWad() external view returns (uint256);
    function capPerEpoch() external view returns (uint256);
    /// @notice The oracle hub (the only caller of mintForEpoch and skipTo).
    function oracleHub() external view returns (address);
    /// @notice The marketplace whose demand sets the budget.
    function marketplace() external view returns (address);
    /// @notice The highest capPerEpoch the schedule can ever have: the one deployed. Whatever
    /// the owner sets, no epoch mints more than this.
    function capEnvelope() external view returns (uint256);
    /// @notice The lowest epoch that can still be minted.
    function nextEpoch() external view returns (uint64);
    function totalEmitted() external view returns (uint256);
}
