"""How often honest nodes are punished for transient faults: honest node agents of all three kinds
behind a faulty network, challenged every epoch by a committee of 1 or 4 members, scored by the
committee rules. `python -m oracle.bench.false_positives`; `--help` for the knobs.

**What is real.** The node agents are oracle.agent.create_app with the Honest behaviour, served
over HTTP on local ports by a second process (a provider's machine is another host; the oracle's
side keeps the other core): compute nodes of hardware class 0 answer seed-derived matrix
products (n = --compute-n); storage nodes hold data the customer (this bench) uploaded with POST
/storage/data, and are audited against the ChunkTree root; wireless nodes share one
oracle.sim.radio.RadioMedium through oracle.sim.air.airwaves_for, truly placed where they claim
to be (a grid, --spacing-m apart). Each member challenges every node each epoch with the real
challenge functions (challenge_compute and challenge_storage, each tried again as a new
challenge when no answer comes, through with_retries and challenge_all with bounded concurrency;
one challenge_coverage round per member, scheduled from the epoch's start, as
OracleService.challenge_epoch runs it), turns outcomes into verdicts with
oracle.service.pipeline.verdict_of and signs its bundle with oracle.committee.rules.sign_bundle.
The epoch is scored as a committee scores it: validate_bundles, then score_bundles with the
chain's view of each node (NodeInfo, LeaseInfo, as oracle.service.chain returns them) turned
into NodeInput by oracle.committee.build's own _node_input; reputation and late streak carry
over from the previous epoch's NodeResult, as Store.reputations does. There is no chain: the
epoch seed is keccak256 of the bench seed and the epoch, the budget a constant.

**What is injected.** Every agent app is wrapped with a middleware of this module (outermost, on
the challenge endpoints only; the data upload is not faulted). Per request it draws from the
agent's own random.Random (seeded with --seed, the drop rate and the node's index, so the n-th
request a node receives meets the same fate in every run; under concurrency which member's
request is the n-th can vary): with probability `drop` the request is dropped, half of the drops
as a connection reset before the agent sees it (transport aborted: the client gets a
ServerDisconnectedError, the oracle's "offline"), half as an answer that never arrives (the
agent does the work, e.g. a beacon is transmitted, then the answer is held past the client's
timeout: "timeout"); every other request is delayed by a uniform 0..--jitter-ms before the agent
handles it.

**How the committee combines** (oracle.committee.rules.score_bundles): each member's verdicts
are a view of the node; for a node some member did not see pass, every claim of an answer is
re-verified from the node's signed answers (oracle.committee.evidence) before it counts; a
slash by majority stands only when more than half of the views slash it (Offline: more than
half got no answer, over at least 8 tries in all, and no member shows a signed answer),
otherwise the node gets the lower median view.

**Timing.** The compute deadline of class 0 at small n is about its 0.5 s network allowance, so
the bench must not make honest answers late itself (100 agents and the oracle share 2 cores
here, where each would have its own machine): the members challenge concurrently, but with few
challenge_all slots (16 over all members and overlapped epochs unless --concurrency says
otherwise), and the printed compute latency/deadline quantiles show the headroom left (a "late"
verdict at drop 0 would be the harness's, not the network's). The members' coverage rounds run
at once, as the members' pipelines start them with the epoch, all from the same schedule (the
epoch's start), so every member's share of a beacon's secret reaches its beaconer together; the
reveal waits 18 s (the service's 45 s scaled to the 2 s timeout). Dropped answers cost the
client's timeout (--timeout, 2 s: honest answers take well under 0.5 s here, so a held answer
is a timeout at 2 s as at the service's default 5 s), so to keep the wall time down the
challenges of several epochs overlap (--window; automatic: min(4, 32 // (4 m)), because
m x window x 4 tries of commitments in flight at a node must fit the agent's compute cache of
32 or honest reveals are evicted); epochs are still scored in order.

Output: one row per regime (drop rate x committee size) and node kind: node-epochs, honest nodes
slashed (NodeResult.slash_reason != 0), unrewarded (reward 0 and reason not "ok"), and the most
common reasons; then the failed verdicts by reason, what was injected, the goals (no slash in
any regime; at most 1 % unrewarded at 5 % drops) and the wall time. The exit status is 0
whatever the figures; non-zero only if the benchmark itself fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import multiprocessing
import random
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import numpy as np
from aiohttp import web
from eth_account import Account
from eth_utils import keccak

from oracle.agent import Honest, Settings, create_app
from oracle.committee import evidence as ev
from oracle.committee.build import _node_input, checker, facts_of
from oracle.committee.rules import Bundle, score_bundles, sign_bundle, validate_bundles
from oracle.protocol import compute
from oracle.protocol.coverage import CoverageParams, RadioClaim
from oracle.protocol.envelope import SignedResponse, challenge_id, verify_response
from oracle.protocol.hardware import HardwareClaim, NodeKind, NodeStatus
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree
from oracle.service.chain import LeaseInfo, NodeInfo
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
from oracle.service.pipeline import PipelineSettings, challenge_row, silent_nodes, verdict_of
from oracle.service.score import NodeResult
from oracle.sim import market
from oracle.sim.air import airwaves_for
from oracle.sim.radio import Radio, RadioMedium

log = logging.getLogger("plinth.bench.false_positives")

CHAIN_ID = 31337
HUB = Account.from_key(keccak(b"plinth-bench-hub")).address
BUDGET = 1_000_000 * 10**18
COMPUTE_CACHE = Settings.__dataclass_fields__["compute_cache"].default
CHALLENGE_PATHS = frozenset(
    {"/compute/commit", "/compute/reveal", "/storage/audit", "/coverage/beacon",
     "/coverage/witnesses"}
)  # fmt: skip
LAT0, LON0 = 37.7749, -122.4194
KIND_SHARES = ((NodeKind.COMPUTE, 0.4), (NodeKind.STORAGE, 0.3), (NodeKind.WIRELESS, 0.3))
GOAL_UNREWARDED_PCT = 1.0
GOAL_AT_DROP = 0.05
MAX_AUTO_WINDOW = 4
IN_FLIGHT = 16  # challenge_all slots over all members and overlapped epochs (see Timing)
ATTEMPTS = Limits().attempts  # tries per challenge, as the service's default
SHARE_WINDOW_S = 1.0  # the agents' beacon share window (the members ask within milliseconds)


# --- the population ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    """One honest node: its key, kind and what it claims (position) or holds (data)."""

    index: int
    kind: NodeKind
    key: bytes
    owner: str
    lat: float = 0.0  # wireless: claimed = true position (microdegrees, as registered)
    lon: float = 0.0
    lease_id: int = 0  # storage: the one lease it holds
    data: bytes = b""

    @property
    def address(self) -> str:
        return Account.from_key(self.key).address

    def hardware(self) -> HardwareClaim:
        if self.kind == NodeKind.WIRELESS:
            return HardwareClaim.wireless(self.lat, self.lon)
        if self.kind == NodeKind.STORAGE:
            return HardwareClaim.storage(len(self.data))
        return HardwareClaim(hw_class=0, gpu_count=1)


def _at(north_m: float, east_m: float) -> tuple[float, float]:
    lat = LAT0 + north_m / 111_195.0
    lon = LON0 + east_m / (111_195.0 * math.cos(math.radians(LAT0)))
    return round(lat, 6), round(lon, 6)  # what the registry stores (microdegrees)


def population(n: int, seed: int, chunks: int, spacing_m: float) -> list[NodeSpec]:
    """`n` honest nodes, about 40 % compute, 30 % storage, 30 % wireless, from `seed`."""
    counts = {k: round(n * share) for k, share in KIND_SHARES}
    counts[NodeKind.WIRELESS] = n - counts[NodeKind.COMPUTE] - counts[NodeKind.STORAGE]
    rng = random.Random(f"plinth-fp-population/{seed}")
    cols = max(1, math.ceil(math.sqrt(counts[NodeKind.WIRELESS])))
    specs: list[NodeSpec] = []
    for kind, _ in KIND_SHARES:
        for j in range(counts[kind]):
            i = len(specs)
            key = keccak(f"plinth-fp-node/{seed}/{i}".encode())
            owner = Account.from_key(keccak(f"plinth-fp-owner/{seed}/{i}".encode())).address
            spec = NodeSpec(i, kind, key, owner)
            if kind == NodeKind.STORAGE:
                spec = NodeSpec(i, kind, key, owner, lease_id=j + 1,
                                data=rng.randbytes(chunks * CHUNK_SIZE))  # fmt: skip
            elif kind == NodeKind.WIRELESS:
                lat, lon = _at((j // cols) * spacing_m, (j % cols) * spacing_m)
                spec = NodeSpec(i, kind, key, owner, lat=lat, lon=lon)
            specs.append(spec)
    return specs


# --- the agents' side: a second process -------------------------------------------------------


@dataclass
class FaultStats:
    requests: int = 0
    resets: int = 0
    hangs: int = 0


def fault_middleware(
    rng: random.Random, drop: float, jitter_s: float, hang_s: float, stats: FaultStats
):
    """The network between oracle and agent, on the challenge endpoints: a drop (probability
    `drop`) is a connection reset before the agent sees the request or, as often, an answer
    held past the client's timeout (`hang_s`); anything else is delayed by U(0, jitter_s)."""

    @web.middleware
    async def faults(request: web.Request, handler: Callable[[web.Request], Awaitable]):
        if request.path not in CHALLENGE_PATHS:
            return await handler(request)
        u_drop, u_kind, delay = rng.random(), rng.random(), rng.uniform(0.0, jitter_s)
        stats.requests += 1
        if u_drop < drop and u_kind < 0.5:
            stats.resets += 1
            request.transport.abort()  # the client sees the server disconnect
            return web.Response(status=204)  # never written
        if u_drop < drop:
            stats.hangs += 1
            response = await handler(request)
            await asyncio.sleep(hang_s)  # the answer arrives after the client gave up
            return response
        await asyncio.sleep(delay)
        return await handler(request)

    return faults


