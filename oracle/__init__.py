"""Plinth off-chain code: the encodings shared with the contracts (Merkle trees, EIP-712
reports), and later the oracle service and the node agent."""
