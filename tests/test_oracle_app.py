"""The operator's own entry point under attack: `create_app(load_settings("oracle.toml"))`, as
`plinth-oracle run` starts it, on anvil with real agents, one of them hostile (its answers are
attacks on the oracle's decoders), while an API client sends hostile requests. The oracle stays
up, answers every bad request with a 4xx, gives every honest node its verdict and settles the
epoch; the hostile node ends unrewarded and unslashed (nothing it sent proves fraud)."""

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from ape import chain as ape_chain
from eth_account import Account
from plinth_testlib import COMPUTE, ECDSA, advance_to_epoch
from test_oracle_e2e import onboard, start_agent

from oracle.agent import Settings
from oracle.app import SERVICE, create_app
from oracle.protocol.hardware import NodeKind
from oracle.service.config import load_settings
from oracle.sim.behaviours import Honest
from oracle.sim.committee import free_port
from oracle.sim.hostile import hostile_node_app

HOSTILE_REQUESTS = [
    ("GET", "/epochs/" + "9" * 40),
    ("GET", "/epochs/-1"),
    ("GET", "/epochs/%EF%BC%91"),  # a fullwidth digit, which int() would accept
    ("GET", "/epochs/1/results"),
    ("GET", "/nodes/" + "[" * 4000),
    ("GET", "/nodes/0x" + "zz" * 20),
    ("GET", "/claims/not-an-account"),
    ("POST", "/committee/epochs/1/proposal"),  # no committee here
    ("GET", "/metrics"),
    ("GET", "/health"),
]


@pytest.mark.asyncio
async def test_the_operators_oracle_settles_beside_a_hostile_node_and_hostile_clients(
    suite, deployer, provider, accounts, tmp_path
):
    operator = Account.from_key(accounts[6].private_key)
    suite.hub.setCommittee([operator.address], 1, ECDSA, sender=deployer)
    agents, honest = [], []
    for i in range(2):
        settings, url, server = await start_agent(tmp_path, f"h{i}", NodeKind.COMPUTE, Honest())
        onboard(suite, deployer, provider, COMPUTE, settings, url)
        agents.append(server)
        honest.append(settings.address.lower())
    key = Account.create()
    hostile = Settings(node_key=bytes(key.key), kind=NodeKind.COMPUTE,
                       chain_id=ape_chain.chain_id, data_dir=tmp_path / "x")  # fmt: skip
    server = TestServer(hostile_node_app(hostile), host="127.0.0.1")
    await server.start_server()
    onboard(suite, deployer, provider, COMPUTE, hostile, str(server.make_url("")).rstrip("/"))
    agents.append(server)

    home = tmp_path / "operator"
    home.mkdir()
    (home / "deployment.json").write_text(json.dumps(suite.record))
    keystore = Account.encrypt(operator.key, "pw", kdf="pbkdf2", iterations=16)
    (home / "keystore.json").write_text(json.dumps(keystore))
    (home / "password").write_text("pw")
    port = free_port()
    (home / "oracle.toml").write_text(
        f'[chain]\nrpc_url = "{ape_chain.provider.uri}"\ndeployment = "deployment.json"\n'
        'poll_interval_s = 0.2\n[operator]\nkeystore = "keystore.json"\npassword_file = '
        f'"password"\n[store]\npath = "oracle.sqlite"\n[api]\nport = {port}\n'
        "[challenges]\ncompute_device_s = 1e-6\ncompute_max_n = 64\ntimeout_s = 2.0\n"
        "backoff_s = 0.1\n"
    )
    app = create_app(load_settings(home / "oracle.toml"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    store = app[SERVICE].store
    epoch = suite.market.currentEpoch() + 1
    try:
        advance_to_epoch(suite, epoch)
        async with aiohttp.ClientSession() as http:
            statuses = {}
            for method, path in HOSTILE_REQUESTS:
                body = b"[" * 100_000 if method == "POST" else None
                async with http.request(method, base + path, data=body) as r:
                    statuses[path] = r.status
            assert all(s < 500 for s in statuses.values()), statuses
            assert statuses["/health"] == 200 and statuses["/epochs/" + "9" * 40] == 400
            await _until(lambda: (store.epoch(epoch) or {}).get("state") not in (None, "scheduled"))
            advance_to_epoch(suite, epoch + 1)
            await _until(lambda: suite.hub.nextEpoch() > epoch)
            # the hub settled it; the oracle records that once it has the receipt
            await _until(lambda: (store.submission_for(epoch) or {}).get("status") == "confirmed")
            async with http.get(f"{base}/epochs/{epoch}") as r:
                record = await r.json()
        assert record["submission"]["tx_hash"] and record["submission"]["status"] == "confirmed"
        results = {
            json.loads(line)["node"]: json.loads(line)
            for line in store.report_for(epoch)["results_file"].split(b"\n")[1:-1]
        }
        for node in honest:
            assert results[node]["reward"] > 0 and results[node]["slash_reason"] == 0
        mine = results[hostile.address.lower()]
        assert mine["reward"] == 0 and mine["slash_reason"] == 0, mine
        assert app[SERVICE].metrics["loop_errors"] == 0
    finally:
        await runner.cleanup()
        for agent in agents:
            await agent.close()


async def _until(predicate, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the oracle did not get there in time")
