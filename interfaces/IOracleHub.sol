// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEpochClock} from "./IEpochClock.sol";
import {ISlashingManager} from "./ISlashingManager.sol";
import {BN254} from "../contracts/lib/BN254.sol";

/// @title IOracleHub
/// @notice Verifies the oracle committee's epoch reports and settles them.
///
/// The committee is a sorted list of member addresses and a threshold t with 2t > n. A report
/// is the EIP-712 typed message `EpochReport` under the domain ("Plinth OracleHub", "1",
/// chainId, this contract), so it cannot be replayed on another chain, fork or deployment; it
/// carries the committee version, so signatures die with a membership change. It is accepted
/// with the signatures of at least t members, in one of the two schemes below.
///
/// Epochs are settled once and in increasing order: a report is for an epoch that has ended,
/// at or after `nextEpoch`, at most MAX_EPOCH_GAP epochs ahead (skipped epochs emit nothing),
/// and names as its `parent` the digest of the last report accepted (`lastDigest`): the
/// committee may sign several ended epochs at once, and a report signed before an earlier one
/// settled (its cumulative rewards without that epoch's) can no longer be posted.
/// On acceptance the hub mints the epoch's rewards (within the demand-based budget) into the
/// distributor, keeps the rewards root (sealed with the total minted since genesis; the
/// distributor checks claims against `rewardsRoot`) and queues the slashes. The report's digest
/// is an indexed topic of ReportAccepted; the hub keeps its first 20 bytes (`lastDigest`). Per-report sanity caps:
/// rewards within the budget, at most `maxSlashesPerReport` slashes. The results root (the
/// public per-node results file) is bound into the signed report and emitted.
///
/// Liveness. The gap bound keeps a report's cost bounded (the emissions controller walks the
/// marketplace's demand over the skipped epochs). After a reporting outage longer than
/// MAX_EPOCH_GAP epochs, anyone may call `skipEpochs`: it moves `nextEpoch` forward by at most
/// MAX_EPOCH_GAP, to the oldest epoch from which the latest ended epoch is reportable again,
/// mints nothing for the epochs passed over and queues no slashes for them (calls repeat for
/// longer outages, each bounded). Stake unbonding in a skipped epoch becomes withdrawable: a
/// fault no report proved within MAX_EPOCH_GAP epochs is not punished.
///
/// Two ways to post, a deployment choice made with the committee (`setCommittee`):
/// - ECDSA (`submitReport`): at least t signatures (65 bytes r|s|v each, concatenated) whose
///   signers are members and strictly increasing (no duplicates), with low s (no malleable
///   twins). Gas grows with t (an ecrecover and a storage read per signature).
/// - BLS on BN254 (`submitReportBls`, library BN254 and oracle/bls.py): one aggregate signature
///   over the same EIP-712 digest, a bitmap of the signers and their aggregate G2 key. The hub
///   keeps the members' G1 keys and their sum, computes the signers' aggregate G1 key as the sum
///   minus the non-signers' keys (gas grows with the non-signers only) and checks it against
///   the G2 key with one 2-pair pairing. Each operator registers its own key with a proof of
///   possession (`registerBlsKey`), which stops rogue keys; a registered key takes effect for a
///   committee at the next `setCommittee`.
/// Both paths share the report checks and the settlement.
///
/// @dev Assumptions: the threshold counts members, not operators: two addresses of one operator
/// count twice, so choosing independent members is the owner's job. A BLS committee's keys are
/// snapshotted by `setCommittee`: a key registered later changes nothing until the owner sets
/// the committee again.
interface IOracleHub is IEpochClock {
    /// @notice How the current committee's reports are signed.
    enum Scheme {
        ECDSA,
        BLS
    }

    struct EpochReport {
        uint64 epoch;
        /// The digest of the report this one builds on (the last one accepted; zero before the
        /// first): its cumulative rewards and reputations are that report's plus this epoch's.
        bytes32 parent;
        uint64 committeeVersion;
        bytes32 rewardsRoot;
        uint256 totalRewards;
        bytes32 resultsRoot;
        ISlashingManager.SlashRequest[] slashes;
        /// Nodes with a lease active in `epoch` that failed the epoch (strictly increasing, at
        /// most MAX_FAILED_NODES): the marketplace refunds their customers for the epoch instead
        /// of paying the provider.
        address[] failedNodes;
        /// What the leases of `failedNodes` pay for the epoch: not counted as demand (it can
        /// only lower the epoch's budget).
        uint256 failedDemand;
    }

