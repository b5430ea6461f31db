"""The oracle's challenge stage against misbehaving servers: a node that hangs, floods, sends
garbage or answers with another key's signature costs a failed verdict, never an exception."""

import asyncio

import aiohttp
import pytest
from aiohttp import web
from eth_account import Account

from oracle.protocol.envelope import challenge_id, sign_response
from oracle.service.challenge import Limits, challenge_all, challenge_storage, with_retries

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
        payload = {"lease_id": body["lease_id"], "chunks": []}
        return web.json_response(sign_response(signer.key, CHAIN, cid, payload).to_wire())

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


@pytest.mark.asyncio
async def test_a_dropped_request_is_tried_again_as_a_new_challenge(aiohttp_server):
    """The first two requests are dropped (the connection closes); the third try, a new
    challenge with a fresh nonce, is answered: one passed-or-verified outcome, 3 attempts."""
    nonces = []
    honest = handler("signed_but_empty")

    async def flaky(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        nonces.append(body["nonce"])
        if len(nonces) <= 2:
            request.transport.close()
            return web.Response(status=500)
        return await honest(_replay(request, body))

    app = web.Application()
    app.router.add_post("/storage/audit", flaky)
    server = await aiohttp_server(app)
    limits = Limits(timeout_s=1.0, max_response_bytes=1 << 20, attempts=4, backoff_s=0.01)
    async with aiohttp.ClientSession() as http:
        out = await with_retries(lambda: _audit(http, server, limits), limits)
    assert out.attempts == 3 and out.reason == "wrong_indices"  # answered (signed, empty)
    assert len(set(nonces)) == 3  # every try was a new challenge


@pytest.mark.asyncio
async def test_a_node_that_never_answers_is_unanswered_after_every_try(aiohttp_server):
    app = web.Application()
    app.router.add_post("/storage/audit", handler("error"))
    server = await aiohttp_server(app)
    limits = Limits(timeout_s=1.0, max_response_bytes=1 << 20, attempts=3, backoff_s=0.01)
    async with aiohttp.ClientSession() as http:
        out = await with_retries(lambda: _audit(http, server, limits), limits)
    assert (out.passed, out.reason, out.attempts) == (False, "offline", 3)
    assert "no answer in 3 tries" in out.detail


def _audit(http, server, limits):
    return challenge_storage(
        http, str(server.make_url("")).rstrip("/"), chain_id=CHAIN, node=NODE.address, epoch=3,
        epoch_seed=b"\x01" * 32, lease_id=1, n_chunks=16, root=b"\x02" * 32, deadline_s=1.0,
        limits=limits,
    )  # fmt: skip


class _replay:
    """A request whose JSON body was already read (handler() reads it again)."""

    def __init__(self, request, body):
        self._body = body

    async def json(self):
        return self._body
