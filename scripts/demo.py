"""`make demo` / `ape run demo`: a local Plinth network settling real epochs.

On a fresh anvil: deploy the suite; three providers run 33 node agents (compute, storage,
wireless) on local ports, sharing one simulated radio medium; customers lease capacity and
upload data; a committee of oracle operators (5, threshold 3, in config/local.toml), each with
its own store, chain view and API server, challenges every node each epoch over HTTP and
verifies the signed answers; each epoch's leader gathers the members' signed observations,
computes the report, and posts it with the signatures of the members that recomputed it (ECDSA
or one BLS aggregate, the deployment's `oracle.scheme`). One member, the leader of the second
epoch, is stopped during that epoch: the next member takes over after the leader timeout.
Another member is hostile: its signed bundles invent a dozen timeouts for an honest node and
a dozen passes for the node that goes offline; the three honest members still settle every
epoch, and the lies change nothing in the report.
Slashes wait out the dispute window and execute; providers claim their rewards with the proofs
a member's API serves.

Among the nodes: lazy storage (keeps 30% of its chunks), a storage withholder (takes its
lease's data, signs the receipt the customer records on the chain, then answers every audit
404 "no data"), a CPU registered as an H100 (the
reference agent's honest code: its challenges are sized for an H100 and it gives up, late),
skipped work (computes half the rows), a spoofed location (sits next to wireless-0 and claims
an empty site 150 km away: every link it has contradicts its claim, so it earns nothing), a
phantom witness (no radio: it reports every beacon of the epoch, which anyone can name from the
seed, but cannot know the secret each carried on the air), a node that goes offline mid-run,
and a hostile node whose answers are attacks on the oracle (a 100,000-level nested body, huge
integers, garbage, error text that reads like an index, refusals). Time moves by anvil's clock
controls, so several epochs take well under a minute. The summary is printed and written to
demo-summary.json."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import aiohttp
import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand

from oracle.protocol.hardware import NodeKind, NodeStatus, SlashReason
from oracle.service.report import parse_results_file
from oracle.sim.behaviours import Honest, LazyStorage, SkipWork, WithholdStorage
from oracle.sim.committee import start_committee
from oracle.sim.hostile import HostileMember
from scripts._deploy import ROOT, TOKEN, deploy_suite, load_params
from scripts._simulation import Network, SimNode, at, fmt, short, test_account


def advance_to_epoch(suite, epoch: int) -> None:
    target = suite.market.epochStart(epoch) + 1
    if target > chain.pending_timestamp:
        chain.pending_timestamp = target
    chain.mine()


def layout(providers) -> list[SimNode]:
    """33 nodes: 12 compute, 10 storage, 11 wireless; eight of them dishonest."""
    p = lambda i: providers[i % len(providers)]  # noqa: E731
    nodes = [SimNode(f"compute-{i}", NodeKind.COMPUTE, Honest(), p(i)) for i in range(8)]
    nodes += [
        SimNode("compute-skip", NodeKind.COMPUTE, SkipWork(fraction=0.5), p(1)),
        # The reference agent itself, honest code on this machine's CPU, registered as an H100:
        # its challenges are sized for an H100, and it cannot finish one before the deadline.
        SimNode("compute-slow", NodeKind.COMPUTE, Honest(), p(2), hw_class=3),
        SimNode("compute-dropout", NodeKind.COMPUTE, Honest(), p(0)),
        SimNode("compute-hostile", NodeKind.COMPUTE, Honest(), p(2), hostile=True),
    ]
    nodes += [SimNode(f"storage-{i}", NodeKind.STORAGE, Honest(), p(i)) for i in range(8)]
    nodes.append(SimNode("storage-lazy", NodeKind.STORAGE, LazyStorage(fraction_kept=0.3), p(1)))
    # Takes its lease's data and signs the receipt (recorded on the chain), then answers every
    # audit 404 "no data for lease".
    nodes.append(SimNode("storage-withhold", NodeKind.STORAGE, WithholdStorage(), p(2)))
    grid = [at(1_500 * (i // 3), 1_500 * (i % 3)) for i in range(9)]
    nodes += [
        SimNode(f"wireless-{i}", NodeKind.WIRELESS, Honest(), p(i), claimed=pos, true_position=pos)
        for i, pos in enumerate(grid)
    ]
    spoof_true = at(50, 0)  # next to wireless-0, claiming an empty site 150 km south
    nodes.append(
        SimNode(
            "wireless-spoof",
            NodeKind.WIRELESS,
            Honest(),
            p(2),
            claimed=at(50 - 150_000, 0),
            true_position=spoof_true,
        )
    )
    # No radio at all: it claims a site among the others and reports every beacon it can name.
    nodes.append(
        SimNode(
            "wireless-phantom",
            NodeKind.WIRELESS,
            Honest(),
            p(1),
            claimed=at(750, 750),
            true_position=at(750, 750),
            phantom=True,
        )
    )
    return nodes


BEHAVIOUR = {
    "compute-skip": "skipped work",
    "compute-slow": "CPU claiming an H100",
    "compute-dropout": "offline mid-run",
    "compute-hostile": "hostile",
    "storage-lazy": "lazy storage",
    "storage-withhold": "storage withholder",
    "wireless-spoof": "spoofed location",
    "wireless-phantom": "phantom witness",
}


async def run(params, epochs: int, summary_path: Path, say, explore=None) -> dict:
    """The walk-through; `explore`, when given, is awaited once every epoch is settled and
    before the slashes execute, with the network still up: {"api_url", "suite", "nodes",
    "providers"} (the explorer is at api_url + "/explorer/")."""
    deployer = accounts.test_accounts[0]
    say("== 1. Deploy the suite")
    # The demo's anvil lives as long as the demo: its addresses go to the summary, never to
    # deployments/ (which would replace the record of a persistent chain).
    suite = deploy_suite(deployer, params, write=False, log=say)
    committee = sorted(
        (test_account(m) for m in params.committee), key=lambda a: int(a.address, 16)
    )
    providers = [accounts.test_accounts[i] for i in (3, 4, 5)]
    customers = [accounts.test_accounts[i] for i in (10, 11)]
    for a in (*providers, *customers):
        suite.token.transfer(a, 200_000 * TOKEN, sender=deployer)

    tmp = Path(tempfile.mkdtemp(prefix="plinth-demo-"))
    net = Network(suite, deployer, tmp, say, oracles=[a.address for a in committee])
    nodes = layout(providers)
    say(f"\n== 2. {len(nodes)} node agents start and their providers onboard them")
    for n in nodes:
        await net.start(n)
        net.onboard(n)
    for kind in NodeKind:
        group = [n for n in nodes if n.kind == kind]
        say(
            f"  {len(group):2d} {kind.name.lower():8s} nodes, "
            f"{sum(1 for n in group if n.name in BEHAVIOUR)} dishonest"
        )

    say("\n== 3. Customers lease capacity (storage customers upload their data)")
    async with aiohttp.ClientSession() as http:
        for i, n in enumerate(
            x
            for x in nodes
            if x.kind == NodeKind.STORAGE or x.name in ("compute-0", "compute-1", "wireless-0")
        ):
            await net.lease_and_upload(http, customers[i % 2], n, epochs + 1)
        say(f"  {len(net.leases)} leases open, escrow {fmt(suite.token.balanceOf(suite.market))}")
        committee_net = await start_committee(
            suite, committee, tmp, chain.provider.uri, member_class=lambda address: HostileMember
        )
        first_epoch = suite.market.currentEpoch() + 1
        stopped = committee_net.leader(first_epoch + 1, 0)
        # One live member lies in every bundle: timeouts for an honest node, passes for the one
        # that goes offline (a HostileMember without targets is an honest member).
        hostile = next(m for m in reversed(committee_net.members) if m is not stopped)
        hostile.victim = next(n for n in nodes if n.name == "compute-0").address.lower()
        hostile.offline = next(n for n in nodes if n.name == "compute-dropout").address.lower()
        say(
            f"\n== 4. A committee of {len(committee)} oracles (threshold {params.threshold}, "
            f"{committee_net.scheme.upper()}) settles {epochs} epochs; "
            f"{short(stopped.address)} stops during epoch {first_epoch + 1}, which it would lead; "
            f"{short(hostile.address)} lies in its bundles"
        )
        records = []
        for epoch in range(first_epoch, first_epoch + epochs):
            advance_to_epoch(suite, epoch)
            await committee_net.challenged(epoch)
            if epoch == first_epoch:  # offline from the next epoch on
                next(n for n in nodes if n.name == "compute-dropout").behaviour.go_offline()
            if epoch == first_epoch + 1:
                await committee_net.stop(stopped)
                say(f"  oracle {short(stopped.address)} stopped")
            advance_to_epoch(suite, epoch + 1)
            net.settle_leases()
            outcome = await committee_net.settled(epoch)
            receipt = chain.provider.get_receipt("0x" + outcome["tx"].hex())
            slashes = [
                {
                    "node": log.node,
                    "reason": SlashReason(log.reason).name.lower(),
                    "amount": log.amount,
                    "slash_id": log.slashId,
                }
                for log in receipt.decode_logs(suite.slashing.SlashQueued)
            ]
            header, lines = parse_results_file(outcome["results_file"])
            for line in lines:
                row = json.loads(line)
                node = next(n for n in nodes if n.address.lower() == row["node"])
                node.rewards += int(row["reward"])
                node.reasons.append(f"{epoch}:{row['reason']}")
            post = outcome["post"]
            records.append(
                {
                    "epoch": epoch,
                    "report_tx": "0x" + outcome["tx"].hex(),
                    "demand": suite.market.demandOf(epoch),
                    "emissions": header["total_rewards"],
                    "rewards_total": header["total_rewards"],
                    "slashes": slashes,
                    "challenges": outcome["challenges"],
                    "gas_used": receipt.gas_used,
                    "scheme": post.scheme,
                    "signers": list(post.signers),
                    "leader": outcome["leader"],
                    "attempt": outcome["attempt"],
                    "round_s": round(outcome["round_s"], 3),
                    "evidence": outcome["evidence"],
                }
            )
            say(
                f"  epoch {epoch}: {outcome['challenges']} challenges, demand "
                f"{fmt(records[-1]['demand'])}, minted {fmt(header['total_rewards'])}, "
                f"{len(slashes)} slash(es); leader {short(outcome['leader'])} (attempt "
                f"{outcome['attempt']}), {outcome['evidence']} signed answers re-verified, "
                f"{len(post.signers)} {post.scheme} signers, {receipt.gas_used:,} gas"
            )
        api_url = committee_net.api_url()
        if explore is not None:
            say(
                f"\n== The explorer: {api_url}/explorer/ (an oracle's API; the page reads the "
                f"chain at {chain.provider.uri} itself)"
            )
            await explore(
                {"api_url": api_url, "suite": suite, "nodes": nodes, "providers": providers}
            )

        say("\n== 5. Slashes execute after the dispute window (burn + treasury)")
        chain.pending_timestamp = chain.pending_timestamp + suite.slashing.disputeWindow() + 1
        chain.mine()
        for slash_id in range(1, suite.slashing.slashCount() + 1):
            if suite.slashing.getSlash(slash_id).status != 1:
                continue
            tx = suite.slashing.executeSlash(slash_id, sender=deployer)
            log = next(iter(tx.decode_logs(suite.slashing.SlashExecuted)))
            node = next(n for n in nodes if n.address == log.node)
            node.slashed += log.slashed
            say(f"  #{slash_id} {node.name:16s} {fmt(log.slashed)}")

        say("\n== 6. Providers claim with the proofs the oracle's API serves")
        claimed: dict[str, int] = {}
        for p in providers:
            async with http.get(f"{api_url}/claims/{p.address}") as resp:
                body = await resp.json()
            if resp.status != 200:
                say(f"  {short(p.address)}: {body.get('error')}")
                continue
            if int(body["amount"]) <= suite.distributor.claimedOf(p.address):
                say(f"  {short(p.address)} already claimed it all (from the explorer?)")
                continue
            before = suite.token.balanceOf(p)
            suite.distributor.claim(
                body["epoch"], p.address, int(body["amount"]), body["proof"], sender=p
            )
            claimed[p.address] = suite.token.balanceOf(p) - before
            say(
                f"  {short(p.address)} claimed {fmt(claimed[p.address])} "
                f"({len(body['proof'])}-hash proof)"
            )
    await committee_net.close()
    await net.stop()
    summary = summarize(suite, nodes, records, claimed)
    summary["committee"] = {
        "members": list(committee_net.addresses),
        "threshold": committee_net.threshold,
        "scheme": committee_net.scheme,
        "stopped": stopped.address,
        "hostile": hostile.address,
    }
    return summary


def summarize(suite, nodes: list[SimNode], records: list[dict], claimed: dict[str, int]) -> dict:
    out_nodes = []
    for n in nodes:
        owner_total = sum(m.rewards for m in nodes if m.owner.address == n.owner.address)
        share = claimed.get(n.owner.address, 0) * n.rewards // owner_total if owner_total else 0
        out_nodes.append(
            {
                "node": n.address,
                "name": n.name,
                "owner": n.owner.address,
                "kind": n.kind.name.lower(),
                "behaviour": BEHAVIOUR.get(n.name, "honest"),
                "status": NodeStatus(suite.registry.statusOf(n.address)).name.lower(),
                "rewards": n.rewards,
                "claimed": share,
                "slashed": n.slashed,
                "reasons": n.reasons,
            }
        )
    return {
        "chain_id": chain.chain_id,
        "contracts": suite.record["contracts"],
        "governance_delay": suite.record.get("governance_delay"),
        "epochs": records,
        "nodes": out_nodes,
    }


def print_summary(summary: dict, say) -> None:
    say("\n== Summary: epochs")
    say(f"  {'epoch':>5}  {'demand':>16}  {'emissions':>16}  {'leader':14s} signed  slashes")
    for e in summary["epochs"]:
        slashes = ", ".join(f"{s['reason']} {short(s['node'])}" for s in e["slashes"]) or "-"
        signed = f"{len(e['signers'])} {e['scheme']}"
        say(
            f"  {e['epoch']:>5}  {fmt(e['demand']):>16}  {fmt(e['emissions']):>16}  "
            f"{short(e['leader']):14s} {signed:7s} {slashes}"
        )
    say("\n== Summary: nodes")
    say(
        f"  {'name':16s} {'node':14s} {'behaviour':17s} {'status':8s} {'rewards':>16} "
        f"{'slashed':>14}"
    )
    for n in summary["nodes"]:
        say(
            f"  {n['name']:16s} {short(n['node']):14s} {n['behaviour']:17s} {n['status']:8s} "
            f"{fmt(n['rewards']):>16} {fmt(n['slashed']):>14}"
        )
    honest = [n for n in summary["nodes"] if n["behaviour"] == "honest"]
    cheats = [n for n in summary["nodes"] if n["behaviour"] != "honest"]
    ok_honest = sum(1 for n in honest if n["rewards"] > 0 and n["slashed"] == 0)
    ok_cheats = sum(1 for n in cheats if n["slashed"] > 0 or n["rewards"] == 0)
    say(
        f"\n  honest nodes rewarded and never slashed: {ok_honest}/{len(honest)}; "
        f"dishonest nodes slashed or unrewarded: {ok_cheats}/{len(cheats)}"
    )


def failed_checks(summary: dict, epochs: int) -> list[str]:
    """The demo's own end-of-run checks; empty when the run showed what it should."""
    failures = []
    if len(summary["epochs"]) != epochs:
        failures.append(f"{len(summary['epochs'])} of {epochs} epochs settled")
    for n in summary["nodes"]:
        if n["behaviour"] == "honest" and (n["rewards"] == 0 or n["slashed"] > 0):
            failures.append(
                f"honest node {n['name']} {'slashed' if n['slashed'] else 'unrewarded'}"
            )
        if n["behaviour"] != "honest" and n["rewards"] > 0 and n["slashed"] == 0:
            failures.append(f"{n['behaviour']} node {n['name']} rewarded and not slashed")
    return failures


