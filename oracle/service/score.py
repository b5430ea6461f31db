"""Scoring stage: verdicts -> per-node score, reputation, reward and slash. Pure: no I/O, no clock.

Everything that reaches the signed report or the results file is an integer: scores and
reputations in basis points (0..10_000), rewards in token base units, work in integer units.
The same inputs give the same outputs on every oracle (Python integers, sorted iteration).

**Per-node epoch score** (basis points), from the node's verdicts of the epoch:

    asked     = challenges sent;  answered = those with any response (not NO_ANSWER)
    passed    = verdicts that passed (on time and correct)
    pass_bps  = 10_000 * passed // asked
    uptime    = 10_000 * answered // asked
    latency   = mean over passed verdicts of 10_000 - 5_000 * min(latency / deadline, 1)
                (10_000 for an instant answer, 5_000 at the deadline; 0 when nothing passed)
    score     = (W_PASS * pass_bps + W_UPTIME * uptime + W_LATENCY * latency) // 100
                with W_PASS, W_UPTIME, W_LATENCY = 70, 20, 10 (ScoreParams)

Latency is measured against the node's own deadline (for compute the deadline of its claimed
hardware class), so a slow but honest class is not penalised for being that class.

**Reputation**: an exponential moving average over epochs, in basis points,

    rep_e = rep_{e-1} + ALPHA * (score_e - rep_{e-1}) / 100,   ALPHA = 20 (percent)

so an epoch's weight halves about every 3.1 epochs (0.8^3.1 = 0.5). A new node starts at the
neutral prior REP_PRIOR = 5_000: it earns half of what an established perfect node earns for
the same work in its first epoch and converges within about 10 epochs (0.8^10 = 0.11). A node
not challenged in an epoch keeps its reputation. The step is rounded away from zero (toward the
score), so a node with a constant score reaches it exactly (floor or half-up rounding would
leave a perfect node stuck below 10_000).

**Eligibility**: a node earns this epoch iff it is not slashed, passed at least one challenge,
its pass rate is at least MIN_PASS_BPS (5_000) and its work weight is positive. Otherwise its
reward is 0 and its reason code says why.

**Reason codes** (NodeResult.reason, one per node per epoch): "ok" (rewarded); "not_challenged";
"offline" (no answer at all); "late" / "late_repeated" / "withheld" (MissedDeadline); compute
"wrong_row", "bad_proof", "wrong_indices", "wrong_size", "unknown_class", "unprovable_claim";
storage "storage_<verifier reason>" (e.g. "storage_bad_chunk"); wireless
"witness_<verifier reason>" (e.g. "witness_too_strong"); "bad_signature", "malformed",
"no_answer" (the most common failure when the pass rate is too low); "no_work" (passed, but
nothing to weigh: no audited lease, no coverage, unknown class), or for a wireless node left
with no coverage by links that contradict a claimed position or reports not proven heard, the
most common of "witness_too_strong", "witness_too_far", "witness_too_close",
"witness_unheard" (a phantom's), "witness_unverified" and "witness_same_owner";
"reward_rounded_to_zero" (eligible, but its share of the budget is below one base unit).
The ingest stage writes NO_ANSWER reasons ("timeout", "unreachable", ...) for no response.

**Rewards split** (integer base units). The budget is first split between the node kinds by
KIND_SHARES_BPS (compute 40 %, storage 40 %, wireless 20 %), renormalised over the kinds that
have at least one eligible node, so no share is stranded; within a kind by

    weight_i = work_i * reputation_i

where work is, per kind (incomparable units, hence the per-kind shares):
    compute  = hardware-class throughput in GMAC/s (oracle.protocol.compute.HARDWARE_CLASSES)
               x gpu_count: both proven, since the node passed a challenge of one stream per
               claimed GPU sized to the class (a claim no challenge can prove fails
               "unprovable_claim" and earns nothing)
    storage  = the protocol fee (price x the lease's fee bps, base units per epoch) of the
               node's leases with a passed audit this epoch and no audit that proved data
               missing, wrong or late (an audit that got no answer, among passed ones, voids
               nothing): what customers paid, not bytes a provider can lease to itself for 1 wei
    wireless = coverage units (oracle.protocol.coverage.coverage_scores) in millionths

**Self-leasing never pays.** The storage share is capped at STORAGE_FEE_MULTIPLE_PCT (50 %) of
the reputation-weighted fees of the eligible storage nodes, and the rest of the share goes to
the other kinds (or is not minted), so each storage node earns at most half the fee its audited
leases paid this epoch. A provider that leases its own node at price p pays the fee f p (the
rest of p comes back to it as the provider) and gains at most 0.5 f p in storage rewards plus,
in any other kind, at most kappa p (the budget grows by kappa p with the demand): a net loss
whenever kappa < f / 2. The deploy script and `admin params set` refuse a kappa or a fee that
breaks this (scripts/_deploy.check_wash_trading); tests/test_score.py measures it.

Both splits use the largest-remainder method: each part gets floor(total * w_i / W), then the
remainder (total - sum of floors, which is < number of parts) goes one unit each to the parts
with the largest fractional remainders, ties broken by ascending address (or kind). Hence:

    sum(rewards) == budget   when at least one node is eligible (less the storage share's
                             surplus over its fee cap when storage is the only kind eligible),
    sum(rewards) == 0        when none is (nothing is minted; EmissionsController mints only
                             the report's totalRewards, so the unspent budget is never created),

and always sum(rewards) <= budget; no reward is ever rounded up beyond its exact share + 1.

**Slashes** (one per node per epoch, the most severe; sized on-chain by reason):
    InvalidCompute       a signed compute answer with a wrong row / bad row proof / wrong indices
    StorageAuditFailed   a signed storage answer missing the chunk or with a wrong chunk or
                         proof; or a refused audit ("data_withheld", e.g. 404 "no data") of a
                         lease whose DataReceipt the node signed and is on the chain; names the
                         lease and chunk (lowest lease id, then chunk index) so that the slash
                         is disputable on-chain with that chunk
    LocationSpoofed      never from witness reports: a link too strong (or too far, too close)
                         for its claimed positions says one of the two claims is false, not
                         which, and a beaconer's witnesses (or a witness's beaconers) choose
                         what they report; such a link earns neither end anything and fails
                         neither (oracle.service.challenge), so a spoofer whose every link
                         contradicts its claim earns nothing ("witness_too_strong"), and
                         nobody can steer a slash onto a node it hears or is heard by
    Offline              answered nothing the whole epoch, over at least OFFLINE_MIN_ATTEMPTS (8)
                         tries (each challenge is tried up to 4 times with backoff, each try a
                         fresh challenge, and a node silent at the first sweep is challenged
                         again later in the epoch: oracle.service.pipeline): a dropped request,
                         a restart or one lost challenge is never stake
    MissedDeadline       late on more than half its challenges in LATE_SLASH_EPOCHS (3)
                         consecutive epochs; a single late epoch is only unrewarded ("late");
                         or a compute reveal withheld: committed, then no reveal in 8 tries
                         with the same salt over about 20 s ("withheld", so a node cannot
                         refuse the reveal when a skipped row is sampled)
Unattributable failures (a bad signature, a malformed body: anyone could have sent them) are
never slashed, only unrewarded.

Evidence = keccak256(canonical JSON of the evidence object)
(oracle.protocol.envelope.canonical_json):
{epoch, node, reason, lease_id, chunk_index, challenges: [{challenge_id, reason, detail}...]}
sorted by challenge id; the JSON itself is kept in the results so anyone can recompute it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from eth_utils import keccak

from oracle.protocol.compute import HARDWARE_CLASSES
from oracle.protocol.coverage import UNPROVEN_LINKS
from oracle.protocol.envelope import canonical_json
from oracle.protocol.hardware import NodeKind, SlashReason

BPS = 10_000
# The most a storage node earns, in percent of the protocol fee its audited leases paid.
STORAGE_FEE_MULTIPLE_PCT = 50

# Verdict reasons the challenge stage writes when no response came back at all.
NO_ANSWER = frozenset({"timeout", "unreachable", "connection_error", "no_response", "offline"})
# Verdicts that cannot be attributed to the node (anyone could send them): never slashed.
# "internal_error": this oracle failed on the node's answer; never the node's proven fault.
UNATTRIBUTABLE = frozenset(
    {"bad_signature", "malformed", "too_large", "http_error", "replayed", "internal_error"}
)


@dataclass(frozen=True)
class ScoreParams:
    w_pass: int = 70
    w_uptime: int = 20
    w_latency: int = 10
    alpha_pct: int = 20
    rep_prior_bps: int = 5_000
    min_pass_bps: int = 5_000
    late_slash_epochs: int = 3
    offline_min_attempts: int = 8
    # A storage node earns at most this share (percent) of the protocol fee its audited leases
    # paid this epoch: self-leasing then costs more than it earns (see the module docstring).
    storage_fee_multiple_pct: int = STORAGE_FEE_MULTIPLE_PCT
    kind_shares_bps: Mapping[NodeKind, int] = field(
        default_factory=lambda: {
            NodeKind.COMPUTE: 4_000,
            NodeKind.STORAGE: 4_000,
            NodeKind.WIRELESS: 2_000,
        }
    )

    def __post_init__(self) -> None:
        if self.w_pass + self.w_uptime + self.w_latency != 100:
            raise ValueError("score weights must add up to 100")
        if self.offline_min_attempts < 1:
            raise ValueError("offline_min_attempts must be at least 1")
        if not 0 <= self.storage_fee_multiple_pct < 100:
            raise ValueError("storage_fee_multiple_pct must be in [0, 100)")
        if not 0 < self.alpha_pct <= 100:
            raise ValueError("alpha_pct must be in (0, 100]")
        if sorted(self.kind_shares_bps) != sorted(NodeKind) or any(
            v <= 0 for v in self.kind_shares_bps.values()
        ):
            raise ValueError("kind_shares_bps needs a positive share for every node kind")


DEFAULT_PARAMS = ScoreParams()


@dataclass(frozen=True)
class VerdictRecord:
    """One challenge's verdict as the verify stage stored it, with its timing."""

    challenge_id: str  # 0x-hex
    passed: bool
    reason: str  # the verifier's reason code ("ok", "wrong_row", "late", "timeout", ...)
    latency_s: float | None = None  # None: no response
    deadline_s: float = 1.0
    lease_id: int = 0  # storage audits: the lease and chunk audited
    chunk_index: int = 0
    detail: str = ""
    attempts: int = 1  # tries behind this verdict (each a fresh challenge)


