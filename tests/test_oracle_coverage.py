"""The coverage round end to end on anvil: wireless node agents over HTTP sharing one in-process
radio medium (seeded, so the epoch is deterministic), the oracle's beacon/witness round in
challenge_epoch, scored and reported: honest wireless nodes earn, a location spoofer (truly next
to an honest node, claiming an empty site 150 km away) earns nothing, and nobody is slashed:
links that contradict a claimed position cost coverage, never stake."""

import asyncio
import json
import math
import time
from collections import Counter

import aiohttp
import h3
import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from ape import chain as ape_chain
from eth_account import Account
from eth_utils import keccak
from plinth_testlib import ECDSA, WIRELESS, NodeKey, advance_to_epoch, register, stake

from oracle.agent import Honest, Settings, create_app
from oracle.committee.build import build_report
from oracle.protocol.coverage import CoverageParams
from oracle.protocol.hardware import NodeKind
from oracle.service.chain import Chain, Deployment, load_abis
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.sim.air import airwaves_for
from oracle.sim.radio import Radio, RadioMedium

LAT0, LON0 = 37.7749, -122.4194


def at(north_m: float, east_m: float) -> tuple[float, float]:
    return (
        LAT0 + north_m / 111_195.0,
        LON0 + east_m / (111_195.0 * math.cos(math.radians(LAT0))),
    )


