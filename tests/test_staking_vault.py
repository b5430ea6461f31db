"""StakingVault: staking (with an approval or an EIP-2612 permit signed in Python), the bounded
unbonding queue, withdrawals after the delay, and slashing: only the slashing manager slashes,
bonded stake goes first, then the newest unbonding entries, so unbonding never escapes a slash
(slashes are created for real, through signed oracle reports)."""

from __future__ import annotations

import pytest
from ape import chain
from plinth_testlib import (
    COMPUTE,
    STORAGE,
    WIRELESS,
    NodeKey,
    active_node,
    advance_seconds,
    advance_to_epoch,
    b32,
    epoch_of,
    fund,
    make_report,
    permit_message,
    permit_signature,
    register,
    reverts,
    reverts_nested,
    settle,
    settle_release,
    stake,
    submit,
)

from oracle.protocol.eip712 import SlashRequest
from scripts._deploy import TOKEN, TX_GAS_CAP

# SlashReason
INVALID_COMPUTE, MISSED_DEADLINE, LOCATION_SPOOFED, OFFLINE = 1, 2, 4, 5
# NodeStatus
REGISTERED, ACTIVE, JAILED, EXITING, EXITED = 1, 2, 3, 4, 5
ZERO = "0x" + "00" * 20
BPS = 10_000
MAX_DELAY = 365 * 24 * 3600


# ---------------------------------------------------------------- helpers


def entries(suite, node) -> list[tuple[int, int]]:
    return [(e.amount, e.releaseAt) for e in suite.vault.unbondingEntries(node.address)]


def unbond(suite, owner, node, amount: int) -> int:
    """Requests an unbond; returns the entry's releaseAt."""
    tx = suite.vault.requestUnbond(node.address, amount, sender=owner)
    [event] = tx.events.filter(suite.vault.UnbondRequested)
    return event.releaseAt


def report_slashes(suite, oracles, *slashes: SlashRequest) -> list[int]:
    """Settles the hub's next epoch with `slashes` (a 3-of-4 signed report); the slash ids."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    first = suite.slashing.slashCount() + 1
    report, _ = make_report(suite, epoch, slashes=slashes)
    submit(suite, report, oracles[:3], sender=oracles[0])
    return list(range(first, first + len(slashes)))


def execute(suite, outsider, slash_id: int):
    """Executes a pending slash once its dispute window is over; returns the vault's event."""
    executable_at = suite.slashing.getSlash(slash_id).executableAt
    if chain.pending_timestamp < executable_at:
        chain.pending_timestamp = executable_at
    tx = suite.slashing.executeSlash(slash_id, sender=outsider)
    [event] = tx.events.filter(suite.vault.Slashed)
    return event


def sign_permit(suite, signer, owner: str, value: int, deadline: int) -> tuple[int, bytes, bytes]:
    """(v, r, s) of an EIP-2612 permit for the vault, signed with `signer`'s private key."""
    return permit_signature(
        suite.token, owner, suite.vault.address, value, deadline, signer_key=signer.private_key
    )


@pytest.fixture
def node(suite, deployer, provider):
    """A registered (not active) storage node of the provider, with 10,000 tokens to stake."""
    fund(suite, deployer, provider, 10_000)
    return register(suite, provider, STORAGE)


# ---------------------------------------------------------------- stake
def test_stake_bonds_tokens_when_owner_stakes(suite, provider, node):
    vault_before = suite.token.balanceOf(suite.vault.address)
    total_before = suite.vault.totalBonded()
    suite.token.approve(suite.vault.address, 3_000 * TOKEN, sender=provider)

    suite.vault.stake(node.address, 1_000 * TOKEN, sender=provider)
    tx = suite.vault.stake(node.address, 2_000 * TOKEN, sender=provider)

    assert suite.vault.bondedOf(node.address) == 3_000 * TOKEN
    assert suite.vault.slashableOf(node.address) == 3_000 * TOKEN
    assert suite.vault.unbondingOf(node.address) == 0
    assert suite.vault.totalBonded() - total_before == 3_000 * TOKEN
    assert suite.token.balanceOf(suite.vault.address) - vault_before == 3_000 * TOKEN
    assert suite.token.balanceOf(provider) == 7_000 * TOKEN
    [event] = tx.events.filter(suite.vault.Staked)
    assert (event.node, event.owner, event.amount, event.bonded) == (
        node.address,
        provider.address,
        2_000 * TOKEN,
        3_000 * TOKEN,
    )


