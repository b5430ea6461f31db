"""RewardsDistributor: Python rewards trees verified on-chain, cumulative claims over epochs,
the two-root ring, the hub-only publish, and the pause."""

import random

import ape
import pytest
from ape import chain, project
from eth_utils import to_checksum_address
from plinth_testlib import advance_to_epoch, make_report, submit

from oracle.protocol.merkle import RewardsTree, rewards_leaf
from scripts._deploy import TOKEN

ZERO_ROOT = b"\x00" * 32


@pytest.fixture
def hub(suite, accounts):
    """The oracle hub's address as a sender (anvil impersonation), with gas money."""
    account = accounts[suite.hub.address]
    chain.set_balance(account.address, 10**20)
    return account


def random_amounts(n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    return {
        to_checksum_address(rng.randbytes(20)): rng.randrange(1, 1_000 * TOKEN) for _ in range(n)
    }


def publish(suite, hub, deployer, epoch: int, cumulative: dict[str, int]) -> RewardsTree:
    """Publishes the tree of `cumulative` for `epoch` as the hub would, and funds the
    distributor with the epoch's new rewards (the emissions controller's mint, from the
    genesis holder here)."""
    tree = RewardsTree(cumulative)
    new = sum(tree.amounts.values()) - suite.distributor.totalPublished()
    suite.distributor.publish(epoch, tree.root, new, sender=hub)
    if new:
        suite.token.transfer(suite.distributor.address, new, sender=deployer)
    return tree


def claim(suite, tree: RewardsTree, epoch: int, account: str, sender, amount: int | None = None):
    amount = tree.amounts[account] if amount is None else amount
    return suite.distributor.claim(epoch, account, amount, tree.proof(account), sender=sender)


# ---------------------------------------------------------------- leaves and proofs


def test_leafOf_equals_python_rewards_leaf_when_random_inputs(suite):
    rng = random.Random(2024)
    cases = [(to_checksum_address(rng.randbytes(20)), rng.randrange(2**256)) for _ in range(20)]
    cases += [
        ("0x" + "00" * 20, 0),
        ("0x" + "ff" * 20, 2**256 - 1),
        (to_checksum_address(rng.randbytes(20)), 1),
        (to_checksum_address(rng.randbytes(20)), 10**18),
    ]
    for account, amount in cases:
        assert suite.distributor.leafOf(account, amount) == rewards_leaf(account, amount), (
            account,
            amount,
        )


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100])
def test_claim_pays_every_account_when_tree_has_n_accounts(suite, hub, deployer, outsider, n):
    amounts = random_amounts(n, seed=n)
    epoch = 5
    tree = publish(suite, hub, deployer, epoch, amounts)
    assert suite.distributor.rootOf(epoch) == tree.sealed_root
    for account, amount in amounts.items():
        tx = claim(suite, tree, epoch, account, sender=outsider)
        assert tx.gas_used < 2**24
        assert suite.token.balanceOf(account) == amount
        assert suite.distributor.claimedOf(account) == amount
    assert suite.token.balanceOf(suite.distributor.address) == 0
    assert suite.token.balanceOf(outsider) == 0


def test_claim_emits_claimed_and_pays_account_not_caller_when_triggered_by_anyone(
    suite, hub, deployer, provider, outsider
):
    tree = publish(
        suite, hub, deployer, 3, {provider.address: 40 * TOKEN, outsider.address: 2 * TOKEN}
    )
    before_provider, before_outsider = (
        suite.token.balanceOf(provider),
        suite.token.balanceOf(outsider),
    )
    tx = claim(suite, tree, 3, provider.address, sender=outsider)
    assert suite.token.balanceOf(provider) - before_provider == 40 * TOKEN
    assert suite.token.balanceOf(outsider) == before_outsider
    claimed = [e for e in tx.events if e.event_name == "Claimed"]
    assert len(claimed) == 1
    assert claimed[0].account == provider.address
    assert claimed[0].epoch == 3
    assert claimed[0].amount == 40 * TOKEN
    assert claimed[0].cumulativeAmount == 40 * TOKEN


# ---------------------------------------------------------------- cumulative claims


