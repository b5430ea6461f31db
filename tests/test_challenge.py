"""The oracle's challenge stage against misbehaving servers: a node that hangs, floods, sends
garbage or answers with another key's signature costs a failed verdict, never an exception."""

import asyncio

import aiohttp
import pytest
from aiohttp import web
from eth_account import Account

from oracle.protocol.envelope import challenge_id, sign_response
from oracle.service.challenge import Limits, challenge_all, challenge_storage

CHAIN = 31337
NODE = Account.create()


def handler(mode: str):
    async def answer(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if mode == "hang":
            await asyncio.sleep(10)
        if mode == "flood":
            return web.Response(body=b"x" * (2 << 20))
        if mode == "garbage":
            return web.Response(text="{not json")
        if mode == "error":
            return web.json_response({"error": "boom"}, status=500)
        cid = challenge_id(
            CHAIN, NODE.address, body["epoch"], "storage", bytes.fromhex(body["nonce"][2:])
        )
        signer = Account.create() if mode == "wrong_key" else NODE
        return web.json_response(sign_response(signer.key, CHAIN, cid, {"chunks": []}).to_wire())

    return answer


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("hang", "timeout"),
        ("flood", "too_large"),
        ("garbage", "malformed"),
        ("error", "offline"),
        ("wrong_key", "bad_signature"),
        ("signed_but_empty", "wrong_indices"),
    ],
)
async def test_challenge_storage_fails_cleanly_when_node_misbehaves(aiohttp_server, mode, reason):
    app = web.Application()
    app.router.add_post("/storage/audit", handler(mode))
    server = await aiohttp_server(app)
    limits = Limits(timeout_s=0.5, max_response_bytes=1 << 20)
    async with aiohttp.ClientSession() as http:
        out = await challenge_storage(
            http,
            str(server.make_url("")).rstrip("/"),
            chain_id=CHAIN,
            node=NODE.address,
            epoch=3,
            epoch_seed=b"\x01" * 32,
            lease_id=1,
            n_chunks=16,
            root=b"\x02" * 32,
            deadline_s=1.0,
            limits=limits,
        )
    assert not out.passed
    assert out.reason == reason, (out.reason, out.detail)


@pytest.mark.asyncio
async def test_challenge_all_bounds_concurrency():
    running, peak = 0, 0

    async def job():
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return running

    await challenge_all([job for _ in range(50)], concurrency=4)
    assert peak == 4
