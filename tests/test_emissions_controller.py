"""EmissionsController: the budget formula against a Python model with the contract's exact
rounding, the hub-only mint within the budget, skipped epochs, the schedule, the wiring, and
the shared epoch clock."""

import itertools
import random
from fractions import Fraction

import ape
import pytest
from ape import chain, project
from plinth_testlib import COMPUTE, REGION, active_node, advance_to_epoch, fund, make_report, submit

from scripts._deploy import TOKEN, WAD

ZERO32 = b"\x00" * 32
UINT256_MAX = 2**256 - 1


def b32(name: str) -> bytes:
    """A bytes32 parameter name as the contract's InvalidParameter carries it."""
    return name.encode().ljust(32, b"\x00")


def rpow(x: int, n: int) -> int:
    """The contract's x^n in WAD by squaring, each product rounded down."""
    z = WAD
    while n > 0:
        if n & 1:
            z = z * x // WAD
        x = x * x // WAD
        n >>= 1
    return z


def model_floor(floor0: int, decay: int, epoch: int) -> int:
    return floor0 * rpow(decay, epoch) // WAD


def model_budget(schedule, epoch: int, demand: int, remaining: int) -> int:
    """budget = min(cap_e, floor_e + kappa * demand), cap_e = min(capPerEpoch, remaining)."""
    floor0, decay, kappa, cap_per_epoch = schedule
    cap = min(cap_per_epoch, remaining)
    return min(cap, model_floor(floor0, decay, epoch) + demand * kappa // WAD)


@pytest.fixture(autouse=True)
def _fresh_epoch(suite):
    """Starts every test 1 s into a new epoch: the suite was deployed at an arbitrary point of
    its epoch, and a test must not cross a boundary between reading the epoch and transacting."""
    advance_to_epoch(suite, suite.market.currentEpoch() + 1)


@pytest.fixture
def hub(suite, accounts):
    """The oracle hub's address as a sender (anvil impersonation), with gas money."""
    account = accounts[suite.hub.address]
    chain.set_balance(account.address, 10**20)
    return account


def remaining_supply(suite) -> int:
    return suite.token.cap() - suite.token.totalSupply()


def open_lease(suite, deployer, provider, customer, price: int, epochs: int):
    node = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(node.address, price, sender=provider)
    fund(suite, deployer, customer, price * epochs // TOKEN + 1)
    suite.token.approve(suite.market.address, price * epochs, sender=customer)
    suite.market.openLease(node.address, REGION, epochs, price, ZERO32, 0, sender=customer)
    return node


# ---------------------------------------------------------------- the schedule as deployed


def test_schedule_matches_params_when_deployed(suite, params):
    e = suite.emissions
    assert (e.floor0(), e.floorDecayWad(), e.kappaWad(), e.capPerEpoch()) == params.schedule
    assert e.nextEpoch() == 0
    assert e.totalEmitted() == 0
    assert e.oracleHub() == suite.hub.address
    assert e.distributor() == suite.distributor.address
    assert e.marketplace() == suite.market.address


# ---------------------------------------------------------------- floor


FLOOR_EPOCHS = [0, 1, 2, 3, 5, 8, 13, 64, 100, 255, 256, 1_000, 4_096, 100_000, 2**32, 2**64 - 1]


def test_floorOf_equals_python_square_and_multiply_when_decay_is_configured(suite, params):
    floor0, decay = params.schedule[0], params.schedule[1]
    for epoch in FLOOR_EPOCHS:
        assert suite.emissions.floorOf(epoch) == model_floor(floor0, decay, epoch), epoch


def test_floorOf_stays_within_rounding_of_exact_power_when_rounding_down(suite, params):
    floor0, decay = params.schedule[0], params.schedule[1]
    r = Fraction(decay, WAD)
    for epoch in [e for e in FLOOR_EPOCHS if e <= 4_096]:
        exact = floor0 * r**epoch
        got = suite.emissions.floorOf(epoch)
        # Rounds down (in the protocol's favour), by at most ~2e ulps of WAD relative.
        assert got <= exact, epoch
        assert exact - got <= Fraction(floor0 * 2 * (epoch + 1), WAD) + 1, epoch


def test_floorOf_decays_geometrically_when_epochs_advance(suite):
    floors = [suite.emissions.floorOf(e) for e in range(0, 40)]
    assert floors[0] == suite.emissions.floor0()
    assert all(a > b for a, b in itertools.pairwise(floors))
    for a, b in itertools.pairwise(floors):
        # floor_{e+1} / floor_e = 0.99 up to rounding (relative error far below 1e-12).
        assert abs(b * 100 - a * 99) <= a * 100 // 10**12


@pytest.mark.parametrize(
    "decay",
    [0, 1, WAD // 2, 999_999_999_999_999_999, WAD - 10**9, 123_456_789_012_345_678, WAD],
)
def test_floorOf_equals_python_model_when_decay_is(suite, deployer, params, decay):
    floor0, _, kappa, cap = params.schedule
    suite.emissions.setSchedule(floor0, decay, kappa, cap, sender=deployer)
    for epoch in [0, 1, 2, 7, 77, 1_000, 65_537, 2**64 - 1]:
        assert suite.emissions.floorOf(epoch) == model_floor(floor0, decay, epoch), (decay, epoch)


def test_floorOf_is_constant_when_decay_is_one(suite, deployer, params):
    floor0, _, kappa, cap = params.schedule
    suite.emissions.setSchedule(floor0, WAD, kappa, cap, sender=deployer)
    assert {suite.emissions.floorOf(e) for e in (0, 1, 10**6, 2**64 - 1)} == {floor0}


def test_floorOf_is_zero_after_epoch_zero_when_decay_is_zero(suite, deployer, params):
    floor0, _, kappa, cap = params.schedule
    suite.emissions.setSchedule(floor0, 0, kappa, cap, sender=deployer)
    assert suite.emissions.floorOf(0) == floor0
    assert suite.emissions.floorOf(1) == 0
    assert suite.emissions.floorOf(2**64 - 1) == 0


# ---------------------------------------------------------------- budgetFor


def test_budgetFor_equals_floor_when_no_demand(suite):
    remaining = remaining_supply(suite)
    for epoch in [0, 1, 50, 1_000]:
        assert suite.emissions.budgetFor(epoch, 0, remaining) == suite.emissions.floorOf(epoch)


def test_budgetFor_adds_kappa_times_demand_rounded_down_when_below_cap(suite, params):
    floor0, decay, kappa, _ = params.schedule
    remaining = remaining_supply(suite)
    for epoch, demand in [
        (0, 1),
        (0, 19),
        (0, 20),
        (3, 21),
        (7, 1_000 * TOKEN + 7),
        (100, 123_456 * TOKEN + 99),
    ]:
        expected = model_floor(floor0, decay, epoch) + demand * kappa // WAD
        assert suite.emissions.budgetFor(epoch, demand, remaining) == expected, (epoch, demand)
    # 19 wei of demand earn 0.95 wei: rounded down to nothing.
    assert suite.emissions.budgetFor(0, 19, remaining) == floor0


def test_budgetFor_follows_formula_not_cap_when_demand_exceeds_cap_with_kappa_below_one(
    suite, params
):
    """Regression: demand above the cap used to return the cap outright, although with
    kappa = 0.05 the formula gives floor + 5% of demand, far below it."""
    floor0, _, kappa, cap = params.schedule
    demand = cap + 1
    budget = suite.emissions.budgetFor(0, demand, remaining_supply(suite))
    assert budget == floor0 + demand * kappa // WAD
    assert budget < cap


def test_budgetFor_equals_floor_when_kappa_zero_and_demand_huge(suite, deployer, params):
    floor0, decay, _, cap = params.schedule
    suite.emissions.setSchedule(floor0, decay, 0, cap, sender=deployer)
    for demand in (cap + 1, UINT256_MAX):
        assert suite.emissions.budgetFor(5, demand, remaining_supply(suite)) == model_floor(
            floor0, decay, 5
        )


def test_budgetFor_reaches_cap_exactly_when_demand_at_boundary(suite, params):
    floor0, _, kappa, cap = params.schedule
    remaining = remaining_supply(suite)
    # floor_0 + kappa * D = cap  <=>  D = (cap - floor_0) / kappa (exact for these parameters).
    boundary = (cap - floor0) * WAD // kappa
    assert boundary * kappa == (cap - floor0) * WAD
    assert suite.emissions.budgetFor(0, boundary, remaining) == cap
    assert suite.emissions.budgetFor(0, boundary - 1, remaining) == cap - 1
    assert suite.emissions.budgetFor(0, boundary * 10, remaining) == cap


def test_budgetFor_saturates_at_cap_when_demand_would_overflow(suite, deployer, params):
    cap = params.schedule[3]
    remaining = remaining_supply(suite)
    assert suite.emissions.budgetFor(0, UINT256_MAX, remaining) == cap
    suite.emissions.setSchedule(
        params.schedule[0], params.schedule[1], 100 * WAD, cap, sender=deployer
    )
    for demand in (UINT256_MAX, UINT256_MAX // (100 * WAD), UINT256_MAX // (100 * WAD) + 1):
        assert suite.emissions.budgetFor(0, demand, remaining) == cap


def test_budgetFor_is_bounded_by_remaining_supply_when_below_cap(suite, params):
    floor0, decay, _, cap = params.schedule
    floor3 = model_floor(floor0, decay, 3)
    assert suite.emissions.budgetFor(3, 0, 0) == 0
    assert suite.emissions.budgetFor(3, 10**30, 0) == 0
    assert suite.emissions.budgetFor(3, 0, floor3 - 1) == floor3 - 1
    assert suite.emissions.budgetFor(3, 0, floor3 + 1) == floor3
    extra = 100 * TOKEN * params.schedule[2] // WAD  # kappa * demand
    assert suite.emissions.budgetFor(3, 100 * TOKEN, floor3 + extra // 2) == floor3 + extra // 2
    assert suite.emissions.budgetFor(3, 100 * TOKEN, floor3 + extra + TOKEN) == floor3 + extra
    assert suite.emissions.budgetFor(3, 10**40, cap + 1) == cap
    assert suite.emissions.budgetFor(3, 10**40, cap - 1) == cap - 1


def test_budgetFor_equals_python_model_when_inputs_random(suite, deployer):
    rng = random.Random(7)
    for _ in range(3):
        cap = rng.randrange(1, suite.emissions.capEnvelope() + 1)
        schedule = (
            rng.randrange(0, cap + 1),
            rng.randrange(0, WAD + 1),
            rng.randrange(0, 100 * WAD + 1),
            cap,
        )
        suite.emissions.setSchedule(*schedule, sender=deployer)
        for _ in range(8):
            epoch = rng.choice([0, 1, rng.randrange(2, 300), rng.randrange(2**63)])
            demand = rng.choice(
                [0, rng.randrange(10**18), rng.randrange(10**26), rng.randrange(2**256)]
            )
            remaining = rng.choice([0, rng.randrange(cap + 1), rng.randrange(10**27)])
            got = suite.emissions.budgetFor(epoch, demand, remaining)
            assert got == model_budget(schedule, epoch, demand, remaining), (
                schedule,
                epoch,
                demand,
                remaining,
            )


def test_budgetOf_uses_marketplace_demand_and_remaining_supply_when_lease_open(
    suite, deployer, provider, customer
):
    price = 2_000 * TOKEN
    open_lease(suite, deployer, provider, customer, price, 2)
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch + 1)
    assert suite.market.demandOf(epoch) == price
    expected = suite.emissions.budgetFor(epoch, price, remaining_supply(suite))
    assert suite.emissions.budgetOf(epoch) == expected
    assert expected == suite.emissions.floorOf(epoch) + price * suite.emissions.kappaWad() // WAD


# ---------------------------------------------------------------- mintForEpoch


def test_mintForEpoch_reverts_when_caller_not_hub(suite, deployer, outsider):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    for caller in (deployer, outsider):
        with ape.reverts(suite.emissions.Unauthorized, caller=caller.address):
            suite.emissions.mintForEpoch(epoch, 0, 0, sender=caller)


def test_mintForEpoch_mints_to_distributor_and_emits_when_within_budget(suite, hub):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    budget = suite.emissions.budgetOf(epoch)
    supply = suite.token.totalSupply()
    amount = budget // 3
    tx = suite.emissions.mintForEpoch(epoch, amount, 0, sender=hub)
    assert suite.token.totalSupply() - supply == amount
    assert suite.token.balanceOf(suite.distributor.address) == amount
    assert suite.emissions.totalEmitted() == amount
    assert suite.emissions.nextEpoch() == epoch + 1
    emitted = [e for e in tx.events if e.event_name == "EpochEmitted"]
    assert len(emitted) == 1
    ev = emitted[0]
    assert (ev.epoch, ev.demand, ev.floor, ev.budget, ev.minted) == (
        epoch,
        0,
        suite.emissions.floorOf(epoch),
        budget,
        amount,
    )


def test_mintForEpoch_mints_nothing_and_advances_when_amount_zero(suite, hub):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    supply = suite.token.totalSupply()
    suite.emissions.mintForEpoch(epoch, 0, 0, sender=hub)
    assert suite.token.totalSupply() == supply
    assert suite.emissions.nextEpoch() == epoch + 1


def test_mintForEpoch_reverts_when_epoch_already_minted(suite, hub):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 3)
    suite.emissions.mintForEpoch(epoch + 1, 0, 0, sender=hub)
    with ape.reverts(suite.emissions.EpochAlreadyMinted, epoch=epoch + 1, nextEpoch=epoch + 2):
        suite.emissions.mintForEpoch(epoch + 1, 0, 0, sender=hub)
    # A skipped epoch can never be minted later.
    with ape.reverts(suite.emissions.EpochAlreadyMinted, epoch=epoch, nextEpoch=epoch + 2):
        suite.emissions.mintForEpoch(epoch, 0, 0, sender=hub)


def test_mintForEpoch_reverts_when_amount_exceeds_budget(suite, hub):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    budget = suite.emissions.budgetOf(epoch)
    with ape.reverts(suite.emissions.ExceedsBudget, epoch=epoch, amount=budget + 1, budget=budget):
        suite.emissions.mintForEpoch(epoch, budget + 1, 0, sender=hub)
    suite.emissions.mintForEpoch(epoch, budget, 0, sender=hub)
    assert suite.emissions.totalEmitted() == budget


def test_mintForEpoch_reverts_when_epoch_not_ended(suite, hub):
    current = suite.emissions.currentEpoch()
    with ape.reverts(suite.market.EpochNotEnded, epoch=current, currentEpoch=current):
        suite.emissions.mintForEpoch(current, 0, 0, sender=hub)


def test_mintForEpoch_reverts_when_paused(suite, hub, guardian):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    suite.emissions.pause(sender=guardian)
    with ape.reverts(suite.emissions.EnforcedPause):
        suite.emissions.mintForEpoch(epoch, 0, 0, sender=hub)


# ---------------------------------------------------------------- skipTo (OracleHub.skipEpochs)


def test_skipTo_reverts_when_caller_not_hub(suite, deployer, outsider):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 2)
    for caller in (deployer, outsider):
        with ape.reverts(suite.emissions.Unauthorized, caller=caller.address):
            suite.emissions.skipTo(epoch + 1, sender=caller)


def test_skipTo_finalizes_demand_and_mints_nothing_when_called_by_hub(
    suite, deployer, provider, customer, hub
):
    epoch = suite.hub.nextEpoch()
    price = 2 * TOKEN
    open_lease(suite, deployer, provider, customer, price, 10)
    advance_to_epoch(suite, epoch + 5)
    supply = suite.token.totalSupply()
    tx = suite.emissions.skipTo(epoch + 4, sender=hub)
    assert suite.token.totalSupply() == supply
    assert suite.emissions.nextEpoch() == epoch + 4
    assert suite.market.demandFinalizedThrough() == epoch + 3
    (ev,) = [e for e in tx.events if e.event_name == "EpochsSkipped"]
    assert (ev.fromEpoch, ev.nextEpoch, ev.demand) == (suite.hub.nextEpoch(), epoch + 4, price)
    # The skipped epochs can never be minted.
    with ape.reverts(suite.emissions.EpochAlreadyMinted, epoch=epoch + 3, nextEpoch=epoch + 4):
        suite.emissions.mintForEpoch(epoch + 3, 0, 0, sender=hub)


def test_skipTo_reverts_EpochAlreadyMinted_when_not_forward(suite, hub):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 3)
    suite.emissions.mintForEpoch(epoch + 1, 0, 0, sender=hub)
    for target in (epoch + 1, epoch + 2):
        with ape.reverts(suite.emissions.EpochAlreadyMinted, epoch=target, nextEpoch=epoch + 2):
            suite.emissions.skipTo(target, sender=hub)


def test_skipTo_reverts_when_paused(suite, hub, guardian):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 3)
    suite.emissions.pause(sender=guardian)
    with ape.reverts(suite.emissions.EnforcedPause):
        suite.emissions.skipTo(epoch + 2, sender=hub)


