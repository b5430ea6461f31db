"""Governance as the deploy script builds it (H-1): every contract is owned by a PlinthTimelock
with no admin, so the deployer's key alone can change nothing; owner actions are scheduled in
public and wait out a delay longer than a provider needs to leave; parameters stay within
bounds fixed in the code whatever the timelock executes."""

from __future__ import annotations

from dataclasses import replace

import ape
import pytest
from plinth_testlib import COMPUTE, active_node, advance_seconds, epoch_of, settle

from scripts._deploy import TOKEN, deploy_suite
from scripts._governance import ZERO32, Call, GovernanceError, govern, pending

DELAY = 600
OWNED = ("token", "registry", "vault", "market", "distributor", "emissions", "slashing", "hub")


@pytest.fixture
def timelocked(deployer, params):
    """The suite as `ape run deploy` deploys it with config/local.toml's [governance] (per test:
    a module-scoped deployment breaks Ape's per-test chain isolation for later modules)."""
    p = replace(params, governance_delay=DELAY, proposers=("deployer",))
    return deploy_suite(deployer, p, write=False, log=lambda *_: None)


def transact(what, fn, *args, sender):
    return fn(*args, sender=sender)


def run_through_timelock(suite, account, calls) -> None:
    """Schedules `calls`, waits out the delay and executes them."""
    assert govern(suite.timelock, account, calls, transact).state == "scheduled"
    advance_seconds(DELAY)
    assert govern(suite.timelock, account, calls, transact).state == "executed"


def test_every_contract_is_owned_by_the_timelock_with_no_admin(timelocked, deployer):
    tl = timelocked.timelock
    for alias in OWNED:
        assert getattr(timelocked, alias).owner() == tl.address
    assert tl.getMinDelay() == tl.delayFloor() == DELAY
    admin = tl.DEFAULT_ADMIN_ROLE()
    assert not tl.hasRole(admin, deployer.address)
    assert tl.hasRole(tl.PROPOSER_ROLE(), deployer.address)
    assert tl.hasRole(tl.EXECUTOR_ROLE(), "0x" + "00" * 20)  # anyone executes
    # The deployer wired the one-time slots and can do nothing else.
    assert timelocked.token.minter() == timelocked.emissions.address
    assert timelocked.hub.deployer() == deployer.address


def test_deployer_key_alone_cannot_take_over_when_timelocked(timelocked, deployer):
    """H-1's first step: the owner key set a 1-of-1 committee of itself at once."""
    s = timelocked
    attempts = [
        (s.hub.setCommittee, ([deployer.address], 1, 0)),
        (s.slashing.setPenalty, (1, 2_500)),
        (s.slashing.setBurnShare, (5_000,)),
        (s.slashing.setTreasury, (deployer.address,)),
        (s.emissions.setSchedule, (0, 10**18, 0, 100_000 * TOKEN)),
        (s.hub.unpause, ()),
    ]
    for fn, args in attempts:
        with ape.reverts(fn.contract.OwnableUnauthorizedAccount, account=deployer.address):
            fn(*args, sender=deployer)


