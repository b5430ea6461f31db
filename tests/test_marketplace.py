"""Marketplace: prices, leases with escrow, epoch-by-epoch settlement with the protocol fee,
extensions and refunds, on-chain demand per epoch, its finalization by the emissions
controller, and a ghost model that must agree with the contract after every operation."""

from __future__ import annotations

from dataclasses import dataclass, replace

import ape
import pytest
from ape import chain, project
from eth_account import Account
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from plinth_testlib import (
    COMPUTE,
    REGION,
    STORAGE,
    WIRELESS,
    NodeKey,
    active_node,
    fund,
    make_report,
    register,
    settle,
    submit,
)
from plinth_testlib import advance_to_epoch as _advance_only

from oracle.protocol.eip712 import data_receipt_digest, lease_data_message, sign_data_receipt
from scripts._deploy import TOKEN

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
ROOT = b"\x5a" * 32
CAPACITY = 1 << 30  # plinth_testlib's storage claim
PRICE = 1_000 * TOKEN + 7  # not a multiple of 10,000: the fee rounds
MAX_UINT = 2**256 - 1


_ORACLES: list = []


@pytest.fixture(autouse=True)
def _committee(oracles):
    """The committee that reports every ended epoch as time passes (advance_to_epoch)."""
    _ORACLES[:] = oracles


def report_ended(suite) -> None:
    """Settles the hub through the last ended epoch with an empty report (skipping epochs the
    gap rule cannot reach), as a running committee would: the marketplace pays a lease epoch
    only once the hub has settled it (and the node passed it)."""
    current = suite.hub.currentEpoch()
    if current > 0:
        settle(suite, _ORACLES, current - 1)


def advance_to_epoch(suite, epoch: int, offset: int = 1) -> None:
    """Mines a block `offset` seconds into `epoch`, then the committee reports the ended epochs."""
    _advance_only(suite, epoch, offset)
    report_ended(suite)


def b32(name: str) -> bytes:
    return name.encode().ljust(32, b"\x00")


@pytest.fixture(autouse=True)
def _fresh_epoch(suite, _committee):
    """Starts every test 1 s into a new epoch: the suite was deployed at an arbitrary point of
    its epoch, and a test must not cross a boundary between reading the epoch and transacting."""
    advance_to_epoch(suite, suite.market.currentEpoch() + 1)


@pytest.fixture
def node(suite, deployer, provider):
    """An active compute node of `provider`, priced at PRICE."""
    n = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(n.address, PRICE, sender=provider)
    return n


@pytest.fixture
def storage_node(suite, deployer, provider2):
    n = active_node(suite, deployer, provider2, STORAGE)
    suite.market.setPrice(n.address, 300 * TOKEN, sender=provider2)
    return n


@pytest.fixture
def paying(suite, deployer, customer):
    """The customer with 1,000,000 PLN, the marketplace approved for all of it."""
    fund(suite, deployer, customer, 1_000_000)
    suite.token.approve(suite.market.address, MAX_UINT, sender=customer)
    return customer


@pytest.fixture
def emissions(suite, accounts):
    """The emissions controller's address as a sender (anvil impersonation)."""
    account = accounts[suite.emissions.address]
    chain.set_balance(account.address, 10**20)
    return account


def open_lease(
    suite,
    customer,
    node,
    epochs: int,
    max_price: int = MAX_UINT,
    root: bytes = ZERO32,
    size: int = 0,
    region: int = REGION,
) -> int:
    suite.market.openLease(node.address, region, epochs, max_price, root, size, sender=customer)
    return suite.market.leaseCount()


def fee_of(amount: int, fee_bps: int = 500) -> int:
    return amount * fee_bps // 10_000


def only_event(tx, name: str):
    """The one event called `name` that `tx` emitted."""
    events = [e for e in tx.events if e.event_name == name]
    assert len(events) == 1, [e.event_name for e in tx.events]
    return events[0]


def conserved(suite) -> bool:
    """The marketplace holds exactly the escrow of its leases."""
    escrow = sum(suite.market.escrowOf(i) for i in range(1, suite.market.leaseCount() + 1))
    return suite.token.balanceOf(suite.market.address) == escrow


# ---------------------------------------------------------------- setPrice


def test_setPrice_sets_price_and_emits_when_called_by_node_owner(suite, deployer, provider):
    n = active_node(suite, deployer, provider, COMPUTE)
    tx = suite.market.setPrice(n.address, 42, sender=provider)
    assert suite.market.priceOf(n.address) == 42
    assert [(e.event_name, e.node, e.pricePerEpoch) for e in tx.events] == [
        ("PriceSet", n.address, 42)
    ]


def test_setPrice_reverts_when_caller_not_node_owner(suite, node, provider2, outsider):
    for caller in (provider2, outsider):
        with ape.reverts(suite.market.NotNodeOwner, node=node.address, caller=caller.address):
            suite.market.setPrice(node.address, 1, sender=caller)


def test_setPrice_reverts_when_node_unknown(suite, provider):
    unknown = "0x" + "12" * 20
    with ape.reverts(suite.market.NotNodeOwner, node=unknown, caller=provider.address):
        suite.market.setPrice(unknown, 1, sender=provider)


def test_setPrice_reverts_when_price_above_uint128(suite, node, provider):
    with ape.reverts(suite.market.InvalidParameter, name=b32("price"), value=2**128):
        suite.market.setPrice(node.address, 2**128, sender=provider)
    suite.market.setPrice(node.address, 2**128 - 1, sender=provider)
    assert suite.market.priceOf(node.address) == 2**128 - 1


def test_setPrice_zero_withdraws_offer_when_lease_then_opened(suite, node, provider, paying):
    suite.market.setPrice(node.address, 0, sender=provider)
    with ape.reverts(suite.market.NoPrice, node=node.address):
        open_lease(suite, paying, node, 1)


def test_setPrice_reverts_when_paused(suite, node, provider, guardian):
    suite.market.pause(sender=guardian)
    with ape.reverts(suite.market.EnforcedPause):
        suite.market.setPrice(node.address, 1, sender=provider)


# ---------------------------------------------------------------- openLease