def test_stake_reverts_ZeroAmount_when_amount_zero(suite, provider, node):
    with reverts(suite.vault.ZeroAmount):
        suite.vault.stake(node.address, 0, sender=provider)


def test_stake_reverts_NotNodeOwner_when_caller_not_owner(suite, deployer, provider2, node):
    fund(suite, deployer, provider2, 100)
    suite.token.approve(suite.vault.address, 100 * TOKEN, sender=provider2)
    with reverts(suite.vault.NotNodeOwner, node=node.address, caller=provider2.address):
        suite.vault.stake(node.address, 100 * TOKEN, sender=provider2)
    stranger = NodeKey.create()  # never registered: nobody owns it
    with reverts(suite.vault.NotNodeOwner, node=stranger.address, caller=provider2.address):
        suite.vault.stake(stranger.address, 100 * TOKEN, sender=provider2)


def test_stake_reverts_CannotStake_when_node_exiting_or_exited(suite, provider, node):
    suite.token.approve(suite.vault.address, TOKEN, sender=provider)
    suite.registry.exit(node.address, sender=provider)
    with reverts(suite.vault.CannotStake, node=node.address):
        suite.vault.stake(node.address, TOKEN, sender=provider)
    suite.registry.completeExit(node.address, sender=provider)
    with reverts(suite.vault.CannotStake, node=node.address):
        suite.vault.stake(node.address, TOKEN, sender=provider)


def test_stake_reverts_ERC20InsufficientAllowance_when_not_approved(suite, provider, node):
    suite.token.approve(suite.vault.address, TOKEN - 1, sender=provider)
    with reverts_nested(
        suite.token.ERC20InsufficientAllowance,
        spender=suite.vault.address,
        allowance=TOKEN - 1,
        needed=TOKEN,
    ):
        suite.vault.stake(node.address, TOKEN, sender=provider)


def test_stake_reverts_EnforcedPause_when_paused(suite, deployer, guardian, provider, node):
    suite.token.approve(suite.vault.address, TOKEN, sender=provider)
    suite.vault.pause(sender=guardian)
    with reverts(suite.vault.EnforcedPause):
        suite.vault.stake(node.address, TOKEN, sender=provider)
    suite.vault.unpause(sender=deployer)
    suite.vault.stake(node.address, TOKEN, sender=provider)


# ---------------------------------------------------------------- stakeWithPermit
def test_permit_domain_equals_python_domain_when_token_deployed(suite, provider):
    message = permit_message(suite.token, provider.address, suite.vault.address, 1, 0, 2**256 - 1)
    assert bytes(suite.token.DOMAIN_SEPARATOR()) == bytes(message.header)


def test_stakeWithPermit_bonds_without_approval_when_permit_signed_by_owner(suite, provider, node):
    amount = 2_500 * TOKEN
    assert suite.token.allowance(provider, suite.vault.address) == 0
    nonce = suite.token.nonces(provider)
    deadline = chain.pending_timestamp + 3_600
    v, r, s = sign_permit(suite, provider, provider.address, amount, deadline)

    tx = suite.vault.stakeWithPermit(node.address, amount, deadline, v, r, s, sender=provider)

    assert suite.vault.bondedOf(node.address) == amount
    assert suite.token.nonces(provider) == nonce + 1
    assert suite.token.allowance(provider, suite.vault.address) == 0
    assert len(tx.events.filter(suite.token.Approval)) >= 1
    [event] = tx.events.filter(suite.vault.Staked)
    assert (event.amount, event.bonded) == (amount, amount)


def test_stakeWithPermit_succeeds_when_permit_front_run(suite, provider, outsider, node):
    # Someone copies the permit from the mempool and submits it first: the allowance is in
    # place, the vault's own permit call fails, and the stake must still go through.
    amount = 1_000 * TOKEN
    deadline = chain.pending_timestamp + 3_600
    v, r, s = sign_permit(suite, provider, provider.address, amount, deadline)
    suite.token.permit(provider, suite.vault.address, amount, deadline, v, r, s, sender=outsider)

    suite.vault.stakeWithPermit(node.address, amount, deadline, v, r, s, sender=provider)

    assert suite.vault.bondedOf(node.address) == amount


