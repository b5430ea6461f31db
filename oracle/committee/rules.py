"""The oracle committee's rules, pure: signed observation bundles, the report computed from
them, and what a member checks before it signs. No I/O (oracle.committee.member does the HTTP).

**A round** for an ended epoch e, committee of n sorted members, threshold t:

1. Every member challenged the nodes itself during e and signs a **Bundle** of its verdicts.
2. The leader of attempt a, ``members[(e + a) % n]`` (a = leader timeouts elapsed since the
   member saw e end), gathers the bundles, needs at least t valid ones, gathers the evidence
   objects the round needs (``needed``) from the members that hold them, computes the report
   with ``score_bundles`` and the report stage, and sends the bundles, the evidence and the
   digest to every member (a **proposal**).
3. A member signs the report's EIP-712 digest (ECDSA, or BLS on BN254 when the hub's scheme
   is BLS) only when ``refusals`` finds nothing: its own bundle is in the proposal unaltered
   with the evidence of its own needed verdicts, every bundle is a member's and signed by it,
   it recomputes the same digest from the same bundles, evidence and its own chain view, and
   no node slashed by majority passed all of its own challenges.
4. The leader posts t ECDSA signatures or the BLS aggregate of every signer. The hub settles
   an epoch once, so leaders racing after a timeout cannot settle it twice.

**Bundle** = canonical JSON (oracle.protocol.envelope.canonical_json) of
``{"chain_id", "hub", "epoch", "member", "verdicts"}``, verdicts sorted by challenge id, each
``{"challenge_id", "node", "kind", "passed", "reason", "detail", "latency_us", "deadline_us",
"lease_id", "chunk_index", "coverage_micro", "attempts", "evidence"}`` with integers only
(latency in microseconds, null when the node never answered; evidence: the 0x-hex digest of
the verdict's evidence object, oracle.committee.evidence, null when the node sent nothing), so
every member scores the same bytes the same way. Signature: EIP-191 personal_sign by the
member's operator key of ``keccak256("plinth-bundle-v2" || payload)``.

**Evidence.** A node every member saw pass every challenge is undisputed: its verdicts count
as they are. For a *disputed* node, each verdict that claims the node answered (a pass,
lateness, or wrong work: oracle.committee.evidence.needs_evidence) counts only by what its
evidence object, re-verified by every member, proves: backed and verifying, it counts as the
member measured it (a fraud claim the evidence refutes counts for nothing); backed wrong work
counts as that fraud whatever the member claimed; not backed (or not held), it counts for
nothing. What evidence cannot show, no answer and the time an answer took, is the member's
word, and counts by majority below.

**Combining** (``score_bundles``), per node, over the members that challenged it. Each such
member's counted verdicts are a *view* of the node, scored alone by oracle.service.score (a
bundle's verdicts count in its own member's view only, and evidence is tied to the member
that sent the challenge, so copying another member's challenges erases nothing of theirs and
backs nothing of one's own):

- **Fraud proven by evidence** (InvalidCompute, StorageAuditFailed) slashes the node whoever
  holds it: a node may cheat on one member's challenge only.
- **Offline** when more than half of the views got no answer at all, each over at least
  OFFLINE_MIN_ATTEMPTS tries of its own (a sweep and its recheck later in the epoch: each
  challenge is tried several times with fresh nonces before it counts as unanswered), and no
  member shows one of the node's signed answers.
- **Any other slash** (MissedDeadline, and StorageAuditFailed for a refused audit of a lease
  whose DataReceipt is on the chain: no signature shows it) when more than half of the views
  slash the node (the most common reason, from the first such member's verdicts): one member, the
  leader included, cannot slash a node the others saw working.
- **Otherwise** the lower median view, ranked by pass rate, uptime and score: invented
  timeouts from a minority do not lower an honest node's reward.

A node that half of the bundles or fewer have a view of gets no result this epoch (neither
paid nor slashed): one member, or a minority, cannot pay or slash a node the others did not
see. Coverage units: the median of the members' values.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, keccak, to_checksum_address

from oracle.committee.evidence import WORD_CLAIMS, Checked, needs_evidence
from oracle.protocol.envelope import canonical_json
from oracle.protocol.hardware import SlashReason
from oracle.protocol.strict import DecodeError, JsonLimits, nat
from oracle.service.report import EpochBuild
from oracle.service.score import (
    DEFAULT_PARAMS,
    WORD_SLASH_CODES,
    NodeInput,
    NodeResult,
    ScoreParams,
    VerdictRecord,
    reward_nodes,
    score_node,
)
from oracle.service.store import (
    KINDS,
    MAX_ATTEMPTS,
    MAX_COVERAGE_MICRO,
    MAX_DETAIL,
    MAX_ID,
    MAX_MICROS,
    MAX_REASON,
)

BUNDLE_TAG = b"plinth-bundle-v2"
VERDICT_KEYS = frozenset(
    {"challenge_id", "node", "kind", "passed", "reason", "detail", "latency_us", "deadline_us",
     "lease_id", "chunk_index", "coverage_micro", "attempts", "evidence"}
)  # fmt: skip
MAX_VERDICTS = 100_000
# A bundle with any verdict field outside the bounds of oracle.service.store.Verdict is refused
# whole, so no member's number can make another member's report build raise (or overflow).
MAX_BODY = 64 << 20  # a proposal carries every member's bundle
BODY_LIMITS = JsonLimits(max_bytes=MAX_BODY, max_depth=8, max_items=4_000_000)


# (a verdict entry, the member whose bundle it is) -> what its evidence proves (None: none held)
Check = Callable[[Mapping, str], Checked | None]
MAX_CLAIMS = 2  # checked claims per member, node, kind and lease: a sweep and its recheck


class CommitteeError(ValueError):
    """A bundle or proposal that cannot be used, with the reason."""


def leader_of(members: Sequence[str], epoch: int, attempt: int) -> str:
    """The member that leads `attempt` (0, 1, ...) of `epoch`'s round."""
    if not members:
        raise CommitteeError("empty committee")
    return members[(epoch + attempt) % len(members)]


