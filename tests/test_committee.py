"""oracle.committee.rules: signed bundles, the report scored from several members' verdicts
(claims of an answer by their evidence, the rest by majority), and the reasons a member refuses
a proposal. Pure, no chain: what each verdict's evidence proves is given here as a table (the
checks on real signed answers are tests/test_committee_evidence.py)."""

from dataclasses import replace

import pytest
from eth_account import Account
from eth_utils import keccak

from oracle.committee.evidence import Checked
from oracle.committee.rules import (
    Bundle,
    CommitteeError,
    leader_of,
    needed,
    refusals,
    score_bundles,
    sign_bundle,
    validate_bundles,
)
from oracle.protocol.hardware import NodeKind, SlashReason
from oracle.service.report import build_epoch
from oracle.service.score import NodeInput

CHAIN, HUB, EPOCH = 31337, "0x" + "11" * 20, 7
KEYS = sorted(
    (Account.from_key(bytes([i + 1]) * 32) for i in range(5)), key=lambda k: int(k.address, 16)
)
MEMBERS = [k.address for k in KEYS]
NODE_A, NODE_B = "0x" + "0a" * 20, "0x" + "0b" * 20
OWNER = "0x" + "ee" * 20


def evidence_of(cid: str) -> str:
    return "0x" + keccak(text=cid).hex()


def verdict(member: int, node: str, i: int, passed=True, reason="ok", latency_us=1_000, tries=1):
    cid = f"0x{member:02x}{i:062x}"
    return {
        "challenge_id": cid,
        "node": node,
        "kind": "compute",
        "passed": passed,
        "reason": reason,
        "detail": "" if passed else "row 3 differs",
        "latency_us": latency_us,
        "deadline_us": 2_000_000,
        "lease_id": 0,
        "chunk_index": 0,
        "coverage_micro": 0,
        "attempts": tries,
        "evidence": None if latency_us is None else evidence_of(cid),
    }


# What the node really signed, by (member, evidence digest): the honest members' claims are
# backed by it; a liar's invented ones are not in it (its digests name nothing the node signed)
# and evidence is the member's own (a challenge is tied to the member that sent it).
SIGNED: dict[tuple[str, str], Checked] = {}


def signed(*bundles: Bundle, fraud: str | None = None) -> None:
    """Records the answered verdicts of `bundles` as backed by the node's signature: a pass
    (or lateness) as verifying work, or `fraud` as the wrong work the evidence shows."""
    for b in bundles:
        for v in b.verdicts:
            if v["evidence"] is not None:
                SIGNED[(b.member.lower(), v["evidence"])] = (
                    Checked(True, False, fraud) if fraud else Checked(True, True, "ok")
                )


def check(entry, member):
    return SIGNED.get((member, entry["evidence"]))


@pytest.fixture(autouse=True)
def _no_signed_answers():
    SIGNED.clear()


def bundle(member: int, verdicts, epoch=EPOCH, key=None) -> Bundle:
    return sign_bundle(key or KEYS[member], CHAIN, HUB, epoch, verdicts)


def honest(member: int) -> Bundle:
    """Member i saw nodes A and B pass; both signed what it shows."""
    b = bundle(member, [verdict(member, NODE_A, 1), verdict(member, NODE_B, 2)])
    signed(b)
    return b


def make_input(node, verdicts, coverage_micro):
    return NodeInput(node, OWNER, NodeKind.COMPUTE, verdicts, hw_class=1, gpu_count=1)


def results_of(bundles, budget=10**21, make=make_input):
    return score_bundles(EPOCH, bundles, make, budget, check=check)


def build_of(bundles, budget=10**21):
    return build_epoch(EPOCH, 1, results_of(bundles, budget), {}, 64)


def slashed(bundles) -> dict[str, int]:
    return {r.node: r.slash_reason for r in results_of(bundles)}


# ---------------------------------------------------------------------------- bundles
def test_bundle_round_trips_through_json_and_recovers_its_member():
    b = honest(0)
    again = Bundle.from_json(b.to_json())
    assert again == b and again.signer() == MEMBERS[0]
    assert [v["challenge_id"] for v in b.verdicts] == sorted(v["challenge_id"] for v in b.verdicts)


