// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title PlinthTimelock
/// @notice The owner of every Plinth contract: OpenZeppelin's TimelockController with no admin
/// (nobody bypasses the delay, not even the deployer) and a delay that can never drop below
/// the one it was deployed with. Every owner action (parameters, committee, unpause, slash
/// cancellation) is scheduled in public and executes only after the delay, so a provider who
/// disagrees with a scheduled change can exit, unbond and withdraw before it lands (the
/// deployment checks that the delay exceeds the unbonding delay plus two epochs).
/// @dev Roles: proposers schedule and cancel (the deployment's `governance.proposers`, a
/// multisig in production); executors run ready operations (`address(0)`: anyone). The
/// timelock's own roles and delay change only through operations scheduled on itself.
contract PlinthTimelock is TimelockController {
    /// @notice A proposed delay below the floor this timelock was deployed with.
    error DelayBelowFloor(uint256 delay, uint256 floor);

    uint256 private immutable _floor;

    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {
        _floor = minDelay;
    }

    /// @notice Changes the delay, through an operation scheduled on the timelock itself.
    /// It has the power to lengthen the delay, or shorten it down to `delayFloor()`, never below.
    function updateDelay(uint256 newDelay) public override {
        if (msg.sender != address(this)) revert TimelockUnauthorizedCaller(msg.sender);
        if (newDelay < _floor) revert DelayBelowFloor(newDelay, _floor);
        super.updateDelay(newDelay);
    }

    /// @notice The lowest delay this timelock can ever have: the one it was deployed with.
    function delayFloor() external view returns (uint256) {
        return _floor;
    }
}
