// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISlashingManager
/// @notice Turns the slashes listed in an accepted oracle report into pending slashes. The size
/// of a slash is not chosen by the oracles: it is `penaltyBps[reason]` of the node's slashable
/// stake (bonded + unbonding) when the report lands. After `disputeWindow` anyone can execute a
/// pending slash: the vault hands the tokens over, `burnBps` of them are burned and the rest go
/// to the treasury, and the registry counts a fault (repeat offenders are jailed).
///
/// A storage slash (reason StorageAuditFailed) names the lease and the chunk the node failed to
/// produce. Within the window anyone may cancel it by submitting that chunk with its Merkle
/// proof against the lease's data root: leaf = keccak256(abi.encodePacked(uint256 index,
/// bytes chunk)), parent = keccak256(left, right) by position, leaves padded with zero hashes to
/// a power of two. The owner (governance) may cancel any pending slash. A storage slash must
/// name a lease of the slashed node and a chunk inside that lease's data, so that it can
/// always be disputed.
interface ISlashingManager {
    enum SlashReason {
        None,
        InvalidCompute,
        MissedDeadline,
        StorageAuditFailed,
        LocationSpoofed,
        Offline
    }

    enum SlashStatus {
        None,
        Pending,
        Executed,
        Disputed,
        Cancelled
    }

    /// @notice A slash as listed in an epoch report (part of the signed EIP-712 message).
    struct SlashRequest {
        address node;
        uint8 reason;
        uint256 leaseId;
        uint64 chunkIndex;
        bytes32 evidence;
    }

    /// @notice What is stored per slash: two storage slots. The epoch and the evidence hash
    /// are in the SlashQueued event (and in the signed report).
    struct PendingSlash {
        address node;
        SlashReason reason;
        SlashStatus status;
        uint64 executableAt;
        uint128 amount;
        uint64 leaseId;
        uint64 chunkIndex;
    }

    /// @notice Raised by `executeSlash`, `disputeStorageSlash` and `cancelSlash` for a slash id
    /// never queued.
    error UnknownSlash(uint256 slashId);
    /// @notice Raised by `queueSlashes` for a reason that is None (0) or above the last one (5).
    error InvalidReason(uint8 reason);
    /// @notice Raised by `queueSlashes` for a node not registered in the node registry.
    error UnknownNode(address node);
    /// @notice Raised by `executeSlash`, `disputeStorageSlash` and `cancelSlash` for a slash
    /// already executed, disputed or cancelled (`status`).
    error NotPending(uint256 slashId, SlashStatus status);
    /// @notice Raised by `executeSlash` before `executableAt`.
    error DisputeWindowOpen(uint256 slashId, uint64 executableAt);
    /// @notice Raised by `disputeStorageSlash` at or after `executableAt`.
    error DisputeWindowClosed(uint256 slashId, uint64 executableAt);
    /// @notice Raised by `disputeStorageSlash` for a slash whose reason is not StorageAuditFailed.
    error NotDisputable(uint256 slashId, SlashReason reason);
    /// @notice Raised by `queueSlashes` when a storage slash names a lease that is not the slashed
    /// node's (or an unknown lease, or an id of 2^64 or more).
    error LeaseMismatch(uint256 slashId, uint256 leaseId);
    /// @notice Raised by `queueSlashes` when a storage slash names a chunk the lease's data does
    /// not have (`chunks` is how many it has).
    error ChunkOutOfRange(uint256 slashId, uint64 chunkIndex, uint256 chunks);
    /// @notice Raised by `disputeStorageSlash` when the chunk is not CHUNK_SIZE bytes, or the proof
    /// has the wrong length or does not lead to the lease's data root.
    error InvalidChunkProof(uint256 slashId);
    /// @notice Raised at deployment and by a setter for a value out of range: a penalty above
    /// `maxPenaltyBps(reason)` or for reason None ("penaltyBps"), a dispute window below
    /// MIN_DISPUTE_WINDOW or above 30 days ("disputeWindow"), a burn share below MIN_BURN_BPS or
    /// above 10,000 bps ("burnBps").
    error InvalidParameter(bytes32 name, uint256 value);