def test_an_altered_or_trimmed_bundle_no_longer_recovers_its_member():
    b = honest(1)
    flipped = replace(b, verdicts=(dict(b.verdicts[0], passed=False), *b.verdicts[1:]))
    dropped = replace(b, verdicts=b.verdicts[1:])
    for bad in (flipped, dropped):
        assert bad.signer() != MEMBERS[1]
        with pytest.raises(CommitteeError, match="not signed by it"):
            validate_bundles([bad, honest(0), honest(2)], chain_id=CHAIN, hub=HUB, epoch=EPOCH,
                             members=MEMBERS, threshold=3)  # fmt: skip


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda j: j.pop("signature"), "exactly the keys"),
        (lambda j: j.update(signature="0x1234"), "65 bytes"),
        (lambda j: j.update(member="nope"), "must be an address"),
        (lambda j: j.update(epoch=-1), r"epoch must be an integer in \[0, "),
        (lambda j: j.update(verdicts="all good"), "list"),
        (lambda j: j["verdicts"][0].update(passed="yes"), "boolean"),
        (lambda j: j["verdicts"][0].update(latency_us=1.5), r"latency_us must be an integer in"),
        # one absurd number refuses the bundle whole: it never reaches another member's scoring
        (lambda j: j["verdicts"][0].update(latency_us=10**400), "an integer of 1329 bits"),
        (lambda j: j["verdicts"][0].update(deadline_us=10**13), r"deadline_us .* \[0, 10+\]"),
        (lambda j: j["verdicts"][0].update(coverage_micro=10**16), "coverage_micro"),
        (lambda j: j["verdicts"][0].update(lease_id=2**64), "lease_id"),
        (lambda j: j["verdicts"][0].update(detail="x" * 1025), "detail must be a string"),
        (lambda j: j["verdicts"][0].update(kind="gpu"), "kind must be one of"),
        (lambda j: j["verdicts"][0].update(challenge_id="0x" + "G" * 64), "challenge_id"),
        (lambda j: j["verdicts"][0].update(node=NODE_A.upper()), "lowercase address"),
        (lambda j: j["verdicts"][0].update(extra=1), "exactly the keys"),
    ],
)
def test_malformed_bundle_json_is_refused_with_the_reason(mutate, message):
    body = honest(0).to_json()
    body["verdicts"] = [dict(v) for v in body["verdicts"]]
    mutate(body)
    with pytest.raises(CommitteeError, match=message):
        Bundle.from_json(body)


def test_validate_bundles_checks_membership_epoch_chain_duplicates_and_threshold():
    ok = [honest(0), honest(1), honest(2)]
    assert [b.member for b in validate_bundles(list(reversed(ok)), chain_id=CHAIN, hub=HUB,
            epoch=EPOCH, members=MEMBERS, threshold=3)] == MEMBERS[:3]  # fmt: skip
    outsider = Account.from_key(b"\x09" * 32)
    cases = [
        ([*ok, bundle(0, [], key=outsider)], "not a committee member"),
        ([*ok, honest(0)], "two bundles"),
        ([*ok[:2], bundle(2, [], epoch=EPOCH + 1)], "for epoch"),
        ([*ok[:2], replace(honest(2), chain_id=1)], "another chain"),
        (ok[:2], "threshold is 3"),
    ]
    for bundles, message in cases:
        with pytest.raises(CommitteeError, match=message):
            validate_bundles(bundles, chain_id=CHAIN, hub=HUB, epoch=EPOCH, members=MEMBERS,
                             threshold=3)  # fmt: skip


def test_leader_rotates_by_epoch_and_attempt():
    four = MEMBERS[:4]
    assert [leader_of(four, 8, a) for a in range(5)] == [
        four[0], four[1], four[2], four[3], four[0]
    ]  # fmt: skip
    assert leader_of(four, 9, 0) == four[1]


