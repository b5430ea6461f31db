// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Governed} from "./base/Governed.sol";
import {ISlashingManager} from "../interfaces/ISlashingManager.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IMarketplace} from "../interfaces/IMarketplace.sol";
import {IPlinthToken} from "../interfaces/IPlinthToken.sol";

/// @title SlashingManager
/// @notice Pending slashes from accepted reports, a dispute window, then burn + treasury.
/// @dev Loops run only over the slashes of one report (bounded by the hub) and over one
/// Merkle proof (bounded by its depth).
contract SlashingManager is ISlashingManager, Governed, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants
    uint16 private constant _BPS = 10_000;
    uint64 private constant _MAX_WINDOW = 30 days;
    /// @inheritdoc ISlashingManager
    uint64 public constant MIN_DISPUTE_WINDOW = 60;
    /// @inheritdoc ISlashingManager
    uint16 public constant MIN_BURN_BPS = 5_000;
    uint8 private constant _REASONS = 5;

    // ---------------------------------------------------------------- storage
    IPlinthToken private immutable _token;
    IStakingVault private immutable _vault;
    INodeRegistry private immutable _registry;
    IMarketplace private immutable _marketplace;
    address private _hub;
    address private _treasury;
    uint64 private _disputeWindow;
    uint16 private _burnBps;
    uint256 private _slashCount;
    mapping(SlashReason reason => uint16) private _penaltyBps;
    mapping(uint256 slashId => PendingSlash) private _slashes;
    /// @dev A node's queued, unsettled slashes: how many and their sum (one slot).
    struct Pending {
        uint64 count;
        uint192 amount;
    }

    mapping(address node => Pending) private _pendingOf;

    // ---------------------------------------------------------------- constructor
    constructor(
        address initialOwner,
        address initialGuardian,
        IPlinthToken token_,
        IStakingVault vault_,
        INodeRegistry registry_,
        IMarketplace marketplace_,
        address treasury_,
        uint64 disputeWindow_,
        uint16 burnBps_,
        uint16[5] memory penalties
    ) Governed(initialOwner, initialGuardian) {
        if (
            address(token_) == address(0) || address(vault_) == address(0) || address(registry_) == address(0)
                || address(marketplace_) == address(0)
        ) revert ZeroAddress();
        _token = token_;
        _vault = vault_;
        _registry = registry_;
        _marketplace = marketplace_;
        _setTreasury(treasury_);
        _setDisputeWindow(disputeWindow_);
        _setBurnShare(burnBps_);
        for (uint8 i; i < _REASONS; ++i) {
            _setPenalty(SlashReason(i + 1), penalties[i]);
        }
    }

    // ---------------------------------------------------------------- external: oracle hub
    /// @inheritdoc ISlashingManager
    function queueSlashes(uint64 epoch, SlashRequest[] calldata slashes) external {
        _only(_hub);
        uint64 executableAt = uint64(block.timestamp) + _disputeWindow;
        uint256 id = _slashCount;
        for (uint256 i; i < slashes.length; ++i) {
            SlashRequest calldata r = slashes[i];
            if (r.reason == 0 || r.reason > _REASONS) revert InvalidReason(r.reason);
            if (_registry.ownerOf(r.node) == address(0)) revert UnknownNode(r.node);
            SlashReason reason = SlashReason(r.reason);
            ++id;
            if (reason == SlashReason.StorageAuditFailed) _checkStorageSlash(id, r);
            // Sized on the stake left after the node's pending slashes (two 10 % slashes take
            // 19 %, not 20 %). Cannot overflow 128 bits: a penalty is at most half of a stake
            // held in uint128.
            uint128 amount = _reserve(r.node, _penaltyBps[reason]);
            _slashes[id] = PendingSlash({
                node: r.node,
                reason: reason,
                status: SlashStatus.Pending,
                executableAt: executableAt,
                amount: amount,
                leaseId: uint64(r.leaseId),
                chunkIndex: r.chunkIndex
            });
            emit SlashQueued(id, r.node, epoch, reason, amount, r.evidence, executableAt);
        }
        _slashCount = id;
    }

    // ---------------------------------------------------------------- external: anyone
    /// @inheritdoc ISlashingManager
    function executeSlash(uint256 slashId) external nonReentrant whenNotPaused {
        PendingSlash storage s = _pending(slashId);
        if (block.timestamp < s.executableAt) revert DisputeWindowOpen(slashId, s.executableAt);
        address node = s.node;
        s.status = SlashStatus.Executed;
        _release(node, s.amount);

        uint256 slashed = _vault.slash(node, s.amount);
        uint256 burned = slashed * _burnBps / _BPS;
        uint256 toTreasury = slashed - burned;
        emit SlashExecuted(slashId, node, slashed, burned, toTreasury);
        _registry.recordFault(node);
        if (burned > 0) _token.burn(burned);
        if (toTreasury > 0) IERC20(address(_token)).safeTransfer(_treasury, toTreasury);
    }

    /// @inheritdoc ISlashingManager
    function disputeStorageSlash(uint256 slashId, bytes calldata chunk, bytes32[] calldata proof)
        external
        nonReentrant
    {
        PendingSlash storage s = _pending(slashId);
        if (s.reason != SlashReason.StorageAuditFailed) revert NotDisputable(slashId, s.reason);
        if (block.timestamp >= s.executableAt) revert DisputeWindowClosed(slashId, s.executableAt);
        IMarketplace.Lease memory lease = _marketplace.getLease(s.leaseId);
        if (!_verifyChunk(lease, s.chunkIndex, chunk, proof)) revert InvalidChunkProof(slashId);
        s.status = SlashStatus.Disputed;
        _release(s.node, s.amount);
        emit SlashDisputed(slashId, s.node, msg.sender);
    }

    // ---------------------------------------------------------------- external: owner
    /// @inheritdoc ISlashingManager
    function cancelSlash(uint256 slashId) external onlyOwner {
        PendingSlash storage s = _pending(slashId);
        s.status = SlashStatus.Cancelled;
        _release(s.node, s.amount);
        emit SlashCancelled(slashId, s.node);
    }

    /// @notice Sets the penalty of a slash reason. Owner only.
    /// It has the power to set the share of slashable stake a slash for `reason` takes, from 0 to
    /// `maxPenaltyBps(reason)` (Offline 5 %, MissedDeadline 10 %, the others 25 %), for slashes
    /// queued from then on; slashes already queued keep their amount.
    /// @dev Warning: a penalty of 0 does not stop slashes for that reason: they still queue
    /// (blocking the node's withdrawals until executed) and count a fault when executed.
    function setPenalty(SlashReason reason, uint16 bps) external onlyOwner {
        _setPenalty(reason, bps);
    }

    /// @notice Sets the dispute window. Owner only.
    /// It has the power to set the delay between a slash being queued and its execution, from
    /// MIN_DISPUTE_WINDOW (60 s) to 30 days, for slashes queued from then on; pending slashes keep
    /// their `executableAt`. (A node cannot withdraw while a slash of it is pending, nor stake
    /// released in an epoch the hub has not settled, whatever the window.)
    function setDisputeWindow(uint64 window) external onlyOwner {
        _setDisputeWindow(window);
    }

    /// @notice Sets the burned share of each slash. Owner only.
    /// It has the power to set the share of slashed stake burned, from MIN_BURN_BPS (5,000) to
    /// 10,000 bps, the rest
    /// going to the treasury; it applies to every slash executed from then on, pending ones
    /// included.
    function setBurnShare(uint16 bps) external onlyOwner {
        _setBurnShare(bps);
    }

    /// @notice Sets the treasury. Owner only.
    /// It has the power to send the unburned share of every slash executed from then on to any
    /// non-zero address.
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Wires the oracle hub, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the only contract that can queue slashes (`queueSlashes`), whose
    /// settled epochs also gate the vault's withdrawals; it cannot be the zero address or be
    /// changed once set (AlreadySet).
    function setOracleHub(address hub) external onlyWiring {
        _hub = _setOnce(_hub, hub);
        emit OracleHubSet(hub);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc ISlashingManager
    function getSlash(uint256 slashId) external view returns (PendingSlash memory) {
        return _slashes[slashId];
    }

    /// @inheritdoc ISlashingManager
    function slashCount() external view returns (uint256) {
        return _slashCount;
    }

    /// @inheritdoc ISlashingManager
    function pendingSlashCount(address node) external view returns (uint256) {
        return _pendingOf[node].count;
    }

    /// @inheritdoc ISlashingManager
    function penaltyBps(SlashReason reason) external view returns (uint16) {
        return _penaltyBps[reason];
    }

    /// @inheritdoc ISlashingManager
    function maxPenaltyBps(SlashReason reason) public pure returns (uint16) {
        // A fault that can be an accident (offline, late) costs little; a proven lie more.
        if (reason == SlashReason.Offline) return 500;
        if (reason == SlashReason.MissedDeadline) return 1_000;
        if (reason == SlashReason.None) return 0;
        return 2_500;
    }

    /// @inheritdoc ISlashingManager
    function disputeWindow() external view returns (uint64) {
        return _disputeWindow;
    }

    /// @inheritdoc ISlashingManager
    function chunkLeaf(uint256 index, bytes calldata chunk) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(index, chunk));
    }

    function burnShareBps() external view returns (uint16) {
        return _burnBps;
    }

    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc ISlashingManager
    function oracleHub() external view returns (address) {
        return _hub;
    }

    /// @inheritdoc ISlashingManager
    function pendingSlashAmount(address node) external view returns (uint256) {
        return _pendingOf[node].amount;
    }

    // ---------------------------------------------------------------- internal
    /// @dev The slash of `bps` of what the node's pending slashes leave of its slashable stake,
    /// added to them.
    function _reserve(address node, uint16 bps) private returns (uint128 amount) {
        uint256 slashable = _vault.slashableOf(node);
        Pending storage pending = _pendingOf[node];
        uint256 reserved = pending.amount;
        uint256 base = slashable > reserved ? slashable - reserved : 0;
        amount = uint128(base * bps / _BPS);
        // Cannot overflow: the sum stays below the node's stake, held in uint128.
        pending.amount = uint192(reserved + amount);
        ++pending.count;
    }

    function _release(address node, uint128 amount) private {
        Pending storage pending = _pendingOf[node];
        --pending.count;
        pending.amount -= amount;
    }

    function _pending(uint256 slashId) private view returns (PendingSlash storage s) {
        s = _slashes[slashId];
        if (s.status == SlashStatus.None) revert UnknownSlash(slashId);
        if (s.status != SlashStatus.Pending) revert NotPending(slashId, s.status);
    }

    /// @dev A storage slash must be disputable: a lease of this node, a chunk inside its data.
    function _checkStorageSlash(uint256 slashId, SlashRequest calldata r) private view {
        if (r.leaseId > type(uint64).max) revert LeaseMismatch(slashId, r.leaseId);
        IMarketplace.Lease memory lease = _marketplace.getLease(r.leaseId);
        if (lease.node != r.node) revert LeaseMismatch(slashId, r.leaseId);
        uint256 chunks = _chunkCount(lease.dataSize);
        if (r.chunkIndex >= chunks) revert ChunkOutOfRange(slashId, r.chunkIndex, chunks);
    }

    function _chunkCount(uint64 dataSize) private view returns (uint256) {
        uint256 chunkSize = _marketplace.CHUNK_SIZE();
        return (uint256(dataSize) + chunkSize - 1) / chunkSize;
    }

    /// @dev Positional Merkle proof of chunk `index` against the lease's data root. The tree
    /// has ceil(size / CHUNK_SIZE) leaves padded with zero hashes to a power of two.
    function _verifyChunk(IMarketplace.Lease memory lease, uint256 index, bytes calldata chunk, bytes32[] calldata proof)
        private
        view
        returns (bool)
    {
        uint256 chunks = _chunkCount(lease.dataSize);
        if (chunk.length != _marketplace.CHUNK_SIZE() || index >= chunks) return false;
        uint256 depth;
        while ((uint256(1) << depth) < chunks) ++depth;
        if (proof.length != depth) return false;
        bytes32 h = chunkLeaf(index, chunk);
        for (uint256 i; i < depth; ++i) {
            h = (index >> i) & 1 == 0
                ? keccak256(abi.encodePacked(h, proof[i]))
                : keccak256(abi.encodePacked(proof[i], h));
        }
        return h == lease.dataRoot;
    }

    function _setPenalty(SlashReason reason, uint16 bps) private {
        if (reason == SlashReason.None || bps > maxPenaltyBps(reason)) revert InvalidParameter("penaltyBps", bps);
        _penaltyBps[reason] = bps;
        emit PenaltySet(reason, bps);
    }

    function _setDisputeWindow(uint64 window) private {
        if (window < MIN_DISPUTE_WINDOW || window > _MAX_WINDOW) revert InvalidParameter("disputeWindow", window);
        _disputeWindow = window;
        emit DisputeWindowSet(window);
    }

    function _setBurnShare(uint16 bps) private {
        if (bps < MIN_BURN_BPS || bps > _BPS) revert InvalidParameter("burnBps", bps);
        _burnBps = bps;
        emit BurnShareSet(bps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert ZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
