"""The oracle's HTTP API (aiohttp), read-only and open to every origin (CORS; the committee's
own routes, /committee/..., are not part of it):

    GET /health                 200 ok/starting, 503 unhealthy with the problems and what to do
                                (oracle.service.health), and where the pipeline stands
    GET /metrics                Prometheus or OpenMetrics (by Accept) exposition, through
                                prometheus_client (oracle.service.metrics)
    GET /deployment             chain id, genesis, epoch duration, contract addresses
    GET /epochs?limit=&before=  the latest epochs, newest first (next_before pages back)
    GET /epochs/{n}             state, seed, the report and its submission
    GET /epochs/{n}/results     the public results file (JSON lines; its root is on-chain)
    GET /epochs/{n}/proofs/{a}  node a's line of that file and its proof against the root
    GET /nodes?kind=&status=&reason=&limit=&cursor=
                                every node with a result: latest result, on-chain status
    GET /nodes/{address}        per-epoch verdict reason, score, reputation, reward, slash
                                (the latest PROVEN_EPOCHS with the line and proof inline)
    GET /claims/{account}       cumulative amount and Merkle proof for RewardsDistributor.claim
    GET /explorer/              the explorer (a static page that reads this API and the chain)

Conventions: snake_case keys, token amounts (wei) as decimal strings (JSON numbers lose
precision above 2^53), checksummed addresses, 0x-hex hashes. The results file keeps its own
hashed format. Settled epochs are sent `immutable`; trees are built once per epoch in a worker
thread (EpochTrees), never per request in the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from eth_utils import is_address, to_checksum_address
from prometheus_client.registry import CollectorRegistry

from oracle.protocol.hardware import NodeKind, NodeStatus
from oracle.protocol.merkle import PositionalTree, RewardsTree
from oracle.service.chain import NodeInfo
from oracle.service.health import Health
from oracle.service.metrics import OracleCollector, registry_for, render
from oracle.service.report import parse_results_file, result_leaf
from oracle.service.store import Store

STORE = web.AppKey("store", Store)
TREES = web.AppKey("trees", object)
NODES = web.AppKey("nodes", object)
DEPLOYMENT = web.AppKey("deployment", dict)
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


def _amount(value) -> str:
    """A token amount in wei as a decimal string (JSON numbers lose precision above 2^53)."""
    return str(int(value))


def _report_view(r: dict) -> dict:
    """The stored EpochReport (canonical JSON, the signed field names) in the API's casing."""
    return {
        "epoch": r["epoch"],
        "parent": r["parent"],
        "committee_version": r["committeeVersion"],
        "rewards_root": r["rewardsRoot"],
        "total_rewards": _amount(r["totalRewards"]),
        "results_root": r["resultsRoot"],
        "slashes": [
            {
                "node": to_checksum_address(x["node"]),
                "reason": x["reason"],
                "lease_id": _amount(x["leaseId"]),
                "chunk_index": x["chunkIndex"],
                "evidence": x["evidence"],
            }
            for x in r["slashes"]
        ],
        "failed_nodes": [to_checksum_address(x) for x in r["failedNodes"]],
        "failed_demand": _amount(r["failedDemand"]),
    }


def _cached(response: web.Response, settled: bool) -> web.Response:
    """A settled epoch never changes: caches may keep it for good; the rest is revalidated."""
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if settled else "no-cache"
    )
    return response


def _settled(store: Store, epoch: int) -> bool:
    row = store.epoch(epoch)
    return row is not None and row["state"] == "confirmed"


async def epoch(request: web.Request) -> web.Response:
    store, n = request.app[STORE], epoch_param(request)
    row = store.epoch(n)
    if row is None:
        raise _not_found(f"epoch {n} not seen by this oracle")
    report = store.report_for(n)
    body = {"epoch": n, "state": row["state"], "seed": _hex(row["seed"])}
    if report is not None:
        body["report"] = {"digest": _hex(report["digest"]), **_report_view(report["report"])}
    submission = store.submission_for(n)
    if submission is not None:
        body["submission"] = {k: submission[k] for k in ("tx_hash", "status", "attempts")}
    return _cached(web.json_response(body), row["state"] == "confirmed")


