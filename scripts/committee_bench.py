"""`ape run committee_bench`: how long a committee round takes, by phase, for committees of
4 and 16 members (t = ceil(2n/3)), ECDSA and BLS, on this machine.

A fresh anvil, the suite, 12 honest node agents (8 compute, 4 storage with a lease each);
every member challenges the epoch, then the epoch's leader runs one round: gather the
members' bundles over HTTP, compute the report, collect the members' signatures (each member
recomputes the report from the bundles before it signs) and aggregate/check them. All members
run in this one process, so the members' recomputations, which run in parallel on separate
machines, run one after another here: the sign phase is an upper bound. The gas of the
report for each committee size is `make gas`'s (docs/gas.md)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from pathlib import Path

import aiohttp
import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand
from eth_account import Account

from oracle.agent import Honest
from oracle.protocol import bls
from oracle.protocol.hardware import NodeKind
from oracle.service.chain import Chain, Deployment, load_abis
from oracle.sim.committee import start_committee
from scripts._deploy import ROOT, TOKEN, deploy_suite, load_params
from scripts._simulation import Network, SimNode

SCHEMES = {"ecdsa": 0, "bls": 1}


def advance_to_epoch(suite, epoch: int) -> None:
    target = suite.market.epochStart(epoch) + 1
    if target > chain.pending_timestamp:
        chain.pending_timestamp = target
    chain.mine()


async def one_round(suite, deployer, members, threshold: int, scheme: str, tmp: Path) -> dict:
    addresses = sorted((m.address for m in members), key=lambda a: int(a, 16))
    suite.hub.setCommittee(addresses, threshold, SCHEMES[scheme], sender=deployer)
    tmp.mkdir(parents=True)
    committee = await start_committee(suite, members, tmp, chain.provider.uri, start_loops=False)
    try:
        epoch = suite.market.currentEpoch() + 1
        advance_to_epoch(suite, epoch)
        await asyncio.gather(
            *(m.service.challenge_epoch(epoch, committee.session) for m in committee.members)
        )
        advance_to_epoch(suite, epoch + 1)
        leader = committee.leader(epoch, 0)
        tx = await leader.lead(committee.session, epoch, 0)
        if tx is None:
            raise click.ClickException(f"n={len(members)} {scheme}: the round did not post")
        post = leader.posted[epoch]
        return {**post.timings, "total": post.round_s, "signers": len(post.signers)}
    finally:
        await committee.close()


async def run(sizes: list[int], say) -> list[dict]:
    deployer = accounts.test_accounts[0]
    params = load_params(ROOT / "config" / "local.toml")
    suite = deploy_suite(deployer, replace(params, guardian="deployer", treasury="deployer",
                                               governance_delay=None),
                         write=False, log=lambda *_: None)  # fmt: skip
    providers = [accounts.test_accounts[i] for i in (3, 4)]
    customer = accounts.test_accounts[10]
    for a in (*providers, customer):
        suite.token.transfer(a, 100_000 * TOKEN, sender=deployer)
    tmp = Path(tempfile.mkdtemp(prefix="plinth-committee-bench-"))
    net = Network(suite, deployer, tmp, say)
    nodes = [SimNode(f"c{i}", NodeKind.COMPUTE, Honest(), providers[i % 2]) for i in range(8)]
    nodes += [SimNode(f"s{i}", NodeKind.STORAGE, Honest(), providers[i % 2]) for i in range(4)]
    for n in nodes:
        await net.start(n)
        net.onboard(n)
    async with aiohttp.ClientSession() as http:
        for n in nodes[8:]:
            await net.lease_and_upload(http, customer, n, 64)
    say(f"# {len(nodes)} nodes (8 compute, 4 storage), one member per committee seat")
    rows = []
    keys = [Account.create() for _ in range(max(sizes))]
    for k in keys:
        deployer.transfer(k.address, 10**18)
    for scheme in ("ecdsa", "bls"):
        if scheme == "bls":
            view = Chain(chain.provider.uri, Deployment.from_record(suite.record), load_abis())
            for k in keys:
                view.receipt(view.register_bls_key(k, bls.derive_secret_key(bytes(k.key))))
        for n in sizes:
            t = -(-2 * n // 3)
            row = await one_round(suite, deployer, keys[:n], t, scheme, tmp / f"{scheme}-{n}")
            rows.append({"n": n, "t": t, "scheme": scheme, **row})
            say(f"# {_line(rows[-1])}")
    await net.stop()
    return rows


HEADER = (
    f"{'n':>3} {'t':>3} {'scheme':6} {'signers':>7} {'gather':>8} {'compute':>8} {'sign':>8} "
    f"{'aggregate':>9} {'total':>8}"
)


def _line(r: dict) -> str:
    return (
        f"{r['n']:>3} {r['t']:>3} {r['scheme']:6} {r['signers']:>7} {r['gather']:>7.3f}s "
        f"{r['compute']:>7.3f}s {r['sign']:>7.3f}s {r['aggregate']:>8.3f}s {r['total']:>7.3f}s"
    )


@click.command(cls=ConnectedProviderCommand)
@click.option("--sizes", default="4,16", show_default=True, help="committee sizes")
def cli(sizes):
    """Time a committee round, by phase, for each committee size and scheme."""
    if not chain.provider.network.is_local:
        raise click.ClickException("the benchmark moves the chain's clock: use a local network")
    ns = [int(x) for x in sizes.split(",")]
    if any(not 1 <= n <= 64 for n in ns):
        raise click.ClickException("committee sizes are 1..64")
    rows = asyncio.run(run(ns, lambda line: click.echo(line, err=True)))
    click.echo(HEADER)
    for r in rows:
        click.echo(_line(r))