@pytest.mark.parametrize("bad", ["expired", "wrong-signer", "wrong-amount"])
def test_stakeWithPermit_reverts_ERC20InsufficientAllowance_when_permit_invalid(
    suite, provider, provider2, node, bad
):
    amount = 1_000 * TOKEN
    deadline = chain.blocks.head.timestamp - 1 if bad == "expired" else 2**64
    signer = provider2 if bad == "wrong-signer" else provider
    signed_amount = amount - 1 if bad == "wrong-amount" else amount
    v, r, s = sign_permit(suite, signer, provider.address, signed_amount, deadline)
    with reverts_nested(
        suite.token.ERC20InsufficientAllowance, spender=suite.vault.address, allowance=0
    ):
        suite.vault.stakeWithPermit(node.address, amount, deadline, v, r, s, sender=provider)
    assert suite.vault.bondedOf(node.address) == 0


def test_stakeWithPermit_reverts_NotNodeOwner_when_caller_not_owner(
    suite, deployer, provider2, node
):
    fund(suite, deployer, provider2, 100)
    deadline = chain.pending_timestamp + 3_600
    v, r, s = sign_permit(suite, provider2, provider2.address, 100 * TOKEN, deadline)
    with reverts(suite.vault.NotNodeOwner, node=node.address, caller=provider2.address):
        suite.vault.stakeWithPermit(node.address, 100 * TOKEN, deadline, v, r, s, sender=provider2)


# ---------------------------------------------------------------- requestUnbond
def test_requestUnbond_moves_stake_to_queue_when_bonded_enough(suite, provider, node):
    stake(suite, provider, node, 4_000 * TOKEN)
    total_bonded, total_unbonding = suite.vault.totalBonded(), suite.vault.totalUnbonding()

    tx = suite.vault.requestUnbond(node.address, 1_500 * TOKEN, sender=provider)

    release_at = chain.blocks.head.timestamp + suite.vault.unbondingDelay()
    assert suite.vault.bondedOf(node.address) == 2_500 * TOKEN
    assert suite.vault.unbondingOf(node.address) == 1_500 * TOKEN
    assert suite.vault.slashableOf(node.address) == 4_000 * TOKEN  # still slashable
    assert suite.vault.totalBonded() == total_bonded - 1_500 * TOKEN
    assert suite.vault.totalUnbonding() == total_unbonding + 1_500 * TOKEN
    assert entries(suite, node) == [(1_500 * TOKEN, release_at)]
    assert suite.vault.withdrawableOf(node.address) == 0
    [event] = tx.events.filter(suite.vault.UnbondRequested)
    assert (event.node, event.amount, event.releaseAt) == (node.address, 1_500 * TOKEN, release_at)


def test_requestUnbond_reverts_ZeroAmount_when_amount_zero(suite, provider, node):
    stake(suite, provider, node, TOKEN)
    with reverts(suite.vault.ZeroAmount):
        suite.vault.requestUnbond(node.address, 0, sender=provider)


