"""End to end on anvil: real node agents over HTTP, the oracle pipeline (challenge, verify,
score, report, submit) through its own web3 client, rewards claimed on-chain with the proofs
of the report, dishonest nodes slashed."""

import json
import os

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from ape import chain as ape_chain
from eth_account import Account
from plinth_testlib import (
    COMPUTE,
    ECDSA,
    REGION,
    NodeKey,
    advance_to_epoch,
    fund,
    register,
    stake,
)

from oracle.agent import Settings, create_app
from oracle.committee.build import build_report
from oracle.protocol import wire
from oracle.protocol.compute import Params
from oracle.protocol.hardware import NodeKind, SlashReason
from oracle.protocol.merkle import CHUNK_SIZE, ChunkTree
from oracle.service.api import create_api
from oracle.service.chain import Chain, Deployment, load_abis
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.service.store import Store
from oracle.sim.behaviours import Honest, LazyStorage, SkipWork
from scripts._deploy import TOKEN

TINY = Params(device_s=1e-6, max_n=64)  # compute challenges of 64 rows of 64 (CPU class)


async def start_agent(tmp_path, name: str, kind: NodeKind, behaviour, marketplace=None):
    """(settings, base URL, server) of an agent serving on a free local port; a storage agent
    reads its leases from `marketplace` on the test chain."""
    key = Account.create()
    settings = Settings(
        node_key=bytes(key.key),
        kind=kind,
        chain_id=ape_chain.chain_id,
        data_dir=tmp_path / name,
        hw_class=0,
        rpc_url=ape_chain.provider.uri if marketplace else None,
        marketplace=marketplace,
    )
    server = TestServer(create_app(settings, behaviour), host="127.0.0.1")
    await server.start_server()
    return settings, str(server.make_url("")).rstrip("/"), server


def onboard(suite, deployer, owner, kind: int, settings: Settings, endpoint: str) -> NodeKey:
    node = NodeKey(settings.node_key, settings.address)
    extra = {"hwClass": 0} if kind == COMPUTE else {}
    register(suite, owner, kind, node=node, endpoint=endpoint, **extra)
    amount = suite.registry.minStake(kind)
    suite.token.transfer(owner, amount, sender=deployer)
    stake(suite, owner, node, amount)
    suite.registry.activate(node.address, sender=owner)
    return node