@dataclass(frozen=True)
class NodeInput:
    node: str  # node key address, 0x-hex
    owner: str  # owner account (receives rewards)
    kind: NodeKind
    verdicts: tuple[VerdictRecord, ...] = ()
    prev_reputation_bps: int | None = None  # None: a new node
    prev_late_streak: int = 0  # consecutive late epochs before this one
    hw_class: int = 0  # compute
    gpu_count: int = 0
    # storage: lease id -> the protocol fee it pays per epoch (price x fee bps / 10_000)
    leases: Mapping[int, int] = field(default_factory=dict)
    coverage_micro: int = 0  # wireless: coverage units x 1e6


@dataclass(frozen=True)
class NodeResult:
    node: str  # lowercase 0x-hex
    owner: str  # lowercase 0x-hex
    kind: NodeKind
    reason: str  # provider-facing code: "ok", "offline", "late", "wrong_row", ...
    asked: int
    answered: int
    passed: int
    late: int
    pass_bps: int
    uptime_bps: int
    latency_bps: int
    score_bps: int
    reputation_bps: int
    late_streak: int
    work: int
    reward: int = 0
    slash_reason: int = 0  # SlashReason value, 0 = none
    slash_lease: int = 0
    slash_chunk: int = 0
    evidence: bytes = b"\x00" * 32  # keccak256(evidence_json); zero when not slashed
    evidence_json: bytes = b""


