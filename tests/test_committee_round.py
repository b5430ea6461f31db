"""The committee round on anvil: four members (threshold 3), each with its own store, chain
view and API server, talking over HTTP. A leader settles an epoch with the members'
signatures; a silent leader is replaced; two leaders racing settle the epoch once; a malicious
leader (altered verdict, dropped observation, invented slash) gets no quorum; a stale member
does not sign."""

import asyncio
import json
from dataclasses import replace

import pytest
import pytest_asyncio
from ape import chain as ape_chain
from plinth_testlib import COMPUTE, advance_to_epoch
from test_oracle_e2e import onboard, start_agent

from oracle.agent import Honest
from oracle.protocol.compute import Params
from oracle.protocol.hardware import NodeKind
from oracle.service.chain import ChainError
from oracle.service.report import build_epoch
from oracle.sim.committee import start_committee

ECDSA, BLS = 0, 1
TINY = Params(device_s=1e-6, max_n=64)


@pytest_asyncio.fixture
async def network(suite, deployer, provider, oracles, accounts, tmp_path):
    """(committee, epoch, node addresses): two honest compute nodes, the epoch challenged by
    every member, and the chain moved past its end."""
    suite.hub.setCommittee([o.address for o in oracles], 3, ECDSA, sender=deployer)
    servers, nodes = [], []
    for i in range(2):
        settings, url, server = await start_agent(tmp_path, f"c{i}", NodeKind.COMPUTE, Honest())
        nodes.append(onboard(suite, deployer, provider, COMPUTE, settings, url).address)
        servers.append(server)
    committee = await start_committee(
        suite, oracles, tmp_path, ape_chain.provider.uri, compute=TINY, start_loops=False
    )
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    for m in committee.members:
        await m.service.challenge_epoch(epoch, committee.session)
    advance_to_epoch(suite, epoch + 1)
    yield committee, epoch, nodes
    await committee.close()
    for s in servers:
        await s.close()


def accepted(suite, epoch: int) -> list:
    logs = suite.hub.ReportAccepted.range(0, ape_chain.blocks.head.number + 1)
    return [log for log in logs if log.epoch == epoch]


async def adopt_all(committee):
    for m in committee.live.values():
        await m.step(committee.session)


@pytest.mark.asyncio
async def test_the_leader_settles_the_epoch_with_the_members_signatures(suite, network):
    committee, epoch, nodes = network
    leader = committee.leader(epoch, 0)
    tx = await leader.lead(committee.session, epoch, 0)
    assert tx is not None and suite.hub.nextEpoch() == epoch + 1
    post = leader.posted[epoch]
    assert post.scheme == "ecdsa" and len(post.signers) == 3
    assert list(post.signers) == sorted(post.signers, key=lambda a: int(a, 16))
    await adopt_all(committee)
    digests = {m.store.report_for(epoch)["digest"] for m in committee.members}
    assert digests == {accepted(suite, epoch)[0].digest}
    for m in committee.members:  # every member adopted the same results, both nodes rewarded
        lines = m.store.report_for(epoch)["results_file"].split(b"\n")[1:-1]
        assert sorted(json.loads(x)["node"] for x in lines) == sorted(n.lower() for n in nodes)
        assert all(json.loads(x)["reward"] > 0 for x in lines)
        assert m.store.epoch(epoch)["state"] == "confirmed"
    # each member challenged the nodes itself; a node's result is the members' majority view
    # (one member's challenges of it), not the union of the four
    for m in committee.members:
        assert sorted({v.node for v in m.store.verdicts_of(epoch)}) == sorted(
            n.lower() for n in nodes
        )
    row = json.loads(committee.members[0].store.report_for(epoch)["results_file"].split(b"\n")[1])
    assert row["asked"] == 1 and row["passed"] == 1


