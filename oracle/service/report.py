"""Report stage: node results -> cumulative rewards, rewards tree, results file, EpochReport.
Pure: no I/O, no clock, no signing (the report stage signs `build.report` with
oracle.protocol.eip712.sign_report). Deterministic: the same results, in any order, give
byte-identical files and identical roots on every oracle; nothing hashed or signed contains a float.

**Cumulative rewards** (IRewardsDistributor): per OWNER account,
cumulative_e = cumulative_{e-1} + sum of this epoch's rewards of the owner's nodes. Owners
with a cumulative amount of 0 are left out of the tree. totalRewards = this epoch's sum only.

**Results file** (public, JSON Lines, UTF-8, "\\n" after every line):

    line 0       header: {"epoch":E,"leaf":"keccak256(plinth-result-v1\\n||line)","nodes":N,
                          "results_root":"0x..","total_rewards":T,"version":1}
    line 1 + i   node i: canonical JSON (sorted keys, no spaces, integers only, addresses
                 lowercase 0x-hex, bytes 0x-hex) with the keys of RESULT_KEYS,

nodes sorted by ascending address. **Leaf encoding**: leaf_i = keccak256(b"plinth-result-v1\\n"
|| bytes of node line i without its "\\n"). resultsRoot = PositionalTree(leaf_0..leaf_{N-1})
(oracle.protocol.merkle: parent = keccak256(left || right), padded with zero hashes to a power
of two).
A provider proves its line with verify_positional_proof(resultsRoot, N, i, leaf_i, proof).
The tag keeps a leaf from being a 64-byte inner node preimage. Empty epoch: resultsRoot = 0.

**Slashes**: at most `max_slashes` (OracleHub.maxSlashesPerReport, at most 64) are listed,
the most severe first (fraud, then Offline, then MissedDeadline), then by node address; the
report lists them sorted by node address. A node whose slash did not fit has
"slash_listed": 0 in its line (its evidence is still published and can be listed later).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from eth_utils import keccak, to_checksum_address

from oracle.protocol.eip712 import ZERO32, EpochReport, SlashRequest, report_digest
from oracle.protocol.envelope import canonical_json
from oracle.protocol.hardware import NodeKind, SlashReason
from oracle.protocol.merkle import ZERO_HASH, PositionalTree, RewardsTree
from oracle.service.score import DEFAULT_PARAMS, NodeResult

MIN_PASS_BPS = DEFAULT_PARAMS.min_pass_bps

RESULT_LEAF_TAG = b"plinth-result-v1\n"
RESULTS_VERSION = 1
MAX_SLASHES_CAP = 64
MAX_FAILED_NODES = 128  # OracleHub.MAX_FAILED_NODES
RESULT_KEYS = (
    "answered", "asked", "evidence", "kind", "late", "late_streak", "latency_bps", "node",
    "owner", "pass_bps", "passed", "reason", "reputation_bps", "reward", "score_bps",
    "slash_chunk", "slash_lease", "slash_listed", "slash_reason", "uptime_bps", "work",
)  # fmt: skip
_SEVERITY = {
    SlashReason.INVALID_COMPUTE: 0,
    SlashReason.STORAGE_AUDIT_FAILED: 0,
    SlashReason.LOCATION_SPOOFED: 0,
    SlashReason.OFFLINE: 1,
    SlashReason.MISSED_DEADLINE: 2,
}


def result_leaf(line: bytes) -> bytes:
    """The results-tree leaf of one node line (without its trailing newline)."""
    return keccak(RESULT_LEAF_TAG + line)


def result_line(result: NodeResult, slash_listed: bool) -> bytes:
    return canonical_json(
        {
            "answered": result.answered,
            "asked": result.asked,
            "evidence": "0x" + result.evidence.hex(),
            "kind": NodeKind(result.kind).name.lower(),
            "late": result.late,
            "late_streak": result.late_streak,
            "latency_bps": result.latency_bps,
            "node": result.node.lower(),
            "owner": result.owner.lower(),
            "pass_bps": result.pass_bps,
            "passed": result.passed,
            "reason": result.reason,
            "reputation_bps": result.reputation_bps,
            "reward": result.reward,
            "score_bps": result.score_bps,
            "slash_chunk": result.slash_chunk,
            "slash_lease": result.slash_lease,
            "slash_listed": int(slash_listed),
            "slash_reason": result.slash_reason,
            "uptime_bps": result.uptime_bps,
            "work": result.work,
        }
    )


@dataclass(frozen=True)
class EpochBuild:
    report: EpochReport
    cumulative: dict[str, int]  # checksum owner -> cumulative amount (> 0)
    rewards_tree: RewardsTree
    node_lines: tuple[bytes, ...]  # line i = node i, no newline
    index: dict[str, int]  # lowercase node address -> line index
    results_tree: PositionalTree | None
    results_file: bytes
    listed: frozenset[str]  # nodes whose slash is in the report
    results: tuple[NodeResult, ...] = ()  # sorted by node address

    @property
    def total_rewards(self) -> int:
        return self.report.total_rewards

    def results_proof(self, node: str) -> tuple[int, bytes, list[bytes]]:
        """(index, line, proof) that proves `node`'s line against report.results_root."""
        i = self.index[node.lower()]
        assert self.results_tree is not None
        return i, self.node_lines[i], self.results_tree.proof(i)

    def rewards_entries_json(self) -> bytes:
        """The rewards tree as stored and served: [[account, cumulative], ...] by address."""
        return canonical_json(
            [[a, self.cumulative[a]] for a in sorted(self.cumulative, key=lambda a: int(a, 16))]
        )

    def report_json(self) -> bytes:
        r = self.report
        return canonical_json(
            {
                "epoch": r.epoch,
                "parent": r.parent,
                "committeeVersion": r.committee_version,
                "rewardsRoot": r.rewards_root,
                "totalRewards": r.total_rewards,
                "resultsRoot": r.results_root,
                "slashes": [
                    {
                        "node": s.node,
                        "reason": s.reason,
                        "leaseId": s.lease_id,
                        "chunkIndex": s.chunk_index,
                        "evidence": s.evidence,
                    }
                    for s in r.slashes
                ],
                "failedNodes": list(r.failed_nodes),
                "failedDemand": r.failed_demand,
            }
        )

    def digest(self, chain_id: int, hub: str) -> bytes:
        return report_digest(self.report, chain_id, hub)


