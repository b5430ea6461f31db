"""BLS on BN254, end to end: oracle/bls.py (py_ecc) signs, library BN254 and OracleHub verify.
Hash to G1 identical in Python and Solidity; keys registered with a proof of possession;
aggregates of t of n checked against the signers' bitmap; malformed points, points off the
curve or the twist, G2 points outside the subgroup and rogue keys rejected."""

from __future__ import annotations

import itertools
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace

import ape
import pytest
from ape import chain, project
from eth_abi import decode
from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes
from plinth_testlib import (
    BLS,
    ECDSA,
    advance_to_epoch,
    make_report,
    reverts,
    sign,
)
from py_ecc.optimized_bn128 import FQ2, G1, G2, add, b2, is_inf, is_on_curve, multiply, neg

from oracle.protocol import bls
from oracle.protocol.eip712 import report_digest
from oracle.service.chain import Chain, Deployment, load_abis
from scripts._deploy import TOKEN, register_bls_key

P, R = bls.P, bls.R


# ---------------------------------------------------------------- keys and helpers
@dataclass(frozen=True)
class Keys:
    sk: int
    pk1: tuple
    pk2: tuple


_KEYS: dict[str, Keys] = {}


def keys_of(account) -> Keys:
    """The BLS keys of an Ape test account, derived from its ECDSA key (cached: G2 is slow)."""
    if account.address not in _KEYS:
        sk = bls.derive_secret_key(HexBytes(account.private_key))
        _KEYS[account.address] = Keys(sk, *bls.public_keys(sk))
    return _KEYS[account.address]


def register_key(suite, account, keys: Keys | None = None):
    return register_bls_key(suite.hub, account, (keys or keys_of(account)).sk)


def bls_committee(suite, deployer, members, threshold: int) -> list:
    """Registers the members' keys and makes them the BLS committee; returns them sorted."""
    members = sorted(members, key=lambda a: int(a.address, 16))
    for m in members:
        register_key(suite, m)
    suite.hub.setCommittee([m.address for m in members], threshold, BLS, sender=deployer)
    return members


def aggregate(suite, report, members, signers, keys=None):
    """(bitmap, sigma, apk2) of the members at indices `signers` signing `report`."""
    keys = keys or [keys_of(m) for m in members]
    digest = report_digest(report, chain.chain_id, suite.hub.address)
    sigma = bls.aggregate_g1(bls.sign(keys[i].sk, digest) for i in signers)
    apk2 = bls.aggregate_g2(keys[i].pk2 for i in signers)
    return sum(1 << i for i in signers), sigma, apk2


def submit_bls(suite, report, bitmap, sigma, apk2, sender, hint: bool = False):
    """submitReportBls, or submitReportBlsWithHint with the right witness; points may be
    py_ecc points or ABI tuples (for malformed ones)."""
    sig = sigma if isinstance(sigma, tuple) and isinstance(sigma[0], int) else bls.g1_abi(sigma)
    key = apk2 if isinstance(apk2[0], tuple) and isinstance(apk2[0][0], int) else bls.g2_abi(apk2)
    args = (report.as_tuple(), bitmap, sig, key)
    if hint:
        digest = report_digest(report, chain.chain_id, suite.hub.address)
        roots = bls.hash_hint(bls.REPORT_DST, digest)
        return suite.hub.submitReportBlsWithHint(*args, roots, sender=sender)
    return suite.hub.submitReportBls(*args, sender=sender)


@contextmanager
def view_reverts(error, **inputs):
    """Like plinth_testlib.reverts, for a view call of the harness: Ape leaves a library's
    custom error raised in an eth_call undecoded, as "custom error 0x<selector>: <raw
    arguments>", so match the selector and decode the arguments here."""
    with ape.reverts() as info:
        yield info
    selector = keccak(text=error.abi.selector)[:4].hex()
    head, _, raw = str(info.value.revert_message).partition(": ")
    assert head == f"custom error 0x{selector}", f"reverted with {info.value!r}"
    values = decode([i.canonical_type for i in error.abi.inputs], raw.encode("latin-1"))
    assert dict(zip([i.name for i in error.abi.inputs], values, strict=True)) == inputs


def ended_epoch(suite) -> int:
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    return epoch


