// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IPlinthToken} from "../interfaces/IPlinthToken.sol";

/// @title PlinthToken
/// @notice ERC-20 + permit + hard cap. Genesis allocation at deployment, then only the
/// emissions controller mints.
contract PlinthToken is IPlinthToken, ERC20, ERC20Permit, ERC20Capped, ERC20Burnable, Ownable2Step {
    // ---------------------------------------------------------------- storage
    address private _minter;
    /// @dev May set the minter (once), as the owner may: the owner can be the timelock from the start.
    address private immutable _deployer;

    // ---------------------------------------------------------------- constructor
    constructor(address initialOwner, uint256 supplyCap, address genesisHolder, uint256 genesisSupply)
        ERC20("Plinth", "PLN")
        ERC20Permit("Plinth")
        ERC20Capped(supplyCap)
        Ownable(initialOwner)
    {
        _deployer = msg.sender;
        if (genesisSupply > 0) _mint(genesisHolder, genesisSupply);
    }

    // ---------------------------------------------------------------- external
    /// @inheritdoc IPlinthToken
    function setMinter(address newMinter) external {
        if (msg.sender != owner() && msg.sender != _deployer) revert OwnableUnauthorizedAccount(msg.sender);
        if (_minter != address(0)) revert MinterAlreadySet(_minter);
        if (newMinter == address(0)) revert ERC20InvalidReceiver(address(0));
        _minter = newMinter;
        emit MinterSet(newMinter);
    }

    /// @inheritdoc IPlinthToken
    function mint(address to, uint256 amount) external {
        if (msg.sender != _minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc IPlinthToken
    function burn(uint256 amount) public override(IPlinthToken, ERC20Burnable) {
        super.burn(amount);
    }

    /// @notice Disabled: an ownerless token could never get its minter. Owner only.
    /// It has the power to do nothing: it always reverts RenounceOwnershipDisabled.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IPlinthToken
    function cap() public view override(IPlinthToken, ERC20Capped) returns (uint256) {
        return super.cap();
    }

    /// @inheritdoc IPlinthToken
    function minter() external view returns (address) {
        return _minter;
    }

    // ---------------------------------------------------------------- internal
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
