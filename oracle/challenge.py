"""The challenge stage: the oracle's side of each proof, over HTTP to the node agents.

Each function challenges one node once and returns an Outcome: the verdict of the pure
verifier, the reason code, and the raw signed responses (stored as evidence). Nothing here
raises on what a node does: a node that hangs, sends garbage, a huge body or a response signed
by someone else costs a failed verdict and nothing more. Timeouts and size limits bound every
request; concurrency is bounded by the caller (`challenge_all`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from eth_utils import keccak

from oracle.agent import wire
from oracle.envelope import EnvelopeError, SignedResponse, challenge_id, verify_response
from oracle.proofs import compute, storage


@dataclass
class Outcome:
    node: str
    kind: str
    challenge_id: bytes
    passed: bool
    reason: str
    detail: str = ""
    latency_s: float | None = None
    lease_id: int | None = None
    index: int | None = None  # the failing row or chunk, when there is one
    responses: list[dict] = field(default_factory=list)  # raw signed wire bodies, as received
    request: dict = field(default_factory=dict)


class _Refused(Exception):
    """The node's answer cannot be used: the outcome's reason and detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0
    max_response_bytes: int = 4 << 20


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict,
    limits: Limits,
    timeout_s: float | None = None,
) -> tuple[dict, float]:
    """POSTs `body`; returns the JSON answer and the latency. Refuses (with a reason code) on a
    timeout, a connection error, a non-200 status, a body over the limit or non-JSON."""
    started = time.perf_counter()
    try:
        async with session.post(
            url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s or limits.timeout_s)
        ) as resp:
            raw = await resp.content.read(limits.max_response_bytes + 1)
            latency = time.perf_counter() - started
            if len(raw) > limits.max_response_bytes:
                raise _Refused("too_large", f"answer over {limits.max_response_bytes} bytes")
            if resp.status != 200:
                raise _Refused(
                    "offline" if resp.status >= 500 else "refused",
                    f"HTTP {resp.status}: {raw[:200]!r}",
                )
    except TimeoutError:
        raise _Refused("timeout", f"no answer within {timeout_s or limits.timeout_s} s") from None
    except aiohttp.ClientError as exc:
        raise _Refused("offline", f"{type(exc).__name__}: {exc}") from None
    try:
        return json.loads(raw), latency
    except ValueError:
        raise _Refused("malformed", "answer is not JSON") from None


def _open(body: dict, chain_id: int, cid: bytes, node: str) -> Any:
    try:
        return verify_response(SignedResponse.from_wire(body), chain_id, cid, node)
    except EnvelopeError as exc:
        raise _Refused("bad_signature", str(exc)) from None


def fresh_nonce(epoch_seed: bytes) -> bytes:
    """The epoch seed mixed with the oracle's own fresh randomness: nobody can precompute an
    answer from the public seed alone, and the seed ties the challenge to the epoch."""
    return keccak(epoch_seed + os.urandom(32))


async def challenge_compute(
    session,
    endpoint: str,
    *,
    chain_id: int,
    node: str,
    epoch: int,
    epoch_seed: bytes,
    n: int,
    hw_class: int,
    limits: Limits,
) -> Outcome:
    nonce = fresh_nonce(epoch_seed)
    seed = keccak(nonce + b"compute-seed")
    cid = challenge_id(chain_id, node, epoch, "compute", nonce)
    request = {
        "epoch": epoch,
        "nonce": wire.hexb(nonce),
        "seed": wire.hexb(seed),
        "n": n,
        "chain_id": chain_id,
    }
    out = Outcome(
        node, "compute", cid, False, "malformed", request={**request, "hw_class": hw_class}
    )
    deadline = (
        compute.deadline_s(n, compute.HARDWARE_CLASSES[hw_class])
        if hw_class in compute.HARDWARE_CLASSES
        else limits.timeout_s
    )
    try:
        # Give a slow node room to answer late (so lateness is measured, not a timeout).
        body, latency = await _post(
            session,
            f"{endpoint}/compute/commit",
            request,
            limits,
            timeout_s=max(limits.timeout_s, 2 * deadline),
        )
        out.responses.append(body)
        out.latency_s = latency
        try:
            commitment = wire.commitment_from_payload(_open(body, chain_id, cid, node))
        except ValueError as exc:
            raise _Refused("malformed", str(exc)) from None
        salt = os.urandom(32)
        out.request["salt"] = wire.hexb(salt)
        body, _ = await _post(
            session,
            f"{endpoint}/compute/reveal",
            {"challenge_id": wire.hexb(cid), "salt": wire.hexb(salt), "k": compute.DEFAULT_K},
            limits,
        )
        out.responses.append(body)
        try:
            reveal = wire.reveal_from_payload(_open(body, chain_id, cid, node))
        except ValueError as exc:
            raise _Refused("malformed", str(exc)) from None
    except _Refused as r:
        out.reason, out.detail = r.reason, r.detail
        return out
    verdict = compute.verify(
        compute.Challenge(seed=seed, n=n, node=node, epoch=epoch),
        commitment,
        reveal,
        salt=salt,
        hw_class=hw_class,
        commit_latency_s=latency,
    )
    out.passed, out.reason, out.detail, out.index = (
        verdict.passed,
        str(verdict.reason),
        verdict.detail,
        verdict.row,
    )
    return out


async def challenge_storage(
    session,
    endpoint: str,
    *,
    chain_id: int,
    node: str,
    epoch: int,
    epoch_seed: bytes,
    lease_id: int,
    n_chunks: int,
    root: bytes,
    deadline_s: float,
    limits: Limits,
) -> Outcome:
    nonce = fresh_nonce(epoch_seed)
    cid = challenge_id(chain_id, node, epoch, "storage", nonce)
    request = {
        "epoch": epoch,
        "nonce": wire.hexb(nonce),
        "lease_id": lease_id,
        "chain_id": chain_id,
    }
    out = Outcome(node, "storage", cid, False, "malformed", lease_id=lease_id, request=request)
    try:
        body, latency = await _post(session, f"{endpoint}/storage/audit", request, limits)
        out.responses.append(body)
        out.latency_s = latency
        payload = _open(body, chain_id, cid, node)
    except _Refused as r:
        out.reason, out.detail = r.reason, r.detail
        return out
    challenge = storage.Challenge(
        nonce=nonce, node=node, lease_id=lease_id, n_chunks=n_chunks, root=root
    )
    verdict = storage.verify(challenge, payload, latency, deadline_s)
    out.passed, out.reason, out.detail, out.index = (
        verdict.passed,
        str(verdict.reason),
        verdict.detail,
        verdict.index,
    )
    return out


async def challenge_all(
    jobs: list[Callable[[], Awaitable[Outcome]]], concurrency: int
) -> list[Outcome]:
    """Runs the challenge coroutines with at most `concurrency` in flight; results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job):
        async with gate:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))