def test_requestUnbond_reverts_NotNodeOwner_when_caller_not_owner(suite, provider, outsider, node):
    stake(suite, provider, node, TOKEN)
    with reverts(suite.vault.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.vault.requestUnbond(node.address, TOKEN, sender=outsider)


def test_requestUnbond_reverts_InsufficientBonded_when_amount_exceeds_bonded(suite, provider, node):
    stake(suite, provider, node, 1_000 * TOKEN)
    suite.vault.requestUnbond(node.address, 400 * TOKEN, sender=provider)
    with reverts(
        suite.vault.InsufficientBonded,
        node=node.address,
        bonded=600 * TOKEN,
        requested=600 * TOKEN + 1,
    ):
        suite.vault.requestUnbond(node.address, 600 * TOKEN + 1, sender=provider)


def test_requestUnbond_reverts_BelowMinimumStake_when_active_node_would_fall_below(
    suite, deployer, provider
):
    extra = 700 * TOKEN
    node = active_node(suite, deployer, provider, WIRELESS, extra=extra)
    minimum = suite.registry.minStake(WIRELESS)
    with reverts(
        suite.vault.BelowMinimumStake, node=node.address, remaining=minimum - 1, minimum=minimum
    ):
        suite.vault.requestUnbond(node.address, extra + 1, sender=provider)
    # Down to exactly the minimum is fine; then nothing more.
    suite.vault.requestUnbond(node.address, extra, sender=provider)
    with reverts(
        suite.vault.BelowMinimumStake, node=node.address, remaining=minimum - 1, minimum=minimum
    ):
        suite.vault.requestUnbond(node.address, 1, sender=provider)


def test_requestUnbond_reverts_BelowMinimumStake_when_node_jailed(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, WIRELESS, extra=50 * TOKEN)
    faults_to_jail, _ = suite.registry.jailPolicy()
    for slash_id in report_slashes(
        suite, oracles, *(SlashRequest(node.address, OFFLINE) for _ in range(faults_to_jail))
    ):
        execute(suite, outsider, slash_id)
    assert suite.registry.statusOf(node.address) == JAILED
    bonded = suite.vault.bondedOf(node.address)
    minimum = suite.registry.minStake(WIRELESS)
    with reverts(suite.vault.BelowMinimumStake, node=node.address, minimum=minimum):
        suite.vault.requestUnbond(node.address, bonded, sender=provider)


def test_requestUnbond_releases_everything_when_node_registered_or_exited(
    suite, deployer, provider, node
):
    # A registered node has no minimum to keep.
    stake(suite, provider, node, 3_000 * TOKEN)
    suite.vault.requestUnbond(node.address, 3_000 * TOKEN, sender=provider)
    assert suite.vault.bondedOf(node.address) == 0
    # An active node leaves through exit, then unbonds everything.
    active = active_node(suite, deployer, provider, COMPUTE)
    minimum = suite.registry.minStake(COMPUTE)
    with reverts(suite.vault.BelowMinimumStake, remaining=0, minimum=minimum):
        suite.vault.requestUnbond(active.address, minimum, sender=provider)
    suite.registry.exit(active.address, sender=provider)
    suite.vault.requestUnbond(active.address, minimum, sender=provider)
    assert suite.vault.bondedOf(active.address) == 0
    assert suite.vault.unbondingOf(active.address) == minimum


def test_requestUnbond_reverts_UnbondingQueueFull_when_max_entries_queued(
    suite, provider, oracles, node
):
    cap = suite.vault.MAX_UNBONDING_ENTRIES()
    assert cap == 16
    stake(suite, provider, node, (cap + 1) * TOKEN)
    for _ in range(cap):
        suite.vault.requestUnbond(node.address, TOKEN, sender=provider)
    with reverts(suite.vault.UnbondingQueueFull, node=node.address):
        suite.vault.requestUnbond(node.address, TOKEN, sender=provider)
    # Withdrawing matured entries frees the queue; the withdrawal stays well under the gas cap.
    advance_seconds(suite.vault.unbondingDelay())
    settle_release(suite, oracles, entries(suite, node)[-1][1])
    tx = suite.vault.withdraw(node.address, sender=provider)
    assert tx.gas_used < TX_GAS_CAP // 20
    assert entries(suite, node) == []
    suite.vault.requestUnbond(node.address, TOKEN, sender=provider)
    assert len(entries(suite, node)) == 1


def test_requestUnbond_reverts_EnforcedPause_when_paused(suite, guardian, provider, node):
    stake(suite, provider, node, TOKEN)
    suite.vault.pause(sender=guardian)
    with reverts(suite.vault.EnforcedPause):
        suite.vault.requestUnbond(node.address, TOKEN, sender=provider)


# ---------------------------------------------------------------- withdraw
def test_withdraw_reverts_NothingToWithdraw_when_queue_empty(suite, provider, node):
    with reverts(suite.vault.NothingToWithdraw, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)


def test_withdraw_reverts_NothingToWithdraw_before_delay_then_pays_once_settled(
    suite, provider, oracles, node
):
    stake(suite, provider, node, 2_000 * TOKEN)
    release_at = unbond(suite, provider, node, 2_000 * TOKEN)
    with reverts(suite.vault.NothingToWithdraw, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)
    chain.pending_timestamp = release_at - 1
    with reverts(suite.vault.NothingToWithdraw, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)

    # Matured, but the hub has not settled the epoch it was released in: a report of the
    # epochs it was still slashable in could still land.
    chain.pending_timestamp = release_at
    chain.mine()
    assert suite.vault.withdrawableOf(node.address) == 0
    with reverts(suite.vault.NotSettled, node=node.address,
                 releaseEpoch=epoch_of(suite, release_at),
                 settledBefore=suite.hub.nextEpoch()):  # fmt: skip
        suite.vault.withdraw(node.address, sender=provider)
    settle_release(suite, oracles, release_at)
    balance = suite.token.balanceOf(provider)
    total_unbonding = suite.vault.totalUnbonding()
    tx = suite.vault.withdraw(node.address, sender=provider)

    assert suite.token.balanceOf(provider) - balance == 2_000 * TOKEN
    assert suite.vault.unbondingOf(node.address) == 0
    assert suite.vault.totalUnbonding() == total_unbonding - 2_000 * TOKEN
    assert entries(suite, node) == []
    [event] = tx.events.filter(suite.vault.Withdrawn)
    assert (event.node, event.to, event.amount) == (node.address, provider.address, 2_000 * TOKEN)


def test_withdraw_pays_only_matured_entries_when_some_pending(suite, provider, oracles, node):
    stake(suite, provider, node, 3_000 * TOKEN)
    first = unbond(suite, provider, node, 1_000 * TOKEN)
    advance_seconds(100)
    second = unbond(suite, provider, node, 2_000 * TOKEN)
    chain.pending_timestamp = first
    chain.mine()
    settle_release(suite, oracles, first)  # the second entry matures epochs later
    assert suite.vault.withdrawableOf(node.address) == 1_000 * TOKEN

    balance = suite.token.balanceOf(provider)
    suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == 1_000 * TOKEN
    assert entries(suite, node) == [(2_000 * TOKEN, second)]
    with reverts(suite.vault.NothingToWithdraw):
        suite.vault.withdraw(node.address, sender=provider)

    chain.pending_timestamp = second
    chain.mine()
    settle_release(suite, oracles, second)
    suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == 3_000 * TOKEN
    assert suite.vault.slashableOf(node.address) == 0


def test_a_node_cannot_exit_unbond_and_withdraw_before_its_fault_epoch_is_settled(
    suite, deployer, provider, oracles, outsider
):
    """M-1: a node fails a challenge in epoch e, exits and unbonds everything at once and waits
    out the delay. The report of e is late (the hub accepts late reports): the withdrawal waits
    for it, its slash lands on the whole stake, and only the rest is paid."""
    node = active_node(suite, deployer, provider, COMPUTE)
    total = suite.vault.slashableOf(node.address)
    fault_epoch = suite.hub.currentEpoch()
    suite.registry.exit(node.address, sender=provider)
    release_at = unbond(suite, provider, node, total)
    chain.pending_timestamp = release_at + 10 * suite.hub.epochDuration()  # long after release
    chain.mine()
    assert suite.hub.nextEpoch() <= fault_epoch  # nothing settled since the fault
    with reverts(suite.vault.NotSettled, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)
    report, _ = make_report(
        suite, fault_epoch, slashes=(SlashRequest(node.address, INVALID_COMPUTE),)
    )
    submit(suite, report, oracles[:3], sender=oracles[0])
    [slash_id] = [suite.slashing.slashCount()]
    amount = suite.slashing.getSlash(slash_id).amount
    assert amount == total * suite.slashing.penaltyBps(INVALID_COMPUTE) // BPS > 0
    with reverts(suite.vault.PendingSlash, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)
    execute(suite, outsider, slash_id)
    settle_release(suite, oracles, release_at)
    balance = suite.token.balanceOf(provider)
    suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == total - amount


def test_withdraw_reverts_NotNodeOwner_when_caller_not_owner(suite, provider, outsider, node):
    stake(suite, provider, node, TOKEN)
    suite.vault.requestUnbond(node.address, TOKEN, sender=provider)
    advance_seconds(suite.vault.unbondingDelay())
    with reverts(suite.vault.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.vault.withdraw(node.address, sender=outsider)


def test_withdraw_reverts_EnforcedPause_when_paused(suite, guardian, provider, node):
    stake(suite, provider, node, TOKEN)
    suite.vault.requestUnbond(node.address, TOKEN, sender=provider)
    advance_seconds(suite.vault.unbondingDelay())
    suite.vault.pause(sender=guardian)
    with reverts(suite.vault.EnforcedPause):
        suite.vault.withdraw(node.address, sender=provider)


def test_withdraw_reverts_PendingSlash_while_slash_pending(
    suite, deployer, provider, oracles, outsider
):
    extra = 2_000 * TOKEN
    node = active_node(suite, deployer, provider, COMPUTE, extra=extra)
    release_at = unbond(suite, provider, node, extra)
    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, MISSED_DEADLINE))
    chain.pending_timestamp = max(release_at, chain.pending_timestamp)
    chain.mine()
    settle_release(suite, oracles, release_at)
    assert suite.vault.withdrawableOf(node.address) == extra  # matured and settled, but...
    with reverts(suite.vault.PendingSlash, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)

    # Governance cancels the slash: the withdrawal goes through in full.
    suite.slashing.cancelSlash(slash_id, sender=deployer)
    balance = suite.token.balanceOf(provider)
    suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == extra


