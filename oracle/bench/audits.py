"""Storage audits verified per second, end to end on this machine: N storage agents on local
ports (aiohttp, in a second process), the oracle's challenge stage (HTTP, signature check,
Merkle verification of every audited chunk) with bounded concurrency.
`python -m oracle.bench.audits`."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_account import Account
from eth_utils import keccak

from oracle.agent import Honest, Settings, create_app
from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree
from oracle.service.challenge import Limits, challenge_all, challenge_storage
from oracle.sim import market

CHAIN_ID = 31337


async def _serve_agents(agents: int, chunks: int, tmp: Path, ready, stop) -> None:
    """Runs `agents` storage agents in this process; reports (url, node, lease, root) each."""
    runners, targets = [], []
    async with aiohttp.ClientSession() as http:
        for i in range(agents):
            key = Account.create()
            settings = Settings(
                node_key=bytes(key.key),
                kind=NodeKind.STORAGE,
                chain_id=CHAIN_ID,
                data_dir=tmp / f"a{i}",
                marketplace=market.MARKETPLACE,
            )
            data = os.urandom(chunks * CHUNK_SIZE)
            leases = market.leases_of(market.lease_terms(i + 1, key.address, data))
            runner = web.AppRunner(create_app(settings, Honest(), leases=leases), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            body = market.upload(i + 1, key.address, data, CHAIN_ID)
            async with http.post(f"{url}/storage/data", json=body) as r:
                r.raise_for_status()
            runners.append(runner)
            targets.append((url, key.address, i + 1, ChunkTree.from_data(data).root))
    ready.put(targets)
    while stop.empty():
        await asyncio.sleep(0.1)
    for runner in runners:
        await runner.cleanup()


def _agent_process(agents: int, chunks: int, tmp: str, ready, stop) -> None:
    asyncio.run(_serve_agents(agents, chunks, Path(tmp), ready, stop))


async def main(agents: int, audits: int, concurrency: int, chunks: int) -> None:
    tmp = tempfile.mkdtemp(prefix="plinth-bench-")
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Queue()
    # The agents run in their own process (a provider's machine would be another host): the
    # oracle's side below has the other core.
    proc = ctx.Process(target=_agent_process, args=(agents, chunks, tmp, ready, stop))
    proc.start()
    targets = ready.get(timeout=120)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

            def job(j: int):
                url, node, lease, root = targets[j % agents]
                return lambda: challenge_storage(
                    http,
                    url,
                    chain_id=CHAIN_ID,
                    node=node,
                    epoch=1,
                    epoch_seed=keccak(b"bench"),
                    lease_id=lease,
                    n_chunks=chunks,
                    root=root,
                    deadline_s=5.0,
                    limits=Limits(),
                )

            await challenge_all([job(j) for j in range(min(200, audits))], concurrency)  # warm-up
            started = time.perf_counter()
            outcomes = await challenge_all([job(j) for j in range(audits)], concurrency)
            elapsed = time.perf_counter() - started
    finally:
        stop.put(True)
        proc.join(timeout=30)
    passed = sum(o.passed for o in outcomes)
    k = min(10, chunks)
    print(f"keccak backend: {os.environ.get('ETH_HASH_BACKEND') or 'default'}")
    print(
        f"{audits} storage audits ({k} chunks + proofs each, {agents} agents in a second "
        f"process, concurrency {concurrency}): {elapsed:.2f} s, {audits / elapsed:,.0f} "
        f"audits/s, {audits * k / elapsed:,.0f} chunk proofs/s, {passed}/{audits} passed"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--audits", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=256)
    a = ap.parse_args()
    asyncio.run(main(a.agents, a.audits, a.concurrency, a.chunks))
