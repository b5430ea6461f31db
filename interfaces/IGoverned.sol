// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IGoverned
/// @notice Roles shared by every Plinth contract: an owner (two-step transfer, OpenZeppelin
/// Ownable2Step) sets parameters and wiring; a guardian can pause, only the owner unpauses.
interface IGoverned {
    /// @notice Raised by `pause` when the caller is neither the guardian nor the owner.
    error NotGuardian(address caller);
    /// @notice Raised when an address argument is zero where a contract or an account is required:
    /// at deployment, by `setGuardian`, by the treasury setters, by the one-time wiring setters and
    /// by NodeRegistry.register for a zero node key.
    error ZeroAddress();
    /// @notice Raised by a one-time wiring setter (setOracleHub, setEmissionsController,
    /// setStakingVault, setSlashingManager) when its slot is already set; `current` is the address
    /// it holds.
    error AlreadySet(address current);
    /// @notice Raised by `renounceOwnership`, always: an ownerless contract could never be
    /// unpaused.
    error RenounceOwnershipDisabled();
    /// @notice Raised when a function reserved for a wired contract (the oracle hub, the emissions
    /// controller or the slashing manager) is called by any other address, or before that contract
    /// is wired.
    error Unauthorized(address caller);

    /// @notice Emitted at deployment (`previousGuardian` zero) and by `setGuardian`.
    event GuardianChanged(address indexed previousGuardian, address indexed newGuardian);

    /// @notice The account that deployed the contract: it may fill the one-time wiring slots
    /// (set once, never changed), as the owner may; it has no other power.
    function deployer() external view returns (address);

    /// @notice The account allowed to pause (the owner can pause too).
    function guardian() external view returns (address);

    /// @notice Sets the guardian. Owner only.
    /// It has the power to make any non-zero address the guardian, at once, replacing the current
    /// one (no delay, no acceptance by the new guardian); it cannot set the zero address.
    /// @dev Warning: the guardian can pause this contract at any time (see `pause`).
    function setGuardian(address newGuardian) external;

    /// @notice Stops every state change guarded by `whenNotPaused`. Guardian or owner.
    /// It has the power to stop, in this contract only and for as long as the owner leaves it
    /// paused, every function guarded by `whenNotPaused`; it cannot move funds, change a parameter
    /// or lift the pause (only the owner unpauses).
    /// @dev Warning: the paused functions include the ways funds leave: stake, unbond and withdraw
    /// in the staking vault, claim in the rewards distributor, settle and closeLease (payments and
    /// refunds) in the marketplace; and executeSlash in the slashing manager. Pausing the oracle
    /// hub or the emissions controller stops every report; a pause longer than MAX_EPOCH_GAP
    /// epochs then ends with `skipEpochs`, which mints nothing and queues no slash for the epochs
    /// passed over.
    function pause() external;

    /// @notice Lifts the pause. Owner only.
    /// It has the power to resume every function guarded by `whenNotPaused` at any time; it reverts
    /// when the contract is not paused.
    function unpause() external;
}