    /// @notice Emitted by `queueSlashes` for each slash of an accepted report.
    /// @param epoch The epoch of the report that listed the slash.
    /// @param amount The stake to take: `penaltyBps[reason]` of the node's slashable stake left
    /// after its pending slashes.
    /// @param evidence The evidence hash from the signed report.
    /// @param executableAt When the dispute window ends and anyone may execute the slash.
    event SlashQueued(
        uint256 indexed slashId,
        address indexed node,
        uint64 indexed epoch,
        SlashReason reason,
        uint256 amount,
        bytes32 evidence,
        uint64 executableAt
    );
    /// @notice Emitted by `executeSlash`.
    /// @param slashed What the vault handed over (at most the queued amount).
    /// @param burned The part of `slashed` burned (`burnBps`).
    /// @param toTreasury The rest, sent to the treasury.
    event SlashExecuted(uint256 indexed slashId, address indexed node, uint256 slashed, uint256 burned, uint256 toTreasury);
    /// @notice Emitted by `disputeStorageSlash` when `disputer` produced the chunk: the slash is
    /// void.
    event SlashDisputed(uint256 indexed slashId, address indexed node, address disputer);
    /// @notice Emitted by `cancelSlash`.
    event SlashCancelled(uint256 indexed slashId, address indexed node);
    /// @notice Emitted at deployment (once per reason) and by `setPenalty`.
    event PenaltySet(SlashReason indexed reason, uint16 bps);
    /// @notice Emitted at deployment and by `setDisputeWindow`; `window` is in seconds.
    event DisputeWindowSet(uint64 window);
    /// @notice Emitted at deployment and by `setBurnShare`.
    event BurnShareSet(uint16 bps);
    /// @notice Emitted at deployment and by `setTreasury`.
    event TreasurySet(address treasury);
    /// @notice Emitted once, by `setOracleHub`.
    event OracleHubSet(address hub);

    /// @notice Queues the slashes of an accepted report. Oracle hub only.
    /// It has the power to queue, against any registered node and for any of the five reasons, a
    /// slash of `penaltyBps[reason]` of the node's slashable stake left after its pending slashes,
    /// executable after the dispute window; a pending slash stops the node's withdrawals until it
    /// is executed, disputed or cancelled. It cannot choose the amount, and a storage slash must
    /// name a lease of that node and a chunk inside its data, so that it can be disputed.
    function queueSlashes(uint64 epoch, SlashRequest[] calldata slashes) external;

    /// @notice Executes a pending slash after its dispute window. Anyone.
    function executeSlash(uint256 slashId) external;

    /// @notice Cancels a pending storage slash with the chunk the node was said not to have.
    function disputeStorageSlash(uint256 slashId, bytes calldata chunk, bytes32[] calldata proof) external;

    /// @notice Cancels a pending slash. Owner (governance) only.
    /// It has the power to cancel any pending slash, of any reason, at any time before it is
    /// executed, after its dispute window too; it cannot cancel an executed or disputed slash, or
    /// give back slashed stake.
    function cancelSlash(uint256 slashId) external;

    function getSlash(uint256 slashId) external view returns (PendingSlash memory);
    function slashCount() external view returns (uint256);
    function pendingSlashCount(address node) external view returns (uint256);
    function penaltyBps(SlashReason reason) external view returns (uint16);
    /// @notice The hard cap on `penaltyBps(reason)`, fixed in the code: Offline 5 %,
    /// MissedDeadline 10 %, InvalidCompute, StorageAuditFailed and LocationSpoofed 25 %.
    function maxPenaltyBps(SlashReason reason) external pure returns (uint16);
    /// @notice The shortest dispute window the owner can set (seconds).
    function MIN_DISPUTE_WINDOW() external view returns (uint64);
    /// @notice The smallest share of every slash that is burned (bps): at most half of a slash
    /// can ever reach the treasury, so slashing is never the owner's business.
    function MIN_BURN_BPS() external view returns (uint16);
    function disputeWindow() external view returns (uint64);
    /// @notice The OracleHub whose reports queue slashes (the vault reads its settled epochs).
    function oracleHub() external view returns (address);
    /// @notice The sum of the node's slashes queued and not yet executed, disputed or cancelled:
    /// a new slash is sized on the slashable stake left after them.
    function pendingSlashAmount(address node) external view returns (uint256);
    /// @notice The storage-chunk leaf: keccak256(abi.encodePacked(index, chunk)).
    function chunkLeaf(uint256 index, bytes calldata chunk) external pure returns (bytes32);
}
