// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IEpochClock} from "./IEpochClock.sol";

/// @title IMarketplace
/// @notice Where customers pay for capacity, and where demand is measured.
///
/// A provider sets a price per epoch for each node. A customer opens a lease on an eligible
/// node in the region the customer names, for whole epochs starting at the next epoch, and
/// escrows price * epochs. Payment streams to the node's owner epoch by epoch: `settle` pays
/// every ended epoch, less the protocol fee (to the treasury). Closing refunds every epoch that
/// has not started. A storage lease carries the data root and size that storage proofs (and
/// on-chain disputes) are checked against; data is zero-padded to whole `CHUNK_SIZE` chunks.
///
/// Demand: the amount customers committed to each epoch, recorded when leases open, grow or
/// close, and only ever for epochs that have not started. Once an epoch has started its demand
/// can no longer change, so `demandOf(e)` for a past epoch is final and measured on-chain: the
/// oracle never reports it. Implemented as a difference array over epochs with a cursor, so no
/// loop runs over leases or customers.
interface IMarketplace is IEpochClock {
    struct Lease {
        address customer;
        address node;
        uint16 region;
        uint64 startEpoch;
        uint64 endEpoch;
        uint64 paidThrough;
        bool closed;
        uint128 pricePerEpoch;
        /// The protocol fee in basis points when the lease opened: fixed for the lease, so a fee
        /// change applies only to leases opened after it. (Packed with the price.)
        uint16 feeBps;
        bytes32 dataRoot;
        uint64 dataSize;
    }

    /// @notice Raised by `setPrice` when the caller is not the node's owner in the registry (also
    /// for an unregistered node).
    error NotNodeOwner(address node, address caller);
    /// @notice Raised by `openLease` when the node is not eligible in the registry (not Active, or
    /// its bonded stake is below the minimum).
    error NodeNotEligible(address node);
    /// @notice Raised by `openLease` when the node's owner has set no price (or withdrew the
    /// offer).
    error NoPrice(address node);
    /// @notice Raised by `openLease` when the node's price is above the customer's `maxPrice`.
    error PriceAboveMax(address node, uint256 price, uint256 maxPrice);
    /// @notice Raised by `openLease` when the node's region (`nodeRegion`) is not the one the
    /// customer `requested`.
    error RegionMismatch(address node, uint16 nodeRegion, uint16 requested);
    /// @notice Raised by `openLease` for zero or more than MAX_LEASE_EPOCHS epochs, and by
    /// `extendLease` for zero epochs or when the lease would exceed MAX_LEASE_EPOCHS epochs in all.
    error InvalidDuration(uint256 epochs);
    /// @notice Raised by `openLease` when a storage lease has a zero data root, a zero size or a
    /// size above the node's capacity, or when a lease on another kind of node carries a data root
    /// or size.
    error InvalidStorageTerms(bytes32 dataRoot, uint64 dataSize);
    /// @notice Raised by `extendLease`, `settle`, `closeLease` and `confirmData` for a lease id
    /// never opened.
    error UnknownLease(uint256 leaseId);
    /// @notice Raised by `extendLease` and `closeLease` when the caller is not the lease's
    /// customer.
    error NotCustomer(uint256 leaseId, address caller);
    /// @notice Raised by `extendLease` and `closeLease` on a lease already closed.
    error LeaseClosed(uint256 leaseId);
    /// @notice Raised by `extendLease` when the lease's last epoch has ended (`endEpoch`,
    /// exclusive, is at or before the current epoch).
    error LeaseEnded(uint256 leaseId, uint64 endEpoch);
    /// @notice Raised by `extendLease` when the node's price is no longer the lease's: an
    /// extension is at the lease's price only while the provider still asks it (else the
    /// customer opens a new lease at the new price).
    error PriceChanged(uint256 leaseId, uint256 leasePrice, uint256 currentPrice);
    /// @notice Raised by `finalizeDemand` for an epoch that has not ended.
    error EpochNotEnded(uint64 epoch, uint64 currentEpoch);
    /// @notice Raised by `finalizeDemand` for an epoch below the last one finalized
    /// (`finalizedThrough`).
    error DemandAlreadyFinalized(uint64 epoch, uint64 finalizedThrough);
    /// @notice Raised by `setPrice` for a price of 2^128 or more ("price"), and at deployment and
    /// by `setFee` for a fee above 2,000 bps ("feeBps").
    error InvalidParameter(bytes32 name, uint256 value);
    /// @notice `confirmData` for a lease that carries no data (a compute or wireless lease).
    error NotStorageLease(uint256 leaseId);
    /// @notice `confirmData` for a lease whose receipt is already recorded (each is recorded once).
    error DataAlreadyConfirmed(uint256 leaseId);
    /// @notice The receipt is not the lease's node's signature of its DataReceipt (`recovered`
    /// is who signed it, zero when the signature is malformed).
    error InvalidDataReceipt(uint256 leaseId, address recovered);

