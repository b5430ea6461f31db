"""Storage audits verified per second, end to end on this machine: N storage agents on local
ports (aiohttp), the oracle's challenge stage (HTTP, signature check, Merkle verification of
every audited chunk) with bounded concurrency. `python -m oracle.bench.audits`."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_account import Account
from eth_utils import keccak

from oracle.agent import Honest, Settings, create_app
from oracle.challenge import Limits, challenge_all, challenge_storage
from oracle.hardware import NodeKind
from oracle.merkle import CHUNK_SIZE, ChunkTree

CHAIN_ID = 31337


async def main(agents: int, audits: int, concurrency: int, chunks: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="plinth-bench-"))
    runners, targets = [], []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        for i in range(agents):
            key = Account.create()
            settings = Settings(
                node_key=bytes(key.key),
                kind=NodeKind.STORAGE,
                chain_id=CHAIN_ID,
                data_dir=tmp / f"a{i}",
            )
            runner = web.AppRunner(create_app(settings, Honest()), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            data = os.urandom(chunks * CHUNK_SIZE)
            async with http.post(
                f"{url}/storage/data", json={"lease_id": i + 1, "data": "0x" + data.hex()}
            ) as r:
                r.raise_for_status()
            runners.append(runner)
            targets.append((url, key.address, i + 1, ChunkTree.from_data(data).root))

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
        for runner in runners:
            await runner.cleanup()
    passed = sum(o.passed for o in outcomes)
    k = min(10, chunks)
    print(
        f"{audits} storage audits ({k} chunks + proofs each, {agents} agents, "
        f"concurrency {concurrency}): {elapsed:.2f} s, {audits / elapsed:,.0f} audits/s, "
        f"{audits * k / elapsed:,.0f} chunk proofs/s, {passed}/{audits} passed"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--audits", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--chunks", type=int, default=256)
    a = ap.parse_args()
    asyncio.run(main(a.agents, a.audits, a.concurrency, a.chunks))