async def _wait_for_enter(network: dict) -> None:
    def wait() -> None:
        with contextlib.suppress(EOFError):  # no terminal: nothing to wait for
            input(
                f"  Open {network['api_url']}/explorer/ in a browser; press Enter to go on "
                "(slashes execute, providers claim, the network stops). "
            )

    await asyncio.to_thread(wait)


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--params", "params_path", default=str(ROOT / "config" / "local.toml"), show_default=True
)
@click.option("--epochs", default=3, show_default=True, help="epochs to settle (at least 3)")
@click.option(
    "--summary", "summary_path", default=str(ROOT / "demo-summary.json"), show_default=True
)
@click.option(
    "--scheme",
    type=click.Choice(["ecdsa", "bls"]),
    default=None,
    help="how the committee signs (default: oracle.scheme of --params)",
)
@click.option(
    "--explore",
    is_flag=True,
    help="once the epochs are settled, keep the network up for the explorer until Enter",
)
def cli(params_path, epochs, summary_path, scheme, explore):
    """Run the local network and print what happened."""
    if not chain.provider.network.is_local:
        raise click.ClickException("the demo moves the chain's clock: run it on a local network")
    if epochs < 3:
        raise click.ClickException("--epochs must be at least 3")
    params = load_params(params_path)
    if scheme is not None:
        params = replace(params, scheme=scheme)
    summary = asyncio.run(
        run(params, epochs, Path(summary_path), click.echo, _wait_for_enter if explore else None)
    )
    print_summary(summary, click.echo)
    Path(summary_path).write_text(json.dumps(summary, indent=2))
    click.echo(f"\nSummary written to {os.path.relpath(summary_path)}")
    failures = failed_checks(summary, epochs)
    if failures:
        raise click.ClickException("the demo's checks failed: " + "; ".join(failures))
