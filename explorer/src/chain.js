// What this page reads from the chain itself, through the JSON-RPC URL /deployment names
// (never through the oracle): settled roots, emissions, stake, slashes, signers, claims.

import { BrowserProvider, Contract, Interface, JsonRpcProvider, getAddress, isAddress, recoverAddress } from "ethers";

import distributorAbi from "../../abi/RewardsDistributor.json";
import emissionsAbi from "../../abi/EmissionsController.json";
import hubAbi from "../../abi/OracleHub.json";
import marketAbi from "../../abi/Marketplace.json";
import registryAbi from "../../abi/NodeRegistry.json";
import slashingAbi from "../../abi/SlashingManager.json";
import tokenAbi from "../../abi/PlinthToken.json";
import vaultAbi from "../../abi/StakingVault.json";

export const KINDS = ["compute", "storage", "wireless"];
export const STATUSES = ["none", "registered", "active", "jailed", "exiting", "exited"];
export const SLASH_REASONS = ["none", "invalid_compute", "missed_deadline", "storage_audit_failed", "location_spoofed", "offline"];
export const SLASH_STATUSES = ["none", "pending", "executed", "disputed", "cancelled"];
export const SCHEMES = ["ecdsa", "bls"];

export const hubInterface = new Interface(hubAbi);
const MAX_COUNTED = 5000; // registry entries the network page reads (3 calls each, batched)

/** Where this page reads the chain: the RPC and the OracleHub address, the user's own when set
 * (the settings page, kept in localStorage), else what this oracle's /deployment says. Every
 * other contract is derived from the hub on the chain, or cross-checked against it. */
export function anchor(deployment) {
  const rpc = localStorage.getItem("plinth.rpc") || deployment.rpc_url;
  const hub = localStorage.getItem("plinth.hub") || deployment.contracts?.OracleHub;
  const own = Boolean(localStorage.getItem("plinth.rpc") || localStorage.getItem("plinth.hub"));
  return { rpc, hub, own };
}

const same = (a, b) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

