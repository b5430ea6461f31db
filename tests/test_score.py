"""oracle.service.score: epoch scores, reputation EMA, the rewards split and slash decisions."""

import random
from dataclasses import replace

import pytest
from eth_utils import keccak

from oracle.protocol.envelope import canonical_json
from oracle.protocol.hardware import NodeKind, SlashReason
from oracle.service.score import (
    BPS,
    DEFAULT_PARAMS,
    NodeInput,
    VerdictRecord,
    score_epoch,
    score_node,
    split,
)

EPOCH = 5
OWNER = "0x" + "aa" * 20


def addr(i: int) -> str:
    return f"0x{i:040x}"


def ok(i: int, latency: float = 1.0, lease: int = 0) -> VerdictRecord:
    return VerdictRecord(f"0x{i:064x}", True, "ok", latency, 4.0, lease_id=lease)


def bad(i: int, reason: str, latency: float | None = 1.0, lease: int = 0, chunk: int = 0,
        tries: int = 1):  # fmt: skip
    return VerdictRecord(f"0x{i:064x}", False, reason, latency, 4.0, lease, chunk, "detail", tries)


def node(i: int, kind=NodeKind.COMPUTE, verdicts=(), **kw) -> NodeInput:
    defaults = {
        NodeKind.COMPUTE: {"hw_class": 1, "gpu_count": 2},
        NodeKind.STORAGE: {"leases": {1: 1 << 30, 2: 1 << 20}},
        NodeKind.WIRELESS: {"coverage_micro": 1_500_000},
    }[kind]
    return NodeInput(addr(i), kw.pop("owner", OWNER), kind, tuple(verdicts), **{**defaults, **kw})


def test_score_perfect_node_and_components():
    r = score_node(EPOCH, node(1, verdicts=[ok(1, 0.0), ok(2, 0.0)], prev_reputation_bps=BPS))
    assert (r.pass_bps, r.uptime_bps, r.latency_bps, r.score_bps) == (BPS, BPS, BPS, BPS)
    assert r.reputation_bps == BPS and r.reason == "ok"
    # at the deadline the latency component is half; 1 of 2 passed, the other unanswered
    r = score_node(EPOCH, node(1, verdicts=[ok(1, 4.0), bad(2, "timeout", None)]))
    assert (r.pass_bps, r.uptime_bps, r.latency_bps) == (5_000, 5_000, 5_000)
    assert r.score_bps == (70 * 5_000 + 20 * 5_000 + 10 * 5_000) // 100


def test_reputation_is_an_ema_from_a_neutral_prior():
    new = score_node(EPOCH, node(1, verdicts=[ok(1, 0.0)]))
    assert new.reputation_bps == DEFAULT_PARAMS.rep_prior_bps + 20 * (BPS - 5_000) // 100
    rep = None
    history = []
    for _ in range(40):
        r = score_node(EPOCH, node(1, verdicts=[ok(1, 0.0)], prev_reputation_bps=rep))
        rep = r.reputation_bps
        history.append(rep)
    assert history == sorted(history) and history[-1] == BPS  # monotone, reaches 10_000
    # a failing epoch pulls it down by alpha of the gap
    r = score_node(EPOCH, node(1, verdicts=[bad(1, "timeout", None)], prev_reputation_bps=BPS))
    assert r.reputation_bps == 8_000
    # not challenged: unchanged
    r = score_node(EPOCH, node(1, verdicts=[], prev_reputation_bps=7_123))
    assert (r.reputation_bps, r.reason) == (7_123, "not_challenged")


def test_split_conserves_exactly():
    rng = random.Random(3)
    for _ in range(200):
        weights = {addr(i): rng.choice([0, 1, rng.randrange(1, 10**30)]) for i in range(17)}
        total = rng.randrange(0, 10**24)
        parts = split(total, weights)
        if any(weights.values()):
            assert sum(parts.values()) == total
        else:
            assert sum(parts.values()) == 0
        w = sum(weights.values())
        for k, v in parts.items():
            floor = total * weights[k] // w if w else 0
            assert v in (floor, floor + 1)
            if weights[k] == 0:
                assert v == 0


def test_rewards_conservation_across_kinds_and_budgets():
    rng = random.Random(11)
    for _ in range(30):
        nodes = []
        for i in range(1, 40):
            kind = NodeKind(rng.randrange(3))
            vs = [ok(j) if rng.random() < 0.8 else bad(j, "timeout", None) for j in range(3)]
            nodes.append(
                node(i, kind, vs, owner=addr(1000 + i % 5), prev_reputation_bps=rng.randrange(BPS))
            )
        budget = rng.randrange(0, 10**27)
        results = score_epoch(EPOCH, nodes, budget)
        total = sum(r.reward for r in results)
        assert total <= budget
        if any(r.reason == "ok" for r in results):
            assert total == budget
        for r in results:
            assert (r.reward > 0) == (r.reason == "ok")


