// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BN254} from "../lib/BN254.sol";

/// @title BN254Harness
/// @notice Test-only: exposes library BN254 so that tests/test_bls.py can compare it with
/// oracle/bls.py. Never deployed by scripts/_deploy.py.
contract BN254Harness {
    function hashToG1(bytes32 dst, bytes32 message) external view returns (BN254.G1Point memory) {
        return BN254.hashToG1(dst, message);
    }

    function hashToG1WithHint(bytes32 dst, bytes32 message, uint256[] calldata roots)
        external
        pure
        returns (BN254.G1Point memory)
    {
        return BN254.hashToG1WithHint(dst, message, roots);
    }

    function add(BN254.G1Point memory a, BN254.G1Point memory b) external view returns (BN254.G1Point memory) {
        return BN254.add(a, b);
    }

    function mul(BN254.G1Point memory p, uint256 s) external view returns (BN254.G1Point memory) {
        return BN254.mul(p, s);
    }

    function isValidG1(BN254.G1Point memory p) external pure returns (bool) {
        return BN254.isValidG1(p);
    }

    function pairingCheck(
        BN254.G1Point memory sigma,
        BN254.G1Point memory apk1,
        BN254.G2Point memory apk2,
        BN254.G1Point memory h
    ) external view returns (bool callOk, bool valid) {
        return BN254.pairingCheck(sigma, apk1, apk2, h);
    }
}