def test_a_scheduled_committee_change_waits_the_delay_and_a_provider_leaves_first(
    timelocked, deployer, provider, oracles
):
    """The committee change is public for DELAY seconds: a provider who starts leaving when it
    is scheduled has its stake back before it executes."""
    s = timelocked
    tl = s.timelock
    node = active_node(s, deployer, provider, COMPUTE)
    calls = [Call(s.hub, "setCommittee", ([deployer.address], 1, 0))]
    outcome = govern(tl, deployer, calls, transact)
    assert outcome.state == "scheduled"
    assert outcome.eta == ape.chain.blocks.head.timestamp + DELAY
    (scheduled,) = pending(tl, s.contracts)
    assert scheduled.calls[0][0] == "OracleHub" and "setCommittee" in scheduled.calls[0][1]
    # Too early: nobody can execute it.
    assert govern(tl, provider, calls, transact).state == "waiting"
    with ape.reverts(tl.TimelockUnexpectedOperationState):
        tl.executeBatch(
            [s.hub.address], [0], [calls[0].data()], ZERO32, b"\x00" * 32, sender=provider
        )

    # The provider leaves at once: exit, unbond everything, wait, withdraw.
    stake = s.vault.bondedOf(node.address)
    s.registry.exit(node.address, sender=provider)
    s.vault.requestUnbond(node.address, stake, sender=provider)
    release_at = ape.chain.blocks.head.timestamp + s.vault.unbondingDelay()
    advance_seconds(s.vault.unbondingDelay())
    settle(s, oracles, epoch_of(s, release_at))  # the committee still settles epochs
    before = s.token.balanceOf(provider)
    s.vault.withdraw(node.address, sender=provider)
    assert s.token.balanceOf(provider) - before == stake
    assert ape.chain.blocks.head.timestamp < outcome.eta  # out before the change lands

    advance_seconds(DELAY)
    assert govern(tl, provider, calls, transact).state == "executed"  # anyone executes
    assert list(s.hub.committee()) == [deployer.address]
    assert pending(tl, s.contracts) == []


def test_parameters_stay_within_code_bounds_even_through_the_timelock(timelocked, deployer):
    """H-1's other steps: 50 % penalties, no burn, the whole supply in one epoch. The timelock
    executes only what the contracts' bounds allow: the batch reverts."""
    s = timelocked
    unminted = s.token.cap() - s.token.totalSupply()
    for call, error in [
        (Call(s.slashing, "setPenalty", (1, 5_000)), s.slashing.InvalidParameter),
        (Call(s.slashing, "setBurnShare", (0,)), s.slashing.InvalidParameter),
        (Call(s.emissions, "setSchedule", (0, 10**18, 0, unminted)), s.emissions.InvalidParameter),
    ]:
        govern(s.timelock, deployer, [call], transact)
        advance_seconds(DELAY)
        with ape.reverts(error):
            govern(s.timelock, deployer, [call], transact)


def test_the_delay_never_drops_below_its_floor(timelocked, deployer):
    tl = timelocked.timelock
    # The timelock owns itself: updateDelay runs only as an operation scheduled on it.
    with ape.reverts(tl.TimelockUnauthorizedCaller, caller=deployer.address):
        tl.updateDelay(DELAY - 1, sender=deployer)
    shorter = [Call(tl, "updateDelay", (DELAY - 1,))]
    govern(tl, deployer, shorter, transact)
    advance_seconds(DELAY)
    with ape.reverts(tl.DelayBelowFloor, delay=DELAY - 1, floor=DELAY):
        govern(tl, deployer, shorter, transact)
    run_through_timelock(timelocked, deployer, [Call(tl, "updateDelay", (2 * DELAY,))])
    assert tl.getMinDelay() == 2 * DELAY


def test_only_a_proposer_schedules(timelocked, outsider):
    s = timelocked
    calls = [Call(s.market, "setFee", (100,))]
    with pytest.raises(GovernanceError, match="not a proposer"):
        govern(s.timelock, outsider, calls, transact)
    with ape.reverts(s.timelock.AccessControlUnauthorizedAccount):
        s.timelock.scheduleBatch(
            [s.market.address], [0], [calls[0].data()], ZERO32, ZERO32, DELAY, sender=outsider
        )


def test_deploy_again_schedules_a_changed_parameter_then_executes_it(deployer, params):
    p = replace(params, governance_delay=DELAY, proposers=("deployer",))
    lines: list[str] = []
    first = deploy_suite(deployer, p, write=False, log=lines.append)
    assert first.market.owner() == first.timelock.address
    # write=False deploys afresh each time; govern() on the first suite plays the re-run.
    calls = [Call(first.market, "setFee", (600,))]
    run_through_timelock(first, deployer, calls)
    assert first.market.feeBps() == 600
