// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Governed} from "./base/Governed.sol";
import {EpochClock} from "./base/EpochClock.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IEmissionsController} from "../interfaces/IEmissionsController.sol";
import {IOracleHub} from "../interfaces/IOracleHub.sol";

/// @title Marketplace
/// @notice Leases with escrow, epoch-by-epoch payment to providers, refunds, and on-chain
/// demand per epoch for the emissions controller.
///
/// Demand bookkeeping. Let d(e) be the customer payments committed to epoch e. A lease of price
/// p over epochs [s, t) adds p to d(s..t-1); kept as a difference array: delta[s] += p,
/// delta[t] -= p, so d(e) = sum of delta[k] for k <= e. Leases only ever change deltas at
/// indices > currentEpoch (they start next epoch; extensions and refunds touch future epochs
/// only), so once epoch e has started, d(e) is final. `finalizeDemand` walks the cursor forward
/// once per epoch the emissions controller mints; no loop runs over leases.
///
/// Data receipts. A storage node signs an EIP-712 DataReceipt(leaseId, node, dataRoot,
/// dataSize) when it has stored a lease's data (the reference agent returns it from the upload);
/// anyone (the customer, typically) records it with `confirmData`. From then on the node cannot
/// say it never had the data: the oracle treats a refused audit of that lease as a storage
/// failure (slashable, disputable with the chunk like any other).
contract Marketplace is IMarketplace, Governed, EpochClock, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants
    /// @inheritdoc IMarketplace
    uint256 public constant CHUNK_SIZE = 1024;
    uint64 public constant MAX_LEASE_EPOCHS = 100_000;
    uint16 private constant _MAX_FEE_BPS = 2_000;
    /// @notice EIP-712 type of a node's receipt for a lease's data.
    bytes32 public constant DATA_RECEIPT_TYPEHASH =
        keccak256("DataReceipt(uint256 leaseId,address node,bytes32 dataRoot,uint64 dataSize)");

    // ---------------------------------------------------------------- storage
    IERC20 private immutable _token;
    INodeRegistry private immutable _registry;
    address private _treasury;
    uint16 private _feeBps;
    address private _emissions;
    uint64 private _demandCursor;
    uint256 private _demandAtCursor;
    uint256 private _leaseCount;
    mapping(address node => uint256) private _price;
    mapping(uint256 leaseId => Lease) private _leases;
    mapping(uint64 epoch => int256) private _demandDelta;
    mapping(uint256 leaseId => bool) private _dataConfirmed;
    /// @dev The epoch the current pause began in (meaningful only while paused).
    uint64 private _pausedEpoch;
    /// @dev Bit (epoch % 256) of word (epoch / 256): the hub recorded that the node failed.
    mapping(address node => mapping(uint256 word => uint256 bits)) private _failedBits;

    // ---------------------------------------------------------------- constructor
    constructor(
        address initialOwner,
        address initialGuardian,
        IERC20 token_,
        INodeRegistry registry_,
        address treasury_,
        uint16 feeBps_,
        uint64 genesis_,
        uint64 epochDuration_
    )
        Governed(initialOwner, initialGuardian)
        EpochClock(genesis_, epochDuration_)
        EIP712("Plinth Marketplace", "1")
    {
        if (address(token_) == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        _token = token_;
        _registry = registry_;
        _setTreasury(treasury_);
        _setFee(feeBps_);
        _demandCursor = currentEpoch();
    }

    // ---------------------------------------------------------------- external: providers
    /// @inheritdoc IMarketplace
    function setPrice(address node, uint256 pricePerEpoch) external whenNotPaused {
        if (_registry.ownerOf(node) != msg.sender) revert NotNodeOwner(node, msg.sender);
        if (pricePerEpoch > type(uint128).max) revert InvalidParameter("price", pricePerEpoch);
        _price[node] = pricePerEpoch;
        emit PriceSet(node, pricePerEpoch);
    }

    // ---------------------------------------------------------------- external: customers
    /// @inheritdoc IMarketplace
    function openLease(
        address node,
        uint16 region,
        uint64 epochs,
        uint256 maxPricePerEpoch,
        bytes32 dataRoot,
        uint64 dataSize
    ) external nonReentrant whenNotPaused returns (uint256 leaseId) {
        if (epochs == 0 || epochs > MAX_LEASE_EPOCHS) revert InvalidDuration(epochs);
        if (!_registry.isEligible(node)) revert NodeNotEligible(node);
        uint256 price = _price[node];
        if (price == 0) revert NoPrice(node);
        if (price > maxPricePerEpoch) revert PriceAboveMax(node, price, maxPricePerEpoch);
        INodeRegistry.Node memory n = _registry.getNode(node);
        if (n.region != region) revert RegionMismatch(node, n.region, region);
        if (n.kind == INodeRegistry.NodeKind.Storage) {
            if (dataRoot == bytes32(0) || dataSize == 0 || dataSize > n.hardware.capacityBytes) {
                revert InvalidStorageTerms(dataRoot, dataSize);
            }
        } else if (dataRoot != bytes32(0) || dataSize != 0) {
            revert InvalidStorageTerms(dataRoot, dataSize);
        }

        uint64 start = currentEpoch() + 1;
        uint64 end = start + epochs;
        uint256 cost = price * epochs;
        leaseId = ++_leaseCount;
        _leases[leaseId] = Lease({
            customer: msg.sender,
            node: node,
            region: region,
            startEpoch: start,
            endEpoch: end,
            paidThrough: start,
            closed: false,
            pricePerEpoch: uint128(price),
            feeBps: _feeBps,
            dataRoot: dataRoot,
            dataSize: dataSize
        });
        _addDemand(start, end, price);
        emit LeaseOpened(leaseId, msg.sender, node, region, start, end, price, dataRoot, dataSize);
        _token.safeTransferFrom(msg.sender, address(this), cost);
    }

    /// @inheritdoc IMarketplace
    function extendLease(uint256 leaseId, uint64 epochs) external nonReentrant whenNotPaused {
        Lease storage l = _customerLease(leaseId);
        uint64 end = l.endEpoch;
        if (end <= currentEpoch()) revert LeaseEnded(leaseId, end);
        address node = l.node;
        if (!_registry.isEligible(node)) revert NodeNotEligible(node);
        if (_price[node] != l.pricePerEpoch) revert PriceChanged(leaseId, l.pricePerEpoch, _price[node]);
        // end - startEpoch <= MAX_LEASE_EPOCHS always holds, so this cannot underflow, and unlike
        // end + epochs it cannot overflow (a huge `epochs` reverts with its own error, not a panic).
        if (epochs == 0 || epochs > MAX_LEASE_EPOCHS - (end - l.startEpoch)) revert InvalidDuration(epochs);
        uint256 price = l.pricePerEpoch;
        uint64 newEnd = end + epochs;
        uint256 cost = price * epochs;
        l.endEpoch = newEnd;
        _addDemand(end, newEnd, price);
        emit LeaseExtended(leaseId, newEnd, cost);
        _token.safeTransferFrom(msg.sender, address(this), cost);
    }

    /// @inheritdoc IMarketplace
    function settle(uint256 leaseId) external nonReentrant whenNotPaused returns (uint256 toProvider) {
        if (_leases[leaseId].customer == address(0)) revert UnknownLease(leaseId);
        toProvider = _settle(leaseId);
    }

    /// @inheritdoc IMarketplace
    function closeLease(uint256 leaseId) external nonReentrant returns (uint256 refund) {
        Lease storage l = _customerLease(leaseId);
        uint64 current = currentEpoch();
        uint64 next = current + 1;
        // While paused, nothing from the pause's epoch on is paid to the provider: it is refunded.
        bool isPaused = paused();
        _settleUpTo(leaseId, isPaused ? _pausedEpoch : current);
        uint64 from = isPaused ? _pausedEpoch : next;
        uint64 end = l.endEpoch;
        l.closed = true;
        uint64 refundFrom = from > l.paidThrough ? from : l.paidThrough;
        if (end > refundFrom) {
            uint256 price = l.pricePerEpoch;
            refund = price * (end - refundFrom);
            l.endEpoch = refundFrom;
            // Demand moves only for epochs not started (those before are final).
            if (end > next) _removeDemand(refundFrom > next ? refundFrom : next, end, price);
        }
        emit LeaseTerminated(leaseId, refund);
        if (refund > 0) _token.safeTransfer(msg.sender, refund);
    }

    // ---------------------------------------------------------------- external: oracle hub
    /// @inheritdoc IMarketplace
    function recordFailures(uint64 epoch, address[] calldata nodes) external {
        _only(_oracleHub());
        uint256 word = epoch >> 8;
        uint256 bit = 1 << (epoch & 255);
        // Bounded: the hub sends at most MAX_FAILED_NODES.
        for (uint256 i; i < nodes.length; ++i) {
            _failedBits[nodes[i]][word] |= bit;
        }
        emit FailuresRecorded(epoch, nodes.length);
    }

    // ---------------------------------------------------------------- external: emissions
    /// @inheritdoc IMarketplace
    function finalizeDemand(uint64 epoch) external returns (uint256 demand) {
        _only(_emissions);
        uint64 current = currentEpoch();
        if (epoch >= current) revert EpochNotEnded(epoch, current);
        uint64 cursor = _demandCursor;
        if (epoch < cursor) revert DemandAlreadyFinalized(epoch, cursor);
        demand = _demandAtCursor;
        if (epoch == cursor) return demand;
        int256 running = int256(demand);
        // One iteration per epoch since the last finalization (the oracle hub bounds the gap).
        for (uint64 k = cursor + 1; k <= epoch; ++k) {
            running += _demandDelta[k];
        }
        demand = uint256(running);
        _demandCursor = epoch;
        _demandAtCursor = demand;
        emit DemandFinalized(epoch, demand);
    }

    // ---------------------------------------------------------------- external: owner
    /// @notice Sets the protocol fee. Owner only.
    /// It has the power to set the share of every settlement paid to the treasury, from 0 to 2,000
    /// bps (20 %); it cannot change lease prices or escrows.
    /// @dev Warning: the fee applies at each settlement, so a new fee also applies to the unpaid
    /// epochs of leases already open, including epochs that ended before the change.
    function setFee(uint16 feeBps_) external onlyOwner {
        _setFee(feeBps_);
    }

    /// @notice Sets the treasury. Owner only.
    /// It has the power to send the fee of every later settlement to any non-zero address; fees
    /// already paid stay where they went.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Wires the emissions controller, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the only contract that can finalize demand (`finalizeDemand`). It
    /// must run on this contract's clock (ClockMismatch) and cannot be changed once set
    /// (AlreadySet).
    /// @dev The clock check calls the controller first, so the zero address or an account without
    /// code reverts there, without an error, rather than with ZeroAddress.
    function setEmissionsController(address emissions) external onlyWiring {
        _checkSameClock(EpochClock(emissions));
        _emissions = _setOnce(_emissions, emissions);
        emit EmissionsControllerSet(emissions);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IMarketplace
    function demandOf(uint64 epoch) external view returns (uint256) {
        uint64 cursor = _demandCursor;
        int256 running = int256(_demandAtCursor);
        // d(e) = d(cursor) + sum of delta(cursor, e] going forward, or minus sum of
        // delta(e, cursor] going back: either way only the epochs between e and the cursor.
        if (epoch >= cursor) {
            for (uint64 k = cursor + 1; k <= epoch; ++k) {
                running += _demandDelta[k];
            }
        } else {
            for (uint64 k = cursor; k > epoch; --k) {
                running -= _demandDelta[k];
            }
        }
        return uint256(running);
    }

    /// @inheritdoc IMarketplace
    function failedIn(address node, uint64 epoch) external view returns (bool) {
        return _failedBits[node][epoch >> 8] & (1 << (epoch & 255)) != 0;
    }

    /// @inheritdoc IMarketplace
    function demandFinalizedThrough() external view returns (uint64) {
        return _demandCursor;
    }

    /// @inheritdoc IMarketplace
    function confirmData(uint256 leaseId, bytes calldata nodeSignature) external {
        Lease storage l = _leases[leaseId];
        if (l.customer == address(0)) revert UnknownLease(leaseId);
        if (l.dataRoot == bytes32(0)) revert NotStorageLease(leaseId);
        if (_dataConfirmed[leaseId]) revert DataAlreadyConfirmed(leaseId);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(dataReceiptDigest(leaseId), nodeSignature);
        if (err != ECDSA.RecoverError.NoError || recovered != l.node) revert InvalidDataReceipt(leaseId, recovered);
        _dataConfirmed[leaseId] = true;
        emit DataConfirmed(leaseId, l.node);
    }

    /// @inheritdoc IMarketplace
    function dataReceiptDigest(uint256 leaseId) public view returns (bytes32) {
        Lease storage l = _leases[leaseId];
        return _hashTypedDataV4(
            keccak256(abi.encode(DATA_RECEIPT_TYPEHASH, leaseId, l.node, l.dataRoot, l.dataSize))
        );
    }

    /// @inheritdoc IMarketplace
    function dataConfirmed(uint256 leaseId) external view returns (bool) {
        return _dataConfirmed[leaseId];
    }

    /// @inheritdoc IMarketplace
    function getLease(uint256 leaseId) external view returns (Lease memory) {
        return _leases[leaseId];
    }

    /// @inheritdoc IMarketplace
    function leaseCount() external view returns (uint256) {
        return _leaseCount;
    }

    /// @inheritdoc IMarketplace
    function priceOf(address node) external view returns (uint256) {
        return _price[node];
    }

    /// @inheritdoc IMarketplace
    function escrowOf(uint256 leaseId) external view returns (uint256) {
        Lease storage l = _leases[leaseId];
        return uint256(l.pricePerEpoch) * (l.endEpoch - l.paidThrough);
    }

    /// @inheritdoc IMarketplace
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @inheritdoc IMarketplace
    function treasury() external view returns (address) {
        return _treasury;
    }

    function emissionsController() external view returns (address) {
        return _emissions;
    }

    // ---------------------------------------------------------------- internal
    function _customerLease(uint256 leaseId) private view returns (Lease storage l) {
        l = _leases[leaseId];
        if (l.customer == address(0)) revert UnknownLease(leaseId);
        if (l.customer != msg.sender) revert NotCustomer(leaseId, msg.sender);
        if (l.closed) revert LeaseClosed(leaseId);
    }

    /// @dev Pays every ended, unpaid epoch: to the node's owner, less the fee to the treasury.
    function _settle(uint256 leaseId) private returns (uint256 toProvider) {
        return _settleUpTo(leaseId, currentEpoch());
    }

    /// @dev Settles the unpaid epochs before min(`limit`, the lease's end, the first epoch the
    /// hub has not settled): the provider is paid (at the lease's fee) for those the node passed,
    /// the customer refunded for those the hub recorded it failed.
    function _settleUpTo(uint256 leaseId, uint64 limit) private returns (uint256 toProvider) {
        Lease storage l = _leases[leaseId];
        uint64 upTo = l.endEpoch < limit ? l.endEpoch : limit;
        uint64 paid = l.paidThrough;
        if (upTo <= paid) return 0;
        uint64 settled = IOracleHub(_oracleHub()).nextEpoch();
        if (upTo > settled) upTo = settled;
        if (upTo <= paid) return 0;
        uint64 failed = _failedCount(l.node, paid, upTo);
        uint256 price = l.pricePerEpoch;
        uint256 refund = price * failed;
        uint256 amount = price * (upTo - paid - failed);
        uint256 fee = amount * l.feeBps / 10_000;
        toProvider = amount - fee;
        l.paidThrough = upTo;
        emit LeaseSettled(leaseId, upTo, toProvider, fee);
        if (failed > 0) emit LeaseRefunded(leaseId, failed, refund);
        if (fee > 0) _token.safeTransfer(_treasury, fee);
        if (toProvider > 0) _token.safeTransfer(_registry.ownerOf(l.node), toProvider);
        if (refund > 0) _token.safeTransfer(l.customer, refund);
    }

    /// @dev How many epochs in [from, to) the hub recorded `node` failed: one storage read per
    /// 256 epochs, and a step per failure found.
    function _failedCount(address node, uint64 from, uint64 to) private view returns (uint64 count) {
        mapping(uint256 => uint256) storage bits = _failedBits[node];
        for (uint256 word = from >> 8; word <= (uint256(to) - 1) >> 8; ++word) {
            uint256 x = bits[word];
            if (x == 0) continue;
            uint256 lo = word << 8;
            // Keep the bits of epochs in [from, to) only.
            if (from > lo) x &= type(uint256).max << (from - lo);
            if (to < lo + 256) x &= (uint256(1) << (to - lo)) - 1;
            while (x != 0) {
                x &= x - 1;
                ++count;
            }
        }
    }

    /// @dev The oracle hub (through the emissions controller's wiring): its nextEpoch bounds
    /// what settlement pays, and only it records failures.
    function _oracleHub() private view returns (address) {
        return IEmissionsController(_emissions).oracleHub();
    }

    function _addDemand(uint64 from, uint64 to, uint256 price) private {
        _demandDelta[from] += int256(price);
        _demandDelta[to] -= int256(price);
    }

    function _removeDemand(uint64 from, uint64 to, uint256 price) private {
        _demandDelta[from] -= int256(price);
        _demandDelta[to] += int256(price);
    }

    /// @dev Remembers the epoch a pause began in (closeLease refunds from it).
    function _pause() internal override {
        _pausedEpoch = currentEpoch();
        super._pause();
    }

    function _setFee(uint16 feeBps_) private {
        if (feeBps_ > _MAX_FEE_BPS) revert InvalidParameter("feeBps", feeBps_);
        _feeBps = feeBps_;
        emit FeeSet(feeBps_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