@pytest.mark.asyncio
async def test_oracle_settles_epochs_rewards_honest_nodes_and_slashes_cheaters(
    suite, deployer, provider, provider2, customer, accounts, tmp_path
):
    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    agents = {}
    for name, kind, behaviour in [
        ("honest_compute", NodeKind.COMPUTE, Honest()),
        ("skip_work", NodeKind.COMPUTE, SkipWork(fraction=0.5)),
        ("honest_storage", NodeKind.STORAGE, Honest()),
        ("lazy_storage", NodeKind.STORAGE, LazyStorage(fraction_kept=0.2)),
    ]:
        agents[name] = await start_agent(tmp_path, name, kind, behaviour, suite.market.address)
    owners = {
        "honest_compute": provider,
        "honest_storage": provider,
        "skip_work": provider2,
        "lazy_storage": provider2,
    }
    nodes = {
        name: onboard(suite, deployer, owners[name], int(s.kind), s, url)
        for name, (s, url, _) in agents.items()
    }
    # Customers store 40 KiB on each storage node; the agent receives the data.
    fund(suite, deployer, customer, 1_000)
    suite.token.approve(suite.market.address, 1_000 * TOKEN, sender=customer)
    async with aiohttp.ClientSession() as http:
        for name in ("honest_storage", "lazy_storage"):
            data = os.urandom(40 * CHUNK_SIZE)
            suite.market.setPrice(nodes[name].address, 10 * TOKEN, sender=owners[name])
            suite.market.openLease(
                nodes[name].address,
                REGION,
                4,
                10 * TOKEN,
                ChunkTree.from_data(data).root,
                len(data),
                sender=customer,
            )
            lease_id = suite.market.leaseCount()
            _, url, _ = agents[name]
            body = wire.upload_body(customer.private_key, lease_id, nodes[name].address, data,
                                    ape_chain.chain_id, suite.market.address)  # fmt: skip
            async with http.post(f"{url}/storage/data", json=body) as r:
                assert r.status == 200, await r.text()
        view = Chain(
            ape_chain.provider.uri,
            Deployment.from_record(suite.record),
            load_abis(),
        )
        store = Store(tmp_path / "oracle.sqlite")
        service = OracleService(view, store, oracle, PipelineSettings(compute=TINY))
        epoch = suite.market.currentEpoch() + 1  # the leases start here
        advance_to_epoch(suite, epoch)
        assert await service.challenge_epoch(epoch, http) == 4
        assert await service.challenge_epoch(epoch, http) == 0  # once per epoch

    advance_to_epoch(suite, epoch + 1)
    build = build_report(service, epoch)
    results = {json.loads(line)["node"]: json.loads(line) for line in build.node_lines}
    by_name = {n: results[nodes[n].address.lower()] for n in nodes}
    assert by_name["honest_compute"]["reward"] > 0 and by_name["honest_storage"]["reward"] > 0
    assert by_name["skip_work"]["reward"] == 0 == by_name["lazy_storage"]["reward"]
    slashed = {s.node: s for s in build.report.slashes}
    assert slashed[nodes["skip_work"].address].reason == SlashReason.INVALID_COMPUTE
    lazy = slashed[nodes["lazy_storage"].address]
    assert lazy.reason == SlashReason.STORAGE_AUDIT_FAILED and lazy.lease_id > 0
    # The lazy node's lease is refunded for the epoch; the honest node's is paid.
    assert build.report.failed_nodes == (nodes["lazy_storage"].address,)
    assert build.report.failed_demand == 10 * TOKEN

    tx = service.submitter.submit(epoch, build)
    assert tx is not None and suite.hub.nextEpoch() == epoch + 1
    assert suite.market.failedIn(nodes["lazy_storage"].address, epoch)
    assert not suite.market.failedIn(nodes["honest_storage"].address, epoch)
    lazy_lease, honest_lease = suite.market.leaseCount(), suite.market.leaseCount() - 1
    c0, p0 = suite.token.balanceOf(customer), suite.token.balanceOf(provider)
    suite.market.settle(lazy_lease, sender=customer)
    suite.market.settle(honest_lease, sender=customer)
    assert suite.token.balanceOf(customer) - c0 == 10 * TOKEN  # the lazy node's epoch
    assert suite.token.balanceOf(provider) - p0 == 10 * TOKEN * 95 // 100  # honest, less 5 %
    assert service.submitter.submit(epoch, build) is None  # already on-chain: never sent again
    assert suite.slashing.pendingSlashCount(nodes["lazy_storage"].address) == 1

    # The provider claims on-chain with what the oracle's API serves.
    api = TestServer(
        create_api(store, service.metrics, {"operator": oracle.address}, service.health)
    )
    await api.start_server()
    async with aiohttp.ClientSession(base_url=str(api.make_url(""))) as client:
        async with client.get(f"/claims/{provider.address}") as resp:
            assert resp.status == 200
            served = await resp.json()
        async with client.get(f"/nodes/{nodes['lazy_storage'].address}") as resp:
            lazy_view = (await resp.json())["epochs"][0]
        async with client.get(f"/epochs/{epoch}") as resp:
            epoch_view = await resp.json()
        async with client.get("/metrics") as resp:
            metrics_text = await resp.text()
        async with client.get("/nodes/not-an-address") as resp:
            assert resp.status == 400
    await api.close()
    assert int(served["amount"]) == build.cumulative[provider.address] and served["epoch"] == epoch
    before = suite.token.balanceOf(provider)
    suite.distributor.claim(
        epoch, provider.address, int(served["amount"]), served["proof"], sender=provider
    )
    assert suite.token.balanceOf(provider) - before == int(served["amount"])
    assert lazy_view["reason"].startswith("storage") and lazy_view["slash_reason"] == 3
    assert lazy_view["proof"]["results_root"] == "0x" + build.report.results_root.hex()
    assert epoch_view["state"] == "confirmed" and epoch_view["submission"]["status"] == "confirmed"
    assert 'plinth_oracle_challenges_total{kind="compute",result="passed"} 1.0' in metrics_text
    for _, _, server in agents.values():
        await server.close()


@pytest.mark.asyncio
async def test_runner_step_challenges_the_current_epoch_and_reports_the_ended_one(
    suite, deployer, provider, accounts, tmp_path
):
    from oracle.app import step

    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    settings, url, server = await start_agent(tmp_path, "c", NodeKind.COMPUTE, Honest())
    node = onboard(suite, deployer, provider, COMPUTE, settings, url)
    view = Chain(
        ape_chain.provider.uri,
        Deployment.from_record(suite.record),
        load_abis(),
    )
    service = OracleService(
        view, Store(tmp_path / "o.sqlite"), oracle, PipelineSettings(compute=TINY)
    )
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    async with aiohttp.ClientSession() as http:
        await step(service, http)  # challenges `epoch`; nothing has ended yet
        assert service.store.epoch(epoch)["state"] == "challenged"
        advance_to_epoch(suite, epoch + 1)
        await step(service, http)  # challenges epoch + 1, reports and submits `epoch`
        await step(service, http)  # nothing more to do: the report is on-chain once
    await server.close()
    assert suite.hub.nextEpoch() == epoch + 1
    assert service.store.epoch(epoch)["state"] == "confirmed"
    assert service.store.epoch(epoch + 1)["state"] == "challenged"
    assert service.store.node_history(node.address)[0]["reason"] == "ok"
    assert service.metrics["reports_submitted"] == 1


