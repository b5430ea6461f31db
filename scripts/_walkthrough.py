"""The actors of the on-chain walk-through (`ape run demo`): providers with node keys,
customers, the test committee; and the record of what happened, for the summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from ape import accounts, chain
from eth_account import Account

from oracle.eip712 import EpochReport, SlashRequest, pack_signatures, sign_node_binding, sign_report
from oracle.hardware import HardwareClaim, NodeKind, NodeStatus, SlashReason
from oracle.merkle import ChunkTree, RewardsTree
from scripts._deploy import TOKEN

REGION = 840  # the demo's region code (ISO 3166 numeric for the United States)
KIND_WEIGHT = {"compute": 3, "storage": 2, "wireless": 1}
PRICE = {"compute": 400, "storage": 150, "wireless": 50}  # whole tokens per epoch
HARDWARE = {
    "compute": lambda i: HardwareClaim.compute("CPU-AVX2-16C", gpu_count=1, hw_class=1),
    "storage": lambda i: HardwareClaim.storage(64 << 30),
    "wireless": lambda i: HardwareClaim.wireless(37.7749 + 0.01 * i, -122.4194 + 0.012 * i),
}


def fmt(amount: int) -> str:
    """Token base units as a readable amount, e.g. '12,345.67 PLN'."""
    return f"{amount / TOKEN:,.2f} PLN"


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


@dataclass
class DemoNode:
    address: str
    key: bytes
    owner: str
    kind: str
    behaviour: str
    rewards: int = 0
    slashed: int = 0


@dataclass
class EpochRecord:
    epoch: int
    report_tx: str
    demand: int
    emissions: int
    rewards_total: int
    gas_used: int
    signers: list[str]
    slashes: list[dict] = field(default_factory=list)


class Walkthrough:
    def __init__(self, suite, deployer, say):
        self.suite = suite
        self.deployer = deployer
        self.say = say
        self.nodes: list[DemoNode] = []
        self.leases: list[int] = []
        self.epochs: list[EpochRecord] = []
        self.cumulative: dict[str, int] = {}
        self.tree = RewardsTree({})
        self.tree_epoch = 0
        self.claimed: dict[str, int] = {}

    # ------------------------------------------------------------------ actors
    def fund(self, account, tokens: int) -> None:
        self.suite.token.transfer(account, tokens * TOKEN, sender=self.deployer)

    def add_node(self, owner, kind: str, behaviour: str) -> DemoNode:
        s = self.suite
        key = Account.create()
        index = sum(1 for n in self.nodes if n.kind == kind)
        sig = sign_node_binding(key.key, owner.address, chain.chain_id, s.registry.address)
        endpoint = f"http://127.0.0.1:{9100 + len(self.nodes)}"
        kind_id = NodeKind.parse(kind)
        s.registry.register(
            key.address,
            kind_id,
            HARDWARE[kind](index).as_tuple(),
            REGION,
            endpoint,
            sig,
            sender=owner,
        )
        amount = s.registry.minStake(kind_id) * 3 // 2
        s.token.approve(s.vault.address, amount, sender=owner)
        tx = s.vault.stake(key.address, amount, sender=owner)
        s.registry.activate(key.address, sender=owner)
        s.market.setPrice(key.address, PRICE[kind] * TOKEN, sender=owner)
        node = DemoNode(key.address, bytes(key.key), owner.address, kind, behaviour)
        self.nodes.append(node)
        self.say(
            f"  {kind:8s} node {short(key.address)} of {short(owner.address)}: staked "
            f"{fmt(amount)} (stake tx {tx.gas_used:,} gas), active, {PRICE[kind]} PLN/epoch"
        )
        return node

    def lease(self, customer, node: DemoNode, epochs: int, data: bytes | None = None) -> int:
        s = self.suite
        price = s.market.priceOf(node.address)
        root, size = b"\x00" * 32, 0
        if data is not None:
            root, size = ChunkTree.from_data(data).root, len(data)
        s.token.approve(s.market.address, price * epochs, sender=customer)
        tx = s.market.openLease(node.address, REGION, epochs, price, root, size, sender=customer)
        lease_id = s.market.leaseCount()
        self.leases.append(lease_id)
        extra = f", data root {root.hex()[:12]}… ({size:,} bytes)" if data is not None else ""
        self.say(
            f"  lease #{lease_id}: {short(customer.address)} -> {node.kind} node "
            f"{short(node.address)}, {epochs} epochs, escrow {fmt(price * epochs)}{extra} "
            f"({tx.gas_used:,} gas)"
        )
        return lease_id

    def committee(self, specs) -> list:
        members = []
        for spec in specs:
            if not spec.startswith("test:"):
                raise ValueError(f"the walk-through signs with test keys; {spec} is not one")
            members.append(accounts.test_accounts[int(spec[5:])])
        return sorted(members, key=lambda a: int(a.address, 16))

    # ------------------------------------------------------------------ time
    def advance(self, seconds: int) -> None:
        chain.pending_timestamp = chain.pending_timestamp + seconds
        chain.mine()

    def advance_to_epoch(self, epoch: int) -> None:
        target = self.suite.market.epochStart(epoch) + 1
        if target > chain.pending_timestamp:
            chain.pending_timestamp = target
        chain.mine()

    # ------------------------------------------------------------------ epochs
    def settle_leases(self) -> None:
        for lease_id in self.leases:
            self.suite.market.settle(lease_id, sender=self.deployer)

    def settle_epoch(self, epoch: int, committee: list, slashes: tuple[SlashRequest, ...]) -> None:
        s = self.suite
        self.advance_to_epoch(epoch + 1)
        self.settle_leases()
        demand = s.market.demandOf(epoch)
        budget = s.emissions.budgetOf(epoch)
        slashed = {r.node for r in slashes if r.reason != SlashReason.STORAGE_AUDIT_FAILED}
        earning = [
            n
            for n in self.nodes
            if n.behaviour == "honest"
            and n.address not in slashed
            and s.registry.isEligible(n.address)
        ]
        weight = sum(KIND_WEIGHT[n.kind] for n in earning)
        total = 0
        for n in earning:
            share = budget * KIND_WEIGHT[n.kind] // weight
            n.rewards += share
            self.cumulative[n.owner] = self.cumulative.get(n.owner, 0) + share
            total += share
        tree = RewardsTree(self.cumulative)
        report = EpochReport(
            epoch,
            s.hub.committeeVersion(),
            tree.root,
            total,
            results_root=b"\x00" * 31 + bytes([epoch % 256]),
            slashes=slashes,
        )
        # Any t members suffice; rotate who is left out.
        t = s.hub.threshold()
        signers = [committee[(epoch + i) % len(committee)] for i in range(t)]
        sigs = pack_signatures(
            sign_report(m.private_key, report, chain.chain_id, s.hub.address) for m in signers
        )
        tx = s.hub.submitReport(report.as_tuple(), sigs, sender=signers[0])
        self.tree, self.tree_epoch = tree, epoch
        record = EpochRecord(
            epoch,
            tx.txn_hash,
            demand,
            total,
            total,
            tx.gas_used,
            sorted(m.address for m in signers),
        )
        for log in tx.decode_logs(s.slashing.SlashQueued):
            record.slashes.append(
                {
                    "slash_id": log.slashId,
                    "node": log.node,
                    "reason": SlashReason(log.reason).name.lower(),
                    "amount": log.amount,
                }
            )
        self.epochs.append(record)
        self.say(
            f"  epoch {epoch}: demand {fmt(demand)}, budget {fmt(budget)}, minted {fmt(total)} "
            f"to {len(earning)} nodes, {len(slashes)} slash(es); report {tx.txn_hash[:12]}… "
            f"signed by {t}, {tx.gas_used:,} gas"
        )

    # ------------------------------------------------------------------ slashes and claims
    def _node(self, address: str) -> DemoNode:
        return next(n for n in self.nodes if n.address == address)

    def dispute(self, slash_id: int, node: DemoNode, chunk: bytes, proof: list[bytes]) -> None:
        owner = accounts.test_accounts[
            [a.address for a in accounts.test_accounts].index(node.owner)
        ]
        tx = self.suite.slashing.disputeStorageSlash(slash_id, chunk, proof, sender=owner)
        self.say(
            f"  slash #{slash_id} against {short(node.address)} disputed with chunk "
            f"{self.suite.slashing.getSlash(slash_id).chunkIndex} + {len(proof)}-level proof: "
            f"cancelled ({tx.gas_used:,} gas)"
        )
        for e in self.epochs:
            e.slashes = [
                dict(x, disputed=True) if x["slash_id"] == slash_id else x for x in e.slashes
            ]

    def execute_slash(self, slash_id: int) -> None:
        tx = self.suite.slashing.executeSlash(slash_id, sender=self.deployer)
        log = next(iter(tx.decode_logs(self.suite.slashing.SlashExecuted)))
        self._node(log.node).slashed += log.slashed
        self.say(
            f"  slash #{slash_id} against {short(log.node)} executed: {fmt(log.slashed)} "
            f"({fmt(log.burned)} burned, {fmt(log.toTreasury)} to treasury)"
        )

    def claim(self, owner) -> None:
        amount = self.tree.amounts.get(owner.address, 0)
        if amount == 0:
            self.say(f"  {short(owner.address)} has nothing to claim")
            return
        before = self.suite.token.balanceOf(owner)
        tx = self.suite.distributor.claim(
            self.tree_epoch, owner.address, amount, self.tree.proof(owner.address), sender=owner
        )
        got = self.suite.token.balanceOf(owner) - before
        self.claimed[owner.address] = self.claimed.get(owner.address, 0) + got
        self.say(
            f"  {short(owner.address)} claimed {fmt(got)} with a "
            f"{len(self.tree.proof(owner.address))}-hash proof ({tx.gas_used:,} gas)"
        )

    def unbond_and_withdraw(self, owner, node: DemoNode, amount: int) -> None:
        s = self.suite
        s.vault.requestUnbond(node.address, amount, sender=owner)
        self.say(
            f"  {short(node.address)}: unbonding {fmt(amount)}, releases after "
            f"{s.vault.unbondingDelay()} s (still slashable until then)"
        )
        self.advance(s.vault.unbondingDelay() + 1)
        tx = s.vault.withdraw(node.address, sender=owner)
        self.say(f"  withdrew {fmt(amount)} ({tx.gas_used:,} gas)")

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict:
        claimed_by_owner = dict(self.claimed)
        nodes = []
        for n in self.nodes:
            # Claims are per owner; attribute them to the owner's nodes in proportion to rewards.
            owner_total = sum(m.rewards for m in self.nodes if m.owner == n.owner)
            claimed = (
                claimed_by_owner.get(n.owner, 0) * n.rewards // owner_total if owner_total else 0
            )
            nodes.append(
                {
                    "node": n.address,
                    "owner": n.owner,
                    "kind": n.kind,
                    "behaviour": n.behaviour,
                    "status": NodeStatus(self.suite.registry.statusOf(n.address)).name.lower(),
                    "stake": self.suite.vault.slashableOf(n.address),
                    "rewards": n.rewards,
                    "claimed": claimed,
                    "slashed": n.slashed,
                }
            )
        return {
            "chain_id": chain.chain_id,
            "contracts": self.suite.addresses,
            "epochs": [e.__dict__ for e in self.epochs],
            "nodes": nodes,
        }

    def print_summary(self) -> None:
        say = self.say
        say("\n== Summary: epochs")
        say(f"  {'epoch':>5}  {'demand':>16}  {'emissions':>16}  {'gas':>9}  slashes  report tx")
        for e in self.epochs:
            slashes = (
                ", ".join(
                    f"{x['reason']} {short(x['node'])}"
                    + (" (disputed)" if x.get("disputed") else "")
                    for x in e.slashes
                )
                or "-"
            )
            say(
                f"  {e.epoch:>5}  {fmt(e.demand):>16}  {fmt(e.emissions):>16}  {e.gas_used:>9,}  "
                f"{slashes}  {e.report_tx[:18]}…"
            )
        say("\n== Summary: nodes")
        say(
            f"  {'node':14s} {'kind':9s} {'behaviour':15s} {'status':8s} {'stake':>16} "
            f"{'rewards':>16} {'slashed':>14}"
        )
        for n in self.summary()["nodes"]:
            say(
                f"  {short(n['node']):14s} {n['kind']:9s} {n['behaviour']:15s} {n['status']:8s} "
                f"{fmt(n['stake']):>16} {fmt(n['rewards']):>16} {fmt(n['slashed']):>14}"
            )