# The verifier reasons that say a node signed wrong work (a slash), per kind: the one list the
# scoring and the committee's evidence check (oracle.committee.evidence) both use. Any other
# failing reason is unrewarded and never slashed (its code: failure_code).
COMPUTE_FRAUD = frozenset({"wrong_row", "bad_proof", "wrong_indices", "wrong_size"})
# oracle.protocol.storage's; the verdict names the failing chunk
STORAGE_FRAUD = frozenset({"bad_chunk", "bad_proof", "wrong_indices"})
# A refused audit of a lease whose DataReceipt is on the chain (oracle.service.challenge): a
# storage failure no signed answer shows, so a committee counts it by majority, never on one
# member's word (oracle.committee.rules); its slash names the lease and the first chunk asked,
# which the node can produce on-chain to dispute it.
DATA_WITHHELD = "data_withheld"
# The provider-facing codes of slashes that rest on the members' word, not a signature.
WORD_SLASH_CODES = frozenset({f"storage_{DATA_WITHHELD}"})


def failure_code(kind: NodeKind, reason: str) -> str:
    """The provider-facing code of one failed verdict."""
    if reason in NO_ANSWER:
        return "no_answer"
    if reason in ("late", "withheld") or reason in UNATTRIBUTABLE:
        return reason
    if kind == NodeKind.COMPUTE:
        return reason
    if kind == NodeKind.STORAGE:
        return f"storage_{reason}"
    return f"witness_{reason}"