def cumulative_rewards(
    previous: Mapping[str, int], results: Iterable[NodeResult]
) -> dict[str, int]:
    """Previous cumulative amounts plus this epoch's rewards, per owner (lowercase 0x-hex keys,
    ascending; owners at 0 left out)."""
    total: dict[int, int] = {}
    for account, amount in previous.items():
        if amount < 0:
            raise ValueError(f"negative cumulative amount for {account}")
        key = int(account, 16)
        total[key] = total.get(key, 0) + amount
    for r in results:
        if r.reward < 0:
            raise ValueError(f"negative reward for {r.node}")
        if r.reward:
            key = int(r.owner, 16)
            total[key] = total.get(key, 0) + r.reward
    return {f"0x{k:040x}": v for k, v in sorted(total.items()) if v > 0}


def select_slashes(results: Sequence[NodeResult], max_slashes: int) -> list[NodeResult]:
    slashed = [r for r in results if r.slash_reason]
    slashed.sort(key=lambda r: (_SEVERITY[SlashReason(r.slash_reason)], int(r.node, 16)))
    return slashed[:max_slashes]


def failed_service(result: NodeResult) -> bool:
    """Whether a node failed the epoch for its customers: challenged, and slashed, or with no
    challenge passed, or a pass rate below the scorer's minimum (transient faults are retried
    and rechecked before they count, oracle.service.challenge). A node not challenged did not
    fail."""
    if result.asked == 0:
        return False
    return bool(result.slash_reason) or result.passed == 0 or result.pass_bps < MIN_PASS_BPS


