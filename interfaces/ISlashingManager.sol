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

    error UnknownSlash(uint256 slashId);
    error InvalidReason(uint8 reason);
    error UnknownNode(address node);
    error NotPending(uint256 slashId, SlashStatus status);
    error DisputeWindowOpen(uint256 slashId, uint64 executableAt);
    error DisputeWindowClosed(uint256 slashId, uint64 executableAt);
    error NotDisputable(uint256 slashId, SlashReason reason);
    error LeaseMismatch(uint256 slashId, uint256 leaseId);
    /// @notice A storage slash names a chunk the lease's data does not have.
    error ChunkOutOfRange(uint256 slashId, uint64 chunkIndex, uint256 chunks);
    error InvalidChunkProof(uint256 slashId);
    error InvalidParameter(bytes32 name, uint256 value);

    event SlashQueued(
        uint256 indexed slashId,
        address indexed node,
        uint64 indexed epoch,
        SlashReason reason,
        uint256 amount,
        bytes32 evidence,
        uint64 executableAt
    );
    event SlashExecuted(uint256 indexed slashId, address indexed node, uint256 slashed, uint256 burned, uint256 toTreasury);
    event SlashDisputed(uint256 indexed slashId, address indexed node, address disputer);
    event SlashCancelled(uint256 indexed slashId, address indexed node);
    event PenaltySet(SlashReason indexed reason, uint16 bps);
    event DisputeWindowSet(uint64 window);
    event BurnShareSet(uint16 bps);
    event TreasurySet(address treasury);
    event OracleHubSet(address hub);

    /// @notice Queues the slashes of an accepted report. Oracle hub only.
    function queueSlashes(uint64 epoch, SlashRequest[] calldata slashes) external;

    /// @notice Executes a pending slash after its dispute window. Anyone.
    function executeSlash(uint256 slashId) external;

    /// @notice Cancels a pending storage slash with the chunk the node was said not to have.
    function disputeStorageSlash(uint256 slashId, bytes calldata chunk, bytes32[] calldata proof) external;

    /// @notice Cancels a pending slash. Owner (governance) only.
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