def test_claim_pays_only_the_difference_when_claimed_again_after_later_epochs(
    suite, deployer, provider, provider2, outsider, oracles
):
    """Three epochs settled through signed reports: the real mint, publish and claim path."""
    e1 = suite.hub.nextEpoch()
    schedule = [
        {provider.address: 100 * TOKEN, provider2.address: 10 * TOKEN},
        {provider.address: 250 * TOKEN, provider2.address: 30 * TOKEN},
        {provider.address: 400 * TOKEN, provider2.address: 45 * TOKEN, outsider.address: 5 * TOKEN},
    ]
    trees = []
    for i, cumulative in enumerate(schedule):
        epoch = e1 + i
        advance_to_epoch(suite, epoch + 1)
        report, tree = make_report(suite, epoch, cumulative)
        submit(suite, report, oracles[:3], sender=oracles[0])
        trees.append(tree)
        if i == 0:
            before = suite.token.balanceOf(provider)
            claim(suite, tree, e1, provider.address, sender=outsider)
            assert suite.token.balanceOf(provider) - before == 100 * TOKEN
    e2, e3 = e1 + 1, e1 + 2
    assert suite.distributor.latestEpoch() == e3
    assert suite.distributor.totalPublished() == 450 * TOKEN
    assert suite.token.balanceOf(suite.distributor.address) == 350 * TOKEN

    # The root of epoch 1 has left the ring; the previous one (epoch 2) is still claimable.
    assert suite.distributor.rootOf(e1) == ZERO_ROOT
    with ape.reverts(suite.distributor.RootUnavailable, epoch=e1, latestEpoch=e3):
        claim(suite, trees[0], e1, provider2.address, sender=provider2)
    before = suite.token.balanceOf(provider2)
    claim(suite, trees[1], e2, provider2.address, sender=provider2)
    assert suite.token.balanceOf(provider2) - before == 30 * TOKEN

    # Epoch 3 pays only what was earned since each account's last claim.
    before = suite.token.balanceOf(provider)
    tx = claim(suite, trees[2], e3, provider.address, sender=outsider)
    assert suite.token.balanceOf(provider) - before == 300 * TOKEN
    assert [e.amount for e in tx.events if e.event_name == "Claimed"] == [300 * TOKEN]
    before = suite.token.balanceOf(provider2)
    claim(suite, trees[2], e3, provider2.address, sender=provider2)
    assert suite.token.balanceOf(provider2) - before == 15 * TOKEN
    claim(suite, trees[2], e3, outsider.address, sender=outsider)

    # Claiming again, against either available root, pays nothing more.
    with ape.reverts(
        suite.distributor.NothingToClaim,
        account=provider.address,
        cumulativeAmount=400 * TOKEN,
        claimed=400 * TOKEN,
    ):
        claim(suite, trees[2], e3, provider.address, sender=provider)
    with ape.reverts(
        suite.distributor.NothingToClaim,
        account=provider.address,
        cumulativeAmount=250 * TOKEN,
        claimed=400 * TOKEN,
    ):
        claim(suite, trees[1], e2, provider.address, sender=provider)
    assert suite.token.balanceOf(suite.distributor.address) == 0


def test_claim_against_previous_root_then_latest_pays_the_rest_when_both_in_ring(
    suite, hub, deployer, provider
):
    t1 = publish(suite, hub, deployer, 1, {provider.address: 7})
    t2 = publish(suite, hub, deployer, 2, {provider.address: 19})
    before = suite.token.balanceOf(provider)
    claim(suite, t1, 1, provider.address, sender=provider)
    claim(suite, t2, 2, provider.address, sender=provider)
    assert suite.token.balanceOf(provider) - before == 19
    assert suite.distributor.claimedOf(provider) == 19


def test_ring_keeps_exactly_the_two_latest_roots_when_many_epochs_published(
    suite, hub, deployer, provider
):
    trees = {}
    for i, epoch in enumerate([2, 3, 7, 8, 20]):
        trees[epoch] = publish(suite, hub, deployer, epoch, {provider.address: 10 * (i + 1)})
        assert suite.distributor.latestEpoch() == epoch
        assert suite.distributor.rootOf(epoch) == trees[epoch].sealed_root
        live = sorted(trees)[-2:]
        for e in trees:
            expected = trees[e].sealed_root if e in live else ZERO_ROOT
            assert suite.distributor.rootOf(e) == expected, (epoch, e)
    assert suite.distributor.totalPublished() == 50


# ---------------------------------------------------------------- claim errors


def test_claim_reverts_when_amount_wrong(suite, hub, deployer):
    amounts = random_amounts(7, seed=11)
    tree = publish(suite, hub, deployer, 1, amounts)
    account = next(iter(amounts))
    for wrong in (amounts[account] + 1, amounts[account] - 1):
        with ape.reverts(suite.distributor.InvalidProof, account=account, cumulativeAmount=wrong):
            claim(suite, tree, 1, account, sender=deployer, amount=wrong)


def test_claim_reverts_when_proof_used_for_another_account(suite, hub, deployer):
    amounts = random_amounts(7, seed=12)
    tree = publish(suite, hub, deployer, 1, amounts)
    a, b = list(amounts)[:2]
    with ape.reverts(suite.distributor.InvalidProof, account=b, cumulativeAmount=amounts[a]):
        suite.distributor.claim(1, b, amounts[a], tree.proof(a), sender=deployer)