@pytest.mark.asyncio
async def test_a_disputed_node_is_paid_on_the_evidence_the_leader_gathers(suite, network):
    """One member got no answer from node 0 (its verdict turned into a timeout here): the node is
    disputed, so the leader fetches the other members' evidence of it over HTTP, puts it in the
    proposal, and every member re-verifies the node's signed answers before they count. The
    node is paid; a member that cannot show its evidence has its claim count for nothing."""
    committee, epoch, nodes = network
    leader = committee.leader(epoch, 0)
    unlucky = next(m for m in committee.members if m is not leader)
    node = nodes[0].lower()
    with unlucky.store.transaction() as db:
        db.execute(
            "UPDATE verdicts SET passed = 0, reason = 'timeout', latency_us = NULL WHERE"
            " challenge_id IN (SELECT id FROM challenges WHERE node = ? AND epoch = ?)",
            (node, epoch),
        )
    unlucky._own.clear()
    tx = await leader.lead(committee.session, epoch, 0)
    assert tx is not None and suite.hub.nextEpoch() == epoch + 1
    bundles, evidence = next(iter(leader.proposals[epoch].values()))
    assert len(evidence) == 3  # the three members that saw node 0 answer
    assert {o["challenge_id"] for o in evidence.values()} == {
        v["challenge_id"] for b in bundles if b.member != unlucky.address for v in b.verdicts
        if v["node"] == node
    }  # fmt: skip
    assert leader.metrics["evidence_missing"] == 0
    await adopt_all(committee)
    results = {
        json.loads(x)["node"]: json.loads(x)
        for x in leader.store.report_for(epoch)["results_file"].split(b"\n")[1:-1]
    }
    assert results[node]["reward"] > 0 and results[node]["reason"] == "ok"


@pytest.mark.asyncio
async def test_members_refuse_a_proposal_whose_evidence_the_leader_does_not_serve(
    suite, network, monkeypatch
):
    """The proposal names its evidence by digest; a leader that will not serve an object (or
    serves another) gets no signature: every member must check the same bytes."""
    committee, epoch, nodes = network
    leader = committee.leader(epoch, 0)
    unlucky = next(m for m in committee.members if m is not leader)
    with unlucky.store.transaction() as db:
        db.execute(
            "UPDATE verdicts SET passed = 0, reason = 'timeout', latency_us = NULL WHERE"
            " challenge_id IN (SELECT id FROM challenges WHERE node = ? AND epoch = ?)",
            (nodes[0].lower(), epoch),
        )
    unlucky._own.clear()
    monkeypatch.setattr(leader, "evidence_held", lambda e, d: None)  # serves nothing
    assert await leader.lead(committee.session, epoch, 0) is None
    assert suite.hub.nextEpoch() <= epoch
    others = [m for m in committee.members if m is not leader]
    assert sum(m.metrics["proposals_refused"] for m in others) == 3


@pytest.mark.asyncio
async def test_a_silent_leader_is_replaced_after_the_timeout(suite, network):
    committee, epoch, _ = network
    silent = committee.leader(epoch, 0)
    await committee.stop(silent)
    now = [0.0]
    for m in committee.live.values():
        m.clock = lambda: now[0]
    await adopt_all(committee)  # attempt 0: the silent member's turn, nobody posts
    assert suite.hub.nextEpoch() <= epoch
    now[0] = committee.members[0].settings.leader_timeout_s + 0.1
    await adopt_all(committee)  # attempt 1: the next member leads with the 3 live members
    assert suite.hub.nextEpoch() == epoch + 1
    nxt = committee.leader(epoch, 1)
    assert nxt.posted[epoch].attempt == 1 and silent.address not in nxt.posted[epoch].signers
    assert (epoch, 1) in nxt.led and epoch in nxt.ended_at
    await adopt_all(committee)
    assert all(m.store.epoch(epoch)["state"] == "confirmed" for m in committee.live.values())
    # once adopted, the settled epoch's rotation bookkeeping is dropped
    assert all(
        epoch not in m.ended_at and all(e != epoch for e, _ in m.led)
        for m in committee.live.values()
    )


@pytest.mark.asyncio
async def test_two_leaders_racing_settle_the_epoch_once(suite, network):
    committee, epoch, _ = network
    a, b = committee.leader(epoch, 0), committee.leader(epoch, 1)
    txs = await asyncio.gather(
        a.lead(committee.session, epoch, 0), b.lead(committee.session, epoch, 1)
    )
    assert suite.hub.nextEpoch() == epoch + 1
    assert len(accepted(suite, epoch)) == 1
    assert sum(tx is not None for tx in txs) >= 1
    await adopt_all(committee)
    for m in (a, b):
        assert m.store.epoch(epoch)["state"] == "confirmed"
        assert m.metrics["submit_errors"] == 0