def _int(v: Any, what: str, upper: int = MAX_ID, *, nullable: bool = False) -> int | None:
    if v is None and nullable:
        return None
    try:
        return nat(v, what, upper)
    except DecodeError as exc:
        raise CommitteeError(str(exc)) from None


def _verdict(v: Any) -> dict:
    """One verdict entry, validated (strict keys, types and ranges)."""
    if not isinstance(v, dict) or set(v) != VERDICT_KEYS:
        raise CommitteeError(f"a verdict has exactly the keys {sorted(VERDICT_KEYS)}")
    for k, limit in (("challenge_id", 66), ("node", 42), ("kind", 16), ("reason", MAX_REASON),
                     ("detail", MAX_DETAIL)):  # fmt: skip
        if not isinstance(v[k], str) or len(v[k]) > limit:
            raise CommitteeError(f"verdict {k} must be a string of at most {limit} characters")
    if not is_address(v["node"]) or v["node"] != v["node"].lower():
        raise CommitteeError(f"verdict node must be a lowercase address, got {v['node']!r}")
    if not is_hex32(v["challenge_id"]):
        raise CommitteeError("verdict challenge_id must be 32 bytes of lowercase 0x-hex")
    if v["kind"] not in KINDS:
        raise CommitteeError(f"verdict kind must be one of {sorted(KINDS)}")
    if type(v["passed"]) is not bool:
        raise CommitteeError("verdict passed must be a boolean")
    _int(v["latency_us"], "latency_us", MAX_MICROS, nullable=True)
    _int(v["deadline_us"], "deadline_us", MAX_MICROS)
    _int(v["lease_id"], "lease_id")
    _int(v["chunk_index"], "chunk_index")
    _int(v["coverage_micro"], "coverage_micro", MAX_COVERAGE_MICRO)
    if _int(v["attempts"], "attempts", MAX_ATTEMPTS) < 1:
        raise CommitteeError("verdict attempts must be at least 1")
    if v["evidence"] is not None and not is_hex32(v["evidence"]):
        raise CommitteeError("verdict evidence must be null or 32 bytes of lowercase 0x-hex")
    return v


def is_hex32(value: Any) -> bool:
    """32 bytes of lowercase 0x-hex (a challenge id, an evidence digest)."""
    return (
        isinstance(value, str)
        and len(value) == 66
        and value[:2] == "0x"
        and all(c in "0123456789abcdef" for c in value[2:])
    )