def evidence_hash(evidence: Mapping) -> tuple[bytes, bytes]:
    """(keccak256 of the canonical evidence JSON, the JSON bytes)."""
    raw = canonical_json(evidence)
    return keccak(raw), raw


def work_of(node: NodeInput, audited_ok_leases: Iterable[int]) -> int:
    if node.kind == NodeKind.COMPUTE:
        hw = HARDWARE_CLASSES.get(node.hw_class)
        return 0 if hw is None else int(hw.macs_per_s // 10**9) * max(node.gpu_count, 1)
    if node.kind == NodeKind.STORAGE:
        return sum(node.leases.get(lease, 0) for lease in set(audited_ok_leases))
    return max(node.coverage_micro, 0)


def _ema(score: int, prev: int, alpha_pct: int) -> int:
    """prev + alpha * (score - prev), the step rounded away from zero (toward the score)."""
    delta = alpha_pct * (score - prev)
    step = -((-delta) // 100) if delta > 0 else -((-delta + 99) // 100)
    return prev + step


def score_node(
    epoch: int, node: NodeInput, params: ScoreParams = DEFAULT_PARAMS, slashable: bool = True
) -> NodeResult:
    """Score, reputation, work, eligibility reason and slash of one node (reward left at 0).
    `slashable=False` scores the node the same way but never slashes it (a committee uses it
    for a slash that too few of the members who challenged the node support)."""
    vs = sorted(node.verdicts, key=lambda v: v.challenge_id)
    asked = len(vs)
    answered = sum(1 for v in vs if v.reason not in NO_ANSWER)
    passed = [v for v in vs if v.passed]
    late = sum(1 for v in vs if not v.passed and v.reason == "late")
    prev_rep = (
        params.rep_prior_bps if node.prev_reputation_bps is None else node.prev_reputation_bps
    )
    base = dict(node=node.node.lower(), owner=node.owner.lower(), kind=node.kind, asked=asked)
    if asked == 0:
        return NodeResult(
            **base, reason="not_challenged", answered=0, passed=0, late=0, pass_bps=0,
            uptime_bps=0, latency_bps=0, score_bps=0, reputation_bps=prev_rep,
            late_streak=node.prev_late_streak, work=0,
        )  # fmt: skip
    pass_bps = BPS * len(passed) // asked
    uptime_bps = BPS * answered // asked
    latency_bps = 0
    if passed:
        total = 0
        for v in passed:
            ratio_bps = (
                BPS if not v.deadline_s > 0 else int(BPS * (v.latency_s or 0) / v.deadline_s)
            )
            total += BPS - min(max(ratio_bps, 0), BPS) // 2
        latency_bps = total // len(passed)
    score_bps = (
        params.w_pass * pass_bps + params.w_uptime * uptime_bps + params.w_latency * latency_bps
    ) // 100
    reputation = _ema(score_bps, prev_rep, params.alpha_pct)
    late_streak = node.prev_late_streak + 1 if 2 * late > asked else 0

    failures = [v for v in vs if not v.passed]
    slash, slash_vs = (
        _slash_of(node, failures, answered, late_streak, params) if slashable else (None, [])
    )
    lease = chunk = 0
    evidence = b"\x00" * 32
    evidence_json = b""
    if slash is not None:
        if slash == SlashReason.STORAGE_AUDIT_FAILED:
            first = min(slash_vs, key=lambda v: (v.lease_id, v.chunk_index))
            lease, chunk = first.lease_id, first.chunk_index
        evidence, evidence_json = evidence_hash(
            {
                "epoch": epoch,
                "node": base["node"],
                "reason": int(slash),
                "lease_id": lease,
                "chunk_index": chunk,
                "challenges": [
                    {"challenge_id": v.challenge_id, "reason": v.reason, "detail": v.detail}
                    for v in slash_vs
                ],
            }
        )

    # A lease earns when an audit of it passed and none proved it missing or late: an audit
    # that got no answer (or an unattributable one) among passed ones does not void it.
    voided = {v.lease_id for v in failures if v.reason not in NO_ANSWER | UNATTRIBUTABLE}
    ok_leases = {v.lease_id for v in passed} - voided
    work = work_of(node, ok_leases)
    if slash is not None:
        reason = _slash_code(node.kind, slash, slash_vs)
    elif answered == 0:
        reason = "offline"
    elif not passed or pass_bps < params.min_pass_bps:
        reason = _most_common_failure(node.kind, failures) if failures else "low_pass_rate"
    elif work <= 0:
        links = [v for v in vs if v.reason in UNPROVEN_LINKS and node.kind == NodeKind.WIRELESS]
        reason = _most_common_failure(node.kind, links) if links else "no_work"
    else:
        reason = "ok"
    return NodeResult(
        **base, reason=reason, answered=answered, passed=len(passed), late=late,
        pass_bps=pass_bps, uptime_bps=uptime_bps, latency_bps=latency_bps, score_bps=score_bps,
        reputation_bps=reputation, late_streak=late_streak, work=work,
        slash_reason=0 if slash is None else int(slash), slash_lease=lease, slash_chunk=chunk,
        evidence=evidence, evidence_json=evidence_json,
    )  # fmt: skip


def _slash_of(
    node: NodeInput,
    failures: Sequence[VerdictRecord],
    answered: int,
    late_streak: int,
    params: ScoreParams,
) -> tuple[SlashReason | None, list[VerdictRecord]]:
    if node.kind == NodeKind.COMPUTE:
        fraud = [v for v in failures if v.reason in COMPUTE_FRAUD]
        if fraud:
            return SlashReason.INVALID_COMPUTE, fraud
        withheld = [v for v in failures if v.reason == "withheld"]
        if withheld:  # committed, then no reveal over every retry: the deadline it missed
            return SlashReason.MISSED_DEADLINE, withheld
    elif node.kind == NodeKind.STORAGE:
        fraud = [v for v in failures if v.reason in STORAGE_FRAUD]
        if fraud:
            return SlashReason.STORAGE_AUDIT_FAILED, fraud
        withheld = [v for v in failures if v.reason == DATA_WITHHELD]
        if withheld:  # it signed for the lease's data, then refused to show it
            return SlashReason.STORAGE_AUDIT_FAILED, withheld
    if answered == 0 and sum(v.attempts for v in failures) >= params.offline_min_attempts:
        return SlashReason.OFFLINE, list(failures)
    if late_streak >= params.late_slash_epochs:
        return SlashReason.MISSED_DEADLINE, [v for v in failures if v.reason == "late"]
    return None, []


def _slash_code(kind: NodeKind, slash: SlashReason, slash_vs: Sequence[VerdictRecord]) -> str:
    if slash == SlashReason.OFFLINE:
        return "offline"
    if slash == SlashReason.MISSED_DEADLINE:
        return "withheld" if any(v.reason == "withheld" for v in slash_vs) else "late_repeated"
    return _most_common_failure(kind, slash_vs)


def _most_common_failure(kind: NodeKind, failures: Sequence[VerdictRecord]) -> str:
    counts: dict[str, int] = {}
    for v in failures:
        code = failure_code(kind, v.reason)
        counts[code] = counts.get(code, 0) + 1
    return min(counts, key=lambda c: (-counts[c], c))


def split(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Largest-remainder split of `total` by integer `weights` (keys sorted for ties).
    Sum of the parts == total if any weight is positive, else every part is 0."""
    if total < 0:
        raise ValueError("cannot split a negative amount")
    positive = {k: w for k, w in weights.items() if w > 0}
    out = dict.fromkeys(weights, 0)
    w_sum = sum(positive.values())
    if w_sum == 0:
        return out
    rems = []
    given = 0
    for k, w in positive.items():
        q, r = divmod(total * w, w_sum)
        out[k] = q
        given += q
        rems.append((-r, k))
    left = total - given  # < len(positive)
    if left:
        rems.sort()
        for _, k in rems[:left]:
            out[k] += 1
    return out


def reward_nodes(
    results: Sequence[NodeResult], budget: int, params: ScoreParams = DEFAULT_PARAMS
) -> list[NodeResult]:
    """The results with their rewards filled in, in the same order; see the module docstring."""
    weights: dict[NodeKind, dict[str, int]] = {k: {} for k in NodeKind}
    for r in results:
        if r.reason == "ok":
            weights[r.kind][r.node] = r.work * r.reputation_bps
    kind_w = {str(int(k)): params.kind_shares_bps[k] for k in NodeKind if any(weights[k].values())}
    kind_budget = split(budget, kind_w)
    # Storage earns at most storage_fee_multiple_pct % of the protocol fees its audited leases
    # paid (weighted by reputation); the rest of its share goes to the other kinds.
    storage = str(int(NodeKind.STORAGE))
    cap = sum(weights[NodeKind.STORAGE].values()) * params.storage_fee_multiple_pct // (100 * BPS)
    surplus = kind_budget.get(storage, 0) - cap
    if surplus > 0:
        kind_budget[storage] = cap
        others = {k: w for k, w in kind_w.items() if k != storage}
        for k, extra in split(surplus, others).items():
            kind_budget[k] += extra
    rewards: dict[str, int] = {}
    for k in NodeKind:
        share = kind_budget.get(str(int(k)), 0)
        if share:
            rewards.update(split(share, weights[k]))
    out = []
    for r in results:
        amount = rewards.get(r.node, 0) if r.reason == "ok" else 0
        if r.reason == "ok" and amount == 0:
            out.append(replace(r, reason="reward_rounded_to_zero"))
        else:
            out.append(replace(r, reward=amount) if amount else r)
    return out


def score_epoch(
    epoch: int,
    nodes: Iterable[NodeInput],
    budget: int,
    params: ScoreParams = DEFAULT_PARAMS,
) -> list[NodeResult]:
    """Scores every node and splits `budget`; results sorted by node address."""
    seen: set[str] = set()
    results = []
    for n in nodes:
        key = n.node.lower()
        if key in seen:
            raise ValueError(f"node {n.node} appears twice")
        seen.add(key)
        results.append(score_node(epoch, n, params))
    results.sort(key=lambda r: int(r.node, 16))
    return reward_nodes(results, budget, params)
