"""A committee of oracle operators on one machine, for the demo, the tests and the benchmark:
each member has its own chain view, store, API server (with the committee endpoints) and
pipeline loop, and talks to the others over HTTP exactly as separate machines would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_account import Account

from oracle.app import run_loop
from oracle.committee.member import CommitteeSettings, Member
from oracle.committee.rules import leader_of
from oracle.protocol.coverage import CoverageParams
from oracle.service.api import create_api
from oracle.service.chain import Chain, Deployment, load_abis
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.service.store import Store


class LocalCommittee:
    def __init__(self, members: list[Member], runners: list[web.AppRunner], urls: dict[str, str]):
        self.members, self.runners, self.urls = members, runners, urls
        self.tasks: dict[str, asyncio.Task] = {}
        self.session = aiohttp.ClientSession()
        self.live = {m.address: m for m in members}
        self.chain = members[0].chain
        _, threshold, addresses = self.chain.committee()
        self.addresses, self.threshold = addresses, threshold
        self.scheme = self.chain.scheme()

    def start_loops(self, interval_s: float = 0.2) -> None:
        for m in self.members:
            self.tasks[m.address] = asyncio.create_task(
                run_loop(m.service, self.session, interval_s, m)
            )

    def leader(self, epoch: int, attempt: int) -> Member:
        address = leader_of(self.addresses, epoch, attempt)
        return next(m for m in self.members if m.address == address)

    async def stop(self, member: Member) -> None:
        """Stops a member for good: its pipeline and its API server."""
        task = self.tasks.pop(member.address, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.runners[self.members.index(member)].cleanup()
        del self.live[member.address]

    async def challenged(self, epoch: int, timeout_s: float = 120.0) -> None:
        """Waits until every live member has challenged `epoch`."""

        def done(m: Member) -> bool:
            row = m.store.epoch(epoch)
            return row is not None and row["state"] != "scheduled"

        await self._until(lambda: all(done(m) for m in self.live.values()), timeout_s,
                          f"members to challenge epoch {epoch}")  # fmt: skip

    async def settled(self, epoch: int, timeout_s: float = 120.0) -> dict:
        """Waits until the hub settled `epoch` and every live member adopted its report;
        returns who posted it, how, and the report."""
        await self._until(
            lambda: all(
                m.store.report_for(epoch) is not None
                and m.store.epoch(epoch)["state"] == "confirmed"
                for m in self.live.values()
            ),
            timeout_s,
            f"epoch {epoch} to be settled and adopted",
        )
        poster = next(m for m in self.members if epoch in m.posted)
        post = poster.posted[epoch]
        report = next(iter(self.live.values())).store.report_for(epoch)
        return {
            "tx": post.tx,
            "post": post,
            "leader": poster.address,
            "attempt": post.attempt,
            "round_s": post.round_s,
            "results_file": report["results_file"],
            # every member's challenges that went into the report
            "challenges": sum(
                json.loads(line)["asked"] for line in report["results_file"].split(b"\n")[1:-1]
            ),
        }

    async def _until(self, predicate, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
            await asyncio.sleep(0.1)

    def api_url(self) -> str:
        return self.urls[next(iter(self.live))]

    async def close(self) -> None:
        for address in list(self.tasks):
            task = self.tasks.pop(address)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for m, r in zip(self.members, self.runners, strict=True):
            if m.address in self.live:
                await r.cleanup()
            m.store.close()
        await self.session.close()


async def start_committee(
    suite,
    accounts,
    tmp: Path,
    rpc_url: str,
    *,
    compute_n: int = 128,
    leader_timeout_s: float = 3.0,
    start_loops: bool = True,
    member_class: Callable[[str], type[Member]] = lambda address: Member,
) -> LocalCommittee:
    """Starts one member per account (Ape test accounts or eth-account keys) on `suite`;
    `member_class(address)` is the class each member runs (the demo's hostile member)."""
    members, runners, urls = [], [], {}
    for i, account in enumerate(accounts):
        key = Account.from_key(getattr(account, "private_key", None) or account.key)
        view = Chain(rpc_url, Deployment.from_record(suite.record), load_abis())
        store = Store(tmp / f"oracle-{i}.sqlite")
        service = OracleService(
            view,
            store,
            key,
            # Every radio beacons each epoch, so every link is tested in both directions.
            PipelineSettings(
                compute_n=compute_n, concurrency=16, coverage=CoverageParams(beacon_fraction=1.0)
            ),
        )
        member = member_class(key.address)(
            service, CommitteeSettings(peers={}, leader_timeout_s=leader_timeout_s)
        )
        app = create_api(store, service.metrics, {"operator": key.address})
        member.attach(app)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        urls[key.address] = f"http://127.0.0.1:{runner.addresses[0][1]}"
        members.append(member)
        runners.append(runner)
    for m in members:
        m.peers = {a: u for a, u in urls.items() if a != m.address}
    committee = LocalCommittee(members, runners, urls)
    if start_loops:
        committee.start_loops()
    return committee