def fq2_sqrt(a: FQ2) -> FQ2 | None:
    """A square root in Fp2 = Fp[i]/(i^2 + 1), P = 3 mod 4 (the norm method), or None."""
    a0, a1 = (int(c) for c in a.coeffs)
    root = lambda v: pow(v, (P + 1) // 4, P)  # noqa: E731
    s = root((a0 * a0 + a1 * a1) % P)
    for delta in ((a0 + s) * pow(2, -1, P) % P, (a0 - s) * pow(2, -1, P) % P):
        x0 = root(delta)
        if x0 * x0 % P == delta and x0 != 0:
            y = FQ2([x0, a1 * pow(2 * x0, -1, P) % P])
            if y * y == a:
                return y
    return None


def twist_point_outside_subgroup(seed: int = 1) -> tuple:
    """A point on the twist y^2 = x^3 + 3/(9 + i) that is not in G2 (the twist's cofactor is
    about P, so almost every twist point is outside the order-R subgroup)."""
    for x0 in itertools.count(seed):
        x = FQ2([x0, 1])
        y = fq2_sqrt(x**3 + b2)
        if y is not None:
            pt = (x, y, FQ2.one())
            assert is_on_curve(pt, b2) and not is_inf(multiply(pt, R))
            return pt
    raise AssertionError("unreachable")


def g2_words(pt) -> tuple[tuple[int, int], tuple[int, int]]:
    """EIP-197 words of any twist point (g2_abi insists on a valid key)."""
    x, y, z = pt
    x, y = x / z, y / z
    return (x.coeffs[1], x.coeffs[0]), (y.coeffs[1], y.coeffs[0])


def bad_g1(valid: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Malformed versions of a valid G1 point: the same point with a coordinate + P (only the
    range check catches it), a point off the curve, infinity."""
    x, y = valid
    return {"x>=P": (x + P, y), "y>=P": (x, y + P), "off-curve": (x, y ^ 1), "infinity": (0, 0)}


def bad_g2(valid) -> dict[str, tuple]:
    (xi, xr), (yi, yr) = valid
    return {
        "coordinate>=P": ((xi + P, xr), (yi, yr)),
        "zero": ((0, 0), (0, 0)),
        "off-twist": ((xi, xr), (yi, (yr + 1) % P)),
        "outside-subgroup": g2_words(twist_point_outside_subgroup()),
    }


G1_CASES = ["x>=P", "y>=P", "off-curve", "infinity"]
G2_CASES = ["coordinate>=P", "zero", "off-twist", "outside-subgroup"]


@pytest.fixture(scope="session")
def harness(deployer):
    # Session scope: a module-scoped contract would make Ape rebase its isolation snapshots each
    # time a test here first asks for another session fixture (guardian, provider, ...).
    return deployer.deploy(project.BN254Harness)


@pytest.fixture
def committee(suite, deployer, oracles):
    """The four oracles of config/local.toml as a BLS committee, threshold 3."""
    return bls_committee(suite, deployer, oracles, 3)


# ---------------------------------------------------------------- Python alone
def test_derive_secret_key_is_deterministic_and_in_range():
    a, b = bls.derive_secret_key(b"\x01" * 32), bls.derive_secret_key(b"\x02" * 32)
    assert a != b and 0 < a < R and a == bls.derive_secret_key(bytes([1] * 32))
    with pytest.raises(bls.BlsError, match="32 bytes"):
        bls.derive_secret_key(b"\x01" * 31)
    with pytest.raises(bls.BlsError, match=r"\[1, R\)"):
        bls.public_keys(R)


def test_encodings_round_trip_when_points_are_valid():
    pk1, pk2 = bls.public_keys(12345)
    assert len(bls.encode_g1(pk1)) == 64 and len(bls.encode_g2(pk2)) == 128
    assert bls.g1_abi(bls.decode_g1(bls.encode_g1(pk1))) == bls.g1_abi(pk1)
    assert bls.g2_abi(bls.decode_g2(bls.encode_g2(pk2))) == bls.g2_abi(pk2)
    # EIP-197 order: x_im first.
    (x_im, x_re), _ = bls.g2_abi(G2)
    assert bls.encode_g2(G2)[:32] == x_im.to_bytes(32, "big")
    assert x_re == 0x1800DEEF121F1E76426A00665E5C4479674322D4F75EDADD46DEBD5CD992F6ED


def _g1_bytes(words) -> bytes:
    return b"".join(w.to_bytes(32, "big") for w in words)


def _g2_bytes(pt) -> bytes:
    (xi, xr), (yi, yr) = pt
    return b"".join(w.to_bytes(32, "big") for w in (xi, xr, yi, yr))


@pytest.mark.parametrize("case", [*G1_CASES, "short"])
def test_decode_g1_raises_BlsError_when_malformed(case):
    valid = bls.g1_abi(bls.public_keys(7)[0])
    data = _g1_bytes(valid)[:63] if case == "short" else _g1_bytes(bad_g1(valid)[case])
    message = {
        "x>=P": "field modulus",
        "y>=P": "field modulus",
        "off-curve": "not on the curve",
        "infinity": "infinity",
        "short": "64 bytes, got 63",
    }[case]
    with pytest.raises(bls.BlsError, match=message):
        bls.decode_g1(data)


@pytest.mark.parametrize("case", [*G2_CASES, "long"])
def test_decode_g2_raises_BlsError_when_malformed(case):
    valid = bls.g2_abi(bls.public_keys(7)[1])
    data = _g2_bytes(valid) + b"\x00" if case == "long" else _g2_bytes(bad_g2(valid)[case])
    message = {
        "coordinate>=P": "field modulus",
        "zero": "infinity",
        "off-twist": "not on the twist",
        "outside-subgroup": "subgroup",
        "long": "128 bytes, got 129",
    }[case]
    with pytest.raises(bls.BlsError, match=message):
        bls.decode_g2(data)


def test_verify_accepts_aggregates_and_rejects_wrong_message_or_mismatched_keys():
    keys = [Keys(sk, *bls.public_keys(sk)) for sk in (11, 22, 33)]
    message, other = b"\x05" * 32, b"\x06" * 32
    sigma = bls.aggregate_g1(bls.sign(k.sk, message) for k in keys)
    apk1 = bls.aggregate_g1(k.pk1 for k in keys)
    apk2 = bls.aggregate_g2(k.pk2 for k in keys)
    assert bls.verify(apk1, apk2, message, sigma)
    assert not bls.verify(apk1, apk2, other, sigma)
    # The G1 key must carry the same secret as the G2 key (the binding equation).
    assert not bls.verify(keys[0].pk1, apk2, message, sigma)
    # Domain separation: a PoP-domain signature is not a report signature.
    assert not bls.verify(keys[0].pk1, keys[0].pk2, message, bls.sign(11, message, dst=bls.POP_DST))
    with pytest.raises(bls.BlsError, match="32 bytes"):
        bls.sign(11, b"\x05" * 31)


def test_rogue_key_forges_an_aggregate_when_no_proof_of_possession_is_required():
    """Why keys need a PoP: with pk_rogue = pk_attacker - pk_victim the aggregate key of
    {victim, rogue} is the attacker's own, so the attacker alone signs for both."""
    victim, attacker = Keys(101, *bls.public_keys(101)), Keys(202, *bls.public_keys(202))
    rogue1, rogue2 = add(attacker.pk1, neg(victim.pk1)), add(attacker.pk2, neg(victim.pk2))
    message = b"\x42" * 32
    forged = bls.sign(attacker.sk, message)  # the victim signed nothing
    apk1, apk2 = bls.aggregate_g1([victim.pk1, rogue1]), bls.aggregate_g2([victim.pk2, rogue2])
    assert bls.verify(apk1, apk2, message, forged)


# ---------------------------------------------------------------- hash to G1 and the check
def test_hashToG1_equals_python_when_many_messages(harness):
    messages = [b"\x00" * 32, b"\xff" * 32] + [os.urandom(32) for _ in range(30)]
    counters = []
    for dst in (bls.REPORT_DST, bls.POP_DST):
        for m in messages:
            expected = bls.g1_abi(bls.hash_to_g1(dst, m))
            assert tuple(harness.hashToG1(dst, m)) == expected
            assert harness.isValidG1(expected)
            counters.append(_counter(dst, m))
    # The loop is exercised: some messages need several tries.
    assert max(counters) >= 2 and counters.count(0) < len(counters)


def test_hashToG1WithHint_equals_hashToG1_when_hint_is_right(harness):
    for m in [os.urandom(32) for _ in range(12)]:
        roots = bls.hash_hint(bls.REPORT_DST, m)
        assert len(roots) == _counter(bls.REPORT_DST, m) + 1
        expected = bls.g1_abi(bls.hash_to_g1(bls.REPORT_DST, m))
        assert tuple(harness.hashToG1WithHint(bls.REPORT_DST, m, roots)) == expected
        # Either square root will do: the contract picks the smaller y, like hash_to_g1.
        flipped = [*roots[:-1], P - roots[-1]]
        assert tuple(harness.hashToG1WithHint(bls.REPORT_DST, m, flipped)) == expected


def _message_with_tries(tries: int) -> bytes:
    """A message whose hash needs exactly `tries` counters."""
    for i in itertools.count():
        m = keccak(b"tries%d" % i)
        if _counter(bls.REPORT_DST, m) == tries - 1:
            return m
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "case", ["empty", "wrong-root", "skipped-counter", "extra-root", "failure-witness-wrong"]
)
def test_hashToG1WithHint_reverts_InvalidHashHint_when_witness_wrong(harness, case):
    m = _message_with_tries(3)
    roots = bls.hash_hint(bls.REPORT_DST, m)
    bad, index = {
        "empty": ([], 0),
        "wrong-root": ([*roots[:2], roots[2] + 1], 2),
        # Claiming the first counter works, with the root of the one that does.
        "skipped-counter": ([roots[2]], 0),
        # Going past the counter that works: its root does not prove that it fails.
        "extra-root": ([*roots, 5], 2),
        "failure-witness-wrong": ([roots[0], roots[1] + 1, roots[2]], 1),
    }[case]
    with view_reverts(harness.InvalidHashHint, index=index):
        harness.hashToG1WithHint(bls.REPORT_DST, m, bad)


def _counter(dst: bytes, message: bytes) -> int:
    for ctr in range(256):
        x = int.from_bytes(keccak(dst + message + bytes([ctr])), "big") % P
        rhs = (x**3 + 3) % P
        if pow(rhs, (P + 1) // 4, P) ** 2 % P == rhs:
            return ctr
    raise AssertionError("unreachable")


def test_pairingCheck_agrees_with_python_verify(harness):
    keys = [Keys(sk, *bls.public_keys(sk)) for sk in (5, 6)]
    message = os.urandom(32)
    sigma = bls.aggregate_g1(bls.sign(k.sk, message) for k in keys)
    apk1 = bls.aggregate_g1(k.pk1 for k in keys)
    apk2 = bls.aggregate_g2(k.pk2 for k in keys)
    h = bls.g1_abi(bls.hash_to_g1(bls.REPORT_DST, message))
    args = (bls.g1_abi(sigma), bls.g1_abi(apk1), bls.g2_abi(apk2))
    assert tuple(harness.pairingCheck(*args, h)) == (True, True)
    assert bls.verify(apk1, apk2, message, sigma)
    wrong_h = bls.g1_abi(bls.hash_to_g1(bls.REPORT_DST, os.urandom(32)))
    assert tuple(harness.pairingCheck(*args, wrong_h)) == (True, False)
    # A G1 key of another secret than the G2 key: the binding equation fails.
    mismatched = (args[0], bls.g1_abi(keys[0].pk1), args[2])
    assert tuple(harness.pairingCheck(*mismatched, h)) == (True, False)


@pytest.mark.parametrize("case", ["off-twist", "outside-subgroup"])
def test_pairing_precompile_fails_when_g2_point_not_in_G2(harness, case):
    """On anvil the pairing precompile fails (it does not return false) for a point off the
    twist or on the twist but outside the order-R subgroup: the hub must read a failed call as
    an invalid key."""
    k = Keys(9, *bls.public_keys(9))
    message = os.urandom(32)
    h = bls.g1_abi(bls.hash_to_g1(bls.REPORT_DST, message))
    bad = bad_g2(bls.g2_abi(k.pk2))[case]
    sigma = bls.g1_abi(bls.sign(k.sk, message))
    assert tuple(harness.pairingCheck(sigma, bls.g1_abi(k.pk1), bad, h)) == (False, False)


def test_add_and_mul_revert_PrecompileFailed_when_point_off_curve(harness):
    g = bls.g1_abi(G1)
    assert tuple(harness.add(g, g)) == bls.g1_abi(multiply(G1, 2))
    assert tuple(harness.mul(g, 3)) == bls.g1_abi(multiply(G1, 3))
    with view_reverts(harness.PrecompileFailed, precompile=6):
        harness.add((1, 3), g)
    with view_reverts(harness.PrecompileFailed, precompile=7):
        harness.mul((1, 3), 2)


# ---------------------------------------------------------------- registerBlsKey
def test_registerBlsKey_registers_and_emits_when_pop_valid(suite, oracles):
    operator = oracles[0]
    k = keys_of(operator)
    assert tuple(suite.hub.blsKeyOf(operator.address)) == (0, 0)
    tx = register_key(suite, operator)
    assert tuple(suite.hub.blsKeyOf(operator.address)) == bls.g1_abi(k.pk1)
    [event] = tx.events.filter(suite.hub.BlsKeyRegistered)
    assert event.operator == operator.address
    assert tuple(event.pk1) == bls.g1_abi(k.pk1)
    (xi, xr), (yi, yr) = bls.g2_abi(k.pk2)
    assert [list(event.pk2[0]), list(event.pk2[1])] == [[xi, xr], [yi, yr]]
    # A new key replaces the old one.
    fresh = Keys(777, *bls.public_keys(777))
    register_key(suite, operator, fresh)
    assert tuple(suite.hub.blsKeyOf(operator.address)) == bls.g1_abi(fresh.pk1)


@pytest.mark.parametrize("case", G1_CASES)
def test_registerBlsKey_reverts_InvalidBlsKey_when_pk1_malformed(suite, outsider, case):
    k = keys_of(outsider)
    pop = bls.prove_possession(k.sk, chain.chain_id, suite.hub.address, outsider.address)
    pk1 = bad_g1(bls.g1_abi(k.pk1))[case]
    with reverts(suite.hub.InvalidBlsKey):
        suite.hub.registerBlsKey(pk1, bls.g2_abi(k.pk2), bls.g1_abi(pop), sender=outsider)


@pytest.mark.parametrize("case", G2_CASES)
def test_registerBlsKey_reverts_InvalidBlsKey_when_pk2_malformed_or_not_in_G2(
    suite, outsider, case
):
    k = keys_of(outsider)
    pop = bls.prove_possession(k.sk, chain.chain_id, suite.hub.address, outsider.address)
    pk2 = bad_g2(bls.g2_abi(k.pk2))[case]
    with reverts(suite.hub.InvalidBlsKey):
        suite.hub.registerBlsKey(bls.g1_abi(k.pk1), pk2, bls.g1_abi(pop), sender=outsider)


@pytest.mark.parametrize("case", G1_CASES)
def test_registerBlsKey_reverts_InvalidProofOfPossession_when_pop_malformed(suite, outsider, case):
    k = keys_of(outsider)
    pop = bls.prove_possession(k.sk, chain.chain_id, suite.hub.address, outsider.address)
    with reverts(suite.hub.InvalidProofOfPossession):
        suite.hub.registerBlsKey(
            bls.g1_abi(k.pk1), bls.g2_abi(k.pk2), bad_g1(bls.g1_abi(pop))[case], sender=outsider
        )


@pytest.mark.parametrize("case", ["other-chain", "other-hub", "report-domain", "other-g2-key"])
def test_registerBlsKey_reverts_InvalidProofOfPossession_when_pop_for_something_else(
    suite, outsider, case
):
    k = keys_of(outsider)
    pk2 = k.pk2
    if case == "other-chain":
        pop = bls.prove_possession(k.sk, 1, suite.hub.address, outsider.address)
    elif case == "other-hub":
        pop = bls.prove_possession(k.sk, chain.chain_id, suite.slashing.address, outsider.address)
    else:
        message = bls.pop_message(chain.chain_id, suite.hub.address, outsider.address, k.pk1)
        pop = bls.sign(
            k.sk, message, dst=bls.REPORT_DST if case == "report-domain" else bls.POP_DST
        )
        if case == "other-g2-key":
            pk2 = bls.public_keys(k.sk + 1)[1]  # a valid G2 point of another secret
    with reverts(suite.hub.InvalidProofOfPossession):
        suite.hub.registerBlsKey(
            bls.g1_abi(k.pk1), bls.g2_abi(pk2), bls.g1_abi(pop), sender=outsider
        )


def test_registerBlsKey_refuses_rogue_key_and_copied_pop(suite, oracles, outsider):
    """The rogue-key attack of test_rogue_key_forges_... against the hub: the attacker cannot
    register pk_attacker - pk_victim (it knows no secret for it, so no PoP), nor reuse the
    victim's key with the victim's PoP (the PoP binds the operator)."""
    victim, attacker = keys_of(oracles[0]), keys_of(outsider)
    victim_pop = bls.prove_possession(
        victim.sk, chain.chain_id, suite.hub.address, oracles[0].address
    )
    register_key(suite, oracles[0])
    rogue1, rogue2 = add(attacker.pk1, neg(victim.pk1)), add(attacker.pk2, neg(victim.pk2))
    # The best the attacker can do: sign the rogue key's PoP message with its own secret.
    message = bls.pop_message(chain.chain_id, suite.hub.address, outsider.address, rogue1)
    attempts = [
        (rogue1, rogue2, bls.sign(attacker.sk, message, dst=bls.POP_DST)),
        (rogue1, rogue2, victim_pop),
        # Copying the victim's whole registration.
        (victim.pk1, victim.pk2, victim_pop),
    ]
    for pk1, pk2, pop in attempts:
        with reverts(suite.hub.InvalidProofOfPossession):
            suite.hub.registerBlsKey(
                bls.g1_abi(pk1), bls.g2_abi(pk2), bls.g1_abi(pop), sender=outsider
            )
    assert tuple(suite.hub.blsKeyOf(outsider.address)) == (0, 0)
    assert tuple(suite.hub.blsKeyOf(oracles[0].address)) == bls.g1_abi(victim.pk1)


# ---------------------------------------------------------------- setCommittee
def test_setCommittee_reverts_MissingBlsKey_when_member_has_no_key(suite, deployer, oracles):
    members = sorted(oracles, key=lambda a: int(a.address, 16))
    for m in members[:3]:
        register_key(suite, m)
    with reverts(suite.hub.MissingBlsKey, member=members[3].address):
        suite.hub.setCommittee([m.address for m in members], 3, BLS, sender=deployer)
    assert suite.hub.scheme() == ECDSA


def test_setCommittee_switches_scheme_and_bumps_version_when_bls(suite, deployer, oracles):
    version = suite.hub.committeeVersion()
    members = sorted(oracles, key=lambda a: int(a.address, 16))
    for m in members:
        register_key(suite, m)
    tx = suite.hub.setCommittee([m.address for m in members], 3, BLS, sender=deployer)
    assert suite.hub.scheme() == BLS and suite.hub.committeeVersion() == version + 1
    [event] = tx.events.filter(suite.hub.CommitteeSet)
    assert (event.version, event.threshold, event.scheme) == (version + 1, 3, BLS)
    assert all(suite.hub.isMember(m.address) for m in members)
    suite.hub.setCommittee([m.address for m in members], 3, ECDSA, sender=deployer)
    assert suite.hub.scheme() == ECDSA and suite.hub.committeeVersion() == version + 2


# ---------------------------------------------------------------- submitReportBls
@pytest.mark.parametrize("hint", [False, True], ids=["modexp", "hint"])
@pytest.mark.parametrize(
    "signers", [(0, 1, 2), (1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2, 3)], ids=str
)
def test_submitReportBls_accepts_when_t_to_n_members_sign(
    suite, committee, provider, outsider, signers, hint
):
    epoch = ended_epoch(suite)
    reward = 1_000 * TOKEN
    report, tree = make_report(suite, epoch, {provider.address: reward})
    bitmap, sigma, apk2 = aggregate(suite, report, committee, signers)
    before = suite.token.balanceOf(suite.distributor.address)

    tx = submit_bls(suite, report, bitmap, sigma, apk2, outsider, hint=hint)

    assert suite.hub.nextEpoch() == epoch + 1
    assert suite.token.balanceOf(suite.distributor.address) - before == reward
    assert bytes(suite.distributor.rootOf(epoch)) == tree.stored_root
    [event] = tx.events.filter(suite.hub.ReportAccepted)
    assert bytes(event.digest) == report_digest(report, chain.chain_id, suite.hub.address)


def test_submitReportBls_accepts_when_committee_of_five_and_non_signers_spread(
    suite, deployer, oracles, accounts, outsider
):
    members = bls_committee(suite, deployer, [*oracles, accounts[11]], 4)
    for signers in [(0, 2, 3, 4), (0, 1, 2, 4)]:
        report, _ = make_report(suite, ended_epoch(suite))
        bitmap, sigma, apk2 = aggregate(suite, report, members, signers)
        submit_bls(suite, report, bitmap, sigma, apk2, outsider)
        assert suite.hub.nextEpoch() == report.epoch + 1


def test_submitReportBlsWithHint_reverts_InvalidHashHint_when_hint_is_for_another_message(
    suite, committee, outsider
):
    report, _ = make_report(suite, ended_epoch(suite))
    bitmap, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    m = _message_with_tries(2)
    roots = bls.hash_hint(bls.REPORT_DST, m)
    # The witness for counter 0 is a square root for m's candidate, not the digest's (whatever
    # counter the digest needs: a "failed" counter checks -rhs, the last one rhs).
    with reverts(suite.hub.InvalidHashHint, index=0):
        suite.hub.submitReportBlsWithHint(
            report.as_tuple(), bitmap, bls.g1_abi(sigma), bls.g2_abi(apk2), roots, sender=outsider
        )


def test_submitReportBls_reverts_InvalidBlsSignature_when_message_wrong(suite, committee, outsider):
    report, _ = make_report(suite, ended_epoch(suite))
    signed_report = replace(report, results_root=b"\x02" * 32)
    bitmap, sigma, apk2 = aggregate(suite, signed_report, committee, (0, 1, 2))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, bitmap, sigma, apk2, outsider)
    # Signed for another deployment of the hub (the digest binds the verifying contract).
    digest = report_digest(report, chain.chain_id, suite.slashing.address)
    other = bls.aggregate_g1(bls.sign(keys_of(committee[i]).sk, digest) for i in (0, 1, 2))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, bitmap, other, apk2, outsider)