# ---------------------------------------------------------------------------- combining
def test_the_report_does_not_depend_on_the_order_of_the_bundles():
    bundles = [honest(i) for i in range(4)]
    a, b = build_of(bundles), build_of(list(reversed(bundles)))
    assert a.digest(CHAIN, HUB) == b.digest(CHAIN, HUB)
    assert a.results_file == b.results_file


def test_one_member_cannot_slash_a_node_the_others_saw_working():
    liar = bundle(0, [verdict(0, NODE_A, 1, passed=False, reason="wrong_row"),
                      verdict(0, NODE_B, 2)])  # fmt: skip
    out = slashed([liar, honest(1), honest(2)])
    assert out[NODE_A.lower()] == 0
    build = build_of([liar, honest(1), honest(2)])
    assert build.report.slashes == ()
    # the false verdict does not count: the node's result is the majority's view of it
    row = next(r for r in build.results if r.node == NODE_A.lower())
    assert (row.asked, row.passed, row.pass_bps) == (1, 1, 10_000) and row.reason == "ok"


def _wrong_row(i: int) -> Bundle:
    return bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="wrong_row"),
                      verdict(i, NODE_B, 2)])  # fmt: skip


def test_wrong_work_the_node_signed_slashes_it_whoever_saw_it():
    """Fraud counts by its evidence: one member holding the node's signed wrong row is enough
    (a node may cheat on one member's challenge only), and the others' passes do not hide it."""
    cheat = _wrong_row(0)
    signed(cheat, fraud="wrong_row")
    out = slashed([cheat, honest(1), honest(2), honest(3)])
    assert out[NODE_A.lower()] == int(SlashReason.INVALID_COMPUTE)
    assert out[NODE_B.lower()] == 0


def _withheld(i: int) -> Bundle:
    b = bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="withheld"),
                   verdict(i, NODE_B, 2)])  # fmt: skip
    signed(b)  # the node's signed commitment backs that it answered; the rest is the word
    return b


def test_one_member_claiming_a_withheld_reveal_cannot_slash():
    """A member that got the reveal and says it did not: its word alone, against the others'
    passes, slashes nothing (withholding counts by majority, like lateness)."""
    out = slashed([_withheld(0), honest(1), honest(2), honest(3)])
    assert out[NODE_A.lower()] == 0


def test_a_reveal_withheld_from_a_majority_of_members_slashes_missed_deadline():
    """A node that commits and then refuses the reveal (when a skipped row is sampled) keeps
    nothing: withheld from most members it is slashed, whatever it showed the others."""
    out = {r.node: r for r in results_of([_withheld(0), _withheld(1), _withheld(2), honest(3)])}
    a = out[NODE_A.lower()]
    assert (a.slash_reason, a.reason, a.reward) == (int(SlashReason.MISSED_DEADLINE), "withheld", 0)


def _storage(i: int, reason: str = "ok") -> Bundle:
    """Member i's audit of NODE_A's lease 2 (its DataReceipt on the chain): a pass the node
    signed, or a refusal ("data_withheld", no signed answer: the member's word)."""
    v = {**verdict(i, NODE_A, 1, passed=reason == "ok", reason=reason), "kind": "storage",
         "lease_id": 2, "chunk_index": 0 if reason == "ok" else 7}  # fmt: skip
    if reason != "ok":
        v["evidence"] = None
    b = bundle(i, [v, verdict(i, NODE_B, 2)])
    signed(b)
    return b


def _storage_input(node, verdicts, coverage_micro):
    if node.lower() == NODE_A.lower():
        return NodeInput(node, OWNER, NodeKind.STORAGE, verdicts, leases={2: 1 << 20})
    return make_input(node, verdicts, coverage_micro)