async def _serve_agents(specs, drop, jitter_s, hang_s, seed, tmp: Path, ready, stop) -> None:
    medium = RadioMedium(np.random.default_rng(seed))
    stats = FaultStats()
    runners = []
    urls = []
    for spec in specs:
        settings = Settings(
            node_key=spec.key,
            kind=spec.kind,
            chain_id=CHAIN_ID,
            data_dir=tmp / f"node{spec.index}",
            hw_class=0,
            marketplace=market.MARKETPLACE,
            share_window_s=SHARE_WINDOW_S,
        )
        radio = leases = None
        if spec.kind == NodeKind.WIRELESS:
            medium.place(settings.address, Radio(spec.lat, spec.lon))
            radio = airwaves_for(medium)
        if spec.kind == NodeKind.STORAGE:
            leases = market.leases_of(market.lease_terms(spec.lease_id, spec.address, spec.data))
        app = create_app(settings, Honest(), radio, leases)
        rng = random.Random(f"plinth-fp-faults/{seed}/{drop}/{spec.index}")
        app.middlewares.insert(0, fault_middleware(rng, drop, jitter_s, hang_s, stats))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
    ready.put(urls)
    while stop.empty():
        await asyncio.sleep(0.1)
    for runner in runners:
        await runner.cleanup()
    ready.put(stats)