@dataclass(frozen=True)
class Bundle:
    """One member's signed verdicts of one epoch."""

    chain_id: int
    hub: str
    epoch: int
    member: str  # checksummed
    verdicts: tuple[dict, ...]
    signature: bytes = b""

    def payload(self) -> bytes:
        return canonical_json(
            {
                "chain_id": self.chain_id,
                "hub": self.hub.lower(),
                "epoch": self.epoch,
                "member": self.member.lower(),
                "verdicts": list(self.verdicts),
            }
        )

    def digest(self) -> bytes:
        return keccak(BUNDLE_TAG + self.payload())

    def signer(self) -> str:
        try:
            return Account.recover_message(
                encode_defunct(primitive=self.digest()), signature=self.signature
            )
        except Exception as exc:  # eth-account raises several errors for a bad signature
            raise CommitteeError(f"bundle of {self.member}: unreadable signature ({exc})") from None

    def to_json(self) -> dict:
        return {
            "chain_id": self.chain_id,
            "hub": self.hub,
            "epoch": self.epoch,
            "member": self.member,
            "verdicts": list(self.verdicts),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, body: Any) -> Bundle:
        keys = {"chain_id", "hub", "epoch", "member", "verdicts", "signature"}
        if not isinstance(body, dict) or set(body) != keys:
            raise CommitteeError(f"a bundle has exactly the keys {sorted(keys)}")
        for k in ("hub", "member"):
            if not isinstance(body[k], str) or not is_address(body[k]):
                raise CommitteeError(f"bundle {k} must be an address")
        sig = body["signature"]
        if not isinstance(sig, str) or not sig.startswith("0x") or len(sig) != 132:
            raise CommitteeError("bundle signature must be 65 bytes of 0x-hex")
        try:
            signature = bytes.fromhex(sig[2:])
        except ValueError:
            raise CommitteeError("bundle signature is not hex") from None
        verdicts = body["verdicts"]
        if not isinstance(verdicts, list) or len(verdicts) > MAX_VERDICTS:
            raise CommitteeError(f"bundle verdicts must be a list of at most {MAX_VERDICTS}")
        return cls(
            chain_id=_int(body["chain_id"], "chain_id"),
            hub=to_checksum_address(body["hub"]),
            epoch=_int(body["epoch"], "epoch", 2**63 - 1),
            member=to_checksum_address(body["member"]),
            verdicts=tuple(_verdict(v) for v in verdicts),
            signature=signature,
        )


def sign_bundle(key, chain_id: int, hub: str, epoch: int, verdicts: Iterable[dict]) -> Bundle:
    """The member's bundle over its verdicts (sorted by challenge id), signed by `key`."""
    ordered = tuple(sorted((_verdict(dict(v)) for v in verdicts), key=lambda v: v["challenge_id"]))
    unsigned = Bundle(chain_id, to_checksum_address(hub), epoch, key.address, ordered)
    signed = key.sign_message(encode_defunct(primitive=unsigned.digest()))
    return replace(unsigned, signature=bytes(signed.signature))


def validate_bundles(
    bundles: Iterable[Bundle],
    *,
    chain_id: int,
    hub: str,
    epoch: int,
    members: Sequence[str],
    threshold: int,
) -> list[Bundle]:
    """The bundles sorted by member, each checked: this chain, hub and epoch, a committee
    member, signed by that member, one per member; at least `threshold` of them."""
    allowed = {m.lower() for m in members}
    seen: dict[str, Bundle] = {}
    for b in bundles:
        who = b.member.lower()
        if b.chain_id != chain_id or b.hub.lower() != hub.lower():
            raise CommitteeError(f"bundle of {b.member} is for another chain or hub")
        if b.epoch != epoch:
            raise CommitteeError(f"bundle of {b.member} is for epoch {b.epoch}, not {epoch}")
        if who not in allowed:
            raise CommitteeError(f"bundle of {b.member}: not a committee member")
        if who in seen:
            raise CommitteeError(f"two bundles of {b.member}")
        if len({v["challenge_id"] for v in b.verdicts}) != len(b.verdicts):
            raise CommitteeError(f"bundle of {b.member} names a challenge twice")
        if b.signer().lower() != who:
            raise CommitteeError(f"bundle of {b.member} is not signed by it")
        seen[who] = b
    if len(seen) < threshold:
        raise CommitteeError(f"{len(seen)} bundles, the threshold is {threshold}")
    return [seen[k] for k in sorted(seen, key=lambda a: int(a, 16))]


def record_of(v: Mapping) -> VerdictRecord:
    """The scoring stage's view of one verdict entry."""
    return VerdictRecord(
        challenge_id=v["challenge_id"],
        passed=v["passed"],
        reason=v["reason"],
        latency_s=None if v["latency_us"] is None else v["latency_us"] / 1e6,
        deadline_s=v["deadline_us"] / 1e6,
        lease_id=v["lease_id"],
        chunk_index=v["chunk_index"],
        detail=v["detail"],
        attempts=v["attempts"],
    )