    /// @notice Emitted by `setPrice`; a price of 0 withdraws the offer.
    event PriceSet(address indexed node, uint256 pricePerEpoch);
    /// @notice Emitted by `openLease`.
    /// @param region The node's region, as the customer required it.
    /// @param startEpoch The lease's first epoch (the epoch after the one it was opened in).
    /// @param endEpoch The first epoch after the lease (exclusive end).
    /// @param pricePerEpoch The node's price when the lease opened, fixed for the lease.
    /// @param dataRoot Storage leases: the Merkle root of the data chunks; zero otherwise.
    /// @param dataSize Storage leases: the data size in bytes; zero otherwise.
    event LeaseOpened(
        uint256 indexed leaseId,
        address indexed customer,
        address indexed node,
        uint16 region,
        uint64 startEpoch,
        uint64 endEpoch,
        uint256 pricePerEpoch,
        bytes32 dataRoot,
        uint64 dataSize
    );
    /// @notice Emitted by `extendLease`.
    /// @param endEpoch The new exclusive end.
    /// @param paid The amount the customer escrowed for the added epochs.
    event LeaseExtended(uint256 indexed leaseId, uint64 endEpoch, uint256 paid);
    /// @notice Emitted by `settle` and `closeLease` when they pay at least one ended epoch.
    /// @param paidThrough The first epoch not yet paid.
    /// @param toProvider The amount paid to the node's owner.
    /// @param fee The protocol fee paid to the treasury.
    event LeaseSettled(uint256 indexed leaseId, uint64 paidThrough, uint256 toProvider, uint256 fee);
    /// @notice Emitted by `settle` and `closeLease` when epochs they settle were failed by the
    /// node (as the oracle hub recorded): `epochs` epochs, `refund` returned to the customer.
    event LeaseRefunded(uint256 indexed leaseId, uint64 epochs, uint256 refund);
    /// @notice Emitted by `recordFailures`: `count` leased nodes failed `epoch`.
    event FailuresRecorded(uint64 indexed epoch, uint256 count);
    /// @notice Emitted by `closeLease`; `refund` is the escrow of the epochs that had not started,
    /// returned to the customer (zero if none).
    event LeaseTerminated(uint256 indexed leaseId, uint256 refund);
    /// @notice Emitted by `finalizeDemand` when it finalizes new epochs, through `epoch`; `demand`
    /// is `epoch`'s.
    event DemandFinalized(uint64 indexed epoch, uint256 demand);
    /// @notice Emitted at deployment and by `setFee`.
    event FeeSet(uint16 feeBps);
    /// @notice Emitted at deployment and by `setTreasury`.
    event TreasurySet(address treasury);
    /// @notice Emitted once, by `setEmissionsController`.
    event EmissionsControllerSet(address emissions);
    /// @notice The node's receipt for the lease's data was recorded: it holds the data.
    event DataConfirmed(uint256 indexed leaseId, address indexed node);

    /// @notice Storage data is split into chunks of this many bytes (the last zero-padded).
    function CHUNK_SIZE() external view returns (uint256);