def test_a_refused_audit_of_a_lease_the_node_signed_for_slashes_only_by_majority():
    """No signature shows a refusal: one member's word slashes nothing against the others'
    signed passes; refused to most members, it is StorageAuditFailed naming the lease and the
    chunk asked, which the node can produce on-chain to dispute it."""
    one = {r.node: r for r in results_of(
        [_storage(0, "data_withheld"), _storage(1), _storage(2), _storage(3)], make=_storage_input
    )}  # fmt: skip
    assert one[NODE_A.lower()].slash_reason == 0 and one[NODE_A.lower()].reward > 0
    most = {r.node: r for r in results_of(
        [_storage(0, "data_withheld"), _storage(1, "data_withheld"),
         _storage(2, "data_withheld"), _storage(3)], make=_storage_input,
    )}  # fmt: skip
    a = most[NODE_A.lower()]
    assert a.slash_reason == int(SlashReason.STORAGE_AUDIT_FAILED)
    assert (a.slash_lease, a.slash_chunk, a.reason, a.reward) == (2, 7, "storage_data_withheld", 0)


def test_a_fraud_claim_without_the_nodes_signature_counts_for_nothing():
    """Three of four members claim a wrong row they cannot show: not even a majority slashes."""
    liars = [_wrong_row(i) for i in range(3)]
    out = {r.node: r for r in results_of([*liars, honest(3)])}
    # The liars' views of node A are empty: one member of four has a view of it, which gives
    # no result at all (neither paid nor slashed); node B, seen by all four, is paid.
    assert NODE_A.lower() not in out
    assert out[NODE_B.lower()].reason == "ok" and out[NODE_B.lower()].slash_reason == 0
    # With a majority of honest views the node is paid as they saw it.
    out = {r.node: r for r in results_of([liars[0], honest(1), honest(2)])}
    assert (out[NODE_A.lower()].reason, out[NODE_A.lower()].slash_reason) == ("ok", 0)


def silent(i: int, tries: int = 4, sweeps: int = 2) -> Bundle:
    """Member i got no answer from node A in `sweeps` challenges (the first sweep and its
    recheck) of `tries` tries each; node B answered."""
    b = bundle(i, [*(verdict(i, NODE_A, 1 + 10 * s, passed=False, reason="timeout",
                             latency_us=None, tries=tries) for s in range(sweeps)),
                   verdict(i, NODE_B, 2)])  # fmt: skip
    signed(b)
    return b


def test_offline_needs_a_majority_of_members_without_any_answer():
    assert slashed([silent(0), silent(1), silent(2)])[NODE_A.lower()] == int(SlashReason.OFFLINE)
    unbacked = bundle(2, [verdict(2, NODE_A, 1), verdict(2, NODE_B, 2)])  # a pass it cannot show
    assert slashed([silent(0), silent(1), unbacked])[NODE_A.lower()] == int(SlashReason.OFFLINE)
    assert slashed([silent(0), honest(1), honest(2)])[NODE_A.lower()] == 0
    assert slashed([silent(0), silent(1), honest(2), honest(3)])[NODE_A.lower()] == 0


def test_offline_needs_enough_tries_not_one_lost_challenge():
    assert (
        slashed([silent(0, tries=1), silent(1, tries=1), silent(2, tries=1)])[NODE_A.lower()] == 0
    )  # 2 tries each: unrewarded, never slashed
    # one sweep each (4 tries), even from every member: no second moment, no slash
    one_moment = [silent(i, sweeps=1) for i in range(3)]
    assert slashed(one_moment)[NODE_A.lower()] == 0
    results = {r.node: r for r in results_of([silent(0, sweeps=1)])}
    assert (results[NODE_A.lower()].reason, results[NODE_A.lower()].slash_reason) == ("offline", 0)
    # a committee of one that got nothing at the sweep and at the recheck: Offline
    assert slashed([silent(0)])[NODE_A.lower()] == int(SlashReason.OFFLINE)


def test_a_node_that_signed_answers_for_one_member_is_not_offline():
    """Members 1 and 2 got no answer (a partition between them and the node); member 0 shows
    the node's signed, verifying work: proof it was up. Not slashed; unrewarded this epoch, as
    the majority of views got nothing."""
    out = {r.node: r for r in results_of([honest(0), silent(1), silent(2)])}
    assert out[NODE_A.lower()].slash_reason == 0
    assert out[NODE_A.lower()].reward == 0
    # the same claim without the node's signature is no proof: Offline
    liar = bundle(0, [verdict(0, NODE_A, 5), verdict(0, NODE_B, 6)])
    assert slashed([liar, silent(1), silent(2)])[NODE_A.lower()] == int(SlashReason.OFFLINE)


