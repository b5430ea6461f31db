"""`make demo` / `ape run demo`: the on-chain walk-through on a fresh local anvil.

Deploys the suite, registers and stakes nodes of each kind for three providers, opens paid
leases (compute, storage with a real data root, wireless), settles three epochs with reports
signed by a local committee of test keys (3 of 4), claims rewards, executes one slash and
defeats another with an on-chain storage dispute, then prints a summary and writes
demo-summary.json. Time moves by anvil's clock controls, so the walk-through takes seconds.

Until the oracle service exists (issue 3), the committee's scoring here is a fixed rule:
each eligible node earns the epoch budget in proportion to its kind's weight. Everything
else — budgets, demand, signatures, proofs, slashes — is the contracts' real behaviour."""

from __future__ import annotations

import json
import os
import secrets

import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand

from oracle.eip712 import SlashRequest
from oracle.merkle import CHUNK_SIZE, ChunkTree, split_chunks
from scripts._deploy import ROOT, TOKEN, deploy_suite, load_params
from scripts._walkthrough import Walkthrough, fmt


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--params", "params_path", default=str(ROOT / "config" / "local.toml"), show_default=True
)
@click.option("--epochs", default=3, show_default=True, help="epochs to settle (at least 3)")
@click.option(
    "--summary", "summary_path", default=str(ROOT / "demo-summary.json"), show_default=True
)
def cli(params_path, epochs, summary_path):
    """Run the local walk-through and print what happened."""
    if not chain.provider.network.is_local:
        raise click.ClickException("the demo moves the chain's clock: run it on a local network")
    if epochs < 3:
        raise click.ClickException("--epochs must be at least 3")
    params = load_params(params_path)
    deployer = accounts.test_accounts[0]
    say = click.echo

    say("== 1. Deploy the suite")
    suite = deploy_suite(deployer, params, log=say)
    w = Walkthrough(suite, deployer, say)

    say("\n== 2. Providers register, stake and price their nodes")
    providers = [accounts.test_accounts[i] for i in (3, 4, 5)]
    for p in providers:
        w.fund(p, 60_000)
    nodes = []
    for i, p in enumerate(providers):
        nodes.append(w.add_node(p, "compute", behaviour="honest" if i != 1 else "faulty compute"))
        nodes.append(w.add_node(p, "storage", behaviour="honest"))
        nodes.append(w.add_node(p, "wireless", behaviour="honest"))

    say("\n== 3. Customers open leases (escrowed, starting next epoch)")
    customers = [accounts.test_accounts[i] for i in (10, 11)]
    for c in customers:
        w.fund(c, 50_000)
    data = secrets.token_bytes(20 * CHUNK_SIZE + 123)
    tree = ChunkTree.from_data(data)
    storage_node = next(n for n in nodes if n.kind == "storage")
    storage_lease = w.lease(customers[0], storage_node, epochs=epochs, data=data)
    w.lease(customers[0], nodes[0], epochs=epochs)
    w.lease(customers[1], nodes[3], epochs=2)
    w.lease(customers[1], next(n for n in nodes if n.kind == "wireless"), epochs=epochs)

    say(
        f"\n== 4. {epochs} epochs settled by the committee "
        f"({params.threshold} of {len(params.committee)})"
    )
    committee = w.committee(params.committee)
    first = suite.market.currentEpoch() + 1
    faulty = next(n for n in nodes if n.behaviour == "faulty compute")
    for epoch in range(first, first + epochs):
        w.settle_leases()
        slashes = ()
        if epoch == first:
            # The faulty compute node returned a wrong row: slashed, executed after the window.
            slashes = (SlashRequest(faulty.address, 1, evidence=b"\x01" * 32),)
        elif epoch == first + 1:
            # A false storage accusation: the node will prove it holds chunk 7.
            slashes = (
                SlashRequest(
                    storage_node.address,
                    3,
                    lease_id=storage_lease,
                    chunk_index=7,
                    evidence=b"\x03" * 32,
                ),
            )
        w.settle_epoch(epoch, committee, slashes)

    say("\n== 5. Slashes: one executed after its dispute window, one disputed with a Merkle proof")
    chunk = split_chunks(data)[7]
    for slash_id in range(1, suite.slashing.slashCount() + 1):
        s = suite.slashing.getSlash(slash_id)
        if s.reason == 3:
            w.dispute(slash_id, storage_node, chunk, tree.proof(7))
    w.advance(suite.slashing.disputeWindow() + 1)
    for slash_id in range(1, suite.slashing.slashCount() + 1):
        if suite.slashing.getSlash(slash_id).status == 1:
            w.execute_slash(slash_id)

    say("\n== 6. Providers claim their rewards (one proof each, everything owed)")
    for p in providers:
        w.claim(p)

    say("\n== 7. A provider unbonds part of its stake and withdraws after the delay")
    w.unbond_and_withdraw(providers[0], nodes[2], 500 * TOKEN)

    w.print_summary()
    summary = w.summary()
    with open(summary_path, "w") as fh:
        json.dump(summary, fh, indent=2)
    say(f"\nSummary written to {os.path.relpath(summary_path)}")
    say(
        f"Total demand {fmt(sum(e['demand'] for e in summary['epochs']))}, "
        f"emissions {fmt(sum(e['emissions'] for e in summary['epochs']))}, "
        f"slashed {fmt(sum(n['slashed'] for n in summary['nodes']))}."
    )