    /// @notice Raised by the submit functions for a report of an epoch that has not ended.
    error EpochNotEnded(uint64 epoch, uint64 currentEpoch);
    /// @notice Raised by the submit functions for a report of an epoch below `nextEpoch` (settled
    /// or skipped).
    error StaleEpoch(uint64 epoch, uint64 nextEpoch);
    /// @notice The report builds on `given`, but the last report accepted is `expected`: it was
    /// signed before an earlier epoch settled, so its cumulative rewards leave that epoch out.
    /// `expected` is the first 20 bytes of the last accepted digest (what the hub keeps).
    error WrongParent(bytes32 given, bytes20 expected);
    /// @notice The report assigns rewards (`totalRewards` > 0) without a rewards root.
    error InvalidRoot();
    /// @notice The report is more than MAX_EPOCH_GAP epochs past `nextEpoch`: after a long
    /// outage, `skipEpochs` moves `nextEpoch` forward first.
    error EpochGapTooLarge(uint64 epoch, uint64 nextEpoch);
    /// @notice The report's failed nodes are not strictly increasing (a duplicate or out of order).
    error FailedNodesNotIncreasing(address previous, address node);
    /// @notice The report lists more failed nodes than MAX_FAILED_NODES.
    error TooManyFailedNodes(uint256 count, uint256 max);
    /// @notice The latest ended epoch is still reportable (at most MAX_EPOCH_GAP past
    /// `nextEpoch`): there is nothing to skip.
    error NothingToSkip(uint64 nextEpoch, uint64 currentEpoch);
    /// @notice Raised by the submit functions when the report names another committee version than
    /// the current one (it was signed before the last `setCommittee`).
    error WrongCommitteeVersion(uint64 given, uint64 current);
    /// @notice Raised by the submit functions when the report lists more than `maxSlashesPerReport`
    /// slashes.
    error TooManySlashes(uint256 count, uint256 max);
    /// @notice Raised by `submitReport` when the signatures are empty or not a whole number of
    /// 65-byte signatures.
    error InvalidSignaturesLength(uint256 length);
    /// @notice Raised when a report carries fewer than `threshold` signatures (`submitReport`) or
    /// signer bits (BLS).
    error NotEnoughSignatures(uint256 count, uint256 threshold);
    /// @notice Raised by `submitReport` when signature `index` has a v other than 27 or 28 or
    /// recovers no address.
    error InvalidSignature(uint256 index);
    /// @notice Raised by `submitReport` when signature `index` has s above secp256k1n / 2 (the
    /// malleable twin of a valid signature).
    error HighSSignature(uint256 index);
    /// @notice Raised by `submitReport` when a signature recovers an address that is not a member
    /// of the current committee (a signature over other data recovers an unrelated address, so it
    /// ends here too).
    error NotCommitteeMember(address signer);
    /// @notice Raised by `submitReport` when the signers are not in strictly increasing order (a
    /// duplicate included), and by `setCommittee` and at deployment when the members are not (a
    /// zero address included).
    error SignersNotIncreasing(address previous, address signer);
    /// @notice Raised by `setCommittee` and at deployment when the committee is empty or larger
    /// than MAX_COMMITTEE, or the threshold is not a strict majority no larger than the committee
    /// (size / 2 < threshold <= size).
    error InvalidCommittee(uint256 size, uint256 threshold);
    /// @notice Raised by `setMaxSlashesPerReport` and at deployment when the cap is 0 or above 64.
    error InvalidParameter(bytes32 name, uint256 value);
    /// @notice The report was posted with the other scheme; `expected` is the committee's.
    error WrongScheme(Scheme expected);
    /// @notice A BLS signer bitmap with a bit at or above the committee size.
    error InvalidSignerBitmap(uint256 signers);
    /// @notice The aggregate signature is not a valid G1 point or does not verify.
    error InvalidBlsSignature();
    /// @notice A BLS key that is malformed, not on its curve, the point at infinity or (G2) not
    /// in the order-R subgroup.
    error InvalidBlsKey();
    /// @notice The proof of possession does not verify for the caller and the key.
    error InvalidProofOfPossession();
    /// @notice A member of a BLS committee has not registered a BLS key.
    error MissingBlsKey(address member);

