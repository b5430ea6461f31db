"""The challenge stage: the oracle's side of each proof, over HTTP to the node agents.

Each function challenges one node once and returns an Outcome: the verdict of the pure
verifier, the reason code, and the raw signed responses (stored as evidence). Nothing here
raises on what a node does: a node that hangs, sends garbage, a huge or deeply nested body, an
out-of-range number or a response signed by someone else costs that node a failed verdict and
nothing more. Every answer is decoded by oracle.protocol.strict and the wire decoders before
any field is used; timeouts and size limits bound every request; decoding and verification run
in worker threads, so one node's answer never delays the timing of another; an unexpected error
while handling one node's answer is logged and becomes that node's "internal_error" verdict
(never slashed). Concurrency is bounded by the caller (`challenge_all`)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from eth_utils import keccak

from oracle.protocol import compute, coverage, storage, wire
from oracle.protocol.envelope import (
    EnvelopeError,
    SignedResponse,
    challenge_id,
    member_nonce,
    verify_response,
)
from oracle.protocol.strict import DecodeError, JsonLimits, decode_json

log = logging.getLogger("plinth.challenge")


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
    responses: list[bytes] = field(default_factory=list)  # the node's answers, exact bytes
    request: dict = field(default_factory=dict)
    deadline_s: float = 0.0  # the deadline this challenge ran with (scoring weighs latency by it)
    coverage_micro: int = 0  # wireless: the node's coverage units x 1e6 in this round
    attempts: int = 1  # tries it took (each with a fresh nonce): see with_retries


class _Refused(Exception):
    """The node's answer cannot be used: the outcome's reason and detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0
    max_response_bytes: int = 8 << 20  # a compute reveal at n = 8192 is about 3.3 MB
    attempts: int = 4  # tries before a challenge is recorded as unanswered
    backoff_s: float = 0.5  # wait before the second try, doubled before each later one


# Outcomes that say nothing about the node's honesty, only that no answer came through: the
# request or the answer may have been dropped, so the challenge is tried again.
RETRIED = frozenset({"timeout", "offline"})


