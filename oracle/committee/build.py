"""An operator's side of the committee rules over its own pipeline (oracle.service.pipeline):
its verdicts as a signed bundle, and the epoch's report built from members' bundles with its
own chain view and stored earlier reports. A solo operator is a committee of one
(`build_report`)."""

from __future__ import annotations

from collections.abc import Mapping

from oracle.committee import evidence as ev
from oracle.committee.rules import Bundle, score_bundles, sign_bundle
from oracle.protocol import compute
from oracle.protocol.hardware import NodeKind
from oracle.service.chain import LeaseInfo, NodeInfo
from oracle.service.pipeline import OracleService
from oracle.service.report import EpochBuild, build_epoch, failed_leased
from oracle.service.score import NodeInput


def own_bundle(service: OracleService, epoch: int) -> Bundle | None:
    """The operator's signed bundle of `epoch`, or None if it has not challenged it."""
    row = service.store.epoch(epoch)
    if row is None or row["state"] == "scheduled":
        return None
    chain = service.chain
    hub = chain.deployment.addresses["OracleHub"]
    digests = {o["challenge_id"]: ev.digest(o) for o in own_evidence(service, epoch).values()}
    return sign_bundle(
        service.key,
        chain.chain_id,
        hub,
        epoch,
        [{**v.entry(), "evidence": digests.get(v.challenge_id)}
         for v in service.store.verdicts_of(epoch)],
    )  # fmt: skip


def own_evidence(service: OracleService, epoch: int) -> dict[str, dict]:
    """digest -> evidence object (oracle.committee.evidence) of each of the operator's
    challenges of `epoch` that got an answer."""
    out = {}
    for cid, (request, responses) in service.store.exchanges(epoch).items():
        if responses:
            obj = ev.evidence_object(cid, request, responses)
            out[ev.digest(obj)] = obj
    return out


def evidence_of(service: OracleService, challenge_id: str) -> dict | None:
    """The evidence object of one of the operator's challenges (None: unknown, or no answer)."""
    held = service.store.exchange(challenge_id)
    if held is None or not held[1]:
        return None
    return ev.evidence_object(challenge_id, *held)


def build(
    service: OracleService,
    epoch: int,
    bundles: list[Bundle],
    evidence: Mapping[str, dict] | None = None,
) -> EpochBuild:
    """The epoch's report from validated bundles, the evidence objects the round holds (digest
    -> object), the operator's chain view and its stored earlier reports (reputations,
    cumulative rewards, and the last one's digest: the report's parent, so the hub refuses it
    once another report settled in between). Writes nothing."""
    chain, store = service.chain, service.store
    nodes = {n.node.lower(): n for n in chain.nodes()}
    leases = {x.lease_id: x for x in chain.leases()}
    previous = store.reputations(epoch)
    evidence = evidence or {}

    def make_input(node: str, verdicts, coverage_micro: int):
        if node not in nodes:
            return None
        return _node_input(nodes[node], verdicts, previous.get(node), leases, coverage_micro, epoch)

    row = store.epoch(epoch)  # the epoch's seed, as the chain gives it (every member the same)
    seed = bytes(row["seed"]) if row is not None else chain.epoch_seed(epoch)
    facts = facts_of(chain.chain_id, epoch, nodes, leases, service.settings.compute, seed)
    check = checker(evidence, facts)
    leased: dict[str, int] = {}
    for x in leases.values():
        if x.active_in(epoch):
            leased[x.node.lower()] = leased.get(x.node.lower(), 0) + x.price_per_epoch

    def budget(results) -> int:  # the demand of failed leases does not count
        return chain.budget(epoch, failed_leased(results, leased)[1])

    results = score_bundles(epoch, bundles, make_input, budget, check=check)
    version = chain.committee()[0]
    parent, cumulative = store.previous_report(epoch)
    return build_epoch(
        epoch, version, results, cumulative, service.settings.max_slashes, parent, leased
    )


def facts_of(
    chain_id: int,
    epoch: int,
    nodes: Mapping[str, NodeInfo],
    leases: Mapping[int, LeaseInfo],
    params: compute.Params,
    epoch_seed: bytes,
) -> ev.Facts:
    """The chain's view an evidence check needs, from the nodes (by lowercase address), leases
    (by id) as oracle.service.chain reads them, and the epoch's seed."""

    def compute_claim(node: str) -> tuple[int, int] | None:
        n = nodes.get(node)
        if n is None or n.kind != NodeKind.COMPUTE:
            return None
        return n.hardware.hw_class, n.hardware.gpu_count

    def lease(lease_id: int):
        x = leases.get(lease_id)
        return None if x is None else (x.node.lower(), x.data_root, x.data_size)

    return ev.Facts(chain_id, epoch, compute_claim, params, compute.matrix_seed_for(epoch_seed),
                    lease)  # fmt: skip


def checker(evidence: Mapping[str, dict], facts: ev.Facts):
    """score_bundles's `check`: what the evidence object a verdict names proves (None when the
    round holds none)."""

    def check(entry, member: str):
        obj = evidence.get(entry["evidence"])
        return None if obj is None else ev.check(entry, obj, facts, member)

    return check


def build_report(service: OracleService, epoch: int) -> EpochBuild:
    """Scores the epoch from the operator's own verdicts alone and stores its report (once): a
    committee of one. Scoring is a pure function of the stored verdicts and earlier
    reputations, so a restart after any step rebuilds the same report byte for byte."""
    result = build(service, epoch, [own_bundle(service, epoch)], own_evidence(service, epoch))
    service.adopt(epoch, result)
    return result


def _node_input(n: NodeInfo, verdicts, previous, leases, coverage_micro, epoch) -> NodeInput:
    """The scoring stage's input for one node: its counted verdicts and the chain's view. Its
    leases are those active in `epoch` (a closed lease ends where it was closed), so a pass
    claimed for any other lease weighs nothing."""
    rep, streak = previous if previous else (None, 0)
    return NodeInput(
        node=n.node,
        owner=n.owner,
        kind=n.kind,
        verdicts=tuple(verdicts),
        prev_reputation_bps=rep,
        prev_late_streak=streak,
        hw_class=n.hardware.hw_class,
        gpu_count=n.hardware.gpu_count,
        leases={
            x.lease_id: x.fee_per_epoch
            for x in leases.values()
            if x.node == n.node and x.active_in(epoch)
        },
        coverage_micro=coverage_micro,
    )
