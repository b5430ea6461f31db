"""A chain-less stand-in for the Marketplace's leases, for the benches that run storage agents
without a chain: one simulated customer signs every upload, and each agent reads its leases
from a table (oracle.agent.TableLeases) instead of the chain."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from oracle.agent import LeaseTerms, TableLeases
from oracle.protocol import wire
from oracle.protocol.merkle import ChunkTree

CUSTOMER = Account.from_key(keccak(b"plinth-sim-customer"))
MARKETPLACE = "0x" + "4d" * 20  # no contract: only the signatures' domain


def lease_terms(lease_id: int, node: str, data: bytes) -> LeaseTerms:
    """A live lease of `data` on `node`, by CUSTOMER."""
    return LeaseTerms(lease_id, CUSTOMER.address, node, ChunkTree.from_data(data).root, len(data),
                      2**63, False)  # fmt: skip


def leases_of(*terms: LeaseTerms) -> TableLeases:
    return TableLeases({t.lease_id: t for t in terms})


def upload(lease_id: int, node: str, data: bytes, chain_id: int) -> dict:
    """CUSTOMER's POST /storage/data body for the lease."""
    return wire.upload_body(CUSTOMER.key, lease_id, node, data, chain_id, MARKETPLACE)