def test_storage_earns_at_most_half_the_fees_its_audited_leases_paid():
    """H-3: storage rewards counted leased bytes whatever the lease paid. Now a storage node's
    reward follows the protocol fee its audited leases paid, at most half of it; the rest of
    the storage share goes to the other kinds."""
    a = node(1, NodeKind.STORAGE, [ok(1, lease=1)], leases={1: 3000}, prev_reputation_bps=BPS)
    b = node(2, NodeKind.STORAGE, [ok(2, lease=1)], leases={1: 1000}, prev_reputation_bps=BPS)
    c = node(3, NodeKind.COMPUTE, [ok(3)], prev_reputation_bps=BPS)
    ra, rb, rc = score_epoch(EPOCH, [a, b, c], 10**6)
    assert ra.reward <= 1500 and rb.reward <= 500 and abs(ra.reward - 3 * rb.reward) <= 3
    assert ra.reward + rb.reward + rc.reward == 10**6  # the surplus went to compute
    ra, rb = score_epoch(EPOCH, [a, b], 10**6)  # storage alone: the surplus is not minted
    assert (ra.reward, rb.reward) == (1496, 499)


def test_a_one_wei_self_lease_of_4_tib_takes_nothing():
    """H-3's case: a 1-wei lease of 4 TiB to one's own node took 99.98 % of the storage share,
    floor included. Its fee rounds to 0: it weighs nothing."""
    honest = node(1, NodeKind.STORAGE, [ok(1, lease=1)], leases={1: 50 * 10**18},
                  prev_reputation_bps=BPS)  # fmt: skip
    dealer = node(2, NodeKind.STORAGE, [ok(2, lease=2)], leases={2: 1 * 500 // BPS},
                  prev_reputation_bps=BPS)  # fmt: skip
    rh, rd = score_epoch(EPOCH, [honest, dealer], 10_000 * 10**18)
    assert rd.reward == 0 and rd.reason == "no_work" and rh.reward > 0


def _owner_rewards(owner: str, nodes: list, budget: int) -> int:
    return sum(r.reward for r in score_epoch(EPOCH, nodes, budget) if r.owner == owner)


@pytest.mark.parametrize("seed", range(5))
def test_self_leasing_costs_more_than_it_earns_when_kappa_below_half_the_fee(seed):
    """The bound of the module docstring, measured: a provider with a storage node (and a
    compute node) leases its own storage node at price p. Its gain (rewards of both nodes, the
    budget growing by kappa p) stays below the fee f p it pays, for random fees, kappas below
    f / 2, floors, reputations and other providers."""
    rng = random.Random(seed)
    mine = addr(999)
    for _ in range(60):
        fee_bps = rng.randrange(1, 2_001)
        kappa_wad = rng.randrange(0, fee_bps * 10**14 // 2)  # kappa < f / 2, in WAD
        floor = rng.choice([0, rng.randrange(10**24)])
        p = rng.randrange(1, 10**24)
        others = [
            node(10 + i, NodeKind(rng.randrange(3)), [ok(i, lease=1)],
                 leases={1: rng.randrange(10**22) * fee_bps // BPS},
                 prev_reputation_bps=rng.randrange(1, BPS + 1), owner=addr(500 + i))
            for i in range(rng.randrange(0, 6))
        ]  # fmt: skip
        demand = sum(rng.randrange(10**23) for _ in others)
        rep = rng.randrange(1, BPS + 1)
        compute = node(1, NodeKind.COMPUTE, [ok(1)], owner=mine, prev_reputation_bps=rep)
        earned = []
        for price in (0, p):
            storage = node(2, NodeKind.STORAGE, [ok(2, lease=7)], owner=mine,
                           leases={7: price * fee_bps // BPS}, prev_reputation_bps=rep)  # fmt: skip
            budget = floor + (demand + price) * kappa_wad // 10**18
            earned.append(_owner_rewards(mine, [compute, storage, *others], budget))
        gain = earned[1] - earned[0]
        assert gain < p * fee_bps // BPS + 2, (fee_bps, kappa_wad, floor, p, gain)


def test_kind_without_eligible_nodes_leaves_no_share_stranded():
    nodes = [node(1, NodeKind.COMPUTE, [ok(1)]), node(2, NodeKind.STORAGE, [bad(2, "timeout")])]
    results = score_epoch(EPOCH, nodes, 10**18 + 7)
    assert [r.reward for r in results] == [10**18 + 7, 0]


def test_zero_eligible_nodes_mint_nothing():
    nodes = [
        node(1, verdicts=[bad(1, "timeout", None)]),
        node(2, NodeKind.STORAGE, [bad(2, "bad_chunk", lease=1, chunk=3)]),
        node(3, NodeKind.WIRELESS, []),
    ]
    results = score_epoch(EPOCH, nodes, 10**21)
    assert sum(r.reward for r in results) == 0
    assert score_epoch(EPOCH, [], 10**21) == []


def test_reward_proportional_to_work_times_reputation():
    a = node(1, NodeKind.STORAGE, [ok(1, lease=1)], leases={1: 3000}, prev_reputation_bps=BPS)
    b = node(2, NodeKind.STORAGE, [ok(2, lease=1)], leases={1: 1000}, prev_reputation_bps=BPS)
    w = node(3, NodeKind.WIRELESS, [ok(3)], prev_reputation_bps=BPS)
    ra, rb, rw = score_epoch(EPOCH, [a, b, w], 4000)
    assert (ra.work, rb.work) == (3000, 1000)
    # Storage's share (2/3 of 4,000 with wireless the only other kind) is above its cap (half
    # the reputation-weighted fees, 1,995): storage gets the cap, 3:1, wireless the rest.
    assert (ra.reward, rb.reward, rw.reward) == (1496, 499, 2005)
    # compute: class throughput x gpu count
    c = score_node(EPOCH, node(3, verdicts=[ok(1)], hw_class=3, gpu_count=8))
    assert c.work == 378_000 * 8  # H100: 3.78e14 MAC/s, in G MAC/s


def test_a_withheld_reveal_is_missed_deadline_and_an_unprovable_claim_only_unrewarded():
    r = score_node(EPOCH, node(1, verdicts=[bad(1, "withheld"), ok(2)]))
    assert (r.reason, r.slash_reason) == ("withheld", SlashReason.MISSED_DEADLINE)
    for reason in ("unprovable_claim", "unknown_class"):
        r = score_node(EPOCH, node(2, verdicts=[bad(1, reason)]))
        assert (r.reason, r.slash_reason, r.reward) == (reason, 0, 0)


def test_reason_invalid_compute_wrong_row():
    r = score_node(EPOCH, node(1, verdicts=[bad(1, "wrong_row"), ok(2)]))
    assert r.reason == "wrong_row" and r.slash_reason == SlashReason.INVALID_COMPUTE
    evidence = {
        "epoch": EPOCH,
        "node": addr(1),
        "reason": int(SlashReason.INVALID_COMPUTE),
        "lease_id": 0,
        "chunk_index": 0,
        "challenges": [{"challenge_id": f"0x{1:064x}", "reason": "wrong_row", "detail": "detail"}],
    }
    assert r.evidence_json == canonical_json(evidence)
    assert r.evidence == keccak(canonical_json(evidence))


def test_reason_storage_audit_names_lease_and_chunk():
    vs = [bad(1, "bad_chunk", lease=9, chunk=4), bad(2, "bad_proof", lease=2, chunk=17)]
    r = score_node(EPOCH, node(1, NodeKind.STORAGE, [*vs, ok(3, lease=1)], leases={1: 5, 2: 5}))
    assert r.slash_reason == SlashReason.STORAGE_AUDIT_FAILED
    assert (r.slash_lease, r.slash_chunk) == (2, 17)  # lowest lease id first
    assert r.reason in {"storage_bad_chunk", "storage_bad_proof"}
    assert r.reward == 0
    for reason in ("bad_chunk", "bad_proof", "wrong_indices"):
        r = score_node(EPOCH, node(1, NodeKind.STORAGE, [bad(1, reason, lease=1, chunk=2)]))
        assert (r.slash_reason, r.reason) == (SlashReason.STORAGE_AUDIT_FAILED, f"storage_{reason}")


def test_a_refused_audit_of_a_lease_with_a_receipt_is_a_storage_failure():
    """data_withheld (the node signed for the lease's data, then answered 404) slashes like a
    missing chunk, naming the lease and chunk asked; a plain refusal (no receipt) does not."""
    leases = {1: 5, 2: 5}
    vs = [bad(1, "data_withheld", lease=2, chunk=7), ok(2, lease=1)]
    r = score_node(EPOCH, node(1, NodeKind.STORAGE, vs, leases=leases))
    assert r.slash_reason == SlashReason.STORAGE_AUDIT_FAILED
    assert (r.slash_lease, r.slash_chunk, r.reason, r.reward) == (2, 7, "storage_data_withheld", 0)
    refused = [bad(1, "refused", lease=2), ok(2, lease=1)]
    plain = score_node(EPOCH, node(1, NodeKind.STORAGE, refused, leases=leases))
    assert plain.slash_reason == 0


def test_too_strong_links_never_slash_and_a_node_left_without_coverage_says_why():
    """Too-strong links are no slash however many (the witnesses choose what they report);
    a wireless node whose links all contradicted its claim earns nothing and is told why."""
    many = [replace(ok(i), reason="too_strong") for i in range(1, 40)]
    paid = score_node(EPOCH, node(1, NodeKind.WIRELESS, many, coverage_micro=10**6))
    assert paid.slash_reason == 0 and paid.reason == "ok"
    unpaid = score_node(EPOCH, node(1, NodeKind.WIRELESS, many, coverage_micro=0))
    assert (unpaid.slash_reason, unpaid.reason, unpaid.reward) == (0, "witness_too_strong", 0)
    other = score_node(EPOCH, node(1, NodeKind.WIRELESS, [bad(1, "too_close"), bad(2, "stale")]))
    assert other.slash_reason == 0 and other.reason in {"witness_too_close", "witness_stale"}
    assert (
        score_node(EPOCH, node(1, NodeKind.WIRELESS, [ok(1)], coverage_micro=0)).reason == "no_work"
    )


def test_reason_offline_whole_epoch():
    silent = [bad(1, "timeout", None, tries=4), bad(2, "unreachable", None, tries=4)]
    r = score_node(EPOCH, node(1, verdicts=silent))
    assert (r.reason, r.slash_reason, r.uptime_bps) == ("offline", SlashReason.OFFLINE, 0)


def test_one_unanswered_challenge_is_unrewarded_never_slashed():
    """Four tries of one challenge all dropped (a transient fault, or a restart) cost the
    epoch's reward, not stake: Offline needs OFFLINE_MIN_ATTEMPTS tries without an answer."""
    r = score_node(EPOCH, node(1, verdicts=[bad(1, "timeout", None, tries=4)]))
    assert (r.reason, r.slash_reason, r.reward) == ("offline", 0, 0)
    seven = [bad(1, "timeout", None, tries=4), bad(2, "offline", None, tries=3)]
    assert score_node(EPOCH, node(1, verdicts=seven)).slash_reason == 0


def test_a_dropped_audit_among_passed_ones_does_not_void_the_lease():
    vs = [ok(1, lease=1), bad(2, "timeout", None, lease=1, tries=4), ok(3, lease=1)]
    r = score_node(EPOCH, node(1, NodeKind.STORAGE, vs))
    assert r.work == 1 << 30 and r.slash_reason == 0
    proven = [ok(1, lease=1), bad(2, "bad_chunk", lease=1, chunk=3)]
    assert score_node(EPOCH, node(1, NodeKind.STORAGE, proven)).work == 0


def test_late_is_unrewarded_then_slashed_when_repeated():
    vs = [bad(1, "late", 9.0), bad(2, "late", 9.0)]
    r1 = score_node(EPOCH, node(1, verdicts=vs))
    assert (r1.reason, r1.slash_reason, r1.late_streak, r1.reward) == ("late", 0, 1, 0)
    r2 = score_node(EPOCH, node(1, verdicts=vs, prev_late_streak=1))
    assert (r2.reason, r2.slash_reason) == ("late", 0)
    r3 = score_node(EPOCH, node(1, verdicts=vs, prev_late_streak=2))
    assert (r3.reason, r3.slash_reason) == ("late_repeated", SlashReason.MISSED_DEADLINE)
    # an on-time epoch resets the streak
    assert score_node(EPOCH, node(1, verdicts=[ok(1)], prev_late_streak=2)).late_streak == 0


def test_unattributable_failures_are_never_slashed():
    r = score_node(EPOCH, node(1, verdicts=[bad(1, "bad_signature"), bad(2, "bad_signature")]))
    assert (r.reason, r.slash_reason) == ("bad_signature", 0)


def test_up_but_unrewarded_always_has_a_reason():
    cases = [
        (node(1, NodeKind.STORAGE, [ok(1, lease=7)], leases={1: 10}), "no_work"),
        (node(2, NodeKind.WIRELESS, [ok(1)], coverage_micro=0), "no_work"),
        (node(3, verdicts=[ok(1), bad(2, "malformed"), bad(3, "malformed")]), "malformed"),
        (node(4, verdicts=[ok(1)], hw_class=99), "no_work"),
    ]
    results = score_epoch(EPOCH, [n for n, _ in cases], 10**18)
    assert [r.reason for r in results] == [code for _, code in cases]
    assert all(r.reward == 0 for r in results)


def test_duplicate_node_is_refused():
    with pytest.raises(ValueError, match="twice"):
        score_epoch(EPOCH, [node(1, verdicts=[ok(1)]), node(1, verdicts=[ok(2)])], 1)