# The hostile members the issue reproduced against the union rule: in each case the honest
# members' report equals the report without the liar's bundle.
def _invented(member: int, node: str, passed: bool, reason: str, count: int = 12) -> list[dict]:
    return [verdict(member, node, 100 + i, passed=passed, reason=reason,
                    latency_us=1_000 if passed else None) for i in range(count)]  # fmt: skip


def _same_as_without(liars: list[Bundle], honest_bundles: list[Bundle]) -> None:
    with_liars = build_of([*liars, *honest_bundles])
    without = build_of(honest_bundles)
    assert with_liars.report.slashes == without.report.slashes
    mine = {r.node: (r.reward, r.reason, r.slash_reason) for r in with_liars.results}
    theirs = {r.node: (r.reward, r.reason, r.slash_reason) for r in without.results}
    assert mine == theirs


def test_invented_timeouts_from_one_member_do_not_cut_an_honest_nodes_reward():
    liar = bundle(0, [*_invented(0, NODE_A, False, "timeout"), verdict(0, NODE_B, 2)])
    honest_ones = [honest(1), honest(2), honest(3), honest(4)]
    _same_as_without([liar], honest_ones)
    row = next(r for r in build_of([liar, *honest_ones]).results if r.node == NODE_A.lower())
    assert row.reward > 0 and row.reason == "ok"


def test_invented_passes_from_one_member_do_not_pay_an_offline_node():
    liar = bundle(0, [*_invented(0, NODE_A, True, "ok"), verdict(0, NODE_B, 2)])  # no signature
    honest_ones = [silent(1), silent(2), silent(3), silent(4)]
    with_liar = {r.node: r for r in build_of([liar, *honest_ones]).results}
    assert with_liar[NODE_A.lower()].reward == 0
    assert with_liar[NODE_A.lower()].slash_reason == int(SlashReason.OFFLINE)
    _same_as_without([liar], honest_ones)


def test_a_leader_and_one_colluder_cannot_slash_or_unpay_an_honest_node():
    """Two of five invent a wrong row; one honest member saw a transient timeout. The invented
    fraud has no signature of the node behind it and counts for nothing: the node is paid as
    the honest majority of the remaining views saw it."""
    fraud = [_wrong_row(0), _wrong_row(1)]
    honest_ones = [silent(2, tries=1), honest(3), honest(4)]
    out = {r.node: r for r in results_of([*fraud, *honest_ones])}
    assert out[NODE_A.lower()].slash_reason == 0
    assert out[NODE_A.lower()].reason == "ok" and out[NODE_A.lower()].reward > 0
    _same_as_without(fraud, honest_ones)


def test_a_colluding_majority_cannot_pay_an_offline_node():
    """Three of five invent passes for a node that answered nobody: without the node's signed
    answers their views are empty, two views of five give no result: the node is not paid."""
    liars = [bundle(i, [*_invented(i, NODE_A, True, "ok"), verdict(i, NODE_B, 2)])
             for i in range(3)]  # fmt: skip
    signed(*liars)  # node B did answer them ...
    for b in liars:  # ... node A did not
        for v in b.verdicts:
            if v["node"] == NODE_A:
                del SIGNED[(b.member.lower(), v["evidence"])]
    out = {r.node: r for r in results_of([*liars, silent(3), silent(4)])}
    assert NODE_A.lower() not in out  # neither paid nor slashed
    assert out[NODE_B.lower()].reward > 0


