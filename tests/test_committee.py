"""oracle.committee.rules: signed bundles, the report scored from several members' verdicts (with
the majority gate on slashes), and the reasons a member refuses a proposal. Pure, no chain."""

from dataclasses import replace

import pytest
from eth_account import Account

from oracle.committee.rules import (
    Bundle,
    CommitteeError,
    leader_of,
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
    (Account.from_key(bytes([i + 1]) * 32) for i in range(4)), key=lambda k: int(k.address, 16)
)
MEMBERS = [k.address for k in KEYS]
NODE_A, NODE_B = "0x" + "0a" * 20, "0x" + "0b" * 20
OWNER = "0x" + "ee" * 20


def verdict(member: int, node: str, i: int, passed=True, reason="ok", latency_us=1_000):
    return {
        "challenge_id": f"0x{member:02x}{i:062x}",
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
    }


def bundle(member: int, verdicts, epoch=EPOCH, key=None) -> Bundle:
    return sign_bundle(key or KEYS[member], CHAIN, HUB, epoch, verdicts)


def honest(member: int) -> Bundle:
    return bundle(member, [verdict(member, NODE_A, 1), verdict(member, NODE_B, 2)])


def make_input(node, verdicts, coverage_micro):
    return NodeInput(node, OWNER, NodeKind.COMPUTE, verdicts, hw_class=1, gpu_count=1)


def build_of(bundles, budget=10**21):
    results = score_bundles(EPOCH, bundles, make_input, budget)
    return build_epoch(EPOCH, 1, results, {}, 64)


def slashed(bundles) -> dict[str, int]:
    return {r.node: r.slash_reason for r in score_bundles(EPOCH, bundles, make_input, 10**21)}


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
    assert [leader_of(MEMBERS, 8, a) for a in range(5)] == [
        MEMBERS[0], MEMBERS[1], MEMBERS[2], MEMBERS[3], MEMBERS[0]
    ]  # fmt: skip
    assert leader_of(MEMBERS, 9, 0) == MEMBERS[1]


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
    # the false verdict still counts against the pass rate: 2 of 3 passed
    row = next(r for r in build.results if r.node == NODE_A.lower())
    assert (row.asked, row.passed) == (3, 2) and row.reason == "ok"


def test_a_majority_of_the_members_that_challenged_a_node_slashes_it():
    cheat = [
        bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="wrong_row"), verdict(i, NODE_B, 2)])
        for i in range(2)
    ]
    assert slashed([*cheat, honest(2)])[NODE_A.lower()] == int(SlashReason.INVALID_COMPUTE)
    # 2 of 4 is not a majority
    assert slashed([*cheat, honest(2), honest(3)])[NODE_A.lower()] == 0


def test_offline_needs_every_member_to_get_no_answer():
    silent = lambda i: bundle(  # noqa: E731
        i, [verdict(i, NODE_A, 1, passed=False, reason="timeout", latency_us=None)]
    )
    assert slashed([silent(0), silent(1), silent(2)])[NODE_A.lower()] == int(SlashReason.OFFLINE)
    assert slashed([silent(0), silent(1), honest(2)])[NODE_A.lower()] == 0


def test_a_copied_challenge_adds_nothing():
    original = honest(0)
    copier = bundle(1, list(original.verdicts))  # member 1 replays member 0's verdicts
    results = {r.node: r for r in score_bundles(EPOCH, [original, copier], make_input, 10**21)}
    assert results[NODE_A.lower()].asked == 1


def test_unknown_nodes_are_left_out():
    results = score_bundles(
        EPOCH, [honest(0)], lambda n, v, c: make_input(n, v, c) if n == NODE_A else None, 10**21
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
    invented = build_of([
        bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="wrong_row")]) for i in range(3)
    ])  # fmt: skip
    assert invented.report.slashes  # the leader's report slashes node A
    reasons = refusals(own=bundles[0], bundles=bundles,
                       proposed_digest=invented.digest(CHAIN, HUB), recomputed=build,
                       recomputed_digest=build.digest(CHAIN, HUB))  # fmt: skip
    assert len(reasons) == 1 and reasons[0].startswith("the report does not follow")


def test_a_member_refuses_to_slash_a_node_that_passed_all_its_challenges():
    cheat = [bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="wrong_row")]) for i in range(3)]
    build = build_of(cheat)
    d = build.digest(CHAIN, HUB)
    reasons = refusals(own=honest(3), bundles=cheat, proposed_digest=d, recomputed=build,
                       recomputed_digest=d)  # fmt: skip
    assert (
        f"slash of node {build.report.slashes[0].node}, which passed all my challenges" in reasons
    )


def test_a_slash_stands_when_most_members_contributed_to_its_evidence():
    """One too-strong witness per member is below a single member's spoofing threshold (2),
    but three members' together are evidence from a majority."""

    def wireless(node, verdicts, coverage_micro):
        return NodeInput(node, OWNER, NodeKind.WIRELESS, verdicts, coverage_micro=10**6)

    bundles = [
        bundle(i, [verdict(i, NODE_A, 1, passed=False, reason="too_strong"), verdict(i, NODE_A, 2)])
        for i in range(3)
    ]
    one = {r.node: r.slash_reason for r in score_bundles(EPOCH, bundles[:1], wireless, 10**21)}
    assert one[NODE_A.lower()] == 0
    out = {r.node: r.slash_reason for r in score_bundles(EPOCH, bundles, wireless, 10**21)}
    assert out[NODE_A.lower()] == int(SlashReason.LOCATION_SPOOFED)
    # with a fourth member that saw nothing wrong it is still 3 of 4
    out = {
        r.node: r.slash_reason
        for r in score_bundles(EPOCH, [*bundles, honest(3)], wireless, 10**21)
    }
    assert out[NODE_A.lower()] == int(SlashReason.LOCATION_SPOOFED)
