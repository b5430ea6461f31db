// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEpochClock} from "./IEpochClock.sol";
import {ISlashingManager} from "./ISlashingManager.sol";

/// @title IOracleHub
/// @notice Verifies the oracle committee's epoch reports and settles them.
///
/// The committee is a sorted list of member addresses and a threshold t with 2t > n. A report
/// is the EIP-712 typed message `EpochReport` under the domain ("Plinth OracleHub", "1",
/// chainId, this contract), so it cannot be replayed on another chain, fork or deployment; it
/// carries the committee version, so signatures die with a membership change. It is accepted
/// with at least t signatures (65 bytes r|s|v each, concatenated) whose signers are members and
/// strictly increasing (no duplicates), with low s (no malleable twins).
///
/// Epochs are settled once and in increasing order: a report is for an epoch that has ended,
/// at or after `nextEpoch`, at most MAX_EPOCH_GAP epochs ahead (skipped epochs emit nothing).
/// On acceptance the hub mints the epoch's rewards (within the demand-based budget) into the
/// distributor, publishes the rewards root and queues the slashes. The report's digest is an
/// indexed topic of ReportAccepted (not stored: the oracles read it from the log). Per-report sanity caps:
/// rewards within the budget, at most `maxSlashesPerReport` slashes. The results root (the
/// public per-node results file) is bound into the signed report and emitted.
///
/// @dev A second verification path (one BLS aggregate on BN254 checked with the pairing
/// precompile) will call the same internal settlement; the digest does not change.
interface IOracleHub is IEpochClock {
    struct EpochReport {
        uint64 epoch;
        uint64 committeeVersion;
        bytes32 rewardsRoot;
        uint256 totalRewards;
        bytes32 resultsRoot;
        ISlashingManager.SlashRequest[] slashes;
    }

    error EpochNotEnded(uint64 epoch, uint64 currentEpoch);
    error StaleEpoch(uint64 epoch, uint64 nextEpoch);
    error EpochGapTooLarge(uint64 epoch, uint64 nextEpoch);
    error WrongCommitteeVersion(uint64 given, uint64 current);
    error TooManySlashes(uint256 count, uint256 max);
    error InvalidSignaturesLength(uint256 length);
    error NotEnoughSignatures(uint256 count, uint256 threshold);
    error InvalidSignature(uint256 index);
    error HighSSignature(uint256 index);
    error NotCommitteeMember(address signer);
    error SignersNotIncreasing(address previous, address signer);
    error InvalidCommittee(uint256 size, uint256 threshold);
    error InvalidParameter(bytes32 name, uint256 value);

    event ReportAccepted(
        uint64 indexed epoch,
        bytes32 indexed digest,
        bytes32 rewardsRoot,
        bytes32 resultsRoot,
        uint256 totalRewards,
        uint256 slashCount,
        address submitter
    );
    event CommitteeSet(uint64 indexed version, address[] members, uint16 threshold);
    event MaxSlashesSet(uint16 maxSlashesPerReport);

    /// @notice Verifies `signatures` over `report` and settles the epoch.
    function submitReport(EpochReport calldata report, bytes calldata signatures) external;

    /// @notice Replaces the committee (sorted, no duplicates) and bumps its version. Owner only.
    function setCommittee(address[] calldata members, uint16 threshold) external;

    /// @notice The EIP-712 digest the committee signs for `report`.
    function reportDigest(EpochReport calldata report) external view returns (bytes32);

    function domainSeparator() external view returns (bytes32);
    function committee() external view returns (address[] memory);
    function committeeVersion() external view returns (uint64);
    function threshold() external view returns (uint16);
    function isMember(address account) external view returns (bool);
    /// @notice The lowest epoch a report can be for.
    function nextEpoch() external view returns (uint64);
    function maxSlashesPerReport() external view returns (uint16);
    function MAX_COMMITTEE() external view returns (uint256);
    function MAX_EPOCH_GAP() external view returns (uint64);
}