def test_submitReport_reverts_with_exceeds_budget_when_total_rewards_above_budget(
    suite, deployer, provider, customer, oracles
):
    price = 3_000 * TOKEN
    open_lease(suite, deployer, provider, customer, price, 1)
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch + 1)
    budget = suite.emissions.budgetOf(epoch)
    assert budget == suite.emissions.floorOf(epoch) + price * suite.emissions.kappaWad() // WAD

    # The hub reports from the next epoch it expects; skip to the leased one.
    report, _ = make_report(suite, epoch, {provider.address: budget + 1})
    with ape.reverts(suite.emissions.ExceedsBudget, epoch=epoch, amount=budget + 1, budget=budget):
        submit(suite, report, oracles[:3], sender=oracles[0])
    report, _ = make_report(suite, epoch, {provider.address: budget})
    submit(suite, report, oracles[:3], sender=oracles[0])
    assert suite.emissions.totalEmitted() == budget
    assert suite.token.balanceOf(suite.distributor.address) == budget


def test_submitReport_mints_nothing_for_skipped_epochs_when_epochs_skipped(
    suite, provider, oracles
):
    first = suite.hub.nextEpoch()
    target = first + 3
    advance_to_epoch(suite, target + 1)
    supply = suite.token.totalSupply()
    budget = suite.emissions.budgetOf(target)
    assert budget == suite.emissions.floorOf(target)  # the floor follows the clock, not the mints
    report, _ = make_report(suite, target, {provider.address: budget})
    tx = submit(suite, report, oracles[:3], sender=oracles[0])
    emitted = [e for e in tx.events if e.event_name == "EpochEmitted"]
    assert [(e.epoch, e.minted) for e in emitted] == [(target, budget)]
    assert suite.token.totalSupply() - supply == budget
    assert suite.emissions.totalEmitted() == budget
    assert suite.emissions.nextEpoch() == target + 1
    assert suite.market.demandFinalizedThrough() == target
    # Nothing can be minted for the skipped epochs afterwards.
    advance_to_epoch(suite, target + 2)
    report, _ = make_report(suite, first, {provider.address: budget}, total=0)
    with ape.reverts(suite.hub.StaleEpoch):
        submit(suite, report, oracles[:3], sender=oracles[0])