@pytest.mark.asyncio
async def test_coverage_round_rewards_honest_radios_and_not_a_spoofer(
    suite, deployer, provider, provider2, accounts, tmp_path
):
    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    medium = RadioMedium(np.random.default_rng(2024))
    # (name, true position, claimed position): honest nodes 1.5-2.1 km apart; the spoofer sits
    # 50 m from honest_0 and claims a site 150 km south of it, beyond any witness's reach.
    layout = [
        ("honest_0", at(0, 0), at(0, 0)),
        ("honest_1", at(1_500, 0), at(1_500, 0)),
        ("honest_2", at(0, 1_500), at(0, 1_500)),
        ("honest_3", at(1_500, 1_500), at(1_500, 1_500)),
        ("spoofer", at(50, 0), at(50 - 150_000, 0)),
    ]
    nodes, servers = {}, []
    for name, true_pos, claimed in layout:
        # Fixed keys: the medium's per-link shadowing follows the addresses (sigma 7 dB).
        key = Account.from_key(keccak(b"coverage-test-" + name.encode()))
        settings = Settings(
            node_key=bytes(key.key),
            kind=NodeKind.WIRELESS,
            chain_id=ape_chain.chain_id,
            data_dir=tmp_path / name,
            hw_class=0,
            share_window_s=0.5,
        )
        medium.place(settings.address, Radio(*true_pos))
        server = TestServer(create_app(settings, Honest(), airwaves_for(medium)), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        # Every node its own provider: one owner's nodes confirm nothing of one another.
        owner = [provider, provider2, accounts[13], accounts[14], accounts[15]][len(servers) - 1]
        node = NodeKey(settings.node_key, settings.address)
        register(
            suite,
            owner,
            WIRELESS,
            node=node,
            endpoint=str(server.make_url("")).rstrip("/"),
            h3Cell=h3.str_to_int(h3.latlng_to_cell(*claimed, 8)),
            latE6=round(claimed[0] * 1e6),
            lonE6=round(claimed[1] * 1e6),
        )
        amount = suite.registry.minStake(WIRELESS)
        suite.token.transfer(owner, amount, sender=deployer)
        stake(suite, owner, node, amount)
        suite.registry.activate(node.address, sender=owner)
        nodes[name] = node
    view = Chain(
        ape_chain.provider.uri,
        Deployment.from_record(suite.record),
        load_abis(),
    )
    from oracle.service.store import Store

    service = OracleService(
        view,
        Store(tmp_path / "oracle.sqlite"),
        oracle,
        PipelineSettings(coverage=CoverageParams(beacon_fraction=1.0, reveal_after_s=2.0)),
    )
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    async with aiohttp.ClientSession() as http:
        ran = await service.challenge_epoch(epoch, http)
        assert ran > 5  # 5 beacons, 5 witness answers and the witness reports
        assert await service.challenge_epoch(epoch, http) == 0  # once per epoch
    for server in servers:
        await server.close()

    verdicts = service.store.verdicts_of(epoch)
    reasons = sorted(Counter((v.kind, v.reason) for v in verdicts).items())
    contradicted = [v for v in verdicts if v.reason == "too_far"]
    assert contradicted and all(v.passed for v in contradicted), reasons  # nobody's failure
    assert all(v.passed for v in verdicts), reasons
    assert {v.node for v in verdicts if v.kind == "witness" and v.reason == "ok"} <= {
        nodes[n].address.lower() for n in nodes if n != "spoofer"
    }, reasons

    advance_to_epoch(suite, epoch + 1)
    build = build_report(service, epoch)
    results = {json.loads(line)["node"]: json.loads(line) for line in build.node_lines}
    by_name = {n: results[nodes[n].address.lower()] for n in nodes}
    for name in ("honest_0", "honest_1", "honest_2", "honest_3"):
        assert by_name[name]["reason"] == "ok" and by_name[name]["reward"] > 0, by_name[name]
    assert by_name["spoofer"]["reward"] == 0
    assert by_name["spoofer"]["reason"] == "witness_too_far"
    assert not build.report.slashes
    tx = service.submitter.submit(epoch, build)
    assert tx is not None and suite.hub.nextEpoch() == epoch + 1


@pytest.mark.asyncio
@pytest.mark.parametrize("chain_ahead_s", [0, 3_600, -3_600])
async def test_one_coverage_round_serves_the_whole_committee(tmp_path, chain_ahead_s):
    """Members that run the epoch's coverage round each (as a committee does) schedule the
    same beacons from the seed and the epoch's start, so no honest report is an unknown
    beacon to any of them, and they judge the same reports the same way, whether the chain's
    clock is ahead of or behind this machine's (a local chain moved forward, or left idle)."""
    from oracle.protocol.coverage import RadioClaim
    from oracle.service.challenge import Limits, challenge_coverage

    medium = RadioMedium(np.random.default_rng(7))
    members = [Account.from_key(keccak(f"coverage member {i}".encode())) for i in range(3)]
    nodes, servers = {}, []
    positions = [at(0, 0), at(1_500, 0), at(0, 1_500), at(1_500, 1_500), at(750, 750)]
    phantom = None
    for i, pos in enumerate(positions):
        key = Account.create()
        settings = Settings(node_key=bytes(key.key), kind=NodeKind.WIRELESS, chain_id=31337,
                            data_dir=tmp_path / f"w{i}", share_window_s=5.0,
                            oracles=tuple(m.address for m in members))  # fmt: skip
        # The last one is a phantom: no radio, a report of every beacon it can name.
        medium.place(settings.address, Radio(*pos, phantom=i == len(positions) - 1))
        phantom = settings.address
        server = TestServer(create_app(settings, Honest(), airwaves_for(medium)), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        nodes[settings.address] = (str(server.make_url("")).rstrip("/"), RadioClaim(*pos))
    start = float(int(time.time()) + chain_ahead_s)
    params = CoverageParams(beacon_fraction=1.0, reveal_after_s=1.5)
    async with aiohttp.ClientSession() as http:
        rounds = await asyncio.gather(
            *(
                challenge_coverage(
                    http,
                    nodes,
                    chain_id=31337,
                    epoch=12,
                    epoch_seed=b"\x05" * 32,
                    params=params,
                    limits=Limits(timeout_s=2.0),
                    start_time=start,
                    key=member,
                )
                for member in members
            )
        )
    for server in servers:
        await server.close()
    judged = [
        sorted((o.node, o.request["beacon_hash"], o.reason) for o in r if o.kind == "witness")
        for r in rounds
    ]
    assert judged[0] and judged[0] == judged[1] == judged[2]
    assert all(reason != "unknown_beacon" for _, _, reason in judged[0])
    heard = [(node, reason) for node, _, reason in judged[0] if node != phantom]
    assert heard and all(reason == "ok" for _, reason in heard), judged[0]
    fabricated = [reason for node, _, reason in judged[0] if node == phantom]
    assert len(fabricated) == 4 and set(fabricated) == {"unheard"}
    for r in rounds:
        beacons = [o for o in r if o.kind == "beacon"]
        assert len(beacons) == 5 and all(o.passed and len(o.responses) == 2 for o in beacons)
        assert all("this member's share in" in o.detail for o in beacons)  # every share in
        units = {o.node: o.coverage_micro for o in r if o.kind == "coverage"}
        assert units[phantom] == 0 and all(u > 0 for n, u in units.items() if n != phantom)


@pytest.mark.asyncio
async def test_a_beaconer_that_reveals_other_shares_than_it_took_gets_withheld(tmp_path):
    """A lying beaconer: after transmitting, it reveals a share of this member's that is not
    the one the member handed it (its signature no longer matches). The member trusts no
    secret for that beacon: the beacon is `withheld`, its reports `unverified` (no one fails)."""
    from oracle.agent.app import AGENT
    from oracle.protocol.coverage import RadioClaim
    from oracle.service.challenge import Limits, challenge_coverage

    medium = RadioMedium(np.random.default_rng(7))
    member = Account.from_key(keccak(b"coverage lying-beaconer member"))
    nodes, servers, agents = {}, [], {}
    for i, pos in enumerate([at(0, 0), at(1_500, 0)]):
        settings = Settings(node_key=bytes(Account.create().key), kind=NodeKind.WIRELESS,
                            chain_id=31337, data_dir=tmp_path / f"w{i}",
                            oracles=(member.address,))  # fmt: skip
        medium.place(settings.address, Radio(*pos))
        app = create_app(settings, Honest(), airwaves_for(medium))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        agents[settings.address] = app[AGENT]
        nodes[settings.address] = (str(server.make_url("")).rstrip("/"), RadioClaim(*pos))
    liar = sorted(nodes)[0]

    async def tamper():
        agent = agents[liar]
        while not agent.beacons or not all(s.sent.is_set() for s in agent.beacons.values()):
            await asyncio.sleep(0.01)
        for state in agent.beacons.values():
            share, signature = state.shares[member.address]
            state.shares[member.address] = (keccak(share), signature)

    params = CoverageParams(beacon_fraction=1.0, reveal_after_s=1.0)
    async with aiohttp.ClientSession() as http:
        _, outcomes = await asyncio.gather(
            tamper(),
            challenge_coverage(http, nodes, chain_id=31337, epoch=3, epoch_seed=b"\x06" * 32,
                               params=params, limits=Limits(timeout_s=2.0), key=member),
        )  # fmt: skip
    for server in servers:
        await server.close()
    beacons = {o.node: o for o in outcomes if o.kind == "beacon"}
    assert (beacons[liar].passed, beacons[liar].reason) == (False, "withheld")
    assert "not signed by it" in beacons[liar].detail
    honest = next(n for n in nodes if n != liar)
    assert beacons[honest].passed
    heard_liar = [o for o in outcomes if o.kind == "witness" and o.node == honest
                  and o.reason == "unverified"]  # fmt: skip
    assert heard_liar and all(o.passed for o in heard_liar)  # the witness is not at fault