def test_openLease_pulls_escrow_and_records_lease_when_terms_valid(suite, node, paying, provider):
    balance = suite.token.balanceOf(paying)
    current = suite.market.currentEpoch()
    tx = suite.market.openLease(node.address, REGION, 3, PRICE, ZERO32, 0, sender=paying)
    lease_id = suite.market.leaseCount()
    assert lease_id == 1
    assert balance - suite.token.balanceOf(paying) == 3 * PRICE
    assert suite.token.balanceOf(suite.market.address) == 3 * PRICE
    assert suite.market.escrowOf(lease_id) == 3 * PRICE
    lease = suite.market.getLease(lease_id)
    assert (lease.customer, lease.node, lease.region) == (paying.address, node.address, REGION)
    assert (lease.startEpoch, lease.endEpoch, lease.paidThrough) == (
        current + 1,
        current + 4,
        current + 1,
    )
    assert (lease.closed, lease.pricePerEpoch, lease.dataRoot, lease.dataSize) == (
        False,
        PRICE,
        ZERO32,
        0,
    )
    opened = [e for e in tx.events if e.event_name == "LeaseOpened"]
    assert len(opened) == 1
    ev = opened[0]
    assert (ev.leaseId, ev.customer, ev.node, ev.startEpoch, ev.endEpoch, ev.pricePerEpoch) == (
        1,
        paying.address,
        node.address,
        current + 1,
        current + 4,
        PRICE,
    )
    assert [suite.market.demandOf(e) for e in range(current, current + 5)] == [
        0,
        PRICE,
        PRICE,
        PRICE,
        0,
    ]


def test_openLease_reverts_when_node_registered_but_not_active(suite, provider, paying):
    n = register(suite, provider, COMPUTE)
    with ape.reverts(suite.market.NodeNotEligible, node=n.address):
        open_lease(suite, paying, n, 1)


def test_openLease_reverts_when_node_unknown(suite, paying):
    unknown = "0x" + "34" * 20
    with ape.reverts(suite.market.NodeNotEligible, node=unknown):
        suite.market.openLease(unknown, REGION, 1, MAX_UINT, ZERO32, 0, sender=paying)


def test_openLease_reverts_when_node_exiting(suite, node, provider, paying):
    suite.registry.exit(node.address, sender=provider)
    with ape.reverts(suite.market.NodeNotEligible, node=node.address):
        open_lease(suite, paying, node, 1)


def test_openLease_reverts_when_node_has_no_price(suite, deployer, provider, paying):
    n = active_node(suite, deployer, provider, COMPUTE)
    with ape.reverts(suite.market.NoPrice, node=n.address):
        open_lease(suite, paying, n, 1)


def test_openLease_reverts_when_price_above_max(suite, node, paying):
    with ape.reverts(
        suite.market.PriceAboveMax, node=node.address, price=PRICE, maxPrice=PRICE - 1
    ):
        open_lease(suite, paying, node, 1, max_price=PRICE - 1)
    open_lease(suite, paying, node, 1, max_price=PRICE)


def test_openLease_reverts_when_region_differs(suite, node, paying):
    with ape.reverts(
        suite.market.RegionMismatch, node=node.address, nodeRegion=REGION, requested=REGION + 1
    ):
        open_lease(suite, paying, node, 1, region=REGION + 1)


@pytest.mark.parametrize("epochs", [0, 100_001, 2**64 - 1])
def test_openLease_reverts_with_invalid_duration_when_epochs(suite, node, paying, epochs):
    with ape.reverts(suite.market.InvalidDuration, epochs=epochs):
        open_lease(suite, paying, node, epochs)


def test_openLease_accepts_max_duration_when_epochs_at_limit(suite, deployer, provider, paying):
    n = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(n.address, 3, sender=provider)
    assert suite.market.MAX_LEASE_EPOCHS() == 100_000
    lease_id = open_lease(suite, paying, n, 100_000)
    assert suite.market.escrowOf(lease_id) == 300_000


@pytest.mark.parametrize(
    "root, size",
    [(ZERO32, 1024), (ROOT, 0), (ZERO32, 0), (ROOT, CAPACITY + 1)],
    ids=["no_root", "no_size", "neither", "size_above_capacity"],
)
def test_openLease_reverts_with_invalid_storage_terms_when_storage_lease(
    suite, storage_node, paying, root, size
):
    with ape.reverts(suite.market.InvalidStorageTerms, dataRoot=root, dataSize=size):
        open_lease(suite, paying, storage_node, 1, root=root, size=size)


def test_openLease_records_data_root_and_size_when_storage_terms_valid(suite, storage_node, paying):
    lease_id = open_lease(suite, paying, storage_node, 2, root=ROOT, size=CAPACITY)
    lease = suite.market.getLease(lease_id)
    assert (lease.dataRoot, lease.dataSize) == (ROOT, CAPACITY)
    assert suite.market.CHUNK_SIZE() == 1024


@pytest.mark.parametrize(
    "root, size", [(ROOT, 0), (ZERO32, 5), (ROOT, 5)], ids=["root", "size", "both"]
)
def test_openLease_reverts_with_invalid_storage_terms_when_compute_lease_has_data(
    suite, node, paying, root, size
):
    with ape.reverts(suite.market.InvalidStorageTerms, dataRoot=root, dataSize=size):
        open_lease(suite, paying, node, 1, root=root, size=size)


def test_openLease_reverts_with_invalid_storage_terms_when_wireless_lease_has_root(
    suite, deployer, provider, paying
):
    n = active_node(suite, deployer, provider, WIRELESS)
    suite.market.setPrice(n.address, 5 * TOKEN, sender=provider)
    with ape.reverts(suite.market.InvalidStorageTerms, dataRoot=ROOT, dataSize=0):
        open_lease(suite, paying, n, 1, root=ROOT)
    open_lease(suite, paying, n, 1)


def test_openLease_reverts_when_allowance_too_low(suite, node, deployer, customer):
    fund(suite, deployer, customer, 10_000)
    suite.token.approve(suite.market.address, 2 * PRICE - 1, sender=customer)
    with ape.reverts(suite.token.ERC20InsufficientAllowance):
        open_lease(suite, customer, node, 2)


def test_openLease_reverts_when_paused_and_succeeds_after_unpause(
    suite, node, paying, guardian, deployer
):
    suite.market.pause(sender=guardian)
    with ape.reverts(suite.market.EnforcedPause):
        open_lease(suite, paying, node, 1)
    suite.market.unpause(sender=deployer)
    assert open_lease(suite, paying, node, 1) == 1


