"""Hostile participants for the demo and the tests: a node whose answers are attacks on the
oracle's decoders, and a committee member whose bundle lies. Both follow the protocol's
transport (HTTP, signed where a signature is expected) so that every byte they send reaches
the code that must refuse it.

- `hostile_node_app(settings)`: an agent-shaped aiohttp app whose every challenge answer
  cycles through a 100,000-level nested body, a signed commitment with a huge integer, a
  signed witness list with an out-of-range RSSI, garbage bytes, an HTTP error body that reads
  like display text ("busy [index 7]") and a 503 refusal. The oracle must give it failed
  verdicts (never slashed: nothing it sends proves fraud) and go on with everyone else.
- `HostileMember`: a committee member that signs a valid bundle with invented verdicts: a dozen
  timeouts for an honest node (to cut its reward) and a dozen passes for an offline node (to
  pay it). Its bundle is well formed and signed, so only the committee's rules stand between it
  and the report: its passes name evidence nobody signed, its timeouts are outvoted.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from aiohttp import web
from eth_utils import keccak

from oracle.agent.config import Settings
from oracle.committee.member import Member
from oracle.committee.rules import Bundle, sign_bundle
from oracle.protocol.envelope import challenge_id, sign_response

INVENTED = 12


def _answers(settings: Settings) -> list[Callable[[str, dict], web.Response]]:
    def signed(kind: str, body: dict, payload: dict) -> web.Response:
        nonce = bytes.fromhex(body["nonce"][2:])
        cid = challenge_id(settings.chain_id, settings.address, body["epoch"], kind, nonce)
        response = sign_response(settings.node_key, settings.chain_id, cid, payload)
        return web.json_response(response.to_wire())

    def nested(kind, body):
        return web.Response(body=b"[" * 100_000, content_type="application/json")

    def huge_integer(kind, body):
        payload = (
            {"epoch": body["epoch"], "witnesses": [{"rssi_cdbm": 10**70}]}
            if kind == "coverage"
            else {"stage": "commit", "root": "0x" + "00" * 32, "elapsed_s": 10**70,
                  "backend": "cpu", "seed": "0x" + "00" * 32, "n": 10**70}
        )  # fmt: skip
        return signed(kind, body, payload)

    def garbage(kind, body):
        return web.Response(body=b"\xff\xfe\x00garbage{", content_type="application/json")

    def looks_like_an_index(kind, body):
        return web.Response(status=500, text="busy [index 7]")

    def refusal(kind, body):
        return web.Response(status=503, text="no")

    return [nested, huge_integer, garbage, looks_like_an_index, refusal]


def hostile_node_app(settings: Settings) -> web.Application:
    """A node that answers every challenge with the next attack of the cycle."""
    cycle = itertools.cycle(_answers(settings))

    def route(kind: str):
        async def answer(request: web.Request) -> web.Response:
            try:
                body = json.loads(await request.read())
                body["epoch"], body["nonce"]  # a challenge it can sign against
            except (ValueError, KeyError, TypeError):
                return web.Response(status=400, text="?")
            return next(cycle)(kind, body)

        return answer

    app = web.Application()
    for path, kind in (
        ("/compute/commit", "compute"),
        ("/compute/reveal", "compute"),
        ("/storage/audit", "storage"),
        ("/coverage/beacon", "beacon"),
        ("/coverage/witnesses", "coverage"),
    ):
        app.router.add_post(path, route(kind))
    return app


class HostileMember(Member):
    """A member whose bundle adds invented verdicts: timeouts for `victim`, passes for
    `offline` (lowercase node addresses)."""

    victim: str = ""
    offline: str = ""

    def own_bundle(self, epoch: int) -> Bundle | None:
        honest = super().own_bundle(epoch)
        if honest is None:
            return None
        lies = [
            _invented(epoch, node, i, passed)
            for node, passed in ((self.victim, False), (self.offline, True))
            if node
            for i in range(INVENTED)
        ]
        return sign_bundle(
            self.service.key, honest.chain_id, honest.hub, epoch, [*honest.verdicts, *lies]
        )


def _invented(epoch: int, node: str, i: int, passed: bool) -> dict:
    cid = keccak(b"invented" + epoch.to_bytes(8, "big") + bytes.fromhex(node[2:]) + bytes([i]))
    return {
        "challenge_id": "0x" + cid.hex(),
        "node": node.lower(),
        "kind": "compute",
        "passed": passed,
        "reason": "ok" if passed else "timeout",
        "detail": "",
        "latency_us": 1_000 if passed else None,
        "deadline_us": 2_000_000,
        "lease_id": 0,
        "chunk_index": 0,
        "coverage_micro": 0,
        "attempts": 1 if passed else 4,
        # an invented pass names evidence that does not exist (no node signed it)
        "evidence": "0x" + keccak(b"no such evidence" + cid).hex() if passed else None,
    }