def _limit(request: web.Request, default: int = 50, most: int = 500) -> int:
    raw = request.query.get("limit", str(default))
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw[:4]) <= most and len(raw) <= 4):
        raise http_error(web.HTTPBadRequest, f"limit must be an integer from 1 to {most}")
    return int(raw)


async def epochs(request: web.Request) -> web.Response:
    """The latest epochs this oracle has seen, newest first (`before` pages back)."""
    store, limit = request.app[STORE], _limit(request)
    before = request.query.get("before")
    if before is not None and not (before.isascii() and before.isdigit() and len(before) <= 18):
        raise http_error(web.HTTPBadRequest, "before must be a natural number below 10^18")
    out = []
    for row in store.epochs(limit, None if before is None else int(before)):
        entry = {"epoch": row["epoch"], "state": row["state"]}
        report = store.report_for(row["epoch"])
        if report is not None:
            r = report["report"]
            entry |= {
                "digest": _hex(report["digest"]),
                "total_rewards": _amount(r["totalRewards"]),
                "slashes": len(r["slashes"]),
                "failed_nodes": len(r["failedNodes"]),
                "failed_demand": _amount(r["failedDemand"]),
            }
        out.append(entry)
    more = out[-1]["epoch"] if len(out) == limit and out[-1]["epoch"] > 0 else None
    return web.json_response({"epochs": out, "next_before": more})


async def results_file(request: web.Request) -> web.Response:
    store, n = request.app[STORE], epoch_param(request)
    report = store.report_for(n)
    if report is None:
        raise _not_found("no report for that epoch")
    response = web.Response(body=report["results_file"], content_type="application/x-ndjson")
    return _cached(response, _settled(store, n))


PROVEN_EPOCHS = 8  # /nodes/{address}: entries of the latest epochs carry their proof inline


async def node(request: web.Request) -> web.Response:
    store, address = request.app[STORE], _address(request, "address")
    history = store.node_history(address)
    if not history:
        raise _not_found(f"no results for node {address}")
    out = []
    for k, r in enumerate(history):
        entry = {
            "epoch": r["epoch"],
            "kind": NodeKind(r["kind"]).name.lower(),
            "reason": r["reason"],
            "score_bps": r["score_bps"],
            "reputation_bps": r["reputation_bps"],
            "reward": _amount(r["reward"]),
            "slash_reason": r["slash_reason"],
            "slash_lease": _amount(r["slash_lease"]),
            "slash_chunk": r["slash_chunk"],
            "proof_url": f"/epochs/{r['epoch']}/proofs/{address}",
        }
        if k < PROVEN_EPOCHS:
            entry |= await _line_and_proof(request.app[TREES], r["epoch"], address) or {}
        out.append(entry)
    return web.json_response({"node": address, "epochs": out})


async def node_proof(request: web.Request) -> web.Response:
    """A node's line of an epoch's results file, with its proof against the results root."""
    store, n, address = request.app[STORE], epoch_param(request), _address(request, "address")
    found = await _line_and_proof(request.app[TREES], n, address)
    if found is None:
        raise _not_found(f"no result for node {address} in epoch {n}")
    return _cached(web.json_response({"epoch": n, "node": address, **found}), _settled(store, n))


async def _line_and_proof(trees: EpochTrees, epoch: int, address: str) -> dict | None:
    view = await trees.get(epoch)
    i = None if view is None else view.index.get(address.lower())
    if i is None:
        return None
    return {
        "line": view.lines[i].decode(),
        "proof": {
            "index": i,
            "siblings": [_hex(p) for p in view.results.proof(i)],
            "results_root": _hex(view.results_root),
        },
    }


