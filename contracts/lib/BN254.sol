// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BN254
/// @notice "Plinth BLS on BN254": points, hash to G1 and the aggregate-signature check over the
/// alt_bn128 precompiles (EIP-196: ecAdd 0x06, ecMul 0x07; EIP-197: pairing 0x08; modexp 0x05).
/// oracle/bls.py is the same construction in Python; tests/test_bls.py proves they agree.
///
/// - Keys: pk1 = sk·G1 (G1), pk2 = sk·G2 (G2). A signature is sigma = sk·H(m) in G1; an aggregate
///   is the sum of the signers' signatures, checked against the sum of their keys.
/// - Encodings: G1 = (x, y); G2 = (x_im, x_re, y_im, y_re), x = x_re + x_im·i (precompile order).
///   The point at infinity is (0, 0) for the precompiles; it is never a valid key or signature.
/// - Hash to G1 (try-and-increment): for ctr = 0..255, x = keccak(dst || m || uint8 ctr) mod P,
///   y = (x^3 + 3)^((P+1)/4) mod P; the first ctr with y^2 = x^3 + 3 gives (x, min(y, P - y)).
///   G1 has cofactor 1: every curve point is in the group.
/// - Check (EigenLayer's BLSSignatureChecker binding of the G1 key to the G2 key):
///   gamma = keccak(abi.encode(sigma, apk1, apk2, h)) mod R,
///   e(sigma + gamma·apk1, -G2) · e(h + gamma·G1, apk2) == 1, one 2-pair pairing call. It holds,
///   except with probability about 1/R, iff e(sigma, G2) = e(h, apk2) and e(apk1, G2) = e(G1, apk2).
/// @dev Warning: the pairing precompile fails (it does not return false) for a G2 point that is
/// not on the twist or not in the order-R subgroup; `pairingCheck` reports that as `callOk =
/// false`, and callers must treat it as an invalid key.
library BN254 {
    /// @dev The base field modulus and the group order.
    uint256 internal constant P = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47;
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    /// @dev (P + 1) / 4: rhs^this is a square root of rhs whenever one exists (P = 3 mod 4).
    uint256 private constant _SQRT_EXPONENT = 0xc19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;
    /// @dev -G2, the negated generator of G2, in precompile order.
    uint256 private constant _NEG_G2_X_IM = 0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2;
    uint256 private constant _NEG_G2_X_RE = 0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed;
    uint256 private constant _NEG_G2_Y_IM = 0x275dc4a288d1afb3cbb1ac09187524c7db36395df7be3b99e673b13a075a65ec;
    uint256 private constant _NEG_G2_Y_RE = 0x1d9befcd05a5323e6da4d435f3b617cdb3af83285c2df711ef39c01571827f9d;

    struct G1Point {
        uint256 x;
        uint256 y;
    }

    /// @dev x[0], y[0] the imaginary parts, x[1], y[1] the real parts (EIP-197 order).
    struct G2Point {
        uint256[2] x;
        uint256[2] y;
    }

    /// @notice A precompile call failed on inputs the caller should have validated.
    error PrecompileFailed(uint256 precompile);
    /// @notice The square-root witness for counter `index` of hashToG1WithHint is wrong.
    error InvalidHashHint(uint256 index);

    // ---------------------------------------------------------------- points
    /// @notice True iff `p` is a point of G1 other than infinity, with coordinates below P.
    function isValidG1(G1Point memory p) internal pure returns (bool) {
        if (p.x >= P || p.y >= P || (p.x | p.y) == 0) return false;
        return mulmod(p.y, p.y, P) == addmod(mulmod(mulmod(p.x, p.x, P), p.x, P), 3, P);
    }

    /// @notice True iff the coordinates of `p` are below P and not all zero. Whether `p` is on
    /// the twist and in the subgroup is left to the pairing precompile (it fails otherwise).
    function isWellFormedG2(G2Point memory p) internal pure returns (bool) {
        if (p.x[0] >= P || p.x[1] >= P || p.y[0] >= P || p.y[1] >= P) return false;
        return (p.x[0] | p.x[1] | p.y[0] | p.y[1]) != 0;
    }

    function isInfinity(G1Point memory p) internal pure returns (bool) {
        return (p.x | p.y) == 0;
    }

    /// @notice -p (infinity stays infinity).
    function negate(G1Point memory p) internal pure returns (G1Point memory) {
        if (p.y == 0) return G1Point(p.x, 0);
        return G1Point(p.x, P - p.y);
    }

    /// @notice a + b (ecAdd). Reverts on a point that is not on the curve.
    function add(G1Point memory a, G1Point memory b) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(a))
            mstore(add(m, 0x20), mload(add(a, 0x20)))
            mstore(add(m, 0x40), mload(b))
            mstore(add(m, 0x60), mload(add(b, 0x20)))
            ok := staticcall(gas(), 0x06, m, 0x80, r, 0x40)
        }
        if (!ok) revert PrecompileFailed(0x06);
    }

    /// @notice s·p (ecMul). Reverts on a point that is not on the curve.
    function mul(G1Point memory p, uint256 s) internal view returns (G1Point memory r) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, mload(p))
            mstore(add(m, 0x20), mload(add(p, 0x20)))
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, r, 0x40)
        }
        if (!ok) revert PrecompileFailed(0x07);
    }

    // ---------------------------------------------------------------- hash to G1
    /// @notice H(dst, message), try-and-increment (see the library's notice). About two tries
    /// on average, each a keccak and a modexp.
    function hashToG1(bytes32 dst, bytes32 message) internal view returns (G1Point memory) {
        for (uint256 ctr; ctr < 256; ++ctr) {
            uint256 x = _candidateX(dst, message, ctr);
            uint256 rhs = _curveRhs(x);
            uint256 y = _sqrtCandidate(rhs);
            if (mulmod(y, y, P) == rhs) return G1Point(x, y <= P - y ? y : P - y);
        }
        // Unreachable in practice: each counter fails independently with probability about 1/2.
        assert(false);
    }

    /// @notice hashToG1(dst, message) checked from a witness instead of computed: one mulmod per
    /// counter instead of one modexp. `roots` has one entry per counter up to the first that
    /// works: for a counter that fails, a square root of -(x^3 + 3) (it exists iff x^3 + 3 is a
    /// non-zero non-residue, since -1 is a non-residue mod P = 3 mod 4), so the witness proves
    /// that the counter fails; for the last, a square root of x^3 + 3 (either sign). The result
    /// is exactly hashToG1's; a wrong witness reverts InvalidHashHint(counter).
    function hashToG1WithHint(bytes32 dst, bytes32 message, uint256[] calldata roots)
        internal
        pure
        returns (G1Point memory)
    {
        uint256 last = roots.length;
        if (last == 0 || last > 256) revert InvalidHashHint(last);
        // last >= 1 here.
        unchecked {
            --last;
        }
        for (uint256 ctr; ctr < last; ++ctr) {
            uint256 rhs = _curveRhs(_candidateX(dst, message, ctr));
            uint256 r = roots[ctr];
            if (rhs == 0 || mulmod(r, r, P) != P - rhs) revert InvalidHashHint(ctr);
        }
        uint256 x = _candidateX(dst, message, last);
        uint256 y = roots[last] % P;
        if (mulmod(y, y, P) != _curveRhs(x)) revert InvalidHashHint(last);
        return G1Point(x, y <= P - y ? y : P - y);
    }

    /// @dev x^3 + 3 mod P.
    function _curveRhs(uint256 x) private pure returns (uint256) {
        return addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
    }

    function _candidateX(bytes32 dst, bytes32 message, uint256 ctr) private pure returns (uint256 x) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, dst)
            mstore(add(m, 0x20), message)
            mstore8(add(m, 0x40), ctr)
            x := mod(keccak256(m, 0x41), P)
        }
    }

    /// @dev rhs^((P+1)/4) mod P with the modexp precompile.
    function _sqrtCandidate(uint256 rhs) private view returns (uint256 y) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), rhs)
            mstore(add(m, 0x80), _SQRT_EXPONENT)
            mstore(add(m, 0xa0), P)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            y := mload(m)
        }
        if (!ok) revert PrecompileFailed(0x05);
    }

    // ---------------------------------------------------------------- the check
    /// @notice The aggregate check of the library's notice. `callOk` is false when the pairing
    /// precompile rejected its input (apk2 not on the twist or not in the subgroup): an invalid
    /// key, not a false signature. Every G1 input must be a valid point or infinity.
    function pairingCheck(G1Point memory sigma, G1Point memory apk1, G2Point memory apk2, G1Point memory h)
        internal
        view
        returns (bool callOk, bool valid)
    {
        uint256 gamma = uint256(keccak256(abi.encode(sigma, apk1, apk2, h))) % R;
        G1Point memory a = add(sigma, mul(apk1, gamma));
        G1Point memory b = add(h, mul(G1Point(1, 2), gamma));
        uint256[12] memory input = [
            a.x,
            a.y,
            _NEG_G2_X_IM,
            _NEG_G2_X_RE,
            _NEG_G2_Y_IM,
            _NEG_G2_Y_RE,
            b.x,
            b.y,
            apk2.x[0],
            apk2.x[1],
            apk2.y[0],
            apk2.y[1]
        ];
        uint256 out;
        assembly ("memory-safe") {
            callOk := staticcall(gas(), 0x08, input, 0x180, 0x00, 0x20)
            out := mload(0x00)
        }
        valid = callOk && out == 1;
    }
}
