"""The committee round over HTTP (aiohttp), for one member; the rules are oracle.committee.rules's.

    GET  /committee/epochs/{n}/bundle    this member's signed bundle, once epoch n has ended
    POST /committee/epochs/{n}/evidence  {"digests": [...]} -> {"evidence": [objects]}: the
                                         evidence objects (oracle.committee.evidence) among
                                         those this member holds (its own challenges', or
                                         gathered for a proposal it made or signed), in order,
                                         up to about 16 MiB a reply; once epoch n has ended
    POST /committee/epochs/{n}/proposal  {"attempt", "digest", "bundles", "evidence": [digest,
                                         ...]} -> this member's signature, or 409 {"refused":
                                         [reasons]}
    GET  /committee/epochs/{n}/proposal  the bundles and evidence digests of the report
                                         settled for epoch n (?digest=0x..), so a member that
                                         missed the round can recompute and adopt it

Every request carries X-Plinth-Member, X-Plinth-Time and X-Plinth-Signature: the member's
EIP-191 signature of keccak256("plinth-committee-v1" || chain id || hub || method || path ||
time || keccak256(body)); the receiver accepts it within MAX_SKEW_S of its clock from a member
of the current committee (so bundles are not revealed to outsiders before the report, and a
proposal comes from a member). Any member may propose: safety does not rest on who leads,
since every member recomputes the report itself.

Each pipeline pass (``Member.step``): challenge the current epoch; adopt, in order, every
settled epoch since its last confirmed one, those it missed while down included (the report
it signed, or one fetched from a peer and recomputed);
then, for each ended epoch the hub still waits for, lead the current attempt if it is this
member's turn: attempt = (seconds since this member saw the epoch end) // leader_timeout_s,
leader = members[(epoch + attempt) % n]. The leader gathers the bundles, then the evidence
the round needs (oracle.committee.rules.needed: the verdicts of disputed nodes that claim an
answer) from the member that holds it, and proposes the report with the bundles and the
digests of the evidence it holds; each member fetches those objects from the leader (in
batches of about 16 MiB, so no message grows with the round: a compute answer at n = 4096 is
about 3 MB) and refuses a proposal whose evidence it cannot obtain or that leaves out the
evidence of its own such verdicts. A silent leader is replaced
one timeout later; two leaders racing both reach the hub, which settles the epoch once (the
loser's transaction reverts with StaleEpoch and it marks the epoch confirmed). A slow round
overtaken by the next attempt costs little: a member reviews a report once, and signs the same
digest proposed again after checking the chain only (a proposal arriving while that review
runs waits for it, at most one request timeout); a leader whose epoch settles while it gathers
stops there. Epochs settle in order: a report of a later epoch skips every earlier one the hub
still waits for, so a member neither leads nor signs one while an earlier epoch it challenged
is being settled, until that round has gone once around the committee (n leader timeouts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import aiohttp
from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, keccak, to_checksum_address

from oracle.committee import build as _build
from oracle.committee import evidence as ev
from oracle.committee.rules import (
    BODY_LIMITS,
    MAX_BODY,
    MAX_VERDICTS,
    Bundle,
    CommitteeError,
    is_hex32,
    leader_of,
    needed,
    refusals,
    validate_bundles,
)
from oracle.protocol import bls
from oracle.protocol.eip712 import pack_signatures, sign_report
from oracle.protocol.strict import JsonLimits, decode_json, items
from oracle.service.api import epoch_param, http_error
from oracle.service.chain import ChainError
from oracle.service.pipeline import OracleService

log = logging.getLogger("plinth.committee")
AUTH_TAG = b"plinth-committee-v1"
MAX_SKEW_S = 120.0
KEEP_EPOCHS = 16  # settled proposals served to members catching up
BATCH_DIGESTS = 1_024  # evidence objects asked for in one request
BATCH_BYTES = 16 << 20  # a reply stops adding objects past this many bytes of answers
VIEW_MAX_AGE_S = 5.0  # the committee as read for an evidence request may be this old
PROPOSAL_TIMEOUT_FACTOR = 3  # a proposal's review fetches evidence: it may take longer


@dataclass(frozen=True)
class CommitteeSettings:
    peers: Mapping[str, str]  # member address -> base URL (http://host:port)
    leader_timeout_s: float = 30.0
    request_timeout_s: float = 10.0


@dataclass(frozen=True)
class Post:
    """What the leader sends to the hub: ECDSA signatures or a BLS aggregate."""

    scheme: str  # "ecdsa" | "bls"
    signers: tuple[str, ...]
    signatures: bytes = b""  # ecdsa: packed r|s|v, signers increasing
    bitmap: int = 0  # bls
    sigma: tuple = ()  # bls: the aggregate signature (G1) and key (G2), py_ecc points
    apk2: tuple = ()
    tx: bytes = b""  # filled in once posted
    attempt: int = 0
    round_s: float = 0.0  # gather + compute + sign + aggregate, before the transaction
    timings: dict = field(default_factory=dict)  # seconds per phase


@dataclass
class View:
    version: int
    threshold: int
    members: list[str]
    scheme: str

    def index(self, member: str) -> int:
        return [m.lower() for m in self.members].index(member.lower())


@dataclass
class Member:
    service: OracleService
    settings: CommitteeSettings
    clock: object = time.monotonic
    ended_at: dict[int, float] = field(default_factory=dict)
    led: set[tuple[int, int]] = field(default_factory=set)
    # epoch -> digest -> (the bundles, the evidence objects by digest) of a report this
    # member proposed or signed
    proposals: dict[int, dict[bytes, tuple[list[Bundle], dict[str, dict]]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    posted: dict[int, Post] = field(default_factory=dict)
    _builds: dict = field(default_factory=dict)
    _unserved: set[int] = field(default_factory=set)
    _own: dict[int, Bundle] = field(default_factory=dict)
    _own_index: dict[int, dict[str, str]] = field(default_factory=dict)  # digest -> challenge
    _client: aiohttp.ClientSession | None = None  # for the fetches a proposal's review needs
    _current: int = -1  # the latest current epoch seen on the chain
    # epoch -> digest -> evidence object fetched from a peer (each checked against its digest):
    # a later attempt of the round, led or reviewed, does not fetch it again
    _fetched: dict[int, dict[str, dict]] = field(default_factory=dict)
    _view: tuple[float, View] | None = None  # (monotonic time read, the committee)
    # (epoch, digest) -> set when its review under way ends: the same report proposed again
    # (a later attempt's leader gathered the same bundles) waits for that review, at most one
    # request timeout, and is then signed from it instead of re-verifying the evidence alongside
    _reviews: dict[tuple[int, bytes], asyncio.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.chain, self.store, self.key = self.service.chain, self.service.store, self.service.key
        self.metrics = self.service.metrics
        self.hub = self.chain.deployment.addresses["OracleHub"]
        self.peers = {to_checksum_address(a): u.rstrip("/") for a, u in self.settings.peers.items()}
        self._bls_sk: int | None = None

    @property
    def address(self) -> str:
        return self.key.address

    @property
    def bls_sk(self) -> int:
        if self._bls_sk is None:
            self._bls_sk = bls.derive_secret_key(bytes(self.key.key))
        return self._bls_sk

    def view(self) -> View:
        version, threshold, members = self.chain.committee()
        return View(version, threshold, [to_checksum_address(m) for m in members],
                    self.chain.scheme())  # fmt: skip

    # ------------------------------------------------------------------ authentication
    def _auth_message(self, method: str, path: str, stamp: str, body: bytes) -> bytes:
        return keccak(
            AUTH_TAG
            + self.chain.chain_id.to_bytes(32, "big")
            + bytes.fromhex(self.hub[2:])
            + f"{method}\n{path}\n{stamp}\n".encode()
            + keccak(body)
        )

    def auth_headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        stamp = f"{time.time():.3f}"
        msg = encode_defunct(primitive=self._auth_message(method, path, stamp, body))
        sig = self.key.sign_message(msg).signature
        return {
            "X-Plinth-Member": self.address,
            "X-Plinth-Time": stamp,
            "X-Plinth-Signature": "0x" + bytes(sig).hex(),
        }

    def _authenticate(self, request: web.Request, body: bytes, members: list[str]) -> str:
        who, stamp = (
            request.headers.get("X-Plinth-Member", ""),
            request.headers.get("X-Plinth-Time", ""),
        )
        sig = request.headers.get("X-Plinth-Signature", "")
        try:
            skew = abs(time.time() - float(stamp))
            signer = Account.recover_message(
                encode_defunct(
                    primitive=self._auth_message(request.method, request.path_qs, stamp, body)
                ),
                signature=bytes.fromhex(sig.removeprefix("0x")),
            )
        except Exception:  # a malformed header of any kind
            raise http_error(web.HTTPUnauthorized, "missing or malformed authentication") from None
        if skew > MAX_SKEW_S:
            raise http_error(web.HTTPUnauthorized, f"request time off by {skew:.0f} s")
        if not is_address(who) or signer.lower() != who.lower():
            raise http_error(web.HTTPUnauthorized, "the signature is not the member's")
        if signer.lower() not in {m.lower() for m in members}:
            raise http_error(web.HTTPForbidden, f"{signer} is not a committee member")
        return signer

    # ------------------------------------------------------------------ server side
    def attach(self, app: web.Application) -> None:
        app.router.add_get("/committee/epochs/{epoch}/bundle", self.handle_bundle)
        app.router.add_post("/committee/epochs/{epoch}/evidence", self.handle_evidence)
        app.router.add_post("/committee/epochs/{epoch}/proposal", self.handle_proposal)
        app.router.add_get("/committee/epochs/{epoch}/proposal", self.handle_get_proposal)

    async def _ended(self, epoch: int) -> None:
        if epoch < self._current:  # an epoch seen ended stays ended: no RPC per request
            return
        try:
            self._current = max(self._current, await asyncio.to_thread(self.chain.current_epoch))
        except ChainError as exc:
            raise http_error(web.HTTPServiceUnavailable, f"no chain view: {exc}") from None
        if epoch >= self._current:
            raise http_error(web.HTTPConflict, f"epoch {epoch} has not ended")

    async def handle_bundle(self, request: web.Request) -> web.Response:
        epoch = epoch_param(request)
        view = await self._view_or_503()
        self._authenticate(request, b"", view.members)
        await self._ended(epoch)
        await self.service.swept(self.settings.request_timeout_s / 2)  # see handle_proposal
        bundle = await asyncio.to_thread(self.own_bundle, epoch)
        if bundle is None:
            raise http_error(web.HTTPNotFound, f"no observations for epoch {epoch}")
        return web.json_response(bundle.to_json())

    async def handle_evidence(self, request: web.Request) -> web.Response:
        epoch = epoch_param(request)
        body = await request.read()
        view = await self._view_or_503(max_age_s=VIEW_MAX_AGE_S)
        self._authenticate(request, body, view.members)
        await self._ended(epoch)
        await self.service.swept(self.settings.request_timeout_s / 2)  # see handle_proposal
        try:
            asked = decode_json(body, JsonLimits(max_bytes=1 << 20, max_depth=3))
            if not isinstance(asked, dict) or set(asked) != {"digests"}:
                raise CommitteeError('an evidence request has exactly the key "digests"')
            digests = _digests(asked["digests"], BATCH_DIGESTS)
        except ValueError as exc:  # DecodeError and CommitteeError are ValueErrors
            raise http_error(web.HTTPBadRequest, f"malformed evidence request: {exc}") from None
        return web.json_response({"evidence": await asyncio.to_thread(self._batch, epoch, digests)})

    def _held(self, epoch: int, digests: list[str]) -> dict[str, dict]:
        held = ((d, self.evidence_held(epoch, d)) for d in digests)
        return {d: obj for d, obj in held if obj is not None}

    def _batch(self, epoch: int, digests: list[str]) -> list[dict]:
        """The objects of `digests` this member holds, in order, until about BATCH_BYTES."""
        out, size = [], 0
        for d in digests:
            obj = self.evidence_held(epoch, d)
            if obj is not None:
                out.append(obj)
                size += sum(len(r) for r in obj["responses"])
                if size >= BATCH_BYTES:
                    break
        return out

    def evidence_held(self, epoch: int, digest: str) -> dict | None:
        """The evidence object `digest` of `epoch` if this member holds it: one of its own
        challenges (its bundle names it), or one it gathered or fetched for a proposal."""
        if self.own_bundle(epoch) is not None and digest in self._own_index.get(epoch, {}):
            return _build.evidence_of(self.service, self._own_index[epoch][digest])
        for _, held in self.proposals.get(epoch, {}).values():
            if digest in held:
                return held[digest]
        return None

    async def handle_proposal(self, request: web.Request) -> web.Response:
        epoch = epoch_param(request)
        body = await request.read()
        view = await self._view_or_503()
        leader = self._authenticate(request, body, view.members)
        try:
            digest, bundles, digests = await asyncio.to_thread(
                _parse_proposal, body, len(view.members)
            )
        except ValueError as exc:  # DecodeError and CommitteeError are ValueErrors
            self.metrics["proposals_malformed"] += 1
            log.warning("%s: malformed proposal for epoch %d from %s: %s", self.address, epoch,
                        leader, exc)  # fmt: skip
            raise http_error(web.HTTPBadRequest, f"malformed proposal: {exc}") from None
        # this member's own challenges first: the review would delay the answers it times
        await self.service.swept(self.settings.request_timeout_s)
        key = (epoch, digest)
        under_way = self._reviews.get(key)
        if under_way is not None:  # bounded: the other proposer may be hostile and slow
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(under_way.wait(), self.settings.request_timeout_s)
        mine = None
        if key not in self._reviews:  # else the other review outlasted the wait: review alone
            mine = self._reviews[key] = asyncio.Event()
        try:
            reasons = await self._review_proposal(epoch, view, leader, digest, bundles, digests)
        finally:
            if mine is not None:
                mine.set()
                del self._reviews[key]
        if reasons:
            self.metrics["proposals_refused"] += 1
            log.warning(
                "%s refuses epoch %d from %s: %s", self.address, epoch, leader, "; ".join(reasons)
            )
            return web.json_response({"refused": reasons}, status=409)
        self.metrics["proposals_signed"] += 1
        return web.json_response(await asyncio.to_thread(self._signature, view, epoch, digest))

    async def _review_proposal(self, epoch, view, leader, digest, bundles, digests) -> list[str]:
        """The reasons to refuse the proposal (none: sign it). A report this member already
        reviewed and accepted (the same digest: the same parent, bundles and results) is only
        checked against the chain again: still unsettled, and this member not behind."""
        if self._accepted(epoch, digest):
            reasons = await asyncio.to_thread(self._chain_refusals, epoch, len(view.members))
            self.metrics["proposals_signed_again"] += not reasons
            return reasons
        started = time.perf_counter()
        evidence = await self._obtain(epoch, leader, digests)
        fetched = time.perf_counter()
        missing = set(digests) - set(evidence)
        if missing:
            return [
                f"could not obtain {len(missing)} of the proposal's {len(digests)} evidence "
                f"objects from {leader} (first: {min(missing)})"
            ]
        reasons = await asyncio.to_thread(self._review, epoch, view, digest, bundles, evidence)
        log.info("%s reviewed epoch %d from %s: %d evidence objects in %.2f s, review %.2f s",
                 self.address, epoch, leader, len(digests), fetched - started,
                 time.perf_counter() - fetched)  # fmt: skip
        return reasons

    def _accepted(self, epoch: int, digest: bytes) -> bool:
        """Whether this member proposed or signed `digest` for `epoch` and still holds it."""
        return digest in self.proposals.get(epoch, {}) and (epoch, digest) in self._builds

    async def handle_get_proposal(self, request: web.Request) -> web.Response:
        epoch = epoch_param(request)
        view = await self._view_or_503()
        self._authenticate(request, b"", view.members)
        try:
            digest = _bytes32(request.query.get("digest", ""))
        except ValueError as exc:
            raise http_error(web.HTTPBadRequest, str(exc)) from None
        held = self.proposals.get(epoch, {}).get(digest)
        if held is None:
            raise http_error(web.HTTPNotFound, f"no proposal with that digest for epoch {epoch}")
        bundles, evidence = held
        return web.json_response(
            {"bundles": [b.to_json() for b in bundles], "evidence": sorted(evidence)}
        )

    def build(self, epoch: int, bundles: list[Bundle], evidence: dict | None = None):
        """The epoch's report from `bundles` and the evidence objects by digest
        (oracle.committee.build.build); writes nothing."""
        return _build.build(self.service, epoch, bundles, evidence)

    def own_bundle(self, epoch: int) -> Bundle | None:
        """This member's signed bundle of `epoch` (None before it has challenged it); the
        same bytes every time once made (an epoch's verdicts do not change once challenged)."""
        if epoch not in self._own:
            bundle = _build.own_bundle(self.service, epoch)
            if bundle is None:
                return None
            self._own[epoch] = bundle
            self._own_index[epoch] = {
                v["evidence"]: v["challenge_id"] for v in bundle.verdicts if v["evidence"]
            }
            for old in [e for e in self._own if e < epoch - KEEP_EPOCHS]:
                del self._own[old], self._own_index[old]
        return self._own[epoch]

    async def _view_or_503(self, max_age_s: float = 0.0) -> View:
        """The committee from the chain (or one read at most `max_age_s` ago: the evidence
        requests of one round come by the dozen)."""
        now = time.monotonic()
        if self._view is not None and now - self._view[0] <= max_age_s:
            return self._view[1]
        try:
            view = await asyncio.to_thread(self.view)
        except ChainError as exc:
            raise http_error(web.HTTPServiceUnavailable, f"no chain view: {exc}") from None
        self._view = (now, view)
        return view

    def _review(
        self, epoch: int, view: View, digest: bytes, bundles: list[Bundle], evidence: dict
    ) -> list[str]:
        """The member's checks of a proposal (blocking: chain reads and scoring)."""
        try:
            if reasons := self._chain_refusals(epoch, len(view.members)):
                return reasons
            valid = validate_bundles(
                bundles,
                chain_id=self.chain.chain_id,
                hub=self.hub,
                epoch=epoch,
                members=view.members,
                threshold=view.threshold,
            )
            own = self.own_bundle(epoch)
            build = self.build(epoch, valid, evidence)
        except CommitteeError as exc:
            return [f"invalid bundles: {exc}"]
        except ChainError as exc:
            return [f"no chain view: {exc}"]
        mine = build.digest(self.chain.chain_id, self.hub)
        reasons = refusals(
            own=own, bundles=valid, proposed_digest=digest, recomputed=build,
            recomputed_digest=mine, evidence_held=evidence,
        )  # fmt: skip
        if not reasons:
            self.proposals[epoch][digest] = (valid, evidence)
            self._builds[(epoch, digest)] = build
        return reasons

    def _chain_refusals(self, epoch: int, members: int) -> list[str]:
        """What the chain says against signing a report of `epoch` now (blocking)."""
        try:
            if self.chain.current_epoch() <= epoch:
                return [f"stale chain view: epoch {epoch} has not ended on my RPC"]
            next_epoch = self.chain.next_report_epoch()
            if next_epoch > epoch:
                return [f"epoch {epoch} is already settled"]
            if (earlier := self._skipped_by(epoch, next_epoch, members)) is not None:
                return [f"epoch {earlier} is still being settled: this report would skip it"]
            if self._behind(epoch):
                return ["stale view: I have not adopted the last settled report"]
        except ChainError as exc:
            return [f"no chain view: {exc}"]
        return []

    def _behind(self, epoch: int) -> bool:
        """Whether this member's last adopted report before `epoch` is not the hub's last
        settled one: a report built now would name the wrong parent (the hub refuses it, and the
        members that adopted refuse to sign it)."""
        last = self.chain.last_digest()
        return self.store.previous_report(epoch)[0][: len(last)] != last

    def _signature(self, view: View, epoch: int, digest: bytes) -> dict:
        if view.scheme == "bls":
            sigma = bls.sign(self.bls_sk, digest)
            _, pk2 = bls.public_keys(self.bls_sk)
            return {
                "member": self.address,
                "scheme": "bls",
                "signature": "0x" + bls.encode_g1(sigma).hex(),
                "pk2": "0x" + bls.encode_g2(pk2).hex(),
            }
        build = self._builds[(epoch, digest)]
        _, sig = sign_report(bytes(self.key.key), build.report, self.chain.chain_id, self.hub)
        return {"member": self.address, "scheme": "ecdsa", "signature": "0x" + sig.hex()}

    # ------------------------------------------------------------------ client side
    async def _request(
        self, session, method: str, member: str, path: str, body: bytes = b"",
        timeout_factor: float = 1,
    ):  # fmt: skip
        url = self.peers[member] + path
        timeout = aiohttp.ClientTimeout(total=self.settings.request_timeout_s * timeout_factor)
        headers = self.auth_headers(method, path, body)
        if body:
            headers["Content-Type"] = "application/json"
        async with session.request(
            method, url, data=body or None, headers=headers, timeout=timeout
        ) as r:
            raw = bytearray()
            async for chunk in r.content.iter_chunked(1 << 16):
                raw += chunk
                if len(raw) > MAX_BODY:
                    raise CommitteeError(f"{member}: response over {MAX_BODY} bytes")
            if not raw:
                return r.status, {}
            body = await asyncio.to_thread(decode_json, bytes(raw), BODY_LIMITS)
            if not isinstance(body, dict):
                raise CommitteeError(f"{member}: the answer is not a JSON object")
            return r.status, body

    async def _bundle_of(self, session, member: str, epoch: int) -> Bundle | None:
        if member == self.address:
            return await asyncio.to_thread(self.own_bundle, epoch)
        if member not in self.peers:
            return None
        try:
            status, body = await self._request(
                session, "GET", member, f"/committee/epochs/{epoch}/bundle"
            )
            if status != 200:
                log.warning("epoch %d: no bundle from %s (%s)", epoch, member, body.get("error"))
                return None
            return Bundle.from_json(body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("epoch %d: no bundle from %s: %s", epoch, member, exc or type(exc).__name__)
            return None

    async def gather(self, session, epoch: int, view: View) -> list[Bundle]:
        """Every member's bundle that arrives in time and is valid on its own."""
        got = await asyncio.gather(*(self._bundle_of(session, m, epoch) for m in view.members))
        valid = []
        for b in got:
            if b is None:
                continue
            try:
                valid += validate_bundles(
                    [b], chain_id=self.chain.chain_id, hub=self.hub, epoch=epoch,
                    members=view.members, threshold=1,
                )  # fmt: skip
            except CommitteeError as exc:
                self.metrics["bundles_refused"] += 1
                log.warning("epoch %d: dropped a bundle: %s", epoch, exc)
        return valid

    async def _fetch(self, session, member: str, epoch: int, digests: list[str]) -> dict:
        """digest -> object of the `digests` that `member` serves and that are what they name
        (this member's own are read from its store); missing ones are left out."""
        out: dict[str, dict] = {}
        if member.lower() == self.address.lower():  # one worker-thread hop for all of them
            return await asyncio.to_thread(self._held, epoch, digests)
        cache = self._fetched.setdefault(epoch, {})
        for old in [e for e in self._fetched if e < epoch - KEEP_EPOCHS]:
            del self._fetched[old]
        out.update({d: cache[d] for d in digests if d in cache})
        digests = [d for d in digests if d not in cache]
        peer = next((m for m in self.peers if m.lower() == member.lower()), None)
        if peer is None or not digests:
            return out
        path = f"/committee/epochs/{epoch}/evidence"
        while digests:  # batches of at most BATCH_DIGESTS digests, about BATCH_BYTES each
            asked = digests[:BATCH_DIGESTS]
            body = json.dumps({"digests": asked}).encode()
            try:
                status, reply = await self._request(session, "POST", peer, path, body)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.info("epoch %d: evidence from %s: %s", epoch, peer, exc)
                break
            objects = reply.get("evidence") if status == 200 else None
            if not isinstance(objects, list):
                log.info("epoch %d: no evidence from %s (%s)", epoch, peer, reply.get("error"))
                break
            got = await asyncio.to_thread(_matching, objects[: len(asked)], set(asked))
            out.update(got)
            cache.update(got)
            if not got:
                break  # it holds none of the rest
            digests = [d for d in digests if d not in got]
        return out

    async def gather_evidence(self, session, epoch: int, bundles: list[Bundle]) -> dict:
        """digest -> evidence object, for every verdict of `bundles` whose evidence the round
        needs, fetched from the member whose bundle names it (one object per request)."""
        need = needed(bundles)
        got = await asyncio.gather(
            *(self._fetch(session, m, epoch, sorted({v["evidence"] for v in wanted}))
              for m, wanted in need.items())
        )  # fmt: skip
        out = {d: obj for objects in got for d, obj in objects.items()}
        missing = sum(len({v["evidence"] for v in w}) for w in need.values()) - len(out)
        if missing > 0:
            self.metrics["evidence_missing"] += missing
            log.warning("epoch %d: %d evidence objects not served", epoch, missing)
        return out

    async def _obtain(self, epoch: int, leader: str, digests: list[str]) -> dict:
        """The proposal's evidence objects: this member's own from its store, the rest from
        the leader that proposed (each checked against its digest)."""
        own = await self._fetch(None, self.address, epoch, digests)
        rest = [d for d in digests if d not in own]
        if rest and self._client is None:
            self._client = aiohttp.ClientSession()
        fetched = await self._fetch(self._client, leader, epoch, rest) if rest else {}
        return {**own, **fetched}

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _ask_signature(self, session, member: str, epoch: int, body: bytes):
        try:
            status, reply = await self._request(
                session, "POST", member, f"/committee/epochs/{epoch}/proposal", body,
                timeout_factor=PROPOSAL_TIMEOUT_FACTOR,
            )  # fmt: skip
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("epoch %d: %s did not answer: %s", epoch, member, exc or type(exc).__name__)
            return None
        if status != 200:
            log.warning("epoch %d: %s refused: %s", epoch, member, reply)
            return None
        return reply

    async def lead(self, session, epoch: int, attempt: int) -> bytes | None:
        """Runs one attempt of the round as leader; returns the transaction hash if it posted."""
        clock = time.perf_counter
        await self.service.swept(self.settings.request_timeout_s)  # see handle_proposal
        t0 = clock()
        if await asyncio.to_thread(self._behind, epoch):
            log.info("epoch %d attempt %d: not leading before adopting the last settled report",
                     epoch, attempt)  # fmt: skip
            self.metrics["rounds_skipped_behind"] += 1
            return None
        view = await asyncio.to_thread(self.view)
        earlier = await asyncio.to_thread(
            lambda: self._skipped_by(epoch, self.chain.next_report_epoch(), len(view.members))
        )
        if earlier is not None:
            log.info("epoch %d attempt %d: not leading while epoch %d is being settled",
                     epoch, attempt, earlier)  # fmt: skip
            self.metrics["rounds_waiting_earlier"] += 1
            return None
        bundles = await self.gather(session, epoch, view)
        if len(bundles) < view.threshold:
            log.warning("epoch %d attempt %d: %d bundles < threshold %d", epoch, attempt,
                        len(bundles), view.threshold)  # fmt: skip
            self.metrics["rounds_without_quorum"] += 1
            return None
        evidence = await self.gather_evidence(session, epoch, bundles)
        if await asyncio.to_thread(self.chain.next_report_epoch) > epoch:
            log.info("epoch %d attempt %d: settled while gathering", epoch, attempt)
            self.metrics["rounds_overtaken"] += 1
            return None  # another attempt's report: adopting it is the next pass's work
        t1 = clock()
        log.info("epoch %d attempt %d: %d bundles, %d evidence objects gathered in %.2f s",
                 epoch, attempt, len(bundles), len(evidence), t1 - t0)  # fmt: skip
        build = await asyncio.to_thread(self.build, epoch, bundles, evidence)
        digest = build.digest(self.chain.chain_id, self.hub)
        self.proposals[epoch][digest] = (bundles, evidence)
        self._builds[(epoch, digest)] = build
        t2 = clock()
        body = json.dumps(
            {"attempt": attempt, "digest": "0x" + digest.hex(),
             "bundles": [b.to_json() for b in bundles], "evidence": sorted(evidence)}
        ).encode()  # fmt: skip
        others = [m for m in view.members if m != self.address and m in self.peers]
        replies = await asyncio.gather(
            *(self._ask_signature(session, m, epoch, body) for m in others)
        )
        own = await asyncio.to_thread(self._signature, view, epoch, digest)
        t3 = clock()
        log.info("epoch %d attempt %d: %d of %d signatures in %.2f s", epoch, attempt,
                 1 + sum(1 for r in replies if r), len(view.members), t3 - t2)  # fmt: skip
        post = await asyncio.to_thread(self._post, view, digest, [own, *(r for r in replies if r)])
        t4 = clock()
        self.metrics["round_seconds"] = t4 - t0
        if post is None:
            self.metrics["rounds_without_quorum"] += 1
            return None
        try:
            tx = await asyncio.to_thread(self.service.submitter.submit, epoch, build, post)
        except ChainError as exc:  # e.g. WrongParent: an earlier epoch settled meanwhile
            log.warning("epoch %d attempt %d: not posted: %s", epoch, attempt, exc)
            return None  # the next attempt builds on what the chain holds now
        if tx is not None:
            timings = {"gather": t1 - t0, "compute": t2 - t1, "sign": t3 - t2,
                       "aggregate": t4 - t3}  # fmt: skip
            self.posted[epoch] = replace(
                post, tx=tx, attempt=attempt, round_s=t4 - t0, timings=timings
            )
        return tx

    def _post(self, view: View, digest: bytes, replies: list[dict]) -> Post | None:
        """The hub call from the members' replies, each checked; None below the threshold."""
        members = {m.lower(): m for m in view.members}
        if view.scheme == "bls":
            return self._bls_post(view, digest, replies, members)
        sigs: dict[str, bytes] = {}
        for r in replies:
            try:
                sig = bytes.fromhex(r["signature"].removeprefix("0x"))
                signer = Account._recover_hash(digest, signature=sig)
            except Exception as exc:  # a malformed reply of any kind
                log.warning("dropped an unreadable signature: %s", exc)
                continue
            if signer.lower() in members and signer.lower() == str(r.get("member", "")).lower():
                sigs[signer] = sig
        if len(sigs) < view.threshold:
            return None
        chosen = sorted(sigs, key=lambda a: int(a, 16))[: view.threshold]
        return Post(
            "ecdsa", tuple(chosen), signatures=pack_signatures((a, sigs[a]) for a in chosen)
        )

    def _bls_post(self, view: View, digest: bytes, replies: list[dict], members) -> Post | None:
        try:  # the keys the hub will check against: the committee's snapshot
            keys = dict(zip(view.members, self.chain.committee_bls_keys(), strict=True))
        except (ChainError, ValueError) as exc:
            log.warning("no BLS keys of the committee: %s", exc)
            return None
        parts = {}
        for r in replies:
            try:
                who = members[str(r["member"]).lower()]
                sigma = bls.decode_g1(bytes.fromhex(r["signature"].removeprefix("0x")))
                pk2 = bls.decode_g2(bytes.fromhex(r["pk2"].removeprefix("0x")))
                x, y = keys[who]
                pk1 = bls.decode_g1(x.to_bytes(32, "big") + y.to_bytes(32, "big"))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:  # any shape
                log.warning("dropped a BLS reply: %s", exc)
                continue
            parts[who] = (pk1, pk2, sigma)

        def check(ws):
            return bls.verify(
                bls.aggregate_g1([parts[w][0] for w in ws]),
                bls.aggregate_g2([parts[w][1] for w in ws]),
                digest,
                bls.aggregate_g1([parts[w][2] for w in ws]),
            )

        signers = list(parts)
        if signers and not check(signers):  # find the bad ones only when the aggregate fails
            signers = [w for w in signers if check([w])]
        if len(signers) < view.threshold:
            return None
        signers.sort(key=lambda a: int(a, 16))
        return Post(
            "bls",
            tuple(signers),
            bitmap=sum(1 << view.index(w) for w in signers),
            sigma=bls.aggregate_g1([parts[w][2] for w in signers]),
            apk2=bls.aggregate_g2([parts[w][1] for w in signers]),
        )

    # ------------------------------------------------------------------ adoption
    async def adopt(self, session, epoch: int, digest: bytes | None = None) -> bool:
        """Stores the report the hub settled for `epoch` (its digest, read if not given),
        recomputed from its bundles."""
        if digest is None:
            digest = await asyncio.to_thread(self.chain.report_digest, epoch)
        if digest is None:
            return False
        if self.store.report_for(epoch) is None:
            held = self.proposals.get(epoch, {}).get(digest)
            if held is None:
                held = await self._fetch_proposal(session, epoch, digest)
            if held is None:
                if epoch not in self._unserved:
                    self._unserved.add(epoch)
                    log.warning("epoch %d: settled, but no member served its bundles yet", epoch)
                return False
            build = await asyncio.to_thread(self.build, epoch, *held)
            if build.digest(self.chain.chain_id, self.hub) != digest:
                log.error("epoch %d: the settled report does not follow from its bundles", epoch)
                self.metrics["adopt_mismatch"] += 1
                return False
            await asyncio.to_thread(self.service.adopt, epoch, build)
        await asyncio.to_thread(self.service.submitter.mark_confirmed, epoch)
        for key in [k for k in self._builds if k[0] <= epoch]:
            del self._builds[key]
        self.led = {(e, a) for e, a in self.led if e > epoch}  # settled: no more attempts
        self.ended_at = {e: t for e, t in self.ended_at.items() if e > epoch}
        for old in [e for e in self.proposals if e < epoch - KEEP_EPOCHS]:
            del self.proposals[old]
        return True

    async def _fetch_proposal(self, session, epoch: int, digest: bytes):
        view = await asyncio.to_thread(self.view)
        for member in view.members:
            if member == self.address or member not in self.peers:
                continue
            path = f"/committee/epochs/{epoch}/proposal?digest=0x{digest.hex()}"
            try:
                status, body = await self._request(session, "GET", member, path)
                if status == 200:
                    bundles = [Bundle.from_json(b) for b in body["bundles"]]
                    valid = validate_bundles(
                        bundles, chain_id=self.chain.chain_id, hub=self.hub, epoch=epoch,
                        members=view.members, threshold=view.threshold,
                    )  # fmt: skip
                    digests = _digests(body["evidence"])
                    evidence = await self._fetch(session, member, epoch, digests)
                    if set(evidence) != set(digests):
                        raise CommitteeError("it did not serve all of the proposal's evidence")
                    return valid, evidence
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
                log.info("epoch %d: proposal from %s unusable: %s", epoch, member, exc)
        return None

    async def _catch_up(self, session, next_epoch: int) -> None:
        """Adopts, in order, every settled epoch since this member's last confirmed one: those
        it challenged and those it missed while down (recorded with no verdicts). Stops at the
        first it cannot adopt yet, since each report builds on the one before; an epoch the hub
        skipped has no report and is passed over."""
        start = self.store.catch_up_from()
        for epoch in range(next_epoch if start is None else start, next_epoch):
            row = self.store.epoch(epoch)
            if row is not None and row["state"] == "confirmed":
                continue
            digest = await asyncio.to_thread(self.chain.report_digest, epoch)
            if digest is None:
                continue  # skipped by the hub: nothing to adopt
            if row is None or row["state"] == "scheduled":
                await asyncio.to_thread(self.service.mark_missed, epoch)
            if not await self.adopt(session, epoch, digest):
                return

    # ------------------------------------------------------------------ the pass
    async def step(self, session) -> None:
        """One pipeline pass for this member (see the module docstring)."""
        chain, store = self.chain, self.store
        current = await asyncio.to_thread(chain.current_epoch)
        row = store.epoch(current)
        if row is None or row["state"] == "scheduled":
            members = [m.lower() for m in (await asyncio.to_thread(self.view)).members]
            me = self.address.lower()
            slot = members.index(me) if me in members else 0
            await self.service.challenge_current(current, session, slot)
            members = None
        next_epoch = await asyncio.to_thread(chain.next_report_epoch)
        await self._catch_up(session, next_epoch)
        next_epoch = await asyncio.to_thread(self.service.submitter.skip_gap, current, next_epoch)
        members = None
        for epoch in range(next_epoch, current):
            if not self._challenged(epoch):
                continue
            attempt = self._attempt(epoch)
            members = members or (await asyncio.to_thread(self.view)).members
            if (
                leader_of(members, epoch, attempt) == self.address
                and (epoch, attempt) not in self.led
            ):
                self.led.add((epoch, attempt))
                log.info("epoch %d: %s leads attempt %d", epoch, self.address, attempt)
                await self.lead(session, epoch, attempt)
            if attempt < len(members):
                break  # the later epochs wait: a report of one of them would skip this one

    def _challenged(self, epoch: int) -> bool:
        row = self.store.epoch(epoch)
        return row is not None and row["state"] != "scheduled"

    def _attempt(self, epoch: int) -> int:
        """The attempt of `epoch`'s round by this member's clock: the leader timeouts since
        it saw the epoch end (now, the first time it asks)."""
        now = self.clock()
        return int((now - self.ended_at.setdefault(epoch, now)) / self.settings.leader_timeout_s)

    def _skipped_by(self, epoch: int, next_epoch: int, members: int) -> int | None:
        """The first epoch that a report of `epoch` would skip (the hub waits for every epoch
        from `next_epoch` on, and settling a later one skips them) and whose round this member
        still expects to settle: it challenged it, and not every member has had its turn to
        lead it yet by this member's clock. None: nothing stands before `epoch`."""
        for earlier in range(next_epoch, epoch):
            if self._challenged(earlier) and self._attempt(earlier) < members:
                return earlier
        return None


def _digest_or_none(obj) -> str | None:
    try:
        return ev.digest(obj)
    except (TypeError, ValueError):  # not JSON-encodable as canonical JSON
        return None


def _matching(objects: list, asked: set[str]) -> dict[str, dict]:
    """digest -> object of the `objects` (a peer's reply) that are among the `asked` digests."""
    out = {}
    for obj in objects:
        d = _digest_or_none(obj)
        if d in asked and isinstance(obj, dict):
            out[d] = obj
    return out


def _digests(values, limit: int = MAX_VERDICTS) -> list[str]:
    """Evidence digests (a proposal's, or an evidence request's): a list of at most `limit`
    distinct lowercase 0x-hex32 strings (what each object proves is
    oracle.committee.evidence.check's to say)."""
    out = items(values, "evidence", limit)
    if not all(is_hex32(d) for d in out) or len(set(out)) != len(out):
        raise CommitteeError("evidence must be distinct digests, 32 bytes of lowercase 0x-hex")
    return out


def _parse_proposal(body: bytes, members: int) -> tuple[bytes, list[Bundle], list[str]]:
    """A proposal's digest, bundles and evidence digests, decoded strictly; ValueError (with
    the reason) for anything outside the schema: {"attempt": int, "digest": hex32, "bundles":
    [bundle...], "evidence": [hex32...]}."""
    proposal = decode_json(body, BODY_LIMITS)
    keys = {"attempt", "digest", "bundles", "evidence"}
    if not isinstance(proposal, dict) or set(proposal) != keys:
        raise CommitteeError(f"a proposal has exactly the keys {sorted(keys)}")
    if type(proposal["attempt"]) is not int or not 0 <= proposal["attempt"] < 2**32:
        raise CommitteeError("proposal attempt must be an integer in [0, 2^32)")
    bundles = proposal["bundles"]
    if not isinstance(bundles, list) or len(bundles) > members:
        raise CommitteeError(f"proposal bundles must be a list of at most {members}")
    return (
        _bytes32(proposal["digest"]),
        [Bundle.from_json(b) for b in bundles],
        _digests(proposal["evidence"]),
    )


def _bytes32(value) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError("a digest is 32 bytes of 0x-hex")
    return bytes.fromhex(value[2:])  # ValueError for non-hex digits