export class ChainView {
  /** Opens the chain view, refusing an RPC on another chain and a deployment record that
   * disagrees with how the contracts on the chain are wired. */
  static async open(deployment) {
    const { rpc, hub, own } = anchor(deployment);
    if (!rpc) {
      throw new Error(
        "this oracle publishes no JSON-RPC URL for browsers ([api] public_rpc_url in its oracle.toml); set one in the settings (#/settings)",
      );
    }
    if (!isAddress(hub)) throw new Error("no OracleHub address: set one in the settings (#/settings)");
    const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true, batchMaxCount: 20 });
    const chainId = Number(await provider.send("eth_chainId", []));
    if (chainId !== Number(deployment.chain_id)) {
      throw new Error(`the RPC ${rpc} is on chain ${chainId}; this oracle's deployment is on chain ${deployment.chain_id}`);
    }
    const view = new ChainView(deployment, provider, { rpc, own, chainId });
    await view._wire(getAddress(hub));
    return view;
  }

  constructor(deployment, provider, source) {
    this.deployment = deployment;
    this.provider = provider;
    this.source = source;
    // Logs are read from the block /deployment says the suite was deployed at (a later block
    // could only hide reports, making checks fail, never pass); 0 without one.
    this.fromBlock = Number.isSafeInteger(deployment.from_block) && deployment.from_block >= 0 ? deployment.from_block : 0;
    this._reports = null;
    this._emitted = null;
  }

  async _wire(hub) {
    const at = (address, abi) => new Contract(address, abi, this.provider);
    this.hub = at(hub, hubAbi);
    const [emissions, distributor, slashing] = await this.hub.contracts();
    this.emissions = at(emissions, emissionsAbi);
    this.distributor = at(distributor, distributorAbi);
    this.slashing = at(slashing, slashingAbi);
    const market = await this.emissions.marketplace();
    this.market = at(market, marketAbi);
    // The registry, vault and token are not reachable from the hub: they come from the
    // deployment record and must agree with each other and with the hub's slashing manager.
    const c = this.deployment.contracts || {};
    for (const name of ["NodeRegistry", "StakingVault", "PlinthToken"]) {
      if (!isAddress(c[name])) throw new Error(`this oracle's /deployment names no ${name}`);
    }
    this.registry = at(getAddress(c.NodeRegistry), registryAbi);
    this.vault = at(getAddress(c.StakingVault), vaultAbi);
    this.token = at(getAddress(c.PlinthToken), tokenAbi);
    const [vaultOfRegistry, slasherOfRegistry, registryOfVault, tokenOfVault, minter] = await Promise.all([
      this.registry.stakingVault(),
      this.registry.slashingManager(),
      this.vault.registry(),
      this.vault.token(),
      this.token.minter(),
    ]);
    const wiring = [
      ["EmissionsController", c.EmissionsController, emissions],
      ["RewardsDistributor", c.RewardsDistributor, distributor],
      ["SlashingManager", c.SlashingManager, slashing],
      ["Marketplace", c.Marketplace, market],
      ["NodeRegistry.stakingVault", c.StakingVault, vaultOfRegistry],
      ["NodeRegistry.slashingManager", slashing, slasherOfRegistry],
      ["StakingVault.registry", c.NodeRegistry, registryOfVault],
      ["StakingVault.token", c.PlinthToken, tokenOfVault],
      ["PlinthToken.minter", emissions, minter],
    ];
    const wrong = wiring.filter(([, said, onChain]) => !same(said, onChain));
    if (wrong.length) {
      throw new Error(
        "the deployment this oracle serves disagrees with the contracts on the chain: " +
          wrong.map(([name, said, onChain]) => `${name} is ${onChain} on the chain, not ${said}`).join("; "),
      );
    }
  }

  async now() {
    const block = await this.provider.getBlock("latest");
    return Number(block.timestamp);
  }

  async committee(blockTag = "latest") {
    const at = { blockTag };
    const [members, threshold, version, scheme, nextEpoch] = await Promise.all([
      this.hub.committee(at),
      this.hub.threshold(at),
      this.hub.committeeVersion(at),
      this.hub.scheme(at),
      this.hub.nextEpoch(at),
    ]);
    return {
      members: members.map((m) => getAddress(m)),
      threshold: Number(threshold),
      version: Number(version),
      scheme: SCHEMES[Number(scheme)] ?? String(scheme),
      nextEpoch: Number(nextEpoch),
    };
  }

  /** Every ReportAccepted: epoch -> {digest, resultsRoot, tx, block}. */
  async reports() {
    if (!this._reports) {
      this._reports = this.hub.queryFilter(this.hub.filters.ReportAccepted(), this.fromBlock, "latest").then((logs) => {
        const out = new Map();
        for (const log of logs) {
          out.set(Number(log.args.epoch), {
            digest: log.args.digest,
            resultsRoot: log.args.resultsRoot,
            tx: log.transactionHash,
            block: log.blockNumber,
          });
        }
        return out;
      });
    }
    return this._reports;
  }

  /** Every EpochEmitted: epoch -> {demand, floor, budget, minted} (BigInt). */
  async emitted() {
    if (!this._emitted) {
      this._emitted = this.emissions.queryFilter(this.emissions.filters.EpochEmitted(), this.fromBlock, "latest").then((logs) => {
        const out = new Map();
        for (const log of logs) {
          const { epoch, demand, floor, budget, minted } = log.args;
          out.set(Number(epoch), { demand, floor, budget, minted });
        }
        return out;
      });
    }
    return this._emitted;
  }

  /** Who signed the report of an epoch, from its transaction: ECDSA signatures recovered
   * against the digest the hub logged; BLS the bitmap over the sorted committee. */
  async signers(report, committeeThen = null) {
    const tx = await this.provider.getTransaction(report.tx);
    let call;
    try {
      call = hubInterface.parseTransaction({ data: tx.data });
    } catch {
      return { scheme: "unknown", signers: [] };
    }
    if (call.name === "submitReport") {
      const sigs = call.args.signatures.slice(2);
      const out = [];
      for (let i = 0; i + 130 <= sigs.length; i += 130) {
        const sig = "0x" + sigs.slice(i, i + 130);
        out.push(recoverAddress(report.digest, {
          r: "0x" + sig.slice(2, 66),
          s: "0x" + sig.slice(66, 130),
          v: parseInt(sig.slice(130, 132), 16),
        }));
      }
      return { scheme: "ecdsa", signers: out };
    }
    // the bitmap indexes the committee the report was checked against: the one before its block
    const committee = committeeThen ?? (await this.committee(report.block - 1));
    const bitmap = BigInt(call.args.signers);
    const sorted = [...committee.members].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    return { scheme: "bls", signers: sorted.filter((_, i) => (bitmap >> BigInt(i)) & 1n) };
  }

  /** Nodes by kind and status, from the registry (the first MAX_COUNTED of them). */
  async nodeCounts() {
    const total = Number(await this.registry.nodeCount());
    const read = Math.min(total, MAX_COUNTED);
    const counts = new Map(KINDS.map((k) => [k, new Map()]));
    for (let start = 0; start < read; start += 100) {
      const batch = [];
      for (let i = start; i < Math.min(read, start + 100); i++) {
        batch.push(this.registry.nodeAt(i).then((a) => Promise.all([this.registry.kindOf(a), this.registry.statusOf(a)])));
      }
      for (const [kind, status] of await Promise.all(batch)) {
        const byStatus = counts.get(KINDS[Number(kind)]);
        const name = STATUSES[Number(status)];
        if (byStatus && name) byStatus.set(name, (byStatus.get(name) || 0) + 1);
      }
    }
    return { counts, total, read, truncated: read < total };
  }

  async node(address) {
    const [n, bonded, unbonding, entries, slashable, pending, eligible] = await Promise.all([
      this.registry.getNode(address),
      this.vault.bondedOf(address),
      this.vault.unbondingOf(address),
      this.vault.unbondingEntries(address),
      this.vault.slashableOf(address),
      this.slashing.pendingSlashAmount(address),
      this.registry.isEligible(address),
    ]);
    return {
      owner: getAddress(n.owner),
      kind: KINDS[Number(n.kind)],
      status: STATUSES[Number(n.status)],
      region: Number(n.region),
      faults: Number(n.faults),
      jailedUntil: Number(n.jailedUntil),
      endpoint: n.endpoint,
      hardware: n.hardware,
      eligible,
      bonded,
      unbonding,
      entries: entries.map((e) => ({ amount: e.amount, releaseAt: Number(e.releaseAt) })),
      slashable,
      pending,
    };
  }

  /** A node's slashes, from SlashQueued logs and each slash's current record. */
  async slashesOf(address) {
    const logs = await this.slashing.queryFilter(this.slashing.filters.SlashQueued(null, address), this.fromBlock, "latest");
    return Promise.all(
      logs.map(async (log) => {
        const s = await this.slashing.getSlash(log.args.slashId);
        return {
          id: Number(log.args.slashId),
          epoch: Number(log.args.epoch),
          reason: SLASH_REASONS[Number(log.args.reason)],
          amount: log.args.amount,
          executableAt: Number(log.args.executableAt),
          status: SLASH_STATUSES[Number(s.status)],
        };
      }),
    );
  }

  async account(address) {
    const [claimed, balance] = await Promise.all([
      this.distributor.claimedOf(address),
      this.token.balanceOf(address),
    ]);
    return { claimed, balance };
  }
}

/** The injected wallet (EIP-1193, window.ethereum), on the deployment's chain. */
export async function walletSigner(deployment) {
  if (!window.ethereum) throw new Error("no injected wallet (window.ethereum) in this browser");
  const provider = new BrowserProvider(window.ethereum);
  await provider.send("eth_requestAccounts", []);
  const network = await provider.getNetwork();
  if (Number(network.chainId) !== Number(deployment.chain_id)) {
    throw new Error(`the wallet is on chain ${network.chainId}; switch it to chain ${deployment.chain_id}`);
  }
  return provider.getSigner();
}

export function distributorWith(view, signer) {
  return new Contract(view.distributor.target, distributorAbi, signer);
}
