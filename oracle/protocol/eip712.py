"""EIP-712 messages the contracts verify: the committee's EpochReport (OracleHub), the node
key's NodeKeyBinding (NodeRegistry) and a storage node's DataReceipt for a lease's data
(Marketplace.confirmData); and one a storage agent verifies off-chain: the lease customer's
LeaseData, which hands a lease's data to its node (domain: the Marketplace). LeaseData and
DataReceipt have the same fields (leaseId, node, dataRoot, dataSize), each type its own name.
Encoding by eth-account; signing with eth-account (with coincurve installed, about 0.2 ms a
signature). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak, to_checksum_address

HUB_DOMAIN = ("Plinth OracleHub", "1")
REGISTRY_DOMAIN = ("Plinth NodeRegistry", "1")
MARKETPLACE_DOMAIN = ("Plinth Marketplace", "1")

SLASH_REQUEST_FIELDS = [
    {"name": "node", "type": "address"},
    {"name": "reason", "type": "uint8"},
    {"name": "leaseId", "type": "uint256"},
    {"name": "chunkIndex", "type": "uint64"},
    {"name": "evidence", "type": "bytes32"},
]
EPOCH_REPORT_FIELDS = [
    {"name": "epoch", "type": "uint64"},
    {"name": "parent", "type": "bytes32"},
    {"name": "committeeVersion", "type": "uint64"},
    {"name": "rewardsRoot", "type": "bytes32"},
    {"name": "totalRewards", "type": "uint256"},
    {"name": "resultsRoot", "type": "bytes32"},
    {"name": "slashes", "type": "SlashRequest[]"},
    {"name": "failedNodes", "type": "address[]"},
    {"name": "failedDemand", "type": "uint256"},
]
LEASE_DATA_FIELDS = [
    {"name": "leaseId", "type": "uint256"},
    {"name": "node", "type": "address"},
    {"name": "dataRoot", "type": "bytes32"},
    {"name": "dataSize", "type": "uint64"},
]
DATA_REQUEST_FIELDS = [
    {"name": "leaseId", "type": "uint256"},
    {"name": "node", "type": "address"},
    {"name": "expires", "type": "uint64"},
]
NODE_KEY_BINDING_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "node", "type": "address"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class SlashRequest:
    node: str
    reason: int
    lease_id: int = 0
    chunk_index: int = 0
    evidence: bytes = ZERO32

    def as_tuple(self) -> tuple:
        return (self.node, self.reason, self.lease_id, self.chunk_index, self.evidence)

    def as_message(self) -> dict:
        return {
            "node": to_checksum_address(self.node),
            "reason": self.reason,
            "leaseId": self.lease_id,
            "chunkIndex": self.chunk_index,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    committee_version: int
    rewards_root: bytes
    total_rewards: int
    results_root: bytes
    slashes: tuple[SlashRequest, ...] = field(default_factory=tuple)
    parent: bytes = ZERO32  # the digest of the report this one builds on (IOracleHub)
    # Leased nodes that failed the epoch (checksummed, sorted by address): their customers are
    # refunded for it; failed_demand is what those leases pay for the epoch.
    failed_nodes: tuple[str, ...] = ()
    failed_demand: int = 0

    def as_tuple(self) -> tuple:
        """The struct as the contract's ABI takes it."""
        return (
            self.epoch,
            self.parent,
            self.committee_version,
            self.rewards_root,
            self.total_rewards,
            self.results_root,
            [s.as_tuple() for s in self.slashes],
            list(self.failed_nodes),
            self.failed_demand,
        )

    def as_message(self) -> dict:
        return {
            "epoch": self.epoch,
            "parent": self.parent,
            "committeeVersion": self.committee_version,
            "rewardsRoot": self.rewards_root,
            "totalRewards": self.total_rewards,
            "resultsRoot": self.results_root,
            "slashes": [s.as_message() for s in self.slashes],
            "failedNodes": list(self.failed_nodes),
            "failedDemand": self.failed_demand,
        }


def _domain(name_version: tuple[str, str], chain_id: int, contract: str) -> dict:
    name, version = name_version
    return {
        "name": name,
        "version": version,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(contract),
    }


def report_message(report: EpochReport, chain_id: int, hub: str) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": _DOMAIN_FIELDS,
                "EpochReport": EPOCH_REPORT_FIELDS,
                "SlashRequest": SLASH_REQUEST_FIELDS,
            },
            "primaryType": "EpochReport",
            "domain": _domain(HUB_DOMAIN, chain_id, hub),
            "message": report.as_message(),
        }
    )


def node_binding_message(owner: str, node: str, chain_id: int, registry: str) -> SignableMessage:
    return encode_typed_data(
        full_message={
            "types": {"EIP712Domain": _DOMAIN_FIELDS, "NodeKeyBinding": NODE_KEY_BINDING_FIELDS},
            "primaryType": "NodeKeyBinding",
            "domain": _domain(REGISTRY_DOMAIN, chain_id, registry),
            "message": {"owner": to_checksum_address(owner), "node": to_checksum_address(node)},
        }
    )