def test_claim_reverts_when_proof_from_another_tree(suite, hub, deployer):
    amounts = random_amounts(7, seed=13)
    publish(suite, hub, deployer, 1, amounts)
    account = next(iter(amounts))
    # The same account and amount among other accounts: a valid proof, of another root.
    other = RewardsTree({**random_amounts(6, seed=14), account: amounts[account]})
    with ape.reverts(
        suite.distributor.InvalidProof, account=account, cumulativeAmount=amounts[account]
    ):
        suite.distributor.claim(1, account, amounts[account], other.proof(account), sender=deployer)


def test_claim_reverts_when_proof_empty_for_multi_account_tree(suite, hub, deployer):
    amounts = random_amounts(3, seed=15)
    publish(suite, hub, deployer, 1, amounts)
    account = next(iter(amounts))
    with ape.reverts(suite.distributor.InvalidProof):
        suite.distributor.claim(1, account, amounts[account], [], sender=deployer)


def test_claim_reverts_when_already_claimed_in_full(suite, hub, deployer, provider):
    tree = publish(suite, hub, deployer, 1, {provider.address: 5 * TOKEN})
    claim(suite, tree, 1, provider.address, sender=provider)
    with ape.reverts(
        suite.distributor.NothingToClaim,
        account=provider.address,
        cumulativeAmount=5 * TOKEN,
        claimed=5 * TOKEN,
    ):
        claim(suite, tree, 1, provider.address, sender=provider)


def test_claim_reverts_when_cumulative_amount_zero(suite, hub, deployer, provider, outsider):
    tree = publish(suite, hub, deployer, 1, {provider.address: 5, outsider.address: 0})
    with ape.reverts(
        suite.distributor.NothingToClaim, account=outsider.address, cumulativeAmount=0, claimed=0
    ):
        claim(suite, tree, 1, outsider.address, sender=outsider)


def test_claim_reverts_when_later_root_lowers_cumulative_amount(suite, hub, deployer, provider):
    t1 = publish(suite, hub, deployer, 1, {provider.address: 100})
    claim(suite, t1, 1, provider.address, sender=provider)
    # A (faulty) later root with a lower cumulative amount can never claw back or pay twice.
    t2 = RewardsTree({provider.address: 60, deployer.address: 40})
    suite.distributor.publish(2, t2.root, 0, sender=hub)
    with ape.reverts(
        suite.distributor.NothingToClaim, account=provider.address, cumulativeAmount=60, claimed=100
    ):
        claim(suite, t2, 2, provider.address, sender=provider)


def test_claim_reverts_when_no_root_for_epoch(suite, hub, deployer, provider):
    with ape.reverts(suite.distributor.RootUnavailable, epoch=1, latestEpoch=0):
        suite.distributor.claim(1, provider.address, 1, [], sender=provider)
    tree = publish(suite, hub, deployer, 4, {provider.address: 1})
    with ape.reverts(suite.distributor.RootUnavailable, epoch=5, latestEpoch=4):
        claim(suite, tree, 5, provider.address, sender=provider)
    with ape.reverts(suite.distributor.RootUnavailable, epoch=3, latestEpoch=4):
        claim(suite, tree, 3, provider.address, sender=provider)


def test_claim_reverts_when_paused_and_succeeds_after_unpause(
    suite, hub, deployer, guardian, provider
):
    tree = publish(suite, hub, deployer, 1, {provider.address: 3 * TOKEN})
    suite.distributor.pause(sender=guardian)
    with ape.reverts(suite.distributor.EnforcedPause):
        claim(suite, tree, 1, provider.address, sender=provider)
    with ape.reverts(suite.distributor.OwnableUnauthorizedAccount, account=guardian.address):
        suite.distributor.unpause(sender=guardian)
    suite.distributor.unpause(sender=deployer)
    before = suite.token.balanceOf(provider)
    claim(suite, tree, 1, provider.address, sender=provider)
    assert suite.token.balanceOf(provider) - before == 3 * TOKEN


def test_pause_reverts_when_caller_not_guardian_or_owner(suite, outsider):
    with ape.reverts(suite.distributor.NotGuardian, caller=outsider.address):
        suite.distributor.pause(sender=outsider)


# ---------------------------------------------------------------- publish


def test_publish_reverts_when_caller_not_hub(suite, deployer, outsider, provider):
    root = RewardsTree({provider.address: 1}).root
    for caller in (deployer, outsider):
        with ape.reverts(suite.distributor.Unauthorized, caller=caller.address):
            suite.distributor.publish(1, root, 1, sender=caller)