def _median_low(values: Sequence[int]) -> int:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else 0


def _views(bundles: Sequence[Bundle]) -> dict[str, dict[str, list[dict]]]:
    """node -> member (lowercase) -> its verdict entries of the node. Each bundle's verdicts
    count in its own member's view only: a member that copies another's challenge ids changes
    nothing of that member's view, and its copies of answered challenges are not its evidence
    (oracle.committee.evidence ties each challenge to the member that sent it)."""
    by_node: dict[str, dict[str, list[dict]]] = defaultdict(dict)
    for b in bundles:
        mine: dict[str, list[dict]] = defaultdict(list)
        for v in b.verdicts:
            mine[v["node"]].append(v)
        for node, entries in mine.items():
            by_node[node][b.member.lower()] = entries
    return by_node


def _disputed(members: Mapping[str, list[dict]]) -> bool:
    """A node some member did not see pass every challenge: its members' claims need evidence."""
    return any(not v["passed"] for entries in members.values() for v in entries)


def needed(bundles: Sequence[Bundle]) -> dict[str, list[dict]]:
    """member (lowercase) -> its verdicts whose evidence this round needs: those of disputed
    nodes that claim an answer (oracle.committee.evidence.needs_evidence) and name evidence."""
    out: dict[str, list[dict]] = defaultdict(list)
    for members in _views(bundles).values():
        if _disputed(members):
            for m, entries in members.items():
                claims = [v for v in entries if needs_evidence(v) and v["evidence"] is not None]
                if claims:
                    out[m] += claims
    return dict(out)


def _adjudicated(
    entries: list[dict], check: Check, disputed: bool, member: str
) -> tuple[list, bool]:
    """`member`'s verdicts of one node as they count (module docstring, "Evidence") and
    whether any of them is backed by the node's signed answers. At most MAX_CLAIMS claims per
    kind and lease are checked (a sweep and its recheck); more count for nothing, so a member
    cannot make every other member re-verify thousands of answers."""
    records, backed = [], False
    claims: Counter = Counter()
    for v in entries:
        if not (disputed and needs_evidence(v)):
            records.append(record_of(v))
            continue
        claims[(v["kind"], v["lease_id"])] += 1
        if claims[(v["kind"], v["lease_id"])] > MAX_CLAIMS:
            continue
        c = check(v, member)
        if c is None or not c.backed:
            continue  # an answer the member claims and cannot show: counts for nothing
        backed = True
        if c.passed:
            if v["passed"] or v["reason"] in WORD_CLAIMS:  # the member's timing stands
                records.append(record_of(v))
            # else: a fraud claim its own evidence refutes counts for nothing
        else:  # the node signed wrong work: a failure whatever the member claimed
            records.append(replace(record_of(v), passed=False, reason=c.reason,
                                   chunk_index=c.index, detail=c.detail))  # fmt: skip
    return records, backed


def score_bundles(
    epoch: int,
    bundles: Sequence[Bundle],
    make_input: Callable[[str, tuple[VerdictRecord, ...], int], NodeInput | None],
    budget: int | Callable[[list[NodeResult]], int],
    params: ScoreParams = DEFAULT_PARAMS,
    check: Check | None = None,
) -> list[NodeResult]:
    """Node results with rewards, from validated bundles (see the module docstring). `budget`
    is the epoch's, or a function of the scored results that gives it (the budget counts only
    the demand of leases whose nodes did not fail, oracle.service.report.failed_leased).
    `make_input(node, verdicts, coverage_micro)` adds the chain's view of the node (None: the
    node is unknown to the chain and is left out). `check(entry)` is what the verdict's
    evidence proves (oracle.committee.evidence.check on the object the round holds; None when
    it holds none): without it no claim about a disputed node counts."""
    check = check or (lambda v, member: None)
    results = []
    for node, members in sorted(_views(bundles).items(), key=lambda kv: int(kv[0], 16)):
        disputed = _disputed(members)
        counted: dict[str, list[VerdictRecord]] = {}
        coverage: list[int] = []
        alive = False
        for m in sorted(members, key=lambda a: int(a, 16)):
            records, backed = _adjudicated(members[m], check, disputed, m)
            alive = alive or backed
            if records:
                counted[m] = records
                coverage.append(max(v["coverage_micro"] for v in members[m]))
        if 2 * len(counted) <= len(bundles):
            continue  # seen by half of the members or fewer: no result, paid or slashed
        cover = _median_low(coverage)
        views: dict[str, NodeInput] = {}
        for m, records in counted.items():
            node_input = make_input(node, tuple(records), cover)
            if node_input is None:
                break
            views[m] = node_input
        if views:
            results.append(_combine(epoch, views, params, alive))
    amount = budget(results) if callable(budget) else budget
    return reward_nodes(results, amount, params)


