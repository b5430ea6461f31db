"""SlashingManager: slashes queued from signed reports, the dispute window, execution (burn +
treasury), jailing of repeat offenders, and the on-chain storage dispute: the Python ChunkTree
builds the lease's data root and proofs, the contract verifies them."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from ape import chain
from plinth_testlib import (
    COMPUTE,
    REGION,
    STORAGE,
    active_node,
    advance_seconds,
    advance_to_epoch,
    b32,
    fund,
    make_report,
    register,
    reverts,
    reverts_nested,
    settle_release,
    submit,
)

from oracle.protocol.eip712 import SlashRequest
from oracle.protocol.merkle import (
    CHUNK_SIZE,
    ChunkTree,
    chunk_leaf,
    split_chunks,
    verify_chunk_proof,
)
from scripts._deploy import TOKEN

# SlashReason
NONE, INVALID_COMPUTE, MISSED_DEADLINE, STORAGE_AUDIT_FAILED, LOCATION_SPOOFED, OFFLINE = range(6)
# SlashStatus
PENDING, EXECUTED, DISPUTED, CANCELLED = 1, 2, 3, 4
# NodeStatus
ACTIVE, JAILED = 2, 3
BPS = 10_000
DATA_SIZE = 5_000  # 5 chunks of 1024 bytes, the last zero-padded


# ---------------------------------------------------------------- helpers


def report_slashes(suite, oracles, *slashes: SlashRequest):
    """Settles the hub's next epoch with `slashes`; returns (receipt, slash ids)."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    first = suite.slashing.slashCount() + 1
    report, _ = make_report(suite, epoch, slashes=slashes)
    tx = submit(suite, report, oracles[:3], sender=oracles[0])
    return tx, list(range(first, first + len(slashes)))