# ---------------------------------------------------------------- slash
@pytest.mark.parametrize("who", ["outsider", "deployer", "guardian", "provider"])
def test_slash_reverts_Unauthorized_when_caller_not_slashing_manager(
    suite, deployer, guardian, provider, outsider, node, who
):
    stake(suite, provider, node, TOKEN)
    caller = {"outsider": outsider, "deployer": deployer, "guardian": guardian}.get(who, provider)
    with reverts(suite.vault.Unauthorized, caller=caller.address):
        suite.vault.slash(node.address, TOKEN, sender=caller)
    assert suite.vault.bondedOf(node.address) == TOKEN


def test_slash_takes_bonded_first_when_bonded_covers_amount(
    suite, deployer, provider, oracles, outsider
):
    suite.slashing.setPenalty(INVALID_COMPUTE, 2_500, sender=deployer)
    node = active_node(suite, deployer, provider, COMPUTE, extra=8_000 * TOKEN)
    minimum = suite.registry.minStake(COMPUTE)  # 10,000
    unbond(suite, provider, node, 5_000 * TOKEN)
    unbond(suite, provider, node, 3_000 * TOKEN)
    queue = entries(suite, node)
    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, INVALID_COMPUTE))

    event = execute(suite, outsider, slash_id)

    amount = (minimum + 8_000 * TOKEN) // 4  # 25 %: 4,500 <= 10,000 bonded
    assert (event.requested, event.fromBonded, event.fromUnbonding) == (amount, amount, 0)
    assert suite.vault.bondedOf(node.address) == minimum - amount
    assert entries(suite, node) == queue


