"""RewardsDistributor: Python rewards trees verified on-chain, cumulative claims over epochs,
the two roots the hub keeps (at index epoch % 2), and the pause. Every root is settled through
a signed report: nothing else can make one claimable."""

import random

import ape
import pytest
from ape import project
from eth_utils import to_checksum_address
from plinth_testlib import advance_to_epoch, make_report, submit

from oracle.protocol.merkle import RewardsTree, rewards_leaf, stored_root
from scripts._deploy import TOKEN

ZERO_ROOT = b"\x00" * 32


def random_amounts(n: int, seed: int) -> dict[str, int]:
    """n random accounts with up to 50 tokens each (within the local floor of one epoch)."""
    rng = random.Random(seed)
    return {to_checksum_address(rng.randbytes(20)): rng.randrange(1, 50 * TOKEN) for _ in range(n)}


def publish(suite, oracles, cumulative: dict[str, int], skip: int = 0, total=None):
    """Settles the hub's next epoch (after `skip` epochs without a report) with a signed report
    of the tree of `cumulative`: the real path, the mint into the distributor and the root kept
    by the hub. Returns (tree, epoch)."""
    epoch = suite.hub.nextEpoch() + skip
    advance_to_epoch(suite, epoch + 1)
    report, tree = make_report(suite, epoch, cumulative, total=total)
    submit(suite, report, oracles[:3], sender=oracles[0])
    return tree, epoch


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
def test_claim_pays_every_account_when_tree_has_n_accounts(suite, oracles, outsider, n):
    amounts = random_amounts(n, seed=n)
    tree, epoch = publish(suite, oracles, amounts)
    assert suite.distributor.rootOf(epoch) == tree.stored_root
    for account, amount in amounts.items():
        tx = claim(suite, tree, epoch, account, sender=outsider)
        assert tx.gas_used < 2**24
        assert suite.token.balanceOf(account) == amount
        assert suite.distributor.claimedOf(account) == amount
    assert suite.token.balanceOf(suite.distributor.address) == 0
    assert suite.token.balanceOf(outsider) == 0


def test_claim_emits_claimed_and_pays_account_not_caller_when_triggered_by_anyone(
    suite, oracles, provider, outsider
):
    tree, epoch = publish(
        suite, oracles, {provider.address: 40 * TOKEN, outsider.address: 2 * TOKEN}
    )
    before_provider, before_outsider = (
        suite.token.balanceOf(provider),
        suite.token.balanceOf(outsider),
    )
    tx = claim(suite, tree, epoch, provider.address, sender=outsider)
    assert suite.token.balanceOf(provider) - before_provider == 40 * TOKEN
    assert suite.token.balanceOf(outsider) == before_outsider
    claimed = [e for e in tx.events if e.event_name == "Claimed"]
    assert len(claimed) == 1
    assert claimed[0].account == provider.address
    assert claimed[0].epoch == epoch
    assert claimed[0].amount == 40 * TOKEN
    assert claimed[0].cumulativeAmount == 40 * TOKEN


# ---------------------------------------------------------------- cumulative claims


def test_claim_pays_only_the_difference_when_claimed_again_after_later_epochs(
    suite, provider, provider2, outsider, oracles
):
    """Three epochs settled through signed reports: the mint, the root and the claims."""
    schedule = [
        {provider.address: 100 * TOKEN, provider2.address: 10 * TOKEN},
        {provider.address: 250 * TOKEN, provider2.address: 30 * TOKEN},
        {provider.address: 400 * TOKEN, provider2.address: 45 * TOKEN, outsider.address: 5 * TOKEN},
    ]
    trees, epochs = [], []
    for i, cumulative in enumerate(schedule):
        tree, epoch = publish(suite, oracles, cumulative)
        trees.append(tree)
        epochs.append(epoch)
        if i == 0:
            before = suite.token.balanceOf(provider)
            claim(suite, tree, epoch, provider.address, sender=outsider)
            assert suite.token.balanceOf(provider) - before == 100 * TOKEN
    e1, e2, e3 = epochs
    assert e2 == e1 + 1 and e3 == e2 + 1
    assert suite.distributor.latestEpoch() == e3
    assert suite.emissions.totalEmitted() == 450 * TOKEN
    assert suite.token.balanceOf(suite.distributor.address) == 350 * TOKEN

    # The root of epoch 1 was replaced; the previous one (epoch 2) is still claimable.
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


