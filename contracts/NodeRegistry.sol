// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Governed} from "./base/Governed.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IStakingVault} from "../interfaces/IStakingVault.sol";

/// @title NodeRegistry
/// @notice Node identities (node key != owner), hardware claims, status and jailing.
/// @dev No function loops over nodes; `nodeAt` exists for off-chain enumeration only.
contract NodeRegistry is INodeRegistry, Governed, EIP712 {
    // ---------------------------------------------------------------- constants
    bytes32 private constant _BINDING_TYPEHASH = keccak256("NodeKeyBinding(address owner,address node)");
    uint256 private constant _MAX_ENDPOINT = 256;
    uint64 private constant _MAX_JAIL = 365 days;
    /// @inheritdoc INodeRegistry
    uint16 public constant MAX_GPUS = 64;

    // ---------------------------------------------------------------- storage
    mapping(address node => Node) private _nodes;
    address[] private _nodeKeys;
    mapping(NodeKind kind => uint256) private _minStake;
    uint8 private _faultsToJail;
    uint64 private _jailDuration;
    IStakingVault private _vault;
    address private _slasher;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, address initialGuardian, uint256[3] memory minStakes, uint8 faultsToJail_, uint64 jailDuration_)
        Governed(initialOwner, initialGuardian)
        EIP712("Plinth NodeRegistry", "1")
    {
        for (uint256 i; i < 3; ++i) {
            _setMinStake(NodeKind(i), minStakes[i]);
        }
        _setJailPolicy(faultsToJail_, jailDuration_);
    }

    // ---------------------------------------------------------------- modifiers
    modifier onlyNodeOwner(address node) {
        address owner_ = _nodes[node].owner;
        if (owner_ == address(0)) revert UnknownNode(node);
        if (owner_ != msg.sender) revert NotNodeOwner(node, msg.sender);
        _;
    }

    // ---------------------------------------------------------------- external: providers
    /// @inheritdoc INodeRegistry
    function register(
        address node,
        NodeKind kind,
        HardwareClaim calldata hardware,
        uint16 region,
        string calldata endpoint,
        bytes calldata keySignature
    ) external whenNotPaused {
        if (node == address(0)) revert ZeroAddress();
        if (_nodes[node].status != NodeStatus.None) revert NodeKeyAlreadyUsed(node);
        if (region == 0) revert InvalidRegion(region);
        _checkEndpoint(endpoint);
        _checkHardware(kind, hardware);
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(nodeKeyBindingDigest(msg.sender, node), keySignature);
        if (err != ECDSA.RecoverError.NoError || recovered != node) revert InvalidNodeKeySignature(node, recovered);

        Node storage n = _nodes[node];
        n.owner = msg.sender;
        n.kind = kind;
        n.status = NodeStatus.Registered;
        n.region = region;
        n.registeredAt = uint64(block.timestamp);
        n.hardware = hardware;
        n.endpoint = endpoint;
        _nodeKeys.push(node);
        emit NodeRegistered(node, msg.sender, kind, region, endpoint);
    }

    /// @inheritdoc INodeRegistry
    function activate(address node) external whenNotPaused onlyNodeOwner(node) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Registered) revert WrongStatus(node, n.status);
        _checkStake(node, n.kind);
        n.status = NodeStatus.Active;
        emit NodeActivated(node);
    }

    /// @inheritdoc INodeRegistry
    function setEndpoint(address node, string calldata endpoint) external whenNotPaused onlyNodeOwner(node) {
        Node storage n = _nodes[node];
        if (n.status == NodeStatus.Exited) revert WrongStatus(node, n.status);
        _checkEndpoint(endpoint);
        n.endpoint = endpoint;
        emit NodeEndpointChanged(node, endpoint);
    }

    /// @inheritdoc INodeRegistry
    function exit(address node) external onlyNodeOwner(node) {
        Node storage n = _nodes[node];
        NodeStatus s = n.status;
        if (s != NodeStatus.Registered && s != NodeStatus.Active && s != NodeStatus.Jailed) {
            revert WrongStatus(node, s);
        }
        n.status = NodeStatus.Exiting;
        emit NodeExiting(node);
    }

    /// @inheritdoc INodeRegistry
    function completeExit(address node) external onlyNodeOwner(node) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Exiting) revert WrongStatus(node, n.status);
        uint256 remaining = _vault.slashableOf(node);
        if (remaining != 0) revert StakeRemaining(node, remaining);
        n.status = NodeStatus.Exited;
        emit NodeExited(node);
    }

    /// @inheritdoc INodeRegistry
    function unjail(address node) external whenNotPaused onlyNodeOwner(node) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Jailed) revert WrongStatus(node, n.status);
        if (block.timestamp < n.jailedUntil) revert StillJailed(node, n.jailedUntil);
        _checkStake(node, n.kind);
        n.status = NodeStatus.Active;
        n.faults = 0;
        emit NodeUnjailed(node);
    }

    // ---------------------------------------------------------------- external: slashing
    /// @inheritdoc INodeRegistry
    function recordFault(address node) external {
        _only(_slasher);
        Node storage n = _nodes[node];
        if (n.status == NodeStatus.None) revert UnknownNode(node);
        uint8 faults = n.faults == type(uint8).max ? n.faults : n.faults + 1;
        n.faults = faults;
        emit FaultRecorded(node, faults);
        if (n.status == NodeStatus.Active && faults >= _faultsToJail) {
            uint64 until = uint64(block.timestamp) + _jailDuration;
            n.status = NodeStatus.Jailed;
            n.jailedUntil = until;
            emit NodeJailed(node, until);
        }
    }

    // ---------------------------------------------------------------- external: owner
    /// @notice Sets the minimum bonded stake of a node kind. Owner only.
    /// It has the power to set the minimum of `kind` to any non-zero amount, at once for every node
    /// of that kind: activation, eligibility, unjailing and unbonding of Active or Jailed nodes
    /// check it. It cannot take or slash stake, and it does not change a node's status.
    /// @dev Warning: there is no upper bound. A higher minimum makes the nodes below it ineligible
    /// at once (no challenges, rewards or new leases) and stops them unbonding anything until they
    /// exit.
    function setMinStake(NodeKind kind, uint256 amount) external onlyOwner {
        _setMinStake(kind, amount);
    }

    /// @notice Sets the jail policy. Owner only.
    /// It has the power to set how many faults jail an Active node (1 to 255) and for how long (0
    /// to 365 days), for faults recorded from then on; nodes already jailed keep their
    /// `jailedUntil`, and faults already counted stay counted.
    function setJailPolicy(uint8 faultsToJail_, uint64 jailDuration_) external onlyOwner {
        _setJailPolicy(faultsToJail_, jailDuration_);
    }

    /// @notice Wires the staking vault, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the vault whose stake decides activation, eligibility and
    /// unjailing, and whose remaining stake blocks `completeExit`; it cannot be the zero address or
    /// be changed once set (AlreadySet).
    function setStakingVault(address vault) external onlyWiring {
        _vault = IStakingVault(_setOnce(address(_vault), vault));
        emit StakingVaultSet(vault);
    }

    /// @notice Wires the slashing manager, once. Owner or deployer (the one-time wiring).
    /// It has the power to choose the only contract that can record faults (`recordFault`), and so
    /// jail nodes; it cannot be the zero address or be changed once set (AlreadySet).
    function setSlashingManager(address slasher) external onlyWiring {
        _slasher = _setOnce(_slasher, slasher);
        emit SlashingManagerSet(slasher);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc INodeRegistry
    function nodeKeyBindingDigest(address owner_, address node) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(_BINDING_TYPEHASH, owner_, node)));
    }

    /// @inheritdoc INodeRegistry
    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc INodeRegistry
    function ownerOf(address node) external view returns (address) {
        return _nodes[node].owner;
    }

    /// @inheritdoc INodeRegistry
    function kindOf(address node) external view returns (NodeKind) {
        return _nodes[node].kind;
    }

    /// @inheritdoc INodeRegistry
    function statusOf(address node) external view returns (NodeStatus) {
        return _nodes[node].status;
    }

    /// @inheritdoc INodeRegistry
    function regionOf(address node) external view returns (uint16) {
        return _nodes[node].region;
    }

    /// @inheritdoc INodeRegistry
    function isEligible(address node) external view returns (bool) {
        Node storage n = _nodes[node];
        return n.status == NodeStatus.Active && _vault.bondedOf(node) >= _minStake[n.kind];
    }

    /// @inheritdoc INodeRegistry
    function minStake(NodeKind kind) external view returns (uint256) {
        return _minStake[kind];
    }

    /// @inheritdoc INodeRegistry
    function minStakeOf(address node) external view returns (uint256) {
        return _minStake[_nodes[node].kind];
    }

    /// @inheritdoc INodeRegistry
    function nodeCount() external view returns (uint256) {
        return _nodeKeys.length;
    }

    /// @inheritdoc INodeRegistry
    function nodeAt(uint256 index) external view returns (address) {
        return _nodeKeys[index];
    }

    function jailPolicy() external view returns (uint8 faultsToJail, uint64 jailDuration) {
        return (_faultsToJail, _jailDuration);
    }

    function stakingVault() external view returns (address) {
        return address(_vault);
    }

    function slashingManager() external view returns (address) {
        return _slasher;
    }

    // ---------------------------------------------------------------- internal
    function _checkStake(address node, NodeKind kind) private view {
        uint256 bonded = _vault.bondedOf(node);
        uint256 minimum = _minStake[kind];
        if (bonded < minimum) revert InsufficientStake(node, bonded, minimum);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 len = bytes(endpoint).length;
        if (len == 0 || len > _MAX_ENDPOINT) revert InvalidEndpoint(len);
    }

    function _checkHardware(NodeKind kind, HardwareClaim calldata h) private pure {
        bool noCompute = h.gpuCount == 0 && h.gpuModel == bytes32(0) && h.hwClass == 0;
        bool noWireless =
            h.h3Cell == 0 && h.latE6 == 0 && h.lonE6 == 0 && h.txPowerDbm == 0 && h.antennaGainDbi == 0;
        bool ok;
        if (kind == NodeKind.Compute) {
            // At most MAX_GPUS: the compute proof challenges one stream per claimed GPU and
            // proves no more (oracle/protocol/compute.py MAX_STREAMS); a larger count could
            // never be proven, so it is refused here rather than registered unrewardable.
            ok = h.gpuCount > 0 && h.gpuCount <= MAX_GPUS && h.gpuModel != bytes32(0) && h.capacityBytes == 0
                && noWireless;
        } else if (kind == NodeKind.Storage) {
            ok = h.capacityBytes > 0 && noCompute && noWireless;
        } else {
            ok = h.h3Cell != 0 && h.latE6 >= -90e6 && h.latE6 <= 90e6 && h.lonE6 >= -180e6 && h.lonE6 <= 180e6
                && h.txPowerDbm > 0 && h.txPowerDbm <= 400 && h.antennaGainDbi >= -100 && h.antennaGainDbi <= 300
                && noCompute && h.capacityBytes == 0;
        }
        if (!ok) revert InvalidHardwareClaim(kind);
    }

    function _setMinStake(NodeKind kind, uint256 amount) private {
        if (amount == 0) revert InvalidParameter("minStake", amount);
        _minStake[kind] = amount;
        emit MinStakeSet(kind, amount);
    }

    function _setJailPolicy(uint8 faultsToJail_, uint64 jailDuration_) private {
        if (faultsToJail_ == 0) revert InvalidParameter("faultsToJail", faultsToJail_);
        if (jailDuration_ > _MAX_JAIL) revert InvalidParameter("jailDuration", jailDuration_);
        _faultsToJail = faultsToJail_;
        _jailDuration = jailDuration_;
        emit JailPolicySet(faultsToJail_, jailDuration_);
    }
}
