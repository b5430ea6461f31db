"""The simulation harness behind `make demo`: many real node agents (aiohttp servers on local
ports, one shared in-process radio medium), registered and staked on-chain by their providers,
customers with paid leases and uploaded data, and the oracle service settling epochs.

Nothing is mocked on the protocol path: agents do the work they are challenged on (or cheat as
their behaviour says), the oracle challenges them over HTTP, verifies signed answers, scores,
builds and signs the report, and submits it to the hub on anvil."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import h3
import numpy as np
from aiohttp import web
from ape import accounts, chain
from eth_account import Account

from oracle.agent import Behaviour, Settings, create_app
from oracle.protocol import wire
from oracle.protocol.eip712 import sign_node_binding
from oracle.protocol.hardware import HardwareClaim, NodeKind
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree
from oracle.sim.air import airwaves_for
from oracle.sim.hostile import hostile_node_app
from oracle.sim.radio import Radio, RadioMedium
from scripts._deploy import TOKEN

REGION = 840  # the demo's region code (ISO 3166 numeric for the United States)
PRICE = {NodeKind.COMPUTE: 400, NodeKind.STORAGE: 150, NodeKind.WIRELESS: 50}  # tokens/epoch
LAT0, LON0 = 37.7749, -122.4194


def fmt(amount: int) -> str:
    """Token base units as a readable amount, e.g. '12,345.67 PLN'."""
    return f"{amount / TOKEN:,.2f} PLN"


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def at(north_m: float, east_m: float) -> tuple[float, float]:
    """A point `north_m`, `east_m` metres from the demo's origin."""
    return (LAT0 + north_m / 111_195.0, LON0 + east_m / (111_195.0 * math.cos(math.radians(LAT0))))


@dataclass
class SimNode:
    name: str
    kind: NodeKind
    behaviour: Behaviour
    owner: object  # the Ape test account that owns it
    key: bytes = field(repr=False, default=b"")
    address: str = ""
    endpoint: str = ""
    hw_class: int = 0
    claimed: tuple[float, float] | None = None  # wireless: the position registered on-chain
    true_position: tuple[float, float] | None = None
    rewards: int = 0
    slashed: int = 0
    reasons: list = field(default_factory=list)  # the reason code of each settled epoch
    hostile: bool = False  # answers with attacks on the oracle (oracle.sim.hostile)
    phantom: bool = False  # wireless without a radio: fabricates witness reports (oracle.sim.radio)

    @property
    def label(self) -> str:
        return self.behaviour.name if self.behaviour.name != "honest" else "honest"


class Network:
    """Agents, their on-chain identities and the radio medium."""

    # A simulated network's agents transmit a beacon as soon as every member's share is in, or
    # this long after the first (a member may be stopped); its members reveal after 4 s.
    SHARE_WINDOW_S = 1.0

    def __init__(self, suite, deployer, tmp_dir, say, seed: int = 2024, oracles=()):
        """`oracles`: the committee's member addresses (the wireless agents' `oracles`)."""
        self.suite, self.deployer, self.tmp, self.say = suite, deployer, tmp_dir, say
        self.oracles = tuple(oracles)
        self.medium = RadioMedium(np.random.default_rng(seed))
        self.nodes: list[SimNode] = []
        self.runners: list[web.AppRunner] = []
        self.leases: list[int] = []

    async def start(self, node: SimNode) -> None:
        key = Account.create()
        node.key, node.address = bytes(key.key), key.address
        settings = Settings(
            node_key=node.key,
            kind=node.kind,
            chain_id=chain.chain_id,
            data_dir=self.tmp / node.name,
            hw_class=node.hw_class,
            rpc_url=chain.provider.uri,  # a storage node checks uploads against its leases
            marketplace=self.suite.market.address,
            oracles=self.oracles,
            share_window_s=self.SHARE_WINDOW_S,
        )
        radio = None
        if node.kind == NodeKind.WIRELESS:
            self.medium.place(node.address, Radio(*node.true_position, phantom=node.phantom))
            radio = airwaves_for(self.medium)
        app = (
            hostile_node_app(settings)
            if node.hostile
            else create_app(settings, node.behaviour, radio)
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        node.endpoint = f"http://127.0.0.1:{port}"
        self.runners.append(runner)
        self.nodes.append(node)

    def onboard(self, node: SimNode) -> None:
        """The provider registers the node key, stakes 1.5x the minimum, activates, prices."""
        s, owner = self.suite, node.owner
        if node.kind == NodeKind.COMPUTE:
            claim = HardwareClaim.compute(
                "H100-SXM" if node.hw_class == 3 else "CPU-AVX2-16C",
                gpu_count=1,
                hw_class=node.hw_class,
            )
        elif node.kind == NodeKind.STORAGE:
            claim = HardwareClaim.storage(64 << 30)
        else:
            lat, lon = node.claimed
            claim = HardwareClaim.wireless(
                lat, lon, h3_cell=h3.str_to_int(h3.latlng_to_cell(lat, lon, 8))
            )
        sig = sign_node_binding(node.key, owner.address, chain.chain_id, s.registry.address)
        s.registry.register(
            node.address, int(node.kind), claim.as_tuple(), REGION, node.endpoint, sig, sender=owner
        )
        amount = s.registry.minStake(int(node.kind)) * 3 // 2
        s.token.approve(s.vault.address, amount, sender=owner)
        s.vault.stake(node.address, amount, sender=owner)
        s.registry.activate(node.address, sender=owner)
        s.market.setPrice(node.address, PRICE[node.kind] * TOKEN, sender=owner)

    def lease(self, customer, node: SimNode, epochs: int) -> bytes | None:
        """Opens a lease; for a storage node returns the data the customer stores there."""
        s = self.suite
        price = s.market.priceOf(node.address)
        data, root, size = None, b"\x00" * 32, 0
        if node.kind == NodeKind.STORAGE:
            data = os.urandom(48 * CHUNK_SIZE + 100)
            root, size = ChunkTree.from_data(data).root, len(data)
        s.token.approve(s.market.address, price * epochs, sender=customer)
        s.market.openLease(node.address, REGION, epochs, price, root, size, sender=customer)
        self.leases.append(s.market.leaseCount())
        return data

    async def lease_and_upload(self, http, customer, node: SimNode, epochs: int) -> None:
        """Opens a lease; a storage node's customer uploads its data (signed LeaseData: the
        node checks it against the lease on the chain)."""
        data = self.lease(customer, node, epochs)
        if data is None:
            return
        market = self.suite.market
        body = wire.upload_body(customer.private_key, market.leaseCount(), node.address, data,
                                chain.chain_id, market.address)  # fmt: skip
        async with http.post(f"{node.endpoint}/storage/data", json=body) as r:
            r.raise_for_status()
            answer = await r.json()
        # The node's DataReceipt goes on the chain: it cannot later say it never had the data.
        receipt = bytes.fromhex(json.loads(answer["payload"])["receipt"][2:])
        market.confirmData(market.leaseCount(), receipt, sender=customer)

    def settle_leases(self) -> None:
        for lease_id in self.leases:
            self.suite.market.settle(lease_id, sender=self.deployer)

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


def test_account(spec: str):
    if not spec.startswith("test:"):
        raise ValueError(f"the local demo signs with test keys; {spec} is not one")
    return accounts.test_accounts[int(spec[5:])]
