"""A committee of oracle operators on one machine, for the demo, the tests and the benchmark:
each member is what `plinth-oracle run --config oracle.toml` starts (oracle.app.create_app, with
its own keystore, config, chain view, store, API server with the committee endpoints and
pipeline loop), and talks to the others over HTTP exactly as separate machines would."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_account import Account

from oracle.app import MEMBER, create_app
from oracle.committee.member import Member
from oracle.committee.rules import leader_of
from oracle.protocol.compute import Params
from oracle.service.config import load_settings


class LocalCommittee:
    def __init__(self, members: list[Member], runners: list[web.AppRunner], urls: dict[str, str]):
        self.members, self.runners, self.urls = members, runners, urls
        self.session = aiohttp.ClientSession()
        self.live = {m.address: m for m in members}
        self.chain = members[0].chain
        _, threshold, addresses = self.chain.committee()
        self.addresses, self.threshold = addresses, threshold
        self.scheme = self.chain.scheme()

    def leader(self, epoch: int, attempt: int) -> Member:
        address = leader_of(self.addresses, epoch, attempt)
        return next(m for m in self.members if m.address == address)

    async def stop(self, member: Member) -> None:
        """Stops a member for good: its app's cleanup ends its pipeline, API and store."""
        await self.runners[self.members.index(member)].cleanup()
        del self.live[member.address]

    async def challenged(self, epoch: int, timeout_s: float = 120.0) -> None:
        """Waits until every live member has challenged `epoch`."""

        def done(m: Member) -> bool:
            row = m.store.epoch(epoch)
            return row is not None and row["state"] != "scheduled"

        await self._until(lambda: all(done(m) for m in self.live.values()), timeout_s,
                          f"members to challenge epoch {epoch}")  # fmt: skip

    async def settled(self, epoch: int, timeout_s: float = 240.0) -> dict:
        """Waits until the hub settled `epoch` and every live member adopted its report;
        returns who posted it, how, and the report. On two loaded cores a round takes a few
        leader timeouts (each member's review re-verifies the evidence, all of them in this
        one process), the chain's clock moving the epochs on meanwhile; a timeout says where
        each member stands."""
        await self._until(
            lambda: all(
                m.store.report_for(epoch) is not None
                and m.store.epoch(epoch)["state"] == "confirmed"
                for m in self.live.values()
            ),
            timeout_s,
            f"epoch {epoch} to be settled and adopted",
            lambda: self._progress(epoch),
        )
        poster = next(m for m in self.members if epoch in m.posted)
        post = poster.posted[epoch]
        report = next(iter(self.live.values())).store.report_for(epoch)
        held = poster.proposals.get(epoch, {}).get(bytes(report["digest"]))
        return {
            "tx": post.tx,
            "post": post,
            # evidence objects the round needed (the node's signed answers behind the claims
            # about disputed nodes), each re-verified by every signer
            "evidence": len(held[1]) if held else 0,
            "leader": poster.address,
            "attempt": post.attempt,
            "round_s": post.round_s,
            "results_file": report["results_file"],
            # every member's challenges that went into the report
            "challenges": sum(
                json.loads(line)["asked"] for line in report["results_file"].split(b"\n")[1:-1]
            ),
        }

    async def _until(self, predicate, timeout_s: float, what: str, progress=None) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                where = f"; {await asyncio.to_thread(progress)}" if progress else ""
                raise TimeoutError(f"waited {timeout_s:.0f} s for {what}{where}")
            await asyncio.sleep(0.1)

    def _progress(self, epoch: int) -> str:
        """Where the round of `epoch` stands, for a timeout's message: the hub's next epoch,
        then each live member's state of the epoch, the attempts it led and its counters."""
        parts = [f"the hub's next epoch is {self.chain.next_report_epoch()}"]
        counters = ("proposals_signed", "proposals_signed_again", "proposals_refused",
                    "rounds_without_quorum", "rounds_skipped_behind", "loop_errors")  # fmt: skip
        for m in self.live.values():
            row = m.store.epoch(epoch)
            led = sorted(a for e, a in m.led if e == epoch)
            counts = ", ".join(f"{c} {m.metrics[c]:g}" for c in counters if m.metrics.get(c))
            parts.append(
                f"{m.address[:10]}: {row['state'] if row else 'unseen'}, "
                f"report {'held' if m.store.report_for(epoch) else 'not held'}, led {led}"
                + (f", {counts}" if counts else "")
            )
        return "; ".join(parts)

    def api_url(self) -> str:
        return self.urls[next(iter(self.live))]

    async def close(self) -> None:
        for m, r in zip(self.members, self.runners, strict=True):
            if m.address in self.live:
                await r.cleanup()
        await self.session.close()