def test_mintForEpoch_mints_only_remaining_supply_when_supply_nearly_exhausted(
    suite, deployer, guardian, treasury, params, hub
):
    """A controller of its own over a token 1 PLN short of its cap: the budget is 1 PLN."""
    token = deployer.deploy(project.PlinthToken, deployer, 1_000 * TOKEN, deployer, 999 * TOKEN)
    market = deployer.deploy(
        project.Marketplace,
        deployer,
        guardian,
        token,
        suite.registry,
        treasury,
        500,
        suite.market.genesis(),
        suite.market.epochDuration(),
    )
    controller = deployer.deploy(
        project.EmissionsController,
        deployer,
        guardian,
        token,
        market,
        suite.distributor,
        list(params.schedule),
    )
    token.setMinter(controller, sender=deployer)
    market.setEmissionsController(controller, sender=deployer)
    controller.setOracleHub(suite.hub, sender=deployer)
    epoch = market.demandFinalizedThrough()
    advance_to_epoch(suite, epoch + 2)
    assert controller.floorOf(epoch) > TOKEN
    assert controller.budgetOf(epoch) == TOKEN
    with ape.reverts(controller.ExceedsBudget, epoch=epoch, amount=TOKEN + 1, budget=TOKEN):
        controller.mintForEpoch(epoch, TOKEN + 1, 0, sender=hub)
    controller.mintForEpoch(epoch, TOKEN, 0, sender=hub)
    assert token.totalSupply() == token.cap()
    assert controller.budgetOf(epoch + 1) == 0
    controller.mintForEpoch(epoch + 1, 0, 0, sender=hub)


