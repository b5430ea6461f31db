// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/*
 * Demand-based emissions
 * ======================
 *
 * The reward budget of epoch e:
 *
 *     budget_e = min(cap_e, floor_e + kappa * demand_e)
 *     floor_e  = floor_0 * r^e,          r = floorDecayWad / 1e18 in [0, 1]
 *     cap_e    = min(capPerEpoch, token.cap() - token.totalSupply())
 *
 * demand_e is what customers paid through the Marketplace for epoch e, read from the
 * Marketplace once the epoch has ended (it is measured on-chain; the oracle never reports it).
 *
 * Why this shape. A network with no customers yet still has to pay early providers for
 * capacity, so a bootstrap floor pays them whatever the demand; it decays geometrically, so
 * the subsidy ever paid is bounded: sum_e floor_0 r^e = floor_0 / (1 - r) (r < 1). Beyond the
 * floor, every token a customer pays lets the protocol emit kappa tokens of rewards: emissions
 * grow with revenue, not with hardware that nobody uses (the lesson of Helium's data-credit
 * burn and Filecoin's baseline minting). The per-epoch cap bounds the dilution any single
 * epoch can cause, however large the demand.
 *
 * Wash trading. A provider that leases its own node for D gets D * (1 - fee) back as the
 * provider, plus at most kappa * D of the extra budget in rewards, plus (a storage node) at
 * most half the fee its leases paid (the oracle's storage weight, oracle/service/score.py): it
 * loses whenever kappa < fee / 2, which the deploy script and the admin CLI enforce. The
 * per-epoch cap bounds what any wash trade can mint in any case.
 *
 * Edges.
 *  - No demand: budget_e = floor_e, which tends to 0 as e grows (r < 1), or stays floor_0 (r = 1).
 *  - Cap reached: budget_e = cap_e; demand above (cap_e - floor_e) / kappa earns nothing extra
 *    and does not carry over to later epochs.
 *  - Supply cap: cap_e never exceeds the unminted supply, so minting never reverts on the cap;
 *    once the supply is exhausted every budget is 0.
 *  - Epochs skipped (no report for them, or passed over by OracleHub.skipEpochs after a long
 *    outage): nothing is minted for them, ever. The floor keeps decaying with the clock (it
 *    depends on e, not on how many epochs were minted), and their demand earns no emissions
 *    (customers' payments still reached the providers).
 *  - Budget not distributed (nodes failed their challenges): only what the report assigns is
 *    minted; the rest is never created, so no tokens sit idle in the distributor.
 *  - Rounding: r^e and kappa * demand round down (in the protocol's favour).
 */

import {Governed} from "./base/Governed.sol";
import {EpochClock} from "./base/EpochClock.sol";
import {IEmissionsController} from "../interfaces/IEmissionsController.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IPlinthToken} from "../interfaces/IPlinthToken.sol";

/// @title EmissionsController
/// @notice Mints each settled epoch's rewards into the distributor, within the demand-based budget.
contract EmissionsController is IEmissionsController, Governed, EpochClock {
    // ---------------------------------------------------------------- constants
    uint256 private constant _WAD = 1e18;
    uint256 private constant _MAX_KAPPA = 100e18;

    // ---------------------------------------------------------------- storage
    IPlinthToken private immutable _token;
    IMarketplace private immutable _marketplace;
    address private immutable _distributor;
    /// @dev The emissions envelope: capPerEpoch can never be set above the deployed one.
    uint256 private immutable _capEnvelope;
    // Packed so that settling an epoch reads three slots: (hub, next epoch), (floor, cap),
    // (decay, kappa). Bounds are checked in _setSchedule.
    address private _hub;
    uint64 private _nextEpoch;
    uint128 private _floor0;
    uint128 private _capPerEpoch;
    uint64 private _floorDecayWad;
    uint96 private _kappaWad;
    uint256 private _totalEmitted;

    // ---------------------------------------------------------------- constructor
    constructor(
        address initialOwner,
        address initialGuardian,
        IPlinthToken token_,
        IMarketplace marketplace_,
        address distributor_,
        uint256[4] memory schedule
    ) Governed(initialOwner, initialGuardian) EpochClock(marketplace_.genesis(), marketplace_.epochDuration()) {
        if (address(token_) == address(0) || distributor_ == address(0)) revert ZeroAddress();
        _token = token_;
        _marketplace = marketplace_;
        _distributor = distributor_;
        _capEnvelope = schedule[3];
        _setSchedule(schedule[0], schedule[1], schedule[2], schedule[3]);
    }

    // ---------------------------------------------------------------- external: oracle hub
    /// @inheritdoc IEmissionsController
    function mintForEpoch(uint64 epoch, uint256 amount, uint256 failedDemand)
        external
        whenNotPaused
        returns (uint256 emitted)
    {
        _only(_hub);
        uint64 next = _nextEpoch;
        if (epoch < next) revert EpochAlreadyMinted(epoch, next);
        uint256 demand = _marketplace.finalizeDemand(epoch);
        // Only demand for proven service counts: the failed leases are refunded.
        demand = failedDemand < demand ? demand - failedDemand : 0;
        uint256 floor = floorOf(epoch);
        uint256 budget = budgetFor(epoch, demand, _remainingSupply());
        if (amount > budget) revert ExceedsBudget(epoch, amount, budget);
        _nextEpoch = epoch + 1;
        emitted = _totalEmitted + amount;
        _totalEmitted = emitted;
        emit EpochEmitted(epoch, demand, floor, budget, amount);
        if (amount > 0) _token.mint(_distributor, amount);
    }

    /// @inheritdoc IEmissionsController
    function skipTo(uint64 nextEpoch_) external whenNotPaused {
        _only(_hub);
        uint64 from = _nextEpoch;
        if (nextEpoch_ <= from) revert EpochAlreadyMinted(nextEpoch_, from);
        uint256 demand = _marketplace.finalizeDemand(nextEpoch_ - 1);
        _nextEpoch = nextEpoch_;
        emit EpochsSkipped(from, nextEpoch_, demand);
    }

    // ---------------------------------------------------------------- external: owner
    /// @notice Replaces the emission schedule. Owner only.
    /// It has the power to set the bootstrap floor `floor0`, its decay `floorDecayWad` (at most
    /// 1e18: the floor never grows), the demand multiplier `kappaWad` (at most 100e18) and the
    /// per-epoch cap `capPerEpoch` (non-zero, at least `floor0`, at most `capEnvelope()`, the cap
    /// it was deployed with), for every epoch not yet minted. No epoch ever mints more than the
    /// envelope. It cannot mint, change what was minted, or let supply pass the token's cap.
    /// @dev Warning: it applies at once, also to ended epochs whose report has not landed: a lower
    /// budget makes a report signed under the old one revert ExceedsBudget. The floor is floor0 *
    /// r^epoch from epoch 0, so a new floor0 or decay changes every later floor.
    function setSchedule(uint256 floor0_, uint256 floorDecayWad_, uint256 kappaWad_, uint256 capPerEpoch_)
        external
        onlyOwner
    {
        _setSchedule(floor0_, floorDecayWad_, kappaWad_, capPerEpoch_);
    }

    /// @notice Wires the oracle hub, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the only contract that can mint (`mintForEpoch`, within each
    /// epoch's budget) and skip epochs (`skipTo`). The hub must run on this contract's clock
    /// (ClockMismatch) and cannot be changed once set (AlreadySet).
    /// @dev The clock check calls the hub first, so the zero address or an account without code
    /// reverts there, without an error, rather than with ZeroAddress.
    function setOracleHub(address hub) external onlyWiring {
        _checkSameClock(EpochClock(hub));
        _hub = _setOnce(_hub, hub);
        emit OracleHubSet(hub);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IEmissionsController
    function budgetOf(uint64 epoch) external view returns (uint256) {
        return budgetFor(epoch, _marketplace.demandOf(epoch), _remainingSupply());
    }

    /// @inheritdoc IEmissionsController
    function floorOf(uint64 epoch) public view returns (uint256) {
        return _floor0 * _rpow(_floorDecayWad, epoch) / _WAD;
    }

    /// @inheritdoc IEmissionsController
    function budgetFor(uint64 epoch, uint256 demand, uint256 remainingSupply) public view returns (uint256) {
        uint256 cap = _capPerEpoch < remainingSupply ? _capPerEpoch : remainingSupply;
        uint256 kappa = _kappaWad;
        // Saturate instead of overflowing on absurd demand: kappa * demand > 2^256 means
        // kappa * demand / WAD > 1e59 wei (1e41 tokens), beyond any cap. (Comparing demand
        // with the cap instead would be wrong for kappa < 1: budget = cap for any demand > cap.)
        if (kappa != 0 && demand > type(uint256).max / kappa) return cap;
        uint256 uncapped = floorOf(epoch) + demand * kappa / _WAD;
        return uncapped < cap ? uncapped : cap;
    }

    /// @inheritdoc IEmissionsController
    function floor0() external view returns (uint256) {
        return _floor0;
    }

    /// @inheritdoc IEmissionsController
    function floorDecayWad() external view returns (uint256) {
        return _floorDecayWad;
    }

    /// @inheritdoc IEmissionsController
    function kappaWad() external view returns (uint256) {
        return _kappaWad;
    }

    /// @inheritdoc IEmissionsController
    function capPerEpoch() external view returns (uint256) {
        return _capPerEpoch;
    }

    /// @inheritdoc IEmissionsController
    function capEnvelope() external view returns (uint256) {
        return _capEnvelope;
    }

    /// @inheritdoc IEmissionsController
    function nextEpoch() external view returns (uint64) {
        return _nextEpoch;
    }

    /// @inheritdoc IEmissionsController
    function totalEmitted() external view returns (uint256) {
        return _totalEmitted;
    }

    /// @inheritdoc IEmissionsController
    function oracleHub() external view returns (address) {
        return _hub;
    }

    function distributor() external view returns (address) {
        return _distributor;
    }

    /// @inheritdoc IEmissionsController
    function marketplace() external view returns (address) {
        return address(_marketplace);
    }

    // ---------------------------------------------------------------- internal
    function _remainingSupply() private view returns (uint256) {
        return _token.cap() - _token.totalSupply();
    }

    /// @dev x^n in WAD fixed point by squaring, rounding down; x <= 1e18 so nothing overflows.
    function _rpow(uint256 x, uint256 n) private pure returns (uint256 z) {
        z = _WAD;
        while (n > 0) {
            if (n & 1 == 1) z = z * x / _WAD;
            x = x * x / _WAD;
            n >>= 1;
        }
    }

    function _setSchedule(uint256 floor0_, uint256 floorDecayWad_, uint256 kappaWad_, uint256 capPerEpoch_) private {
        if (floorDecayWad_ > _WAD) revert InvalidParameter("floorDecayWad", floorDecayWad_);
        if (kappaWad_ > _MAX_KAPPA) revert InvalidParameter("kappaWad", kappaWad_);
        if (capPerEpoch_ == 0 || floor0_ > capPerEpoch_ || capPerEpoch_ > _capEnvelope || capPerEpoch_ > type(uint128).max) {
            revert InvalidParameter("capPerEpoch", capPerEpoch_);
        }
        // The casts fit: decay <= 1e18 < 2^64, kappa <= 1e20 < 2^96, floor0 <= cap < 2^128.
        _floor0 = uint128(floor0_);
        _floorDecayWad = uint64(floorDecayWad_);
        _kappaWad = uint96(kappaWad_);
        _capPerEpoch = uint128(capPerEpoch_);
        emit ScheduleSet(floor0_, floorDecayWad_, kappaWad_, capPerEpoch_);
    }
}
