// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {PlinthToken} from "../../contracts/PlinthToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {StakingVault} from "../../contracts/StakingVault.sol";
import {Marketplace} from "../../contracts/Marketplace.sol";
import {RewardsDistributor} from "../../contracts/RewardsDistributor.sol";
import {EmissionsController} from "../../contracts/EmissionsController.sol";
import {SlashingManager} from "../../contracts/SlashingManager.sol";
import {OracleHub} from "../../contracts/OracleHub.sol";
import {INodeRegistry} from "../../interfaces/INodeRegistry.sol";
import {IPlinthToken} from "../../interfaces/IPlinthToken.sol";
import {IMarketplace} from "../../interfaces/IMarketplace.sol";
import {IStakingVault} from "../../interfaces/IStakingVault.sol";
import {IEmissionsController} from "../../interfaces/IEmissionsController.sol";
import {IRewardsDistributor} from "../../interfaces/IRewardsDistributor.sol";
import {ISlashingManager} from "../../interfaces/ISlashingManager.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The deployed suite, by the names scripts/_deploy.py gives them.
struct Suite {
    PlinthToken token;
    NodeRegistry registry;
    StakingVault vault;
    Marketplace market;
    RewardsDistributor distributor;
    EmissionsController emissions;
    SlashingManager slashing;
    OracleHub hub;
    address governor;
    address guardian;
    address treasury;
    address funder;
    uint256[] committeeKeys;
}

/// @title PlinthDeploy
/// @notice Deploys the real suite and wires it as scripts/_deploy.py does, with the parameters of
/// config/local.toml, except that the treasury, the guardian and the genesis holder are
/// distinct accounts (so that token conservation can tell them apart).
abstract contract PlinthDeploy {
    uint256 internal constant TOKEN = 1e18;
    uint64 internal constant EPOCH = 60;
    uint256 internal constant CAP = 1_000_000_000 * TOKEN;
    uint256 internal constant GENESIS_SUPPLY = 200_000_000 * TOKEN;
    uint8 internal constant FAULTS_TO_JAIL = 3;
    uint64 internal constant JAIL_DURATION = 600;
    uint64 internal constant UNBONDING_DELAY = 300;
    uint64 internal constant DISPUTE_WINDOW = 120;
    uint16 internal constant BURN_BPS = 5_000;
    uint16 internal constant FEE_BPS = 500;
    uint16 internal constant THRESHOLD = 3;
    uint16 internal constant MAX_SLASHES = 64;
    uint256 internal constant COMMITTEE_SIZE = 5;

    function deploySuite() internal returns (Suite memory s) {
        s.governor = vm.addr(0x60e);
        s.guardian = vm.addr(0x9a4d);
        s.treasury = vm.addr(0x7ea5);
        s.funder = vm.addr(0xf0d);
        s.committeeKeys = _committeeKeys();
        uint64 genesis = uint64(block.timestamp);

        s.token = new PlinthToken(s.governor, CAP, s.funder, GENESIS_SUPPLY);
        s.registry = new NodeRegistry(
            s.governor, s.guardian, [10_000 * TOKEN, 5_000 * TOKEN, 1_000 * TOKEN], FAULTS_TO_JAIL, JAIL_DURATION
        );
        s.vault = new StakingVault(s.governor, s.guardian, IERC20(address(s.token)), s.registry, UNBONDING_DELAY);
        s.market = new Marketplace(
            s.governor, s.guardian, IERC20(address(s.token)), s.registry, s.treasury, FEE_BPS, genesis, EPOCH
        );
        s.distributor = new RewardsDistributor(s.governor, s.guardian, IERC20(address(s.token)));
        s.emissions = new EmissionsController(
            s.governor,
            s.guardian,
            IPlinthToken(address(s.token)),
            IMarketplace(address(s.market)),
            address(s.distributor),
            [10_000 * TOKEN, 0.99e18, 0.05e18, 100_000 * TOKEN]
        );
        s.slashing = new SlashingManager(
            s.governor,
            s.guardian,
            IPlinthToken(address(s.token)),
            IStakingVault(address(s.vault)),
            INodeRegistry(address(s.registry)),
            IMarketplace(address(s.market)),
            s.treasury,
            DISPUTE_WINDOW,
            BURN_BPS,
            [uint16(1_000), 200, 1_000, 1_500, 100]
        );
        address[] memory members = new address[](COMMITTEE_SIZE);
        for (uint256 i; i < COMMITTEE_SIZE; ++i) {
            members[i] = vm.addr(s.committeeKeys[i]);
        }
        s.hub = new OracleHub(
            s.governor,
            s.guardian,
            IEmissionsController(address(s.emissions)),
            IRewardsDistributor(address(s.distributor)),
            ISlashingManager(address(s.slashing)),
            members,
            THRESHOLD,
            MAX_SLASHES
        );

        // The one-time wiring of scripts/_deploy.py, in its order.
        vm.startPrank(s.governor);
        s.token.setMinter(address(s.emissions));
        s.registry.setStakingVault(address(s.vault));
        s.registry.setSlashingManager(address(s.slashing));
        s.vault.setSlashingManager(address(s.slashing));
        s.market.setEmissionsController(address(s.emissions));
        s.distributor.setOracleHub(address(s.hub));
        s.emissions.setOracleHub(address(s.hub));
        s.slashing.setOracleHub(address(s.hub));
        vm.stopPrank();

        vm.label(address(s.token), "PlinthToken");
        vm.label(address(s.registry), "NodeRegistry");
        vm.label(address(s.vault), "StakingVault");
        vm.label(address(s.market), "Marketplace");
        vm.label(address(s.distributor), "RewardsDistributor");
        vm.label(address(s.emissions), "EmissionsController");
        vm.label(address(s.slashing), "SlashingManager");
        vm.label(address(s.hub), "OracleHub");
        vm.label(s.governor, "governor");
        vm.label(s.treasury, "treasury");
        vm.label(s.funder, "funder");
    }

    /// @dev The committee's private keys, sorted by address (the hub wants members increasing).
    function _committeeKeys() private pure returns (uint256[] memory keys) {
        keys = new uint256[](COMMITTEE_SIZE);
        for (uint256 i; i < COMMITTEE_SIZE; ++i) {
            keys[i] = 0xC0DE00 + i;
        }
        for (uint256 i = 1; i < COMMITTEE_SIZE; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(keys[j]) < vm.addr(keys[j - 1]); --j) {
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
    }
}
