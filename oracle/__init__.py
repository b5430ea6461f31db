"""Plinth off-chain code: the encodings shared with the contracts (Merkle trees, EIP-712
reports), the proofs, the oracle service and the node agent."""

import importlib.util
import os

# keccak256 dominates Merkle work; eth-hash's pysha3 backend (safe-pysha3, pinned in
# requirements.lock) is several times faster than its default pycryptodome one. An explicit
# ETH_HASH_BACKEND wins; the choice only takes effect if nothing has hashed yet.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