@pytest.mark.asyncio
async def test_the_same_report_proposed_twice_is_reviewed_once(suite, network, monkeypatch):
    """Two attempts' leaders gather the same bundles and propose the same report at once
    (a slow round overtaken by the next attempt): each other member reviews it once and signs
    the second proposal from that review, and both leaders hold a quorum of valid signatures.
    A leader overtaken while it gathers proposes nothing; once settled, the report is refused."""
    committee, epoch, _ = network
    a, b = committee.leader(epoch, 0), committee.leader(epoch, 1)
    posts = []
    for m in (a, b):  # neither posts: the two rounds overlap from start to end
        monkeypatch.setattr(
            m.service.submitter, "submit", lambda e, build, post: posts.append(post)
        )
    await asyncio.gather(a.lead(committee.session, epoch, 0), b.lead(committee.session, epoch, 1))
    assert len(posts) == 2 and all(len(p.signers) == 3 for p in posts)
    for m in committee.members:
        if m not in (a, b):
            assert m.metrics["proposals_signed"] == 2, m.metrics
            assert m.metrics["proposals_signed_again"] == 1, m.metrics
            assert not m._reviews
    assert suite.hub.nextEpoch() <= epoch
    monkeypatch.undo()
    # a leader whose epoch settles while it gathers stops there (no build, no proposal)
    gather, signed = a.gather_evidence, {}

    async def overtaken(*args):
        evidence = await gather(*args)
        assert await b.lead(committee.session, epoch, 2) is not None
        signed.update({m.address: m.metrics["proposals_signed"] for m in committee.members})
        return evidence

    monkeypatch.setattr(a, "gather_evidence", overtaken)
    assert await a.lead(committee.session, epoch, 3) is None
    assert suite.hub.nextEpoch() == epoch + 1 and a.metrics["rounds_overtaken"] == 1
    assert {m.address: m.metrics["proposals_signed"] for m in committee.members} == signed
    assert not any(m._reviews for m in committee.members)
    # a report signed before is checked against the chain again, not signed once settled
    c = next(m for m in committee.members if m not in (a, b))
    refused = c.metrics["proposals_refused"]
    [(digest, (bundles, evidence))] = a.proposals[epoch].items()
    body = {"attempt": 3, "digest": "0x" + digest.hex(), "evidence": sorted(evidence),
            "bundles": [x.to_json() for x in bundles]}  # fmt: skip
    assert (
        await a._ask_signature(committee.session, c.address, epoch, json.dumps(body).encode())
        is None
    )
    assert c.metrics["proposals_refused"] == refused + 1
    assert c.metrics["proposals_signed_again"] == 2


@pytest.mark.asyncio
async def test_a_stalled_review_of_the_same_report_delays_a_member_one_timeout(
    suite, network, monkeypatch
):
    """A hostile member can propose the report it expects the leader to propose (it can
    gather the same bundles) and serve its evidence slowly: the leader's proposal of it waits
    for that review at most one request timeout, is then reviewed on its own and signed."""
    committee, epoch, _ = network
    leader, stalled = committee.leader(epoch, 0), asyncio.Event()  # a review that never ends
    others = [m for m in committee.members if m is not leader]
    for m in others:
        m.settings = replace(m.settings, request_timeout_s=1.0)
    ask = leader._ask_signature

    async def after_a_hostile_proposal(session, member, e, body):
        digest = bytes.fromhex(json.loads(body)["digest"][2:])
        next(m for m in others if m.address == member)._reviews[(e, digest)] = stalled
        return await ask(session, member, e, body)

    monkeypatch.setattr(leader, "_ask_signature", after_a_hostile_proposal)
    assert await leader.lead(committee.session, epoch, 0) is not None
    assert suite.hub.nextEpoch() == epoch + 1
    assert all(m.metrics["proposals_signed"] == 1 for m in others)
    assert all(list(m._reviews.values()) == [stalled] for m in others)  # still the hostile's


def _flip_first_verdict(bundles, leader):
    victim = next(b for b in bundles if b.member != leader.address)
    flipped = dict(victim.verdicts[0], passed=not victim.verdicts[0]["passed"], reason="wrong_row")
    return [replace(b, verdicts=(flipped, *b.verdicts[1:])) if b is victim else b for b in bundles]