def test_slash_takes_newest_unbonding_entries_when_bonded_short(
    suite, deployer, provider, oracles, outsider, node
):
    # The classic bug: unbond first, then the slash for an earlier fault lands. The unbonding
    # stake pays, newest entry first, and the withdrawal pays only what is left.
    suite.slashing.setPenalty(INVALID_COMPUTE, 2_500, sender=deployer)
    fund(suite, deployer, provider, 10_000)  # 20,000 in all
    stake(suite, provider, node, 20_000 * TOKEN)
    first = unbond(suite, provider, node, 16_000 * TOKEN)
    second = unbond(suite, provider, node, 2_000 * TOKEN)  # 2,000 stays bonded
    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, INVALID_COMPUTE))
    slash = suite.slashing.getSlash(slash_id)
    assert slash.amount == 5_000 * TOKEN  # 25 % of bonded + unbonding
    vault_before = suite.token.balanceOf(suite.vault.address)
    totals = suite.vault.totalBonded(), suite.vault.totalUnbonding()

    event = execute(suite, outsider, slash_id)

    # 2,000 from bonded, then 2,000 (the whole newest entry) and 1,000 of the older one.
    assert (event.node, event.requested, event.fromBonded, event.fromUnbonding) == (
        node.address,
        5_000 * TOKEN,
        2_000 * TOKEN,
        3_000 * TOKEN,
    )
    assert suite.vault.bondedOf(node.address) == 0
    assert suite.vault.unbondingOf(node.address) == 15_000 * TOKEN
    assert entries(suite, node) == [(15_000 * TOKEN, first)]
    assert vault_before - suite.token.balanceOf(suite.vault.address) == 5_000 * TOKEN
    assert suite.vault.totalBonded() == totals[0] - 2_000 * TOKEN
    assert suite.vault.totalUnbonding() == totals[1] - 3_000 * TOKEN

    chain.pending_timestamp = max(second, chain.pending_timestamp)
    chain.mine()
    settle_release(suite, oracles, second)
    balance = suite.token.balanceOf(provider)
    suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == 15_000 * TOKEN
    assert suite.vault.slashableOf(node.address) == 0