# ---------------------------------------------------------------- confirmData (data receipts)


def _receipt(suite, node, lease_id, key=None, root=ROOT, size=CAPACITY) -> bytes:
    return sign_data_receipt(
        key or node.key, lease_id, root, size, chain.chain_id, suite.market.address
    )


def test_confirmData_records_the_nodes_receipt_once_and_matches_the_offchain_digest(
    suite, storage_node, paying, outsider
):
    lease_id = open_lease(suite, paying, storage_node, 2, root=ROOT, size=CAPACITY)
    digest = data_receipt_digest(
        lease_id, storage_node.address, ROOT, CAPACITY, chain.chain_id, suite.market.address
    )
    assert bytes(suite.market.dataReceiptDigest(lease_id)) == digest  # cross-language
    assert not suite.market.dataConfirmed(lease_id)
    tx = suite.market.confirmData(
        lease_id, _receipt(suite, storage_node, lease_id), sender=outsider
    )
    event = only_event(tx, "DataConfirmed")
    assert (event.leaseId, event.node) == (lease_id, storage_node.address)
    assert suite.market.dataConfirmed(lease_id)
    with ape.reverts(suite.market.DataAlreadyConfirmed, leaseId=lease_id):
        suite.market.confirmData(lease_id, _receipt(suite, storage_node, lease_id), sender=paying)


def test_confirmData_reverts_when_the_receipt_is_not_the_leases_nodes(suite, storage_node, paying):
    lease_id = open_lease(suite, paying, storage_node, 2, root=ROOT, size=CAPACITY)
    other = NodeKey.create()  # signs the lease's node's receipt: not the node
    message = lease_data_message(lease_id, storage_node.address, ROOT, CAPACITY, chain.chain_id,
                                 suite.market.address, "DataReceipt")  # fmt: skip
    forged = bytes(Account.sign_message(message, other.key).signature)
    with ape.reverts(suite.market.InvalidDataReceipt, leaseId=lease_id, recovered=other.address):
        suite.market.confirmData(lease_id, forged, sender=paying)
    wrong_root = _receipt(suite, storage_node, lease_id, root=b"\x01" * 32)  # other data
    with ape.reverts(suite.market.InvalidDataReceipt):
        suite.market.confirmData(lease_id, wrong_root, sender=paying)
    with ape.reverts(suite.market.InvalidDataReceipt, leaseId=lease_id, recovered=ZERO_ADDRESS):
        suite.market.confirmData(lease_id, b"\x01" * 64, sender=paying)  # malformed
    assert not suite.market.dataConfirmed(lease_id)


def test_confirmData_reverts_for_an_unknown_lease_and_a_lease_without_data(suite, node, paying):
    with ape.reverts(suite.market.UnknownLease, leaseId=999):
        suite.market.confirmData(999, b"\x01" * 65, sender=paying)
    lease_id = open_lease(suite, paying, node, 1)  # a compute lease
    with ape.reverts(suite.market.NotStorageLease, leaseId=lease_id):
        suite.market.confirmData(lease_id, b"\x01" * 65, sender=paying)


# ---------------------------------------------------------------- settle


def test_settle_pays_provider_epoch_by_epoch_minus_fee_when_epochs_end(
    suite, node, paying, provider, treasury, outsider
):
    lease_id = open_lease(suite, paying, node, 3)
    start = suite.market.getLease(lease_id).startEpoch
    p0, t0 = suite.token.balanceOf(provider), suite.token.balanceOf(treasury)

    def paid():
        return suite.token.balanceOf(provider) - p0, suite.token.balanceOf(treasury) - t0

    # Nothing before the start epoch has ended: neither in the opening epoch nor during the first.
    tx = suite.market.settle(lease_id, sender=outsider)
    assert paid() == (0, 0) and not [e for e in tx.events if e.event_name == "LeaseSettled"]
    advance_to_epoch(suite, start)
    suite.market.settle(lease_id, sender=outsider)
    assert paid() == (0, 0)
    assert suite.market.escrowOf(lease_id) == 3 * PRICE

    # One ended epoch: price less the fee to the provider, the fee to the treasury.
    advance_to_epoch(suite, start + 1)
    tx = suite.market.settle(lease_id, sender=outsider)
    fee = fee_of(PRICE)
    assert fee == 50 * TOKEN  # 500 bps of 1,000 PLN + 7 wei, rounded down
    assert paid() == (PRICE - fee, fee)
    assert suite.market.getLease(lease_id).paidThrough == start + 1
    assert suite.market.escrowOf(lease_id) == 2 * PRICE
    ev = only_event(tx, "LeaseSettled")
    assert (ev.leaseId, ev.paidThrough, ev.toProvider, ev.fee) == (
        lease_id,
        start + 1,
        PRICE - fee,
        fee,
    )
    assert conserved(suite)

    # Settling again within the same epoch pays nothing more.
    suite.market.settle(lease_id, sender=outsider)
    assert paid() == (PRICE - fee, fee)

    # Long past the end: only the two remaining epochs, in one payment (fee on the sum).
    advance_to_epoch(suite, start + 10)
    suite.market.settle(lease_id, sender=outsider)
    fee2 = fee_of(2 * PRICE)
    assert paid() == (PRICE - fee + 2 * PRICE - fee2, fee + fee2)
    assert suite.market.getLease(lease_id).paidThrough == start + 3
    assert suite.market.escrowOf(lease_id) == 0
    assert suite.token.balanceOf(suite.market.address) == 0
    suite.market.settle(lease_id, sender=outsider)
    assert paid() == (PRICE - fee + 2 * PRICE - fee2, fee + fee2)