# ---------------------------------------------------------------- setSchedule


@pytest.mark.parametrize(
    "schedule, name, value",
    [
        ((10, WAD + 1, WAD, 100), "floorDecayWad", WAD + 1),
        ((10, UINT256_MAX, WAD, 100), "floorDecayWad", UINT256_MAX),
        ((10, WAD, 100 * WAD + 1, 100), "kappaWad", 100 * WAD + 1),
        ((0, WAD, WAD, 0), "capPerEpoch", 0),
        ((101, WAD, WAD, 100), "capPerEpoch", 100),
    ],
    ids=["decay_above_one", "decay_max", "kappa_above_100", "cap_zero", "floor0_above_cap"],
)
def test_setSchedule_reverts_with_invalid_parameter_when(suite, deployer, schedule, name, value):
    with ape.reverts(suite.emissions.InvalidParameter, name=b32(name), value=value):
        suite.emissions.setSchedule(*schedule, sender=deployer)


def test_setSchedule_accepts_bounds_and_emits_when_parameters_at_limits(suite, deployer):
    tx = suite.emissions.setSchedule(100, WAD, 100 * WAD, 100, sender=deployer)
    assert (
        suite.emissions.floor0(),
        suite.emissions.floorDecayWad(),
        suite.emissions.kappaWad(),
        suite.emissions.capPerEpoch(),
    ) == (100, WAD, 100 * WAD, 100)
    ev = tx.events[0]
    assert (ev.event_name, ev.floor0, ev.floorDecayWad, ev.kappaWad, ev.capPerEpoch) == (
        "ScheduleSet",
        100,
        WAD,
        100 * WAD,
        100,
    )
    suite.emissions.setSchedule(0, 0, 0, 1, sender=deployer)
    assert suite.emissions.budgetFor(0, 10**30, 10**30) == 0