# A local network's compute challenges: 10 ms of the claimed class's work per device (a CPU
# node's challenge is 96 rows of 1024), so honest CPU nodes finish in milliseconds and a CPU
# claiming a GPU class still needs tens of seconds for its challenge (it gives up, late).
LOCAL_COMPUTE = Params(device_s=0.01)
PASSWORD = "local-committee"  # the local members' keystores (test keys, never real ones)


async def start_committee(
    suite,
    accounts,
    tmp: Path,
    rpc_url: str,
    *,
    compute: Params = LOCAL_COMPUTE,
    leader_timeout_s: float = 20.0,
    start_loops: bool = True,
    spacing_s: float = 0.0,
    member_class: Callable[[str], type[Member]] = lambda address: Member,
) -> LocalCommittee:
    """Starts one oracle per account (Ape test accounts or eth-account keys) on `suite` the way
    an operator does: an encrypted keystore, an oracle.toml naming the other members as peers,
    then `oracle.app.create_app(load_settings(...))` served on its own port. `member_class`
    (address) is the class each member runs (the demo's hostile member); with `start_loops`
    False the pipeline passes are left to the caller."""
    keys = [Account.from_key(getattr(a, "private_key", None) or a.key) for a in accounts]
    deployment = tmp / "deployment.json"
    deployment.write_text(json.dumps(suite.record))
    ports = [free_port() for _ in keys]
    urls = {k.address: f"http://127.0.0.1:{port}" for k, port in zip(keys, ports, strict=True)}
    members, runners = [], []
    for i, (key, port) in enumerate(zip(keys, ports, strict=True)):
        home = tmp / f"oracle-{i}"
        home.mkdir(parents=True, exist_ok=True)
        keystore = Account.encrypt(key.key, PASSWORD, kdf="pbkdf2", iterations=16)
        (home / "keystore.json").write_text(json.dumps(keystore))
        (home / "password").write_text(PASSWORD)
        peers = "\n".join(f'"{a}" = "{u}"' for a, u in urls.items() if a != key.address)
        (home / "oracle.toml").write_text(
            ORACLE_TOML.format(
                rpc_url=rpc_url, deployment=deployment, port=port, device_s=compute.device_s,
                max_n=compute.max_n,
                leader_timeout_s=leader_timeout_s, spacing_s=spacing_s, peers=peers,
            )
        )  # fmt: skip
        app = create_app(
            load_settings(home / "oracle.toml"),
            member_class=member_class(key.address),
            run_pipeline=start_loops,
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        members.append(app[MEMBER])
        runners.append(runner)
    # One process, one CPU for all of them: each member's round work waits for every member's
    # challenge sweep, as it waits for its own on a machine of its own (a round's evidence
    # checks would otherwise delay the answers the other members are timing).
    for m in members:
        m.service.co_located = tuple(o.service for o in members if o is not m)
    return LocalCommittee(members, runners, urls)


# One member's oracle.toml: what an operator writes (README, "Running an oracle"), with the
# local network's short timeouts. Every radio beacons each epoch, so every link is tested both
# ways.
ORACLE_TOML = """
[chain]
rpc_url = "{rpc_url}"
deployment = "{deployment}"
poll_interval_s = 0.2

[operator]
keystore = "keystore.json"
password_file = "password"

[store]
path = "oracle.sqlite"

[api]
host = "127.0.0.1"
port = {port}

[challenges]
concurrency = 16
compute_device_s = {device_s}
compute_max_n = {max_n}
beacon_fraction = 1.0
beacon_reveal_after_s = 4.0
recheck_after_s = 2.0

[committee]
leader_timeout_s = {leader_timeout_s}
spacing_s = {spacing_s}

[committee.peers]
{peers}
"""


def free_port() -> int:
    """A local TCP port free at the time of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
