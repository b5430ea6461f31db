// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IPlinthToken
/// @notice The Plinth work token: ERC-20 with EIP-2612 permit and a hard cap on supply.
/// A genesis allocation is minted at deployment; afterwards only the emissions controller mints.
/// Anyone may burn their own tokens (the slashing manager burns part of every slash).
interface IPlinthToken is IERC20 {
    /// @notice Raised by `mint` when the caller is not the minter (anyone, before `setMinter`).
    error NotMinter(address caller);
    /// @notice Raised by `renounceOwnership`, always: the minter might not be set yet.
    error RenounceOwnershipDisabled();
    /// @notice Raised by `setMinter` once the minter is set (it is set exactly once); `minter` is
    /// the one set.
    error MinterAlreadySet(address minter);

    /// @notice Emitted once, by `setMinter`.
    event MinterSet(address indexed minter);

    /// @notice The largest total supply that can ever exist.
    function cap() external view returns (uint256);

    /// @notice The only account allowed to mint (the emissions controller).
    function minter() external view returns (address);

    /// @notice Sets the minter once. Owner or deployer (the one-time wiring).
    /// It has the power to choose, once and for good, the only account that can mint (the emissions
    /// controller in a deployment); it cannot change it afterwards (MinterAlreadySet) nor set the
    /// zero address (ERC20InvalidReceiver(0)).
    /// @dev Warning: the token bounds minting by `cap()` only; the minter chosen here can mint
    /// anything up to the cap.
    function setMinter(address newMinter) external;

    /// @notice Mints `amount` to `to`. Minter only; reverts past the cap.
    /// It has the power to mint any amount to any non-zero address while the total supply stays
    /// within `cap()`; it cannot exceed the cap (ERC20ExceededCap).
    function mint(address to, uint256 amount) external;

    /// @notice Burns `amount` of the caller's tokens.
    function burn(uint256 amount) external;
}