def test_a_pass_claim_whose_evidence_shows_wrong_work_is_wrong_work():
    """A member that passes a node whose signed rows are wrong (a lazy or colluding member)
    does not hide the fraud: the evidence speaks, not the member."""
    lenient = bundle(0, [verdict(0, NODE_A, 1), verdict(0, NODE_B, 2)])
    signed(lenient, fraud="wrong_row")
    out = slashed([lenient, silent(1, tries=1), honest(2)])
    assert out[NODE_A.lower()] == int(SlashReason.INVALID_COMPUTE)


def test_evidence_is_asked_only_for_disputed_nodes():
    """A node every member saw pass needs no evidence (no transfer, no re-verification)."""
    assert needed([honest(i) for i in range(4)]) == {}
    calls = []
    score_bundles(EPOCH, [honest(i) for i in range(4)], make_input, 10**21,
                  check=lambda v: calls.append(v))  # fmt: skip
    assert calls == []
    need = needed([honest(0), silent(1), honest(2)])
    assert sorted(need) == sorted(KEYS[i].address.lower() for i in (0, 2))
    assert all(v["node"] == NODE_A for vs in need.values() for v in vs)


def test_copying_another_members_challenges_erases_nothing_and_backs_nothing():
    """The review's attack: a member copies another member's challenge ids into its bundle with
    other verdicts. The other member's view is untouched (each bundle counts in its own view),
    and the copier's claims are not backed: the evidence is the other member's challenge."""
    shown = honest(0)  # member 0 holds node A's signed pass
    down = [silent(1), silent(2)]  # two members saw node A down (a partition)
    # member 3 restates member 0's challenge of node A as a timeout: no longer erases it
    thief = bundle(3, [{**shown.verdicts[0], "passed": False, "reason": "timeout",
                        "latency_us": None, "evidence": None, "attempts": 4},
                       verdict(3, NODE_B, 2)])  # fmt: skip
    signed(thief)
    out = {r.node: r for r in results_of([shown, *down, thief])}
    assert out[NODE_A.lower()].slash_reason == 0  # member 0's proof of life still counts
    # a copy of member 0's backed pass is not the copier's evidence: with it the node would be
    # paid by two passing views of three; without, it is not
    copier = bundle(3, [shown.verdicts[0], verdict(3, NODE_B, 2)])
    assert check(copier.verdicts[0], copier.member.lower()) is None
    out = {r.node: r for r in results_of([shown, *down, copier])}
    assert out[NODE_A.lower()].reward == 0


def test_a_node_only_a_minority_saw_gets_no_result():
    """A member alone cannot pay (or slash) a node the other members did not challenge."""
    node_c = "0x" + "0c" * 20
    liar = bundle(0, [*_invented(0, node_c, True, "ok"), verdict(0, NODE_A, 1)])
    results = {r.node for r in results_of([liar, honest(1), honest(2)])}
    assert node_c not in results and NODE_A.lower() in results


def test_unknown_nodes_are_left_out():
    results = results_of(
        [honest(0)], make=lambda n, v, c: make_input(n, v, c) if n == NODE_A else None
    )
    assert [r.node for r in results] == [NODE_A.lower()]


# ---------------------------------------------------------------------------- refusals
def test_a_member_signs_the_report_it_recomputes():
    bundles = [honest(0), honest(1), honest(2)]
    build = build_of(bundles)
    d = build.digest(CHAIN, HUB)
    assert refusals(own=bundles[1], bundles=bundles, proposed_digest=d, recomputed=build,
                    recomputed_digest=d) == []  # fmt: skip


def test_a_member_refuses_when_its_observations_were_dropped_or_it_has_none():
    bundles = [honest(0), honest(1), honest(2)]
    build = build_of(bundles)
    d = build.digest(CHAIN, HUB)
    reasons = refusals(own=honest(3), bundles=bundles, proposed_digest=d, recomputed=build,
                       recomputed_digest=d)  # fmt: skip
    assert reasons == ["my observations are missing from the proposal or altered"]
    reasons = refusals(own=None, bundles=bundles, proposed_digest=d, recomputed=build,
                       recomputed_digest=d)  # fmt: skip
    assert reasons == ["no observations of my own for this epoch"]