    /// @notice Emitted by the submit functions for each accepted report, before the mint and
    /// the slashes' queuing. The rest of the report is in the transaction's input; the amount
    /// minted is EmissionsController's EpochEmitted, the sealed rewards root `rewardsRoot(epoch)`.
    /// @param digest The report's EIP-712 digest: the `parent` the next report names.
    /// @param resultsRoot The root of the public per-node results file.
    event ReportAccepted(uint64 indexed epoch, bytes32 indexed digest, bytes32 resultsRoot);
    /// @notice `skipEpochs` moved `nextEpoch` from `fromEpoch` to `nextEpoch`: epochs
    /// [fromEpoch, nextEpoch) are settled with nothing minted and no slash.
    event EpochsSkipped(uint64 indexed fromEpoch, uint64 nextEpoch, address caller);
    /// @notice Emitted at deployment and by `setCommittee`: `version` is the new committee version,
    /// which every report must name.
    event CommitteeSet(uint64 indexed version, address[] members, uint16 threshold, Scheme scheme);
    /// @notice Emitted by `registerBlsKey`: `operator` is the caller, `pk1` its G1 key, `pk2` its
    /// G2 key.
    event BlsKeyRegistered(address indexed operator, BN254.G1Point pk1, BN254.G2Point pk2);
    /// @notice Emitted at deployment and by `setMaxSlashesPerReport`.
    event MaxSlashesSet(uint16 maxSlashesPerReport);

    /// @notice Verifies the ECDSA `signatures` over `report` and settles the epoch.
    /// @dev Reverts WrongScheme under a BLS committee.
    function submitReport(EpochReport calldata report, bytes calldata signatures) external;

    /// @notice Verifies one BLS aggregate `signature` over `report` and settles the epoch.
    /// @param signers Bit i set: the i-th member of the (sorted) committee signed. At least
    /// `threshold` bits, none at or above the committee size.
    /// @param signature The sum of the signers' signatures on `reportDigest(report)` (G1).
    /// @param apkG2 The sum of the signers' G2 keys; checked against the sum of their G1 keys
    /// (as snapshotted by setCommittee), so it cannot be chosen freely.
    /// @dev Reverts WrongScheme under an ECDSA committee, InvalidBlsKey if `apkG2` is malformed
    /// or not in G2, InvalidBlsSignature if the check fails. Gas grows with the non-signers.
    /// Warning: the pairing precompile rejects a G2 point outside the subgroup by failing, which
    /// consumes all the gas the call was given (most of what the transaction has left); the
    /// hub then reverts InvalidBlsKey. Estimate before sending (oracle.chain does).
    function submitReportBls(
        EpochReport calldata report,
        uint256 signers,
        BN254.G1Point calldata signature,
        BN254.G2Point calldata apkG2
    ) external;

    /// @notice submitReportBls with the hash of the report's digest to G1 checked from a
    /// witness instead of computed with modexp (BN254.hashToG1WithHint: a square root per
    /// counter tried; oracle/bls.py hash_hint), which saves about 4,000 gas per counter.
    /// @dev Reverts BN254.InvalidHashHint(counter) on a wrong witness; otherwise as
    /// submitReportBls.
    function submitReportBlsWithHint(
        EpochReport calldata report,
        uint256 signers,
        BN254.G1Point calldata signature,
        BN254.G2Point calldata apkG2,
        uint256[] calldata hashHint
    ) external;

    /// @notice Recovery from a reporting outage longer than MAX_EPOCH_GAP epochs. Anyone may
    /// call it; it moves `nextEpoch` forward to min(nextEpoch + MAX_EPOCH_GAP, currentEpoch - 1
    /// - MAX_EPOCH_GAP), so that the latest ended epoch is reportable again after as few calls
    /// as the outage needs (one per MAX_EPOCH_GAP epochs), and no reportable epoch is skipped.
    /// Nothing is minted and no slash queued for the skipped epochs; their demand is finalized.
    /// @dev Reverts NothingToSkip while the latest ended epoch is reportable. Gas: the demand
    /// walk over at most MAX_EPOCH_GAP epochs (one storage read each).
    /// @return newNext The hub's new `nextEpoch`.
    function skipEpochs() external returns (uint64 newNext);

