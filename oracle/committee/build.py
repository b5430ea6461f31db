"""An operator's side of the committee rules over its own pipeline (oracle.service.pipeline):
its verdicts as a signed bundle, and the epoch's report built from members' bundles with its
own chain view and stored earlier reports. A solo operator is a committee of one
(`build_report`)."""

from __future__ import annotations

from oracle.committee.rules import Bundle, score_bundles, sign_bundle
from oracle.protocol import compute
from oracle.service.chain import NodeInfo
from oracle.service.pipeline import OracleService
from oracle.service.report import EpochBuild, build_epoch
from oracle.service.score import NodeInput


def verdict_entries(service: OracleService, epoch: int) -> list[dict]:
    """The operator's verdicts of `epoch` as bundle entries (oracle.committee.rules): integers
    only, so every committee member scores them the same way."""
    out = []
    for v in service.store.verdicts_of(epoch):
        request, detail = v["request"], v["detail"] or ""
        chunk = 0
        if "[index " in detail:
            chunk = int(detail.rsplit("[index ", 1)[1].rstrip("]"))
        latency = v["latency_s"]
        out.append(
            {
                "challenge_id": v["challenge_id"],
                "node": v["node"].lower(),
                "kind": v["kind"],
                "passed": bool(v["passed"]),
                "reason": v["reason"],
                "detail": detail,
                "latency_us": None if latency is None else max(round(latency * 1e6), 0),
                "deadline_us": round(_deadline(service, v) * 1e6),
                "lease_id": int(request.get("lease_id") or 0),
                "chunk_index": chunk,
                "coverage_micro": max(int(request.get("coverage_micro", 0)), 0),
            }
        )
    return out


def own_bundle(service: OracleService, epoch: int) -> Bundle | None:
    """The operator's signed bundle of `epoch`, or None if it has not challenged it."""
    row = service.store.epoch(epoch)
    if row is None or row["state"] == "scheduled":
        return None
    chain = service.chain
    hub = chain.deployment.addresses["OracleHub"]
    return sign_bundle(service.key, chain.chain_id, hub, epoch, verdict_entries(service, epoch))


def build(service: OracleService, epoch: int, bundles: list[Bundle]) -> EpochBuild:
    """The epoch's report from validated bundles, the operator's chain view and its stored
    earlier reports (reputations, cumulative rewards). Writes nothing."""
    chain, store = service.chain, service.store
    nodes = {n.node.lower(): n for n in chain.nodes()}
    leases = {x.lease_id: x for x in chain.leases()}
    previous = store.reputations(epoch)

    def make_input(node: str, verdicts, coverage_micro: int):
        if node not in nodes:
            return None
        return _node_input(nodes[node], verdicts, previous.get(node), leases, coverage_micro)

    results = score_bundles(epoch, bundles, make_input, chain.budget(epoch))
    version = chain.committee()[0]
    return build_epoch(
        epoch,
        version,
        results,
        store.previous_cumulative(epoch),
        service.settings.max_slashes,
    )


def build_report(service: OracleService, epoch: int) -> EpochBuild:
    """Scores the epoch from the operator's own verdicts alone and stores its report (once): a
    committee of one. Scoring is a pure function of the stored verdicts and earlier
    reputations, so a restart after any step rebuilds the same report byte for byte."""
    result = build(service, epoch, [own_bundle(service, epoch)])
    service.adopt(epoch, result)
    return result


def _deadline(service: OracleService, v: dict) -> float:
    settings = service.settings
    if v["kind"] == "compute":
        return compute.deadline_s(
            settings.compute_n, compute.HARDWARE_CLASSES[v["request"].get("hw_class", 0)]
        )
    return settings.storage_deadline_s


def _node_input(n: NodeInfo, verdicts, previous, leases, coverage_micro=0) -> NodeInput:
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
        leases={x.lease_id: x.data_size for x in leases.values() if x.node == n.node},
        coverage_micro=coverage_micro,
    )