def test_submitReportBls_reverts_InvalidBlsSignature_when_bitmap_wrong(suite, committee, outsider):
    report, _ = make_report(suite, ended_epoch(suite))
    _, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    # Members 0, 1, 2 signed, the bitmap names 0, 1, 3: the G1 key the hub computes does not
    # match the G2 key, whatever G2 key is supplied.
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, 0b1011, sigma, apk2, outsider)
    _, _, apk2_claimed = aggregate(suite, report, committee, (0, 1, 3))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, 0b1011, sigma, apk2_claimed, outsider)


def test_submitReportBls_reverts_InvalidBlsSignature_when_a_signer_is_missing(
    suite, committee, outsider
):
    report, _ = make_report(suite, ended_epoch(suite))
    bitmap, _, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    _, two, _ = aggregate(suite, report, committee, (0, 1))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, bitmap, two, apk2, outsider)


def test_submitReportBls_reverts_when_signed_for_another_committee_version(
    suite, deployer, committee, outsider
):
    epoch = ended_epoch(suite)
    old, _ = make_report(suite, epoch)
    bitmap, sigma, apk2 = aggregate(suite, old, committee, (0, 1, 2))
    version = suite.hub.committeeVersion()
    # The same members reappointed: the version bumps.
    suite.hub.setCommittee([m.address for m in committee], 3, BLS, sender=deployer)
    with reverts(suite.hub.WrongCommitteeVersion, given=version, current=version + 1):
        submit_bls(suite, old, bitmap, sigma, apk2, outsider)
    new = replace(old, committee_version=version + 1)
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, new, bitmap, sigma, apk2, outsider)
    submit_bls(suite, new, *aggregate(suite, new, committee, (0, 1, 2)), outsider)
    assert suite.hub.nextEpoch() == epoch + 1