@pytest.mark.asyncio
async def test_runner_step_skips_a_gap_longer_than_the_hub_allows_and_reports_again(
    suite, deployer, provider, accounts, tmp_path
):
    """An oracle back after an outage of more than two MAX_EPOCH_GAPs: the hub refused every
    report (EpochGapTooLarge) forever; now the runner skips the epochs nobody reported
    (OracleHub.skipEpochs, nothing minted for them) and settles the latest one."""
    from oracle.app import step

    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    settings, url, server = await start_agent(tmp_path, "c", NodeKind.COMPUTE, Honest())
    node = onboard(suite, deployer, provider, COMPUTE, settings, url)
    view = Chain(ape_chain.provider.uri, Deployment.from_record(suite.record), load_abis())
    service = OracleService(
        view, Store(tmp_path / "o.sqlite"), oracle, PipelineSettings(compute=TINY)
    )
    start, gap = suite.hub.nextEpoch(), suite.hub.MAX_EPOCH_GAP()
    back = start + 2 * gap + 5
    advance_to_epoch(suite, back)
    supply = suite.token.totalSupply()
    async with aiohttp.ClientSession() as http:
        await step(service, http)  # skips what the hub cannot reach, challenges `back`
        advance_to_epoch(suite, back + 1)
        await step(service, http)  # reports `back`
    await server.close()
    assert suite.hub.nextEpoch() == back + 1
    assert service.store.epoch(back)["state"] == "confirmed"
    assert service.metrics["epochs_skipped"] == back - gap - start
    assert service.store.node_history(node.address)[0]["reason"] == "ok"
    # Only the reported epoch minted: the floor of `back`, or less.
    assert 0 < suite.token.totalSupply() - supply <= suite.emissions.floorOf(back)


@pytest.mark.asyncio
async def test_a_node_silent_at_the_first_sweep_is_challenged_again_later_in_the_epoch(
    suite, deployer, provider, accounts, tmp_path
):
    """Offline takes silence at two moments of the epoch. A node down during the first sweep
    (all its tries refused) and back before the recheck is challenged again and answers: it
    is not slashed. A node down at both sweeps, 4 + 4 tries, is Offline even for an oracle
    alone. The pass returns while the recheck waits, so ended epochs are not held up."""
    from oracle.service.challenge import Limits

    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    flaky, down = Honest(), Honest()
    agents = {}
    for name, behaviour in (("flaky", flaky), ("down", down)):
        settings, url, server = await start_agent(tmp_path, name, NodeKind.COMPUTE, behaviour)
        agents[name] = (onboard(suite, deployer, provider, COMPUTE, settings, url), server)
    view = Chain(ape_chain.provider.uri, Deployment.from_record(suite.record), load_abis())
    limits = Limits(timeout_s=2.0, attempts=4, backoff_s=0.05)
    service = OracleService(
        view, Store(tmp_path / "o.sqlite"), oracle,
        PipelineSettings(compute=TINY, limits=limits, recheck_after_s=1.0),
    )  # fmt: skip
    flaky.go_offline()
    down.go_offline()
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    async with aiohttp.ClientSession() as http:
        await service.challenge_current(epoch, http)  # the first sweep is done
        assert service.store.epoch(epoch)["state"] == "scheduled"  # the recheck is waiting
        flaky.go_online()
        task, _ = service._challenging[epoch]
        await task
    assert service.store.epoch(epoch)["state"] == "challenged"
    assert service.metrics["rechecked_nodes"] == 2
    by_node: dict[str, list] = {}
    for v in service.store.verdicts_of(epoch):
        by_node.setdefault(v.node, []).append(v)
    flaky_node, down_node = (agents[n][0].address.lower() for n in ("flaky", "down"))
    assert sorted((v.passed, v.reason, v.attempts) for v in by_node[flaky_node]) == [
        (False, "offline", 4),
        (True, "ok", 1),
    ]
    assert [(v.reason, v.attempts) for v in by_node[down_node]] == [("offline", 4)] * 2
    advance_to_epoch(suite, epoch + 1)
    build_report(service, epoch)
    results = {r["node"]: r for r in service.store.node_results(epoch)}
    assert results[flaky_node]["slash_reason"] == 0
    assert results[down_node]["slash_reason"] == int(SlashReason.OFFLINE)
    for _, server in agents.values():
        await server.close()
    service.store.close()