def test_withdraw_pays_remainder_when_slash_lands_after_entries_matured(
    suite, deployer, provider, oracles, outsider
):
    # Exit, unbond everything, wait for maturity: a slash reported meanwhile blocks the
    # withdrawal, executes against the matured entries, and the owner gets the rest.
    extra = 2_000 * TOKEN
    node = active_node(suite, deployer, provider, COMPUTE, extra=extra)
    total = suite.registry.minStake(COMPUTE) + extra
    suite.registry.exit(node.address, sender=provider)
    unbond(suite, provider, node, total - extra)
    release_at = unbond(suite, provider, node, extra)
    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, LOCATION_SPOOFED))
    amount = suite.slashing.getSlash(slash_id).amount
    assert amount == total * suite.slashing.penaltyBps(LOCATION_SPOOFED) // BPS
    chain.pending_timestamp = max(release_at, chain.pending_timestamp)
    chain.mine()
    settle_release(suite, oracles, release_at)
    assert suite.vault.withdrawableOf(node.address) == total
    with reverts(suite.vault.PendingSlash, node=node.address):
        suite.vault.withdraw(node.address, sender=provider)

    event = execute(suite, outsider, slash_id)
    assert (event.fromBonded, event.fromUnbonding) == (0, amount)
    balance = suite.token.balanceOf(provider)
    tx = suite.vault.withdraw(node.address, sender=provider)
    assert suite.token.balanceOf(provider) - balance == total - amount
    assert [e.amount for e in tx.events.filter(suite.vault.Withdrawn)] == [total - amount]
    suite.registry.completeExit(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == EXITED


def test_slash_takes_newest_entry_first_when_older_entry_withdrawn(
    suite, deployer, provider, oracles, outsider, node
):
    # Withdrawing the oldest entry must not reorder the queue: the slash still hits the
    # newest entry first, leaving the older (earlier-maturing) stake.
    suite.slashing.setPenalty(INVALID_COMPUTE, 2_500, sender=deployer)
    stake(suite, provider, node, 8_000 * TOKEN)
    oldest = unbond(suite, provider, node, 2_000 * TOKEN)
    advance_seconds(suite.hub.epochDuration())  # each entry released in an epoch of its own
    middle = unbond(suite, provider, node, 3_000 * TOKEN)
    advance_seconds(suite.hub.epochDuration())
    newest = unbond(suite, provider, node, 3_000 * TOKEN)
    chain.pending_timestamp = oldest
    chain.mine()
    settle(suite, oracles, epoch_of(suite, oldest))
    assert suite.vault.withdrawableOf(node.address) == 2_000 * TOKEN
    suite.vault.withdraw(node.address, sender=provider)
    assert entries(suite, node) == [(3_000 * TOKEN, middle), (3_000 * TOKEN, newest)]

    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, INVALID_COMPUTE))
    assert suite.slashing.getSlash(slash_id).amount == 1_500 * TOKEN  # 25 % of 6,000
    execute(suite, outsider, slash_id)
    assert entries(suite, node) == [(3_000 * TOKEN, middle), (1_500 * TOKEN, newest)]


