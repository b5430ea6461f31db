// What this page reads from the chain itself, through the JSON-RPC URL /deployment names
// (never through the oracle): settled roots, emissions, stake, slashes, signers, claims.

import { BrowserProvider, Contract, Interface, JsonRpcProvider, getAddress, recoverAddress } from "ethers";

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

export class ChainView {
  constructor(deployment) {
    if (!deployment.rpc_url) {
      throw new Error(
        "this oracle publishes no JSON-RPC URL for browsers ([api] public_rpc_url in its oracle.toml)",
      );
    }
    this.deployment = deployment;
    this.provider = new JsonRpcProvider(deployment.rpc_url, deployment.chain_id, { staticNetwork: true });
    const c = deployment.contracts;
    const at = (name, abi) => new Contract(c[name], abi, this.provider);
    this.hub = at("OracleHub", hubAbi);
    this.emissions = at("EmissionsController", emissionsAbi);
    this.market = at("Marketplace", marketAbi);
    this.registry = at("NodeRegistry", registryAbi);
    this.vault = at("StakingVault", vaultAbi);
    this.slashing = at("SlashingManager", slashingAbi);
    this.distributor = at("RewardsDistributor", distributorAbi);
    this.token = at("PlinthToken", tokenAbi);
    this._reports = null;
    this._emitted = null;
  }

  async now() {
    const block = await this.provider.getBlock("latest");
    return Number(block.timestamp);
  }

  async committee() {
    const [members, threshold, version, scheme, nextEpoch] = await Promise.all([
      this.hub.committee(),
      this.hub.threshold(),
      this.hub.committeeVersion(),
      this.hub.scheme(),
      this.hub.nextEpoch(),
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
      this._reports = this.hub.queryFilter(this.hub.filters.ReportAccepted(), 0, "latest").then((logs) => {
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
      this._emitted = this.emissions.queryFilter(this.emissions.filters.EpochEmitted(), 0, "latest").then((logs) => {
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
  async signers(report, committee) {
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
    const bitmap = BigInt(call.args.signers);
    const sorted = [...committee.members].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    return { scheme: "bls", signers: sorted.filter((_, i) => (bitmap >> BigInt(i)) & 1n) };
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
    const logs = await this.slashing.queryFilter(this.slashing.filters.SlashQueued(null, address), 0, "latest");
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

export function distributorWith(deployment, signer) {
  return new Contract(deployment.contracts.RewardsDistributor, distributorAbi, signer);
}
