// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PlinthToken} from "../../contracts/PlinthToken.sol";
import {NodeRegistry} from "../../contracts/NodeRegistry.sol";
import {StakingVault} from "../../contracts/StakingVault.sol";
import {Marketplace} from "../../contracts/Marketplace.sol";
import {RewardsDistributor} from "../../contracts/RewardsDistributor.sol";
import {EmissionsController} from "../../contracts/EmissionsController.sol";
import {SlashingManager} from "../../contracts/SlashingManager.sol";
import {OracleHub} from "../../contracts/OracleHub.sol";
import {INodeRegistry} from "../../interfaces/INodeRegistry.sol";
import {IMarketplace} from "../../interfaces/IMarketplace.sol";
import {IOracleHub} from "../../interfaces/IOracleHub.sol";
import {ISlashingManager} from "../../interfaces/ISlashingManager.sol";
import {IStakingVault} from "../../interfaces/IStakingVault.sol";
import {Suite} from "./Deploy.sol";
import {vm} from "./utils/Vm.sol";

/// @title PlinthHandler
/// @notice Drives the real suite with bounded actions (providers, customers, the oracle
/// committee, anyone) and keeps a ghost model of what must hold. The fuzzer calls only the
/// actions; each one picks its actors from the seeds, skips what cannot apply, and records in
/// ghost variables anything the contracts did that the model forbids. The invariant contract
/// reads those records: a handler never reverts to signal a violation, since forge ignores
/// reverts of handler calls (fail_on_revert = false).
contract PlinthHandler {
    // ---------------------------------------------------------------- constants
    uint256 internal constant TOKEN = 1e18;
    uint256 internal constant MAX_NODES = 12;
    uint256 internal constant MAX_LEASES = 64;
    uint256 internal constant OWNERS = 4;
    uint256 internal constant CUSTOMERS = 3;
    uint256 internal constant MAX_OBSERVED = 96;
    uint256 internal constant CHUNK_SIZE = 1024;
    uint16 internal constant REGION = 826;

    // ---------------------------------------------------------------- the suite and actors
    PlinthToken public immutable token;
    NodeRegistry public immutable registry;
    StakingVault public immutable vault;
    Marketplace public immutable market;
    RewardsDistributor public immutable distributor;
    EmissionsController public immutable emissions;
    SlashingManager public immutable slashing;
    OracleHub public immutable hub;
    address public immutable governor;
    address public immutable treasury;
    address public immutable funder;
    uint256[] internal _committeeKeys;
    address[OWNERS] public owners;
    address[CUSTOMERS] public customers;
    /// @notice The block timestamp this run has reached (re-applied before every action).
    uint256 public time;

    struct NodeInfo {
        address key;
        uint256 privateKey;
        address owner;
        INodeRegistry.NodeKind kind;
    }

    NodeInfo[] internal _nodes;
    bytes internal _chunk;
    bytes32 internal _chunkRoot;

    // ---------------------------------------------------------------- ghost model
    /// @dev The model of a node's stake: bonded, and its unbonding queue in request order.
    struct GhostEntry {
        uint128 amount;
        uint64 releaseAt;
        uint64 requestEpoch;
    }

    mapping(address node => uint256) public ghostBonded;
    mapping(address node => GhostEntry[]) internal _ghostQueue;

    /// @notice Tokens burned by executed slashes (half of each, burnBps of SlashingManager).
    uint256 public ghostBurned;
    /// @notice Tokens the treasury received: marketplace fees and its share of slashes.
    uint256 public ghostTreasuryIn;
    /// @notice Tokens minted for each epoch, and the largest of them.
    mapping(uint64 epoch => uint256) public ghostMintedFor;
    uint256 public ghostMaxMintedInEpoch;
    uint64 public ghostMaxMintedEpoch;

    /// @notice Withdrawals that paid more than the matured entries whose release epoch the hub
    /// had settled (nextEpoch > release epoch), with the first such case.
    uint256 public ghostUnsettledPaid;
    string public ghostUnsettledPaidCase;
    /// @notice Withdrawals paid while a slash of the node was pending.
    uint256 public ghostPaidWithPendingSlash;
    /// @notice Withdrawals that paid less than the model says is due, or reverted while some
    /// stake was due and no slash was pending.
    uint256 public ghostWithdrawShortfalls;
    string public ghostWithdrawShortfallCase;
    /// @notice Executed slashes that took another amount than min(pending amount, slashable).
    uint256 public ghostSlashMismatches;
    /// @notice Claims of what a published root owes that the distributor refused.
    uint256 public ghostRefusedClaims;
    bytes public ghostRefusedClaimError;
    /// @notice Reports built valid (epoch in range, rewards within the budget, signed by a
    /// quorum, slashes of known nodes) that the hub rejected, with the last revert data.
    uint256 public ghostRejectedReports;
    bytes public ghostRejectedReportError;

    /// @notice Demand of epochs at or before the current one, as first observed.
    uint64[] public observedEpochs;
    mapping(uint64 epoch => uint256) public observedDemand;
    mapping(uint64 epoch => bool) public observed;

    /// @notice The cumulative rewards of each owner in the roots the hub keeps (at index
    /// epoch % 2), and the totals the reports assigned.
    uint64[2] public ringEpoch;
    uint256[OWNERS][2] internal _ringCumulative;
    bool[2] public ringHas;
    /// @notice The full digest of the last accepted report (the hub keeps its first 20 bytes).
    bytes32 public ghostLastDigest;
    bytes32 internal _pendingDigest;
    uint256[OWNERS] public ghostCumulative;

    /// @notice How often each action took effect (not counting the calls it skipped).
    mapping(bytes32 action => uint256) public done;

    // ---------------------------------------------------------------- constructor
    constructor(Suite memory s) {
        token = s.token;
        registry = s.registry;
        vault = s.vault;
        market = s.market;
        distributor = s.distributor;
        emissions = s.emissions;
        slashing = s.slashing;
        hub = s.hub;
        governor = s.governor;
        treasury = s.treasury;
        funder = s.funder;
        _committeeKeys = s.committeeKeys;
        time = block.timestamp;
        for (uint256 i; i < OWNERS; ++i) {
            owners[i] = vm.addr(0xA11CE + i);
            vm.label(owners[i], string.concat("owner", vm.toString(i)));
            vm.prank(funder);
            token.transfer(owners[i], 20_000_000 * TOKEN);
        }
        for (uint256 i; i < CUSTOMERS; ++i) {
            customers[i] = vm.addr(0xC057 + i);
            vm.label(customers[i], string.concat("customer", vm.toString(i)));
            vm.prank(funder);
            token.transfer(customers[i], 30_000_000 * TOKEN);
        }
        // One 1 KiB chunk: a storage lease of dataSize <= CHUNK_SIZE has it as its only leaf.
        for (uint256 i; i < CHUNK_SIZE / 32; ++i) {
            _chunk = bytes.concat(_chunk, keccak256(abi.encode("plinth chunk", i)));
        }
        _chunkRoot = keccak256(abi.encodePacked(uint256(0), _chunk));
    }

    modifier step() {
        vm.warp(time);
        _;
        _observeDemand();
    }

    // ---------------------------------------------------------------- providers
    /// @notice Registers a node (its key signs the binding to its owner), prices it, stakes at
    /// least the minimum of its kind and activates it (unless `activate` is false).
    function registerNode(uint256 ownerSeed, uint8 kindSeed, uint256 extra, uint256 price, bool andActivate)
        external
        step
    {
        if (_nodes.length >= MAX_NODES) return;
        address owner_ = owners[ownerSeed % OWNERS];
        uint256 pk = 0xB0DE00 + _nodes.length;
        address node = vm.addr(pk);
        INodeRegistry.NodeKind kind = INodeRegistry.NodeKind(kindSeed % 3);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, registry.nodeKeyBindingDigest(owner_, node));
        vm.startPrank(owner_);
        registry.register(node, kind, _hardware(kind), REGION, "http://127.0.0.1:9000", abi.encodePacked(r, s, v));
        market.setPrice(node, _bound(price, 1, 200_000) * TOKEN);
        uint256 amount = registry.minStake(kind) + _bound(extra, 1_000, 50_000) * TOKEN;
        token.approve(address(vault), amount);
        vault.stake(node, amount);
        if (andActivate) registry.activate(node);
        vm.stopPrank();
        ghostBonded[node] += amount;
        _nodes.push(NodeInfo({key: node, privateKey: pk, owner: owner_, kind: kind}));
        vm.label(node, string.concat("node", vm.toString(_nodes.length - 1)));
        ++done["registerNode"];
    }

    function activate(uint256 nodeSeed) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok || registry.statusOf(n.key) != INodeRegistry.NodeStatus.Registered) return;
        if (vault.bondedOf(n.key) < registry.minStake(n.kind)) return;
        vm.prank(n.owner);
        registry.activate(n.key);
        ++done["activate"];
    }

    function stake(uint256 nodeSeed, uint256 amount) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok) return;
        INodeRegistry.NodeStatus s = registry.statusOf(n.key);
        if (s == INodeRegistry.NodeStatus.Exiting || s == INodeRegistry.NodeStatus.Exited) return;
        amount = _bound(amount, 1, 20_000 * TOKEN);
        if (token.balanceOf(n.owner) < amount) return;
        vm.startPrank(n.owner);
        token.approve(address(vault), amount);
        vault.stake(n.key, amount);
        vm.stopPrank();
        ghostBonded[n.key] += amount;
        ++done["stake"];
    }

    /// @notice Unbonds part of the bonded stake (above the minimum while Active or Jailed).
    function requestUnbond(uint256 nodeSeed, uint256 amount) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok) return;
        uint256 bonded = vault.bondedOf(n.key);
        INodeRegistry.NodeStatus s = registry.statusOf(n.key);
        uint256 floor_ = s == INodeRegistry.NodeStatus.Active || s == INodeRegistry.NodeStatus.Jailed
            ? registry.minStake(n.kind)
            : 0;
        if (bonded <= floor_ || _ghostQueue[n.key].length >= vault.MAX_UNBONDING_ENTRIES()) return;
        amount = _bound(amount, 1, bonded - floor_);
        vm.prank(n.owner);
        vault.requestUnbond(n.key, amount);
        ghostBonded[n.key] -= amount;
        _ghostQueue[n.key].push(
            GhostEntry({
                amount: uint128(amount),
                releaseAt: uint64(time + vault.unbondingDelay()),
                requestEpoch: hub.currentEpoch()
            })
        );
        ++done["requestUnbond"];
    }

    /// @notice The owner withdraws; the ghost checks that nothing unsettled was paid.
    function withdraw(uint256 nodeSeed) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        // The chosen node or, if it has nothing unbonding, the next one that has.
        for (uint256 k; ok && k < _nodes.length && vault.unbondingOf(n.key) == 0; ++k) {
            n = _nodes[(nodeSeed % _nodes.length + k + 1) % _nodes.length];
        }
        if (!ok || vault.unbondingOf(n.key) == 0) return;
        uint64 settledBefore = hub.nextEpoch();
        bool pending = slashing.pendingSlashCount(n.key) != 0;
        // What the rule allows, from the vault's own queue (independent of the model).
        uint256 allowed;
        IStakingVault.UnbondingEntry[] memory entries = vault.unbondingEntries(n.key);
        for (uint256 i; i < entries.length; ++i) {
            if (entries[i].releaseAt <= time && _epochOf(entries[i].releaseAt) < settledBefore) {
                allowed += entries[i].amount;
            }
        }
        // What the model says is due, and the model after paying it.
        uint256 due = _ghostWithdraw(n.key, settledBefore);
        uint256 balanceBefore = token.balanceOf(n.owner);
        vm.prank(n.owner);
        try vault.withdraw(n.key) returns (uint256 paid) {
            if (token.balanceOf(n.owner) != balanceBefore + paid) ++ghostWithdrawShortfalls;
            if (pending) ++ghostPaidWithPendingSlash;
            if (paid > allowed) {
                if (ghostUnsettledPaid++ == 0) {
                    ghostUnsettledPaidCase = string.concat(
                        "node ",
                        vm.toString(n.key),
                        " paid ",
                        vm.toString(paid),
                        " > settled and matured ",
                        vm.toString(allowed),
                        " with hub.nextEpoch ",
                        vm.toString(uint256(settledBefore))
                    );
                }
            }
            if (paid != due) _shortfall(n.key, "paid", paid, due);
            _ghostCommitWithdraw(n.key, settledBefore);
            ++done["withdraw"];
        } catch {
            ++done["withdrawRefused"];
            if (!pending && due != 0) _shortfall(n.key, "reverted", 0, due);
        }
    }

    /// @notice Starts a node's exit (one call in four: exits end a node's life).
    function exitNode(uint256 nodeSeed) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok || uint256(keccak256(abi.encode(nodeSeed))) % 4 != 0) return;
        INodeRegistry.NodeStatus s = registry.statusOf(n.key);
        if (
            s != INodeRegistry.NodeStatus.Registered && s != INodeRegistry.NodeStatus.Active
                && s != INodeRegistry.NodeStatus.Jailed
        ) return;
        vm.prank(n.owner);
        registry.exit(n.key);
        ++done["exitNode"];
    }

    function completeExit(uint256 nodeSeed) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok || registry.statusOf(n.key) != INodeRegistry.NodeStatus.Exiting) return;
        if (vault.slashableOf(n.key) != 0) return;
        vm.prank(n.owner);
        registry.completeExit(n.key);
        ++done["completeExit"];
    }

    function unjail(uint256 nodeSeed) external step {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok || registry.statusOf(n.key) != INodeRegistry.NodeStatus.Jailed) return;
        if (time < registry.getNode(n.key).jailedUntil) return;
        if (vault.bondedOf(n.key) < registry.minStake(n.kind)) return;
        vm.prank(n.owner);
        registry.unjail(n.key);
        ++done["unjail"];
    }

    // ---------------------------------------------------------------- customers
    function openLease(uint256 customerSeed, uint256 nodeSeed, uint64 epochs, uint64 dataSize)
        external
        step
    {
        (bool ok, NodeInfo memory n) = _node(nodeSeed);
        if (!ok || market.leaseCount() >= MAX_LEASES || !registry.isEligible(n.key)) return;
        address customer = customers[customerSeed % CUSTOMERS];
        epochs = uint64(_bound(epochs, 1, 12));
        uint256 price = market.priceOf(n.key);
        uint256 cost = price * epochs;
        if (token.balanceOf(customer) < cost) return;
        bool storage_ = n.kind == INodeRegistry.NodeKind.Storage;
        vm.startPrank(customer);
        token.approve(address(market), cost);
        market.openLease(
            n.key,
            REGION,
            epochs,
            price,
            storage_ ? _chunkRoot : bytes32(0),
            storage_ ? uint64(_bound(dataSize, 1, CHUNK_SIZE)) : 0
        );
        vm.stopPrank();
        ++done["openLease"];
    }

    function extendLease(uint256 leaseSeed, uint64 epochs) external step {
        (bool ok, uint256 id, IMarketplace.Lease memory l) = _lease(leaseSeed);
        if (!ok || l.closed || l.endEpoch <= market.currentEpoch()) return;
        epochs = uint64(_bound(epochs, 1, 8));
        uint256 cost = uint256(l.pricePerEpoch) * epochs;
        if (token.balanceOf(l.customer) < cost) return;
        vm.startPrank(l.customer);
        token.approve(address(market), cost);
        market.extendLease(id, epochs);
        vm.stopPrank();
        ++done["extendLease"];
    }

    function settleLease(uint256 leaseSeed) external step {
        (bool ok, uint256 id, IMarketplace.Lease memory l) = _lease(leaseSeed);
        if (!ok) return;
        ghostTreasuryIn += _expectedFee(l);
        market.settle(id);
        ++done["settleLease"];
    }

    function closeLease(uint256 leaseSeed) external step {
        (bool ok, uint256 id, IMarketplace.Lease memory l) = _lease(leaseSeed);
        if (!ok || l.closed) return;
        ghostTreasuryIn += _expectedFee(l);
        vm.prank(l.customer);
        market.closeLease(id);
        ++done["closeLease"];
    }

    // ---------------------------------------------------------------- time
    /// @notice Time passes (up to ten epochs); most of the time the committee is live and
    /// reports each epoch that ended (no slashes: those come from submitReport).
    function warp(uint256 secs, uint256 reportSeed) external step {
        time += _bound(secs, 1, 10 * 60);
        vm.warp(time);
        ++done["warp"];
        if (reportSeed % 4 == 0) return;
        for (uint256 i; i < 2 && hub.nextEpoch() < hub.currentEpoch(); ++i) {
            _submitReport(ReportArgs(0, uint256(keccak256(abi.encode(reportSeed, i))), 0, reportSeed >> 8, true));
        }
    }

    /// @notice A reporting outage of more than MAX_EPOCH_GAP epochs (one call in eight).
    function warpLong(uint256 epochs) external step {
        if (uint256(keccak256(abi.encode(epochs))) % 8 != 0) return;
        time += _bound(epochs, 258, 600) * hub.epochDuration();
        ++done["warpLong"];
    }

    // ---------------------------------------------------------------- the oracle committee
    struct ReportArgs {
        uint256 epochSeed;
        uint256 rewardSeed;
        uint256 slashSeed;
        uint256 signerSeed;
        bool latest;
    }

    /// @notice Signs and submits the report of an ended, reportable epoch: rewards within the
    /// budget over the four owners (a cumulative Merkle root), up to three slashes, and a
    /// quorum of 3 to 5 signatures sorted by signer.
    function submitReport(uint256 epochSeed, uint256 rewardSeed, uint256 slashSeed, uint256 signerSeed)
        external
        step
    {
        _submitReport(ReportArgs(epochSeed, rewardSeed, slashSeed, signerSeed, false));
    }

    function skipEpochs() external step {
        if (hub.currentEpoch() <= hub.nextEpoch() + hub.MAX_EPOCH_GAP() + 1) return;
        hub.skipEpochs();
        ++done["skipEpochs"];
    }

    // ---------------------------------------------------------------- slashes
    /// @notice A keeper executes every slash past its dispute window (the chosen one first).
    function executeSlash(uint256 slashSeed) external step {
        uint256 count = slashing.slashCount();
        for (uint256 k; k < count; ++k) {
            uint256 id = 1 + (slashSeed % count + k) % count;
            ISlashingManager.PendingSlash memory s = slashing.getSlash(id);
            if (s.status == ISlashingManager.SlashStatus.Pending && time >= s.executableAt) _executeSlash(id, s);
        }
    }

    /// @notice Governance cancels a pending slash (one call in four).
    function cancelSlash(uint256 slashSeed) external step {
        (bool ok, uint256 id, ISlashingManager.PendingSlash memory s) = _slash(slashSeed);
        if (!ok || s.status != ISlashingManager.SlashStatus.Pending) return;
        if (uint256(keccak256(abi.encode(slashSeed))) % 4 != 0) return;
        vm.prank(governor);
        slashing.cancelSlash(id);
        ++done["cancelSlash"];
    }

    /// @notice The provider answers a storage slash with the chunk (the lease's only leaf).
    function disputeSlash(uint256 slashSeed) external step {
        (bool ok, uint256 id, ISlashingManager.PendingSlash memory s) = _slash(slashSeed);
        if (!ok || s.status != ISlashingManager.SlashStatus.Pending || time >= s.executableAt) return;
        if (s.reason != ISlashingManager.SlashReason.StorageAuditFailed) return;
        vm.prank(registry.ownerOf(s.node));
        slashing.disputeStorageSlash(id, _chunk, new bytes32[](0));
        ++done["disputeSlash"];
    }

    // ---------------------------------------------------------------- rewards
    function claim(uint256 ownerSeed, bool odd) external step {
        uint256 slot = odd ? 1 : 0;
        if (!ringHas[slot]) return;
        uint256 who = ownerSeed % OWNERS;
        uint256 cumulative = _ringCumulative[slot][who];
        if (cumulative <= distributor.claimedOf(owners[who])) return;
        (, bytes32[] memory proof) = _tree(_ringCumulative[slot], who);
        vm.prank(owners[who]);
        try distributor.claim(ringEpoch[slot], owners[who], cumulative, proof) {
            ++done["claim"];
        } catch (bytes memory err) {
            ++ghostRefusedClaims;
            ghostRefusedClaimError = err;
        }
    }

    // ---------------------------------------------------------------- views for the invariants
    function nodeCount() external view returns (uint256) {
        return _nodes.length;
    }

    function nodeAt(uint256 i) external view returns (address) {
        return _nodes[i].key;
    }

    function ghostQueue(address node) external view returns (GhostEntry[] memory) {
        return _ghostQueue[node];
    }

    function ghostUnbonding(address node) public view returns (uint256 sum) {
        GhostEntry[] storage q = _ghostQueue[node];
        for (uint256 i; i < q.length; ++i) {
            sum += q[i].amount;
        }
    }

    function observedCount() external view returns (uint256) {
        return observedEpochs.length;
    }

    /// @notice Every account the run ever moved tokens to.
    function holders() external view returns (address[] memory list) {
        list = new address[](OWNERS + CUSTOMERS + 12);
        uint256 k;
        for (uint256 i; i < OWNERS; ++i) {
            list[k++] = owners[i];
        }
        for (uint256 i; i < CUSTOMERS; ++i) {
            list[k++] = customers[i];
        }
        list[k++] = funder;
        list[k++] = treasury;
        list[k++] = governor;
        list[k++] = address(this);
        list[k++] = address(token);
        list[k++] = address(registry);
        list[k++] = address(vault);
        list[k++] = address(market);
        list[k++] = address(distributor);
        list[k++] = address(emissions);
        list[k++] = address(slashing);
        list[k++] = address(hub);
    }

    // ---------------------------------------------------------------- internal: reports
    function _submitReport(ReportArgs memory a) private {
        uint64 next = hub.nextEpoch();
        uint64 current = hub.currentEpoch();
        if (next >= current) {
            // Nothing has ended yet: the committee waits for the end of the epoch.
            time = hub.epochStart(next + 1) + a.signerSeed % hub.epochDuration();
            vm.warp(time);
            current = hub.currentEpoch();
        }
        uint64 last = current - 1;
        if (last > next + hub.MAX_EPOCH_GAP()) last = next + hub.MAX_EPOCH_GAP();
        if (last < next) return; // beyond the gap: only skipEpochs helps
        // A live committee reports the epoch that just ended; otherwise mostly the next epoch,
        // sometimes a later one (the epochs between are never reported).
        uint64 epoch = a.latest ? last : a.epochSeed % 4 == 0 ? uint64(_bound(a.epochSeed >> 8, next, last)) : next;

        uint256 budget = emissions.budgetOf(epoch);
        uint256 total = a.rewardSeed % 5 == 0 ? 0 : _bound(a.rewardSeed >> 8, 0, budget);
        uint256[OWNERS] memory cumulative = ghostCumulative;
        uint256 weights;
        for (uint256 i; i < OWNERS; ++i) {
            weights += ((a.rewardSeed >> (16 + 8 * i)) & 0xff) + 1;
        }
        uint256 assigned;
        for (uint256 i = 1; i < OWNERS; ++i) {
            uint256 share = total * (((a.rewardSeed >> (16 + 8 * i)) & 0xff) + 1) / weights;
            cumulative[i] += share;
            assigned += share;
        }
        cumulative[0] += total - assigned;
        // A root with nothing new is allowed (rewardsRoot != 0, totalRewards 0); so is no root.
        bool publish = total != 0 || (a.rewardSeed >> 250) % 2 == 0;
        (bytes32 root,) = _tree(cumulative, 0);

        // Field by field (a struct literal of nine fields is too deep for the stack).
        IOracleHub.EpochReport memory report;
        report.epoch = epoch;
        report.parent = ghostLastDigest;
        report.committeeVersion = hub.committeeVersion();
        report.rewardsRoot = publish ? root : bytes32(0);
        report.totalRewards = total;
        report.resultsRoot = keccak256(abi.encode("results", epoch));
        report.slashes = _slashRequests(a.slashSeed);
        // What the failed leases pay only lowers the budget; the total above is within the
        // budget without it, so failedDemand 0 keeps every generated report valid.
        report.failedNodes = _failedNodes(a.slashSeed >> 128);
        // In storage, not on the stack (this function is at the stack's limit).
        _pendingDigest = hub.reportDigest(report);
        bytes memory signatures = _sign(_pendingDigest, a.signerSeed);

        uint256 emittedBefore = emissions.totalEmitted();
        try hub.submitReport(report, signatures) {
            ++done["submitReport"];
            ghostLastDigest = _pendingDigest;
            if (report.slashes.length > 0) ++done["reportWithSlashes"];
            uint256 minted = emissions.totalEmitted() - emittedBefore;
            ghostMintedFor[epoch] += minted;
            if (ghostMintedFor[epoch] > ghostMaxMintedInEpoch) {
                ghostMaxMintedInEpoch = ghostMintedFor[epoch];
                ghostMaxMintedEpoch = epoch;
            }
            if (publish) {
                ghostCumulative = cumulative;
                uint256 slot = epoch & 1;
                ringEpoch[slot] = epoch;
                _ringCumulative[slot] = cumulative;
                ringHas[slot] = true;
            }
        } catch (bytes memory err) {
            ++ghostRejectedReports;
            ghostRejectedReportError = err;
        }
    }

    function _slashRequests(uint256 seed) private view returns (ISlashingManager.SlashRequest[] memory list) {
        uint256 n = _nodes.length == 0 ? 0 : seed % 4;
        // Slashes are rare: a report carries some only one time in two.
        if ((seed >> 2) % 2 == 0) n = 0;
        list = new ISlashingManager.SlashRequest[](n);
        for (uint256 i; i < n; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            NodeInfo memory node = _nodes[s % _nodes.length];
            uint8 reason = uint8(1 + (s >> 8) % 5);
            uint256 leaseId;
            if (reason == uint8(ISlashingManager.SlashReason.StorageAuditFailed)) {
                leaseId = _storageLeaseOf(node.key);
                if (leaseId == 0) reason = uint8(ISlashingManager.SlashReason.Offline);
            }
            list[i] = ISlashingManager.SlashRequest({
                node: node.key,
                reason: reason,
                leaseId: leaseId,
                chunkIndex: 0,
                evidence: keccak256(abi.encode("evidence", s))
            });
        }
    }

    /// @dev Registered nodes the report records as failed (their leases are refunded for the
    /// epoch): none one time in two, else those whose bit is set, by increasing address.
    function _failedNodes(uint256 seed) private view returns (address[] memory list) {
        uint256 n = _nodes.length;
        if (n == 0 || seed % 2 == 0) return list;
        address[] memory picked = new address[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            if ((seed >> (1 + i)) & 1 == 1) picked[count++] = _nodes[i].key;
        }
        // Insertion sort by address: n <= MAX_NODES.
        for (uint256 i = 1; i < count; ++i) {
            address x = picked[i];
            uint256 j = i;
            while (j > 0 && picked[j - 1] > x) {
                picked[j] = picked[j - 1];
                --j;
            }
            picked[j] = x;
        }
        list = new address[](count);
        for (uint256 i; i < count; ++i) {
            list[i] = picked[i];
        }
    }

    function _storageLeaseOf(address node) private view returns (uint256) {
        for (uint256 id = market.leaseCount(); id > 0; --id) {
            IMarketplace.Lease memory l = market.getLease(id);
            if (l.node == node && l.dataRoot != bytes32(0)) return id;
        }
        return 0;
    }

    /// @dev 3 to 5 of the 5 members, 65 bytes r | s | v each, signers increasing.
    function _sign(bytes32 digest, uint256 seed) private view returns (bytes memory signatures) {
        uint256 n = _committeeKeys.length;
        uint256 count = 3 + seed % (n - 2);
        uint256 skip = n - count; // leave out `skip` members from a seeded start
        uint256 start = (seed >> 8) % n;
        for (uint256 i; i < n; ++i) {
            uint256 rel = (i + n - start) % n;
            if (rel < skip) continue;
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(_committeeKeys[i], digest);
            signatures = bytes.concat(signatures, abi.encodePacked(r, s, v));
        }
    }

    /// @dev The four-leaf Merkle sum tree of (owner i, cumulative[i]) (RewardsDistributor's:
    /// a parent hashes both children's hash and sum, sorted by hash), its top hash, and the
    /// proof of leaf `index` (the sibling's hash and sum per level).
    function _tree(uint256[OWNERS] memory cumulative, uint256 index)
        private
        view
        returns (bytes32 root, bytes32[] memory proof)
    {
        bytes32[OWNERS] memory leaves;
        for (uint256 i; i < OWNERS; ++i) {
            leaves[i] = distributor.leafOf(owners[i], cumulative[i]);
        }
        (bytes32 left, uint256 leftSum) = _sumPair(leaves[0], cumulative[0], leaves[1], cumulative[1]);
        (bytes32 right, uint256 rightSum) = _sumPair(leaves[2], cumulative[2], leaves[3], cumulative[3]);
        (root,) = _sumPair(left, leftSum, right, rightSum);
        proof = new bytes32[](4);
        proof[0] = leaves[index ^ 1];
        proof[1] = bytes32(cumulative[index ^ 1]);
        proof[2] = index < 2 ? right : left;
        proof[3] = bytes32(index < 2 ? rightSum : leftSum);
    }

    function _sumPair(bytes32 a, uint256 sa, bytes32 b, uint256 sb) private pure returns (bytes32, uint256) {
        bytes32 h = a < b ? keccak256(abi.encode(a, sa, b, sb)) : keccak256(abi.encode(b, sb, a, sa));
        return (h, sa + sb);
    }

    function _executeSlash(uint256 id, ISlashingManager.PendingSlash memory s) private {
        uint256 slashable = vault.slashableOf(s.node);
        uint256 expected = s.amount < slashable ? s.amount : slashable;
        slashing.executeSlash(id);
        if (vault.slashableOf(s.node) != slashable - expected) ++ghostSlashMismatches;
        uint256 burned = expected * slashing.burnShareBps() / 10_000;
        ghostBurned += burned;
        ghostTreasuryIn += expected - burned;
        _ghostSlash(s.node, expected);
        ++done["executeSlash"];
    }

    // ---------------------------------------------------------------- internal: model
    /// @dev What the model pays: matured entries whose release epoch is settled.
    function _ghostWithdraw(address node, uint64 settledBefore) private view returns (uint256 due) {
        GhostEntry[] storage q = _ghostQueue[node];
        for (uint256 i; i < q.length; ++i) {
            if (q[i].releaseAt <= time && _epochOf(q[i].releaseAt) < settledBefore) due += q[i].amount;
        }
    }

    function _ghostCommitWithdraw(address node, uint64 settledBefore) private {
        GhostEntry[] storage q = _ghostQueue[node];
        uint256 kept;
        for (uint256 i; i < q.length; ++i) {
            GhostEntry memory e = q[i];
            if (e.releaseAt <= time && _epochOf(e.releaseAt) < settledBefore) continue;
            q[kept++] = e;
        }
        while (q.length > kept) q.pop();
    }

    /// @dev A slash takes bonded stake first, then the newest unbonding entries.
    function _ghostSlash(address node, uint256 amount) private {
        uint256 fromBonded = amount < ghostBonded[node] ? amount : ghostBonded[node];
        ghostBonded[node] -= fromBonded;
        uint256 rest = amount - fromBonded;
        GhostEntry[] storage q = _ghostQueue[node];
        while (rest > 0 && q.length > 0) {
            GhostEntry storage e = q[q.length - 1];
            uint256 take = rest < e.amount ? rest : e.amount;
            rest -= take;
            if (take == e.amount) q.pop();
            else e.amount -= uint128(take);
        }
    }

    function _shortfall(address node, string memory what, uint256 paid, uint256 due) private {
        if (ghostWithdrawShortfalls++ == 0) {
            ghostWithdrawShortfallCase = string.concat(
                "node ", vm.toString(node), " withdraw ", what, " ", vm.toString(paid), ", model due ", vm.toString(due)
            );
        }
    }

    /// @dev The protocol fee settling `l` pays now: on the epochs that ended, that the hub has
    /// settled and that the node did not fail (those are refunded), at the lease's own fee.
    function _expectedFee(IMarketplace.Lease memory l) private view returns (uint256) {
        uint64 current = market.currentEpoch();
        uint64 upTo = l.endEpoch < current ? l.endEpoch : current;
        uint64 settled = hub.nextEpoch();
        if (upTo > settled) upTo = settled;
        if (upTo <= l.paidThrough) return 0;
        uint256 served;
        for (uint64 e = l.paidThrough; e < upTo; ++e) {
            if (!market.failedIn(l.node, e)) ++served;
        }
        return uint256(l.pricePerEpoch) * served * l.feeBps / 10_000;
    }

    /// @dev Records the demand of the current epoch and the two before it, once each.
    function _observeDemand() private {
        uint64 current = market.currentEpoch();
        uint64 from = current > 2 ? current - 2 : 0;
        for (uint64 e = from; e <= current; ++e) {
            if (observed[e] || observedEpochs.length >= MAX_OBSERVED) continue;
            observed[e] = true;
            observedDemand[e] = market.demandOf(e);
            observedEpochs.push(e);
        }
    }

    // ---------------------------------------------------------------- internal: picking
    function _node(uint256 seed) private view returns (bool ok, NodeInfo memory n) {
        if (_nodes.length == 0) return (false, n);
        return (true, _nodes[seed % _nodes.length]);
    }

    function _lease(uint256 seed) private view returns (bool ok, uint256 id, IMarketplace.Lease memory l) {
        uint256 count = market.leaseCount();
        if (count == 0) return (false, 0, l);
        id = 1 + seed % count;
        return (true, id, market.getLease(id));
    }

    function _slash(uint256 seed) private view returns (bool ok, uint256 id, ISlashingManager.PendingSlash memory s) {
        uint256 count = slashing.slashCount();
        if (count == 0) return (false, 0, s);
        id = 1 + seed % count;
        return (true, id, slashing.getSlash(id));
    }

    function _hardware(INodeRegistry.NodeKind kind) private pure returns (INodeRegistry.HardwareClaim memory h) {
        if (kind == INodeRegistry.NodeKind.Compute) {
            h.gpuCount = 8;
            h.gpuModel = "H100-SXM";
            h.hwClass = 1;
        } else if (kind == INodeRegistry.NodeKind.Storage) {
            h.capacityBytes = 1 << 40;
        } else {
            h.h3Cell = 0x8828308281fffff;
            h.latE6 = 51_500_000;
            h.lonE6 = -120_000;
            h.txPowerDbm = 270;
            h.antennaGainDbi = 30;
        }
    }

    function _epochOf(uint256 t) private view returns (uint64) {
        uint64 g = hub.genesis();
        return t < g ? 0 : uint64((t - g) / hub.epochDuration());
    }

    /// @dev x if it lies in [lo, hi], else x folded into it.
    function _bound(uint256 x, uint256 lo, uint256 hi) private pure returns (uint256) {
        if (hi <= lo) return lo;
        if (x >= lo && x <= hi) return x;
        return lo + x % (hi - lo + 1);
    }
}
