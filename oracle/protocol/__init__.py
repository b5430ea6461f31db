"""What the oracle and the node agent both speak, pure (no I/O, no clock reads): the EIP-712
report and the BLS messages the hub checks (`eip712`, `bls`), Merkle trees (`merkle`), signed
node responses (`envelope`), the payload formats on the wire (`wire`), the hardware claims and
enums mirrored from the contracts (`hardware`) and the three proofs (`compute`, `storage`,
`coverage`). Both `oracle.service` and `oracle.agent` import it; it imports neither."""
