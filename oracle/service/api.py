"""The oracle's HTTP API (aiohttp): health, Prometheus metrics, epochs, per-node results with
their proof against the on-chain results root, and the claim a provider sends on-chain.

    GET /health                 200 ok/starting, 503 unhealthy with the problems and what to do
                                (oracle.service.health), and where the pipeline stands
    GET /metrics                Prometheus or OpenMetrics (by Accept) exposition, through
                                prometheus_client (oracle.service.metrics)
    GET /epochs/{n}             state, report (digest, roots, slashes), submission
    GET /epochs/{n}/results     the public results file (JSON lines; its root is on-chain)
    GET /nodes/{address}        per-epoch verdict reason, score, reputation, reward, slash,
                                and the node's line with its proof against the results root
    GET /claims/{account}       cumulative amount and Merkle proof for RewardsDistributor.claim
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web
from eth_utils import is_address, to_checksum_address
from prometheus_client.registry import CollectorRegistry

from oracle.protocol.merkle import PositionalTree, RewardsTree
from oracle.service.health import Health
from oracle.service.metrics import OracleCollector, registry_for, render
from oracle.service.report import parse_results_file, result_leaf
from oracle.service.store import Store

STORE = web.AppKey("store", Store)
METRICS = web.AppKey("metrics", CollectorRegistry)
HEALTH = web.AppKey("health", Health)
IDENTITY = web.AppKey("identity", dict)


def _hex(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def http_error(cls: type[web.HTTPException], message: str) -> web.HTTPException:
    """An aiohttp error response whose body is {"error": message} (every route of the oracle's
    API, the committee's included)."""
    return cls(text=json.dumps({"error": message}), content_type="application/json")


def _address(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not is_address(value):
        raise http_error(web.HTTPBadRequest, f"not an address: {value[:60]!r}")
    return to_checksum_address(value)


def epoch_param(request: web.Request) -> int:
    """The route's {epoch}, a natural number, or 400."""
    raw = request.match_info["epoch"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise http_error(web.HTTPBadRequest, "epoch must be a natural number below 10^18")
    return int(raw)


def _not_found(what: str) -> web.HTTPException:
    return http_error(web.HTTPNotFound, what)


async def health(request: web.Request) -> web.Response:
    store, h = request.app[STORE], request.app[HEALTH]
    latest = store.latest_epoch()
    state, problems = h.state()
    body = {
        "status": state,
        "problems": problems,
        **request.app[IDENTITY],
        "latest_epoch": latest,
        "latest_state": None if latest is None else store.epoch(latest)["state"],
        "current_epoch": h.current_epoch,
        "hub_next_epoch": h.next_epoch,
        "unsettled_epochs": h.unsettled_epochs,
        "consecutive_failed_passes": h.consecutive_failures,
        "last_error": h.last_error,
    }
    return web.json_response(body, status=503 if state == "unhealthy" else 200)


async def metrics(request: web.Request) -> web.Response:
    body, content_type = render(request.app[METRICS], request.headers.get("Accept"))
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def epoch(request: web.Request) -> web.Response:
    store, n = request.app[STORE], epoch_param(request)
    row = store.epoch(n)
    if row is None:
        raise _not_found(f"epoch {n} not seen by this oracle")
    report = store.report_for(n)
    body = {"epoch": n, "state": row["state"], "seed": _hex(row["seed"])}
    if report is not None:
        body["report"] = {
            "digest": _hex(report["digest"]),
            **report["report"],
            "results_root": _hex(report["results_root"]),
        }
    submission = store.submission_for(n)
    if submission is not None:
        body["submission"] = {k: submission[k] for k in ("tx_hash", "status", "attempts")}
    return web.json_response(body)


async def results_file(request: web.Request) -> web.Response:
    report = request.app[STORE].report_for(epoch_param(request))
    if report is None:
        raise _not_found("no report for that epoch")
    return web.Response(body=report["results_file"], content_type="application/x-ndjson")


async def node(request: web.Request) -> web.Response:
    store, address = request.app[STORE], _address(request, "address")
    history = store.node_history(address)
    if not history:
        raise _not_found(f"no results for node {address}")
    out = []
    for r in history:
        entry = {
            k: r[k]
            for k in (
                "epoch",
                "reason",
                "score_bps",
                "reputation_bps",
                "reward",
                "slash_reason",
                "slash_lease",
                "slash_chunk",
            )
        }
        report = store.report_for(r["epoch"])
        if report is not None:
            _, lines = parse_results_file(report["results_file"])
            for i, line in enumerate(lines):
                if json.loads(line)["node"] == address.lower():
                    tree = PositionalTree([result_leaf(x) for x in lines])
                    entry["line"] = line.decode()
                    entry["proof"] = {
                        "index": i,
                        "siblings": [_hex(p) for p in tree.proof(i)],
                        "results_root": _hex(report["results_root"]),
                    }
        out.append(entry)
    return web.json_response({"node": address, "epochs": out})


async def claim(request: web.Request) -> web.Response:
    store, account = request.app[STORE], _address(request, "account")
    latest = store.latest_epoch()
    report = None
    for e in range(latest if latest is not None else -1, -1, -1):
        report = store.report_for(e)
        if report is not None:
            break
    if report is None:
        raise _not_found("no report yet")
    tree = RewardsTree({a: int(v) for a, v in report["rewards"]})
    amount = tree.amounts.get(account)
    if not amount:
        raise _not_found(f"{account} has no rewards as of epoch {report['epoch']}")
    return web.json_response(
        {
            "account": account,
            "epoch": report["epoch"],
            "amount": str(amount),
            "proof": [_hex(p) for p in tree.proof(account)],
            "distributor_call": "claim(epoch, account, amount, proof)",
        }
    )


MAX_REQUEST = 64 << 20  # committee proposals carry every member's bundle


def create_api(
    store: Store, counts: Mapping[str, float], identity: dict, health_: Health
) -> web.Application:
    """The API over `store`; `counts` (OracleService.metrics) and `health_` feed /metrics and
    /health."""
    app = web.Application(client_max_size=MAX_REQUEST)
    app[STORE], app[IDENTITY], app[HEALTH] = store, identity, health_
    app[METRICS] = registry_for(OracleCollector(counts, health_, store.latest_epoch))
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/epochs/{epoch}", epoch)
    app.router.add_get("/epochs/{epoch}/results", results_file)
    app.router.add_get("/nodes/{address}", node)
    app.router.add_get("/claims/{account}", claim)
    return app