async def nodes(request: web.Request) -> web.Response:
    """Every node with a result, by address; `kind`, `status` (on-chain, as this oracle last
    read it) and `reason` (of its latest result) filter, `cursor` (the last address of the
    previous page) pages."""
    store, limit = request.app[STORE], _limit(request, 100, 1000)
    q = request.query
    kind = q.get("kind")
    if kind is not None and kind not in KINDS:
        raise http_error(web.HTTPBadRequest, f"kind is one of {', '.join(KINDS)}")
    status = q.get("status")
    if status is not None and status not in STATUSES:
        raise http_error(web.HTTPBadRequest, f"status is one of {', '.join(STATUSES)}")
    reason = q.get("reason")
    if reason is not None and len(reason) > 40:
        raise http_error(web.HTTPBadRequest, "reason is too long")
    cursor = q.get("cursor")
    if cursor is not None and not is_address(cursor):
        raise http_error(web.HTTPBadRequest, "cursor must be an address (the last of a page)")
    chain_view = request.app[NODES]()
    rows = store.latest_results(
        None if kind is None else KINDS.index(kind),
        reason,
        None if cursor is None else cursor.lower(),
        None if status is not None else limit,  # a status filter reads on past the limit
    )
    out = []
    for r in rows:
        info = chain_view.get(r["node"])
        node_status = None if info is None else NodeStatus(info.status).name.lower()
        if status is not None and node_status != status:
            continue
        out.append(
            {
                "node": to_checksum_address(r["node"]),
                "owner": to_checksum_address(r["owner"]),
                "kind": KINDS[r["kind"]],
                "status": node_status,
                "eligible": None if info is None else info.eligible,
                "region": None if info is None else info.region,
                "latest_epoch": r["epoch"],
                "reason": r["reason"],
                "score_bps": r["score_bps"],
                "reputation_bps": r["reputation_bps"],
                "reward": _amount(r["reward"]),
                "location": _location(info),
            }
        )
        if len(out) == limit:
            break
    more = out[-1]["node"] if len(out) == limit else None
    return web.json_response({"nodes": out, "next_cursor": more})


def _location(info: NodeInfo | None) -> dict | None:
    """A wireless node's registered location: its H3 cell (h3's hex string) and position."""
    if info is None or info.kind != NodeKind.WIRELESS or not info.hardware.h3_cell:
        return None
    hw = info.hardware
    return {"h3_cell": f"{hw.h3_cell:x}", "lat": hw.lat_e6 / 1e6, "lon": hw.lon_e6 / 1e6}


async def deployment(request: web.Request) -> web.Response:
    return web.json_response(request.app[DEPLOYMENT])


async def claim(request: web.Request) -> web.Response:
    store, account = request.app[STORE], _address(request, "account")
    epoch = store.latest_report_epoch()
    if epoch is None:
        raise _not_found("no report yet")
    view = await request.app[TREES].get(epoch)
    amount = view.rewards.amounts.get(account)
    if not amount:
        raise _not_found(f"{account} has no rewards as of epoch {epoch}")
    proof = await asyncio.to_thread(view.rewards.proof, account)
    return web.json_response(
        {
            "account": account,
            "epoch": epoch,
            "amount": _amount(amount),
            "proof": [_hex(p) for p in proof],
            "distributor_call": "claim(epoch, account, amount, proof)",
        }
    )


@dataclass(frozen=True)
class EpochView:
    """What the API serves of one reported epoch, built once (not per request)."""

    rewards: RewardsTree
    lines: list[bytes]
    index: dict[str, int]  # lowercase node address -> line
    results: PositionalTree
    results_root: bytes


class EpochTrees:
    """The rewards and results trees of the latest epochs asked for, built in a worker thread
    the first time an epoch is asked for (once, even when many requests ask at once) and kept
    for the `size` epochs asked for last."""

    def __init__(self, store: Store, size: int = PROVEN_EPOCHS + 2):
        self.store, self.size = store, size
        self._views: OrderedDict[int, EpochView] = OrderedDict()
        self._building: dict[int, asyncio.Lock] = {}

    async def get(self, epoch: int) -> EpochView | None:
        view = self._views.get(epoch)
        if view is None:
            lock = self._building.setdefault(epoch, asyncio.Lock())
            async with lock:
                view = self._views.get(epoch)
                if view is None:
                    report = self.store.report_for(epoch)
                    if report is None:
                        self._building.pop(epoch, None)
                        return None
                    view = await asyncio.to_thread(_build_view, report)
                    self._views[epoch] = view
                    while len(self._views) > self.size:
                        self._views.popitem(last=False)
            self._building.pop(epoch, None)
        self._views.move_to_end(epoch)
        return view


