// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CodeStore
/// @notice Immutable data kept as the code of a contract: `new CodeStore(data)` deploys `data`
/// behind a STOP byte (so calling the store does nothing); byte i of the data is byte i + 1 of
/// the store's code, read back with EXTCODECOPY. Writing costs 200 gas a byte, once; reading
/// costs 2,600 gas for the first access to the store in a transaction and 3 a word after that,
/// where storage costs 2,100 gas for every cold word.
/// @dev The OracleHub keeps each BLS committee's keys in one: a report reads the aggregate key
/// and the non-signers' keys, which from storage would cost 4,200 gas each (two cold slots).
contract CodeStore {
    constructor(bytes memory data) {
        bytes memory code = abi.encodePacked(hex"00", data);
        assembly ("memory-safe") {
            return(add(code, 0x20), mload(code))
        }
    }
}