def _agent_process(specs, drop, jitter_s, hang_s, seed, tmp, ready, stop) -> None:
    logging.basicConfig(level=logging.WARNING, format="agents %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve_agents(specs, drop, jitter_s, hang_s, seed, Path(tmp), ready, stop))


# --- the oracle's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    nodes: int
    epochs: int
    drops: tuple[float, ...]
    committees: tuple[int, ...]
    seed: int
    jitter_ms: float
    compute: compute.Params
    chunks: int
    spacing_m: float
    timeout_s: float
    concurrency: int
    window: int
    recheck_after_s: float = 1.0


@dataclass
class Tally:
    """One regime's figures for one node kind (or all)."""

    node_epochs: int = 0
    slashed: int = 0
    unrewarded: int = 0
    reasons: Counter = field(default_factory=Counter)
    slash_reasons: Counter = field(default_factory=Counter)


@dataclass
class Regime:
    drop: float
    members: int
    tallies: dict[str, Tally] = field(default_factory=dict)
    failed_verdicts: Counter = field(default_factory=Counter)  # (verdict kind, reason)
    verdicts: int = 0
    lost_jobs: int = 0  # challenge jobs that raised (challenge_all leaves them out)
    coverage_errors: int = 0  # coverage rounds that raised (the pipeline records nothing)
    evidence: Counter = field(default_factory=Counter)  # re-verified claims by what they proved
    rechecked: int = 0  # node-epochs of a member challenged again (silent at its first sweep)
    compute_ratios: list[float] = field(default_factory=list)  # answered: latency / deadline
    faults: FaultStats | None = None
    window: int = 1
    concurrency: int = 1
    wall_s: float = 0.0


class Bench:
    """One regime: the agents, the committee, the chain's view and the carried reputations."""

    def __init__(self, cfg: Config, specs: list[NodeSpec], urls: list[str], regime: Regime):
        self.cfg, self.regime = cfg, regime
        self.storage_deadline_s = PipelineSettings().storage_deadline_s
        self.members = [
            Account.from_key(keccak(f"plinth-fp-member/{cfg.seed}/{i}".encode()))
            for i in range(regime.members)
        ]
        self.limits = Limits(timeout_s=cfg.timeout_s, attempts=ATTEMPTS)
        # The secret's reveal waits as long, against the client timeout, as the service's
        # defaults (45 s against 5 s): witness lists gathered with every retry still count.
        self.coverage = CoverageParams(
            reveal_after_s=CoverageParams().reveal_after_s * cfg.timeout_s / Limits().timeout_s
        )
        self.nodes: dict[str, NodeInfo] = {}
        self.leases: dict[int, LeaseInfo] = {}
        self.wireless: dict[str, tuple[str, RadioClaim]] = {}
        for spec, url in zip(specs, urls, strict=True):
            info = NodeInfo(spec.address, spec.owner, spec.kind, NodeStatus.ACTIVE, 0, url,
                            spec.hardware(), True)  # fmt: skip
            self.nodes[spec.address.lower()] = info
            if spec.kind == NodeKind.STORAGE:
                root = ChunkTree.from_data(spec.data).root
                # the node's DataReceipt is on the chain: a refused audit would be data_withheld
                self.leases[spec.lease_id] = LeaseInfo(
                    spec.lease_id, spec.owner, spec.address, 0, 2**63 - 1, False, root,
                    len(spec.data), confirmed=True, price_per_epoch=10**20, fee_bps=500,
                )  # fmt: skip
            elif spec.kind == NodeKind.WIRELESS:
                claim = RadioClaim.from_hardware(info.hardware, info.owner)
                self.wireless[spec.address] = (url, claim)
        self.previous: dict[str, tuple[int, int]] = {}  # node -> (reputation_bps, late_streak)
        for kind in ("compute", "storage", "wireless", "all"):
            regime.tallies[kind] = Tally()

    def epoch_seed(self, epoch: int) -> bytes:
        return keccak(f"plinth-fp-epoch/{self.cfg.seed}".encode() + epoch.to_bytes(8, "big"))

    def _jobs(
        self, http, epoch: int, seed: bytes, member: str, only: set[str] | None = None
    ) -> list[Callable[[], Awaitable[Outcome]]]:
        """The compute and storage challenges of one member (as OracleService._jobs_for), of
        the nodes `only` names (lowercase; None: all), and for the wireless ones of `only` a
        witness-list request (the recheck's liveness check, as OracleService._recheck)."""
        jobs = []
        for n in self.nodes.values():
            if only is not None and n.node.lower() not in only:
                continue
            if only is not None and n.kind == NodeKind.WIRELESS:
                jobs.append(
                    lambda n=n: challenge_liveness(
                        http, n.endpoint, chain_id=CHAIN_ID, node=n.node, epoch=epoch,
                        epoch_seed=seed, limits=self.limits, member=member,
                    )
                )  # fmt: skip
                continue
            common = dict(
                chain_id=CHAIN_ID, node=n.node, epoch=epoch, epoch_seed=seed, limits=self.limits,
                member=member,
            )  # fmt: skip
            if n.kind == NodeKind.COMPUTE:
                jobs.append(
                    lambda n=n, common=common: with_retries(
                        lambda: challenge_compute(
                            http, n.endpoint, hw_class=n.hardware.hw_class,
                            gpu_count=n.hardware.gpu_count, params=self.cfg.compute, **common,
                        ),
                        self.limits,
                    )
                )  # fmt: skip
            elif n.kind == NodeKind.STORAGE:
                for lease in self.leases.values():
                    if lease.node == n.node and lease.active_in(epoch) and not lease.closed:
                        jobs.append(
                            lambda n=n, lease=lease, common=common: with_retries(
                                lambda: challenge_storage(
                                    http, n.endpoint, lease_id=lease.lease_id,
                                    n_chunks=-(-lease.data_size // CHUNK_SIZE),
                                    root=lease.data_root, deadline_s=self.storage_deadline_s,
                                    data_held=lease.confirmed, **common,
                                ),
                                self.limits,
                            )
                        )  # fmt: skip
        return jobs

    async def _coverage_rounds(
        self, http, epoch: int, seed: bytes, start: float
    ) -> list[list[Outcome]]:
        """Every member's coverage round, at once (each member's pipeline starts it with the
        epoch, so the members' beacon shares reach a beaconer together), all scheduled from the
        epoch's start as OracleService does; a round that raises yields no outcomes, as in
        OracleService._coverage_round, and is counted."""

        async def one(member) -> list[Outcome]:
            if not self.wireless:
                return []
            try:
                return await challenge_coverage(
                    http, self.wireless, chain_id=CHAIN_ID, epoch=epoch, epoch_seed=seed,
                    params=self.coverage, limits=self.limits, start_time=start, key=member,
                )  # fmt: skip
            except Exception:
                self.regime.coverage_errors += 1
                log.exception("epoch %d: the coverage round failed", epoch)
                return []

        return list(await asyncio.gather(*(one(m) for m in self.members)))

    async def observe(self, http, epoch: int) -> tuple[list[Bundle], dict[str, dict]]:
        """Every member's signed bundle of `epoch`, and the evidence objects of its verdicts by
        digest (what the leader gathers from the members: oracle.committee.evidence)."""
        seed = self.epoch_seed(epoch)
        per_member_jobs = [self._jobs(http, epoch, seed, m.address) for m in self.members]
        *direct, rounds = await asyncio.gather(
            *(challenge_all(jobs, self.regime.concurrency) for jobs in per_member_jobs),
            self._coverage_rounds(http, epoch, seed, time.time()),
        )
        # The recheck: each member challenges again, --recheck-after later, the nodes that
        # answered none of its challenges (as OracleService._recheck).
        silent = [
            silent_nodes(outs + covered) for outs, covered in zip(direct, rounds, strict=True)
        ]
        if any(silent) and self.cfg.recheck_after_s > 0:
            await asyncio.sleep(self.cfg.recheck_after_s)
            again = [
                self._jobs(http, epoch, seed, m.address, only) if only else []
                for m, only in zip(self.members, silent, strict=True)
            ]
            self.regime.rechecked += sum(len(s) for s in silent)
            more = await asyncio.gather(
                *(challenge_all(jobs, self.regime.concurrency) for jobs in again)
            )
            direct = [d + m for d, m in zip(direct, more, strict=True)]
            per_member_jobs = [j + a for j, a in zip(per_member_jobs, again, strict=True)]
        bundles, evidence = [], {}
        for member, jobs, outs, covered in zip(
            self.members, per_member_jobs, direct, rounds, strict=True
        ):
            self.regime.lost_jobs += len(jobs) - len(outs)
            verdicts = [verdict_of(o) for o in outs + covered]
            entries = []
            for o, v in zip(outs + covered, verdicts, strict=True):
                entry = v.entry()
                if o.responses:
                    row = challenge_row(epoch, o)
                    obj = ev.evidence_object(row.id, row.request, o.responses)
                    entry["evidence"] = ev.digest(obj)
                    evidence[entry["evidence"]] = obj
                entries.append(entry)
            self.regime.verdicts += len(verdicts)
            for v in verdicts:
                if not v.passed:
                    self.regime.failed_verdicts[(v.kind, v.reason)] += 1
                if v.kind == "compute" and v.latency_us is not None and v.deadline_us:
                    self.regime.compute_ratios.append(v.latency_us / v.deadline_us)
            bundles.append(sign_bundle(member, CHAIN_ID, HUB, epoch, entries))
        return bundles, evidence

    def score(
        self, epoch: int, bundles: list[Bundle], evidence: dict[str, dict]
    ) -> list[NodeResult]:
        """The epoch's results from the bundles, as a committee scores them (every claim about a
        disputed node re-verified from its evidence); tallied, and the reputations carried to
        the next epoch."""
        bundles = validate_bundles(
            bundles,
            chain_id=CHAIN_ID,
            hub=HUB,
            epoch=epoch,
            members=[m.address for m in self.members],
            threshold=len(self.members) // 2 + 1,
        )

        def make_input(node: str, verdicts, coverage_micro: int):
            if node not in self.nodes:
                return None
            info = self.nodes[node]
            return _node_input(
                info, verdicts, self.previous.get(node), self.leases, coverage_micro, epoch
            )

        facts = facts_of(CHAIN_ID, epoch, self.nodes, self.leases, self.cfg.compute,
                         self.epoch_seed(epoch))  # fmt: skip
        check = checker(evidence, facts)

        def counted(entry, member):
            got = check(entry, member)
            proved = "none held" if got is None else "backed" if got.backed else "not backed"
            self.regime.evidence[proved] += 1
            return got

        results = score_bundles(epoch, bundles, make_input, BUDGET, check=counted)
        by_node = {r.node: r for r in results}
        for node, info in self.nodes.items():
            r = by_node.get(node)
            for name in (info.kind.name.lower(), "all"):
                t = self.regime.tallies[name]
                t.node_epochs += 1
                if r is None:  # no verdict from any member: no result, no reward
                    t.unrewarded += 1
                    t.reasons["no_result"] += 1
                    continue
                if r.slash_reason:
                    t.slashed += 1
                    t.slash_reasons[r.reason] += 1
                if r.reward == 0 and r.reason != "ok":
                    t.unrewarded += 1
                    t.reasons[r.reason] += 1
            if r is not None:
                self.previous[node] = (r.reputation_bps, r.late_streak)
        return results


async def run_regime(cfg: Config, regime: Regime, specs: list[NodeSpec], tmp: Path) -> None:
    regime.window = cfg.window or max(
        1, min(MAX_AUTO_WINDOW, COMPUTE_CACHE // (regime.members * ATTEMPTS))
    )
    regime.concurrency = cfg.concurrency or max(1, IN_FLIGHT // (regime.members * regime.window))
    cpu = compute.HARDWARE_CLASSES[0]
    hang_s = max(cfg.timeout_s, 2 * compute.deadline_s(compute.shape_for(cpu, 1, cfg.compute), cpu))
    hang_s += 1.0
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(
        daemon=True,
        target=_agent_process,
        args=(specs, regime.drop, cfg.jitter_ms / 1000, hang_s, cfg.seed, str(tmp), ready, stop),
    )
    proc.start()
    print(
        f"drop {regime.drop:.2f} m={regime.members}: {len(specs)} agents, {regime.window} epochs "
        f"at once, {regime.concurrency} challenge slots per member",
        file=sys.stderr,
        flush=True,
    )
    try:
        urls = await asyncio.to_thread(ready.get, True, 300)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            await _upload(http, specs, urls)
            bench = Bench(cfg, specs, urls, regime)
            started = time.perf_counter()
            pending: deque[tuple[int, asyncio.Task]] = deque()
            for epoch in range(1, cfg.epochs + 1):
                pending.append((epoch, asyncio.create_task(bench.observe(http, epoch))))
                if len(pending) >= regime.window:
                    await _settle(bench, *pending.popleft(), started)
            while pending:
                await _settle(bench, *pending.popleft(), started)
            regime.wall_s = time.perf_counter() - started
    finally:
        stop.put(True)
    regime.faults = await asyncio.to_thread(ready.get, True, 60)
    await asyncio.to_thread(proc.join, 30)
    if proc.exitcode != 0:
        raise RuntimeError(f"the agent process exited with status {proc.exitcode}")


async def _upload(http, specs: list[NodeSpec], urls: list[str]) -> None:
    """The customer's data to each storage node (POST /storage/data, signed by the simulated
    customer: oracle.sim.market); the root it reports must be the lease's."""
    for spec, url in zip(specs, urls, strict=True):
        if spec.kind != NodeKind.STORAGE:
            continue
        body = market.upload(spec.lease_id, spec.address, spec.data, CHAIN_ID)
        async with http.post(f"{url}/storage/data", json=body) as resp:
            resp.raise_for_status()
            answer = await resp.json()
        cid = challenge_id(
            CHAIN_ID, spec.address, 0, "storage-data", spec.lease_id.to_bytes(32, "big")
        )
        stored = verify_response(SignedResponse.from_wire(answer), CHAIN_ID, cid, spec.address)
        if stored["root"] != "0x" + ChunkTree.from_data(spec.data).root.hex():
            raise RuntimeError(f"node {spec.index} stored lease {spec.lease_id} with another root")


async def _settle(bench: Bench, epoch: int, task: asyncio.Task, started: float) -> None:
    bundles, evidence = await task
    results = bench.score(epoch, bundles, evidence)
    r = bench.regime
    slashed = sum(1 for x in results if x.slash_reason)
    unrewarded = sum(1 for x in results if x.reward == 0 and x.reason != "ok")
    print(
        f"drop {r.drop:.2f} m={r.members}: epoch {epoch}/{bench.cfg.epochs} "
        f"t={time.perf_counter() - started:6.1f} s  {len(results)} results, "
        f"{unrewarded} unrewarded, {slashed} slashed",
        file=sys.stderr,
        flush=True,
    )


# --- output -----------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _top(counter: Counter, k: int = 3) -> str:
    if not counter:
        return "-"
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return ", ".join(f"{reason} {count}" for reason, count in ranked)


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def render(cfg: Config, regimes: list[Regime], wall_s: float) -> str:
    lines = []
    head = (
        f"{'drop':>5} {'m':>2} {'kind':<9} {'node-epochs':>11} {'slashed':>7} "
        f"{'unrewarded':>10} {'unrew. %':>8}  top unrewarded reasons"
    )
    lines += [head, "-" * len(head)]
    for r in regimes:
        for kind in ("compute", "storage", "wireless", "all"):
            t = r.tallies[kind]
            lines.append(
                f"{r.drop:>5.2f} {r.members:>2} {kind:<9} {t.node_epochs:>11} {t.slashed:>7} "
                f"{t.unrewarded:>10} {_pct(t.unrewarded, t.node_epochs):>7.2f}%  {_top(t.reasons)}"
            )
    lines.append("")
    lines.append("Per regime: what was injected, the failed verdicts, compute timing:")
    for r in regimes:
        f = r.faults or FaultStats()
        failed = Counter({f"{k}/{reason}": n for (k, reason), n in r.failed_verdicts.items()})
        ratios = sorted(r.compute_ratios)
        lines.append(
            f"  drop {r.drop:.2f} m={r.members} ({r.window} epochs at once, "
            f"{r.concurrency} slots per member, {r.wall_s:.0f} s):"
        )
        lines.append(
            f"    injected: {f.requests} challenge requests, {f.resets} reset + {f.hangs} held "
            f"past the timeout ({_pct(f.resets + f.hangs, f.requests):.2f} %)"
        )
        lines.append(
            f"    verdicts: {r.verdicts}, {sum(failed.values())} failed: {_top(failed, 6)}"
        )
        if ratios:
            lines.append(
                "    compute commit latency / deadline: "
                f"median {_quantile(ratios, 0.5):.0%}, p99 {_quantile(ratios, 0.99):.0%}, "
                f"max {ratios[-1]:.0%}"
            )
        if r.rechecked:
            lines.append(f"    silent at a member's first sweep, challenged again: {r.rechecked}")
        if r.evidence:
            lines.append(
                f"    claims about disputed nodes re-verified from evidence: "
                f"{sum(r.evidence.values())} ({_top(r.evidence, 3)})"
            )
        if r.tallies["all"].slash_reasons:
            lines.append(f"    slashed as: {_top(r.tallies['all'].slash_reasons, 6)}")
        if r.lost_jobs or r.coverage_errors:
            lines.append(
                f"    oracle errors: {r.lost_jobs} challenge jobs raised, "
                f"{r.coverage_errors} coverage rounds raised"
            )
    lines.append("")
    bad = [r for r in regimes if r.tallies["all"].slashed]
    verdict = "MET" if not bad else "NOT MET (" + ", ".join(
        f"drop {r.drop:.2f} m={r.members}: {r.tallies['all'].slashed}" for r in bad
    ) + ")"  # fmt: skip
    lines.append(f"Goal: no honest node slashed in any regime: {verdict}")
    at_goal = [r for r in regimes if math.isclose(r.drop, GOAL_AT_DROP)]
    if not at_goal:
        lines.append(f"Goal: unrewarded <= {GOAL_UNREWARDED_PCT:g} % at {GOAL_AT_DROP:.0%} drops: "
                     "not measured (no such regime)")  # fmt: skip
    for r in at_goal:
        t = r.tallies["all"]
        pct = _pct(t.unrewarded, t.node_epochs)
        met = "MET" if pct <= GOAL_UNREWARDED_PCT else "NOT MET"
        worst = ", ".join(
            f"{k} {_pct(r.tallies[k].unrewarded, r.tallies[k].node_epochs):.2f} %"
            for k in ("compute", "storage", "wireless")
        )
        lines.append(
            f"Goal: unrewarded <= {GOAL_UNREWARDED_PCT:g} % at {GOAL_AT_DROP:.0%} drops, "
            f"m={r.members}: {pct:.2f} % ({worst}): {met}"
        )
    lines.append("")
    lines.append(
        f"{cfg.nodes} nodes x {cfg.epochs} epochs per regime, compute {cfg.compute} "
        f"(class 0), storage {cfg.chunks} chunks, wireless {cfg.spacing_m:g} m grid, "
        f"jitter 0-{cfg.jitter_ms:g} ms, timeout {cfg.timeout_s:g} s, seed {cfg.seed}, "
        f"epochs overlapped {', '.join(sorted({f'{r.window} (m={r.members})' for r in regimes}))}, "
        f"{ATTEMPTS} tries per challenge, a silent node rechecked {cfg.recheck_after_s:g} s later"
    )
    lines.append(f"Wall time: {wall_s:.0f} s ({wall_s / 60:.1f} min)")
    return "\n".join(lines)


async def main(cfg: Config) -> list[Regime]:
    specs = population(cfg.nodes, cfg.seed, cfg.chunks, cfg.spacing_m)
    regimes = []
    for drop in cfg.drops:
        for m in cfg.committees:
            regime = Regime(drop, m)
            with tempfile.TemporaryDirectory(prefix="plinth-fp-") as tmp:
                await run_regime(cfg, regime, specs, Path(tmp))
            regimes.append(regime)
    return regimes


def parse(argv: list[str] | None = None) -> Config:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--nodes", type=int, default=100, help="honest nodes (40/30/30 %% by kind)")
    ap.add_argument("--epochs", type=int, default=40, help="epochs per regime")
    ap.add_argument("--drops", type=float, nargs="+", default=[0.0, 0.05, 0.10])
    ap.add_argument("--committees", type=int, nargs="+", default=[1, 4], help="committee sizes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jitter-ms", type=float, default=100.0)
    ap.add_argument("--compute-max-n", type=int, default=64, help="compute challenges' width")
    ap.add_argument(
        "--compute-device-s", type=float, default=1e-6, help="seconds of a class's work a device"
    )
    ap.add_argument("--chunks", type=int, default=64, help="chunks of each storage lease")
    ap.add_argument("--spacing-m", type=float, default=1_500.0, help="wireless grid spacing")
    ap.add_argument("--timeout", type=float, default=2.0, help="the oracle's client timeout, s")
    ap.add_argument(
        "--recheck-after",
        type=float,
        default=1.0,
        help="a node silent at a member's first sweep is challenged again this long after (0: "
        "never; the service waits a third of the epoch)",
    )
    ap.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help=f"challenge_all slots per member (0: {IN_FLIGHT} // (m x window), at least 1)",
    )
    ap.add_argument(
        "--window",
        type=int,
        default=0,
        help=f"epochs challenged at once (0: min({MAX_AUTO_WINDOW}, {COMPUTE_CACHE} // (m x "
        f"{ATTEMPTS})))",
    )
    a = ap.parse_args(argv)
    if a.nodes < 1 or a.epochs < 1 or a.window < 0 or a.concurrency < 0:
        ap.error("--nodes and --epochs must be >= 1, --window and --concurrency >= 0")
    if any(not 0 <= d < 1 for d in a.drops) or any(m < 1 for m in a.committees):
        ap.error("drop rates must be in [0, 1) and committee sizes >= 1")
    try:
        params = compute.Params(device_s=a.compute_device_s, max_n=a.compute_max_n)
    except ValueError as exc:
        ap.error(f"--compute-device-s / --compute-max-n: {exc}")
    if max(a.committees) * max(a.window, 1) * ATTEMPTS > COMPUTE_CACHE:
        ap.error(
            f"committee size x window x {ATTEMPTS} tries must be <= {COMPUTE_CACHE} (the agents' "
            "compute cache: more commitments in flight evict each other and honest reveals fail)"
        )
    return Config(
        a.nodes, a.epochs, tuple(a.drops), tuple(a.committees), a.seed, a.jitter_ms,
        params, a.chunks, a.spacing_m, a.timeout, a.concurrency, a.window,
        a.recheck_after,
    )  # fmt: skip


def run(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    try:
        regimes = asyncio.run(main(cfg))
    except Exception:
        traceback.print_exc()
        print("false_positives: the benchmark failed", file=sys.stderr)
        return 1
    print(render(cfg, regimes, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(run())
