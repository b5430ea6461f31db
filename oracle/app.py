"""The long-running oracle: the pipeline loop as a background task of the API's aiohttp app
(cleanup_ctx), one ClientSession for all challenges, graceful shutdown. With [committee]
peers in the config the operator runs as a committee member (oracle.committee.member) and the
API serves the committee endpoints too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from oracle.committee.build import build_report
from oracle.committee.member import CommitteeSettings, Member
from oracle.protocol import bls
from oracle.protocol.coverage import CoverageParams
from oracle.service.api import create_api
from oracle.service.chain import Chain, ChainError, Deployment, load_abis
from oracle.service.challenge import Limits
from oracle.service.config import Settings
from oracle.service.health import Health
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.service.store import Store

log = logging.getLogger("plinth.oracle")
ACTIVE = ("challenged", "scored", "reported", "submitted")


async def step(service: OracleService, session: aiohttp.ClientSession) -> None:
    """One pass: challenge the current epoch once, then report every ended epoch the hub still
    waits for and this oracle challenged."""
    chain, store = service.chain, service.store
    current = await asyncio.to_thread(chain.current_epoch)
    row = store.epoch(current)
    if row is None or row["state"] == "scheduled":
        await service.challenge_current(current, session)
    next_epoch = await asyncio.to_thread(chain.next_report_epoch)
    next_epoch = await asyncio.to_thread(service.submitter.skip_gap, current, next_epoch)
    for epoch in range(next_epoch, current):
        row = store.epoch(epoch)
        if row is None or row["state"] not in ACTIVE:
            continue
        build = await asyncio.to_thread(build_report, service, epoch)
        await asyncio.to_thread(service.submitter.submit, epoch, build)


async def run_loop(
    service: OracleService,
    session: aiohttp.ClientSession,
    interval_s: float,
    member: Member | None = None,
):
    """Pipeline passes forever: alone (`step`) or as a committee member (`Member.step`). A
    failed pass is counted and recorded for /health; the next one retries. The same error
    again is logged once a minute, not every pass."""
    repeats = 0
    while True:
        try:
            await (member.step(session) if member is not None else step(service, session))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            service.metrics["loop_errors"] += 1
            again = (
                service.health.consecutive_failures > 0
                and service.health.last_error == (f"{type(exc).__name__}: {exc}"[:500])
            )
            service.health.pass_failed(exc)
            repeats = repeats + 1 if again else 0
            if not again:
                if isinstance(exc, ChainError):  # a known failure: one line, /health says more
                    log.error("pipeline pass of %s failed: %s", service.key.address, exc)
                else:
                    log.exception("pipeline pass of %s failed", service.key.address)
            elif repeats % max(1, round(60 / interval_s)) == 0:
                failures = service.health.consecutive_failures
                log.error("pipeline pass of %s still failing (%d passes in a row): %s",
                          service.key.address, failures, exc)  # fmt: skip
        else:
            service.health.pass_ok()
            repeats = 0
        await service.observe()
        await asyncio.sleep(interval_s)


def _deployment_view(settings: Settings) -> dict:
    """/deployment: the record `ape run deploy` wrote (chain, clock, contract addresses) and
    the JSON-RPC URL browsers may read the chain through ([api] public_rpc_url; null: none)."""
    record = json.loads(settings.deployment.read_text())
    keep = (
        "chain_id",
        "network",
        "genesis",
        "epoch_duration",
        "from_block",
        "contracts",
        "governance_delay",
    )
    return {k: record[k] for k in keep if k in record} | {"rpc_url": settings.public_rpc_url}


def _chain(settings: Settings) -> Chain:
    deployment = Deployment.from_file(settings.deployment)
    abis = load_abis(settings.build_manifest) if settings.build_manifest else load_abis()
    return Chain(settings.rpc_url, deployment, abis)


def register_bls_key(settings: Settings) -> str:
    """Registers the operator's BLS key (oracle.protocol.bls.derive_secret_key of its keystore key)
    with its proof of possession; returns what happened, for the operator."""
    key = settings.load_key()
    chain = _chain(settings)
    tx = chain.register_bls_key(key, bls.derive_secret_key(bytes(key.key)))
    receipt = chain.receipt(tx)
    if receipt["status"] != 1:
        raise ChainError(f"registerBlsKey reverted (0x{tx.hex()})")
    return (
        f"registered the BLS key of {key.address} (0x{tx.hex()}); it takes effect when the "
        "hub's owner next sets the committee"
    )


SERVICE = web.AppKey("service", OracleService)
MEMBER = web.AppKey("member", object)  # the Member, or None for an operator alone


def create_app(
    settings: Settings, *, member_class: type[Member] = Member, run_pipeline: bool = True
) -> web.Application:
    """The operator's oracle (pipeline, API and, with [committee] peers, the committee
    endpoints) from its settings: the one composition root, which `plinth-oracle run`, the
    demo and the tests all start. `member_class` lets the simulation run a hostile member;
    `run_pipeline=False` leaves the pipeline passes to the caller (tests that drive rounds)."""
    key = settings.load_key()
    chain = _chain(settings)
    store = Store(settings.store_path)
    ch = settings.challenges
    service = OracleService(
        chain,
        store,
        key,
        PipelineSettings(
            compute=ch.compute,
            storage_deadline_s=ch.storage_deadline_s,
            concurrency=ch.concurrency,
            limits=Limits(
                timeout_s=ch.timeout_s,
                max_response_bytes=ch.max_response_bytes,
                attempts=ch.attempts,
                backoff_s=ch.backoff_s,
            ),
            member_spacing_s=settings.committee.spacing_s if settings.committee.peers else 0.0,
            recheck_after_s=ch.recheck_after_s,
            coverage=CoverageParams(
                beacon_fraction=ch.beacon_fraction, reveal_after_s=ch.beacon_reveal_after_s
            ),
        ),
    )
    service.health = Health(
        key.address,
        alone=not settings.committee.peers,
        min_balance_wei=settings.min_balance_wei,
        stale_after_s=max(120.0, 20 * settings.poll_interval_s),
    )
    app = create_api(
        store,
        service.metrics,
        {"operator": key.address, "chain_id": chain.chain_id},
        service.health,
        deployment_=_deployment_view(settings),
        chain_nodes=lambda: service.node_snapshot,
    )
    member = None
    if settings.committee.peers:
        cm = settings.committee
        member = member_class(
            service,
            CommitteeSettings(cm.peers, cm.leader_timeout_s, cm.request_timeout_s),
        )
        member.attach(app)
    app[SERVICE], app[MEMBER] = service, member

    async def pipeline(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            task = None
            if run_pipeline:
                task = asyncio.create_task(
                    run_loop(service, session, settings.poll_interval_s, member)
                )
            yield
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await service.close()
            if member is not None:
                await member.close()
        store.close()

    app.cleanup_ctx.append(pipeline)
    log.info("oracle %s on chain %d, store %s", key.address, chain.chain_id, settings.store_path)
    return app