def test_setSchedule_reverts_InvalidParameter_when_cap_above_the_deployed_envelope(
    suite, deployer, params
):
    """H-1: the owner raised the cap per epoch to the whole unminted supply (800,000,000 PLN)
    and minted it in one epoch. The cap can now never exceed the one deployed."""
    envelope = suite.emissions.capEnvelope()
    assert envelope == params.schedule[3]
    unminted = suite.token.cap() - suite.token.totalSupply()
    for cap in (envelope + 1, unminted):
        with ape.reverts(suite.emissions.InvalidParameter, name=b32("capPerEpoch"), value=cap):
            suite.emissions.setSchedule(0, WAD, 100 * WAD, cap, sender=deployer)
    suite.emissions.setSchedule(0, WAD, 100 * WAD, envelope, sender=deployer)
    assert suite.emissions.budgetFor(0, 10**40, unminted) == envelope
    suite.emissions.setSchedule(*params.schedule, sender=deployer)


def test_setSchedule_reverts_when_caller_not_owner(suite, guardian, params):
    with ape.reverts(suite.emissions.OwnableUnauthorizedAccount, account=guardian.address):
        suite.emissions.setSchedule(*params.schedule, sender=guardian)


def test_constructor_reverts_when_schedule_invalid(suite, deployer, guardian):
    with ape.reverts(
        project.EmissionsController.InvalidParameter, name=b32("capPerEpoch"), value=5
    ):
        deployer.deploy(
            project.EmissionsController,
            deployer,
            guardian,
            suite.token,
            suite.market,
            suite.distributor,
            [6, WAD, 0, 5],
        )


