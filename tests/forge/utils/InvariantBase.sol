// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {vm} from "./Vm.sol";

/// @title InvariantBase
/// @notice What forge reads from an invariant test contract (the ABI of forge-std's
/// StdInvariant, which is not available here): the contracts and selectors the fuzzer may call.
abstract contract InvariantBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @dev forge marks a contract as a test contract by this function.
    function IS_TEST() public pure returns (bool) {
        return true;
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        vm.assertEq(a, b, what);
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        vm.assertLe(a, b, what);
    }

    function assertTrue(bool ok, string memory what) internal pure {
        vm.assertTrue(ok, what);
    }
}
