"""The node agent's HTTP app: `create_app(settings, behaviour, radio)`.

Every successful answer is an oracle.protocol.envelope.SignedResponse (`to_wire()` JSON)
signed by the node key, whose challenge_id binds the chain, the node, the epoch, a kind and
the caller's nonce:

    GET  /health[?nonce=0x..32 bytes]    kind "health", epoch 0 -> {node, kind, hw_class, version}
    POST /compute/commit  {epoch, nonce, seed, matrix_seed, n, rows, streams, chain_id}
                                                              kind "compute"
         -> wire.commit_payload {stage, root, elapsed_s, backend, seed, matrix_seed, n, rows,
            streams}, or wire.gave_up_payload {stage, elapsed_s, detail} when the node stopped
            at its deadline (it is slower than its class: the oracle records it late)
    POST /compute/reveal  {challenge_id, salt, k}             the commit's challenge_id; once
                                                              per commitment (409 for another
                                                              salt or k)
         -> wire.reveal_payload {stage, salt, k, rows: [{index, row, block, proof}]}
    POST /storage/data    {lease_id, data, signature}         kind "storage-data", epoch 0,
         nonce uint256(lease_id) -> {lease_id, root, n_chunks, size, receipt}: receipt is the
         node's EIP-712 DataReceipt signature (Marketplace.confirmData); only the data of a lease
         of this node, exactly its root and size, signed by its customer (wire.upload_body);
         403 / 404 / 409 otherwise, 503 without a lease source
    POST /storage/fetch   {lease_id, expires, signature}      the lease's data back, raw
         (application/octet-stream), to whoever shows the customer's DataRequest for it
         (eip712.data_request_message) before `expires` (at most MAX_REQUEST_S ahead);
         403 / 404 / 409 otherwise
    POST /storage/audit   {epoch, nonce, lease_id, chain_id}  kind "storage"
         -> oracle.protocol.storage payload {lease_id, chunks: [{index, chunk, proof}]}
    POST /coverage/beacon {epoch, nonce, chain_id, beacon: wire.beacon_to_wire,
                           share: wire.share_to_wire, reveal_after_ms}     kind "beacon"
         a committee member's share of the beacon's secret, signed by it (403 if it is not one
         of settings.oracles); the node transmits once every oracle's share is in, or
         settings.share_window_s after the first, and answers every share's request then
         -> {beacon_hash, heard_by, members}: the members whose shares the secret holds
    POST /coverage/reveal {epoch, nonce, chain_id, beacon_hash}  kind "beacon" (the request's
         nonce: a member reveals under its beacon request's challenge id)
         -> wire.secret_reveal_payload {beacon_hash, shares}; 425 (Retry-After) before the largest
            reveal_after_ms its members asked for has passed since the transmission
    POST /coverage/witnesses {epoch, nonce, chain_id}         kind "coverage"
         -> wire.witnesses_payload {epoch, witnesses: [...]}

Only the endpoints of the node's kind are served (and /health). Errors are plain JSON
{"error": "..."}, unsigned: 400 for a body that fails validation (strict: exact keys, types,
sizes; a chain_id other than the node's), 404 for an unknown lease or computation, 413 for a
body over settings.max_body_bytes, 503 when offline or without a radio.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from oracle.agent.behaviour import Behaviour, Honest
from oracle.agent.config import VERSION, Settings
from oracle.agent.leases import ChainLeases, LeaseLookupError, Leases
from oracle.agent.store import LeaseNotFound, LeaseStore
from oracle.protocol import compute, coverage, storage, wire
from oracle.protocol.coverage import Beacon, WitnessReport
from oracle.protocol.eip712 import data_request_signer, lease_data_signer, sign_data_receipt
from oracle.protocol.envelope import challenge_id, sign_response
from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import ChunkTree
from oracle.protocol.strict import DecodeError, JsonLimits, decode_json

log = logging.getLogger("oracle.agent")
ZERO32 = b"\x00" * 32


# A compute challenge asking more than this many seconds of the node's class's work is refused.
MAX_WORK_S = 4 * compute.DEVICE_S


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class GaveUp:
    """A compute challenge the node could not finish before its deadline: answered, signed,
    as such (the oracle records it late), and never revealed."""

    detail: str


class Radio(Protocol):
    """What a wireless agent needs of its radio. The simulation plugs in oracle.sim.air (one
    in-process medium shared by every agent); a real deployment plugs in its radio driver."""

    def transmit(self, beacon: Beacon, sender: str, secret: bytes) -> list[str]:
        """Sends `beacon` carrying `secret` on the air; returns who heard it, where known."""
        ...

    def heard(self, node: str, epoch: int) -> list[WitnessReport]:
        """The witness reports of the beacons `node` heard in `epoch`, as it will sign them."""
        ...


MAX_BEACONS = 256  # beacons whose shares are kept for the reveal (oldest dropped first)


@dataclass
class BeaconState:
    """One beacon of this node: the members' shares until it is transmitted, then what it
    carried until the members have asked for the reveal."""

    beacon: Beacon
    shares: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # member: share, sig
    reveal_after_s: float = 0.0  # the largest any member asked for
    sent: asyncio.Event = field(default_factory=asyncio.Event)
    sent_at: float = 0.0  # monotonic
    heard_by: int = 0
    members: tuple[str, ...] = ()  # whose shares the transmitted secret holds
    timer: asyncio.Task | None = None


@dataclass
class Agent:
    settings: Settings
    behaviour: Behaviour
    store: LeaseStore | None
    air: Radio | None
    address: str
    leases: Leases | None = None  # storage: the lease terms uploads are checked against
    computations: OrderedDict[bytes, tuple[compute.Computation, float]] = field(
        default_factory=OrderedDict
    )
    inflight: dict[bytes, asyncio.Future] = field(default_factory=dict)
    # challenge id -> the (salt, k) its rows were revealed for: one reveal per commitment (a
    # retry of the same reveal gets the same rows), so nobody can shop for a salt that misses
    # the rows a prover skipped and show that answer as a pass
    revealed: OrderedDict[bytes, tuple[bytes, int]] = field(default_factory=OrderedDict)
    compute_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    beacons: OrderedDict[bytes, BeaconState] = field(default_factory=OrderedDict)

    def signed(self, cid: bytes, payload: Any) -> web.Response:
        response = sign_response(self.settings.node_key, self.settings.chain_id, cid, payload)
        return web.json_response(response.to_wire())

    def cid(self, epoch: int, kind: str, nonce: bytes) -> bytes:
        return challenge_id(self.settings.chain_id, self.address, epoch, kind, nonce)


AGENT = web.AppKey("agent", Agent)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


# --- validation -------------------------------------------------------------------------------


def _range(lo: int, hi: int, what: str | None = None) -> Callable[[Any], int]:
    """An integer (not a bool) in [lo, hi]; `what` names the range in the error."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise BadRequest(f"must be {what or f'an integer in [{lo}, {hi}]'}")
        return value

    return check