def signed_report_reverts(suite, oracles, *slashes: SlashRequest):
    """A signed report carrying `slashes`, ready to submit (for the revert tests)."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch, slashes=slashes)
    return lambda: submit(suite, report, oracles[:3], sender=oracles[0])


@dataclass
class StorageLease:
    node: object
    lease_id: int
    data: bytes
    chunks: list[bytes]
    tree: ChunkTree


def open_storage_lease(suite, deployer, provider, customer, extra: int = 0) -> StorageLease:
    """An active storage node and a lease whose data root is a ChunkTree over random data."""
    node = active_node(suite, deployer, provider, STORAGE, extra=extra)
    price = 10 * TOKEN
    suite.market.setPrice(node.address, price, sender=provider)
    data = os.urandom(DATA_SIZE)
    tree = ChunkTree.from_data(data)
    fund(suite, deployer, customer, 100)
    suite.token.approve(suite.market.address, 2 * price, sender=customer)
    suite.market.openLease(node.address, REGION, 2, price, tree.root, DATA_SIZE, sender=customer)
    lease_id = suite.market.leaseCount()
    lease = suite.market.getLease(lease_id)
    assert bytes(lease.dataRoot) == tree.root and lease.dataSize == DATA_SIZE
    return StorageLease(node, lease_id, data, split_chunks(data), tree)


@pytest.fixture
def compute_node(suite, deployer, provider):
    return active_node(suite, deployer, provider, COMPUTE)


@pytest.fixture
def storage(suite, deployer, provider, customer):
    return open_storage_lease(suite, deployer, provider, customer)


# ---------------------------------------------------------------- the Python encoding == Solidity
def test_chunkLeaf_equals_python_chunk_leaf(suite):
    cases = [
        (0, os.urandom(CHUNK_SIZE)),
        (4, split_chunks(os.urandom(DATA_SIZE))[-1]),
        (2**64 - 1, b""),
        (2**256 - 1, b"\x01"),
        (7, os.urandom(33)),
    ]
    for index, chunk in cases:
        assert bytes(suite.slashing.chunkLeaf(index, chunk)) == chunk_leaf(index, chunk)


def test_chunk_tree_matches_contract_layout_when_data_is_5000_random_bytes(storage):
    # 5000 bytes -> 5 chunks, the last padded with 120 zero bytes; depth 3 (5 leaves padded to 8).
    assert len(storage.chunks) == 5 and all(len(c) == CHUNK_SIZE for c in storage.chunks)
    assert storage.chunks[-1] == storage.data[4 * CHUNK_SIZE :] + b"\x00" * (
        5 * CHUNK_SIZE - DATA_SIZE
    )
    for i, chunk in enumerate(storage.chunks):
        proof = storage.tree.proof(i)
        assert len(proof) == 3
        assert verify_chunk_proof(storage.tree.root, 5, i, chunk, proof)


# ---------------------------------------------------------------- queueing
def test_queueSlashes_reverts_Unauthorized_when_caller_not_hub(
    suite, deployer, oracles, outsider, compute_node
):
    request = SlashRequest(compute_node.address, OFFLINE).as_tuple()
    for caller in (outsider, deployer, oracles[0]):
        with reverts(suite.slashing.Unauthorized, caller=caller.address):
            suite.slashing.queueSlashes(1, [request], sender=caller)


@pytest.mark.parametrize("reason", [NONE, 6, 255])
def test_submitReport_reverts_InvalidReason_when_reason_out_of_range(
    suite, oracles, compute_node, reason
):
    send = signed_report_reverts(suite, oracles, SlashRequest(compute_node.address, reason))
    with reverts_nested(suite.slashing.InvalidReason, reason=reason):
        send()


def test_submitReport_reverts_UnknownNode_when_node_not_registered(suite, oracles, outsider):
    send = signed_report_reverts(suite, oracles, SlashRequest(outsider.address, OFFLINE))
    with reverts_nested(suite.slashing.UnknownNode, node=outsider.address):
        send()


@pytest.mark.parametrize("reason", [INVALID_COMPUTE, MISSED_DEADLINE, LOCATION_SPOOFED, OFFLINE])
def test_queueSlashes_sets_amount_to_penalty_of_slashable_stake_when_part_unbonding(
    suite, deployer, provider, oracles, reason
):
    node = active_node(suite, deployer, provider, COMPUTE, extra=3_000 * TOKEN)
    suite.vault.requestUnbond(node.address, 2_000 * TOKEN, sender=provider)
    slashable = suite.vault.slashableOf(node.address)
    assert slashable == suite.registry.minStake(COMPUTE) + 3_000 * TOKEN  # bonded + unbonding
    evidence = os.urandom(32)

    tx, [slash_id] = report_slashes(
        suite, oracles, SlashRequest(node.address, reason, evidence=evidence)
    )

    amount = slashable * suite.slashing.penaltyBps(reason) // BPS
    assert amount > 0
    executable_at = chain.blocks.head.timestamp + suite.slashing.disputeWindow()
    slash = suite.slashing.getSlash(slash_id)
    assert slash.node == node.address
    assert slash.reason == reason
    assert slash.status == PENDING
    assert slash.amount == amount
    assert slash.executableAt == executable_at
    assert suite.slashing.pendingSlashCount(node.address) == 1
    [event] = tx.events.filter(suite.slashing.SlashQueued)
    assert (event.slashId, event.node, event.reason, event.amount) == (
        slash_id,
        node.address,
        reason,
        amount,
    )
    assert event.epoch == suite.hub.nextEpoch() - 1
    assert bytes(event.evidence) == evidence
    assert event.executableAt == executable_at


# ---------------------------------------------------------------- execution
@pytest.mark.parametrize("burn_bps", [5_000, 7_500, 10_000])
def test_executeSlash_burns_share_and_pays_treasury_when_window_passed(
    suite, deployer, provider, treasury, oracles, outsider, compute_node, burn_bps
):
    suite.slashing.setBurnShare(burn_bps, sender=deployer)
    assert suite.slashing.treasury() == treasury.address
    _, [slash_id] = report_slashes(
        suite, oracles, SlashRequest(compute_node.address, INVALID_COMPUTE)
    )
    slash = suite.slashing.getSlash(slash_id)

    with reverts(
        suite.slashing.DisputeWindowOpen, slashId=slash_id, executableAt=slash.executableAt
    ):
        suite.slashing.executeSlash(slash_id, sender=outsider)
    advance_seconds(suite.slashing.disputeWindow() - 10)
    with reverts(suite.slashing.DisputeWindowOpen, slashId=slash_id):
        suite.slashing.executeSlash(slash_id, sender=outsider)
    advance_seconds(10)

    stake = suite.vault.slashableOf(compute_node.address)
    supply = suite.token.totalSupply()
    treasury_before = suite.token.balanceOf(treasury)
    vault_before = suite.token.balanceOf(suite.vault.address)
    tx = suite.slashing.executeSlash(slash_id, sender=outsider)  # anyone may execute

    burned = slash.amount * burn_bps // BPS
    to_treasury = slash.amount - burned
    assert suite.token.totalSupply() == supply - burned
    assert suite.token.balanceOf(treasury) - treasury_before == to_treasury
    assert vault_before - suite.token.balanceOf(suite.vault.address) == slash.amount
    assert suite.token.balanceOf(suite.slashing.address) == 0
    assert suite.vault.slashableOf(compute_node.address) == stake - slash.amount
    assert suite.slashing.getSlash(slash_id).status == EXECUTED
    assert suite.slashing.pendingSlashCount(compute_node.address) == 0
    assert suite.registry.getNode(compute_node.address).faults == 1
    [event] = tx.events.filter(suite.slashing.SlashExecuted)
    assert (event.slashId, event.node, event.slashed, event.burned, event.toTreasury) == (
        slash_id,
        compute_node.address,
        slash.amount,
        burned,
        to_treasury,
    )


def test_executeSlash_reverts_NotPending_when_executed_twice(
    suite, oracles, outsider, compute_node
):
    _, [slash_id] = report_slashes(suite, oracles, SlashRequest(compute_node.address, OFFLINE))
    advance_seconds(suite.slashing.disputeWindow())
    suite.slashing.executeSlash(slash_id, sender=outsider)
    with reverts(suite.slashing.NotPending, slashId=slash_id, status=EXECUTED):
        suite.slashing.executeSlash(slash_id, sender=outsider)


@pytest.mark.parametrize("slash_id", [0, 1, 2**256 - 1])
def test_executeSlash_reverts_UnknownSlash_when_id_never_queued(
    suite, deployer, outsider, slash_id
):
    assert suite.slashing.slashCount() == 0
    with reverts(suite.slashing.UnknownSlash, slashId=slash_id):
        suite.slashing.executeSlash(slash_id, sender=outsider)
    with reverts(suite.slashing.UnknownSlash, slashId=slash_id):
        suite.slashing.disputeStorageSlash(slash_id, b"\x00" * CHUNK_SIZE, [], sender=outsider)
    with reverts(suite.slashing.UnknownSlash, slashId=slash_id):
        suite.slashing.cancelSlash(slash_id, sender=deployer)


def test_executeSlash_reverts_EnforcedPause_when_paused(
    suite, deployer, guardian, oracles, outsider, compute_node
):
    _, [slash_id] = report_slashes(suite, oracles, SlashRequest(compute_node.address, OFFLINE))
    advance_seconds(suite.slashing.disputeWindow())
    suite.slashing.pause(sender=guardian)
    with reverts(suite.slashing.EnforcedPause):
        suite.slashing.executeSlash(slash_id, sender=outsider)
    suite.slashing.unpause(sender=deployer)
    suite.slashing.executeSlash(slash_id, sender=outsider)


def test_executeSlash_jails_node_when_faults_reach_faults_to_jail(
    suite, oracles, outsider, compute_node
):
    faults_to_jail, _ = suite.registry.jailPolicy()
    assert faults_to_jail == 3
    reasons = (OFFLINE, MISSED_DEADLINE, OFFLINE)
    _, ids = report_slashes(
        suite, oracles, *(SlashRequest(compute_node.address, r) for r in reasons)
    )
    assert suite.slashing.pendingSlashCount(compute_node.address) == 3
    advance_seconds(suite.slashing.disputeWindow())
    for n, slash_id in enumerate(ids, start=1):
        assert suite.registry.statusOf(compute_node.address) == ACTIVE
        tx = suite.slashing.executeSlash(slash_id, sender=outsider)
        assert suite.registry.getNode(compute_node.address).faults == n
    assert suite.registry.statusOf(compute_node.address) == JAILED
    assert [e.node for e in tx.events.filter(suite.registry.NodeJailed)] == [compute_node.address]
    assert suite.slashing.pendingSlashCount(compute_node.address) == 0


def test_executeSlash_jails_node_when_faults_span_several_reports(
    suite, oracles, outsider, compute_node
):
    for n in range(1, 4):
        _, [slash_id] = report_slashes(suite, oracles, SlashRequest(compute_node.address, OFFLINE))
        advance_seconds(suite.slashing.disputeWindow())
        suite.slashing.executeSlash(slash_id, sender=outsider)
        assert suite.registry.statusOf(compute_node.address) == (JAILED if n == 3 else ACTIVE)


# ---------------------------------------------------------------- storage disputes
@pytest.mark.parametrize("index", [0, 2, 4], ids=["first", "middle", "last-padded"])
def test_disputeStorageSlash_cancels_slash_when_chunk_and_proof_valid(
    suite, deployer, provider, customer, oracles, outsider, index
):
    extra = 1_000 * TOKEN
    s = open_storage_lease(suite, deployer, provider, customer, extra=extra)
    # The provider unbonds the extra stake; it matures, but a pending slash blocks withdrawal.
    suite.vault.requestUnbond(s.node.address, extra, sender=provider)
    advance_seconds(suite.vault.unbondingDelay() + 1)
    request = SlashRequest(
        s.node.address,
        STORAGE_AUDIT_FAILED,
        lease_id=s.lease_id,
        chunk_index=index,
        evidence=os.urandom(32),
    )
    _, [slash_id] = report_slashes(suite, oracles, request)
    slash = suite.slashing.getSlash(slash_id)
    assert (slash.leaseId, slash.chunkIndex, slash.status) == (s.lease_id, index, PENDING)
    with reverts(suite.vault.PendingSlash, node=s.node.address):
        suite.vault.withdraw(s.node.address, sender=provider)

    # Anyone holding the data can dispute.
    tx = suite.slashing.disputeStorageSlash(
        slash_id, s.chunks[index], s.tree.proof(index), sender=outsider
    )

    assert suite.slashing.getSlash(slash_id).status == DISPUTED
    assert suite.slashing.pendingSlashCount(s.node.address) == 0
    [event] = tx.events.filter(suite.slashing.SlashDisputed)
    assert (event.slashId, event.node, event.disputer) == (
        slash_id,
        s.node.address,
        outsider.address,
    )
    last_release = suite.vault.unbondingEntries(s.node.address)[-1].releaseAt
    settle_release(suite, oracles, last_release)
    before = suite.token.balanceOf(provider)
    suite.vault.withdraw(s.node.address, sender=provider)
    assert suite.token.balanceOf(provider) - before == extra
    # A disputed slash can be neither executed nor disputed again.
    advance_seconds(suite.slashing.disputeWindow())
    with reverts(suite.slashing.NotPending, slashId=slash_id, status=DISPUTED):
        suite.slashing.executeSlash(slash_id, sender=outsider)


def _storage_slash(suite, oracles, s: StorageLease, index: int = 2) -> int:
    request = SlashRequest(
        s.node.address, STORAGE_AUDIT_FAILED, lease_id=s.lease_id, chunk_index=index
    )
    _, [slash_id] = report_slashes(suite, oracles, request)
    return slash_id


def test_disputeStorageSlash_reverts_InvalidChunkProof_when_chunk_wrong(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 2)
    proof = storage.tree.proof(2)
    wrong = bytearray(storage.chunks[2])
    wrong[100] ^= 1
    bad_chunks = [
        bytes(wrong),  # one bit flipped
        storage.chunks[3],  # another chunk of the same file
        b"\x00" * CHUNK_SIZE,  # zeros
        storage.chunks[2][:-1],  # one byte short
        storage.chunks[2] + b"\x00",  # one byte long
    ]
    for chunk in bad_chunks:
        with reverts(suite.slashing.InvalidChunkProof, slashId=slash_id):
            suite.slashing.disputeStorageSlash(slash_id, chunk, proof, sender=outsider)
    assert suite.slashing.getSlash(slash_id).status == PENDING


def test_disputeStorageSlash_reverts_InvalidChunkProof_when_last_chunk_not_padded(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 4)
    raw_tail = storage.data[4 * CHUNK_SIZE :]
    assert len(raw_tail) == DATA_SIZE - 4 * CHUNK_SIZE
    with reverts(suite.slashing.InvalidChunkProof, slashId=slash_id):
        suite.slashing.disputeStorageSlash(
            slash_id, raw_tail, storage.tree.proof(4), sender=outsider
        )


def test_disputeStorageSlash_reverts_InvalidChunkProof_when_index_wrong(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 2)
    # A valid (chunk, proof) pair, but for another index than the slash names.
    for other in (0, 1, 3, 4):
        assert verify_chunk_proof(
            storage.tree.root, 5, other, storage.chunks[other], storage.tree.proof(other)
        )
        with reverts(suite.slashing.InvalidChunkProof, slashId=slash_id):
            suite.slashing.disputeStorageSlash(
                slash_id, storage.chunks[other], storage.tree.proof(other), sender=outsider
            )


def test_disputeStorageSlash_reverts_InvalidChunkProof_when_proof_length_wrong(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 2)
    proof = storage.tree.proof(2)
    for bad in (proof[:-1], [*proof, b"\x00" * 32], [], [os.urandom(32) for _ in proof]):
        with reverts(suite.slashing.InvalidChunkProof, slashId=slash_id):
            suite.slashing.disputeStorageSlash(slash_id, storage.chunks[2], bad, sender=outsider)


def test_disputeStorageSlash_accepts_when_just_before_window_closes(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 1)
    executable_at = suite.slashing.getSlash(slash_id).executableAt
    chain.pending_timestamp = executable_at - 1
    suite.slashing.disputeStorageSlash(
        slash_id, storage.chunks[1], storage.tree.proof(1), sender=outsider
    )
    assert chain.blocks.head.timestamp == executable_at - 1
    assert suite.slashing.getSlash(slash_id).status == DISPUTED


def test_disputeStorageSlash_reverts_DisputeWindowClosed_when_window_passed(
    suite, oracles, outsider, storage
):
    slash_id = _storage_slash(suite, oracles, storage, 1)
    executable_at = suite.slashing.getSlash(slash_id).executableAt
    advance_seconds(suite.slashing.disputeWindow())
    with reverts(suite.slashing.DisputeWindowClosed, slashId=slash_id, executableAt=executable_at):
        suite.slashing.disputeStorageSlash(
            slash_id, storage.chunks[1], storage.tree.proof(1), sender=outsider
        )
    # ...and it executes.
    suite.slashing.executeSlash(slash_id, sender=outsider)
    assert suite.slashing.getSlash(slash_id).status == EXECUTED


@pytest.mark.parametrize("reason", [INVALID_COMPUTE, MISSED_DEADLINE, LOCATION_SPOOFED, OFFLINE])
def test_disputeStorageSlash_reverts_NotDisputable_when_not_storage_slash(
    suite, oracles, outsider, storage, reason
):
    # Even naming the lease and a valid chunk does not make another reason disputable.
    request = SlashRequest(storage.node.address, reason, lease_id=storage.lease_id, chunk_index=0)
    _, [slash_id] = report_slashes(suite, oracles, request)
    with reverts(suite.slashing.NotDisputable, slashId=slash_id, reason=reason):
        suite.slashing.disputeStorageSlash(
            slash_id, storage.chunks[0], storage.tree.proof(0), sender=outsider
        )


def test_submitReport_reverts_LeaseMismatch_when_storage_slash_names_lease_of_another_node(
    suite, deployer, provider, provider2, customer, oracles, storage
):
    other = register(suite, provider2, STORAGE)  # registered, no lease of its own
    first = suite.slashing.slashCount() + 1
    send = signed_report_reverts(
        suite,
        oracles,
        SlashRequest(other.address, STORAGE_AUDIT_FAILED, lease_id=storage.lease_id, chunk_index=0),
    )
    with reverts_nested(suite.slashing.LeaseMismatch, slashId=first, leaseId=storage.lease_id):
        send()


def test_submitReport_reverts_LeaseMismatch_when_storage_slash_names_unknown_lease(
    suite, oracles, storage
):
    unknown = suite.market.leaseCount() + 1
    send = signed_report_reverts(
        suite,
        oracles,
        SlashRequest(storage.node.address, OFFLINE),
        SlashRequest(storage.node.address, STORAGE_AUDIT_FAILED, lease_id=unknown, chunk_index=0),
    )
    # The second slash of the report is the mismatched one.
    with reverts_nested(
        suite.slashing.LeaseMismatch, slashId=suite.slashing.slashCount() + 2, leaseId=unknown
    ):
        send()


def test_submitReport_reverts_ChunkOutOfRange_when_storage_slash_names_chunk_past_the_data(
    suite, oracles, storage
):
    chunks = len(storage.chunks)
    send = signed_report_reverts(
        suite,
        oracles,
        SlashRequest(
            storage.node.address,
            STORAGE_AUDIT_FAILED,
            lease_id=storage.lease_id,
            chunk_index=chunks,
        ),
    )
    # An undisputable accusation never becomes a pending slash.
    with reverts_nested(
        suite.slashing.ChunkOutOfRange,
        slashId=suite.slashing.slashCount() + 1,
        chunkIndex=chunks,
        chunks=chunks,
    ):
        send()


def test_submitReport_reverts_LeaseMismatch_when_storage_slash_lease_id_exceeds_64_bits(
    suite, oracles, storage
):
    huge = 2**64 + storage.lease_id  # would alias the real lease if truncated to 64 bits
    send = signed_report_reverts(
        suite,
        oracles,
        SlashRequest(storage.node.address, STORAGE_AUDIT_FAILED, lease_id=huge, chunk_index=0),
    )
    with reverts_nested(
        suite.slashing.LeaseMismatch, slashId=suite.slashing.slashCount() + 1, leaseId=huge
    ):
        send()


# ---------------------------------------------------------------- governance
def test_cancelSlash_reverts_OwnableUnauthorizedAccount_when_caller_not_owner(
    suite, guardian, provider, oracles, outsider, compute_node
):
    _, [slash_id] = report_slashes(suite, oracles, SlashRequest(compute_node.address, OFFLINE))
    for caller in (outsider, guardian, provider, oracles[0]):
        with reverts(suite.slashing.OwnableUnauthorizedAccount, account=caller.address):
            suite.slashing.cancelSlash(slash_id, sender=caller)
    assert suite.slashing.getSlash(slash_id).status == PENDING


def test_cancelSlash_cancels_when_called_by_owner(suite, deployer, oracles, outsider, compute_node):
    _, [slash_id] = report_slashes(
        suite, oracles, SlashRequest(compute_node.address, INVALID_COMPUTE)
    )
    tx = suite.slashing.cancelSlash(slash_id, sender=deployer)
    assert suite.slashing.getSlash(slash_id).status == CANCELLED
    assert suite.slashing.pendingSlashCount(compute_node.address) == 0
    assert [(e.slashId, e.node) for e in tx.events.filter(suite.slashing.SlashCancelled)] == [
        (slash_id, compute_node.address)
    ]
    advance_seconds(suite.slashing.disputeWindow())
    with reverts(suite.slashing.NotPending, slashId=slash_id, status=CANCELLED):
        suite.slashing.executeSlash(slash_id, sender=outsider)
    with reverts(suite.slashing.NotPending, slashId=slash_id, status=CANCELLED):
        suite.slashing.cancelSlash(slash_id, sender=deployer)


@pytest.mark.parametrize(
    ("setter", "args", "name", "value"),
    [
        ("setPenalty", (INVALID_COMPUTE, 2_501), "penaltyBps", 2_501),
        ("setPenalty", (MISSED_DEADLINE, 1_001), "penaltyBps", 1_001),
        ("setPenalty", (OFFLINE, 501), "penaltyBps", 501),
        ("setPenalty", (OFFLINE, 10_000), "penaltyBps", 10_000),
        ("setPenalty", (NONE, 100), "penaltyBps", 100),
        ("setDisputeWindow", (0,), "disputeWindow", 0),
        ("setDisputeWindow", (59,), "disputeWindow", 59),
        ("setDisputeWindow", (30 * 86_400 + 1,), "disputeWindow", 30 * 86_400 + 1),
        ("setBurnShare", (4_999,), "burnBps", 4_999),
        ("setBurnShare", (0,), "burnBps", 0),
        ("setBurnShare", (10_001,), "burnBps", 10_001),
    ],
    ids=[
        "invalid-compute>25%",
        "missed-deadline>10%",
        "offline>5%",
        "penalty=100%",
        "reason-none",
        "window-0",
        "window<60s",
        "window>30d",
        "burn<50%",
        "burn-0",
        "burn>100%",
    ],
)
def test_setter_reverts_InvalidParameter_when_out_of_range(
    suite, deployer, setter, args, name, value
):
    with reverts(suite.slashing.InvalidParameter, name=b32(name), value=value):
        getattr(suite.slashing, setter)(*args, sender=deployer)


def test_setters_accept_when_at_bounds(suite, deployer, outsider):
    s = suite.slashing
    caps = {INVALID_COMPUTE: 2_500, MISSED_DEADLINE: 1_000, OFFLINE: 500}
    for reason, cap in caps.items():
        assert s.maxPenaltyBps(reason) == cap
        s.setPenalty(reason, cap, sender=deployer)
        assert s.penaltyBps(reason) == cap
    s.setPenalty(OFFLINE, 0, sender=deployer)
    assert s.penaltyBps(OFFLINE) == 0
    for window in (s.MIN_DISPUTE_WINDOW(), 30 * 86_400):
        s.setDisputeWindow(window, sender=deployer)
        assert s.disputeWindow() == window
    for bps in (s.MIN_BURN_BPS(), 10_000):
        s.setBurnShare(bps, sender=deployer)
        assert s.burnShareBps() == bps
    s.setTreasury(outsider, sender=deployer)
    assert s.treasury() == outsider.address


def test_setTreasury_reverts_ZeroAddress_when_zero(suite, deployer):
    with reverts(suite.slashing.ZeroAddress):
        suite.slashing.setTreasury("0x" + "00" * 20, sender=deployer)


def test_setOracleHub_reverts_AlreadySet_when_wired(suite, deployer, outsider):
    assert suite.slashing.oracleHub() == suite.hub.address
    with reverts(suite.slashing.AlreadySet, current=suite.hub.address):
        suite.slashing.setOracleHub(outsider, sender=deployer)
    with reverts(suite.slashing.ZeroAddress):
        suite.slashing.setOracleHub("0x" + "00" * 20, sender=deployer)
