// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMarketplace} from "../../interfaces/IMarketplace.sol";
import {IStakingVault} from "../../interfaces/IStakingVault.sol";
import {PlinthDeploy, Suite} from "./Deploy.sol";
import {PlinthHandler} from "./PlinthHandler.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {vm} from "./utils/Vm.sol";

/// @title PlinthInvariants
/// @notice Properties of the whole suite under random sequences of provider, customer, oracle
/// and anyone actions (PlinthHandler). Sizes: tools/forge-invariants.sh (small locally, 256
/// runs x depth 100 with CI=true).
contract PlinthInvariants is PlinthDeploy, InvariantBase {
    Suite internal s;
    PlinthHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        s = deploySuite();
        handler = new PlinthHandler(s);
        targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](20);
        actions[0] = PlinthHandler.registerNode.selector;
        actions[1] = PlinthHandler.activate.selector;
        actions[2] = PlinthHandler.stake.selector;
        actions[3] = PlinthHandler.requestUnbond.selector;
        actions[4] = PlinthHandler.withdraw.selector;
        actions[5] = PlinthHandler.exitNode.selector;
        actions[6] = PlinthHandler.completeExit.selector;
        actions[7] = PlinthHandler.unjail.selector;
        actions[8] = PlinthHandler.openLease.selector;
        actions[9] = PlinthHandler.extendLease.selector;
        actions[10] = PlinthHandler.settleLease.selector;
        actions[11] = PlinthHandler.closeLease.selector;
        actions[12] = PlinthHandler.warp.selector;
        actions[13] = PlinthHandler.warpLong.selector;
        actions[14] = PlinthHandler.submitReport.selector;
        actions[15] = PlinthHandler.skipEpochs.selector;
        actions[16] = PlinthHandler.executeSlash.selector;
        actions[17] = PlinthHandler.cancelSlash.selector;
        actions[18] = PlinthHandler.disputeSlash.selector;
        actions[19] = PlinthHandler.claim.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: actions}));
    }

    /// @dev Views that depend on the clock must see the run's time, whether or not forge kept the
    /// handler's warp for the invariant call.
    modifier atRunTime() {
        vm.warp(handler.time());
        _;
    }

    // ---------------------------------------------------------------- tokens
    /// @notice Every token minted (genesis + emissions) less every token burned is the supply,
    /// and the supply is exactly what the known accounts and contracts hold: nothing is
    /// created, lost or sent anywhere else.
    function invariant_tokens_conserved() public view {
        uint256 supply = s.token.totalSupply();
        assertEq(
            supply, GENESIS_SUPPLY + s.emissions.totalEmitted() - handler.ghostBurned(), "supply != genesis + emitted - burned"
        );
        assertLe(supply, s.token.cap(), "supply above the cap");
        address[] memory holders = handler.holders();
        uint256 held;
        for (uint256 i; i < holders.length; ++i) {
            held += s.token.balanceOf(holders[i]);
        }
        assertEq(held, supply, "balances of the known holders != total supply");
    }

    /// @notice Each contract holds exactly what its books say: the vault its bonded and
    /// unbonding stake, the marketplace the escrow of its leases, the distributor what was
    /// published and not claimed, the slashing manager nothing, the treasury its fees and slash
    /// shares.
    function invariant_contract_balances_match_books() public atRunTime {
        assertEq(
            s.token.balanceOf(address(s.vault)),
            s.vault.totalBonded() + s.vault.totalUnbonding(),
            "vault balance != bonded + unbonding"
        );
        uint256 escrow;
        for (uint256 id = 1; id <= s.market.leaseCount(); ++id) {
            escrow += s.market.escrowOf(id);
        }
        assertEq(s.token.balanceOf(address(s.market)), escrow, "marketplace balance != escrow of its leases");
        uint256 claimed;
        for (uint256 i; i < 4; ++i) {
            claimed += s.distributor.claimedOf(handler.owners(i));
        }
        assertEq(
            s.token.balanceOf(address(s.distributor)),
            s.emissions.totalEmitted() - claimed,
            "distributor balance != emitted - claimed"
        );
        assertEq(s.token.balanceOf(address(s.slashing)), 0, "slashing manager keeps tokens");
        assertEq(s.token.balanceOf(s.treasury), handler.ghostTreasuryIn(), "treasury != fees + slash shares");
    }

    // ---------------------------------------------------------------- staking
    /// @notice The vault's stake of every node agrees with the model (bonded, and the unbonding
    /// queue entry by entry), and the totals are the sums over nodes.
    function invariant_stake_matches_model() public view {
        uint256 bonded;
        uint256 unbonding;
        for (uint256 i; i < handler.nodeCount(); ++i) {
            address node = handler.nodeAt(i);
            assertEq(s.vault.bondedOf(node), handler.ghostBonded(node), "bonded != model");
            assertEq(s.vault.unbondingOf(node), handler.ghostUnbonding(node), "unbonding != model");
            IStakingVault.UnbondingEntry[] memory entries = s.vault.unbondingEntries(node);
            PlinthHandler.GhostEntry[] memory model = handler.ghostQueue(node);
            assertEq(entries.length, model.length, "unbonding queue length != model");
            for (uint256 j; j < entries.length; ++j) {
                assertEq(entries[j].amount, model[j].amount, "unbonding entry != model");
                assertEq(entries[j].releaseAt, model[j].releaseAt, "unbonding release != model");
            }
            bonded += s.vault.bondedOf(node);
            unbonding += s.vault.unbondingOf(node);
        }
        assertEq(s.vault.totalBonded(), bonded, "totalBonded != sum of bonded");
        assertEq(s.vault.totalUnbonding(), unbonding, "totalUnbonding != sum of unbonding");
    }

    /// @notice StakingVault never paid an unbonding entry whose release epoch the hub had not
    /// settled (hub.nextEpoch() > release epoch), nor paid anything while a slash of the node
    /// was pending: stake at risk in an epoch stays slashable until that epoch's report lands.
    function invariant_no_withdrawal_before_settlement() public view {
        assertEq(handler.ghostUnsettledPaid(), 0, handler.ghostUnsettledPaidCase());
        assertEq(handler.ghostPaidWithPendingSlash(), 0, "withdrawal paid while a slash was pending");
    }

    /// @notice Settled, matured stake with no pending slash is always withdrawable, in full.
    function invariant_settled_stake_is_withdrawable() public view {
        assertEq(handler.ghostWithdrawShortfalls(), 0, handler.ghostWithdrawShortfallCase());
    }

    /// @notice A node's pending slashes never add up to more than its slashable stake, so every
    /// pending slash executes in full; executed slashes take min(amount, slashable).
    function invariant_pending_slashes_within_slashable_stake() public view {
        for (uint256 i; i < handler.nodeCount(); ++i) {
            address node = handler.nodeAt(i);
            assertLe(s.slashing.pendingSlashAmount(node), s.vault.slashableOf(node), "pending slashes > slashable");
        }
        assertEq(handler.ghostSlashMismatches(), 0, "an executed slash took another amount");
    }

    // ---------------------------------------------------------------- market and emissions
    /// @notice Once an epoch has started, its demand (Marketplace.demandOf) never changes: the
    /// emissions budget of an ended epoch cannot be moved by later leases or refunds.
    function invariant_demand_final() public atRunTime {
        uint64 current = s.market.currentEpoch();
        for (uint256 i; i < handler.observedCount(); ++i) {
            uint64 e = handler.observedEpochs(i);
            if (e > current) continue;
            assertEq(s.market.demandOf(e), handler.observedDemand(e), "demand of a started epoch changed");
        }
    }

    /// @notice No epoch ever got more than EmissionsController.capPerEpoch() minted.
    function invariant_minted_per_epoch_within_cap() public view {
        assertLe(handler.ghostMaxMintedInEpoch(), s.emissions.capPerEpoch(), "minted above capPerEpoch in an epoch");
    }

    /// @notice The hub and the emissions controller agree on the next epoch, and every report
    /// built valid was accepted (liveness of reporting, through gaps and skips).
    function invariant_reports_settle_in_step() public view {
        assertEq(s.hub.nextEpoch(), s.emissions.nextEpoch(), "hub and emissions disagree on the next epoch");
        assertEq(handler.ghostRejectedReports(), 0, string.concat("a valid report was rejected: ", vm.toString(handler.ghostRejectedReportError())));
    }

    /// @notice Claimed rewards never exceed what the latest root assigns.
    function invariant_claims_of_published_roots_are_paid() public view {
        assertEq(handler.ghostRefusedClaims(), 0, string(handler.ghostRefusedClaimError()));
    }

    function invariant_claims_within_rewards() public view {
        for (uint256 i; i < 4; ++i) {
            assertLe(
                s.distributor.claimedOf(handler.owners(i)), handler.ghostCumulative(i), "claimed above cumulative rewards"
            );
        }
    }
}
