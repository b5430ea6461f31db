// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IPlinthToken
/// @notice The Plinth work token: ERC-20 with EIP-2612 permit and a hard cap on supply.
/// A genesis allocation is minted at deployment; afterwards only the emissions controller mints.
/// Anyone may burn their own tokens (the slashing manager burns part of every slash).
interface IPlinthToken is IERC20 {
    /// @notice The caller is not the minter.
    error NotMinter(address caller);
    /// @notice Ownership cannot be renounced (the minter might not be set yet).
    error RenounceOwnershipDisabled();
    /// @notice The minter was already set; it is set exactly once.
    error MinterAlreadySet(address minter);

    /// @notice The minter was set.
    event MinterSet(address indexed minter);

    /// @notice The largest total supply that can ever exist.
    function cap() external view returns (uint256);

    /// @notice The only account allowed to mint (the emissions controller).
    function minter() external view returns (address);

    /// @notice Sets the minter once. Owner or deployer.
    function setMinter(address newMinter) external;

    /// @notice Mints `amount` to `to`. Minter only; reverts past the cap.
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's tokens.
    function burn(uint256 amount) external;
}
