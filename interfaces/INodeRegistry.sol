// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title INodeRegistry
/// @notice The registry of physical nodes. A node is identified by the address of its own
/// signing key (the node key), distinct from the owner's wallet: the node agent holds the node
/// key and signs every challenge answer with it; the owner holds the stake and the rewards.
///
/// Lifecycle: Registered -> (stake >= minimum for its kind) activate -> Active -> exit ->
/// Exiting -> (all stake withdrawn) completeExit -> Exited. Repeated executed slashes jail an
/// Active node for `jailDuration`; the owner unjails it afterwards if its stake still meets the
/// minimum. A node key can be registered once, ever, so results can never be replayed onto a
/// new identity.
///
/// Assumptions: the staking vault reports stake honestly; the slashing manager is the only
/// caller of `recordFault`.
interface INodeRegistry {
    enum NodeKind {
        Compute,
        Storage,
        Wireless
    }

    enum NodeStatus {
        None,
        Registered,
        Active,
        Jailed,
        Exiting,
        Exited
    }

    /// @notice What the owner claims the node has. Fields that do not apply to the node's kind
    /// must be zero.
    /// @param hwClass Compute: the hardware class index whose deadline the compute proof uses.
    /// @param gpuCount Compute: number of GPUs (1 to MAX_GPUS).
    /// @param gpuModel Compute: GPU model name, right-padded ASCII (e.g. "H100-SXM").
    /// @param capacityBytes Storage: capacity offered, in bytes (> 0).
    /// @param h3Cell Wireless: H3 cell (resolution 8 or finer) of the claimed location (!= 0).
    /// @param latE6 Wireless: latitude in microdegrees, [-90e6, 90e6].
    /// @param lonE6 Wireless: longitude in microdegrees, [-180e6, 180e6].
    /// @param txPowerDbm Wireless: transmit power in tenths of dBm.
    /// @param antennaGainDbi Wireless: antenna gain in tenths of dBi.
    struct HardwareClaim {
        uint8 hwClass;
        uint16 gpuCount;
        bytes32 gpuModel;
        uint64 capacityBytes;
        uint64 h3Cell;
        int32 latE6;
        int32 lonE6;
        int16 txPowerDbm;
        int16 antennaGainDbi;
    }

    struct Node {
        address owner;
        NodeKind kind;
        NodeStatus status;
        uint16 region;
        uint8 faults;
        uint64 registeredAt;
        uint64 jailedUntil;
        HardwareClaim hardware;
        string endpoint;
    }

    /// @notice Raised by `register` when the node key was registered before (keys are never reused,
    /// even after an exit).
    error NodeKeyAlreadyUsed(address node);
    /// @notice Raised by the node owner's calls (`activate`, `setEndpoint`, `exit`, `completeExit`,
    /// `unjail`) and by `recordFault` when no node is registered under this key.
    error UnknownNode(address node);
    /// @notice Raised by `activate`, `setEndpoint`, `exit`, `completeExit` and `unjail` when the
    /// caller does not own the node.
    error NotNodeOwner(address node, address caller);
    /// @notice Raised by `register` when the key signature is malformed or not the node key's
    /// signature of NodeKeyBinding(caller, node); `recovered` is who signed it (zero when
    /// malformed).
    error InvalidNodeKeySignature(address node, address recovered);
    /// @notice Raised by `register` when the hardware claim does not fit the node's kind (a
    /// required field is missing or out of range, or a field of another kind is set).
    error InvalidHardwareClaim(NodeKind kind);
    /// @notice Raised by `register` for region 0, which is reserved for "any region".
    error InvalidRegion(uint16 region);
    /// @notice Raised by `register` and `setEndpoint` when the endpoint is empty or longer than 256
    /// bytes.
    error InvalidEndpoint(uint256 length);
    /// @notice Raised when the node is not in the status the call needs: `activate` needs
    /// Registered, `exit` Registered, Active or Jailed, `completeExit` Exiting, `unjail` Jailed,
    /// and `setEndpoint` anything but Exited.
    error WrongStatus(address node, NodeStatus status);
    /// @notice Raised by `activate` and `unjail` when the node's bonded stake is below the minimum
    /// for its kind.
    error InsufficientStake(address node, uint256 bonded, uint256 minimum);
    /// @notice Raised by `unjail` before `jailedUntil`.
    error StillJailed(address node, uint64 jailedUntil);
    /// @notice Raised by `completeExit` while the node still has bonded or unbonding stake
    /// (`total`).
    error StakeRemaining(address node, uint256 total);
    /// @notice Raised at deployment, by `setMinStake` for a zero minimum, and by `setJailPolicy`
    /// for zero faults to jail or a jail duration above 365 days.
    error InvalidParameter(bytes32 name, uint256 value);

