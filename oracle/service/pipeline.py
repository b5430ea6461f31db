"""The oracle service: the pipeline stages over the store, for one operator.

    schedule -> challenge -> verify -> score -> report -> submit

Every stage reads its input from the store and writes its output there, and each is
idempotent, so a restart resumes where the process stopped: an epoch's challenges are sent
once per node (a restart skips nodes already observed), a report is built once per epoch
(the store refuses a second), and a report already on-chain is never sent again.

Alone (oracle.committee.build.build_report, then `submitter.submit`) the operator scores its
own verdicts and signs with its key and local `cosigners`. In a committee
(oracle.committee.member) the report is built from every member's signed bundle, stored only
once the hub settled it (`adopt`), and posted with the members' signatures
(`submitter.submit(..., post)`); oracle.service.submit is the only stage that sends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp

from oracle.protocol.compute import DEFAULT_PARAMS, Params
from oracle.protocol.coverage import CoverageParams, RadioClaim
from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import CHUNK_SIZE
from oracle.service.chain import Chain, ChainError, LeaseInfo, NodeInfo
from oracle.service.challenge import (
    Limits,
    Outcome,
    challenge_all,
    challenge_compute,
    challenge_coverage,
    challenge_liveness,
    challenge_storage,
    with_retries,
)
from oracle.service.health import Health
from oracle.service.report import EpochBuild
from oracle.service.score import NO_ANSWER
from oracle.service.store import (
    MAX_ATTEMPTS,
    MAX_COVERAGE_MICRO,
    MAX_DETAIL,
    MAX_MICROS,
    ChallengeRow,
    Observation,
    Store,
    Verdict,
)
from oracle.service.submit import Submitter

log = logging.getLogger("plinth.oracle")


@dataclass(frozen=True)
class PipelineSettings:
    compute: Params = DEFAULT_PARAMS  # see oracle.service.config.ChallengeSettings
    storage_deadline_s: float = 2.0  # oracle.protocol.storage.DEFAULT_DEADLINE_S, rounded
    concurrency: int = 64
    limits: Limits = field(default_factory=Limits)
    max_slashes: int = 64
    coverage: CoverageParams = field(default_factory=CoverageParams)
    # A committee member starts its compute challenges (slot x member_spacing_s) into the
    # epoch, its slot being its place in the committee: members' proofs of one node follow
    # each other instead of queueing on the node's device and making it look late.
    member_spacing_s: float = 0.0
    # A node that answered none of the epoch's challenges is challenged again this long after
    # the first sweep (None: a third of the epoch; 0: never), so Offline needs silence at two
    # moments of the epoch, not one burst of lost packets or one restart.
    recheck_after_s: float | None = None


def _micros(seconds: float) -> int:
    return min(max(round(seconds * 1e6), 0), MAX_MICROS)


def verdict_of(o: Outcome) -> Verdict:
    """The typed verdict of one outcome: integers only (microseconds, ids), fixed now."""
    return Verdict(
        challenge_id="0x" + o.challenge_id.hex(),
        node=o.node.lower(),
        kind=o.kind,
        passed=o.passed,
        reason=o.reason,
        detail=o.detail[:MAX_DETAIL],
        latency_us=None if o.latency_s is None else _micros(o.latency_s),
        deadline_us=_micros(o.deadline_s),
        lease_id=o.lease_id or 0,
        chunk_index=o.index or 0,
        coverage_micro=min(max(o.coverage_micro, 0), MAX_COVERAGE_MICRO),
        attempts=min(max(o.attempts, 1), MAX_ATTEMPTS),
    )


class OracleService:
    def __init__(
        self, chain: Chain, store: Store, key, settings: PipelineSettings, cosigners: tuple = ()
    ):
        self.chain, self.store, self.key, self.settings = chain, store, key, settings
        self.metrics: dict[str, float] = defaultdict(float)
        # What /health and the health gauges report (create_app sets the operator's thresholds).
        self.health = Health(key.address, alone=True, min_balance_wei=0, stale_after_s=600.0)
        self._observed_at = 0.0
        # The registry's nodes as the last epoch's challenges read them (the API's /nodes).
        self.node_snapshot: dict[str, NodeInfo] = {}
        self.submitter = Submitter(chain, store, key, self.metrics, cosigners=cosigners)
        # epoch -> (the task challenging it, set once its first sweep is done)
        self._challenging: dict[int, tuple[asyncio.Task, asyncio.Event]] = {}
        # other operators' services on this machine (the simulation runs a whole committee in
        # one process): `swept` waits for their sweeps too, since they share the CPU
        self.co_located: tuple[OracleService, ...] = ()

    async def challenge_current(
        self, epoch: int, session: aiohttp.ClientSession, slot: int = 0
    ) -> None:
        """Starts challenging `epoch` in the background (once) and returns when its first sweep
        is done: at once when no node needs a recheck (the epoch is then challenged), else
        while the recheck waits, so the pipeline pass goes on to report ended epochs. A failure
        is logged and counted (loop_errors); the next pass starts again."""
        if epoch not in self._challenging:
            first = asyncio.Event()
            task = asyncio.create_task(self.challenge_epoch(epoch, session, slot, first))
            self._challenging[epoch] = (task, first)
            task.add_done_callback(lambda t, e=epoch: self._challenged(e, t))
        task, first = self._challenging[epoch]
        waiter = asyncio.create_task(first.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def swept(self, timeout_s: float) -> None:
        """Returns once no first sweep is running (at most `timeout_s` later): a member reviews
        another's proposal after its own challenges are out, so the review's work does not
        delay the answers it is timing."""
        waits = [
            e.wait()
            for service in (self, *self.co_located)
            for _, e in service._challenging.values()
            if not e.is_set()
        ]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), timeout_s)

    def _challenged(self, epoch: int, task: asyncio.Task) -> None:
        self._challenging.pop(epoch, None)
        if not task.cancelled() and task.exception() is not None:
            self.metrics["loop_errors"] += 1
            log.error("epoch %d: challenging failed", epoch, exc_info=task.exception())

    async def observe(self, every_s: float = 5.0) -> None:
        """Reads what /health judges from the chain (current epoch, the hub's next epoch, its
        committee, the operator's balance), at most every `every_s`; an RPC failure is
        recorded as a problem, never raised."""
        now = time.monotonic()
        if now - self._observed_at < every_s:
            return
        self._observed_at = now
        try:
            current, next_epoch, (_, threshold, members), balance = await asyncio.to_thread(
                lambda: (
                    self.chain.current_epoch(),
                    self.chain.next_report_epoch(),
                    self.chain.committee(),
                    self.chain.balance(self.key.address),
                )
            )
        except ChainError as exc:
            self.health.unobserved(exc)
        else:
            self.health.observed(current, next_epoch, threshold, members, balance)

    async def close(self) -> None:
        """Cancels the challenges still running (a recheck waiting, for instance)."""
        tasks = [t for t, _ in self._challenging.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ challenge + verify
    async def challenge_epoch(
        self,
        epoch: int,
        session: aiohttp.ClientSession,
        slot: int = 0,
        first_sweep: asyncio.Event | None = None,
    ) -> int:
        """Challenges every eligible node once for `epoch` (compute nodes after `slot` x
        member_spacing_s), then again, later in the epoch, every node that answered none of
        them (`_recheck`); returns how many challenges ran. `first_sweep` is set when the
        first sweep is done."""
        first_sweep = first_sweep or asyncio.Event()
        try:
            return await self._challenge_epoch(epoch, session, slot, first_sweep)
        finally:
            first_sweep.set()

    async def _challenge_epoch(self, epoch, session, slot, first_sweep) -> int:
        seed = await asyncio.to_thread(self.chain.epoch_seed, epoch)
        self.store.schedule_epoch(epoch, seed)
        state = self.store.epoch(epoch)["state"]
        if state != "scheduled":
            return 0
        nodes = await asyncio.to_thread(self.chain.nodes)
        self.node_snapshot = {n.node.lower(): n for n in nodes}
        leases = await asyncio.to_thread(self.chain.leases)
        # What a restart already has: compute nodes and storage leases with a verdict, and the
        # coverage round as a whole (its outcomes are written together).
        recorded = self.store.verdicts_of(epoch)
        done = {(v.node, v.lease_id if v.kind == "storage" else 0) for v in recorded}
        coverage_done = any(v.kind in ("beacon", "coverage", "witness") for v in recorded)
        jobs = []
        wireless: dict[str, tuple[str, RadioClaim]] = {}
        for n in nodes:
            if not n.eligible or (n.node.lower(), 0) in done:
                continue
            if n.kind == NodeKind.WIRELESS:
                if coverage_done:
                    continue
                try:
                    wireless[n.node] = (n.endpoint, RadioClaim.from_hardware(n.hardware, n.owner))
                except ValueError as exc:  # no usable claim: not part of the coverage round
                    log.warning("epoch %d: wireless node %s skipped: %s", epoch, n.node, exc)
                continue
            jobs += self._jobs_for(n, leases, epoch, seed, session, done, slot)
        # Each outcome is written as it arrives (batched while the previous write runs, in a
        # worker thread), so a crash mid-epoch loses nothing already observed.
        writes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write_outcomes(epoch, writes))
        # The coverage round starts with the other challenges, so every member's beacon shares
        # reach the beaconers at about the same time (each beacon goes on the air once, with
        # the shares in by then: oracle.protocol.coverage).
        round_task = (
            asyncio.create_task(self._coverage_round(epoch, seed, wireless, session))
            if wireless
            else None
        )
        try:
            outcomes = await challenge_all(
                jobs, self.settings.concurrency, on_done=writes.put_nowait
            )
            if round_task is not None:
                outcomes += await round_task
            # silent before a restart too: the recheck is still owed to them
            outcomes += await self._recheck(
                epoch, seed, session, nodes, leases, [*recorded, *outcomes], writes.put_nowait,
                first_sweep,
            )  # fmt: skip
        finally:
            if round_task is not None and not round_task.done():
                round_task.cancel()
            writes.put_nowait(None)
            await writer
        self.store.advance_epoch(epoch, "scheduled", "challenged")
        log.info(
            "epoch %d: %d challenges, %d passed",
            epoch,
            len(outcomes),
            sum(o.passed for o in outcomes),
        )
        return len(outcomes)

    async def _recheck(self, epoch, seed, session, nodes, leases, outcomes, on_done, waiting):
        """The second sweep: every node whose challenges this epoch all went unanswered (after
        their retries) is challenged again `recheck_after_s` later, each challenge with its
        retries again; a wireless node with a request for its witness reports (a liveness
        check: the round's coverage was judged already). Outcomes go to `on_done` as they
        arrive, as in the first sweep; `waiting` is set while the recheck waits."""
        silent = silent_nodes(outcomes)
        if not silent or self.settings.recheck_after_s == 0:
            return []
        delay = await asyncio.to_thread(self._recheck_delay, epoch)
        log.info("epoch %d: %d silent nodes, challenged again in %.0f s", epoch, len(silent), delay)
        waiting.set()
        await asyncio.sleep(delay)
        limits = self.settings.limits
        jobs = []
        for n in nodes:
            if n.node.lower() not in silent:
                continue
            if n.kind != NodeKind.WIRELESS:
                jobs += self._jobs_for(n, leases, epoch, seed, session)
                continue

            jobs.append(
                lambda n=n: challenge_liveness(
                    session, n.endpoint, chain_id=self.chain.chain_id, node=n.node, epoch=epoch,
                    epoch_seed=seed, limits=limits, member=self.key.address,
                )
            )  # fmt: skip
        self.metrics["rechecked_nodes"] += len(silent)
        return await challenge_all(jobs, self.settings.concurrency, on_done=on_done)

    def _recheck_delay(self, epoch: int) -> float:
        """recheck_after_s (None: a third of the epoch), shortened so that the recheck and all
        of its tries end before the epoch does on the chain's clock (at once if they cannot)."""
        limits = self.settings.limits
        start, end = self.chain.epoch_start(epoch), self.chain.epoch_start(epoch + 1)
        delay = self.settings.recheck_after_s
        if delay is None:
            delay = max(end - start, 0) / 3
        tries = limits.attempts * limits.timeout_s + limits.backoff_s * (
            2 ** max(limits.attempts - 1, 0) - 1
        )
        left = end - self.chain.timestamp() - tries
        return max(min(delay, left), 0.0)

    async def _write_outcomes(self, epoch: int, writes: asyncio.Queue) -> None:
        while True:
            batch = [await writes.get()]
            while not writes.empty():
                batch.append(writes.get_nowait())
            done = [o for o in batch if o is not None]
            if done:
                await asyncio.to_thread(self._record, epoch, done)
            if None in batch:
                return

    async def _coverage_round(self, epoch, seed, wireless, session) -> list[Outcome]:
        """The coverage round's outcomes, recorded together; none if the round failed (the
        epoch still settles, the wireless nodes go unchallenged)."""
        try:
            outcomes = await challenge_coverage(
                session,
                wireless,
                chain_id=self.chain.chain_id,
                epoch=epoch,
                epoch_seed=seed,
                params=self.settings.coverage,
                limits=self.settings.limits,
                start_time=float(await asyncio.to_thread(self.chain.epoch_start, epoch)),
                key=self.key,
            )
        except Exception:
            self.metrics["coverage_round_errors"] += 1
            log.exception("epoch %d: the coverage round failed", epoch)
            return []
        await asyncio.to_thread(self._record, epoch, outcomes)
        return outcomes

    def _jobs_for(
        self,
        n: NodeInfo,
        leases: list[LeaseInfo],
        epoch: int,
        seed: bytes,
        session,
        done=(),
        slot: int = 0,
    ):
        common = dict(
            chain_id=self.chain.chain_id,
            node=n.node,
            epoch=epoch,
            epoch_seed=seed,
            limits=self.settings.limits,
            member=self.key.address,
        )
        if n.kind == NodeKind.COMPUTE:
            delay = slot * self.settings.member_spacing_s

            async def compute_job():
                await asyncio.sleep(delay)
                return await with_retries(
                    lambda: challenge_compute(
                        session,
                        n.endpoint,
                        hw_class=n.hardware.hw_class,
                        gpu_count=n.hardware.gpu_count,
                        params=self.settings.compute,
                        **common,
                    ),
                    self.settings.limits,
                )

            return [compute_job]
        if n.kind == NodeKind.STORAGE:
            return [
                lambda lease=lease: with_retries(
                    lambda: challenge_storage(
                        session,
                        n.endpoint,
                        lease_id=lease.lease_id,
                        n_chunks=-(-lease.data_size // CHUNK_SIZE),
                        root=lease.data_root,
                        deadline_s=self.settings.storage_deadline_s,
                        data_held=lease.confirmed,
                        **common,
                    ),
                    self.settings.limits,
                )
                for lease in leases
                if lease.node == n.node
                and lease.active_in(epoch)
                and not lease.closed
                and (n.node.lower(), lease.lease_id) not in done
            ]
        return []  # wireless: the coverage round of challenge_epoch (challenge_coverage)

    def _record(self, epoch: int, outcomes: list[Outcome]) -> None:
        """Each outcome with its challenge row, observation, the node's answers (exact bytes)
        and typed verdict, in one transaction (Store.record_outcomes)."""
        now = time.time()
        rows = []
        for o in outcomes:
            row = challenge_row(epoch, o)
            error = None if o.responses else o.reason
            rows.append(
                (
                    row,
                    Observation(row.id, None, None, o.latency_s, now, error=error),
                    o.responses,
                    verdict_of(o),
                )
            )
        self.store.record_outcomes(rows)
        for o in outcomes:
            self.metrics[f"challenges_{o.kind}_{'passed' if o.passed else 'failed'}"] += 1

    # ------------------------------------------------------------------ score + report
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


def silent_nodes(outcomes: Iterable[Outcome | Verdict]) -> set[str]:
    """The nodes (lowercase) none of whose challenges (outcomes, or verdicts already stored)
    got an answer (oracle.service.score's NO_ANSWER reasons). Witness verdicts are about
    reports, not answers, and do not count."""
    answered: dict[str, bool] = {}
    for o in outcomes:
        if o.kind != "witness":
            node = o.node.lower()
            answered[node] = answered.get(node, False) or o.reason not in NO_ANSWER
    return {node for node, yes in answered.items() if not yes}


def challenge_row(epoch: int, o: Outcome) -> ChallengeRow:
    """The stored row of an outcome's challenge: what was sent (with the lease audited)."""
    return ChallengeRow(
        "0x" + o.challenge_id.hex(), epoch, o.node, o.kind, {**o.request, "lease_id": o.lease_id}
    )


__all__ = ["OracleService", "PipelineSettings", "challenge_row"]
