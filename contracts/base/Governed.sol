// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IGoverned} from "../../interfaces/IGoverned.sol";

/// @title Governed
/// @notice Owner (two-step), guardian and pause, shared by every Plinth contract.
abstract contract Governed is IGoverned, Ownable2Step, Pausable {
    // ---------------------------------------------------------------- storage
    address private _guardian;
    /// @dev The account that deployed the contract: it may fill the one-time wiring slots
    /// (as the owner may), nothing else. So the owner can be the timelock from the start.
    address private immutable _deployer;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, address initialGuardian) Ownable(initialOwner) {
        _setGuardian(initialGuardian);
        _deployer = msg.sender;
    }

    // ---------------------------------------------------------------- modifiers
    /// @dev The one-time wiring setters: the owner or the deployer.
    modifier onlyWiring() {
        if (msg.sender != owner() && msg.sender != _deployer) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IGoverned
    function setGuardian(address newGuardian) external onlyOwner {
        _setGuardian(newGuardian);
    }

    /// @inheritdoc IGoverned
    function pause() external {
        if (msg.sender != _guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        _pause();
    }

    /// @inheritdoc IGoverned
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Disabled: without an owner nobody could ever unpause or repair parameters.
    /// Owner only. It has the power to do nothing: it always reverts RenounceOwnershipDisabled, so
    /// the contract always has an owner (ownership moves only by the two-step transfer).
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IGoverned
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IGoverned
    function deployer() external view returns (address) {
        return _deployer;
    }

    // ---------------------------------------------------------------- internal
    function _setGuardian(address newGuardian) private {
        if (newGuardian == address(0)) revert ZeroAddress();
        emit GuardianChanged(_guardian, newGuardian);
        _guardian = newGuardian;
    }

    /// @dev Sets a one-time wiring slot: reverts on zero or if already set.
    function _setOnce(address current, address value) internal pure returns (address) {
        if (value == address(0)) revert ZeroAddress();
        if (current != address(0)) revert AlreadySet(current);
        return value;
    }

    /// @dev Reverts unless the caller is `expected` (a wired contract).
    function _only(address expected) internal view {
        if (msg.sender != expected || expected == address(0)) revert Unauthorized(msg.sender);
    }
}