async def with_retries(attempt: Callable[[], Awaitable[Outcome]], limits: Limits) -> Outcome:
    """`attempt()` until it gets an answer, at most `limits.attempts` times with exponential
    backoff. Each attempt is a new challenge (a fresh nonce, so fresh work and fresh chunk
    indices): a node that ignores the first request gains nothing by answering the next one
    from work done meanwhile, and latency is measured on the attempt answered. The outcome is
    the last attempt's, with `attempts` set; an unanswered one spans several seconds of tries,
    so a dropped packet or a restart is not read as a node that is down."""
    waited = 0.0
    for i in range(max(limits.attempts, 1)):
        if i:
            delay = limits.backoff_s * 2 ** (i - 1)
            await asyncio.sleep(delay)
            waited += delay
        out = await attempt()
        out.attempts = i + 1
        if out.reason not in RETRIED:
            break
    if out.attempts > 1 and out.reason in RETRIED:
        out.detail = f"{out.detail} (no answer in {out.attempts} tries over {waited:.1f} s)"
    return out


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict,
    limits: Limits,
    timeout_s: float | None = None,
    out: Outcome | None = None,
) -> tuple[Any, float]:
    """POSTs `body`; returns the JSON answer and the latency. The answer's exact bytes are
    appended to `out.responses` (the evidence, kept as received). Refuses (with a reason code)
    on a timeout, a connection error, a non-200 status, a body over the limit or non-JSON."""
    started = time.perf_counter()
    try:
        async with session.post(
            url, json=body, timeout=aiohttp.ClientTimeout(total=timeout_s or limits.timeout_s)
        ) as resp:
            raw = await _read_bounded(resp, limits.max_response_bytes)
            latency = time.perf_counter() - started
            if out is not None:
                out.responses.append(raw[: limits.max_response_bytes])
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
        body = await asyncio.to_thread(
            decode_json, raw, JsonLimits(max_bytes=limits.max_response_bytes)
        )
    except DecodeError as exc:
        raise _Refused("malformed", f"answer: {exc}") from None
    return body, latency


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, or limit + 1 bytes if it is longer (read stops there: a huge answer
    never fills the oracle's memory)."""
    parts, size = [], 0
    while size <= limit:
        chunk = await resp.content.read(limit + 1 - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _open_sync(body: Any, chain_id: int, cid: bytes, node: str) -> Any:
    try:
        return verify_response(SignedResponse.from_wire(body), chain_id, cid, node)
    except EnvelopeError as exc:
        raise _Refused("bad_signature", str(exc)) from None


async def _open(body: Any, chain_id: int, cid: bytes, node: str) -> Any:
    """The payload of a node's signed answer (signature recovered and payload decoded in a
    worker thread); refuses an answer not signed by `node` for `cid`."""
    return await asyncio.to_thread(_open_sync, body, chain_id, cid, node)


def _decode(decoder: Callable[[Any], Any], payload: Any) -> Any:
    try:
        return decoder(payload)
    except ValueError as exc:
        raise _Refused("malformed", str(exc)) from None


async def _settle(out: Outcome, exchange: Awaitable[tuple[Any, int | None]]) -> Outcome:
    """`out` completed by one challenge's exchange and verification: the verifier's verdict
    and the failing row or chunk, the refusal's reason, or (anything unexpected on the node's
    answer) that node's internal_error."""
    try:
        verdict, index = await exchange
    except _Refused as r:
        out.reason, out.detail = r.reason, r.detail
        return out
    except Exception as exc:  # CancelledError is a BaseException and propagates
        return _internal_error(out, exc)
    out.passed, out.reason, out.detail = verdict.passed, str(verdict.reason), verdict.detail
    out.index = index
    return out


def _internal_error(out: Outcome, exc: BaseException) -> Outcome:
    """An unexpected error while handling `out.node`'s answer: that node's failed verdict,
    unattributable (never slashed), logged with the traceback for the operator."""
    log.error(
        "%s challenge of %s: internal error", out.kind, out.node, exc_info=(type(exc), exc, None)
    )
    out.passed, out.reason = False, "internal_error"
    out.detail = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


def fresh_nonce(epoch_seed: bytes, member: str = "") -> tuple[bytes, dict]:
    """A challenge nonce and its origin, the fields kept with the request (not sent to the
    node). The nonce is oracle.protocol.envelope.member_nonce(member, r) with r =
    keccak256(epoch seed || 32 fresh random bytes): nobody can precompute an answer from the
    public seed alone, the seed ties it to the epoch, and the member's address ties the
    challenge to the member that sent it, so another member cannot show that member's
    challenge as its own (oracle.committee.evidence checks it). Without a member (tests,
    tools), r is the nonce."""
    r = keccak(epoch_seed + os.urandom(32))
    if not member:
        return r, {}
    return member_nonce(member, r), {"member": member.lower(), "member_r": wire.hexb(r)}


REVEAL_TRIES = 8  # a reveal is asked again (same salt) before the node counts as withholding
REVEAL_BACKOFF_CAP_S = 4.0


async def challenge_compute(
    session,
    endpoint: str,
    *,
    chain_id: int,
    node: str,
    epoch: int,
    epoch_seed: bytes,
    hw_class: int,
    gpu_count: int,
    limits: Limits,
    params: compute.Params = compute.DEFAULT_PARAMS,
    member: str = "",
) -> Outcome:
    """One compute challenge (oracle.protocol.compute): the shape for the node's claim
    (`params`: the committee's), the commitment timed against the
    claim's deadline, then the reveal, asked up to REVEAL_TRIES times with the same salt (a
    dropped request is not withholding); a node that committed and never revealed is
    `withheld`. A claim no challenge can prove (an unknown class, a GPU count outside
    [1, MAX_STREAMS]) is not sent: `unknown_class` or `unprovable_claim`."""
    nonce, origin = fresh_nonce(epoch_seed, member)
    seed = keccak(nonce + b"compute-seed")
    cid = challenge_id(chain_id, node, epoch, "compute", nonce)
    cls = compute.HARDWARE_CLASSES.get(hw_class)
    claim = {"epoch": epoch, "hw_class": hw_class, "gpu_count": gpu_count}
    out = Outcome(node, "compute", cid, False, "unknown_class", f"no hardware class {hw_class}",
                  request=claim)  # fmt: skip
    if cls is None:
        return out
    try:
        shape = compute.shape_for(cls, gpu_count, params)
    except ValueError as exc:
        out.reason, out.detail = "unprovable_claim", str(exc)
        return out
    request = {
        "epoch": epoch,
        "nonce": wire.hexb(nonce),
        "seed": wire.hexb(seed),
        "matrix_seed": wire.hexb(compute.matrix_seed_for(epoch_seed)),
        "n": shape.n,
        "rows": shape.rows,
        "streams": shape.streams,
        "chain_id": chain_id,
    }
    out.reason, out.detail = "malformed", ""
    out.request = {**request, "hw_class": hw_class, "gpu_count": gpu_count, **origin}
    deadline = compute.deadline_s(shape, cls)
    out.deadline_s = deadline
    challenge = compute.Challenge(
        seed, compute.matrix_seed_for(epoch_seed), node, epoch, shape.n, shape.rows,
        shape.streams,
    )  # fmt: skip

    async def exchange():
        # Give a slow node room to answer late (so lateness is measured, not a timeout).
        body, latency = await _post(
            session,
            f"{endpoint}/compute/commit",
            request,
            limits,
            timeout_s=max(limits.timeout_s, 2 * deadline),
            out=out,
        )
        out.latency_s = latency
        payload = await _open(body, chain_id, cid, node)
        gave_up = _decode(wire.gave_up_from_payload, payload)
        if gave_up is not None:  # the node's own word that it is slower than its claim
            return compute.Verdict(False, compute.Reason.LATE, detail=gave_up), None
        commitment = _decode(wire.commitment_from_payload, payload)
        salt = os.urandom(32)
        out.request["salt"] = wire.hexb(salt)
        ask = {"challenge_id": wire.hexb(cid), "salt": wire.hexb(salt), "k": compute.DEFAULT_K}
        for attempt in range(REVEAL_TRIES):
            if attempt:
                backoff = limits.backoff_s * 2 ** (attempt - 1)
                await asyncio.sleep(min(backoff, REVEAL_BACKOFF_CAP_S))
            kept = len(out.responses)
            try:
                body, _ = await _post(session, f"{endpoint}/compute/reveal", ask, limits, out=out)
                break
            except _Refused as r:
                if r.reason not in RETRIED:
                    raise
                del out.responses[kept:]  # the evidence is the commitment and the reveal only
                if attempt == REVEAL_TRIES - 1:
                    raise _Refused(
                        "withheld",
                        f"committed after {latency:.3f} s, then no reveal in {REVEAL_TRIES} "
                        f"tries ({r.detail})",
                    ) from None
        reveal = _decode(wire.reveal_from_payload, await _open(body, chain_id, cid, node))
        verdict = await asyncio.to_thread(
            compute.verify,
            challenge,
            commitment,
            reveal,
            salt=salt,
            hw_class=hw_class,
            gpu_count=gpu_count,
            commit_latency_s=latency,
            params=params,
        )
        return verdict, verdict.row

    return await _settle(out, exchange())


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
    member: str = "",
    data_held: bool = False,
) -> Outcome:
    """One storage audit of `lease_id`. `data_held`: the node's DataReceipt for the lease is on
    the chain (Marketplace.confirmData), so a refusal (HTTP 4xx, such as 404 "no data") is
    `data_withheld`, a storage failure naming the lease and the first chunk asked (the node
    disputes it on-chain with that chunk); without a receipt a refusal is only unrewarded."""
    nonce, origin = fresh_nonce(epoch_seed, member)
    cid = challenge_id(chain_id, node, epoch, "storage", nonce)
    request = {
        "epoch": epoch,
        "nonce": wire.hexb(nonce),
        "lease_id": lease_id,
        "chain_id": chain_id,
    }
    out = Outcome(
        node, "storage", cid, False, "malformed", lease_id=lease_id,
        request={**request, **origin}, deadline_s=deadline_s,
    )  # fmt: skip

    async def exchange():
        challenge = storage.Challenge(
            nonce=nonce, node=node, lease_id=lease_id, n_chunks=n_chunks, root=root
        )
        try:
            body, latency = await _post(
                session, f"{endpoint}/storage/audit", request, limits, out=out
            )
        except _Refused as r:
            if data_held and r.reason == "refused":
                out.index = storage.first_index(challenge)
                raise _Refused(
                    "data_withheld",
                    f"refused an audit of a lease whose data it signed for ({r.detail})",
                ) from None
            raise
        out.latency_s = latency
        payload = await _open(body, chain_id, cid, node)
        verdict = await asyncio.to_thread(storage.verify, challenge, payload, latency, deadline_s)
        return verdict, verdict.index

    return await _settle(out, exchange())


async def challenge_all(
    jobs: list[Callable[[], Awaitable[Outcome]]],
    concurrency: int,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Runs the challenge coroutines with at most `concurrency` in flight; the outcomes in
    order, each also handed to `on_done` as soon as it is known (the pipeline writes it then).
    A job that raises (the challenge functions above do not on anything a node sends) is
    logged and left out: its node has no verdict this time, and the others keep theirs."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job):
        async with gate:
            try:
                out = await job()
            except Exception:  # CancelledError is a BaseException and propagates
                log.exception("a challenge job failed; its node gets no verdict from it")
                return None
        if on_done is not None:
            on_done(out)
        return out

    return [o for o in await asyncio.gather(*(one(j) for j in jobs)) if o is not None]


# --- coverage ---------------------------------------------------------------------------------


async def _retried(fn, arg, limits: Limits):
    """with_retries for a coverage step that returns (Outcome, what came with it)."""
    result = None

    async def attempt() -> Outcome:
        nonlocal result
        result = await fn(arg)
        return result[0]

    await with_retries(attempt, limits)
    return result


# A witness report that is no fault of its witness alone: a link that contradicts its two claimed
# positions says one of them is false, not which (the beaconer's claim or the witness's); a proof
# of hearing that fails or cannot be checked may be the beaconer's doing (it chose what to
# reveal) or this member's (late with its share); a link between one owner's nodes confirms
# nothing; the hex cap is a lottery. None fails the witness; none earns anyone coverage.
NOT_THE_WITNESS_FAULT = coverage.UNPROVEN_LINKS | {coverage.Reason.OVER_HEX_CAP}
REVEAL_TRIES = 8  # asks for a beacon's shares (see _reveal)


def _judge(transmitted, reports, claims, params, now, secrets, unverifiable):
    """The round's pure analysis (in a worker thread; linear in the reports): each report's
    verdict and coverage per node. `unverifiable`: indices of reports that reached this member
    too late to be trusted (after their beacon's secret could be out): `unverified`."""
    late = [i for i in range(len(reports)) if i in unverifiable]
    kept = [i for i in range(len(reports)) if i not in unverifiable]
    verdicts: list = [None] * len(reports)
    judged = coverage.validate_witnesses(
        transmitted, [reports[i] for i in kept], claims, params, now=now, secrets=secrets
    )
    for i, v in zip(kept, judged, strict=True):
        verdicts[i] = v
    for i in late:
        verdicts[i] = coverage.WitnessVerdict.reject(
            coverage.Reason.UNVERIFIED, "the witness list reached this member after the reveal"
        )
    weights = coverage.hex_density_weights(
        {a: c.cell(params.hex_cap_resolution) for a, c in claims.items()}, params
    )
    scores = coverage.coverage_scores(
        transmitted, zip(reports, verdicts, strict=True), weights, params
    )
    return verdicts, scores


async def challenge_witnesses(
    session,
    endpoint: str,
    *,
    chain_id: int,
    node: str,
    epoch: int,
    epoch_seed: bytes,
    limits: Limits,
    member: str = "",
) -> tuple[Outcome, list[coverage.WitnessReport]]:
    """One wireless node's witness reports of `epoch` (POST /coverage/witnesses), signed by
    it: the outcome (kind "coverage": passed iff it answered, signed, with its own reports of
    this epoch) and the reports. Once in the coverage round; again, alone, when the node
    answered none of the epoch's challenges (a liveness check, reports unused)."""
    node = coverage.node_id(node)
    nonce, origin = fresh_nonce(epoch_seed, member)
    cid = challenge_id(chain_id, node, epoch, "coverage", nonce)
    request = {"epoch": epoch, "nonce": wire.hexb(nonce), "chain_id": chain_id}
    out = Outcome(
        node, "coverage", cid, False, "malformed", request={**request, **origin},
        deadline_s=limits.timeout_s,
    )  # fmt: skip
    try:
        body, out.latency_s = await _post(
            session, f"{endpoint}/coverage/witnesses", request, limits, out=out
        )
        got_epoch, reports = _decode(
            wire.witnesses_from_payload, await _open(body, chain_id, cid, node)
        )
        if got_epoch != epoch or any(r.witness != node for r in reports):
            raise _Refused("malformed", "reports of another epoch or another witness")
    except _Refused as r:
        out.reason, out.detail = r.reason, r.detail
        return out, []
    except Exception as exc:
        return _internal_error(out, exc), []
    out.passed, out.reason, out.detail = True, "ok", f"{len(reports)} reports"
    return out, reports


async def challenge_liveness(session, endpoint: str, *, limits: Limits, **fields) -> Outcome:
    """A wireless node's witness-list request alone, with its retries: the recheck's liveness
    check (the reports are unused; the round's coverage was judged already). `fields` are
    challenge_witnesses's."""

    async def once() -> Outcome:
        out, _ = await challenge_witnesses(session, endpoint, limits=limits, **fields)
        return out

    return await with_retries(once, limits)


async def challenge_coverage(
    session,
    nodes: Mapping[str, tuple[str, coverage.RadioClaim]],
    *,
    chain_id: int,
    epoch: int,
    epoch_seed: bytes,
    params: coverage.CoverageParams,
    limits: Limits,
    key,
    start_time: float | None = None,
) -> list[Outcome]:
    """One epoch's coverage round over the eligible wireless `nodes` (address -> (endpoint,
    claimed radio from the chain)), by the member whose operator key is `key`
    (oracle.protocol.coverage, "A secret only the air carries"):

    1. the beaconers picked from the epoch seed get their beacon with this member's fresh
       share of its secret, signed by `key` (POST /coverage/beacon); each answers once it has
       transmitted, naming the members whose shares the secret holds;
    2. every node reports what it heard (POST /coverage/witnesses), signed, naming only itself
       as witness; a list that reaches this member after (its beacon request + reveal_after_s)
       counts for nothing on that beacon (the secret may be out by then);
    3. each beaconer whose secret holds this member's share reveals the shares (POST
       /coverage/reveal, under the beacon request's challenge id), no sooner than reveal_after
       its transmission; every share must be signed by its member and this member's own must
       be in it;
    4. the reports are checked against the secrets and the CLAIMED positions and radios
       (coverage.validate_witnesses).

    Outcomes: kind "beacon" per beaconer (passed iff it answered, signed, for this beacon, and
    revealed the shares when this member's was in: "withheld" otherwise; "offline" etc. when it
    did not answer; its evidence is the beacon answer and the reveal), kind "coverage" per node
    for its witness answer, and kind "witness" per witness report, recorded against its witness
    (passed iff valid or NOT_THE_WITNESS_FAULT; the reason is the verifier's). No report is ever
    recorded against the beaconer: what a beacon's witnesses report cannot fail it. Every
    coverage outcome carries the node's `coverage_micro` (coverage units x 1e6, hex-density
    weighted), the work oracle.service.score weighs wireless nodes by.

    One round serves the whole committee: `start_time` is the epoch's start on the chain, so
    every member schedules the same beacons from the seed, and each beacon goes on the air once,
    with every member's share. The round's clock starts at that start, whatever this machine's
    clock says (a local chain is often moved ahead of it, or left behind), so staleness is
    judged on the same time base as the schedule. Nonces name the member (its challenges are
    evidence for the others, oracle.committee.evidence).
    """
    member = key.address
    claims = {coverage.node_id(a): claim for a, (_, claim) in nodes.items()}
    endpoint = {coverage.node_id(a): url for a, (url, _) in nodes.items()}
    start = time.time() if start_time is None else start_time
    clock_offset = start - time.time()  # the round's clock starts at the epoch's start
    beacons = coverage.schedule_beacons(epoch_seed, epoch, claims, start, params)
    loop = asyncio.get_running_loop()
    round_key = os.urandom(32)  # this round's shares: fresh, and the same on every retry
    reveal_after_ms = round(params.reveal_after_s * 1000)
    sent_at: dict[bytes, float] = {}  # beacon hash -> when this member first asked (loop time)
    asked: dict[bytes, tuple[Outcome, bytes, list[str]]] = {}  # answered: outcome, nonce, members
    outcomes: list[Outcome] = []

    async def beacon(b: coverage.Beacon) -> tuple[Outcome, bool]:
        share = keccak(round_key + b.hash)
        signature = coverage.sign_share(key, chain_id, b.hash, share)
        nonce, origin = fresh_nonce(epoch_seed, member)
        cid = challenge_id(chain_id, b.beaconer, epoch, "beacon", nonce)
        request = {
            "epoch": epoch,
            "nonce": wire.hexb(nonce),
            "chain_id": chain_id,
            "beacon": wire.beacon_to_wire(b),
            "share": wire.share_to_wire(member, share, signature),
            "reveal_after_ms": reveal_after_ms,
        }
        out = Outcome(
            b.beaconer, "beacon", cid, False, "malformed", request={**request, **origin},
            deadline_s=limits.timeout_s + params.reveal_after_s,
        )  # fmt: skip
        sent_at.setdefault(b.hash, loop.time())
        try:
            body, out.latency_s = await _post(
                session, f"{endpoint[b.beaconer]}/coverage/beacon", request, limits,
                timeout_s=limits.timeout_s + SHARE_WINDOW_ALLOWANCE_S, out=out,
            )  # fmt: skip
            payload = await _open(body, chain_id, cid, b.beaconer)
            got, members = _decode(wire.beacon_answer_from_payload, payload)
            if got != b.hash:
                raise _Refused("malformed", "answer does not name this beacon")
        except _Refused as r:
            out.reason, out.detail = r.reason, r.detail
            return out, False
        except Exception as exc:
            return _internal_error(out, exc), False
        asked[b.hash] = (out, nonce, members)
        out.passed, out.reason = True, "ok"
        mine = "in" if member in members else "not in (late)"
        out.detail = f"heard by {payload['heard_by']}; this member's share {mine}"
        return out, True

    sent = await asyncio.gather(*(_retried(beacon, b, limits) for b in beacons))
    outcomes += [o for o, _ in sent]

    async def witnesses(node: str) -> tuple[Outcome, list[coverage.WitnessReport]]:
        return await challenge_witnesses(
            session, endpoint[node], chain_id=chain_id, node=node, epoch=epoch,
            epoch_seed=epoch_seed, limits=limits, member=member,
        )  # fmt: skip

    async def timed(node: str):
        out, reports = await _retried(witnesses, node, limits)
        return out, reports, loop.time()

    answers = await asyncio.gather(*(timed(n) for n in sorted(claims)))
    now = time.time()
    secrets = dict(
        await asyncio.gather(
            *(
                _reveal(session, endpoint, b, asked[b.hash], sent_at[b.hash], params,
                        chain_id=chain_id, epoch=epoch, member=member, limits=limits)
                for b in beacons
                if b.hash in asked and member in asked[b.hash][2]
            )
        )
    )  # fmt: skip
    secrets = {h: s for h, s in secrets.items() if s is not None}
    reports: list[coverage.WitnessReport] = []
    report_cid: list[bytes] = []
    unverifiable: set[int] = set()
    for out, rs, arrived in answers:
        outcomes.append(out)
        for r in rs:
            first = sent_at.get(bytes(r.beacon_hash))
            if first is not None and arrived > first + params.reveal_after_s:
                unverifiable.add(len(reports))
            reports.append(r)
            report_cid.append(keccak(out.challenge_id + bytes(r.beacon_hash)))
    verdicts, scores = await asyncio.to_thread(
        _judge, beacons, reports, claims, params, now + clock_offset, secrets, unverifiable
    )
    for report, cid, verdict in zip(reports, report_cid, verdicts, strict=True):
        node = report.witness
        passed = verdict.valid or verdict.reason in NOT_THE_WITNESS_FAULT
        outcomes.append(
            Outcome(
                node,
                "witness",
                keccak(cid + bytes.fromhex(node[2:])),
                passed,
                str(verdict.reason),
                detail=f"{verdict.detail} (witness {report.witness})",
                latency_s=0.0,
                request={"epoch": epoch, "beacon_hash": wire.hexb(report.beacon_hash)},
                deadline_s=limits.timeout_s,
            )
        )
    for o in outcomes:
        o.coverage_micro = int(scores.get(coverage.node_id(o.node), 0.0) * 1_000_000)
    return outcomes


# How much longer than a plain request a beacon request may take: the beaconer holds it until
# every member's share is in, or its share window (the agent's share_window_s, 10 s by default).
SHARE_WINDOW_ALLOWANCE_S = 15.0


async def _reveal(
    session, endpoint, b: coverage.Beacon, asked, first_sent: float, params, *, chain_id, epoch,
    member, limits: Limits,
) -> tuple[bytes, bytes | None]:  # fmt: skip
    """(beacon hash, its secret) from the beaconer's reveal, or None (recorded on the beacon's
    outcome as "withheld") when it did not reveal shares that hold this member's, each signed
    by its member. Asks no sooner than reveal_after_s after this member's first request, then
    again, while the beaconer answers 425 or nothing, every 4 x backoff_s (at least 0.25 s, at
    most reveal_after_s), REVEAL_TRIES times in all."""
    out, nonce, members = asked
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, first_sent + params.reveal_after_s - loop.time()))
    request = {"epoch": epoch, "nonce": wire.hexb(nonce), "chain_id": chain_id,
               "beacon_hash": wire.hexb(b.hash)}  # fmt: skip
    problem = "no answer"
    for _ in range(REVEAL_TRIES):
        holder = Outcome(b.beaconer, "beacon", out.challenge_id, False, "")
        try:
            body, _ = await _post(
                session, f"{endpoint[b.beaconer]}/coverage/reveal", request, limits, out=holder
            )
            payload = await _open(body, chain_id, out.challenge_id, b.beaconer)
            got, shares = _decode(wire.secret_reveal_from_payload, payload)
        except _Refused as r:
            problem = f"{r.reason}: {r.detail}"
            wait = min(params.reveal_after_s, limits.backoff_s * 4)
            await asyncio.sleep(max(wait, 0.25))
            continue
        except Exception as exc:
            problem = f"internal error: {type(exc).__name__}"
            break
        if got != b.hash:
            problem = "the reveal names another beacon"
            break
        by_member = {}
        for m, share, sig in shares:
            if coverage.share_signer(chain_id, b.hash, share, sig) != m:
                problem = f"the share of {m} is not signed by it"
                break
            by_member[m] = share
        else:
            if sorted(by_member) != sorted(members) or member not in by_member:
                problem = "the revealed shares are not the ones the beacon answer named"
                break
            out.responses.append(holder.responses[-1])
            return b.hash, coverage.beacon_secret(b.hash, by_member)
        break
    out.passed, out.reason = False, "withheld"
    out.detail = f"{out.detail}; shares not revealed ({problem})"
    return b.hash, None
