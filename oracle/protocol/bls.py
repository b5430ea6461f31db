"""BLS signatures on BN254 (alt_bn128) exactly as OracleHub verifies them ("Plinth BLS on BN254").
Pure (py_ecc.optimized_bn128, no I/O); strict input lengths; every malformed input is a BlsError.

Keys and signatures
    sk in [1, R); pk1 = sk·G1 in G1, pk2 = sk·G2 in G2; a signature is sigma = sk·H(m) in G1.
    An aggregate is the sum of the signers' signatures (and of their pk1, and of their pk2).
    An operator keeps one keystore: derive_secret_key(ecdsa key) = keccak("plinth-bls-sk-v1" ||
    key) mod R (1 if that is 0).

Hash to G1, try-and-increment with keccak (dst and m are 32 bytes each)
    for ctr in 0..255:
        x = keccak(dst || m || uint8 ctr) mod P; rhs = x^3 + 3 mod P
        y = rhs^((P+1)/4) mod P        (a square root of rhs whenever one exists: P = 3 mod 4)
        if y^2 = rhs: return (x, min(y, P - y))
    G1 has cofactor 1, so every curve point is in the group. This is not RFC 9380's
    constant-time, indifferentiable hash; it is what the EVM can afford (one modexp per try),
    the construction of EigenLayer's BN254.hashToG1 with our own tags and a canonical y.
    hash_hint gives the contract a witness instead (a square root of -rhs for each counter
    that fails, -1 being a non-residue mod P, and of rhs for the one that works), which it
    checks with one mulmod per counter instead of a modexp.

Domain separation
    REPORT_DST for reports: the message is the report's EIP-712 digest (oracle.protocol.eip712),
    which binds chain id, hub, epoch and committee version.
    POP_DST for proofs of possession: the message is keccak(abi.encode(uint256 chainId, address
    hub, address operator, uint256 pk1.x, uint256 pk1.y)), so a key's PoP cannot be replayed by
    another operator, on another hub or chain. A PoP is what stops a rogue key
    pk_rogue = pk_attacker - pk_victim: nobody knows its secret key, so nobody can prove it.

Verification, one pairing product (EigenLayer's check: it binds the G1 key to the G2 key)
    gamma = keccak(abi.encode(sigma, apk1, apk2, h)) mod R
    accept iff e(sigma + gamma·apk1, -G2) · e(h + gamma·G1, apk2) == 1
    which holds, except with probability about 1/R, iff e(sigma, G2) = e(h, apk2) (the signature)
    and e(apk1, G2) = e(G1, apk2) (the two keys have the same secret).

Encodings (EIP-196/197): 32-byte big-endian words; G1 = x || y (64 bytes);
G2 = x_im || x_re || y_im || y_re (128 bytes, x = x_re + x_im·i). The point at infinity (all
zeros) is never a valid key or signature, and no coordinate may be >= P.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import reduce

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

_RECURSION_LIMIT = sys.getrecursionlimit()
from py_ecc.optimized_bn128 import (  # noqa: E402 (the limit is read before py-ecc raises it)
    FQ,
    FQ2,
    FQ12,
    G1,
    G2,
    Z1,
    Z2,
    add,
    b,
    b2,
    curve_order,
    field_modulus,
    final_exponentiate,
    is_inf,
    is_on_curve,
    multiply,
    neg,
    normalize,
    pairing,
)

# py-ecc raises the interpreter's recursion limit to 100,000 when imported, far past what the C
# stack holds: a deeply nested JSON body would then crash the process instead of raising. BN254
# arithmetic here needs no deep recursion, so the limit goes back to what it was.
sys.setrecursionlimit(_RECURSION_LIMIT)

P = field_modulus
R = curve_order
REPORT_DST = keccak(b"PLINTH-BN254-G1-KECCAK-TAI:report-v1")
POP_DST = keccak(b"PLINTH-BN254-G1-KECCAK-TAI:pop-v1")
_SQRT_EXPONENT = (P + 1) // 4

G1Point = tuple[FQ, FQ, FQ]  # py_ecc's projective coordinates
G2Point = tuple[FQ2, FQ2, FQ2]


class BlsError(ValueError):
    """A malformed key, signature, encoding or secret."""


# ---------------------------------------------------------------- keys
def derive_secret_key(ecdsa_private_key: bytes) -> int:
    """The operator's BLS secret key, derived from its 32-byte ECDSA key (one keystore)."""
    key = bytes(ecdsa_private_key)
    if len(key) != 32:
        raise BlsError(f"an ECDSA private key is 32 bytes, got {len(key)}")
    return int.from_bytes(keccak(b"plinth-bls-sk-v1" + key), "big") % R or 1