def test_settle_returns_amount_paid_to_provider_when_epochs_ended(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    advance_to_epoch(suite, suite.market.getLease(lease_id).startEpoch + 2)
    assert suite.market.settle.call(lease_id) == 2 * PRICE - fee_of(2 * PRICE)


def test_settle_pays_no_fee_when_fee_zero(suite, node, paying, provider, treasury, deployer):
    suite.market.setFee(0, sender=deployer)
    lease_id = open_lease(suite, paying, node, 1)
    t0, p0 = suite.token.balanceOf(treasury), suite.token.balanceOf(provider)
    advance_to_epoch(suite, suite.market.getLease(lease_id).endEpoch)
    suite.market.settle(lease_id, sender=paying)
    assert suite.token.balanceOf(treasury) == t0
    assert suite.token.balanceOf(provider) - p0 == PRICE


def test_settle_reverts_when_lease_unknown(suite, node, paying):
    for lease_id in (0, 1):
        with ape.reverts(suite.market.UnknownLease, leaseId=lease_id):
            suite.market.settle(lease_id, sender=paying)
    open_lease(suite, paying, node, 1)
    with ape.reverts(suite.market.UnknownLease, leaseId=2):
        suite.market.settle(2, sender=paying)


# ---------------------------------------------------------------- pay only for proven service


def report_epoch(suite, epoch: int, failed=(), failed_demand: int = 0):
    """The committee's report of `epoch` (ended), recording `failed` leased nodes."""
    _advance_only(suite, max(epoch + 1, suite.hub.currentEpoch()))
    report, _ = make_report(suite, epoch, total=0)
    report = replace(report, failed_nodes=tuple(sorted(failed, key=lambda a: int(a, 16))),
                     failed_demand=failed_demand)  # fmt: skip
    return submit(suite, report, _ORACLES[:3], sender=_ORACLES[0])


def test_settle_refunds_the_customer_for_an_epoch_the_node_failed(
    suite, node, paying, provider, treasury, outsider
):
    """Customers paid for failed service: a lease paid the provider for every ended epoch, even
    when the node failed every audit. Now the epochs the hub records as failed go back to the
    customer; the others pay the provider."""
    lease_id = open_lease(suite, paying, node, 3)
    start = suite.market.getLease(lease_id).startEpoch
    report_epoch(suite, start)
    report_epoch(suite, start + 1, failed=[node.address], failed_demand=PRICE)
    report_epoch(suite, start + 2)
    assert suite.market.failedIn(node.address, start + 1)
    assert not suite.market.failedIn(node.address, start)
    c0, p0, t0 = (suite.token.balanceOf(a) for a in (paying, provider, treasury))
    tx = suite.market.settle(lease_id, sender=outsider)
    assert suite.token.balanceOf(paying) - c0 == PRICE  # the failed epoch
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE)
    assert suite.token.balanceOf(treasury) - t0 == fee_of(2 * PRICE)
    ev = only_event(tx, "LeaseRefunded")
    assert (ev.leaseId, ev.epochs, ev.refund) == (lease_id, 1, PRICE)
    assert suite.market.escrowOf(lease_id) == 0 and conserved(suite)


def test_settle_pays_nothing_for_epochs_the_hub_has_not_settled(
    suite, node, paying, provider, outsider
):
    """An epoch the committee has not reported could still be recorded as failed: it stays in
    escrow until its report lands."""
    lease_id = open_lease(suite, paying, node, 3)
    start = suite.market.getLease(lease_id).startEpoch
    _advance_only(suite, start + 3)  # every epoch ended, none reported
    p0 = suite.token.balanceOf(provider)
    suite.market.settle(lease_id, sender=outsider)
    assert suite.token.balanceOf(provider) == p0 and suite.market.escrowOf(lease_id) == 3 * PRICE
    report_epoch(suite, start + 1)  # epochs before start + 2 settled (start skipped)
    suite.market.settle(lease_id, sender=outsider)
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE)
    assert suite.market.escrowOf(lease_id) == PRICE


def test_failed_epochs_are_counted_across_bitmap_words(suite, accounts, node, paying, provider):
    """Failures are kept as bits, 256 epochs per storage word: a lease spanning two words is
    refunded exactly its failed epochs."""
    hub = accounts[suite.hub.address]
    chain.set_balance(hub.address, 10**20)
    lease_id = open_lease(suite, paying, node, 300)
    start = suite.market.getLease(lease_id).startEpoch
    failed = [start, start + 1, start + 255 - (start % 256), start + 299]
    failed += [start + 256 - (start % 256)]  # the first epoch of the next word
    for e in sorted(set(failed)):
        suite.market.recordFailures(e, [node.address], sender=hub)
    _advance_only(suite, start + 300)
    report_ended(suite)
    c0 = suite.token.balanceOf(paying)
    tx = suite.market.settle(lease_id, sender=provider)
    assert only_event(tx, "LeaseRefunded").epochs == len(set(failed))
    assert suite.token.balanceOf(paying) - c0 == len(set(failed)) * PRICE


def test_recordFailures_reverts_Unauthorized_when_caller_is_not_the_hub(suite, node, deployer):
    with ape.reverts(suite.market.Unauthorized, caller=deployer.address):
        suite.market.recordFailures(0, [node.address], sender=deployer)


# ---------------------------------------------------------------- extendLease


