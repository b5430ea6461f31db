"""Crash safety of the oracle pipeline: a fresh process (new OracleService, same SQLite file)
after each stage neither repeats work nor reports twice; the hub gets exactly one report."""

import asyncio

import aiohttp
import pytest
from ape import chain as ape_chain
from eth_account import Account
from plinth_testlib import COMPUTE, ECDSA, advance_to_epoch
from test_oracle_e2e import onboard, start_agent

from oracle.committee.build import build_report
from oracle.protocol.compute import Params
from oracle.protocol.hardware import NodeKind
from oracle.service.chain import Chain, Deployment, load_abis
from oracle.service.challenge import Limits
from oracle.service.pipeline import OracleService, PipelineSettings
from oracle.service.store import Store
from oracle.sim.behaviours import Honest, Offline

TINY = Params(device_s=1e-6, max_n=64)  # compute challenges of 64 rows of 64 (CPU class)


@pytest.mark.asyncio
async def test_restart_after_each_stage_gives_exactly_one_report(
    suite, deployer, provider, accounts, tmp_path
):
    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    servers = []
    for i in range(2):
        settings, url, server = await start_agent(tmp_path, f"c{i}", NodeKind.COMPUTE, Honest())
        onboard(suite, deployer, provider, COMPUTE, settings, url)
        servers.append(server)
    view = Chain(
        ape_chain.provider.uri,
        Deployment.from_record(suite.record),
        load_abis(),
    )
    db = tmp_path / "oracle.sqlite"

    def process() -> OracleService:
        """A new oracle process: everything it knows comes from the store file."""
        return OracleService(view, Store(db), oracle, PipelineSettings(compute=TINY))

    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    async with aiohttp.ClientSession() as http:
        assert await process().challenge_epoch(epoch, http) == 2
        # Restart after the challenge stage: nothing is challenged again.
        assert await process().challenge_epoch(epoch, http) == 0
    for server in servers:
        await server.close()
    advance_to_epoch(suite, epoch + 1)

    first = build_report(process(), epoch)  # scored + reported, then "crash" before submitting
    again = process()
    rebuilt = build_report(again, epoch)  # restart: the same report, not a second one
    assert rebuilt.results_file == first.results_file
    assert (
        rebuilt.digest(view.chain_id, suite.hub.address) == again.store.report_for(epoch)["digest"]
    )
    tx = again.submitter.submit(epoch, rebuilt)
    assert tx is not None and suite.hub.nextEpoch() == epoch + 1

    # Restart after the transaction was sent but before its receipt was recorded: the report
    # is on-chain, so nothing is sent again and the epoch ends confirmed.
    late = process()
    with late.store.transaction() as sql:  # the state the crash left behind
        sql.execute("UPDATE epochs SET state = 'submitted' WHERE epoch = ?", (epoch,))
        sql.execute("UPDATE submissions SET status = 'pending' WHERE epoch = ?", (epoch,))
    assert late.submitter.submit(epoch, build_report(late, epoch)) is None
    assert late.store.epoch(epoch)["state"] == "confirmed"
    assert late.store.submission_for(epoch)["status"] == "confirmed"
    logs = list(suite.hub.ReportAccepted.range(0, ape_chain.blocks.head.number + 1))
    assert [log.epoch for log in logs].count(epoch) == 1


