"""The proofs the oracle checks and the node agent answers: pure protocol code, no I/O."""