_PROVEN = frozenset({SlashReason.INVALID_COMPUTE, SlashReason.STORAGE_AUDIT_FAILED})


def _combine(
    epoch: int, views: Mapping[str, NodeInput], params: ScoreParams, alive: bool
) -> NodeResult:
    """One node's result from the views of the members that challenged it (member -> the node
    as that member's counted verdicts show it): fraud by its evidence, the rest by majority,
    never by union (module docstring). `alive`: some member holds the node's signed answers."""
    n = len(views)
    full = {m: score_node(epoch, v, params) for m, v in views.items()}
    for m in views:  # every fraud verdict left is proven by the node's own signature
        if full[m].slash_reason in _PROVEN and full[m].reason not in WORD_SLASH_CODES:
            return full[m]
    scored = {m: score_node(epoch, v, params, slashable=False) for m, v in views.items()}
    # Silent views that tried enough by themselves (a sweep and its recheck, later in the
    # epoch: OFFLINE_MIN_ATTEMPTS tries): a majority of them, and nobody showing a signed
    # answer, is Offline.
    silent = [
        m for m in views
        if scored[m].answered == 0
        and sum(r.attempts for r in views[m].verdicts) >= params.offline_min_attempts
    ]  # fmt: skip
    if 2 * len(silent) > n and not alive:
        offline = score_node(epoch, views[silent[0]], params)
        if offline.slash_reason == SlashReason.OFFLINE:
            return offline
    slashing = {
        m: r
        for m, r in full.items()
        if r.slash_reason
        and r.slash_reason != SlashReason.OFFLINE
        and (r.slash_reason not in _PROVEN or r.reason in WORD_SLASH_CODES)
    }
    if 2 * len(slashing) > n:
        counts = Counter(r.slash_reason for r in slashing.values())
        reason = min(counts, key=lambda s: (-counts[s], s))
        return slashing[next(m for m in slashing if slashing[m].slash_reason == reason)]
    ranked = sorted(
        scored,
        key=lambda m: (scored[m].pass_bps, scored[m].uptime_bps, scored[m].score_bps, int(m, 16)),
    )
    return scored[ranked[(n - 1) // 2]]


def refusals(
    *,
    own: Bundle | None,
    bundles: Sequence[Bundle],
    proposed_digest: bytes,
    recomputed: EpochBuild,
    recomputed_digest: bytes,
    evidence_held: Iterable[str] = (),
) -> list[str]:
    """Why a member will not sign a proposal (empty: it signs). `bundles` are the proposal's,
    already validated; `recomputed` is the member's own build from them; `evidence_held` the
    digests of the evidence objects the proposal carries."""
    reasons = []
    if own is None:
        reasons.append("no observations of my own for this epoch")
    elif own.digest() not in {b.digest() for b in bundles}:
        reasons.append("my observations are missing from the proposal or altered")
    else:
        held = set(evidence_held)
        missing = [v for v in needed(bundles).get(own.member.lower(), [])
                   if v["evidence"] not in held]  # fmt: skip
        if missing:
            reasons.append(
                f"the evidence of {len(missing)} of my verdicts is missing from the proposal "
                f"(first: challenge {missing[0]['challenge_id']})"
            )
    if recomputed_digest != proposed_digest:
        reasons.append(
            f"the report does not follow from the observations: recomputed digest "
            f"0x{recomputed_digest.hex()}, proposed 0x{proposed_digest.hex()}"
        )
    if own is not None:
        passed: dict[str, bool] = {}
        for v in own.verdicts:
            passed[v["node"]] = passed.get(v["node"], True) and v["passed"]
        for s in recomputed.report.slashes:
            # A slash by the node's own signed wrong work stands whatever this member saw (the
            # node may cheat on one member's challenge only); any other needs this member's
            # view not to contradict it.
            if s.reason not in _PROVEN and passed.get(s.node.lower()):
                reasons.append(f"slash of node {s.node}, which passed all my challenges")
    return reasons