    /// @notice Emitted by `register`: `node` is the node key, `owner` the caller.
    event NodeRegistered(address indexed node, address indexed owner, NodeKind kind, uint16 region, string endpoint);
    /// @notice Emitted by `activate` (Registered -> Active).
    event NodeActivated(address indexed node);
    /// @notice Emitted by `setEndpoint`.
    event NodeEndpointChanged(address indexed node, string endpoint);
    /// @notice Emitted by `exit` (-> Exiting).
    event NodeExiting(address indexed node);
    /// @notice Emitted by `completeExit` (Exiting -> Exited).
    event NodeExited(address indexed node);
    /// @notice Emitted by `recordFault`, once per executed slash; `faults` is the node's count
    /// since it was last unjailed (it stops at 255).
    event FaultRecorded(address indexed node, uint8 faults);
    /// @notice Emitted by `recordFault` when an Active node reaches the jail threshold; `unjail`
    /// reverts before `jailedUntil`.
    event NodeJailed(address indexed node, uint64 jailedUntil);
    /// @notice Emitted by `unjail` (Jailed -> Active, faults reset to zero).
    event NodeUnjailed(address indexed node);
    /// @notice Emitted at deployment (once per kind) and by `setMinStake`.
    event MinStakeSet(NodeKind indexed kind, uint256 minStake);
    /// @notice Emitted at deployment and by `setJailPolicy`.
    /// @param faultsToJail The number of faults that jails an Active node.
    /// @param jailDuration How long, in seconds, a jailed node waits before it can be unjailed.
    event JailPolicySet(uint8 faultsToJail, uint64 jailDuration);
    /// @notice Emitted once, by `setStakingVault`.
    event StakingVaultSet(address vault);
    /// @notice Emitted once, by `setSlashingManager`.
    event SlashingManagerSet(address slasher);

    /// @notice The most GPUs a compute node may claim: the compute proof challenges one stream
    /// per claimed GPU and proves at most this many, so a reward weight never follows a count
    /// no proof checked.
    function MAX_GPUS() external view returns (uint16);

    /// @notice Registers `node` (the node key's address) for the caller.
    /// @param keySignature The node key's EIP-712 signature over NodeKeyBinding(owner, node)
    /// under this contract's domain: proof that the caller controls the key. Replays on other
    /// chains or registries fail (domain), and a key registers once.
    function register(
        address node,
        NodeKind kind,
        HardwareClaim calldata hardware,
        uint16 region,
        string calldata endpoint,
        bytes calldata keySignature
    ) external;

    /// @notice Registered -> Active once the node's bonded stake meets the minimum of its kind.
    function activate(address node) external;

    /// @notice Changes the URL the oracles challenge the node at. Owner only.
    function setEndpoint(address node, string calldata endpoint) external;

    /// @notice Registered, Active or Jailed -> Exiting: the node leaves the network; its stake
    /// can then be unbonded entirely. It is no longer challenged or rewarded.
    function exit(address node) external;

    /// @notice Exiting -> Exited, once no stake is bonded or unbonding.
    function completeExit(address node) external;

    /// @notice Jailed -> Active after the jail time, if the stake still meets the minimum.
    function unjail(address node) external;

    /// @notice Counts an executed slash against `node`; jails an Active node at the threshold.
    /// Slashing manager only.
    /// It has the power to add one fault to any registered node and, when an Active node reaches
    /// `faultsToJail` faults, jail it for `jailDuration`; it cannot take stake, and a node in
    /// another status only has the fault counted.
    function recordFault(address node) external;

    /// @notice The EIP-712 digest the node key signs to bind itself to `owner`.
    function nodeKeyBindingDigest(address owner, address node) external view returns (bytes32);

    function getNode(address node) external view returns (Node memory);
    function ownerOf(address node) external view returns (address);
    function kindOf(address node) external view returns (NodeKind);
    function statusOf(address node) external view returns (NodeStatus);
    function regionOf(address node) external view returns (uint16);
    /// @notice Active and bonded stake at or above the minimum: the nodes the oracles challenge.
    function isEligible(address node) external view returns (bool);
    function minStake(NodeKind kind) external view returns (uint256);
    function minStakeOf(address node) external view returns (uint256);
    function nodeCount() external view returns (uint256);
    /// @notice The i-th registered node key, for off-chain enumeration (never looped on-chain).
    function nodeAt(uint256 index) external view returns (address);
}