    /// @notice Registers (or replaces) the caller's BLS key: `pk1` in G1, `pk2` in G2 with the
    /// same secret, and `pop`, the caller's signature under POP_DST on
    /// keccak256(abi.encode(chainid, this, msg.sender, pk1.x, pk1.y)). Anyone may register;
    /// membership is the owner's choice. Takes effect for a committee at its next `setCommittee`.
    /// @dev The proof of possession is what makes aggregation safe: a rogue key
    /// pk_rogue = pk_attacker - pk_victim has no known secret, so no PoP. It binds the operator,
    /// so a PoP copied from another operator's registration is refused.
    function registerBlsKey(BN254.G1Point calldata pk1, BN254.G2Point calldata pk2, BN254.G1Point calldata pop)
        external;

    /// @notice Replaces the committee (sorted, no duplicates) and its scheme, and bumps its
    /// version. For BLS every member needs a registered key; the hub snapshots the keys. Owner only.
    /// It has the power to replace the whole committee at once: 1 to MAX_COMMITTEE distinct
    /// non-zero addresses in increasing order, a threshold t with size / 2 < t <= size, and either
    /// scheme (BLS only for members with a registered key). Reports signed for the previous version
    /// can no longer be posted. It cannot change a settled epoch or the bounds every report meets:
    /// the epoch's emission budget, `maxSlashesPerReport`, the penalty of each slash reason.
    /// @dev Warning: the owner chooses the committee, and a quorum of it decides each epoch's
    /// rewards (within the budget) and slashes (sized by the slashing manager, storage slashes
    /// disputable). The threshold counts addresses, not operators.
    function setCommittee(address[] calldata members, uint16 threshold, Scheme scheme) external;

    /// @notice The EIP-712 digest the committee signs for `report`.
    function reportDigest(EpochReport calldata report) external view returns (bytes32);

    function domainSeparator() external view returns (bytes32);
    function committee() external view returns (address[] memory);
    function committeeVersion() external view returns (uint64);
    function threshold() external view returns (uint16);
    function isMember(address account) external view returns (bool);
    function scheme() external view returns (Scheme);
    /// @notice The G1 key `operator` registered last ((0, 0) if none).
    /// @dev Warning: the current committee uses the keys registered when it was set; a key
    /// registered since then is not the one its reports are checked against.
    function blsKeyOf(address operator) external view returns (BN254.G1Point memory);
    /// @notice The G1 keys the current BLS committee's reports are checked against, in
    /// committee order (as snapshotted by setCommittee); empty under ECDSA.
    function committeeBlsKeys() external view returns (BN254.G1Point[] memory);
    /// @notice The lowest epoch a report can be for.
    function nextEpoch() external view returns (uint64);
    /// @notice The first 20 bytes of the digest of the last report accepted (zero before the
    /// first): the `parent` the next report names must begin with them. The full digest is the
    /// `digest` topic of the last ReportAccepted.
    function lastDigest() external view returns (bytes20);
    /// @notice The sealed rewards root claims of `epoch` are checked against, truncated to its
    /// low 216 bits (SumTree.truncate(SumTree.seal(top, total minted since genesis))); zero
    /// unless `epoch` is one of the two latest epochs with rewards. The roots are kept at index
    /// epoch % 2: after consecutive reports the latest two are claimable; after a report that
    /// skipped an epoch, the older one may be an earlier one.
    function rewardsRoot(uint64 epoch) external view returns (bytes32);
    /// @notice The latest epoch with a rewards root (`any` false, epoch 0, before the first).
    function latestRewardsEpoch() external view returns (bool any, uint64 epoch);
    function maxSlashesPerReport() external view returns (uint16);
    function MAX_COMMITTEE() external view returns (uint256);
    function MAX_EPOCH_GAP() external view returns (uint64);
    /// @notice The most failed nodes one report records (each costs a storage write).
    function MAX_FAILED_NODES() external view returns (uint256);
}