def test_claim_against_previous_root_then_latest_pays_the_rest_when_both_kept(
    suite, oracles, provider
):
    t1, e1 = publish(suite, oracles, {provider.address: 7})
    t2, e2 = publish(suite, oracles, {provider.address: 19})
    before = suite.token.balanceOf(provider)
    claim(suite, t1, e1, provider.address, sender=provider)
    claim(suite, t2, e2, provider.address, sender=provider)
    assert suite.token.balanceOf(provider) - before == 19
    assert suite.distributor.claimedOf(provider) == 19


def test_hub_keeps_the_roots_at_index_epoch_mod_2_when_reports_skip_epochs(
    suite, oracles, provider
):
    """Consecutive reports keep the two latest roots; a report after a skipped epoch replaces
    the root of the same parity (the one two epochs back), so the other stays: after epochs
    e, e + 1 and e + 3 the roots of e and e + 3 are claimable, e + 1's is gone."""
    trees = {}
    for i, skip in enumerate([0, 0, 1, 0, 3]):
        tree, epoch = publish(suite, oracles, {provider.address: 10 * (i + 1)}, skip=skip)
        trees[epoch] = tree
        assert suite.distributor.latestEpoch() == epoch
        assert suite.hub.latestRewardsEpoch() == (True, epoch)
        for e in trees:
            later = [f for f in trees if f > e and f % 2 == e % 2]
            expected = ZERO_ROOT if later else trees[e].stored_root
            assert suite.distributor.rootOf(e) == expected == suite.hub.rewardsRoot(e), (epoch, e)
    e = sorted(trees)
    assert e[2] == e[1] + 2 and e[4] == e[3] + 4
    assert suite.emissions.totalEmitted() == 50


def test_rewardsRoot_is_the_truncated_seal_with_the_total_minted_when_a_report_settles(
    suite, oracles, provider, outsider
):
    """The hub stores the low 216 bits of sealRoot(top, total minted since genesis) with the
    epoch in the top 40 bits of the slot; the view returns the truncated seal."""
    publish(suite, oracles, {provider.address: 5})
    tree, epoch = publish(suite, oracles, {provider.address: 5, outsider.address: 4})
    sealed = bytes(suite.distributor.sealRoot(tree.root, 9))
    assert sealed == tree.sealed_root
    assert bytes(suite.hub.rewardsRoot(epoch)) == stored_root(sealed) == bytes(5) + sealed[5:]
    assert suite.emissions.totalEmitted() == 9


def test_latestRewardsEpoch_reports_none_before_the_first_root(suite, oracles, provider):
    assert suite.hub.latestRewardsEpoch() == (False, 0)
    assert suite.distributor.latestEpoch() == 0
    # A report without rewards keeps no root.
    publish(suite, oracles, {})
    assert suite.hub.latestRewardsEpoch() == (False, 0)
    tree, epoch = publish(suite, oracles, {provider.address: 8})
    assert suite.hub.latestRewardsEpoch() == (True, epoch)
    claim(suite, tree, epoch, provider.address, sender=provider)
    assert suite.token.balanceOf(provider) >= 8


# ---------------------------------------------------------------- claim errors