def _drop_first_verdict(bundles, leader):
    victim = next(b for b in bundles if b.member != leader.address)
    return [replace(b, verdicts=b.verdicts[1:]) if b is victim else b for b in bundles]


@pytest.mark.asyncio
@pytest.mark.parametrize("tamper", [_flip_first_verdict, _drop_first_verdict, "invent_slash"])
async def test_a_malicious_leader_gets_no_quorum(suite, network, monkeypatch, tamper):
    committee, epoch, _ = network
    leader = committee.leader(epoch, 0)
    if tamper == "invent_slash":
        honest_build = leader.build

        def build(e, bundles, evidence=None):
            b = honest_build(e, bundles, evidence)
            victim = replace(b.results[0], slash_reason=1, evidence=b"\x01" * 32)
            return build_epoch(e, b.report.committee_version, [victim, *b.results[1:]], {}, 64)

        monkeypatch.setattr(leader, "build", build)
    else:
        honest_gather = leader.gather

        async def gather(session, e, view):
            return tamper(await honest_gather(session, e, view), leader)

        monkeypatch.setattr(leader, "gather", gather)
    assert await leader.lead(committee.session, epoch, 0) is None
    assert suite.hub.nextEpoch() <= epoch  # nothing settled
    others = [m for m in committee.members if m is not leader]
    assert sum(m.metrics["proposals_refused"] for m in others) == 3
    assert leader.metrics["rounds_without_quorum"] == 1
    # the next, honest leader settles the epoch
    monkeypatch.undo()
    assert await committee.leader(epoch, 1).lead(committee.session, epoch, 1) is not None
    assert suite.hub.nextEpoch() == epoch + 1


@pytest.mark.asyncio
async def test_a_member_that_did_not_adopt_the_previous_report_does_not_sign(suite, network):
    committee, epoch, _ = network
    leader = committee.leader(epoch, 0)
    assert await leader.lead(committee.session, epoch, 0) is not None
    # every member but one adopts epoch's report; then epoch + 1 is challenged and ended
    laggard = next(m for m in committee.members if m is not leader)
    for m in committee.members:
        if m is not laggard:
            await m.adopt(committee.session, epoch)
    laggard.proposals.clear()  # it lost the proposal (a restart) ...
    for m in committee.members:
        m.peers = {} if m is laggard else m.peers  # ... and cannot reach anyone to catch up
        await m.service.challenge_epoch(epoch + 1, committee.session)
    advance_to_epoch(suite, epoch + 2)
    nxt = committee.leader(epoch + 1, 0)
    await nxt.lead(committee.session, epoch + 1, 0)
    if nxt is laggard:  # a leader behind the chain does not even propose
        assert laggard.metrics["rounds_skipped_behind"] == 1 and epoch + 1 not in nxt.posted
    else:
        assert laggard.metrics["proposals_refused"] == 1
        signers = nxt.posted[epoch + 1].signers if epoch + 1 in nxt.posted else ()
        assert laggard.address not in signers
    # led by the laggard itself: it proposes nothing
    assert await laggard.lead(committee.session, epoch + 1, 5) is None
    assert laggard.metrics["rounds_skipped_behind"] >= 1