def public_keys(sk: int) -> tuple[G1Point, G2Point]:
    """(pk1, pk2) = (sk·G1, sk·G2)."""
    _check_secret(sk)
    return multiply(G1, sk), multiply(G2, sk)


# ---------------------------------------------------------------- hashing and signing
def hash_to_g1(dst: bytes, message: bytes) -> G1Point:
    """Try-and-increment (see the module docstring); the contract's BN254.hashToG1."""
    _check_bytes32(dst, "dst")
    _check_bytes32(message, "message")
    for ctr in range(256):
        x = int.from_bytes(keccak(dst + message + bytes([ctr])), "big") % P
        rhs = (x * x * x + 3) % P
        y = pow(rhs, _SQRT_EXPONENT, P)
        if y * y % P == rhs:
            return (FQ(x), FQ(min(y, P - y)), FQ.one())
    raise BlsError("no counter in 0..255 hashes to the curve")  # probability about 2**-256


def hash_hint(dst: bytes, message: bytes) -> list[int]:
    """The witness BN254.hashToG1WithHint checks: for each counter before the one that works,
    a square root of -(x^3 + 3); for that one, a square root of x^3 + 3."""
    _check_bytes32(dst, "dst")
    _check_bytes32(message, "message")
    roots = []
    for ctr in range(256):
        x = int.from_bytes(keccak(dst + message + bytes([ctr])), "big") % P
        rhs = (x * x * x + 3) % P
        y = pow(rhs, _SQRT_EXPONENT, P)
        if y * y % P == rhs:
            return [*roots, y]
        roots.append(pow(P - rhs, _SQRT_EXPONENT, P))  # rhs is a non-residue: -rhs a square
    raise BlsError("no counter in 0..255 hashes to the curve")


def sign(sk: int, message: bytes, *, dst: bytes = REPORT_DST) -> G1Point:
    """sigma = sk·H(dst, message); a report's message is its EIP-712 digest."""
    _check_secret(sk)
    return multiply(hash_to_g1(dst, message), sk)


def pop_message(chain_id: int, hub: str, operator: str, pk1: G1Point) -> bytes:
    """keccak(abi.encode(chainId, hub, operator, pk1.x, pk1.y)): what a PoP signs."""
    x, y = g1_abi(pk1)
    return keccak(
        encode(
            ["uint256", "address", "address", "uint256", "uint256"],
            [chain_id, to_checksum_address(hub), to_checksum_address(operator), x, y],
        )
    )


def prove_possession(sk: int, chain_id: int, hub: str, operator: str) -> G1Point:
    """The PoP `operator` registers its key with at `hub`: sk·H(POP_DST, pop_message)."""
    pk1, _ = public_keys(sk)
    return sign(sk, pop_message(chain_id, hub, operator, pk1), dst=POP_DST)


def aggregate_g1(points: Iterable[G1Point]) -> G1Point:
    return reduce(add, points, Z1)


def aggregate_g2(points: Iterable[G2Point]) -> G2Point:
    return reduce(add, points, Z2)