@pytest.mark.parametrize("bitmap", [0b10111, 1 << 255, 2**256 - 1], ids=["bit-n", "bit-255", "all"])
def test_submitReportBls_reverts_InvalidSignerBitmap_when_bit_at_or_above_n(
    suite, committee, outsider, bitmap
):
    report, _ = make_report(suite, ended_epoch(suite))
    _, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    with reverts(suite.hub.InvalidSignerBitmap, signers=bitmap):
        submit_bls(suite, report, bitmap, sigma, apk2, outsider)


@pytest.mark.parametrize("signers", [(), (3,), (0, 2)], ids=["none", "one", "two"])
def test_submitReportBls_reverts_NotEnoughSignatures_when_below_threshold(
    suite, committee, outsider, signers
):
    report, _ = make_report(suite, ended_epoch(suite))
    _, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    bitmap = sum(1 << i for i in signers)
    with reverts(suite.hub.NotEnoughSignatures, count=len(signers), threshold=3):
        submit_bls(suite, report, bitmap, sigma, apk2, outsider)


@pytest.mark.parametrize("case", G1_CASES)
def test_submitReportBls_reverts_InvalidBlsSignature_when_signature_malformed(
    suite, committee, outsider, case
):
    report, _ = make_report(suite, ended_epoch(suite))
    bitmap, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, bitmap, bad_g1(bls.g1_abi(sigma))[case], apk2, outsider)