def _build_view(report: dict) -> EpochView:
    _, lines = parse_results_file(report["results_file"])
    index = {json.loads(line)["node"]: i for i, line in enumerate(lines)}
    return EpochView(
        rewards=RewardsTree({a: int(v) for a, v in report["rewards"]}),
        lines=lines,
        index=index,
        results=PositionalTree([result_leaf(x) for x in lines]),
        results_root=report["results_root"],
    )


EXPLORER_DIR = Path(__file__).resolve().parent.parent / "explorer"  # built by `make explorer`
EXPLORER_FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "app.css": "text/css",
    "app.js.map": "application/json",
}

# The page runs only its own bundle (no inline script, nothing from elsewhere); it may read any
# JSON-RPC URL (the user's settings can name one).
EXPLORER_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src *; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def explorer(request: web.Request) -> web.StreamResponse:
    """The explorer's static files (explorer/, bundled into oracle/explorer by `make
    explorer`); same origin as the API it reads."""
    name = request.match_info.get("name") or "index.html"
    if name not in EXPLORER_FILES:
        raise _not_found(f"no explorer file {name[:60]!r}")
    path = EXPLORER_DIR / name
    if not path.is_file():
        raise _not_found("the explorer is not built: run `make explorer` in the repository")
    response = web.FileResponse(path, headers={"Content-Type": EXPLORER_FILES[name]})
    response.headers.update(EXPLORER_HEADERS)
    return response


async def to_explorer(request: web.Request) -> web.Response:
    raise web.HTTPFound("/explorer/")


KINDS = tuple(k.name.lower() for k in NodeKind)
STATUSES = tuple(s.name.lower() for s in NodeStatus if s != NodeStatus.NONE)


@web.middleware
async def cors(request: web.Request, handler):
    """The public routes may be read from any origin (the explorer, dashboards); the
    committee's routes are not public."""
    if request.path.startswith("/committee/"):
        return await handler(request)
    try:
        response = (
            web.Response(status=204) if request.method == "OPTIONS" else await handler(request)
        )
    except web.HTTPException as exc:
        exc.headers.update(CORS_HEADERS)
        raise
    response.headers.update(CORS_HEADERS)
    return response


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Max-Age": "86400",
}


MAX_REQUEST = 64 << 20  # committee proposals carry every member's bundle


def create_api(
    store: Store,
    counts: Mapping[str, float],
    identity: dict,
    health_: Health,
    *,
    deployment_: dict | None = None,
    chain_nodes: Callable[[], Mapping[str, NodeInfo]] = dict,
) -> web.Application:
    """The API over `store`; `counts` (OracleService.metrics) and `health_` feed /metrics and
    /health, `deployment_` is /deployment, `chain_nodes` the nodes as the oracle last read
    them from the chain (lowercase address -> NodeInfo) for /nodes."""
    app = web.Application(client_max_size=MAX_REQUEST, middlewares=[cors])
    app[STORE], app[IDENTITY], app[HEALTH] = store, identity, health_
    app[METRICS] = registry_for(OracleCollector(counts, health_, store.latest_epoch))
    app[TREES], app[NODES] = EpochTrees(store), chain_nodes
    app[DEPLOYMENT] = deployment_ or {}
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/deployment", deployment)
    app.router.add_get("/epochs", epochs)
    app.router.add_get("/epochs/{epoch}", epoch)
    app.router.add_get("/epochs/{epoch}/results", results_file)
    app.router.add_get("/epochs/{epoch}/proofs/{address}", node_proof)
    app.router.add_get("/nodes", nodes)
    app.router.add_get("/nodes/{address}", node)
    app.router.add_get("/claims/{account}", claim)
    app.router.add_get("/", to_explorer)
    app.router.add_get("/explorer", to_explorer)
    app.router.add_get("/explorer/", explorer)
    app.router.add_get("/explorer/{name}", explorer)
    return app