    /// @notice Sets `node`'s price per epoch (0 withdraws the offer). Node owner only.
    function setPrice(address node, uint256 pricePerEpoch) external;

    /// @notice Opens a lease of `epochs` epochs from the next epoch, escrowing price * epochs.
    /// @param region The region the customer requires; the node must be in it.
    /// @param maxPricePerEpoch Reverts if the provider's price is higher (front-running guard).
    /// @param dataRoot Storage leases: Merkle root of the data chunks; otherwise zero.
    /// @param dataSize Storage leases: data size in bytes (<= node capacity); otherwise zero.
    function openLease(
        address node,
        uint16 region,
        uint64 epochs,
        uint256 maxPricePerEpoch,
        bytes32 dataRoot,
        uint64 dataSize
    ) external returns (uint256 leaseId);

    /// @notice Extends an open lease by `epochs` at its price and fee. Customer only; the node
    /// must still be eligible (NodeNotEligible: an exited or jailed node takes no more epochs)
    /// and still ask the lease's price (PriceChanged).
    function extendLease(uint256 leaseId, uint64 epochs) external;

    /// @notice Settles every epoch not yet paid that the oracle hub has settled (an epoch not yet
    /// reported stays in escrow): pays the provider for each the node passed and refunds the
    /// customer for each the hub recorded it failed. Anyone. O(1) per 256 epochs settled.
    function settle(uint256 leaseId) external returns (uint256 toProvider);

    /// @notice Records that `nodes` failed `epoch` (from the oracle hub's report): their leases'
    /// customers are refunded for it at settlement. Oracle hub only.
    /// It has the power to mark any node as failed in any epoch it settles, which moves that
    /// epoch's price of the node's leases from its provider to its customers; it cannot move
    /// funds itself or touch an epoch already paid.
    function recordFailures(uint64 epoch, address[] calldata nodes) external;

    /// @notice Whether the oracle hub recorded that `node` failed `epoch`.
    function failedIn(address node, uint64 epoch) external view returns (bool);

    /// @notice Settles, then refunds every epoch that has not started. Customer only. Works
    /// while the marketplace is paused: the provider is then paid only up to the epoch the
    /// pause began in, and the customer gets back every epoch from it on (no charge for epochs
    /// served while paused; their demand, already final, still counts).
    function closeLease(uint256 leaseId) external returns (uint256 refund);

    /// @notice Makes the demand of every epoch up to `epoch` final and returns `epoch`'s.
    /// `epoch` must have ended and not be below the last finalized one. Emissions controller
    /// only (it finalizes in the order it mints).
    /// It has the power to move the finalization cursor forward to any ended epoch; it cannot
    /// change any epoch's demand (fixed once the epoch has started) or move funds.
    function finalizeDemand(uint64 epoch) external returns (uint256 demand);

    /// @notice Customer payments committed to `epoch` (final once the epoch has started).
    function demandOf(uint64 epoch) external view returns (uint256);

    /// @notice Records the node's receipt for a storage lease's data: its EIP-712 signature of
    /// DataReceipt(leaseId, node, dataRoot, dataSize) under this contract's domain ("Plinth
    /// Marketplace", "1"). Anyone may send it (the signature is the node's; each lease once).
    /// From then on a refused audit of the lease is a storage failure, not "no data".
    function confirmData(uint256 leaseId, bytes calldata nodeSignature) external;

    /// @notice The EIP-712 digest the node signs for `confirmData`.
    function dataReceiptDigest(uint256 leaseId) external view returns (bytes32);

    /// @notice Whether the node's receipt for the lease's data is recorded.
    function dataConfirmed(uint256 leaseId) external view returns (bool);

    function getLease(uint256 leaseId) external view returns (Lease memory);
    function leaseCount() external view returns (uint256);
    function priceOf(address node) external view returns (uint256);
    function escrowOf(uint256 leaseId) external view returns (uint256);
    function feeBps() external view returns (uint16);
    function treasury() external view returns (address);
    /// @notice The last epoch whose demand is final.
    function demandFinalizedThrough() external view returns (uint64);
}