def _uint(bits: int) -> Callable[[Any], int]:
    return _range(0, 2**bits - 1, f"a uint{bits}")


def _hex(size: int, what: str) -> Callable[[Any], bytes]:
    """Exactly `size` bytes of 0x-hex."""

    def check(value: Any) -> bytes:
        try:
            return wire.unhex(value, size, what)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    return check


_hex32 = _hex(32, "value")
_sig65 = _hex(65, "signature")


def _data(value: Any) -> bytes:
    try:
        raw = wire.unhex(value, None, "data")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if not raw:
        raise BadRequest("must not be empty")
    return raw


COMMIT_SCHEMA = {
    "epoch": _uint(64),
    "nonce": _hex32,
    "seed": _hex32,
    "matrix_seed": _hex32,
    "n": _range(8, compute.MAX_N),
    "rows": _range(1, compute.MAX_ROWS),
    "streams": _range(1, compute.MAX_STREAMS),
    "chain_id": _uint(64),
}


async def _body(request: web.Request, schema: dict[str, Callable[[Any], Any]]) -> dict:
    """The JSON object of the request, with exactly the schema's keys, each checked."""
    raw = await request.read()  # HTTPRequestEntityTooLarge past client_max_size
    try:
        body = await asyncio.to_thread(
            decode_json, raw, JsonLimits(max_bytes=request.app[AGENT].settings.max_body_bytes)
        )
    except DecodeError as exc:
        raise BadRequest(f"body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    missing, extra = sorted(set(schema) - set(body)), sorted(set(body) - set(schema))
    if missing or extra:
        raise BadRequest(
            f"body must have exactly {sorted(schema)}; missing {missing}, extra {extra}"
        )
    out = {}
    for key, check in schema.items():
        try:
            out[key] = check(body[key])
        except BadRequest as exc:
            raise BadRequest(f"{key}: {exc}") from None
    agent = request.app[AGENT]
    if "chain_id" in out and out["chain_id"] != agent.settings.chain_id:
        raise BadRequest(f"chain_id {out['chain_id']} is not this node's {agent.settings.chain_id}")
    return out


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable]) -> Any:
    try:
        return await handler(request)
    except BadRequest as exc:
        return _error(400, str(exc))
    except web.HTTPRequestEntityTooLarge as exc:
        return _error(413, exc.text or "request body too large")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason)
        raise


