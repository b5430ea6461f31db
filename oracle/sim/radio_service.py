"""`plinth-radio`: the simulated air as a local HTTP service, so that standalone wireless
agents (`plinth-agent` with kind = "wireless") have a radio: each agent places its true radio
(position, power, gain) at start-up, transmits its beacons through the service and asks it
what it heard. One RadioMedium (oracle.sim.radio) decides who hears what, exactly as in the
demo's in-process air. A real deployment replaces this with the radios' own drivers.

    plinth-radio [--host 127.0.0.1] [--port 8790] [--seed 1]     (make radio)

    GET  /health                  {"radios": n}
    PUT  /radios/{node}           {"lat", "lon", "tx_power_dbm"?, "antenna_gain_dbi"?}
    POST /transmit                {"epoch", "sender", "beacon" (wire), "secret" (0x 32 bytes)}
                                  -> {"heard_by": [node, ...]}
    GET  /heard/{node}/{epoch}    the witness reports of the beacons node heard (wire payload)

Every input is checked and bounded (a JSON body of at most 64 KiB, coordinates in range, at
most MAX_RADIOS radios); a malformed request gets 400 with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

import numpy as np
from aiohttp import web
from eth_utils import is_address

from oracle.daemon import (
    ListenError,
    add_common_options,
    add_version,
    configure_logging,
    listen,
    serve,
)
from oracle.protocol import wire
from oracle.protocol.coverage import node_id
from oracle.protocol.strict import integer
from oracle.sim.air import airwaves_for
from oracle.sim.radio import Radio, RadioMedium

MAX_BODY = 64 << 10
MAX_RADIOS = 100_000
RADIO_KEYS = {"lat", "lon", "tx_power_dbm", "antenna_gain_dbi"}
MEDIUM = web.AppKey("medium", RadioMedium)
log = logging.getLogger("plinth.radio")


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json(request: web.Request) -> dict:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        raise _bad("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _node(request: web.Request) -> str:
    node = request.match_info["node"]
    if not is_address(node):
        raise _bad(f"not an address: {node[:60]!r}")
    return node_id(node)


def _number(body: dict, key: str, lo: float, hi: float, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _bad(f"{key} must be a number in [{lo}, {hi}], got {str(value)[:40]!r}")
    return float(value)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "radios": len(request.app[MEDIUM])})


async def place(request: web.Request) -> web.Response:
    medium, node = request.app[MEDIUM], _node(request)
    body = await _json(request)
    unknown = sorted(set(body) - RADIO_KEYS)
    if unknown:
        raise _bad(f"unknown keys: {[k[:40] for k in unknown[:5]]} (known: {sorted(RADIO_KEYS)})")
    if node not in medium and len(medium) >= MAX_RADIOS:
        raise _bad(f"the medium holds {MAX_RADIOS} radios already")
    radio = Radio(
        lat=_number(body, "lat", -90, 90),
        lon=_number(body, "lon", -180, 180),
        tx_power_dbm=_number(body, "tx_power_dbm", -10, 36, 27.0),
        antenna_gain_dbi=_number(body, "antenna_gain_dbi", -10, 20, 3.0),
    )
    medium.place(node, radio)
    log.info("radio of %s at %.5f, %.5f", node, radio.lat, radio.lon)
    return web.json_response({"node": node, "radios": len(medium)})


async def transmit(request: web.Request) -> web.Response:
    medium = request.app[MEDIUM]
    body = await _json(request)
    try:
        epoch = integer(body.get("epoch"), "epoch", 0, 2**63 - 1)
        beacon = wire.beacon_from_wire(epoch, body.get("beacon"))
        secret = wire.unhex(body.get("secret"), 32, "secret")
    except ValueError as exc:  # DecodeError included
        raise _bad(str(exc)[:200]) from None
    sender = body.get("sender")
    if not isinstance(sender, str) or not is_address(sender):
        raise _bad("sender must be an address")
    if node_id(sender) not in medium:
        raise _bad(f"{sender} has no radio here: PUT /radios/{sender} first")
    if node_id(sender) != node_id(beacon.beaconer):
        raise _bad("a node transmits its own beacons only")
    heard = airwaves_for(medium).transmit(beacon, sender, secret)
    return web.json_response({"heard_by": heard})


async def heard(request: web.Request) -> web.Response:
    medium, node = request.app[MEDIUM], _node(request)
    raw = request.match_info["epoch"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise _bad("epoch must be a natural number below 10^18")
    reports = airwaves_for(medium).heard(node, int(raw))
    return web.json_response(wire.witnesses_payload(int(raw), reports))


def create_radio_app(seed: int = 1) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[MEDIUM] = RadioMedium(np.random.default_rng(seed))
    app.router.add_get("/health", health)
    app.router.add_put("/radios/{node}", place)
    app.router.add_post("/transmit", transmit)
    app.router.add_get("/heard/{node}/{epoch}", heard)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plinth-radio", description=__doc__.split("\n\n")[0])
    add_version(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--seed", type=int, default=1, help="the medium's RNG seed (fading)")
    add_common_options(parser)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        sock = listen(args.host, args.port, "--host/--port")
    except ListenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("the air on http://%s:%d (seed %d)", args.host, args.port, args.seed)
    serve(create_radio_app(args.seed), sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