@pytest.mark.parametrize("case", G2_CASES)
def test_submitReportBls_reverts_InvalidBlsKey_when_apkG2_malformed_or_not_in_G2(
    suite, committee, outsider, case
):
    report, _ = make_report(suite, ended_epoch(suite))
    bitmap, sigma, apk2 = aggregate(suite, report, committee, (0, 1, 2))
    with reverts(suite.hub.InvalidBlsKey):
        submit_bls(suite, report, bitmap, sigma, bad_g2(bls.g2_abi(apk2))[case], outsider)


def test_submitReportBls_reverts_WrongScheme_when_committee_is_ecdsa(suite, oracles, outsider):
    report, _ = make_report(suite, ended_epoch(suite))
    members = sorted(oracles, key=lambda a: int(a.address, 16))
    bitmap, sigma, apk2 = aggregate(suite, report, members, (0, 1, 2))
    for hint in (False, True):
        with reverts(suite.hub.WrongScheme, expected=ECDSA):
            submit_bls(suite, report, bitmap, sigma, apk2, outsider, hint=hint)


def test_submitReport_reverts_WrongScheme_when_committee_is_bls(suite, committee, outsider):
    report, _ = make_report(suite, ended_epoch(suite))
    with reverts(suite.hub.WrongScheme, expected=BLS):
        suite.hub.submitReport(
            report.as_tuple(), sign(suite, report, committee[:3]), sender=outsider
        )