@pytest.mark.asyncio
async def test_a_report_signed_before_an_earlier_epoch_settled_cannot_settle(
    suite, network, monkeypatch
):
    # Two epochs end; the earlier one's round goes once around the committee without settling
    # (every leader had its turn), so the committee signs the later one, built without the
    # earlier epoch's rewards; the earlier one settles after all; the later report, posted
    # now, would drop those rewards from the cumulative root. The hub refuses it (WrongParent)
    # and the next attempt builds on the settled report.
    committee, epoch, _ = network
    for m in committee.members:
        await m.service.challenge_epoch(epoch + 1, committee.session)
        m.ended_at[epoch] = m.clock() - len(committee.members) * m.settings.leader_timeout_s
    advance_to_epoch(suite, epoch + 2)
    later = committee.leader(epoch + 1, 0)
    held = []
    submit = later.service.submitter.submit
    monkeypatch.setattr(
        later.service.submitter, "submit", lambda e, build, post=None: held.append((build, post))
    )
    await later.lead(committee.session, epoch + 1, 0)
    monkeypatch.undo()
    ((build, post),) = held
    assert post is not None and build.report.parent == bytes(32)  # a quorum signed it
    assert await committee.leader(epoch, 0).lead(committee.session, epoch, 0) is not None
    for m in committee.members:
        assert await m.adopt(committee.session, epoch)
    with pytest.raises(ChainError, match="WrongParent"):  # refused before it is sent
        submit(epoch + 1, build, post)
    assert suite.hub.nextEpoch() == epoch + 1 and not accepted(suite, epoch + 1)
    # a leader whose post meets it logs it and returns: its pass goes on, the next attempt
    # builds on the settled report
    monkeypatch.setattr(
        later.service.submitter, "submit", lambda *a: submit(epoch + 1, build, post)
    )
    monkeypatch.setattr(later, "_behind", lambda e: False)
    assert await later.lead(committee.session, epoch + 1, 7) is None
    monkeypatch.undo()
    assert await committee.leader(epoch + 1, 1).lead(committee.session, epoch + 1, 1) is not None
    settled = "0x" + bytes(accepted(suite, epoch)[0].digest).hex()
    for m in committee.members:
        assert await m.adopt(committee.session, epoch + 1)
        assert m.store.report_for(epoch + 1)["report"]["parent"] == settled
        assert m.metrics["adopt_mismatch"] == 0


@pytest.mark.asyncio
async def test_epochs_settle_in_order_while_the_earlier_round_is_retried(
    suite, network, monkeypatch
):
    """A report of epoch + 1 settled first would skip epoch (its nodes unpaid): its leader
    waits, and a leader that proposes it anyway gets no signature, until epoch settles or its
    round has gone once around the committee."""
    committee, epoch, _ = network
    now = [0.0]
    for m in committee.members:
        m.clock = lambda: now[0]
        await m.service.challenge_epoch(epoch + 1, committee.session)
    advance_to_epoch(suite, epoch + 2)
    later, first = committee.leader(epoch + 1, 0), committee.leader(epoch, 0)
    await later.step(committee.session)  # its turn for epoch + 1, not for epoch: it waits
    assert (epoch + 1, 0) not in later.led and epoch + 1 not in later.posted
    assert await later.lead(committee.session, epoch + 1, 0) is None  # led anyway: it waits
    assert later.metrics["rounds_waiting_earlier"] == 1
    # a leader without that rule: the members refuse
    monkeypatch.setattr(later, "_skipped_by", lambda *a: None)
    assert await later.lead(committee.session, epoch + 1, 0) is None
    monkeypatch.undo()
    assert suite.hub.nextEpoch() <= epoch
    assert all(m.metrics["proposals_refused"] == 1 for m in committee.members if m is not later)
    await first.step(committee.session)  # epoch's leader settles it
    assert suite.hub.nextEpoch() == epoch + 1
    await adopt_all(committee)  # then epoch + 1's
    await adopt_all(committee)
    assert suite.hub.nextEpoch() == epoch + 2
    assert [len(accepted(suite, e)) for e in (epoch, epoch + 1)] == [1, 1]
    # once the earlier round has gone around the committee, the later epoch no longer waits
    m = committee.members[0]
    m.ended_at[epoch + 5] = now[0] - len(committee.members) * m.settings.leader_timeout_s
    m.store.schedule_epoch(epoch + 5, bytes(32))
    m.store.advance_epoch(epoch + 5, "scheduled", "challenged")
    assert m._skipped_by(epoch + 6, epoch + 5, len(committee.members)) is None
    m.ended_at[epoch + 5] += 1
    assert m._skipped_by(epoch + 6, epoch + 5, len(committee.members)) == epoch + 5


