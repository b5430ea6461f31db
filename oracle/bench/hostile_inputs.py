"""Hostile inputs thrown at the oracle's boundaries: how many, and how many crashed or stalled
anything. `python -m oracle.bench.hostile_inputs [--inputs 12000] [--epochs 30]`.

1. **Decoders.** Random hostile messages (JSON-like values with huge integers, NaN and
   Infinity, deep nesting, long strings, wrong types; raw garbage bytes; 100,000-level nested
   bodies) go to every decoder that reads bytes from outside: the strict JSON decoder, the wire
   decoders of node answers (commitment, reveal, beacon, witness list), the committee's bundle
   and proposal decoders, and the evidence check a member runs on the evidence objects other
   members serve (which must back none of them: none carries a node's signature).
   A refusal is a ValueError naming the problem; a backed hostile evidence object or anything
   else is a crash.
2. **The challenge stage over HTTP.** A node whose every answer is a random hostile body (any
   status, any bytes) is challenged beside an honest node, with the real challenge functions
   and retries, epoch after epoch. A crash is an exception out of the stage; a stall is an
   epoch whose challenges do not finish within their timeouts' bound; the honest node must get
   a passing verdict every epoch.

Goal (issue 9): at least 10,000 inputs, 0 crashes, 0 stalled epochs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_account import Account

from oracle.agent import Honest, Settings, create_app
from oracle.committee import evidence as ev
from oracle.committee.member import _parse_proposal
from oracle.committee.rules import Bundle
from oracle.protocol import compute, wire
from oracle.protocol.hardware import NodeKind
from oracle.protocol.strict import decode_json
from oracle.service.challenge import Limits, challenge_all, challenge_compute, with_retries

CHAIN_ID = 31337
KEYS = {
    "commit": [
        "stage",
        "root",
        "elapsed_s",
        "backend",
        "seed",
        "matrix_seed",
        "n",
        "rows",
        "streams",
    ],
    "reveal": ["stage", "salt", "k", "rows"],
    "witnesses": ["epoch", "witnesses"],
    "beacon": ["beaconer", "payload", "frequency_hz", "tx_time_ms"],
    "bundle": ["chain_id", "hub", "epoch", "member", "verdicts", "signature"],
    "evidence": ["challenge_id", "request", "responses"],
}
SMALL = compute.Params(device_s=1e-6, max_n=64)  # the CPU class: 64 rows of 64
EVIDENCE_FACTS = ev.Facts(CHAIN_ID, 5, lambda node: (0, 1), SMALL, b"\x01" * 32, lambda _: None)


def check_evidence(rng: random.Random) -> None:
    """A hostile evidence object checked against a verdict that names it: never backed."""
    obj = _either(rng, "evidence")
    try:
        digest = ev.digest(obj)
    except (TypeError, ValueError):
        digest = "0x" + "00" * 32
    entry = {
        "challenge_id": "0x" + "01" * 32, "node": "0x" + "0a" * 20,
        "kind": rng.choice(sorted(ev.CHECKED_KINDS)), "passed": True, "reason": "ok",
        "detail": "", "latency_us": 1, "deadline_us": 2, "lease_id": 0, "chunk_index": 0,
        "coverage_micro": 0, "attempts": 1, "evidence": digest,
    }  # fmt: skip
    if ev.check(entry, obj, EVIDENCE_FACTS, "0x" + "0b" * 20).backed:
        raise AssertionError("a hostile evidence object was backed")


def hostile_value(rng: random.Random, depth: int = 0):
    """A JSON-like value an attacker might send."""
    roll = rng.random()
    if depth > 6 or roll < 0.45:
        return rng.choice(
            [
                None,
                True,
                rng.randint(-(2**64), 2**64),
                10 ** rng.randint(20, 400),
                -(10 ** rng.randint(20, 80)),
                rng.uniform(-1e308, 1e308),
                float("nan"),
                float("inf"),
                "x" * rng.randint(0, 3000),
                "0x" + "00" * rng.randint(0, 70),
                "0x" + "zz" * 32,
                "commit",
                "reveal",
            ]
        )
    if roll < 0.7:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    return {rng.choice(["stage", "root", "rows", "epoch", "x", ""]): hostile_value(rng, depth + 1)
            for _ in range(rng.randint(0, 6))}  # fmt: skip


def hostile_object(rng: random.Random, keys: list[str]) -> dict:
    """An object with exactly the expected keys and hostile values (past the key check)."""
    return {k: hostile_value(rng, 1) for k in keys}


def hostile_bytes(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        return b"[" * rng.randint(1_000, 100_000)
    if roll < 0.2:
        n = rng.randint(1_000, 50_000)
        return b"[" * n + b"]" * n
    if roll < 0.35:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2_000)))
    try:
        return json.dumps(hostile_value(rng)).encode()
    except (ValueError, OverflowError):
        return b'{"a": NaN}'


def throw_at_decoders(rng: random.Random, n: int) -> tuple[Counter, Counter]:
    thrown, crashes = Counter(), Counter()
    targets = {
        "strict JSON": lambda: decode_json(hostile_bytes(rng)),
        "commit": lambda: wire.commitment_from_payload(_either(rng, "commit")),
        "reveal": lambda: wire.reveal_from_payload(_either(rng, "reveal")),
        "witnesses": lambda: wire.witnesses_from_payload(_either(rng, "witnesses")),
        "beacon": lambda: wire.beacon_from_wire(1, _either(rng, "beacon")),
        "bundle": lambda: Bundle.from_json(_either(rng, "bundle")),
        "proposal": lambda: _parse_proposal(hostile_bytes(rng), 5),
        "evidence check": lambda: check_evidence(rng),
    }
    names = sorted(targets)
    for i in range(n):
        name = names[i % len(names)]
        thrown[name] += 1
        try:
            targets[name]()
        except ValueError:
            pass  # refused, with its reason
        except Exception as exc:  # a crash: what this benchmark looks for
            crashes[f"{name}: {type(exc).__name__}"] += 1
    return thrown, crashes


def _either(rng: random.Random, kind: str):
    return hostile_object(rng, KEYS[kind]) if rng.random() < 0.5 else hostile_value(rng)


def hostile_node(seed: int) -> web.Application:
    """A node whose every answer is a random hostile body with a random status."""
    rng = random.Random(seed)

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        status = rng.choice([200, 200, 200, 400, 404, 500, 503])
        return web.Response(status=status, body=hostile_bytes(rng))

    app = web.Application()
    app.router.add_post("/compute/commit", answer)
    app.router.add_post("/compute/reveal", answer)
    return app


async def throw_at_challenge_stage(epochs: int, seed: int) -> dict:
    limits = Limits(timeout_s=1.0, max_response_bytes=1 << 20, attempts=3, backoff_s=0.05)
    bound_s = 60.0  # far past 3 tries x (2 requests x timeout + backoff)
    out = {"answers": 0, "crashes": Counter(), "stalls": 0, "honest_passed": 0, "epochs": epochs}
    with tempfile.TemporaryDirectory() as tmp:
        honest_key, hostile_key = Account.create(), Account.create()
        settings = Settings(node_key=bytes(honest_key.key), kind=NodeKind.COMPUTE,
                            chain_id=CHAIN_ID, data_dir=Path(tmp))  # fmt: skip
        runners = []
        urls = []
        for app in (create_app(settings, Honest()), hostile_node(seed)):
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        async with aiohttp.ClientSession() as http:
            for epoch in range(1, epochs + 1):

                def job(url, node, epoch=epoch):
                    return lambda: with_retries(
                        lambda: challenge_compute(
                            http, url, chain_id=CHAIN_ID, node=node, epoch=epoch,
                            epoch_seed=epoch.to_bytes(32, "big"), hw_class=0, gpu_count=1,
                            limits=limits, params=SMALL,
                        ),
                        limits,
                    )  # fmt: skip

                jobs = [job(urls[0], honest_key.address)]
                jobs += [job(urls[1], hostile_key.address) for _ in range(8)]
                try:
                    outcomes = await asyncio.wait_for(challenge_all(jobs, 9), bound_s)
                except TimeoutError:
                    out["stalls"] += 1
                    continue
                except Exception as exc:
                    out["crashes"][type(exc).__name__] += 1
                    continue
                honest = [o for o in outcomes if o.node == honest_key.address]
                out["honest_passed"] += sum(o.passed for o in honest)
                out["answers"] += sum(
                    len(o.responses) for o in outcomes if o.node != honest_key.address
                )
                print(f"  epoch {epoch}/{epochs}", file=sys.stderr, end="\r")
        print(file=sys.stderr)
        for runner in runners:
            await runner.cleanup()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=12_000, help="messages for the decoders")
    ap.add_argument("--epochs", type=int, default=30, help="epochs of the HTTP challenge stage")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    thrown, crashes = throw_at_decoders(random.Random(args.seed), args.inputs)
    stage = asyncio.run(throw_at_challenge_stage(args.epochs, args.seed))
    total = sum(thrown.values()) + stage["answers"]
    print("Hostile inputs at the oracle's boundaries")
    print(f"  {'decoder':16s} {'inputs':>8s}")
    for name in sorted(thrown):
        print(f"  {name:16s} {thrown[name]:>8,}")
    print(f"  decoder crashes: {sum(crashes.values())} {dict(crashes) or ''}")
    print(
        f"  challenge stage: {stage['epochs']} epochs, {stage['answers']:,} hostile answers "
        f"received, {sum(stage['crashes'].values())} crashes, {stage['stalls']} stalled epochs, "
        f"honest node passed {stage['honest_passed']}/{stage['epochs']}"
    )
    ok = (
        total >= 10_000
        and not crashes
        and not stage["crashes"]
        and stage["stalls"] == 0
        and stage["honest_passed"] == stage["epochs"]
    )
    print(
        f"Goal: >= 10,000 inputs, 0 crashes, 0 stalled epochs: {total:,} inputs, "
        f"{sum(crashes.values()) + sum(stage['crashes'].values())} crashes, {stage['stalls']} "
        f"stalled: {'MET' if ok else 'NOT MET'}"
    )
    print(f"Wall time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