def test_extendLease_pulls_escrow_and_adds_demand_when_customer_extends(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    lease = suite.market.getLease(lease_id)
    start, end = lease.startEpoch, lease.endEpoch
    balance = suite.token.balanceOf(paying)
    tx = suite.market.extendLease(lease_id, 3, sender=paying)
    assert balance - suite.token.balanceOf(paying) == 3 * PRICE
    assert suite.market.getLease(lease_id).endEpoch == end + 3
    assert suite.market.escrowOf(lease_id) == 5 * PRICE
    ev = only_event(tx, "LeaseExtended")
    assert (ev.leaseId, ev.endEpoch, ev.paid) == (lease_id, end + 3, 3 * PRICE)
    assert [suite.market.demandOf(e) for e in range(start - 1, end + 4)] == [0] + [PRICE] * 5 + [0]
    assert conserved(suite)


def test_extendLease_succeeds_when_last_epoch_in_progress(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    end = suite.market.getLease(lease_id).endEpoch
    advance_to_epoch(suite, end - 1)
    suite.market.extendLease(lease_id, 1, sender=paying)
    assert suite.market.getLease(lease_id).endEpoch == end + 1
    assert suite.market.demandOf(end) == PRICE


def test_extendLease_reverts_when_caller_not_customer(suite, node, paying, outsider):
    lease_id = open_lease(suite, paying, node, 2)
    with ape.reverts(suite.market.NotCustomer, leaseId=lease_id, caller=outsider.address):
        suite.market.extendLease(lease_id, 1, sender=outsider)


def test_extendLease_reverts_when_lease_ended(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    end = suite.market.getLease(lease_id).endEpoch
    advance_to_epoch(suite, end)
    with ape.reverts(suite.market.LeaseEnded, leaseId=lease_id, endEpoch=end):
        suite.market.extendLease(lease_id, 1, sender=paying)


def test_extendLease_reverts_when_lease_closed(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    suite.market.closeLease(lease_id, sender=paying)
    with ape.reverts(suite.market.LeaseClosed, leaseId=lease_id):
        suite.market.extendLease(lease_id, 1, sender=paying)


def test_extendLease_reverts_with_invalid_duration_when_zero_or_past_max(
    suite, deployer, provider, paying
):
    cheap = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(cheap.address, 1, sender=provider)
    lease_id = open_lease(suite, paying, cheap, 10)
    with ape.reverts(suite.market.InvalidDuration, epochs=0):
        suite.market.extendLease(lease_id, 0, sender=paying)
    with ape.reverts(suite.market.InvalidDuration, epochs=100_000 - 9):
        suite.market.extendLease(lease_id, 100_000 - 9, sender=paying)
    # Large enough to overflow end + epochs: still the custom error, not an arithmetic panic.
    with ape.reverts(suite.market.InvalidDuration, epochs=2**64 - 1):
        suite.market.extendLease(lease_id, 2**64 - 1, sender=paying)
    # Up to the limit is fine: 10 + 99,990 epochs = MAX_LEASE_EPOCHS.
    suite.market.extendLease(lease_id, 100_000 - 10, sender=paying)
    lease = suite.market.getLease(lease_id)
    assert lease.endEpoch - lease.startEpoch == 100_000
    assert suite.market.escrowOf(lease_id) == 100_000
    with ape.reverts(suite.market.InvalidDuration, epochs=1):
        suite.market.extendLease(lease_id, 1, sender=paying)


def test_extendLease_reverts_NodeNotEligible_when_node_exited(suite, node, paying, provider):
    """L-3: extendLease worked on an exited node, at the old price."""
    lease_id = open_lease(suite, paying, node, 3)
    suite.registry.exit(node.address, sender=provider)
    with ape.reverts(suite.market.NodeNotEligible, node=node.address):
        suite.market.extendLease(lease_id, 2, sender=paying)


def test_extendLease_reverts_PriceChanged_when_provider_changed_its_price(
    suite, node, paying, provider
):
    lease_id = open_lease(suite, paying, node, 3)
    suite.market.setPrice(node.address, 2 * PRICE, sender=provider)
    with ape.reverts(
        suite.market.PriceChanged, leaseId=lease_id, leasePrice=PRICE, currentPrice=2 * PRICE
    ):
        suite.market.extendLease(lease_id, 2, sender=paying)
    suite.market.setPrice(node.address, PRICE, sender=provider)
    suite.market.extendLease(lease_id, 2, sender=paying)
    assert (
        suite.market.getLease(lease_id).endEpoch - suite.market.getLease(lease_id).startEpoch == 5
    )


def test_extendLease_reverts_when_lease_unknown(suite, paying):
    with ape.reverts(suite.market.UnknownLease, leaseId=7):
        suite.market.extendLease(7, 1, sender=paying)


# ---------------------------------------------------------------- closeLease


def test_closeLease_refunds_everything_when_closed_before_start(
    suite, node, paying, provider, treasury
):
    balance = suite.token.balanceOf(paying)
    p0, t0 = suite.token.balanceOf(provider), suite.token.balanceOf(treasury)
    lease_id = open_lease(suite, paying, node, 4)
    lease = suite.market.getLease(lease_id)
    tx = suite.market.closeLease(lease_id, sender=paying)
    assert suite.token.balanceOf(paying) == balance
    assert (suite.token.balanceOf(provider), suite.token.balanceOf(treasury)) == (p0, t0)
    assert suite.market.escrowOf(lease_id) == 0
    assert suite.token.balanceOf(suite.market.address) == 0
    closed = suite.market.getLease(lease_id)
    assert closed.closed and closed.endEpoch == lease.startEpoch
    ev = only_event(tx, "LeaseTerminated")
    assert (ev.leaseId, ev.refund) == (lease_id, 4 * PRICE)
    assert all(
        suite.market.demandOf(e) == 0 for e in range(lease.startEpoch - 1, lease.endEpoch + 1)
    )


def test_closeLease_refunds_epochs_not_started_and_keeps_current_when_closed_mid_lease(
    suite, node, paying, provider, treasury, outsider
):
    lease_id = open_lease(suite, paying, node, 5)
    start, end = (
        suite.market.getLease(lease_id).startEpoch,
        suite.market.getLease(lease_id).endEpoch,
    )
    advance_to_epoch(suite, start + 2)  # epochs start, start+1 ended; start+2 in progress
    demand_before = [suite.market.demandOf(e) for e in range(start - 1, end + 1)]
    balance, p0, t0 = (suite.token.balanceOf(a) for a in (paying, provider, treasury))

    suite.market.closeLease(lease_id, sender=paying)
    # Settled the two ended epochs, refunded the two that have not started (start+3, start+4).
    assert suite.token.balanceOf(paying) - balance == 2 * PRICE
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE)
    assert suite.token.balanceOf(treasury) - t0 == fee_of(2 * PRICE)
    # The epoch in progress stays in escrow and is paid once it ends.
    assert suite.market.escrowOf(lease_id) == PRICE
    assert conserved(suite)
    demand_after = [suite.market.demandOf(e) for e in range(start - 1, end + 1)]
    assert demand_after[:4] == demand_before[:4] == [0, PRICE, PRICE, PRICE]
    assert demand_after[4:] == [0, 0, 0]

    advance_to_epoch(suite, start + 3)
    suite.market.settle(lease_id, sender=outsider)
    assert suite.token.balanceOf(provider) - p0 == 3 * PRICE - fee_of(2 * PRICE) - fee_of(PRICE)
    assert suite.market.escrowOf(lease_id) == 0
    assert suite.token.balanceOf(suite.market.address) == 0


def test_closeLease_refunds_nothing_when_lease_over(suite, node, paying, provider):
    lease_id = open_lease(suite, paying, node, 2)
    advance_to_epoch(suite, suite.market.getLease(lease_id).endEpoch + 1)
    balance, p0 = suite.token.balanceOf(paying), suite.token.balanceOf(provider)
    tx = suite.market.closeLease(lease_id, sender=paying)
    assert suite.token.balanceOf(paying) == balance
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE)
    assert [e.refund for e in tx.events if e.event_name == "LeaseTerminated"] == [0]
    assert suite.market.getLease(lease_id).closed


def test_closeLease_reverts_when_caller_not_customer(suite, node, paying, provider):
    lease_id = open_lease(suite, paying, node, 2)
    with ape.reverts(suite.market.NotCustomer, leaseId=lease_id, caller=provider.address):
        suite.market.closeLease(lease_id, sender=provider)


def test_closeLease_reverts_when_already_closed(suite, node, paying):
    lease_id = open_lease(suite, paying, node, 2)
    suite.market.closeLease(lease_id, sender=paying)
    with ape.reverts(suite.market.LeaseClosed, leaseId=lease_id):
        suite.market.closeLease(lease_id, sender=paying)


def test_closeLease_reverts_when_lease_unknown(suite, paying):
    with ape.reverts(suite.market.UnknownLease, leaseId=1):
        suite.market.closeLease(1, sender=paying)


def test_closeLease_while_paused_refunds_every_epoch_from_the_pause_on(
    suite, node, paying, provider, treasury, guardian, deployer
):
    """L-4: customers kept paying while the marketplace was paused (they could not close).
    Now a customer closes during a pause: the provider is paid the epochs ended before it, the
    customer gets back every epoch from the one the pause began in."""
    lease_id = open_lease(suite, paying, node, 10)
    start = suite.market.getLease(lease_id).startEpoch
    advance_to_epoch(suite, start + 2)  # start, start+1 ended
    suite.market.pause(sender=guardian)
    advance_to_epoch(suite, start + 5)  # three epochs pass while paused
    with ape.reverts(suite.market.EnforcedPause):
        suite.market.settle(lease_id, sender=provider)
    balance, p0, t0 = (suite.token.balanceOf(a) for a in (paying, provider, treasury))
    tx = suite.market.closeLease(lease_id, sender=paying)
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE)
    assert suite.token.balanceOf(treasury) - t0 == fee_of(2 * PRICE)
    assert suite.token.balanceOf(paying) - balance == 8 * PRICE  # start+2 .. start+9
    assert only_event(tx, "LeaseTerminated").refund == 8 * PRICE
    assert suite.market.escrowOf(lease_id) == 0
    assert conserved(suite)
    # Epochs not started lose their demand; started ones are final.
    assert suite.market.demandOf(start + 5) == PRICE
    assert suite.market.demandOf(start + 6) == 0
    suite.market.unpause(sender=deployer)
    assert suite.market.settle(lease_id, sender=provider).return_value == 0


def test_lease_keeps_the_fee_it_opened_with_when_the_fee_changes(
    suite, node, paying, provider, treasury, deployer
):
    """L-5: a fee increase applied to epochs already served. The fee is now the lease's."""
    lease_id = open_lease(suite, paying, node, 3)
    assert suite.market.getLease(lease_id).feeBps == 500
    start = suite.market.getLease(lease_id).startEpoch
    advance_to_epoch(suite, start + 2)
    suite.market.setFee(2_000, sender=deployer)
    t0, p0 = suite.token.balanceOf(treasury), suite.token.balanceOf(provider)
    suite.market.settle(lease_id, sender=provider)
    assert suite.token.balanceOf(treasury) - t0 == fee_of(2 * PRICE, 500)
    assert suite.token.balanceOf(provider) - p0 == 2 * PRICE - fee_of(2 * PRICE, 500)
    later = open_lease(suite, paying, node, 1)
    assert suite.market.getLease(later).feeBps == 2_000


# ---------------------------------------------------------------- demand


def test_demandOf_sums_overlapping_leases_per_epoch_when_several_open(
    suite, node, storage_node, paying, deployer, outsider
):
    fund(suite, deployer, outsider, 100_000)
    suite.token.approve(suite.market.address, MAX_UINT, sender=outsider)
    sp = 300 * TOKEN
    c = suite.market.currentEpoch()
    open_lease(suite, paying, node, 3)  # [c+1, c+4) PRICE
    open_lease(suite, outsider, storage_node, 1, root=ROOT, size=4096)  # [c+1, c+2) sp
    _advance_only(suite, c + 1)
    b = open_lease(suite, outsider, node, 2)  # [c+2, c+4) PRICE
    open_lease(suite, paying, storage_node, 6, root=ROOT, size=1)  # [c+2, c+8) sp
    suite.market.extendLease(b, 2, sender=outsider)  # [c+2, c+6) PRICE
    expected = {
        c: 0,
        c + 1: PRICE + sp,
        c + 2: 2 * PRICE + sp,
        c + 3: 2 * PRICE + sp,
        c + 4: PRICE + sp,
        c + 5: PRICE + sp,
        c + 6: sp,
        c + 7: sp,
        c + 8: 0,
        c + 9: 0,
    }
    assert {e: suite.market.demandOf(e) for e in expected} == expected
    assert conserved(suite)


def test_demandOf_never_changes_for_started_epochs_when_leases_close_or_extend(suite, node, paying):
    c = suite.market.currentEpoch()
    a = open_lease(suite, paying, node, 4)  # [c+1, c+5)
    b = open_lease(suite, paying, node, 2)  # [c+1, c+3)
    _advance_only(suite, c + 2)
    started = {e: suite.market.demandOf(e) for e in range(c, c + 3)}
    assert started == {c: 0, c + 1: 2 * PRICE, c + 2: 2 * PRICE}
    suite.market.closeLease(a, sender=paying)
    suite.market.extendLease(b, 3, sender=paying)
    open_lease(suite, paying, node, 1)
    assert {e: suite.market.demandOf(e) for e in started} == started
    # Only future epochs moved: a refunded from c+3, b extended over [c+3, c+6), the new one at c+3.
    assert [suite.market.demandOf(e) for e in range(c + 3, c + 7)] == [2 * PRICE, PRICE, PRICE, 0]


# ---------------------------------------------------------------- finalizeDemand


def test_finalizeDemand_reverts_when_caller_not_emissions_controller(suite, deployer, outsider):
    epoch = suite.market.demandFinalizedThrough()
    _advance_only(suite, epoch + 2)
    for caller in (deployer, outsider):
        with ape.reverts(suite.market.Unauthorized, caller=caller.address):
            suite.market.finalizeDemand(epoch + 1, sender=caller)


def test_finalizeDemand_reverts_when_epoch_not_ended(suite, emissions):
    current = suite.market.currentEpoch()
    for epoch in (current, current + 1):
        with ape.reverts(suite.market.EpochNotEnded, epoch=epoch, currentEpoch=current):
            suite.market.finalizeDemand(epoch, sender=emissions)


def test_finalizeDemand_returns_demand_and_moves_cursor_when_epochs_ended(
    suite, node, paying, emissions
):
    cursor = suite.market.demandFinalizedThrough()
    c = suite.market.currentEpoch()
    open_lease(suite, paying, node, 2)  # [c+1, c+3)
    _advance_only(suite, c + 4)
    before = {e: suite.market.demandOf(e) for e in range(cursor, c + 5)}
    assert suite.market.finalizeDemand.call(c + 2, sender=emissions) == PRICE
    tx = suite.market.finalizeDemand(c + 2, sender=emissions)
    assert suite.market.demandFinalizedThrough() == c + 2
    assert [(e.event_name, e.epoch, e.demand) for e in tx.events] == [
        ("DemandFinalized", c + 2, PRICE)
    ]
    # Views agree before and after, on both sides of the cursor.
    assert {e: suite.market.demandOf(e) for e in before} == before
    # The finalized epoch again: same answer, no event; the next one walks from the cursor.
    assert suite.market.finalizeDemand.call(c + 2, sender=emissions) == PRICE
    assert suite.market.finalizeDemand.call(c + 3, sender=emissions) == 0


def test_finalizeDemand_reverts_when_epoch_below_cursor(suite, emissions):
    cursor = suite.market.demandFinalizedThrough()
    _advance_only(suite, cursor + 3)
    suite.market.finalizeDemand(cursor + 2, sender=emissions)
    with ape.reverts(
        suite.market.DemandAlreadyFinalized, epoch=cursor + 1, finalizedThrough=cursor + 2
    ):
        suite.market.finalizeDemand(cursor + 1, sender=emissions)


# ---------------------------------------------------------------- owner settings and wiring


def test_setFee_reverts_when_above_max_or_not_owner(suite, deployer, guardian):
    with ape.reverts(suite.market.InvalidParameter, name=b32("feeBps"), value=2_001):
        suite.market.setFee(2_001, sender=deployer)
    with ape.reverts(suite.market.OwnableUnauthorizedAccount, account=guardian.address):
        suite.market.setFee(100, sender=guardian)
    tx = suite.market.setFee(2_000, sender=deployer)
    assert suite.market.feeBps() == 2_000
    assert [(e.event_name, e.feeBps) for e in tx.events] == [("FeeSet", 2_000)]


def test_setTreasury_reverts_when_zero_address(suite, deployer, outsider):
    with ape.reverts(suite.market.ZeroAddress):
        suite.market.setTreasury(ape.utils.ZERO_ADDRESS, sender=deployer)
    suite.market.setTreasury(outsider, sender=deployer)
    assert suite.market.treasury() == outsider.address


def test_setEmissionsController_reverts_when_already_set(suite, deployer):
    assert suite.market.emissionsController() == suite.emissions.address
    with ape.reverts(suite.market.AlreadySet, current=suite.emissions.address):
        suite.market.setEmissionsController(suite.emissions, sender=deployer)


def test_setEmissionsController_reverts_with_clock_mismatch_when_genesis_differs(
    suite, deployer, guardian, treasury
):
    other = deployer.deploy(
        project.Marketplace,
        deployer,
        guardian,
        suite.token,
        suite.registry,
        treasury,
        500,
        suite.market.genesis() + 60,
        suite.market.epochDuration(),
    )
    with ape.reverts(
        other.ClockMismatch,
        genesis=suite.emissions.genesis(),
        epochDuration=suite.emissions.epochDuration(),
    ):
        other.setEmissionsController(suite.emissions, sender=deployer)


# ---------------------------------------------------------------- ghost model


@dataclass
class GhostLease:
    customer: str
    owner: str
    price: int
    start: int
    end: int
    paid: int
    closed: bool = False


class MarketModel:
    """Drives the real marketplace and a Python model of it; `check` compares them. Every
    transaction is mined at a timestamp the model chose, so both agree on the epoch."""

    def __init__(self, suite, nodes, customers, treasury, oracles):
        self.suite, self.market, self.token = suite, suite.market, suite.token
        self.oracles = oracles
        self.nodes = nodes  # (node address, owner address, price)
        self.customers = customers
        self.treasury = treasury.address
        self.fee_bps = self.market.feeBps()
        self.genesis, self.duration = self.market.genesis(), self.market.epochDuration()
        self.now = chain.blocks.head.timestamp
        self.leases: list[GhostLease] = []
        accounts = {c.address for c in customers} | {o for _, o, _ in nodes} | {self.treasury}
        self.balances = {a: self.token.balanceOf(a) for a in accounts}
        self.frozen: dict[int, int] = {}

    def epoch(self, timestamp: int | None = None) -> int:
        t = self.now if timestamp is None else timestamp
        return 0 if t < self.genesis else (t - self.genesis) // self.duration

    def _tick(self) -> int:
        """The next block's timestamp (one second later) and its epoch."""
        self.now += 1
        chain.pending_timestamp = self.now
        return self.epoch()

    def advance(self, epochs: int, offset: int) -> None:
        self.now = max(self.now + 1, self.market.epochStart(self.epoch() + epochs) + offset)
        chain.pending_timestamp = self.now
        chain.mine()
        # The committee reports the ended epochs (the marketplace pays only settled ones).
        if self.suite.hub.nextEpoch() < self.epoch():
            report, _ = make_report(self.suite, self.epoch() - 1, total=0)
            self._tick()
            submit(self.suite, report, self.oracles[:3], sender=self.oracles[0])

    def _settle(self, lease: GhostLease, current: int) -> None:
        # Only epochs the hub has settled are paid (none failed here: no failure recorded).
        up_to = min(lease.end, current, self.suite.hub.nextEpoch())
        if up_to <= lease.paid:
            return
        amount = lease.price * (up_to - lease.paid)
        fee = amount * self.fee_bps // 10_000
        self.balances[lease.owner] += amount - fee
        self.balances[self.treasury] += fee
        lease.paid = up_to

    def open(self, customer, node_index: int, epochs: int) -> None:
        node, owner, price = self.nodes[node_index]
        current = self._tick()
        self.market.openLease(node, REGION, epochs, price, ZERO32, 0, sender=customer)
        self.leases.append(
            GhostLease(
                customer.address, owner, price, current + 1, current + 1 + epochs, current + 1
            )
        )
        self.balances[customer.address] -= price * epochs
        assert self.market.leaseCount() == len(self.leases)

    def extend(self, index: int, epochs: int) -> None:
        lease, lease_id = self.leases[index], index + 1
        customer = next(c for c in self.customers if c.address == lease.customer)
        current = self._tick()
        if lease.closed:
            with ape.reverts(self.market.LeaseClosed, leaseId=lease_id):
                self.market.extendLease(lease_id, epochs, sender=customer)
        elif lease.end <= current:
            with ape.reverts(self.market.LeaseEnded, leaseId=lease_id, endEpoch=lease.end):
                self.market.extendLease(lease_id, epochs, sender=customer)
        else:
            self.market.extendLease(lease_id, epochs, sender=customer)
            lease.end += epochs
            self.balances[customer.address] -= lease.price * epochs

    def close(self, index: int) -> None:
        lease, lease_id = self.leases[index], index + 1
        customer = next(c for c in self.customers if c.address == lease.customer)
        current = self._tick()
        if lease.closed:
            with ape.reverts(self.market.LeaseClosed, leaseId=lease_id):
                self.market.closeLease(lease_id, sender=customer)
            return
        self.market.closeLease(lease_id, sender=customer)
        self._settle(lease, current)
        lease.closed = True
        first_unstarted = current + 1
        if lease.end > first_unstarted:
            self.balances[customer.address] += lease.price * (lease.end - first_unstarted)
            lease.end = first_unstarted

    def settle(self, index: int, sender) -> None:
        current = self._tick()
        self.market.settle(index + 1, sender=sender)
        self._settle(self.leases[index], current)

    def demand(self, epoch: int) -> int:
        return sum(lease.price for lease in self.leases if lease.start <= epoch < lease.end)

    def check(self, full: bool = False) -> None:
        escrow = [lease.price * (lease.end - lease.paid) for lease in self.leases]
        assert [self.market.escrowOf(i + 1) for i in range(len(self.leases))] == escrow
        # Conservation: the marketplace holds exactly the escrow of its leases.
        assert self.token.balanceOf(self.market.address) == sum(escrow)
        assert {a: self.token.balanceOf(a) for a in self.balances} == self.balances
        current = self.epoch()
        if full:
            last = max([lease.end for lease in self.leases], default=current) + 1
            window = range(max(current - 30, 0), last + 1)
        else:
            window = range(max(current - 1, 0), current + 4)
        for e in window:
            got = self.market.demandOf(e)
            assert got == self.demand(e), e
            if e <= current:
                # Once an epoch has started its demand never changes.
                assert self.frozen.setdefault(e, got) == got, e


@pytest.fixture
def market_model_parts(suite, deployer, provider, provider2, customer, outsider):
    nodes = []
    for owner, price in ((provider, 700 * TOKEN + 3), (provider2, 40 * TOKEN + 9)):
        n = active_node(suite, deployer, owner, COMPUTE)
        suite.market.setPrice(n.address, price, sender=owner)
        nodes.append((n.address, owner.address, price))
    customers = [customer, outsider]
    for c in customers:
        fund(suite, deployer, c, 500_000)
        suite.token.approve(suite.market.address, MAX_UINT, sender=c)
    return nodes, customers


def test_invariant_market_balance_equals_escrow_when_scenario_runs(
    suite, market_model_parts, treasury
):
    nodes, (alice, bob) = market_model_parts
    m = MarketModel(suite, nodes, [alice, bob], treasury, _ORACLES)
    steps = [
        lambda: m.open(alice, 0, 3),
        lambda: m.open(bob, 1, 5),
        lambda: m.close(0),  # before start: full refund
        lambda: m.open(alice, 0, 4),
        lambda: m.advance(1, 5),
        lambda: m.open(bob, 0, 2),
        lambda: m.extend(1, 2),
        lambda: m.advance(2, 30),
        lambda: m.settle(3, alice),
        lambda: m.close(1),  # mid-lease: current epoch stays in escrow
        lambda: m.extend(1, 1),  # closed
        lambda: m.close(1),  # closed again
        lambda: m.settle(2, bob),
        lambda: m.advance(1, 1),
        lambda: m.settle(1, alice),
        lambda: m.advance(3, 10),
        lambda: m.extend(3, 1),  # ended
        lambda: m.close(3),  # over: no refund
        lambda: m.settle(2, alice),
        lambda: m.close(2),
    ]
    m.check(full=True)
    for step in steps:
        step()
        m.check()
    m.check(full=True)
    assert suite.token.balanceOf(suite.market.address) == 0


def test_invariant_model_agrees_with_marketplace_when_random_operations(
    suite, market_model_parts, treasury
):
    nodes, customers = market_model_parts

    class MarketMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.model = MarketModel(suite, nodes, customers, treasury, _ORACLES)

        @rule(customer=st.integers(0, 1), node=st.integers(0, 1), epochs=st.integers(1, 4))
        def open_lease(self, customer, node, epochs):
            self.model.open(customers[customer], node, epochs)

        @rule(pick=st.integers(0, 10**6), epochs=st.integers(1, 3))
        def extend_lease(self, pick, epochs):
            if self.model.leases:
                self.model.extend(pick % len(self.model.leases), epochs)

        @rule(pick=st.integers(0, 10**6))
        def close_lease(self, pick):
            if self.model.leases:
                self.model.close(pick % len(self.model.leases))

        @rule(pick=st.integers(0, 10**6), caller=st.integers(0, 1))
        def settle(self, pick, caller):
            if self.model.leases:
                self.model.settle(pick % len(self.model.leases), customers[caller])

        @rule(epochs=st.integers(0, 2), offset=st.integers(0, 59))
        def advance(self, epochs, offset):
            self.model.advance(epochs, offset)

        @invariant()
        def agrees(self):
            self.model.check()

        def teardown(self):
            try:
                self.model.check(full=True)
            finally:
                # Every example starts from the same chain, even after a failure (replays).
                chain.restore(self.snapshot)

    run_state_machine_as_test(
        MarketMachine,
        settings=settings(
            max_examples=6,
            stateful_step_count=15,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