def lease_data_message(
    lease_id: int, node: str, data_root: bytes, data_size: int, chain_id: int, marketplace: str,
    primary_type: str = "LeaseData",
) -> SignableMessage:  # fmt: skip
    """The customer's LeaseData (or, with primary_type="DataReceipt", the node's receipt)."""
    if primary_type not in ("LeaseData", "DataReceipt"):
        raise ValueError(f"not a lease message type: {primary_type}")
    return encode_typed_data(
        full_message={
            "types": {"EIP712Domain": _DOMAIN_FIELDS, primary_type: LEASE_DATA_FIELDS},
            "primaryType": primary_type,
            "domain": _domain(MARKETPLACE_DOMAIN, chain_id, marketplace),
            "message": {
                "leaseId": lease_id,
                "node": to_checksum_address(node),
                "dataRoot": data_root,
                "dataSize": data_size,
            },
        }
    )


def sign_lease_data(
    customer_key, lease_id: int, node: str, data_root: bytes, data_size: int, chain_id: int,
    marketplace: str,
) -> bytes:  # fmt: skip
    """The lease customer's 65-byte signature handing `lease_id`'s data (root and size as the
    lease records them) to `node`."""
    message = lease_data_message(lease_id, node, data_root, data_size, chain_id, marketplace)
    return bytes(Account.sign_message(message, customer_key).signature)


def lease_data_signer(
    signature: bytes, lease_id: int, node: str, data_root: bytes, data_size: int, chain_id: int,
    marketplace: str,
) -> str | None:  # fmt: skip
    """The address that signed the LeaseData, or None for a signature that recovers nothing."""
    message = lease_data_message(lease_id, node, data_root, data_size, chain_id, marketplace)
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # any malformed signature: eth-keys raises several types
        return None


def data_request_message(
    lease_id: int, node: str, expires: int, chain_id: int, marketplace: str
) -> SignableMessage:
    """The customer's DataRequest: `node` may hand `lease_id`'s data to whoever shows it, until
    the unix time `expires` (checked by the storage agent, off-chain; domain: the Marketplace)."""
    return encode_typed_data(
        full_message={
            "types": {"EIP712Domain": _DOMAIN_FIELDS, "DataRequest": DATA_REQUEST_FIELDS},
            "primaryType": "DataRequest",
            "domain": _domain(MARKETPLACE_DOMAIN, chain_id, marketplace),
            "message": {"leaseId": lease_id, "node": to_checksum_address(node), "expires": expires},
        }
    )


def data_request_signer(
    signature: bytes, lease_id: int, node: str, expires: int, chain_id: int, marketplace: str
) -> str | None:
    """The address that signed the DataRequest, or None for a signature that recovers nothing."""
    message = data_request_message(lease_id, node, expires, chain_id, marketplace)
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # any malformed signature: eth-keys raises several types
        return None


def sign_data_receipt(
    node_key, lease_id: int, data_root: bytes, data_size: int, chain_id: int, marketplace: str
) -> bytes:
    """The node's 65-byte receipt for a lease's data (Marketplace.confirmData)."""
    node = Account.from_key(node_key).address
    message = lease_data_message(
        lease_id, node, data_root, data_size, chain_id, marketplace, "DataReceipt"
    )
    return bytes(Account.sign_message(message, node_key).signature)


def data_receipt_signer(
    signature: bytes, lease_id: int, node: str, data_root: bytes, data_size: int, chain_id: int,
    marketplace: str,
) -> str | None:  # fmt: skip
    """The address that signed the DataReceipt, or None for a signature that recovers nothing."""
    message = lease_data_message(
        lease_id, node, data_root, data_size, chain_id, marketplace, "DataReceipt"
    )
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # any malformed signature: eth-keys raises several types
        return None


def data_receipt_digest(
    lease_id: int, node: str, data_root: bytes, data_size: int, chain_id: int, marketplace: str
) -> bytes:
    """Marketplace.dataReceiptDigest(leaseId), computed off-chain."""
    return digest_of(
        lease_data_message(
            lease_id, node, data_root, data_size, chain_id, marketplace, "DataReceipt"
        )
    )


def digest_of(message: SignableMessage) -> bytes:
    """The 32-byte hash that is signed: keccak256(0x19 || 0x01 || domainSeparator || structHash)."""
    return keccak(b"\x19" + message.version + message.header + message.body)


def report_digest(report: EpochReport, chain_id: int, hub: str) -> bytes:
    return digest_of(report_message(report, chain_id, hub))


def sign_report(private_key, report: EpochReport, chain_id: int, hub: str) -> tuple[str, bytes]:
    """(signer address, 65-byte r|s|v signature) over the report."""
    signed = Account.sign_message(report_message(report, chain_id, hub), private_key)
    return Account.from_key(private_key).address, bytes(signed.signature)


def sign_node_binding(node_private_key, owner: str, chain_id: int, registry: str) -> bytes:
    """The node key's consent to be registered by `owner` (NodeRegistry.register)."""
    message = node_binding_message(
        owner, Account.from_key(node_private_key).address, chain_id, registry
    )
    return bytes(Account.sign_message(message, node_private_key).signature)


def pack_signatures(signed: Iterable[tuple[str, bytes]]) -> bytes:
    """Concatenates signatures with signers in strictly increasing order, as the hub requires."""
    ordered = sorted(signed, key=lambda item: int(item[0], 16))
    for (a, _), (b, _) in pairwise(ordered):
        if int(a, 16) == int(b, 16):
            raise ValueError(f"duplicate signer {a}")
    for signer, sig in ordered:
        if len(sig) != 65:
            raise ValueError(f"signature of {signer} is {len(sig)} bytes, expected 65")
    return b"".join(sig for _, sig in ordered)