def test_publish_records_root_when_called_by_hub(suite, hub, provider):
    tree = RewardsTree({provider.address: 9})
    suite.distributor.publish(6, tree.root, 9, sender=hub)
    # Stored sealed with the total published: sealRoot(top, 9).
    assert (
        suite.distributor.rootOf(6) == tree.sealed_root == suite.distributor.sealRoot(tree.root, 9)
    )
    assert suite.distributor.latestEpoch() == 6
    assert suite.distributor.totalPublished() == 9


def test_publish_reverts_when_root_zero(suite, hub):
    with ape.reverts(suite.distributor.InvalidRoot):
        suite.distributor.publish(1, ZERO_ROOT, 0, sender=hub)


def test_publish_reverts_when_epoch_not_increasing(suite, hub, provider):
    root = RewardsTree({provider.address: 1}).root
    suite.distributor.publish(4, root, 1, sender=hub)
    with ape.reverts(suite.distributor.EpochNotIncreasing, epoch=4, latestEpoch=4):
        suite.distributor.publish(4, root, 0, sender=hub)
    with ape.reverts(suite.distributor.EpochNotIncreasing, epoch=3, latestEpoch=4):
        suite.distributor.publish(3, root, 0, sender=hub)
    suite.distributor.publish(5, root, 0, sender=hub)
    with ape.reverts(suite.distributor.EpochNotIncreasing, epoch=4, latestEpoch=5):
        suite.distributor.publish(4, root, 0, sender=hub)


def test_publish_accepts_epoch_zero_when_first_root(suite, hub, deployer, provider):
    tree = publish(suite, hub, deployer, 0, {provider.address: 8})
    assert suite.distributor.rootOf(0) == tree.sealed_root
    with ape.reverts(suite.distributor.EpochNotIncreasing, epoch=0, latestEpoch=0):
        suite.distributor.publish(0, tree.root, 0, sender=hub)
    claim(suite, tree, 0, provider.address, sender=provider)


def test_submitReport_reverts_with_invalid_root_when_rewards_without_root(suite, deployer, oracles):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch, {}, total=1)
    with ape.reverts(suite.distributor.InvalidRoot):
        submit(suite, report, oracles[:3], sender=oracles[0])


def test_setOracleHub_reverts_when_already_set(suite, deployer, outsider):
    with ape.reverts(suite.distributor.AlreadySet, current=suite.hub.address):
        suite.distributor.setOracleHub(outsider, sender=deployer)


def test_setOracleHub_reverts_when_zero_or_not_owner(suite, deployer, guardian, outsider):
    fresh = deployer.deploy(project.RewardsDistributor, deployer, guardian, suite.token)
    with ape.reverts(fresh.ZeroAddress):
        fresh.setOracleHub(ape.utils.ZERO_ADDRESS, sender=deployer)
    with ape.reverts(fresh.OwnableUnauthorizedAccount, account=outsider.address):
        fresh.setOracleHub(outsider, sender=outsider)
    fresh.setOracleHub(outsider, sender=deployer)
    assert fresh.oracleHub() == outsider.address


def test_claim_reverts_InvalidProof_when_the_root_assigns_more_than_was_published(
    suite, hub, deployer, provider, provider2
):
    """L-2: a root whose leaves add up to more than was published let the first claimer take
    tokens owed to others. Its sum is sealed into the stored root: no proof verifies."""
    honest = RewardsTree({provider.address: 50 * TOKEN, provider2.address: 50 * TOKEN})
    over = RewardsTree({provider.address: 100 * TOKEN, provider2.address: 50 * TOKEN})
    suite.distributor.publish(1, over.root, 100 * TOKEN, sender=hub)  # 150 assigned, 100 minted
    suite.token.transfer(suite.distributor.address, 100 * TOKEN, sender=deployer)
    for account in (provider, provider2):
        amount = over.amounts[account.address]
        with ape.reverts(suite.distributor.InvalidProof, account=account.address,
                         cumulativeAmount=amount):  # fmt: skip
            claim(suite, over, 1, account.address, sender=account)
    # A sibling sum lowered to make the tree look like it adds up: the hashes above break.
    forged = list(over.proof(provider.address))
    forged[1] = (50 * TOKEN - 50 * TOKEN).to_bytes(32, "big")
    with ape.reverts(suite.distributor.InvalidProof):
        suite.distributor.claim(1, provider.address, 100 * TOKEN, forged, sender=provider)
    # The honest tree of the same total pays both.
    suite.distributor.publish(2, honest.root, 0, sender=hub)
    for account in (provider, provider2):
        claim(suite, honest, 2, account.address, sender=account)
        assert suite.token.balanceOf(account) >= 50 * TOKEN
    assert suite.token.balanceOf(suite.distributor.address) == 0
