"""The oracle service: the pipeline stages over the store, for one operator.

    schedule -> challenge -> verify -> score -> report -> submit

Every stage reads its input from the store and writes its output there, and each is
idempotent, so a restart resumes where the process stopped: an epoch's challenges are sent
once per node (a restart skips nodes already observed), a report is built once per epoch
(the store refuses a second), and a report already on-chain is never sent again.

Alone (`build_report` + `submit`) the operator scores its own verdicts and signs with its key
and local `cosigners`. In a committee (oracle.committee_round) the report is built from every
member's signed bundle (`build`), stored only once the hub settled it (`adopt`), and posted
with the members' signatures (`submit(..., post)`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

import aiohttp

from oracle.chain import Chain, ChainError, LeaseInfo, NodeInfo
from oracle.challenge import (
    Limits,
    Outcome,
    challenge_all,
    challenge_compute,
    challenge_coverage,
    challenge_storage,
)
from oracle.committee import Bundle, score_bundles, sign_bundle
from oracle.eip712 import EpochReport, SlashRequest, pack_signatures, sign_report
from oracle.hardware import NodeKind
from oracle.merkle import CHUNK_SIZE
from oracle.proofs import compute
from oracle.proofs.coverage import CoverageParams, RadioClaim
from oracle.report import EpochBuild, build_epoch
from oracle.score import NodeInput
from oracle.store import ChallengeRow, Observation, Store

log = logging.getLogger("plinth.oracle")


@dataclass(frozen=True)
class PipelineSettings:
    compute_n: int = 4096  # see oracle.config.ChallengeSettings
    storage_deadline_s: float = 2.0
    concurrency: int = 64
    limits: Limits = field(default_factory=Limits)
    max_slashes: int = 64
    coverage: CoverageParams = field(default_factory=CoverageParams)


class OracleService:
    def __init__(
        self, chain: Chain, store: Store, key, settings: PipelineSettings, cosigners: tuple = ()
    ):
        self.chain, self.store, self.key, self.settings = chain, store, key, settings
        self.cosigners = cosigners
        self.metrics: dict[str, float] = defaultdict(float)

    # ------------------------------------------------------------------ challenge + verify
    async def challenge_epoch(self, epoch: int, session: aiohttp.ClientSession) -> int:
        """Challenges every eligible node once for `epoch`; returns how many challenges ran."""
        seed = await asyncio.to_thread(self.chain.epoch_seed, epoch)
        self.store.schedule_epoch(epoch, seed)
        state = self.store.epoch(epoch)["state"]
        if state != "scheduled":
            return 0
        nodes = await asyncio.to_thread(self.chain.nodes)
        leases = await asyncio.to_thread(self.chain.leases)
        done = {v["node"] for v in self.store.verdicts_of(epoch)}
        jobs = []
        wireless: dict[str, tuple[str, RadioClaim]] = {}
        for n in nodes:
            if not n.eligible or n.node.lower() in done:
                continue
            if n.kind == NodeKind.WIRELESS:
                try:
                    wireless[n.node] = (n.endpoint, RadioClaim.from_hardware(n.hardware))
                except ValueError as exc:  # no usable claim: not part of the coverage round
                    log.warning("epoch %d: wireless node %s skipped: %s", epoch, n.node, exc)
                continue
            jobs += self._jobs_for(n, leases, epoch, seed, session)
        outcomes = await challenge_all(jobs, self.settings.concurrency)
        if wireless:
            outcomes += await challenge_coverage(
                session,
                wireless,
                chain_id=self.chain.chain_id,
                epoch=epoch,
                epoch_seed=seed,
                params=self.settings.coverage,
                limits=self.settings.limits,
            )
        self._record(epoch, outcomes)
        self.store.advance_epoch(epoch, "scheduled", "challenged")
        for o in outcomes:
            self.metrics[f"challenges_{o.kind}_{'passed' if o.passed else 'failed'}"] += 1
        log.info(
            "epoch %d: %d challenges, %d passed",
            epoch,
            len(outcomes),
            sum(o.passed for o in outcomes),
        )
        return len(outcomes)

    def _jobs_for(self, n: NodeInfo, leases: list[LeaseInfo], epoch: int, seed: bytes, session):
        common = dict(
            chain_id=self.chain.chain_id,
            node=n.node,
            epoch=epoch,
            epoch_seed=seed,
            limits=self.settings.limits,
        )
        if n.kind == NodeKind.COMPUTE:
            return [
                lambda: challenge_compute(
                    session,
                    n.endpoint,
                    n=self.settings.compute_n,
                    hw_class=n.hardware.hw_class,
                    **common,
                )
            ]
        if n.kind == NodeKind.STORAGE:
            return [
                lambda lease=lease: challenge_storage(
                    session,
                    n.endpoint,
                    lease_id=lease.lease_id,
                    n_chunks=-(-lease.data_size // CHUNK_SIZE),
                    root=lease.data_root,
                    deadline_s=self.settings.storage_deadline_s,
                    **common,
                )
                for lease in leases
                if lease.node == n.node and lease.active_in(epoch) and not lease.closed
            ]
        return []  # wireless: the coverage round of challenge_epoch (challenge_coverage)

    def _record(self, epoch: int, outcomes: list[Outcome]) -> None:
        """Challenge rows, observations (raw signed responses) and verdicts. The observation
        and its challenge's done mark share one transaction (Store.record_observations)."""
        self.store.add_challenges(
            ChallengeRow(
                "0x" + o.challenge_id.hex(),
                epoch,
                o.node,
                o.kind,
                {**o.request, "lease_id": o.lease_id},
            )
            for o in outcomes
        )
        now = time.time()
        self.store.record_observations(
            [
                Observation(
                    "0x" + o.challenge_id.hex(),
                    repr(o.responses).encode() if o.responses else None,
                    None,
                    o.latency_s,
                    now,
                    error=None if o.responses else o.reason,
                )
                for o in outcomes
            ]
        )
        self.store.record_verdicts(
            (
                "0x" + o.challenge_id.hex(),
                o.passed,
                o.reason,
                o.detail if o.index is None else f"{o.detail} [index {o.index}]",
            )
            for o in outcomes
        )

    # ------------------------------------------------------------------ score + report
    def verdict_entries(self, epoch: int) -> list[dict]:
        """This operator's verdicts of `epoch` as bundle entries (oracle.committee): integers
        only, so every committee member scores them the same way."""
        out = []
        for v in self.store.verdicts_of(epoch):
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
                    "deadline_us": round(self._deadline(v) * 1e6),
                    "lease_id": int(request.get("lease_id") or 0),
                    "chunk_index": chunk,
                    "coverage_micro": max(int(request.get("coverage_micro", 0)), 0),
                }
            )
        return out

    def own_bundle(self, epoch: int) -> Bundle | None:
        """This operator's signed bundle of `epoch`, or None if it has not challenged it."""
        row = self.store.epoch(epoch)
        if row is None or row["state"] == "scheduled":
            return None
        hub = self.chain.deployment.addresses["OracleHub"]
        return sign_bundle(self.key, self.chain.chain_id, hub, epoch, self.verdict_entries(epoch))

    def build(self, epoch: int, bundles: list[Bundle]) -> EpochBuild:
        """The epoch's report from validated bundles, this operator's chain view and its stored
        earlier reports (reputations, cumulative rewards). Writes nothing."""
        nodes = {n.node.lower(): n for n in self.chain.nodes()}
        leases = {x.lease_id: x for x in self.chain.leases()}
        previous = self.store.reputations(epoch)

        def make_input(node: str, verdicts, coverage_micro: int):
            if node not in nodes:
                return None
            return self._node_input(
                nodes[node], verdicts, previous.get(node), leases, coverage_micro
            )

        results = score_bundles(epoch, bundles, make_input, self.chain.budget(epoch))
        version = self.chain.committee()[0]
        return build_epoch(
            epoch,
            version,
            results,
            self.store.previous_cumulative(epoch),
            self.settings.max_slashes,
        )

    def mark_missed(self, epoch: int) -> None:
        """Records an ended epoch this operator did not challenge (it was down) as challenged
        with no verdicts, so it can still adopt the committee's report of it (the next
        report builds on it)."""
        self.store.schedule_epoch(epoch, self.chain.epoch_seed(epoch))
        if self.store.epoch(epoch)["state"] == "scheduled":
            self.store.advance_epoch(epoch, "scheduled", "challenged")

    def adopt(self, epoch: int, build: EpochBuild) -> None:
        """Stores `build` as the epoch's report (scores, then the report; each once)."""
        if self.store.epoch(epoch)["state"] == "challenged":
            self.store.save_scores(epoch, build.results)
        if self.store.report_for(epoch) is None:
            hub = self.chain.deployment.addresses["OracleHub"]
            self.store.create_report(
                epoch,
                build.digest(self.chain.chain_id, hub),
                build.report_json(),
                build.rewards_entries_json(),
                build.results_file,
                build.report.results_root,
            )

    def build_report(self, epoch: int) -> EpochBuild:
        """Scores the epoch from this operator's own verdicts alone and stores its report
        (once): a committee of one. Scoring is a pure function of the stored verdicts and
        earlier reputations, so a restart after any step rebuilds the same report byte for
        byte."""
        build = self.build(epoch, [self.own_bundle(epoch)])
        self.adopt(epoch, build)
        return build

    def _deadline(self, v: dict) -> float:
        if v["kind"] == "compute":
            return compute.deadline_s(
                self.settings.compute_n, compute.HARDWARE_CLASSES[v["request"].get("hw_class", 0)]
            )
        return self.settings.storage_deadline_s

    @staticmethod
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

    # ------------------------------------------------------------------ sign + submit
    def submit(self, epoch: int, build: EpochBuild, post=None) -> bytes | None:
        """Sends the report unless the hub already has one for `epoch`; returns the
        transaction hash, or None when there was nothing to send (or another member's report
        won the race). `post` (oracle.committee_round.Post) carries the committee's ECDSA
        signatures or BLS aggregate; without it this operator signs with its own key and its
        local `cosigners`. The attempt is recorded before the broadcast; the epoch goes
        reported -> submitted -> confirmed (or back to reported if the transaction reverted,
        so it can be sent again)."""
        if self.chain.report_digest(epoch) is not None:
            self.mark_confirmed(epoch)
            return None
        if post is not None and post.scheme == "bls":

            def send():
                return self.chain.submit_report_bls(
                    self.key, build.report, post.bitmap, post.sigma, post.apk2
                )
        else:
            if post is not None:
                sigs = post.signatures
            else:
                hub = self.chain.deployment.addresses["OracleHub"]
                sigs = pack_signatures(
                    sign_report(k.key, build.report, self.chain.chain_id, hub)
                    for k in (self.key, *self.cosigners)
                )

            def send():
                return self.chain.submit_report(self.key, build.report, sigs)

        # A committee's report is stored once the hub settled it (Member.adopt); only a
        # stored report has a submission record.
        tracked = self.store.report_for(epoch) is not None
        if tracked:
            self.store.record_attempt(epoch, None, None)
            if self.store.epoch(epoch)["state"] == "reported":
                self.store.advance_epoch(epoch, "reported", "submitted")
        try:
            tx = send()
            receipt = self.chain.receipt(tx)
        except ChainError as exc:
            if self.chain.report_digest(epoch) is not None:  # another member settled it first
                log.info("epoch %d: settled by another member (%s)", epoch, exc)
                self.mark_confirmed(epoch)
                return None
            self._failed(epoch, tracked, "failed", str(exc))
            self.metrics["submit_errors"] += 1
            raise
        if receipt["status"] != 1:
            self._failed(epoch, tracked, "reverted")
            return tx
        self.mark_confirmed(epoch)
        self.metrics["reports_submitted"] += 1
        log.info("epoch %d: report 0x%s, gas %d", epoch, tx.hex(), receipt["gasUsed"])
        return tx

    def _failed(self, epoch: int, tracked: bool, status: str, error: str | None = None) -> None:
        if tracked:
            self.store.set_submission_status(epoch, status, error)
            self.store.advance_epoch(epoch, "submitted", "reported")

    def mark_confirmed(self, epoch: int) -> None:
        if self.store.submission_for(epoch) is not None:
            self.store.set_submission_status(epoch, "confirmed")
        state = self.store.epoch(epoch)["state"]
        if state == "reported":
            self.store.advance_epoch(epoch, "reported", "submitted")
            state = "submitted"
        if state == "submitted":
            self.store.advance_epoch(epoch, "submitted", "confirmed")


def report_of(build: EpochBuild) -> EpochReport:
    return build.report


__all__ = ["OracleService", "PipelineSettings", "SlashRequest", "report_of"]