def test_submitReportBls_reverts_EnforcedPause_when_hub_paused(
    suite, deployer, guardian, committee, outsider
):
    report, _ = make_report(suite, ended_epoch(suite))
    signed = aggregate(suite, report, committee, (0, 1, 2))
    suite.hub.pause(sender=guardian)
    with reverts(suite.hub.EnforcedPause):
        submit_bls(suite, report, *signed, outsider)
    suite.hub.unpause(sender=deployer)
    submit_bls(suite, report, *signed, outsider)


def test_submitReportBls_uses_keys_of_the_committee_until_it_is_set_again(
    suite, deployer, committee, outsider
):
    """A key registered after setCommittee takes effect at the next setCommittee."""
    rotated = Keys(4242, *bls.public_keys(4242))
    snapshot = [bls.g1_abi(keys_of(m).pk1) for m in committee]
    assert [tuple(k) for k in suite.hub.committeeBlsKeys()] == snapshot
    register_key(suite, committee[0], rotated)
    assert [tuple(k) for k in suite.hub.committeeBlsKeys()] == snapshot  # still the snapshot
    report, _ = make_report(suite, ended_epoch(suite))
    keys = [rotated, *(keys_of(m) for m in committee[1:])]
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, *aggregate(suite, report, committee, (0, 1, 2), keys), outsider)
    submit_bls(suite, report, *aggregate(suite, report, committee, (0, 1, 2)), outsider)

    suite.hub.setCommittee([m.address for m in committee], 3, BLS, sender=deployer)
    assert [tuple(k) for k in suite.hub.committeeBlsKeys()] == [bls.g1_abi(k.pk1) for k in keys]
    report, _ = make_report(suite, ended_epoch(suite))
    with reverts(suite.hub.InvalidBlsSignature):
        submit_bls(suite, report, *aggregate(suite, report, committee, (0, 1, 2)), outsider)
    submit_bls(suite, report, *aggregate(suite, report, committee, (0, 1, 2), keys), outsider)
    assert suite.hub.nextEpoch() == report.epoch + 1