@pytest.mark.asyncio
async def test_a_crash_mid_epoch_loses_no_observation_already_written(
    suite, deployer, provider, accounts, tmp_path
):
    """Killed while one node still hangs, the oracle keeps every answer it had: a fresh process
    finds them in the store, with the node's exact bytes, and challenges only the rest."""
    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    servers, addresses = [], []
    slow = Offline(offline_mode="hang", hang_s=5.0)
    for i, behaviour in enumerate([Honest(), Honest(), slow]):
        settings, url, server = await start_agent(tmp_path, f"m{i}", NodeKind.COMPUTE, behaviour)
        onboard(suite, deployer, provider, COMPUTE, settings, url)
        servers.append(server)
        addresses.append(settings.address.lower())
    view = Chain(ape_chain.provider.uri, Deployment.from_record(suite.record), load_abis())
    db = tmp_path / "crash.sqlite"
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    settings = PipelineSettings(compute=TINY, limits=Limits(timeout_s=20.0))
    first = OracleService(view, Store(db), oracle, settings)
    async with aiohttp.ClientSession() as http:
        task = asyncio.create_task(first.challenge_epoch(epoch, http))
        for _ in range(200):  # until the two honest answers are written
            await asyncio.sleep(0.05)
            if {v.node for v in Store(db).verdicts_of(epoch)} >= set(addresses[:2]):
                break
        task.cancel()  # the crash: the hanging node's challenge never completes
        with pytest.raises(asyncio.CancelledError):
            await task
        after = Store(db)
        kept = [v for v in after.verdicts_of(epoch) if v.node in addresses]
        assert sorted(v.node for v in kept) == sorted(addresses[:2])
        assert all(v.passed and len(after.responses(v.challenge_id)) == 2 for v in kept)
        assert after.epoch(epoch)["state"] == "scheduled"

        slow.go_online()
        again = OracleService(view, Store(db), oracle, settings)
        assert await again.challenge_epoch(epoch, http) >= 1
    final = [v.node for v in Store(db).verdicts_of(epoch) if v.node in addresses]
    assert sorted(final) == sorted(addresses)  # each node challenged once: none repeated
    for server in servers:
        await server.close()


@pytest.mark.asyncio
async def test_a_stuck_report_transaction_is_replaced_with_a_higher_fee(
    suite, deployer, provider, accounts, tmp_path
):
    """The submit stage records the hash, nonce and fee before the broadcast; a transaction
    still pending on the next pass is replaced (same nonce, higher fee), and the epoch's
    record ends with the hash the hub accepted."""
    from oracle.service.chain import ChainError
    from oracle.service.submit import SubmitSettings, Submitter

    oracle = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([oracle.address], 1, ECDSA, sender=deployer)
    settings, url, server = await start_agent(tmp_path, "s0", NodeKind.COMPUTE, Honest())
    onboard(suite, deployer, provider, COMPUTE, settings, url)
    view = Chain(ape_chain.provider.uri, Deployment.from_record(suite.record), load_abis())
    service = OracleService(view, Store(tmp_path / "s.sqlite"), oracle, PipelineSettings(TINY))
    epoch = suite.market.currentEpoch() + 1
    advance_to_epoch(suite, epoch)
    async with aiohttp.ClientSession() as http:
        await service.challenge_epoch(epoch, http)
    await server.close()
    advance_to_epoch(suite, epoch + 1)
    build = build_report(service, epoch)
    submitter = Submitter(view, service.store, oracle, service.metrics,
                          SubmitSettings(receipt_timeout_s=0.5))  # fmt: skip
    rpc = ape_chain.provider.make_request
    rpc("evm_setAutomine", [False])
    try:
        with pytest.raises(ChainError):
            submitter.submit(epoch, build)  # sent, never mined
        first = service.store.submission_for(epoch)
        assert first["status"] == "sent" and first["tx_hash"] and first["nonce"] is not None
        with pytest.raises(ChainError):
            submitter.submit(epoch, build)  # still pending: replaced
        second = service.store.submission_for(epoch)
        assert second["nonce"] == first["nonce"] and second["tx_hash"] != first["tx_hash"]
        assert int(second["gas_price"]) > int(first["gas_price"])
        assert service.metrics["submit_replacements"] == 1
    finally:
        rpc("evm_setAutomine", [True])
    rpc("evm_mine", [])
    assert submitter.submit(epoch, build) is None  # mined meanwhile: nothing more to send
    record = service.store.submission_for(epoch)
    assert record["status"] == "confirmed" and record["tx_hash"] == second["tx_hash"]
    assert "0x" + view.accepted_report(epoch)[1].hex() == second["tx_hash"]
    assert service.store.epoch(epoch)["state"] == "confirmed"