def test_constructor_reverts_when_distributor_zero(suite, deployer, guardian, params):
    with ape.reverts(project.EmissionsController.ZeroAddress):
        deployer.deploy(
            project.EmissionsController,
            deployer,
            guardian,
            suite.token,
            suite.market,
            ape.utils.ZERO_ADDRESS,
            list(params.schedule),
        )


# ---------------------------------------------------------------- setOracleHub


@pytest.fixture
def unwired(suite, deployer, guardian, params):
    """A controller on the suite's clock with no hub set."""
    return deployer.deploy(
        project.EmissionsController,
        deployer,
        guardian,
        suite.token,
        suite.market,
        suite.distributor,
        list(params.schedule),
    )


def test_setOracleHub_reverts_when_already_set(suite, deployer):
    with ape.reverts(suite.emissions.AlreadySet, current=suite.hub.address):
        suite.emissions.setOracleHub(suite.hub, sender=deployer)


def test_setOracleHub_reverts_with_clock_mismatch_when_genesis_differs(
    suite, deployer, guardian, treasury, unwired
):
    other_genesis = suite.market.genesis() + 1
    other = deployer.deploy(
        project.Marketplace,
        deployer,
        guardian,
        suite.token,
        suite.registry,
        treasury,
        500,
        other_genesis,
        suite.market.epochDuration(),
    )
    with ape.reverts(
        unwired.ClockMismatch, genesis=other_genesis, epochDuration=suite.market.epochDuration()
    ):
        unwired.setOracleHub(other, sender=deployer)


