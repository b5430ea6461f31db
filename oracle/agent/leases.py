"""What a storage agent knows of its leases: the terms the Marketplace records (customer, node,
data root and size), read from the chain with one `eth_call` of `getLease(uint256)` over
JSON-RPC (aiohttp and eth-abi: the agent needs no web3). The app gets its `Leases` as a
dependency: `ChainLeases` in a deployment, a table in the simulation's chain-less benches."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from eth_abi import decode
from eth_utils import keccak, to_checksum_address

GET_LEASE = keccak(b"getLease(uint256)")[:4]
LEASE_TUPLE = "(address,address,uint16,uint64,uint64,uint64,bool,uint128,uint16,bytes32,uint64)"
ZERO_ADDRESS = "0x" + "00" * 20


class LeaseLookupError(RuntimeError):
    """The chain could not be asked (unreachable RPC, an error answer): not "no such lease"."""


@dataclass(frozen=True)
class LeaseTerms:
    lease_id: int
    customer: str  # checksummed
    node: str  # checksummed
    data_root: bytes
    data_size: int
    end_epoch: int
    closed: bool


class Leases(Protocol):
    async def lease(self, lease_id: int) -> LeaseTerms | None:
        """The lease's terms, None if there is no such lease; LeaseLookupError if unknown."""


class ChainLeases:
    """Leases as the Marketplace at `marketplace` records them, through `rpc_url`."""

    def __init__(self, rpc_url: str, marketplace: str, timeout_s: float = 10.0):
        self.rpc_url, self.marketplace = rpc_url, to_checksum_address(marketplace)
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def lease(self, lease_id: int) -> LeaseTerms | None:
        if not 0 <= lease_id < 2**256:
            return None
        data = GET_LEASE + lease_id.to_bytes(32, "big")
        call = {"to": self.marketplace, "data": "0x" + data.hex()}
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as http,
                http.post(self.rpc_url, json=body) as resp,
            ):
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise LeaseLookupError(f"cannot read lease {lease_id}: {exc}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("result"), str):
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise LeaseLookupError(f"eth_call getLease({lease_id}) failed: {error!r}"[:300])
        return terms_of(lease_id, answer["result"])


def terms_of(lease_id: int, result: str) -> LeaseTerms | None:
    """The terms in an ABI-encoded getLease result (0x-hex); None for an empty lease."""
    try:
        raw = bytes.fromhex(result.removeprefix("0x"))
        (lease,) = decode([LEASE_TUPLE], raw)
    except Exception as exc:  # malformed hex or ABI data from the RPC
        raise LeaseLookupError(f"getLease({lease_id}) returned no lease: {exc}") from None
    customer, node, _region, _start, end, _paid, closed, _price, _fee, root, size = lease
    if int(customer, 16) == 0:
        return None
    return LeaseTerms(lease_id, to_checksum_address(customer), to_checksum_address(node),
                      bytes(root), size, end, closed)  # fmt: skip


class TableLeases:
    """Leases from a table (lease id -> terms): the chain-less simulation's."""

    def __init__(self, table: Mapping[int, LeaseTerms] | None = None):
        self.table = dict(table or {})

    async def lease(self, lease_id: int) -> LeaseTerms | None:
        await asyncio.sleep(0)
        return self.table.get(lease_id)