def test_slashes_pending_together_are_each_sized_on_the_stake_the_earlier_ones_leave(
    suite, deployer, provider, treasury, oracles, outsider, node
):
    """L-1: three 25 % slashes queued together take 25 %, then 25 % of the rest, and so on
    (they once took 25 % of the full stake each: 75 % in all instead of 57.8 %)."""
    suite.slashing.setPenalty(INVALID_COMPUTE, 2_500, sender=deployer)
    stake(suite, provider, node, 4_000 * TOKEN)
    ids = report_slashes(suite, oracles, *(SlashRequest(node.address, INVALID_COMPUTE),) * 3)
    amounts = [1_000 * TOKEN, 750 * TOKEN, 562_500 * 10**15]
    assert [suite.slashing.getSlash(i).amount for i in ids] == amounts
    assert suite.slashing.pendingSlashAmount(node.address) == sum(amounts)
    taken = [execute(suite, outsider, i) for i in ids]
    assert [(e.requested, e.fromBonded + e.fromUnbonding) for e in taken] == [
        (a, a) for a in amounts
    ]
    assert suite.vault.slashableOf(node.address) == 1_687_500 * 10**15
    assert suite.slashing.pendingSlashAmount(node.address) == 0


# ---------------------------------------------------------------- owner
def test_setUnbondingDelay_applies_to_new_requests_when_changed(suite, deployer, provider, node):
    stake(suite, provider, node, 2 * TOKEN)
    old = unbond(suite, provider, node, TOKEN)
    tx = suite.vault.setUnbondingDelay(MAX_DELAY, sender=deployer)
    assert suite.vault.unbondingDelay() == MAX_DELAY
    assert [e.delay for e in tx.events.filter(suite.vault.UnbondingDelaySet)] == [MAX_DELAY]
    new = unbond(suite, provider, node, TOKEN)
    assert new == chain.blocks.head.timestamp + MAX_DELAY
    assert entries(suite, node) == [(TOKEN, old), (TOKEN, new)]


@pytest.mark.parametrize("delay", [0, MAX_DELAY + 1, 2**64 - 1])
def test_setUnbondingDelay_reverts_InvalidParameter_when_out_of_range(suite, deployer, delay):
    with reverts(suite.vault.InvalidParameter, name=b32("unbondingDelay"), value=delay):
        suite.vault.setUnbondingDelay(delay, sender=deployer)


def test_owner_setters_revert_OwnableUnauthorizedAccount_when_caller_not_owner(
    suite, guardian, outsider
):
    for caller in (guardian, outsider):
        with reverts(suite.vault.OwnableUnauthorizedAccount, account=caller.address):
            suite.vault.setUnbondingDelay(600, sender=caller)
        with reverts(suite.vault.OwnableUnauthorizedAccount, account=caller.address):
            suite.vault.setSlashingManager(suite.slashing.address, sender=caller)


def test_setSlashingManager_reverts_AlreadySet_or_ZeroAddress_when_wired(suite, deployer, outsider):
    with reverts(suite.vault.AlreadySet, current=suite.slashing.address):
        suite.vault.setSlashingManager(outsider.address, sender=deployer)
    with reverts(suite.vault.ZeroAddress):
        suite.vault.setSlashingManager(ZERO, sender=deployer)


# ---------------------------------------------------------------- gas
def test_stake_gas_independent_of_number_of_stakers_when_ten_more_nodes_staked(
    suite, deployer, provider, provider2
):
    # Same situation both times: a new node's first stake, an exact approval, with the vault
    # already holding stake. In between, ten other nodes (another owner) stake.
    amount = 1_000 * TOKEN
    fund(suite, deployer, provider, 100_000)
    fund(suite, deployer, provider2, 100_000)
    warmup = register(suite, provider2, WIRELESS)
    stake(suite, provider2, warmup, amount)

    def first_stake() -> int:
        node = register(suite, provider, WIRELESS)
        suite.token.approve(suite.vault.address, amount, sender=provider)
        return suite.vault.stake(node.address, amount, sender=provider).gas_used

    alone = first_stake()
    for _ in range(10):
        stake(suite, provider2, register(suite, provider2, WIRELESS), amount)
    crowded = first_stake()

    assert abs(crowded - alone) < alone / 100, (alone, crowded)
    assert alone < 100_000