def test_setOracleHub_reverts_with_clock_mismatch_when_duration_differs(
    suite, deployer, guardian, treasury, unwired
):
    other = deployer.deploy(
        project.Marketplace,
        deployer,
        guardian,
        suite.token,
        suite.registry,
        treasury,
        500,
        suite.market.genesis(),
        2 * suite.market.epochDuration(),
    )
    with ape.reverts(
        unwired.ClockMismatch,
        genesis=suite.market.genesis(),
        epochDuration=2 * suite.market.epochDuration(),
    ):
        unwired.setOracleHub(other, sender=deployer)


def test_setOracleHub_sets_once_and_emits_when_clock_matches(suite, deployer, unwired, outsider):
    with ape.reverts(unwired.OwnableUnauthorizedAccount, account=outsider.address):
        unwired.setOracleHub(suite.hub, sender=outsider)
    tx = unwired.setOracleHub(suite.hub, sender=deployer)
    assert unwired.oracleHub() == suite.hub.address
    assert [(e.event_name, e.hub) for e in tx.events] == [("OracleHubSet", suite.hub.address)]
    with ape.reverts(unwired.AlreadySet, current=suite.hub.address):
        unwired.setOracleHub(suite.hub, sender=deployer)


# ---------------------------------------------------------------- epoch clock


def test_clock_is_shared_when_suite_wired(suite, params):
    clocks = {(c.genesis(), c.epochDuration()) for c in (suite.market, suite.emissions, suite.hub)}
    assert clocks == {(suite.market.genesis(), params.epoch_duration)}


def test_epochStart_is_genesis_plus_epoch_times_duration_when_queried(suite):
    genesis, duration = suite.emissions.genesis(), suite.emissions.epochDuration()
    for epoch in (0, 1, 2, 1_000, 2**32):
        assert suite.emissions.epochStart(epoch) == genesis + epoch * duration


def test_currentEpoch_matches_block_time_when_crossing_epoch_boundaries(suite):
    e = suite.emissions
    genesis, duration = e.genesis(), e.epochDuration()
    start = e.currentEpoch() + 1
    for epoch in (start, start + 1, start + 5):
        advance_to_epoch(suite, epoch, offset=0)
        now = chain.blocks.head.timestamp
        assert now == e.epochStart(epoch)
        assert e.currentEpoch() == epoch == (now - genesis) // duration
        assert suite.market.currentEpoch() == suite.hub.currentEpoch() == epoch
        advance_to_epoch(suite, epoch, offset=duration - 1)
        assert e.currentEpoch() == epoch


def test_currentEpoch_is_zero_when_before_genesis(suite, deployer, guardian, treasury):
    future = chain.pending_timestamp + 10**6
    market = deployer.deploy(
        project.Marketplace,
        deployer,
        guardian,
        suite.token,
        suite.registry,
        treasury,
        500,
        future,
        60,
    )
    assert market.currentEpoch() == 0
    assert market.demandFinalizedThrough() == 0
    assert market.epochStart(1) == future + 60


@pytest.mark.parametrize("genesis, duration", [(1, 0), (0, 60)])
def test_constructor_reverts_with_invalid_clock_when_genesis_or_duration_zero(
    suite, deployer, guardian, treasury, genesis, duration
):
    with ape.reverts(project.Marketplace.InvalidClock, genesis=genesis, epochDuration=duration):
        deployer.deploy(
            project.Marketplace,
            deployer,
            guardian,
            suite.token,
            suite.registry,
            treasury,
            500,
            genesis,
            duration,
        )
