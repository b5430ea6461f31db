"""OracleHub: the cross-language tests. Python (eth-account) builds and signs the EIP-712
EpochReport, the contract recomputes the digest and verifies k-of-n ECDSA signatures; every
malformed, replayed or malleable signature set and every out-of-order epoch reverts with its
custom error."""

from __future__ import annotations

import os
from dataclasses import replace

import ape
import pytest
from ape import chain
from eth_account import Account
from eth_keys import keys
from eth_utils import keccak, to_checksum_address
from plinth_testlib import (
    ECDSA,
    REGION,
    STORAGE,
    active_node,
    advance_to_epoch,
    b32,
    fund,
    last_digest,
    make_report,
    register,
    reverts,
    sign,
    submit,
)

from oracle.protocol.eip712 import (
    EpochReport,
    SlashRequest,
    pack_signatures,
    report_digest,
    sign_report,
)
from scripts._deploy import TOKEN, TX_GAS_CAP

# The largest maxSlashesPerReport the hub accepts: the worst case at this cap must fit 2**24 gas.
MAX_SLASHES_CAP = 64
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO32 = b"\x00" * 32


# ---------------------------------------------------------------- helpers


def split(sig: bytes) -> tuple[int, int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]


def join(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def signed(suite, report: EpochReport, signers) -> list[tuple[str, bytes]]:
    """(signer, signature) for each Ape test account, sorted by signer address."""
    pairs = [sign_report(a.private_key, report, chain.chain_id, suite.hub.address) for a in signers]
    return sorted(pairs, key=lambda p: int(p[0], 16))


def recover(digest: bytes, sig: bytes) -> str:
    r, s, v = split(sig)
    pub = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    return pub.to_checksum_address()


def ended_epoch(suite) -> int:
    """Moves time one epoch past the hub's next epoch and returns that (ended) epoch."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    return epoch


def some_slashes(count: int) -> tuple[SlashRequest, ...]:
    """Slash requests with varied fields (for the digest: the nodes need not exist)."""
    return tuple(
        SlashRequest(
            node=to_checksum_address(keccak(b"node%d" % i)[:20]),
            reason=1 + i % 5,
            lease_id=2**200 + i,
            chunk_index=2**63 + i,
            evidence=keccak(b"evidence%d" % i),
        )
        for i in range(count)
    )


# ---------------------------------------------------------------- digest (Python == Solidity)
@pytest.mark.parametrize("n_slashes", [0, 1, 3])
def test_reportDigest_equals_python_digest_when_report_has_n_slashes(suite, n_slashes):
    report = EpochReport(
        epoch=2**63 + 5,
        committee_version=7,
        rewards_root=keccak(b"rewards"),
        total_rewards=2**255 + 1,
        results_root=keccak(b"results"),
        slashes=some_slashes(n_slashes),
        parent=keccak(b"parent"),
        failed_nodes=tuple(
            sorted((s.node for s in some_slashes(n_slashes)), key=lambda a: int(a, 16))
        ),
        failed_demand=2**200 + n_slashes,
    )
    onchain = suite.hub.reportDigest(report.as_tuple())
    assert bytes(onchain) == report_digest(report, chain.chain_id, suite.hub.address)
    # The digest binds chain id and verifying contract.
    assert bytes(onchain) != report_digest(report, 1, suite.hub.address)
    assert bytes(onchain) != report_digest(report, chain.chain_id, suite.slashing.address)


def test_reportDigest_changes_when_any_field_changes(suite):
    from dataclasses import replace

    base = EpochReport(3, 1, keccak(b"a"), 10, keccak(b"b"), some_slashes(2))
    variants = [
        replace(base, epoch=4),
        replace(base, parent=keccak(b"parent")),
        replace(base, committee_version=2),
        replace(base, rewards_root=keccak(b"c")),
        replace(base, total_rewards=11),
        replace(base, results_root=keccak(b"d")),
        replace(base, slashes=base.slashes[:1]),
        replace(base, slashes=(replace(base.slashes[0], chunk_index=1), base.slashes[1])),
        replace(base, slashes=base.slashes[::-1]),
        replace(base, failed_nodes=("0x" + "11" * 20,)),
        replace(base, failed_nodes=("0x" + "11" * 20, "0x" + "22" * 20)),
        replace(base, failed_demand=1),
    ]
    digests = {bytes(suite.hub.reportDigest(r.as_tuple())) for r in [base, *variants]}
    assert len(digests) == len(variants) + 1
    for r in variants:
        assert bytes(suite.hub.reportDigest(r.as_tuple())) == report_digest(
            r, chain.chain_id, suite.hub.address
        )


# ---------------------------------------------------------------- acceptance
@pytest.mark.parametrize(
    ("size", "threshold", "count"),
    [(4, 3, 3), (4, 3, 4), (5, 3, 3), (5, 3, 4), (5, 3, 5)],
    ids=["n4-t", "n4-n", "n5-t", "n5-t+1", "n5-n"],
)
def test_submitReport_accepts_when_signed_by_t_to_n_members(
    suite, deployer, accounts, oracles, provider, outsider, size, threshold, count
):
    members = (
        oracles if size == 4 else sorted([*oracles, accounts[11]], key=lambda a: int(a.address, 16))
    )
    if size != 4:
        suite.hub.setCommittee([m.address for m in members], threshold, ECDSA, sender=deployer)
    assert suite.hub.threshold() == threshold
    epoch = ended_epoch(suite)
    reward = 1_000 * TOKEN
    assert reward <= suite.emissions.budgetOf(epoch)
    max_slashes = suite.hub.maxSlashesPerReport()
    report, tree = make_report(suite, epoch, {provider.address: reward})
    sigs = sign(suite, report, members[-count:])
    distributor_before = suite.token.balanceOf(suite.distributor.address)

    tx = suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)

    digest = report_digest(report, chain.chain_id, suite.hub.address)
    assert suite.hub.nextEpoch() == epoch + 1
    assert suite.token.balanceOf(suite.distributor.address) - distributor_before == reward
    assert bytes(suite.distributor.rootOf(epoch)) == tree.stored_root
    assert bytes(suite.hub.rewardsRoot(epoch)) == tree.stored_root
    # The hub's state slot: the digest's first 20 bytes and the next epoch, written at once;
    # the rest of the slot (the committee's parameters, the pause flag) is left as it was.
    assert bytes(suite.hub.lastDigest()) == digest[:20]
    assert suite.hub.threshold() == threshold
    assert suite.hub.committeeVersion() == report.committee_version
    assert len(suite.hub.committee()) == size
    assert suite.hub.maxSlashesPerReport() == max_slashes
    assert suite.hub.scheme() == ECDSA
    assert not suite.hub.paused()
    [event] = tx.events.filter(suite.hub.ReportAccepted)
    assert event.epoch == epoch
    assert bytes(event.digest) == digest
    assert bytes(event.resultsRoot) == report.results_root
    [emitted] = tx.events.filter(suite.emissions.EpochEmitted)
    assert emitted.minted == reward


def test_submitReport_accepts_when_epochs_are_skipped(suite, oracles, outsider):
    start = suite.hub.nextEpoch()
    advance_to_epoch(suite, start + 4)
    report, _ = make_report(suite, start + 3)
    submit(suite, report, oracles[:3], sender=outsider)
    assert suite.hub.nextEpoch() == start + 4
    # The skipped epochs can never be settled afterwards.
    late, _ = make_report(suite, start + 1)
    with reverts(suite.hub.StaleEpoch, epoch=start + 1, nextEpoch=start + 4):
        submit(suite, late, oracles[:3], sender=outsider)


def test_submitReport_accepts_when_gap_is_exactly_max_epoch_gap(suite, oracles, outsider):
    start = suite.hub.nextEpoch()
    gap = suite.hub.MAX_EPOCH_GAP()
    advance_to_epoch(suite, start + gap + 1)
    report, _ = make_report(suite, start + gap)
    tx = submit(suite, report, oracles[:3], sender=outsider)
    assert suite.hub.nextEpoch() == start + gap + 1
    assert tx.gas_used < TX_GAS_CAP


# ---------------------------------------------------------------- replay: other chain, deployment
def test_submitReport_reverts_NotCommitteeMember_when_signed_for_another_chain(
    suite, oracles, outsider
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    pairs = sorted(
        (sign_report(o.private_key, report, 1, suite.hub.address) for o in oracles[:3]),
        key=lambda p: int(p[0], 16),
    )
    sigs = b"".join(s for _, s in pairs)
    # The hub recovers some unrelated address from the first signature.
    digest = report_digest(report, chain.chain_id, suite.hub.address)
    stranger = recover(digest, pairs[0][1])
    assert stranger not in {o.address for o in oracles}
    with reverts(suite.hub.NotCommitteeMember, signer=stranger):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)


def test_submitReport_reverts_NotCommitteeMember_when_signed_for_another_deployment(
    suite, deployer, guardian, oracles, outsider
):
    # A second hub with the same committee, on the same chain (a redeployment).
    other = deployer.deploy(
        ape.project.OracleHub,
        deployer,
        guardian,
        suite.emissions,
        suite.distributor,
        suite.slashing,
        [o.address for o in oracles],
        3,
        64,
    )
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    other_digest = report_digest(report, chain.chain_id, other.address)
    assert bytes(other.reportDigest(report.as_tuple())) == other_digest
    assert other_digest != bytes(suite.hub.reportDigest(report.as_tuple()))
    sigs = sign(suite, report, oracles[:3], hub=other.address)
    # Valid for the other deployment...
    assert all(
        recover(other_digest, sigs[i : i + 65]) in {o.address for o in oracles}
        for i in (0, 65, 130)
    )
    # ...but replayed here they recover to strangers.
    stranger = recover(bytes(suite.hub.reportDigest(report.as_tuple())), sigs[:65])
    with reverts(suite.hub.NotCommitteeMember, signer=stranger):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)


def test_submitReport_reverts_NotCommitteeMember_when_report_altered_after_signing(
    suite, oracles, outsider
):
    from dataclasses import replace

    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = sign(suite, report, oracles[:3])
    tampered = replace(report, results_root=b"\x02" * 32)
    with reverts(suite.hub.NotCommitteeMember):
        suite.hub.submitReport(tampered.as_tuple(), sigs, sender=outsider)


# ---------------------------------------------------------------- signature encoding
def test_submitReport_reverts_SignersNotIncreasing_when_signer_duplicated(suite, oracles, outsider):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    (a, sig_a), (_, sig_b), _ = signed(suite, report, oracles[:3])
    # pack_signatures refuses duplicates: build the bytes by hand.
    sigs = sig_a + sig_a + sig_b
    with reverts(suite.hub.SignersNotIncreasing, previous=a, signer=a):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)


def test_submitReport_reverts_SignersNotIncreasing_when_signers_unsorted(suite, oracles, outsider):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    (a, sig_a), (b, sig_b), (c, sig_c) = signed(suite, report, oracles[:3])
    with reverts(suite.hub.SignersNotIncreasing, previous=b, signer=a):
        suite.hub.submitReport(report.as_tuple(), sig_b + sig_a + sig_c, sender=outsider)
    with reverts(suite.hub.SignersNotIncreasing, previous=c, signer=b):
        suite.hub.submitReport(report.as_tuple(), sig_a + sig_c + sig_b, sender=outsider)


@pytest.mark.parametrize("index", [0, 2])
def test_submitReport_reverts_HighSSignature_when_signature_is_malleable_twin(
    suite, oracles, outsider, index
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    pairs = signed(suite, report, oracles[:3])
    signer, sig = pairs[index]
    r, s, v = split(sig)
    twin = join(r, SECP256K1_N - s, 55 - v)  # s' = n - s, v flipped 27 <-> 28
    digest = report_digest(report, chain.chain_id, suite.hub.address)
    assert recover(digest, twin) == signer  # a genuinely valid twin for plain ecrecover
    sigs = [p[1] for p in pairs]
    sigs[index] = twin
    with reverts(suite.hub.HighSSignature, index=index):
        suite.hub.submitReport(report.as_tuple(), b"".join(sigs), sender=outsider)


@pytest.mark.parametrize("v", [0, 1, 26, 29, 255])
def test_submitReport_reverts_InvalidSignature_when_v_not_27_or_28(suite, oracles, outsider, v):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = [s for _, s in signed(suite, report, oracles[:3])]
    r, s, _ = split(sigs[1])
    sigs[1] = join(r, s, v)
    with reverts(suite.hub.InvalidSignature, index=1):
        suite.hub.submitReport(report.as_tuple(), b"".join(sigs), sender=outsider)


@pytest.mark.parametrize(
    ("r", "s"),
    [(0, 1), (1, 0), (0, 0), (2**256 - 1, 1)],
    ids=["r-zero", "s-zero", "both-zero", "r-not-on-curve"],
)
def test_submitReport_reverts_InvalidSignature_when_signature_recovers_to_zero(
    suite, oracles, outsider, r, s
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = [s_ for _, s_ in signed(suite, report, oracles[:3])]
    sigs[0] = join(r, s, 27)
    with reverts(suite.hub.InvalidSignature, index=0):
        suite.hub.submitReport(report.as_tuple(), b"".join(sigs), sender=outsider)


def test_submitReport_reverts_NotEnoughSignatures_when_below_threshold(suite, oracles, outsider):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    with reverts(suite.hub.NotEnoughSignatures, count=2, threshold=3):
        submit(suite, report, oracles[:2], sender=outsider)


@pytest.mark.parametrize("cut", [1, 64, 195], ids=["minus-1", "minus-64", "empty"])
def test_submitReport_reverts_InvalidSignaturesLength_when_not_multiple_of_65(
    suite, oracles, outsider, cut
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = sign(suite, report, oracles[:3])
    bad = sigs[: len(sigs) - cut]
    with reverts(suite.hub.InvalidSignaturesLength, length=len(bad)):
        suite.hub.submitReport(report.as_tuple(), bad, sender=outsider)


def test_submitReport_reverts_NotCommitteeMember_when_signer_not_member(suite, oracles, outsider):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    assert not suite.hub.isMember(outsider.address)
    with reverts(suite.hub.NotCommitteeMember, signer=outsider.address):
        submit(suite, report, [*oracles[:2], outsider], sender=outsider)


# ---------------------------------------------------------------- epochs
def test_submitReport_reverts_StaleEpoch_when_same_report_submitted_twice(suite, oracles, outsider):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = sign(suite, report, oracles[:3])
    suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)
    with reverts(suite.hub.StaleEpoch, epoch=epoch, nextEpoch=epoch + 1):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)


def test_submitReport_reverts_StaleEpoch_when_epoch_before_next_epoch(suite, oracles, outsider):
    start = suite.hub.nextEpoch()
    advance_to_epoch(suite, start + 3)
    report, _ = make_report(suite, start + 1)
    submit(suite, report, oracles[:3], sender=outsider)
    older, _ = make_report(suite, start)
    with reverts(suite.hub.StaleEpoch, epoch=start, nextEpoch=start + 2):
        submit(suite, older, oracles[:3], sender=outsider)


def test_submitReport_reverts_WrongParent_when_signed_before_an_earlier_epoch_settled(
    suite, oracles, outsider
):
    # The committee signs two ended epochs at once; the later one, built before the earlier
    # settled, leaves the earlier epoch's rewards out of its cumulative root.
    start = suite.hub.nextEpoch()
    advance_to_epoch(suite, start + 2)
    first_parent = last_digest(suite)
    assert first_parent[:20] == bytes(suite.hub.lastDigest())
    earlier, _ = make_report(suite, start, rewards={outsider.address: 5})
    later, _ = make_report(suite, start + 1, rewards={outsider.address: 7}, total=7)
    assert later.parent == first_parent
    tx = submit(suite, earlier, oracles[:3], sender=outsider)
    settled = bytes(tx.decode_logs(suite.hub.ReportAccepted)[0].digest)
    assert bytes(suite.hub.lastDigest()) == settled[:20]
    with reverts(suite.hub.WrongParent, given=first_parent, expected=settled[:20]):
        submit(suite, later, oracles[:3], sender=outsider)
    # Only the first 20 bytes are kept: a parent that differs in them alone is refused too.
    twisted = replace(later, parent=settled[:19] + bytes([settled[19] ^ 1]) + settled[20:])
    with reverts(suite.hub.WrongParent, given=twisted.parent, expected=settled[:20]):
        submit(suite, twisted, oracles[:3], sender=outsider)
    rebuilt, _ = make_report(suite, start + 1, rewards={outsider.address: 12})
    assert rebuilt.parent == settled
    submit(suite, rebuilt, oracles[:3], sender=outsider)
    assert suite.hub.nextEpoch() == start + 2


def test_submitReport_reverts_EpochNotEnded_when_epoch_is_current_or_future(
    suite, oracles, outsider
):
    current = ended_epoch(suite) + 1  # one second into `current`: it will not end meanwhile
    assert suite.hub.currentEpoch() == current
    for epoch in (current, current + 1):
        report, _ = make_report(suite, epoch)
        with reverts(suite.hub.EpochNotEnded, epoch=epoch):
            submit(suite, report, oracles[:3], sender=outsider)


def test_submitReport_reverts_EpochGapTooLarge_when_gap_exceeds_max(suite, oracles, outsider):
    start = suite.hub.nextEpoch()
    gap = suite.hub.MAX_EPOCH_GAP()
    advance_to_epoch(suite, start + gap + 2)
    report, _ = make_report(suite, start + gap + 1)
    with reverts(suite.hub.EpochGapTooLarge, epoch=start + gap + 1, nextEpoch=start):
        submit(suite, report, oracles[:3], sender=outsider)


# ---------------------------------------------------------------- failed leased nodes
def test_submitReport_records_failed_nodes_and_lowers_the_demand_by_failedDemand(
    suite, deployer, provider, customer, oracles, outsider
):
    node = active_node(suite, deployer, provider)
    price = 5 * TOKEN
    suite.market.setPrice(node.address, price, sender=provider)
    fund(suite, deployer, customer, price * 2 // TOKEN)
    suite.token.approve(suite.market.address, price * 2, sender=customer)
    suite.market.openLease(node.address, REGION, 2, price, ZERO32, 0, sender=customer)
    epoch = suite.market.getLease(suite.market.leaseCount()).startEpoch
    advance_to_epoch(suite, epoch + 1)
    assert suite.market.demandOf(epoch) == price
    report, _ = make_report(suite, epoch)
    report = replace(report, failed_nodes=(node.address,), failed_demand=price)
    tx = submit(suite, report, oracles[:3], sender=outsider)
    assert suite.market.failedIn(node.address, epoch)
    (emitted,) = [e for e in tx.events if e.event_name == "EpochEmitted"]
    assert emitted.demand == 0  # the failed lease's price earns no emissions
    assert emitted.budget == suite.emissions.floorOf(epoch)


def test_submitReport_reverts_FailedNodesNotIncreasing_when_unsorted_or_repeated(
    suite, oracles, outsider
):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    a, b = "0x" + "11" * 20, "0x" + "22" * 20
    for nodes, previous, node in [
        ((b, a), b, a),
        ((a, a), a, a),
        (("0x" + "00" * 20,), "0x" + "00" * 20, "0x" + "00" * 20),
    ]:
        report, _ = make_report(suite, epoch)
        report = replace(report, failed_nodes=nodes)
        with reverts(suite.hub.FailedNodesNotIncreasing, previous=previous, node=node):
            submit(suite, report, oracles[:3], sender=outsider)


def test_submitReport_reverts_TooManyFailedNodes_when_above_the_cap(suite, oracles, outsider):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    cap = suite.hub.MAX_FAILED_NODES()
    nodes = tuple(to_checksum_address(f"0x{i:040x}") for i in range(1, cap + 2))
    report, _ = make_report(suite, epoch)
    with reverts(suite.hub.TooManyFailedNodes, count=cap + 1, max=cap):
        submit(suite, replace(report, failed_nodes=nodes), oracles[:3], sender=outsider)
    tx = submit(suite, replace(report, failed_nodes=nodes[:cap]), oracles[:3], sender=outsider)
    assert tx.gas_used < TX_GAS_CAP // 4


# ---------------------------------------------------------------- liveness: skipEpochs
def test_skipEpochs_reverts_NothingToSkip_while_latest_epoch_is_reportable(suite, outsider):
    start = suite.hub.nextEpoch()
    gap = suite.hub.MAX_EPOCH_GAP()
    # The latest ended epoch is start + gap: a report for it is still accepted.
    advance_to_epoch(suite, start + gap + 1)
    with reverts(suite.hub.NothingToSkip, nextEpoch=start, currentEpoch=start + gap + 1):
        suite.hub.skipEpochs(sender=outsider)


def test_skipEpochs_recovers_reporting_after_outage_longer_than_two_gaps(
    suite, deployer, provider, customer, oracles, outsider
):
    """The liveness finding: after MAX_EPOCH_GAP epochs without a report the hub refused every
    report forever. Now anyone moves it on, in bounded steps, minting nothing for the epochs
    passed over; then the committee reports the latest ended epoch."""
    start = suite.hub.nextEpoch()
    gap = suite.hub.MAX_EPOCH_GAP()
    # A lease paying every epoch of the outage: its demand must be walked, not minted.
    node = active_node(suite, deployer, provider)
    price = 3 * TOKEN
    suite.market.setPrice(node.address, price, sender=provider)
    epochs = 3 * gap
    fund(suite, deployer, customer, price * epochs // TOKEN)
    suite.token.approve(suite.market.address, price * epochs, sender=customer)
    suite.market.openLease(node.address, REGION, epochs, price, ZERO32, 0, sender=customer)
    current = start + 2 * gap + 10
    advance_to_epoch(suite, current)
    latest, _ = make_report(suite, current - 1)
    with reverts(suite.hub.EpochGapTooLarge, epoch=current - 1, nextEpoch=start):
        submit(suite, latest, oracles[:3], sender=outsider)

    supply = suite.token.totalSupply()
    steps = []
    while True:
        before = suite.hub.nextEpoch()
        if current <= before + gap + 1:
            break
        tx = suite.hub.skipEpochs(sender=outsider)
        after = suite.hub.nextEpoch()
        assert 0 < after - before <= gap
        assert tx.gas_used < 2_000_000  # the demand walk over at most MAX_EPOCH_GAP epochs
        (ev,) = [e for e in tx.events if e.event_name == "EpochsSkipped" and "caller" in e]
        assert (ev.fromEpoch, ev.nextEpoch, ev.caller) == (before, after, outsider.address)
        steps.append(after)
    # Two steps: a full gap, then just enough that the latest ended epoch is reportable.
    assert steps == [start + gap, current - 1 - gap]
    with reverts(suite.hub.NothingToSkip, nextEpoch=current - 1 - gap, currentEpoch=current):
        suite.hub.skipEpochs(sender=outsider)
    assert suite.token.totalSupply() == supply  # nothing minted for the skipped epochs
    assert suite.emissions.nextEpoch() == current - 1 - gap
    assert suite.market.demandFinalizedThrough() == current - 2 - gap
    assert suite.market.demandOf(current - 2 - gap) == price

    budget = suite.emissions.budgetOf(current - 1)
    latest, _ = make_report(suite, current - 1, {provider.address: budget})
    tx = submit(suite, latest, oracles[:3], sender=outsider)
    assert suite.hub.nextEpoch() == current
    assert suite.token.totalSupply() - supply == budget
    # A skipped epoch can never be reported afterwards.
    skipped, _ = make_report(suite, start, total=0)
    with reverts(suite.hub.StaleEpoch, epoch=start, nextEpoch=current):
        submit(suite, skipped, oracles[:3], sender=outsider)


def test_skipEpochs_reverts_EnforcedPause_when_paused(suite, guardian, outsider):
    start = suite.hub.nextEpoch()
    advance_to_epoch(suite, start + suite.hub.MAX_EPOCH_GAP() + 2)
    suite.hub.pause(sender=guardian)
    with reverts(suite.hub.EnforcedPause):
        suite.hub.skipEpochs(sender=outsider)


# ---------------------------------------------------------------- committee
def test_submitReport_reverts_WrongCommitteeVersion_when_committee_changed(
    suite, deployer, accounts, oracles, outsider
):
    epoch = ended_epoch(suite)
    old_report, _ = make_report(suite, epoch)
    old_sigs = sign(suite, old_report, oracles[:3])
    assert suite.hub.committeeVersion() == 1

    # Replace the first member by a newcomer; the version bumps.
    removed, newcomer = oracles[0], accounts[11]
    members = sorted([*oracles[1:], newcomer], key=lambda a: int(a.address, 16))
    tx = suite.hub.setCommittee([m.address for m in members], 3, ECDSA, sender=deployer)
    assert suite.hub.committeeVersion() == 2
    [event] = tx.events.filter(suite.hub.CommitteeSet)
    assert event.version == 2 and event.threshold == 3 and event.scheme == ECDSA
    assert not suite.hub.isMember(removed.address) and suite.hub.isMember(newcomer.address)

    # Old signatures over the old version die.
    with reverts(suite.hub.WrongCommitteeVersion, given=1, current=2):
        suite.hub.submitReport(old_report.as_tuple(), old_sigs, sender=outsider)
    # A removed member cannot sign for the new version either.
    report, _ = make_report(suite, epoch)
    assert report.committee_version == 2
    with reverts(suite.hub.NotCommitteeMember, signer=removed.address):
        submit(suite, report, [removed, *oracles[1:3]], sender=outsider)
    # The new committee can.
    submit(suite, report, members[:3], sender=outsider)
    assert suite.hub.nextEpoch() == epoch + 1


def test_submitReport_reverts_WrongCommitteeVersion_when_same_members_reappointed(
    suite, deployer, oracles, outsider
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = sign(suite, report, oracles[:3])
    suite.hub.setCommittee([o.address for o in oracles], 3, ECDSA, sender=deployer)
    with reverts(suite.hub.WrongCommitteeVersion, given=1, current=2):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)


def test_submitReport_reverts_TooManySlashes_when_above_max(suite, deployer, oracles, outsider):
    suite.hub.setMaxSlashesPerReport(2, sender=deployer)
    assert suite.hub.maxSlashesPerReport() == 2
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch, slashes=some_slashes(3))
    with reverts(suite.hub.TooManySlashes, count=3, max=2):
        submit(suite, report, oracles[:3], sender=outsider)


def _addresses(count: int) -> list[str]:
    return [to_checksum_address((i + 1).to_bytes(20, "big")) for i in range(count)]


@pytest.mark.parametrize(
    ("size", "threshold"),
    [(4, 2), (4, 5), (5, 2), (0, 0), (0, 1), (1, 0), (65, 33), (65, 65)],
    ids=["t=n/2", "t>n", "t<n/2", "n=0-t=0", "n=0-t=1", "t=0", "n>max", "n>max-t=n"],
)
def test_setCommittee_reverts_InvalidCommittee_when_size_or_threshold_invalid(
    suite, deployer, size, threshold
):
    with reverts(suite.hub.InvalidCommittee, size=size, threshold=threshold):
        suite.hub.setCommittee(_addresses(size), threshold, ECDSA, sender=deployer)


@pytest.mark.parametrize(("size", "threshold"), [(1, 1), (64, 33), (64, 64)])
def test_setCommittee_accepts_when_at_bounds(suite, deployer, size, threshold):
    suite.hub.setCommittee(_addresses(size), threshold, ECDSA, sender=deployer)
    assert list(suite.hub.committee()) == _addresses(size)
    assert suite.hub.threshold() == threshold


def test_setCommittee_reverts_SignersNotIncreasing_when_members_unsorted_or_duplicated(
    suite, deployer
):
    a, b, c = _addresses(3)
    with reverts(suite.hub.SignersNotIncreasing, previous=b, signer=a):
        suite.hub.setCommittee([b, a, c], 2, ECDSA, sender=deployer)
    with reverts(suite.hub.SignersNotIncreasing, previous=b, signer=b):
        suite.hub.setCommittee([a, b, b], 2, ECDSA, sender=deployer)
    zero = "0x" + "00" * 20
    with reverts(suite.hub.SignersNotIncreasing, previous=zero, signer=zero):
        suite.hub.setCommittee([zero, a, b], 2, ECDSA, sender=deployer)


@pytest.mark.parametrize("value", [0, MAX_SLASHES_CAP + 1, 256])
def test_setMaxSlashesPerReport_reverts_InvalidParameter_when_out_of_range(suite, deployer, value):
    with reverts(suite.hub.InvalidParameter, name=b32("maxSlashes"), value=value):
        suite.hub.setMaxSlashesPerReport(value, sender=deployer)


@pytest.mark.parametrize("value", [1, MAX_SLASHES_CAP])
def test_setMaxSlashesPerReport_accepts_when_in_range(suite, deployer, value):
    tx = suite.hub.setMaxSlashesPerReport(value, sender=deployer)
    assert suite.hub.maxSlashesPerReport() == value
    assert [e.maxSlashesPerReport for e in tx.events.filter(suite.hub.MaxSlashesSet)] == [value]


def test_setCommittee_reverts_OwnableUnauthorizedAccount_when_caller_not_owner(
    suite, guardian, oracles, outsider
):
    for caller in (outsider, guardian, oracles[0]):
        with reverts(suite.hub.OwnableUnauthorizedAccount, account=caller.address):
            suite.hub.setCommittee([o.address for o in oracles], 3, ECDSA, sender=caller)


def test_submitReport_reverts_EnforcedPause_when_hub_paused(
    suite, deployer, guardian, oracles, outsider
):
    epoch = ended_epoch(suite)
    report, _ = make_report(suite, epoch)
    sigs = sign(suite, report, oracles[:3])
    suite.hub.pause(sender=guardian)
    with reverts(suite.hub.EnforcedPause):
        suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)
    suite.hub.unpause(sender=deployer)
    suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider)
    assert suite.hub.nextEpoch() == epoch + 1


# ---------------------------------------------------------------- gas cap
def _storage_nodes_with_leases(suite, deployer, provider, customer, count: int):
    """`count` active storage nodes, each with its own lease; returns [(node, lease id)]."""
    min_stake = suite.registry.minStake(STORAGE)
    suite.token.transfer(provider, count * min_stake, sender=deployer)
    suite.token.approve(suite.vault.address, count * min_stake, sender=provider)
    price = TOKEN
    fund(suite, deployer, customer, count)
    suite.token.approve(suite.market.address, count * price, sender=customer)
    data_root = keccak(b"stored data")
    out = []
    for _ in range(count):
        node = register(suite, provider, STORAGE)
        suite.vault.stake(node.address, min_stake, sender=provider)
        suite.registry.activate(node.address, sender=provider)
        suite.market.setPrice(node.address, price, sender=provider)
        suite.market.openLease(node.address, REGION, 1, price, data_root, 4096, sender=customer)
        out.append((node, suite.market.leaseCount()))
    return out


def test_submitReport_stays_under_tx_gas_cap_when_max_slashes_and_4_or_64_signatures(
    suite, deployer, provider, customer, oracles, outsider
):
    """Worst case: the most slashes a report may carry, all storage slashes (the costliest kind:
    each reads its lease) on distinct staked nodes (cold storage for each). First signed by the
    4-member committee of config/local.toml; then by a full committee of MAX_COMMITTEE, for an
    epoch MAX_EPOCH_GAP ahead (the demand walk of the emissions controller is longest)."""
    max_slashes = suite.hub.maxSlashesPerReport()
    assert max_slashes == 64 == MAX_SLASHES_CAP  # config/local.toml uses the hub's cap
    nodes = _storage_nodes_with_leases(suite, deployer, provider, customer, max_slashes)
    slashes = tuple(
        SlashRequest(node.address, 3, lease_id=lease, chunk_index=i % 4, evidence=os.urandom(32))
        for i, (node, lease) in enumerate(nodes)
    )
    rewards = {provider.address: 500 * TOKEN}

    snapshot = chain.snapshot()
    report, _ = make_report(suite, ended_epoch(suite), rewards, slashes=slashes)
    assert len(oracles) == 4
    gas_4 = submit(suite, report, oracles, sender=outsider).gas_used
    assert suite.slashing.slashCount() == max_slashes
    assert all(suite.slashing.pendingSlashCount(node.address) == 1 for node, _ in nodes)
    chain.restore(snapshot)

    size = suite.hub.MAX_COMMITTEE()
    committee = sorted((Account.create() for _ in range(size)), key=lambda a: int(a.address, 16))
    suite.hub.setCommittee([a.address for a in committee], size, ECDSA, sender=deployer)
    epoch = suite.hub.nextEpoch() + suite.hub.MAX_EPOCH_GAP()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch, rewards, slashes=slashes)
    sigs = pack_signatures(
        sign_report(a.key, report, chain.chain_id, suite.hub.address) for a in committee
    )
    gas_64 = suite.hub.submitReport(report.as_tuple(), sigs, sender=outsider).gas_used
    assert suite.slashing.slashCount() == max_slashes
    assert suite.hub.nextEpoch() == epoch + 1

    print(
        f"\nsubmitReport, {max_slashes} storage slashes, 4 signatures: {gas_4} gas "
        f"({100 * gas_4 / TX_GAS_CAP:.1f}% of the 2**24 cap)"
        f"\nsubmitReport, {max_slashes} storage slashes, {size} signatures, epoch gap "
        f"{suite.hub.MAX_EPOCH_GAP()}: {gas_64} gas ({100 * gas_64 / TX_GAS_CAP:.1f}% of the cap)"
    )
    assert gas_4 < TX_GAS_CAP
    assert gas_64 < TX_GAS_CAP


def test_submitReport_gas_is_flat_in_account_count_when_no_slashes(
    suite, provider, oracles, outsider
):
    """Scale rule: settlement gas does not grow with the number of rewarded accounts (one root)."""

    def settle(rewards):
        epoch = ended_epoch(suite)
        report, _ = make_report(suite, epoch, rewards)
        return submit(suite, report, oracles, sender=outsider).gas_used

    # Two settlements first, so both ring slots of the distributor hold a root.
    settle({provider.address: 100 * TOKEN})
    settle({provider.address: 200 * TOKEN})
    one = settle({provider.address: 300 * TOKEN})
    many = {to_checksum_address(keccak(b"acct%d" % i)[:20]): TOKEN for i in range(1000)}
    many[provider.address] = 400 * TOKEN
    thousand = settle(many)
    print(
        f"\nsubmitReport without slashes, 4 signatures: {one} gas (1 account), "
        f"{thousand} gas (1001 accounts)"
    )
    assert abs(thousand - one) < 2_000