@pytest.mark.asyncio
async def test_a_member_down_for_a_whole_epoch_catches_up_and_signs_again(suite, network):
    committee, epoch, _ = network
    leader = committee.leader(epoch, 0)
    assert await leader.lead(committee.session, epoch, 0) is not None
    for m in committee.members:
        assert await m.adopt(committee.session, epoch)
    # epoch + 1: one member is down the whole epoch (its API still answers: it refuses, having
    # no observations); the other three challenge and settle it
    absent = next(m for m in committee.members if m is not committee.leader(epoch + 1, 0))
    for m in committee.members:
        if m is not absent:
            await m.service.challenge_epoch(epoch + 1, committee.session)
    advance_to_epoch(suite, epoch + 2)
    assert await committee.leader(epoch + 1, 0).lead(committee.session, epoch + 1, 0)
    assert absent.store.epoch(epoch + 1) is None
    # back up: its pass adopts epoch + 1 from a peer's proposal, then challenges epoch + 2
    await absent.step(committee.session)
    mine = absent.store.report_for(epoch + 1)
    assert mine is not None and mine["digest"] == accepted(suite, epoch + 1)[0].digest
    assert absent.store.epoch(epoch + 1)["state"] == "confirmed"
    assert absent.store.verdicts_of(epoch + 1) == []  # it claims no observations it did not make
    # and it signs epoch + 2 (it would refuse without epoch + 1's report)
    for m in committee.members:
        if m is not absent:
            assert await m.adopt(committee.session, epoch + 1)
            await m.service.challenge_epoch(epoch + 2, committee.session)
    advance_to_epoch(suite, epoch + 3)
    signed, refused = absent.metrics["proposals_signed"], absent.metrics["proposals_refused"]
    leader = committee.leader(epoch + 2, 0)
    if leader is absent:
        leader = committee.leader(epoch + 2, 1)
    assert await leader.lead(committee.session, epoch + 2, 0) is not None
    assert absent.metrics["proposals_refused"] == refused
    assert absent.metrics["proposals_signed"] == signed + 1


async def use_bls(suite, deployer, committee):
    for m in committee.members:
        tx = m.chain.register_bls_key(m.key, m.bls_sk)
        assert m.chain.receipt(tx)["status"] == 1
    suite.hub.setCommittee(committee.addresses, 3, BLS, sender=deployer)


@pytest.mark.asyncio
async def test_a_bls_committee_posts_one_aggregate_of_every_signer(suite, deployer, network):
    committee, epoch, _ = network
    await use_bls(suite, deployer, committee)
    leader = committee.leader(epoch, 0)
    # A member registers another key after the committee was set: the hub still checks the
    # snapshot, which the member's signature matches, so the leader keeps it.
    rotated = next(m for m in committee.members if m is not leader)
    tx = rotated.chain.register_bls_key(rotated.key, 4242)
    assert rotated.chain.receipt(tx)["status"] == 1
    assert await leader.lead(committee.session, epoch, 0) is not None
    post = leader.posted[epoch]
    assert post.scheme == "bls" and len(post.signers) == 4 and post.bitmap == 0b1111
    assert suite.hub.nextEpoch() == epoch + 1


@pytest.mark.asyncio
async def test_the_leader_drops_a_bad_bls_share_and_posts_the_rest(
    suite, deployer, network, monkeypatch
):
    committee, epoch, _ = network
    await use_bls(suite, deployer, committee)
    leader = committee.leader(epoch, 0)
    liar = next(m for m in committee.members if m is not leader)
    honest_signature = liar._signature
    monkeypatch.setattr(
        liar, "_signature", lambda view, e, digest: honest_signature(view, e, b"\x13" * 32)
    )
    assert await leader.lead(committee.session, epoch, 0) is not None
    post = leader.posted[epoch]
    assert liar.address not in post.signers and len(post.signers) == 3
    assert post.bitmap == sum(1 << committee.addresses.index(a) for a in post.signers)


@pytest.mark.asyncio
async def test_members_without_a_chain_view_or_behind_the_epoch_do_not_sign(
    suite, network, monkeypatch
):
    from oracle.service.chain import ChainError

    committee, epoch, _ = network
    leader = committee.leader(epoch, 0)
    blind, behind = [m for m in committee.members if m is not leader][:2]

    def down():
        raise ChainError("eth_call failed: connection refused")

    honest_gather = leader.gather

    async def gather(session, e, view):  # the views go bad after the bundles were served
        bundles = await honest_gather(session, e, view)
        monkeypatch.setattr(blind.chain, "current_epoch", down)
        monkeypatch.setattr(behind.chain, "current_epoch", lambda: epoch)  # not seen it end
        return bundles

    monkeypatch.setattr(leader, "gather", gather)
    assert await leader.lead(committee.session, epoch, 0) is None  # 2 of 4 sign: below t = 3
    assert blind.metrics["proposals_refused"] == 1 and behind.metrics["proposals_refused"] == 1
    assert suite.hub.nextEpoch() <= epoch
