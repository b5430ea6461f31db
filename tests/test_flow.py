"""One epoch of the protocol end to end on-chain: node, lease, demand, report, claim, slash."""

import ape
from plinth_testlib import (
    COMPUTE,
    REGION,
    active_node,
    advance_seconds,
    advance_to_epoch,
    fund,
    make_report,
    submit,
)

from oracle.protocol.eip712 import SlashRequest
from scripts._deploy import TOKEN


def test_epoch_settles_with_demand_rewards_and_a_slash(
    suite, deployer, provider, customer, oracles, outsider
):
    node = active_node(suite, deployer, provider, COMPUTE)
    price = 1_000 * TOKEN
    suite.market.setPrice(node.address, price, sender=provider)
    fund(suite, deployer, customer, 10_000)
    suite.token.approve(suite.market.address, 3 * price, sender=customer)
    start = suite.market.currentEpoch()
    suite.market.openLease(node.address, REGION, 3, price, b"\x00" * 32, 0, sender=customer)
    lease_epoch = start + 1

    advance_to_epoch(suite, lease_epoch + 1)
    assert suite.market.demandOf(lease_epoch) == price

    # The committee reports every epoch up to the leased one; the leased one carries the demand.
    budget = suite.emissions.budgetOf(lease_epoch)
    assert (
        budget
        == suite.emissions.floorOf(lease_epoch) + price * suite.emissions.kappaWad() // 10**18
    )
    report, tree = make_report(
        suite,
        lease_epoch,
        {provider.address: budget},
        slashes=(SlashRequest(node.address, 2, evidence=b"\x07" * 32),),
    )
    tx = submit(suite, report, oracles[:3], sender=oracles[0])
    assert tx.gas_used < 2**24
    assert suite.hub.nextEpoch() == lease_epoch + 1
    assert suite.token.balanceOf(suite.distributor.address) == budget

    before = suite.token.balanceOf(provider)
    suite.distributor.claim(
        lease_epoch, provider.address, budget, tree.proof(provider.address), sender=outsider
    )
    assert suite.token.balanceOf(provider) - before == budget
    with ape.reverts(suite.distributor.NothingToClaim):
        suite.distributor.claim(
            lease_epoch, provider.address, budget, tree.proof(provider.address), sender=provider
        )

    # Slash: 2% (missed deadline) of the slashable stake, after the dispute window.
    slash = suite.slashing.getSlash(1)
    stake = suite.vault.slashableOf(node.address)
    assert slash.amount == stake * suite.slashing.penaltyBps(2) // 10_000
    with ape.reverts(suite.slashing.DisputeWindowOpen):
        suite.slashing.executeSlash(1, sender=outsider)
    advance_seconds(suite.slashing.disputeWindow())
    supply = suite.token.totalSupply()
    suite.slashing.executeSlash(1, sender=outsider)
    assert suite.vault.slashableOf(node.address) == stake - slash.amount
    assert supply - suite.token.totalSupply() == slash.amount // 2
