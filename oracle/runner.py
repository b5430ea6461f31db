"""The long-running oracle: the pipeline loop as a background task of the API's aiohttp app
(cleanup_ctx), one ClientSession for all challenges, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from oracle.api import create_api
from oracle.chain import Chain, Deployment, load_abis
from oracle.challenge import Limits
from oracle.config import Settings
from oracle.service import OracleService, PipelineSettings
from oracle.store import Store

log = logging.getLogger("plinth.oracle")
ACTIVE = ("challenged", "scored", "reported", "submitted")


async def step(service: OracleService, session: aiohttp.ClientSession) -> None:
    """One pass: challenge the current epoch once, then report every ended epoch the hub still
    waits for and this oracle challenged."""
    chain, store = service.chain, service.store
    current = await asyncio.to_thread(chain.current_epoch)
    row = store.epoch(current)
    if row is None or row["state"] == "scheduled":
        await service.challenge_epoch(current, session)
    next_epoch = await asyncio.to_thread(chain.next_report_epoch)
    for epoch in range(next_epoch, current):
        row = store.epoch(epoch)
        if row is None or row["state"] not in ACTIVE:
            continue
        build = await asyncio.to_thread(service.build_report, epoch)
        await asyncio.to_thread(service.submit, epoch, build)


async def run_loop(service: OracleService, session: aiohttp.ClientSession, interval_s: float):
    while True:
        try:
            await step(service, session)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed pass is logged and counted; the next one retries
            service.metrics["loop_errors"] += 1
            log.exception("pipeline pass failed")
        await asyncio.sleep(interval_s)


def build_app(settings: Settings) -> web.Application:
    key = settings.load_key()
    deployment = Deployment.from_file(settings.deployment)
    abis = load_abis(settings.build_manifest) if settings.build_manifest else load_abis()
    chain = Chain(settings.rpc_url, deployment, abis)
    store = Store(settings.store_path)
    ch = settings.challenges
    service = OracleService(
        chain,
        store,
        key,
        PipelineSettings(
            compute_n=ch.compute_n,
            storage_deadline_s=ch.storage_deadline_s,
            concurrency=ch.concurrency,
            limits=Limits(timeout_s=ch.timeout_s, max_response_bytes=ch.max_response_bytes),
        ),
    )
    app = create_api(store, service.metrics, {"operator": key.address, "chain_id": chain.chain_id})

    async def pipeline(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            task = asyncio.create_task(run_loop(service, session, settings.poll_interval_s))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        store.close()

    app.cleanup_ctx.append(pipeline)
    log.info("oracle %s on chain %d, store %s", key.address, chain.chain_id, settings.store_path)
    return app