def failed_leased(
    results: Sequence[NodeResult], leased: Mapping[str, int]
) -> tuple[tuple[str, ...], int]:
    """(the leased nodes that failed the epoch, checksummed and by address, at most
    MAX_FAILED_NODES; what their leases pay for it). `leased`: lowercase node -> the epoch's
    price of its leases active in it. Beyond the cap (an outage of more leased nodes than one
    report can record) the lowest addresses are listed and the rest are paid."""
    failed = [r for r in results if leased.get(r.node.lower()) and failed_service(r)]
    failed.sort(key=lambda r: int(r.node, 16))
    failed = failed[:MAX_FAILED_NODES]
    demand = sum(leased[r.node.lower()] for r in failed)
    return tuple(to_checksum_address(r.node) for r in failed), demand


def build_epoch(
    epoch: int,
    committee_version: int,
    results: Iterable[NodeResult],
    previous_cumulative: Mapping[str, int],
    max_slashes: int = MAX_SLASHES_CAP,
    parent: bytes = ZERO32,
    leased: Mapping[str, int] | None = None,
) -> EpochBuild:
    """The epoch's report over `results`: rewards added to `previous_cumulative`, the
    cumulative amounts of the report whose digest is `parent` (zero and empty for the first:
    the hub accepts it only while that report is the last it accepted), and the leased nodes
    that failed the epoch (`leased`: lowercase node -> the epoch's price of its active leases),
    whose customers the marketplace refunds."""
    if not 0 < max_slashes <= MAX_SLASHES_CAP:
        raise ValueError(f"max_slashes must be in 1..{MAX_SLASHES_CAP}")
    ordered = sorted(results, key=lambda r: int(r.node, 16))
    for a, b in pairwise(ordered):
        if int(a.node, 16) == int(b.node, 16):
            raise ValueError(f"node {a.node} appears twice")
    listed = select_slashes(ordered, max_slashes)
    listed_nodes = frozenset(r.node.lower() for r in listed)
    lines = tuple(result_line(r, r.node.lower() in listed_nodes) for r in ordered)
    tree = PositionalTree([result_leaf(line) for line in lines]) if lines else None
    results_root = tree.root if tree else ZERO_HASH
    total = sum(r.reward for r in ordered)
    cumulative = cumulative_rewards(previous_cumulative, ordered)
    rewards_tree = RewardsTree(cumulative)
    slashes = tuple(
        SlashRequest(
            node=to_checksum_address(r.node),
            reason=r.slash_reason,
            lease_id=r.slash_lease,
            chunk_index=r.slash_chunk,
            evidence=r.evidence,
        )
        for r in sorted(listed, key=lambda r: int(r.node, 16))
    )
    failed_nodes, failed_demand = failed_leased(ordered, leased or {})
    report = EpochReport(
        epoch=epoch,
        parent=parent,
        committee_version=committee_version,
        rewards_root=rewards_tree.root,
        total_rewards=total,
        results_root=results_root,
        slashes=slashes,
        failed_nodes=failed_nodes,
        failed_demand=failed_demand,
    )
    header = canonical_json(
        {
            "epoch": epoch,
            "leaf": "keccak256(plinth-result-v1\\n||line)",
            "nodes": len(lines),
            "results_root": "0x" + results_root.hex(),
            "total_rewards": total,
            "version": RESULTS_VERSION,
        }
    )
    results_file = b"\n".join((header, *lines)) + b"\n"
    return EpochBuild(
        report=report,
        cumulative=dict(rewards_tree.amounts),  # checksummed by RewardsTree
        rewards_tree=rewards_tree,
        node_lines=lines,
        index={r.node.lower(): i for i, r in enumerate(ordered)},
        results_tree=tree,
        results_file=results_file,
        listed=listed_nodes,
        results=tuple(ordered),
    )


def parse_results_file(data: bytes) -> tuple[dict, list[bytes]]:
    """(header, node lines) of a results file, for providers and tests."""
    import json

    raw = data.split(b"\n")
    if not raw or raw[-1] != b"":
        raise ValueError("a results file ends with a newline")
    return json.loads(raw[0]), raw[1:-1]