@web.middleware
async def _offline(request: web.Request, handler: Callable[[web.Request], Awaitable]) -> Any:
    behaviour = request.app[AGENT].behaviour
    if behaviour.offline:
        if behaviour.offline_mode == "hang":
            await asyncio.sleep(behaviour.hang_s)
        return _error(503, "node offline")
    return await handler(request)


# --- handlers ---------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    nonce = ZERO32
    if "nonce" in request.query:
        nonce = _hex32(request.query["nonce"])
    payload = {
        "node": agent.address,
        "kind": agent.settings.kind.name.lower(),
        "hw_class": agent.settings.hw_class,
        "version": VERSION,
    }
    return agent.signed(agent.cid(0, "health", nonce), payload)


async def compute_commit(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(request, COMMIT_SCHEMA)
    cid = agent.cid(body["epoch"], "compute", body["nonce"])
    cached = agent.computations.get(cid)
    if cached is None:
        if cid in agent.inflight:  # a retry of a challenge being computed: share the result
            cached = await asyncio.shield(agent.inflight[cid])
        else:
            cached = await _prove(agent, cid, body)
    computation, elapsed = cached
    if isinstance(computation, GaveUp):
        return agent.signed(cid, wire.gave_up_payload(elapsed, computation.detail))
    payload = wire.commit_payload(computation.commitment(elapsed), computation.backend)
    return agent.signed(cid, payload)


def _challenge(agent: Agent, body: dict) -> compute.Challenge:
    """The challenge of a commit request, refused (400) when it is not one this node's claim
    can be asked: more streams than its GPUs, or more work than MAX_WORK_S of its class (the
    route is open to anyone: a request must not buy hours of the node's devices)."""
    try:
        challenge = compute.Challenge(
            body["seed"], body["matrix_seed"], agent.address, body["epoch"], body["n"],
            body["rows"], body["streams"],
        )  # fmt: skip
        compute.challenge_key(challenge)  # every field in range
    except ValueError as exc:
        raise BadRequest(f"not a compute challenge: {exc}") from None
    settings = agent.settings
    cls = compute.HARDWARE_CLASSES.get(settings.hw_class)
    if cls is None:
        raise BadRequest(f"this node's class {settings.hw_class} is unknown")
    if challenge.streams > settings.gpu_count:
        raise BadRequest(f"{challenge.streams} streams: this node has {settings.gpu_count} GPUs")
    seconds = challenge.shape.rows * challenge.n**2 / cls.macs_per_s
    if seconds > MAX_WORK_S:
        raise BadRequest(f"{seconds:.0f} s of a {cls.name}'s work: at most {MAX_WORK_S} s")
    return challenge


async def _prove(agent: Agent, cid: bytes, body: dict) -> tuple[compute.Computation, float]:
    challenge = _challenge(agent, body)
    prover = agent.behaviour.prover()
    backend = agent.settings.backend
    if prover is compute.prove:

        def prover(c: compute.Challenge, give_up=None) -> compute.Computation:
            return compute.prove(c, backend, give_up=give_up)

    # Past its deadline the answer can only be late: the node stops and says so (signed).
    budget = compute.deadline_s(challenge.shape, compute.HARDWARE_CLASSES[agent.settings.hw_class])
    future: asyncio.Future = asyncio.get_running_loop().create_future()
    agent.inflight[cid] = future
    try:
        async with agent.compute_slots:
            started = time.perf_counter()

            def give_up(done: float) -> bool:
                return time.perf_counter() - started > budget

            try:
                computation = await asyncio.get_running_loop().run_in_executor(
                    None, functools.partial(prover, challenge, give_up=give_up)
                )
            except compute.TooSlow as exc:  # an answer too: the node says it is too slow
                computation = GaveUp(f"past the deadline ({budget:.2f} s): {exc}")
            elapsed = time.perf_counter() - started
        delay = agent.behaviour.commit_delay_s(elapsed)
        if delay > 0:
            await asyncio.sleep(delay)
        result = (computation, elapsed)
        agent.computations[cid] = result
        while len(agent.computations) > agent.settings.compute_cache:
            agent.computations.popitem(last=False)
        future.set_result(result)
        return result
    except asyncio.CancelledError:
        future.cancel()
        raise
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # marks it retrieved: nobody else may be waiting
        raise
    finally:
        del agent.inflight[cid]


async def compute_reveal(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(request, {"challenge_id": _hex32, "salt": _hex32, "k": _uint(32)})
    cid = body["challenge_id"]
    cached = agent.computations.get(cid)
    if cached is None:
        return _error(404, "no commitment for this challenge_id (unknown or evicted)")
    agent.computations.move_to_end(cid)
    computation = cached[0]
    if isinstance(computation, GaveUp):
        return _error(404, "no commitment for this challenge_id (the node gave up)")
    total = computation.challenge.shape.total_rows
    if not 1 <= body["k"] <= min(total, wire.MAX_REVEALED_ROWS):
        raise BadRequest(f"k: must be in [1, {min(total, wire.MAX_REVEALED_ROWS)}]")
    asked = (body["salt"], body["k"])
    if agent.revealed.get(cid, asked) != asked:
        return _error(409, "this commitment was already revealed for another salt or k")
    agent.revealed[cid] = asked
    agent.revealed.move_to_end(cid)  # outlives its computation in the cache
    while len(agent.revealed) > 4 * agent.settings.compute_cache:
        agent.revealed.popitem(last=False)
    rows = compute.sample_rows(computation.challenge, computation.root, body["salt"], body["k"])
    # k rows of C, recomputed (k n^2 work): off the event loop, which times other challenges
    reveal = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(computation.reveal, rows, salt=body["salt"], k=body["k"])
    )
    return agent.signed(cid, wire.reveal_payload(reveal))


MAX_REQUEST_S = 3600  # a DataRequest may be valid at most this long ahead


async def storage_fetch(request: web.Request) -> web.Response:
    """A lease's data back to its customer (or whoever the customer's signed request names):
    the customer checks it against the lease's root on the chain."""
    agent = request.app[AGENT]
    body = await _body(request, {"lease_id": _uint(256), "expires": _uint(64), "signature": _sig65})
    lease_id, expires = body["lease_id"], body["expires"]
    now = time.time()
    if not now < expires <= now + MAX_REQUEST_S:
        return _error(403, f"the request expired or is valid too long (at most {MAX_REQUEST_S} s)")
    marketplace = agent.settings.marketplace
    if agent.leases is None or not marketplace:
        return _error(503, "this agent cannot check requests: set agent.rpc_url and marketplace")
    try:
        terms = await agent.leases.lease(lease_id)
    except LeaseLookupError as exc:
        return _error(503, str(exc))
    if terms is None:
        return _error(404, f"no lease {lease_id} on the Marketplace")
    if terms.node.lower() != agent.address.lower():
        return _error(403, f"lease {lease_id} is for node {terms.node}, not this one")
    signer = data_request_signer(body["signature"], lease_id, agent.address, expires,
                                 agent.settings.chain_id, marketplace)  # fmt: skip
    if signer is None or signer.lower() != terms.customer.lower():
        return _error(403, f"not signed by lease {lease_id}'s customer {terms.customer}")
    try:
        data = await asyncio.get_running_loop().run_in_executor(None, agent.store.data, lease_id)
    except LeaseNotFound:
        return _error(404, f"this node holds no data of lease {lease_id}")
    return web.Response(body=data, content_type="application/octet-stream")


async def storage_data(request: web.Request) -> web.Response:
    """A lease's data, from its customer: stored only when the Marketplace's lease names this
    node, the customer signed the LeaseData for it, and the data is exactly the lease's (its
    chunk root and size); nothing already stored is replaced by anything else."""
    agent = request.app[AGENT]
    body = await _body(request, {"lease_id": _uint(256), "data": _data, "signature": _sig65})
    lease_id, data = body["lease_id"], body["data"]
    marketplace = agent.settings.marketplace
    if agent.leases is None or not marketplace:
        return _error(503, "this agent cannot check uploads: set agent.rpc_url and marketplace")
    try:
        terms = await agent.leases.lease(lease_id)
    except LeaseLookupError as exc:
        return _error(503, str(exc))
    if terms is None:
        return _error(404, f"no lease {lease_id} on the Marketplace")
    if terms.node.lower() != agent.address.lower():
        return _error(403, f"lease {lease_id} is for node {terms.node}, not this one")
    if terms.closed:
        return _error(409, f"lease {lease_id} is closed")
    signer = lease_data_signer(body["signature"], lease_id, agent.address, terms.data_root,
                               terms.data_size, agent.settings.chain_id, marketplace)  # fmt: skip
    if signer is None or signer.lower() != terms.customer.lower():
        return _error(403, f"not signed by lease {lease_id}'s customer {terms.customer}")
    if len(data) != terms.data_size:
        return _error(409, f"{len(data)} bytes: lease {lease_id} is {terms.data_size} bytes")
    tree = await asyncio.get_running_loop().run_in_executor(None, ChunkTree.from_data, data)
    if tree.root != terms.data_root:
        return _error(409, f"the data's root is not lease {lease_id}'s data root")
    try:
        info = agent.store.info(lease_id)  # already held (the same root: it is the lease's)
    except LeaseNotFound:
        info = await asyncio.get_running_loop().run_in_executor(
            None, agent.store.put, lease_id, data, agent.behaviour.keeps_chunk
        )
        log.info("stored lease %d: %d bytes, %d chunks", lease_id, info.size, info.n_chunks)
    receipt = sign_data_receipt(
        agent.settings.node_key, lease_id, info.root, info.size, agent.settings.chain_id,
        marketplace,
    )  # fmt: skip
    payload = {
        "lease_id": lease_id,
        "root": wire.hexb(info.root),
        "n_chunks": info.n_chunks,
        "size": info.size,
        "receipt": wire.hexb(receipt),
    }
    return agent.signed(agent.cid(0, "storage-data", lease_id.to_bytes(32, "big")), payload)


async def storage_audit(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(
        request,
        {"epoch": _uint(64), "nonce": _hex32, "lease_id": _uint(256), "chain_id": _uint(64)},
    )
    try:
        info = agent.store.info(body["lease_id"])
    except LeaseNotFound:
        return _error(404, f"no data for lease {body['lease_id']}")
    if not agent.behaviour.answers_audits(info.lease_id):
        return _error(404, f"no data for lease {body['lease_id']}")
    challenge = storage.Challenge(
        nonce=body["nonce"],
        node=agent.address,
        lease_id=info.lease_id,
        n_chunks=info.n_chunks,
        root=info.root,
    )

    # A node that fetches each chunk from elsewhere waits that long a read
    # (oracle.sim.behaviours.RemoteStore); an honest one reads its disk.
    delay = agent.behaviour.fetch_delay_s(info.lease_id)

    def read(index: int) -> tuple[bytes, list[bytes]]:
        if delay > 0:
            time.sleep(delay)  # in the walk's worker thread, never the event loop
        ((_, chunk, proof),) = agent.store.read(info.lease_id, [index])
        return chunk, proof

    # the walk: each chunk read before the next index is known
    chunks = await asyncio.to_thread(storage.walk, challenge, read)
    cid = agent.cid(body["epoch"], "storage", body["nonce"])
    return agent.signed(cid, storage.build_payload(info.lease_id, chunks))


def _need_air(agent: Agent) -> Radio:
    if agent.air is None:
        raise web.HTTPServiceUnavailable(reason="no radio attached to this agent")
    return agent.air


BEACON_SCHEMA = {
    "epoch": _uint(64),
    "nonce": _hex32,
    "chain_id": _uint(64),
    "beacon": lambda b: b,
    "share": lambda s: s,
    "reveal_after_ms": _range(1, round(coverage.MAX_REVEAL_AFTER_S * 1000)),
}


def _transmit(agent: Agent, state: BeaconState) -> None:
    """Puts the beacon on the air with the secret of the shares in (once)."""
    if state.sent.is_set():
        return
    shares = {member: share for member, (share, _) in state.shares.items()}
    secret = coverage.beacon_secret(state.beacon.hash, shares)
    heard = _need_air(agent).transmit(state.beacon, agent.address, secret)
    state.heard_by, state.members = len(heard), tuple(sorted(shares, key=lambda m: int(m, 16)))
    state.sent_at = time.monotonic()
    state.sent.set()


async def _transmit_later(agent: Agent, state: BeaconState) -> None:
    await asyncio.sleep(agent.settings.share_window_s)
    try:
        _transmit(agent, state)
    except Exception:  # the radio failed: the members' requests time out, as if offline
        log.exception("beacon %s could not be transmitted", wire.hexb(state.beacon.hash))


def _beacon_state(agent: Agent, beacon: Beacon) -> BeaconState:
    state = agent.beacons.get(beacon.hash)
    if state is None:
        state = agent.beacons[beacon.hash] = BeaconState(beacon)
        while len(agent.beacons) > MAX_BEACONS:
            _, old = agent.beacons.popitem(last=False)
            if old.timer is not None:
                old.timer.cancel()
    return state


async def coverage_beacon(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(request, BEACON_SCHEMA)
    try:
        beacon = wire.beacon_from_wire(body["epoch"], body["beacon"])
        member, share, signature = wire.share_from_wire(body["share"])
    except ValueError as exc:
        raise BadRequest(f"beacon: {exc}") from None
    if int(beacon.beaconer, 16) != int(agent.address, 16):
        raise BadRequest("beacon: this node is not its beaconer")
    if coverage.share_signer(agent.settings.chain_id, beacon.hash, share, signature) != member:
        raise BadRequest("share: the signature does not recover its member")
    if agent.settings.oracles and member not in agent.settings.oracles:
        return _error(403, f"share: {member} is not one of this node's oracles")
    _need_air(agent)
    state = _beacon_state(agent, beacon)
    if not state.sent.is_set():
        state.shares.setdefault(member, (share, signature))  # a member's first share stands
        state.reveal_after_s = max(state.reveal_after_s, body["reveal_after_ms"] / 1000)
        if agent.settings.oracles and set(agent.settings.oracles) <= set(state.shares):
            if state.timer is not None:
                state.timer.cancel()
            _transmit(agent, state)
        elif state.timer is None:
            state.timer = asyncio.create_task(_transmit_later(agent, state))
    try:
        await asyncio.wait_for(state.sent.wait(), agent.settings.share_window_s + 5)
    except TimeoutError:
        return _error(503, "the beacon could not be transmitted")
    payload = {
        "beacon_hash": wire.hexb(beacon.hash),
        "heard_by": state.heard_by,
        "members": list(state.members),
    }
    return agent.signed(agent.cid(body["epoch"], "beacon", body["nonce"]), payload)


async def coverage_reveal(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(
        request, {"epoch": _uint(64), "nonce": _hex32, "chain_id": _uint(64), "beacon_hash": _hex32}
    )
    state = agent.beacons.get(body["beacon_hash"])
    if state is None or state.beacon.epoch != body["epoch"]:
        return _error(404, "no beacon of this node with that hash in that epoch")
    if not state.sent.is_set():
        return _error(425, "the beacon is not on the air yet")
    wait = state.sent_at + state.reveal_after_s - time.monotonic()
    if wait > 0:
        response = _error(425, f"the secret is revealed in {wait:.1f} s")
        response.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
        return response
    shares = [(m, share, sig) for m, (share, sig) in state.shares.items()]
    payload = wire.secret_reveal_payload(state.beacon.hash, shares)
    return agent.signed(agent.cid(body["epoch"], "beacon", body["nonce"]), payload)


async def coverage_witnesses(request: web.Request) -> web.Response:
    agent = request.app[AGENT]
    body = await _body(request, {"epoch": _uint(64), "nonce": _hex32, "chain_id": _uint(64)})
    heard = _need_air(agent).heard(agent.address, body["epoch"])
    payload = wire.witnesses_payload(body["epoch"], heard)
    return agent.signed(agent.cid(body["epoch"], "coverage", body["nonce"]), payload)


# --- factory ----------------------------------------------------------------------------------


def create_app(
    settings: Settings,
    behaviour: Behaviour | None = None,
    radio: Radio | None = None,
    leases: Leases | None = None,
) -> web.Application:
    """The agent app. `radio`: the node's radio (wireless nodes only; without one the coverage
    endpoints answer 503). `leases`: where a storage node reads its leases' terms (default: the
    chain at settings.rpc_url; without either, uploads answer 503)."""
    if leases is None and settings.rpc_url and settings.marketplace:
        leases = ChainLeases(settings.rpc_url, settings.marketplace)
    agent = Agent(
        settings=settings,
        behaviour=behaviour if behaviour is not None else Honest(),
        store=LeaseStore(settings.data_dir) if settings.kind == NodeKind.STORAGE else None,
        air=radio,
        address=settings.address,
        leases=leases,
    )
    app = web.Application(middlewares=[_errors, _offline], client_max_size=settings.max_body_bytes)
    app[AGENT] = agent
    app.router.add_get("/health", health)
    if settings.kind == NodeKind.COMPUTE:
        app.router.add_post("/compute/commit", compute_commit)
        app.router.add_post("/compute/reveal", compute_reveal)
    elif settings.kind == NodeKind.STORAGE:
        app.router.add_post("/storage/data", storage_data)
        app.router.add_post("/storage/fetch", storage_fetch)
        app.router.add_post("/storage/audit", storage_audit)
    else:
        app.router.add_post("/coverage/beacon", coverage_beacon)
        app.router.add_post("/coverage/reveal", coverage_reveal)
        app.router.add_post("/coverage/witnesses", coverage_witnesses)
    return app