# ---------------------------------------------------------------- oracle.service.chain helpers
def test_chain_registers_keys_and_submits_a_bls_report(suite, deployer, oracles):
    view = Chain(chain.provider.uri, Deployment.from_record(suite.record), load_abis())
    assert view.scheme() == "ecdsa"
    members = sorted(oracles, key=lambda a: int(a.address, 16))
    for m in members:
        tx = view.register_bls_key(Account.from_key(m.private_key), keys_of(m).sk)
        assert view.receipt(tx)["status"] == 1
        assert tuple(suite.hub.blsKeyOf(m.address)) == bls.g1_abi(keys_of(m).pk1)
    assert view.committee_bls_keys() == []  # ECDSA: no keys to check against
    suite.hub.setCommittee([m.address for m in members], 3, BLS, sender=deployer)
    assert view.scheme() == "bls"
    assert view.committee_bls_keys() == [bls.g1_abi(keys_of(m).pk1) for m in members]

    report, _ = make_report(suite, ended_epoch(suite))
    bitmap, sigma, apk2 = aggregate(suite, report, members, (1, 2, 3))
    submitter = Account.from_key(members[1].private_key)
    # Points or their encodings.
    tx = view.submit_report_bls(
        submitter, report, bitmap, bls.encode_g1(sigma), bls.encode_g2(apk2)
    )
    assert view.receipt(tx)["status"] == 1
    assert suite.hub.nextEpoch() == report.epoch + 1
    assert view.report_digest(report.epoch) == report_digest(
        report, chain.chain_id, suite.hub.address
    )