def test_claim_reverts_when_amount_wrong(suite, oracles, deployer):
    amounts = random_amounts(7, seed=11)
    tree, epoch = publish(suite, oracles, amounts)
    account = next(iter(amounts))
    for wrong in (amounts[account] + 1, amounts[account] - 1):
        with ape.reverts(suite.distributor.InvalidProof, account=account, cumulativeAmount=wrong):
            claim(suite, tree, epoch, account, sender=deployer, amount=wrong)


def test_claim_reverts_when_proof_used_for_another_account(suite, oracles, deployer):
    amounts = random_amounts(7, seed=12)
    tree, epoch = publish(suite, oracles, amounts)
    a, b = list(amounts)[:2]
    with ape.reverts(suite.distributor.InvalidProof, account=b, cumulativeAmount=amounts[a]):
        suite.distributor.claim(epoch, b, amounts[a], tree.proof(a), sender=deployer)


def test_claim_reverts_when_proof_from_another_tree(suite, oracles, deployer):
    amounts = random_amounts(7, seed=13)
    _, epoch = publish(suite, oracles, amounts)
    account = next(iter(amounts))
    # The same account and amount among other accounts: a valid proof, of another root.
    other = RewardsTree({**random_amounts(6, seed=14), account: amounts[account]})
    with ape.reverts(
        suite.distributor.InvalidProof, account=account, cumulativeAmount=amounts[account]
    ):
        suite.distributor.claim(
            epoch, account, amounts[account], other.proof(account), sender=deployer
        )


def test_claim_reverts_when_proof_empty_or_odd_for_multi_account_tree(suite, oracles, deployer):
    amounts = random_amounts(3, seed=15)
    tree, epoch = publish(suite, oracles, amounts)
    account = next(iter(amounts))
    for proof in ([], tree.proof(account)[:-1]):
        with ape.reverts(suite.distributor.InvalidProof):
            suite.distributor.claim(epoch, account, amounts[account], proof, sender=deployer)


def test_claim_reverts_when_already_claimed_in_full(suite, oracles, provider):
    tree, epoch = publish(suite, oracles, {provider.address: 5 * TOKEN})
    claim(suite, tree, epoch, provider.address, sender=provider)
    with ape.reverts(
        suite.distributor.NothingToClaim,
        account=provider.address,
        cumulativeAmount=5 * TOKEN,
        claimed=5 * TOKEN,
    ):
        claim(suite, tree, epoch, provider.address, sender=provider)


def test_claim_reverts_when_cumulative_amount_zero(suite, oracles, provider, outsider):
    tree, epoch = publish(suite, oracles, {provider.address: 5, outsider.address: 0})
    with ape.reverts(
        suite.distributor.NothingToClaim, account=outsider.address, cumulativeAmount=0, claimed=0
    ):
        claim(suite, tree, epoch, outsider.address, sender=outsider)


def test_claim_reverts_when_later_root_lowers_cumulative_amount(suite, oracles, deployer, provider):
    t1, e1 = publish(suite, oracles, {provider.address: 100})
    claim(suite, t1, e1, provider.address, sender=provider)
    # A (faulty) later root with a lower cumulative amount can never claw back or pay twice.
    t2, e2 = publish(suite, oracles, {provider.address: 60, deployer.address: 40})
    with ape.reverts(
        suite.distributor.NothingToClaim, account=provider.address, cumulativeAmount=60, claimed=100
    ):
        claim(suite, t2, e2, provider.address, sender=provider)


def test_claim_reverts_when_no_root_for_epoch(suite, oracles, provider):
    first = suite.hub.nextEpoch()
    with ape.reverts(suite.distributor.RootUnavailable, epoch=first + 1, latestEpoch=0):
        suite.distributor.claim(first + 1, provider.address, 1, [], sender=provider)
    tree, epoch = publish(suite, oracles, {provider.address: 1}, skip=3)
    with ape.reverts(suite.distributor.RootUnavailable, epoch=epoch + 1, latestEpoch=epoch):
        claim(suite, tree, epoch + 1, provider.address, sender=provider)
    with ape.reverts(suite.distributor.RootUnavailable, epoch=epoch - 1, latestEpoch=epoch):
        claim(suite, tree, epoch - 1, provider.address, sender=provider)
    # The slot of the other parity holds nothing yet; the same parity two epochs back is not
    # this epoch's root either.
    with ape.reverts(suite.distributor.RootUnavailable, epoch=epoch - 2, latestEpoch=epoch):
        claim(suite, tree, epoch - 2, provider.address, sender=provider)