def test_a_member_refuses_a_report_that_does_not_follow_from_the_bundles():
    bundles = [honest(0), honest(1), honest(2)]
    build = build_of(bundles)
    cheat = [bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="wrong_row")]) for i in range(3)]
    signed(*cheat, fraud="wrong_row")
    invented = build_of(cheat)
    assert invented.report.slashes  # the leader's report slashes node A
    reasons = refusals(own=bundles[0], bundles=bundles,
                       proposed_digest=invented.digest(CHAIN, HUB), recomputed=build,
                       recomputed_digest=build.digest(CHAIN, HUB))  # fmt: skip
    assert len(reasons) == 1 and reasons[0].startswith("the report does not follow")


def test_a_member_refuses_to_slash_a_node_that_passed_all_its_challenges():
    """...unless the node's own signature proves the slash (it may have cheated on another
    member's challenge only): a slash by majority (Offline here) needs its view not to
    contradict it."""
    quiet = [silent(i) for i in range(3)]
    build = build_of(quiet)
    assert [s.reason for s in build.report.slashes] == [int(SlashReason.OFFLINE)]
    d = build.digest(CHAIN, HUB)
    mine = honest(3)
    reasons = refusals(own=mine, bundles=[*quiet, mine], proposed_digest=d, recomputed=build,
                       recomputed_digest=d)  # fmt: skip
    assert (
        f"slash of node {build.report.slashes[0].node}, which passed all my challenges" in reasons
    )
    cheat = [_wrong_row(0)]
    signed(*cheat, fraud="wrong_row")
    bundles = [*cheat, honest(1), honest(2)]
    proven = build_of(bundles)
    assert [s.reason for s in proven.report.slashes] == [int(SlashReason.INVALID_COMPUTE)]
    d = proven.digest(CHAIN, HUB)
    held = {v["evidence"] for vs in needed(bundles).values() for v in vs}
    assert refusals(own=bundles[1], bundles=bundles, proposed_digest=d, recomputed=proven,
                    recomputed_digest=d, evidence_held=held) == []  # fmt: skip


def test_a_member_refuses_a_proposal_without_the_evidence_of_its_own_verdicts():
    """A leader cannot drop an honest member's evidence to make its passes count for nothing."""
    bundles = [honest(0), silent(1), honest(2)]
    build = build_of(bundles)
    d = build.digest(CHAIN, HUB)
    held = {v["evidence"] for vs in needed(bundles).values() for v in vs}
    mine = next(v["evidence"] for v in bundles[2].verdicts if v["node"] == NODE_A)
    assert refusals(own=bundles[2], bundles=bundles, proposed_digest=d, recomputed=build,
                    recomputed_digest=d, evidence_held=held) == []  # fmt: skip
    reasons = refusals(own=bundles[2], bundles=bundles, proposed_digest=d, recomputed=build,
                       recomputed_digest=d, evidence_held=held - {mine})  # fmt: skip
    assert reasons == [
        f"the evidence of 1 of my verdicts is missing from the proposal (first: challenge "
        f"{next(v['challenge_id'] for v in bundles[2].verdicts if v['node'] == NODE_A)})"
    ]


def test_too_strong_links_slash_nobody_even_when_every_member_saw_them():
    """A link too strong for its claimed positions says one of two claims is false, not which:
    witnesses could steer it onto the node they hear, so no number of them, in no number of
    members' views, is a slash (it costs the link's coverage, oracle.service.challenge)."""

    def wireless(node, verdicts, coverage_micro):
        return NodeInput(node, OWNER, NodeKind.WIRELESS, verdicts, coverage_micro=10**6)

    def strong(i, count):
        return bundle(i, [verdict(i, NODE_A, j, passed=True, reason="too_strong")
                          for j in range(1, count + 1)] + [verdict(i, NODE_A, 9)])  # fmt: skip

    every = [strong(i, 30) for i in range(4)]
    signed(*every)
    results = {r.node: r for r in results_of(every, make=wireless)}
    assert results[NODE_A.lower()].slash_reason == 0
    assert results[NODE_A.lower()].reward > 0  # coverage (the median of the views) still pays