def verify(
    pk1: G1Point, pk2: G2Point, message: bytes, sigma: G1Point, *, dst: bytes = REPORT_DST
) -> bool:
    """The contract's check (one pairing product): sigma signs `message` under pk2, and pk1,
    pk2 share one secret. Works for single and aggregate keys; False for any invalid point."""
    if not (_valid_g1(pk1) and _valid_g1(sigma) and _valid_g2(pk2)):
        return False
    h = hash_to_g1(dst, message)
    gamma = _gamma(sigma, pk1, pk2, h)
    lhs = add(sigma, multiply(pk1, gamma))
    rhs = add(h, multiply(G1, gamma))
    product = pairing(neg(G2), lhs, final_exponentiate=False) * pairing(
        pk2, rhs, final_exponentiate=False
    )
    return final_exponentiate(product) == FQ12.one()


def _gamma(sigma: G1Point, apk1: G1Point, apk2: G2Point, h: G1Point) -> int:
    (xi, xr), (yi, yr) = g2_abi(apk2)
    words = [*g1_abi(sigma), *g1_abi(apk1), xi, xr, yi, yr, *g1_abi(h)]
    return int.from_bytes(keccak(encode(["uint256"] * 10, words)), "big") % R


# ---------------------------------------------------------------- encodings
def g1_abi(pt: G1Point) -> tuple[int, int]:
    """(x, y): the contract's BN254.G1Point."""
    if is_inf(pt):
        raise BlsError("the point at infinity is not a valid G1 key or signature")
    x, y = normalize(pt)
    return int(x), int(y)


def g2_abi(pt: G2Point) -> tuple[tuple[int, int], tuple[int, int]]:
    """((x_im, x_re), (y_im, y_re)): the contract's BN254.G2Point (EIP-197 order)."""
    if is_inf(pt):
        raise BlsError("the point at infinity is not a valid G2 key")
    x, y = normalize(pt)
    return (x.coeffs[1], x.coeffs[0]), (y.coeffs[1], y.coeffs[0])


def encode_g1(pt: G1Point) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in g1_abi(pt))


def encode_g2(pt: G2Point) -> bytes:
    (xi, xr), (yi, yr) = g2_abi(pt)
    return b"".join(v.to_bytes(32, "big") for v in (xi, xr, yi, yr))


def decode_g1(data: bytes) -> G1Point:
    """A G1 point from its 64 bytes: coordinates below P, on the curve, not infinity."""
    x, y = _words(data, 2, "G1")
    pt = (FQ(x), FQ(y), FQ.one())
    if not is_on_curve(pt, b):
        raise BlsError("G1 point is not on the curve y^2 = x^3 + 3")
    return pt


def decode_g2(data: bytes) -> G2Point:
    """A G2 point from its 128 bytes: coordinates below P, on the twist, in the order-R
    subgroup (the twist has a large cofactor), not infinity."""
    xi, xr, yi, yr = _words(data, 4, "G2")
    pt = (FQ2([xr, xi]), FQ2([yr, yi]), FQ2.one())
    if not is_on_curve(pt, b2):
        raise BlsError("G2 point is not on the twist curve")
    if not is_inf(multiply(pt, R)):
        raise BlsError("G2 point is not in the order-R subgroup")
    return pt


def _words(data: bytes, count: int, what: str) -> list[int]:
    data = bytes(data)
    if len(data) != 32 * count:
        raise BlsError(f"a {what} point is {32 * count} bytes, got {len(data)}")
    words = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
    if any(w >= P for w in words):
        raise BlsError(f"{what} coordinate not below the field modulus")
    if not any(words):
        raise BlsError(f"the {what} point at infinity (all zeros) is not a valid key or signature")
    return words


# ---------------------------------------------------------------- checks
def _check_secret(sk: int) -> None:
    if isinstance(sk, bool) or not isinstance(sk, int) or not 0 < sk < R:
        raise BlsError("a BLS secret key is an integer in [1, R)")


def _check_bytes32(value: bytes, name: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise BlsError(f"{name} must be 32 bytes")


def _valid_g1(pt: G1Point) -> bool:
    return not is_inf(pt) and is_on_curve(pt, b)


def _valid_g2(pt: G2Point) -> bool:
    return not is_inf(pt) and is_on_curve(pt, b2) and is_inf(multiply(pt, R))