def test_claim_reverts_when_paused_and_succeeds_after_unpause(
    suite, oracles, deployer, guardian, provider
):
    tree, epoch = publish(suite, oracles, {provider.address: 3 * TOKEN})
    suite.distributor.pause(sender=guardian)
    with ape.reverts(suite.distributor.EnforcedPause):
        claim(suite, tree, epoch, provider.address, sender=provider)
    with ape.reverts(suite.distributor.OwnableUnauthorizedAccount, account=guardian.address):
        suite.distributor.unpause(sender=guardian)
    suite.distributor.unpause(sender=deployer)
    before = suite.token.balanceOf(provider)
    claim(suite, tree, epoch, provider.address, sender=provider)
    assert suite.token.balanceOf(provider) - before == 3 * TOKEN


def test_pause_reverts_when_caller_not_guardian_or_owner(suite, outsider):
    with ape.reverts(suite.distributor.NotGuardian, caller=outsider.address):
        suite.distributor.pause(sender=outsider)


# ---------------------------------------------------------------- roots and wiring


def test_submitReport_reverts_with_invalid_root_when_rewards_without_root(suite, oracles):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch, {}, total=1)
    with ape.reverts(suite.hub.InvalidRoot):
        submit(suite, report, oracles[:3], sender=oracles[0])


def test_claim_and_views_report_no_root_when_the_hub_is_not_wired(suite, deployer, guardian):
    fresh = deployer.deploy(project.RewardsDistributor, deployer, guardian, suite.token)
    assert fresh.rootOf(1) == ZERO_ROOT
    assert fresh.latestEpoch() == 0
    with ape.reverts(fresh.RootUnavailable, epoch=1, latestEpoch=0):
        fresh.claim(1, deployer.address, 1, [], sender=deployer)


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


def test_claim_reverts_InvalidProof_when_the_root_assigns_more_than_was_minted(
    suite, oracles, provider, provider2
):
    """L-2: a root whose leaves add up to more than was minted let the first claimer take
    tokens owed to others. Its sum is sealed into the stored root: no proof verifies."""
    honest = {provider.address: 50 * TOKEN, provider2.address: 50 * TOKEN}
    over_amounts = {provider.address: 100 * TOKEN, provider2.address: 50 * TOKEN}
    # 150 assigned, 100 minted.
    over, e1 = publish(suite, oracles, over_amounts, total=100 * TOKEN)
    assert suite.token.balanceOf(suite.distributor.address) == 100 * TOKEN
    for account in (provider, provider2):
        amount = over.amounts[account.address]
        with ape.reverts(suite.distributor.InvalidProof, account=account.address,
                         cumulativeAmount=amount):  # fmt: skip
            claim(suite, over, e1, account.address, sender=account)
    # A sibling sum lowered to make the tree look like it adds up: the hashes above break.
    forged = list(over.proof(provider.address))
    forged[1] = (0).to_bytes(32, "big")
    with ape.reverts(suite.distributor.InvalidProof):
        suite.distributor.claim(e1, provider.address, 100 * TOKEN, forged, sender=provider)
    # The honest tree of the same total pays both.
    good, e2 = publish(suite, oracles, honest, total=0)
    for account in (provider, provider2):
        claim(suite, good, e2, account.address, sender=account)
        assert suite.token.balanceOf(account) >= 50 * TOKEN
    assert suite.token.balanceOf(suite.distributor.address) == 0
