// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStakingVault} from "../../interfaces/IStakingVault.sol";
import {PlinthDeploy, Suite} from "./Deploy.sol";
import {PlinthHandler} from "./PlinthHandler.sol";
import {vm} from "./utils/Vm.sol";

/// @title Scenarios
/// @notice Fixed sequences through the handler: the shrunk counterexamples worth keeping, and a
/// check that the handler reaches the states the invariants are about.
contract Scenarios is PlinthDeploy {
    Suite internal s;
    PlinthHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        s = deploySuite();
        handler = new PlinthHandler(s);
    }

    /// @notice The earlier counterexample (issue 11): exit, unbond, warp past the release time,
    /// withdraw before the report of the failed epoch (and its slash) lands. The withdrawal must
    /// wait; after the report and the slash the remainder is paid.
    function test_withdraw_waitsForSettlement_when_exitingBeforeTheSlashReport() public {
        handler.registerNode(0, 0, 0, 5, true);
        address node = handler.nodeAt(0);
        uint256 stake_ = s.vault.bondedOf(node);
        handler.exitNode(_oneInFour());
        vm.assertEq(uint256(s.registry.statusOf(node)), 4, "node exiting");
        handler.requestUnbond(0, stake_);
        vm.assertEq(s.vault.unbondingOf(node), stake_, "all stake unbonding");
        handler.warp(300, 0); // past the release time, no report (reportSeed % 4 == 0)
        handler.withdraw(0);
        vm.assertEq(handler.done("withdraw"), 0, "paid before the report of the release epoch");
        vm.assertEq(handler.done("withdrawRefused"), 1, "refused");
        // The report of the failed epoch lands with a slash of the node (slashSeed 1: one slash).
        handler.submitReport(0, 1, _slashSeedFor(node), 0);
        vm.assertEq(s.slashing.pendingSlashCount(node), 1, "slash pending");
        handler.warp(130, 0);
        handler.withdraw(0);
        vm.assertEq(handler.done("withdraw"), 0, "paid while the slash is pending");
        handler.executeSlash(0);
        vm.assertEq(handler.done("executeSlash"), 1, "slash executed");
        // Reports catch up past the release epoch; then the remainder is paid.
        handler.warp(300, 1);
        handler.warp(300, 1);
        handler.withdraw(0);
        vm.assertEq(handler.done("withdraw"), 1, "remainder paid once settled");
        vm.assertEq(s.vault.slashableOf(node), 0, "nothing left");
        vm.assertEq(handler.ghostUnsettledPaid(), 0, "no unsettled withdrawal");
        vm.assertEq(handler.ghostWithdrawShortfalls(), 0, handler.ghostWithdrawShortfallCase());
    }

    /// @dev A seed the handler's one-in-four actions (exitNode, cancelSlash) act on.
    function _oneInFour() private pure returns (uint256 seed) {
        while (uint256(keccak256(abi.encode(seed))) % 4 != 0) ++seed;
    }

    /// @dev A slash seed whose report carries exactly one slash, of reason Offline-or-other.
    function _slashSeedFor(address) private pure returns (uint256 seed) {
        // seed % 4 == 1 -> one slash; (seed >> 2) % 2 == 1 -> slashes on.
        return 5;
    }
}
