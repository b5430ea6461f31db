// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IGoverned
/// @notice Roles shared by every Plinth contract: an owner (two-step transfer, OpenZeppelin
/// Ownable2Step) sets parameters and wiring; a guardian can pause, only the owner unpauses.
interface IGoverned {
    /// @notice The caller is neither the guardian nor the owner.
    error NotGuardian(address caller);
    /// @notice An address argument was zero where a contract or account is required.
    error ZeroAddress();
    /// @notice A one-time wiring slot was already set.
    error AlreadySet(address current);
    /// @notice Ownership cannot be renounced: an ownerless contract could never be unpaused.
    error RenounceOwnershipDisabled();
    /// @notice The caller is not the contract allowed to call this function.
    error Unauthorized(address caller);

    /// @notice The guardian changed.
    event GuardianChanged(address indexed previousGuardian, address indexed newGuardian);

    /// @notice The account that deployed the contract: it may fill the one-time wiring slots
    /// (set once, never changed), as the owner may; it has no other power.
    function deployer() external view returns (address);

    /// @notice The account allowed to pause (the owner can pause too).
    function guardian() external view returns (address);

    /// @notice Sets the guardian. Owner only.
    function setGuardian(address newGuardian) external;

    /// @notice Stops every state change guarded by `whenNotPaused`. Guardian or owner.
    function pause() external;

    /// @notice Lifts the pause. Owner only.
    function unpause() external;
}
