"""The wallet scripts (scripts/provider.py, market.py, admin.py) driven through their click
commands against the session's deployed suite.

The scripts find the suite through load_suite(), which reads deployments/<network>.json: the
`deployment` fixture writes the test suite's record to a temporary file and points
scripts._deploy.deployment_path at it. ConnectedProviderCommand would connect to the default
network (a fresh anvil with host "auto"); passing the connected test provider as ctx.obj makes
it reuse that connection (ape.cli.commands.parse_network), so the commands run on the test chain.
"""

import json
import re
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import click
import h3
import pytest
from aiohttp import web
from ape import chain, networks
from click.testing import CliRunner
from eth_account import Account
from plinth_testlib import (
    COMPUTE,
    REGION,
    STORAGE,
    NodeKey,
    active_node,
    advance_seconds,
    advance_to_epoch,
    fund,
    make_report,
    register,
    serving,
    settle_release,
    stake,
    submit,
)

import scripts._deploy as deploy_mod
from oracle.agent import Settings, create_app
from oracle.protocol import wire
from oracle.protocol.eip712 import SlashRequest
from oracle.protocol.hardware import NodeKind
from oracle.protocol.merkle import ChunkTree
from scripts import admin as admin_script
from scripts import market as market_script
from scripts import provider as provider_script
from scripts._cli import fmt_amount, parse_amount, parse_size, send
from scripts._deploy import TOKEN

# Ape's CLI names test accounts TEST::N; the fixtures' roles are test accounts too.
DEPLOYER, GUARDIAN, PROVIDER, PROVIDER2, CUSTOMER, OUTSIDER = (
    "TEST::0",
    "TEST::1",
    "TEST::3",
    "TEST::4",
    "TEST::5",
    "TEST::10",
)


@pytest.fixture
def deployment(suite, tmp_path, monkeypatch):
    """The test suite's deployment record where load_suite() looks for it."""
    path = tmp_path / "local.json"
    path.write_text(json.dumps({"chain_id": chain.chain_id, "contracts": suite.addresses}))
    monkeypatch.setattr(deploy_mod, "deployment_path", lambda network_name=None: path)
    return path


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text("correct horse battery staple\n")
    return path


def run(cli, *args, expect_ok=True, input=None):
    """Invokes a script's click group in the already-connected test provider."""
    result = CliRunner().invoke(
        cli, [str(a) for a in args], obj={"provider": networks.provider}, input=input
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert (result.exit_code == 0) == expect_ok, result.output
    return result.output


def last_node(suite) -> str:
    return suite.registry.nodeAt(suite.registry.nodeCount() - 1)


# ---------------------------------------------------------------------------- helpers


def test_amount_and_size_parsing():
    assert parse_amount("10000") == 10_000 * TOKEN
    assert parse_amount("12,345.5 PLN") == 12_345_500_000_000_000_000_000
    assert parse_amount("7wei") == 7
    assert fmt_amount(12_345_500_000_000_000_000_000) == "12,345.5 PLN"
    assert fmt_amount(1) == "0.000000000000000001 PLN"
    assert parse_size("500GiB") == 500 << 30
    assert parse_size("2TB") == 2 * 10**12
    for bad in ("-1", "1.0000000000000000001", "abc", "0"):
        with pytest.raises(click.BadParameter, match=r"amount|decimals|positive"):
            parse_amount(bad)


# ---------------------------------------------------------------------------- provider


def test_register_refuses_a_gpu_count_or_class_no_challenge_can_prove():
    """Refused before anything is sent, with the reason: a claim the compute proof cannot
    check would only earn nothing."""
    from oracle.protocol.hardware import NodeKind

    def claim(**kw):
        args = {"gpu_model": "H100-SXM", "gpu_count": 8, "hw_class": 3, "capacity": None,
                "lat": None, "lon": None, "h3_cell": None, "tx_power_dbm": None,
                "antenna_gain_dbi": None, **kw}  # fmt: skip
        return provider_script.build_claim(NodeKind.COMPUTE, *args.values())

    assert claim().gpu_count == 8 and claim().hw_class == 3
    with pytest.raises(click.BadParameter, match="proves at most 64 GPUs"):
        claim(gpu_count=65_535)
    with pytest.raises(click.BadParameter, match="one of the classes 0 cpu"):
        claim(hw_class=9)


def test_register_stake_activate_price_status(
    deployment, suite, deployer, provider, tmp_path, password_file
):
    fund(suite, deployer, provider, 20_000)
    key_file = tmp_path / "node-key.json"
    out = run(
        provider_script.cli,
        "register",
        "--kind",
        "compute",
        "--gpu-model",
        "H100-SXM",
        "--gpu-count",
        8,
        "--region",
        REGION,
        "--endpoint",
        "http://127.0.0.1:9000",
        "--save-key",
        key_file,
        "--password-file",
        password_file,
        "--account",
        PROVIDER,
    )
    node = last_node(suite)
    assert f"New node key {node} saved encrypted" in out and "confirmed in block" in out
    # The saved keystore is the node key, encrypted with the password.
    key = Account.decrypt(json.loads(key_file.read_text()), "correct horse battery staple")
    assert Account.from_key(key).address == node
    assert suite.registry.ownerOf(node) == provider.address

    out = run(provider_script.cli, "stake", node, "10000", "--account", PROVIDER)
    assert "approving 10,000 PLN first" in out and "Ready to activate" in out
    assert suite.vault.bondedOf(node) == 10_000 * TOKEN

    out = run(provider_script.cli, "activate", node, "--account", PROVIDER)
    assert f"Node {node} is Active" in out
    run(provider_script.cli, "price", node, "250.5", "--account", PROVIDER)
    assert suite.market.priceOf(node) == 250_500_000_000_000_000_000

    out = run(provider_script.cli, "status", node)
    assert "Active (eligible" in out and "8 x H100-SXM" in out
    assert "10,000 PLN (minimum 10,000 PLN)" in out and "250.5 PLN per epoch" in out
    out = run(provider_script.cli, "status", "--account", PROVIDER)
    assert node in out and "compute" in out and "Active" in out


def test_register_wireless_from_keystore_and_key_reuse(
    deployment, suite, provider, provider2, tmp_path, password_file
):
    node_key = Account.create()
    keystore = tmp_path / "wireless.json"
    keystore.write_text(json.dumps(Account.encrypt(node_key.key, "correct horse battery staple")))
    args = (
        "register",
        "--kind",
        "wireless",
        "--lat",
        "37.7749",
        "--lon",
        "-122.4194",
        "--region",
        REGION,
        "--endpoint",
        "https://hotspot.example:8443",
        "--node-key",
        keystore,
        "--password-file",
        password_file,
    )
    run(provider_script.cli, *args, "--account", PROVIDER)
    n = suite.registry.getNode(node_key.address)
    assert n.hardware.h3Cell == int(h3.latlng_to_cell(37.7749, -122.4194, 8), 16)
    assert (n.hardware.latE6, n.hardware.txPowerDbm, n.hardware.antennaGainDbi) == (
        37_774_900,
        270,
        30,
    )

    # A key registers once: refused before anything is sent, whoever asks.
    nonce = provider2.nonce
    out = run(provider_script.cli, *args, "--account", PROVIDER2, expect_ok=False)
    assert "is already registered" in out and provider.address in out
    assert provider2.nonce == nonce
    # Options of another kind are refused.
    out = run(
        provider_script.cli,
        "register",
        "--kind",
        "storage",
        "--capacity",
        "1TiB",
        "--gpu-model",
        "H100",
        "--region",
        REGION,
        "--endpoint",
        "http://x",
        "--account",
        PROVIDER,
        expect_ok=False,
    )
    assert "--gpu-model do(es) not apply to storage nodes" in out


def test_register_storage_prompts_for_the_key_password(deployment, suite, provider, tmp_path):
    key_file = tmp_path / "storage-key.json"
    out = run(
        provider_script.cli,
        "register",
        "--kind",
        "storage",
        "--capacity",
        "500GiB",
        "--region",
        REGION,
        "--endpoint",
        "http://127.0.0.1:9001",
        "--save-key",
        key_file,
        "--account",
        PROVIDER,
        input="s3cret\ns3cret\n",
    )
    assert "Node key password" in out and "Repeat for confirmation" in out
    node = last_node(suite)
    assert suite.registry.getNode(node).hardware.capacityBytes == 500 << 30
    assert (
        Account.from_key(Account.decrypt(json.loads(key_file.read_text()), "s3cret")).address
        == node
    )
    # The key file is never overwritten.
    out = run(
        provider_script.cli,
        "register",
        "--kind",
        "storage",
        "--capacity",
        "1TB",
        "--region",
        REGION,
        "--endpoint",
        "http://127.0.0.1:9001",
        "--save-key",
        key_file,
        "--account",
        PROVIDER,
        expect_ok=False,
    )
    assert "refusing to overwrite" in out


def test_prechecks_send_nothing(deployment, suite, deployer, provider, provider2):
    node = register(suite, provider, COMPUTE)
    fund(suite, deployer, provider, 600)
    stake(suite, provider, node, 500 * TOKEN)
    nonce = provider.nonce

    out = run(provider_script.cli, "activate", node.address, "--account", PROVIDER, expect_ok=False)
    assert "500 PLN bonded, below the minimum of 10,000 PLN for compute nodes" in out
    assert f"ape run provider stake {node.address} 9500" in out
    out = run(
        provider_script.cli, "stake", node.address, "1000", "--account", PROVIDER, expect_ok=False
    )
    assert "needs 1,000 PLN but" in out and "(900 PLN short)" in out
    out = run(provider_script.cli, "withdraw", node.address, "--account", PROVIDER, expect_ok=False)
    assert "nothing unbonding" in out
    out = run(
        provider_script.cli, "unbond", node.address, "501", "--account", PROVIDER, expect_ok=False
    )
    assert "has only 500 PLN bonded" in out
    assert provider.nonce == nonce  # not one transaction was sent

    other = provider2.nonce
    out = run(
        provider_script.cli, "activate", node.address, "--account", PROVIDER2, expect_ok=False
    )
    assert f"belongs to {provider.address}" in out
    assert provider2.nonce == other


def test_unbond_withdraw_and_pending_slash(
    deployment, suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, COMPUTE, extra=2_000 * TOKEN)
    out = run(
        provider_script.cli, "unbond", node.address, "2001", "--account", PROVIDER, expect_ok=False
    )
    assert "at most 2,000 PLN can be unbonded now" in out
    out = run(provider_script.cli, "unbond", node.address, "1500", "--account", PROVIDER)
    assert "1,500 PLN unbonding; withdrawable from" in out
    out = run(provider_script.cli, "withdraw", node.address, "--account", PROVIDER, expect_ok=False)
    assert "nothing has matured yet: the next entry (1,500 PLN) matures at" in out

    # A report slashes the node: withdrawals wait for the slash, even once the entry matured.
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    slashes = (SlashRequest(node.address, 5), SlashRequest(node.address, 2))
    report, _ = make_report(suite, epoch, slashes=slashes)
    submit(suite, report, oracles[:3], sender=oracles[0])
    out = run(admin_script.cli, "slash", "execute", 1, "--account", OUTSIDER, expect_ok=False)
    assert "slash 1 is in its dispute window until" in out
    advance_seconds(suite.vault.unbondingDelay())
    out = run(provider_script.cli, "withdraw", node.address, "--account", PROVIDER, expect_ok=False)
    assert "2 slash(es) pending against node" in out and "slash 1: offline" in out
    out = run(provider_script.cli, "status", node.address)
    assert re.search(r"pending slashes +2\n", out) and "#2 missed_deadline" in out

    out = run(admin_script.cli, "slash", "list")
    assert "offline" in out and "missed_deadline" in out and "executable now" in out
    out = run(admin_script.cli, "slash", "cancel", 2, "--account", OUTSIDER, expect_ok=False)
    assert "is neither the owner" in out
    run(admin_script.cli, "slash", "cancel", 2, "--account", DEPLOYER)
    out = run(admin_script.cli, "slash", "execute", 1, "--account", OUTSIDER)
    assert "burned" in out
    assert [suite.slashing.getSlash(i).status for i in (1, 2)] == [2, 4]  # Executed, Cancelled
    assert "No pending slashes" in run(admin_script.cli, "slash", "list")
    out = run(provider_script.cli, "withdraw", node.address, "--account", PROVIDER, expect_ok=False)
    assert "1,500 PLN has matured, but the oracle hub has settled epochs up to" in out
    settle_release(suite, oracles, suite.vault.unbondingEntries(node.address)[0].releaseAt)
    before = suite.token.balanceOf(provider)
    out = run(provider_script.cli, "withdraw", node.address, "--account", PROVIDER)
    assert "Withdrew 1,500 PLN" in out
    assert suite.token.balanceOf(provider) - before == 1_500 * TOKEN


def test_claim_from_file(deployment, suite, deployer, provider, oracles, tmp_path):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    amount = 1_234 * TOKEN
    report, tree = make_report(suite, epoch, {provider.address: amount})
    submit(suite, report, oracles[:3], sender=oracles[0])
    proof_file = tmp_path / "claim.json"
    proof_file.write_text(
        json.dumps(
            {
                "epoch": epoch,
                "account": provider.address,
                "amount": str(amount),
                "proof": ["0x" + p.hex() for p in tree.proof(provider.address)],
            }
        )
    )
    before = suite.token.balanceOf(provider)
    out = run(provider_script.cli, "claim", "--from-file", proof_file, "--account", PROVIDER)
    assert "Claimed 1,234 PLN" in out
    assert suite.token.balanceOf(provider) - before == amount
    out = run(
        provider_script.cli,
        "claim",
        "--from-file",
        proof_file,
        "--account",
        PROVIDER,
        expect_ok=False,
    )
    assert "nothing to claim" in out
    out = run(
        provider_script.cli,
        "claim",
        "--epoch",
        epoch,
        "--amount",
        "1235",
        "--proof",
        json.dumps(["0x" + p.hex() for p in tree.proof(provider.address)]),
        "--account",
        PROVIDER,
        expect_ok=False,
    )
    assert "the proof does not match" in out


def test_claim_fetches_the_proof_from_an_oracle_api(deployment, suite, deployer, provider, oracles):
    """`provider claim --oracle URL`: no hand-made file; the API's answer is bounded and
    checked like a file."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    amount = 321 * TOKEN
    report, tree = make_report(suite, epoch, {provider.address: amount})
    submit(suite, report, oracles[:3], sender=oracles[0])
    answers = {
        provider.address: {
            "account": provider.address,
            "epoch": epoch,
            "amount": str(amount),
            "proof": ["0x" + p.hex() for p in tree.proof(provider.address)],
        }
    }

    async def claims(request):
        account = request.match_info["account"]
        if account.lower() == "0x" + "ee" * 20:
            return web.Response(body=b"x" * (provider_script.MAX_CLAIM_BYTES + 10))
        if account not in answers:
            return web.json_response({"error": f"{account} has no rewards"}, status=404)
        return web.json_response(answers[account])

    app = web.Application()
    app.router.add_get("/claims/{account}", claims)
    with serving(app) as url:
        before = suite.token.balanceOf(provider)
        out = run(provider_script.cli, "claim", "--oracle", url, "--account", PROVIDER)
        assert "Claimed 321 PLN" in out
        assert suite.token.balanceOf(provider) - before == amount
        out = run(provider_script.cli, "claim", "--oracle", url, "--account", "TEST::4",
                  expect_ok=False)  # fmt: skip
        assert "answered 404" in out and "has no rewards" in out
        big = "0x" + "ee" * 20
        out = run(provider_script.cli, "claim", "--oracle", url, "--for", big, "--account",
                  PROVIDER, expect_ok=False)  # fmt: skip
        assert f"sent more than {provider_script.MAX_CLAIM_BYTES} bytes" in out
    out = run(provider_script.cli, "claim", "--oracle", url, "--account", PROVIDER,
              expect_ok=False)  # fmt: skip
    assert "cannot reach the oracle" in out


def test_dispute_cancels_a_storage_slash_from_the_agents_data_or_the_file(
    deployment, suite, deployer, provider, customer, oracles, outsider, tmp_path
):
    """`provider dispute`: the chunk and its proof come from the storage agent's data_dir or
    from the lease's data file; a node that does not hold the chunk is told the slash stands
    and nothing is sent."""
    from test_slashing_manager import STORAGE_AUDIT_FAILED, open_storage_lease, report_slashes

    from oracle.agent.store import LeaseStore

    s = open_storage_lease(suite, deployer, provider, customer)
    requests = [
        SlashRequest(s.node.address, STORAGE_AUDIT_FAILED, lease_id=s.lease_id, chunk_index=i)
        for i in (1, 2, 3)
    ]
    _, ids = report_slashes(suite, oracles, *requests)
    honest, lazy = tmp_path / "honest", tmp_path / "lazy"
    LeaseStore(honest).put(s.lease_id, s.data)
    LeaseStore(lazy).put(s.lease_id, s.data, keep=lambda _l, i: i != 2)  # dropped chunk 2
    data_file = tmp_path / "data.bin"
    data_file.write_bytes(s.data)

    nonce = provider.nonce
    out = run(provider_script.cli, "dispute", ids[1], "--agent-data", lazy, "--account",
              PROVIDER, expect_ok=False)  # fmt: skip
    assert "does not hold it, so the slash stands" in out and provider.nonce == nonce
    out = run(provider_script.cli, "dispute", ids[0], "--agent-data", honest, "--account",
              PROVIDER)  # fmt: skip
    assert f"Slash {ids[0]} disputed" in out
    out = run(provider_script.cli, "dispute", ids[2], "--data", data_file, "--account",
              "TEST::10")  # fmt: skip
    assert f"Slash {ids[2]} disputed" in out
    for i in (ids[0], ids[2]):
        assert suite.slashing.getSlash(i).status == 3  # Disputed
    out = run(provider_script.cli, "dispute", ids[0], "--data", data_file, "--account",
              PROVIDER, expect_ok=False)  # fmt: skip
    assert "no longer pending" in out
    other = tmp_path / "other.bin"
    other.write_bytes(b"\x01" * len(s.data))
    out = run(provider_script.cli, "dispute", ids[1], "--data", other, "--account", PROVIDER,
              expect_ok=False)  # fmt: skip
    assert "is not lease" in out
    out = run(provider_script.cli, "dispute", 999, "--data", other, "--account", PROVIDER,
              expect_ok=False)  # fmt: skip
    assert "there is no slash 999" in out


# ---------------------------------------------------------------------------- market


def test_market_open_close_refund(deployment, suite, deployer, provider, customer):
    node = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(node.address, 100 * TOKEN, sender=provider)
    fund(suite, deployer, customer, 1_000)

    out = run(market_script.cli, "nodes", "--region", REGION)
    assert node.address in out and "100 PLN" in out
    nonce = customer.nonce
    out = run(
        market_script.cli,
        "open",
        node.address,
        "--region",
        REGION + 1,
        "--epochs",
        3,
        "--account",
        CUSTOMER,
        expect_ok=False,
    )
    assert f"is in region {REGION}, not region {REGION + 1}" in out
    out = run(
        market_script.cli,
        "open",
        node.address,
        "--region",
        REGION,
        "--epochs",
        20,
        "--account",
        CUSTOMER,
        expect_ok=False,
    )
    assert "needs 2,000 PLN" in out and "(1,000 PLN short)" in out
    assert customer.nonce == nonce

    before = suite.token.balanceOf(customer)
    out = run(
        market_script.cli,
        "open",
        node.address,
        "--region",
        REGION,
        "--epochs",
        3,
        "--account",
        CUSTOMER,
    )
    assert "approving 300 PLN first" in out and "300 PLN in escrow" in out
    lease_id = suite.market.leaseCount()
    assert suite.token.balanceOf(customer) == before - 300 * TOKEN
    out = run(market_script.cli, "status", "--account", CUSTOMER)
    assert f"starts in epoch {suite.market.getLease(lease_id).startEpoch}" in out

    out = run(market_script.cli, "close", lease_id, "--account", OUTSIDER, expect_ok=False)
    assert f"lease {lease_id} is not yours" in out
    out = run(market_script.cli, "close", lease_id, "--account", CUSTOMER)
    assert "refunded 300 PLN" in out
    assert suite.token.balanceOf(customer) == before
    out = run(market_script.cli, "close", lease_id, "--account", CUSTOMER, expect_ok=False)
    assert f"lease {lease_id} is closed" in out


def test_market_settle_waits_for_the_hub_and_refunds_failed_epochs(
    deployment, suite, deployer, provider, customer, oracles
):
    """`market settle` pays only epochs the oracle hub settled, and says which epochs the node
    failed (refunded to the customer)."""
    from dataclasses import replace

    from plinth_testlib import advance_to_epoch, make_report, submit

    node = active_node(suite, deployer, provider, COMPUTE)
    suite.market.setPrice(node.address, 100 * TOKEN, sender=provider)
    fund(suite, deployer, customer, 1_000)
    suite.token.approve(suite.market.address, 200 * TOKEN, sender=customer)
    suite.market.openLease(node.address, REGION, 2, 100 * TOKEN, b"\x00" * 32, 0, sender=customer)
    lease_id = suite.market.leaseCount()
    start = suite.market.getLease(lease_id).startEpoch
    advance_to_epoch(suite, start + 2)
    out = run(market_script.cli, "settle", lease_id, "--account", CUSTOMER)
    assert "has not settled it" in out and suite.market.escrowOf(lease_id) == 200 * TOKEN
    report, _ = make_report(suite, start + 1)
    report = replace(report, failed_nodes=(node.address,), failed_demand=100 * TOKEN)
    submit(suite, report, oracles[:3], sender=oracles[0])
    before = suite.token.balanceOf(customer)
    out = run(market_script.cli, "status", lease_id)
    assert "1 failed epoch(s) refunded to the customer" in out
    out = run(market_script.cli, "settle", lease_id, "--account", CUSTOMER)
    assert f"The node failed epoch(s) {start + 1}" in out and "Refunded 100 PLN" in out
    assert suite.token.balanceOf(customer) - before == 100 * TOKEN


@contextmanager
def serving_agent(settings):
    """The storage agent, as a provider runs it, on a free local port in a thread of its own
    (the CLI under test is synchronous); its leases are read from the test chain."""
    with serving(create_app(settings)) as url:
        yield url


def test_market_storage_lease_uploads_the_data_to_the_node_signed(
    deployment, suite, deployer, provider, customer, tmp_path
):
    key = NodeKey.create()
    settings = Settings(node_key=key.key, kind=NodeKind.STORAGE, chain_id=chain.chain_id,
                        data_dir=tmp_path / "agent", rpc_url=chain.provider.uri,
                        marketplace=suite.market.address)  # fmt: skip
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 10)  # 2,560 bytes: three chunks
    root = ChunkTree.from_data(data.read_bytes()).root
    with serving_agent(settings) as url:
        node = active_node(suite, deployer, provider, STORAGE, node=key, endpoint=url)
        suite.market.setPrice(node.address, 10 * TOKEN, sender=provider)
        fund(suite, deployer, customer, 100)
        out = run(market_script.cli, "open", node.address, "--region", REGION, "--epochs", 2,
                  "--data", data, "--account", CUSTOMER)  # fmt: skip
        assert f"data root 0x{root.hex()}" in out and "2,560 bytes in 3 chunks" in out
        assert "Stored by node" in out and "its signed receipt: 3 chunks" in out
        lease_id = suite.market.leaseCount()
        lease = suite.market.getLease(lease_id)
        assert bytes(lease.dataRoot) == root and lease.dataSize == 2_560
        # again (a node that lost it): the same receipt
        assert "Stored by node" in run(market_script.cli, "upload", lease_id, data,
                                       "--account", CUSTOMER)  # fmt: skip
        other = tmp_path / "other.bin"
        other.write_bytes(bytes(2_560))
        out = run(market_script.cli, "upload", lease_id, other, "--account", CUSTOMER,
                  expect_ok=False)  # fmt: skip
        assert f"this file is not lease {lease_id}'s data" in out
        out = run(market_script.cli, "upload", lease_id, data, "--account", OUTSIDER,
                  expect_ok=False)  # fmt: skip
        assert f"lease {lease_id} is not yours" in out
        # the customer gets the data back, checked against the lease's root
        back = tmp_path / "back.bin"
        out = run(market_script.cli, "retrieve", lease_id, "--out", back, "--account", CUSTOMER)
        assert "Wrote 2,560 bytes" in out and back.read_bytes() == data.read_bytes()
        out = run(market_script.cli, "retrieve", lease_id, "--out", back, "--account", CUSTOMER,
                  expect_ok=False)  # fmt: skip
        assert "exists (add --force" in out
        out = run(market_script.cli, "retrieve", lease_id, "--out", tmp_path / "x", "--account",
                  OUTSIDER, expect_ok=False)  # fmt: skip
        assert f"lease {lease_id} is not yours" in out
        # a node that lost a chunk sends what it has: refused, nothing written
        agent_file = next((tmp_path / "agent").glob(f"lease-{lease_id}.plinth"))
        raw = bytearray(agent_file.read_bytes())
        raw[-600] ^= 0xFF  # in the data (the last 512 bytes pad the third chunk)
        agent_file.write_bytes(bytes(raw))
        lost = tmp_path / "lost.bin"
        out = run(market_script.cli, "retrieve", lease_id, "--out", lost, "--account", CUSTOMER,
                  expect_ok=False)  # fmt: skip
        assert "are not lease" in out and not lost.exists()
        # nobody but the customer's signed, unexpired request gets the data
        stale = {
            "lease_id": lease_id,
            "expires": int(time.time()) - 1,
            "signature": "0x" + "00" * 65,
        }
        for body, code in ((stale, 403), ({**stale, "expires": int(time.time()) + 60}, 403)):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(
                    url + "/storage/fetch", data=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"}), timeout=30)  # fmt: skip
            assert refused.value.code == code
    # the node refuses anything but the customer's signed upload of exactly the lease's data
    with serving_agent(settings) as url:
        body = wire.upload_body(Account.create().key, lease_id, node.address, bytes(2_560),
                                chain.chain_id, suite.market.address)  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(
                url + "/storage/data", data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"}), timeout=30)  # fmt: skip
        assert refused.value.code == 403


# ---------------------------------------------------------------------------- admin


def test_admin_pause_unpause_committee(
    deployment, suite, deployer, provider, guardian, oracles, outsider
):
    out = run(admin_script.cli, "committee", "show")
    assert all(o.address in out for o in oracles) and "3 of 4" in out

    node = register(suite, provider, COMPUTE)
    nonce = outsider.nonce
    out = run(admin_script.cli, "pause", "all", "--account", OUTSIDER, expect_ok=False)
    assert "is neither the guardian" in out and outsider.nonce == nonce

    out = run(admin_script.cli, "pause", "market", "--account", GUARDIAN)
    assert suite.market.paused() and not suite.registry.paused()
    run(admin_script.cli, "pause", "--account", DEPLOYER)
    assert all(c.paused() for n, c in suite.contracts.items() if n != "PlinthToken")

    out = run(
        provider_script.cli, "stake", node.address, "1", "--account", PROVIDER, expect_ok=False
    )
    assert "the staking vault is paused" in out

    out = run(admin_script.cli, "unpause", "all", "--account", GUARDIAN, expect_ok=False)
    assert "is neither the owner" in out
    run(admin_script.cli, "unpause", "all", "--account", DEPLOYER)
    assert not any(c.paused() for n, c in suite.contracts.items() if n != "PlinthToken")

    members = [o.address for o in reversed(oracles)]
    out = run(
        admin_script.cli,
        "committee",
        "set",
        *members,
        "--threshold",
        2,
        "--account",
        DEPLOYER,
        expect_ok=False,
    )
    assert "must be a majority" in out
    version = suite.hub.committeeVersion()
    run(admin_script.cli, "committee", "set", *members[:3], "--threshold", 2, "--account", DEPLOYER)
    assert suite.hub.committee() == sorted(members[:3], key=lambda a: int(a, 16))
    assert suite.hub.committeeVersion() == version + 1 and suite.hub.threshold() == 2


def test_admin_committee_set_scheme_bls_when_members_registered_keys(
    deployment, suite, deployer, oracles
):
    from hexbytes import HexBytes

    from oracle.protocol import bls

    members = [o.address for o in oracles]
    out = run(admin_script.cli, "committee", "set", *members, "--threshold", 3, "--scheme", "bls",
              "--account", DEPLOYER, expect_ok=False)  # fmt: skip
    assert "no BLS key registered at the hub for" in out and suite.hub.scheme() == 0
    for o in oracles:
        sk = bls.derive_secret_key(HexBytes(o.private_key))
        pk1, pk2 = bls.public_keys(sk)
        pop = bls.prove_possession(sk, chain.chain_id, suite.hub.address, o.address)
        suite.hub.registerBlsKey(bls.g1_abi(pk1), bls.g2_abi(pk2), bls.g1_abi(pop), sender=o)
    version = suite.hub.committeeVersion()
    run(admin_script.cli, "committee", "set", *members, "--threshold", 3, "--scheme", "bls",
        "--account", DEPLOYER)  # fmt: skip
    assert suite.hub.scheme() == 1 and suite.hub.committeeVersion() == version + 1
    assert re.search(r"scheme\s+bls", run(admin_script.cli, "committee", "show"))
    # Without --scheme the hub's scheme is kept.
    run(admin_script.cli, "committee", "set", *members[:3], "--threshold", 2, "--account", DEPLOYER)
    assert suite.hub.scheme() == 1 and suite.hub.committeeVersion() == version + 2


def test_admin_params(deployment, suite, deployer, outsider):
    out = run(admin_script.cli, "params", "show")
    assert "min-stake compute" in out and "penalty offline" in out and "fee" in out
    run(admin_script.cli, "params", "set", "fee", "6%", "--account", DEPLOYER)
    assert suite.market.feeBps() == 600
    run(admin_script.cli, "params", "set", "penalty", "offline", "250", "--account", DEPLOYER)
    assert suite.slashing.penaltyBps(5) == 250
    run(admin_script.cli, "params", "set", "schedule", "kappa=0.025", "--account", DEPLOYER)
    assert suite.emissions.kappaWad() == 25 * 10**15
    # Refused, with the reason: leasing one's own node would pay (kappa must stay < fee / 2).
    out = run(admin_script.cli, "params", "set", "fee", "5%", "--account", DEPLOYER,
              expect_ok=False)  # fmt: skip
    assert "leasing one's own node earns more" in out and suite.market.feeBps() == 600
    out = run(admin_script.cli, "params", "set", "schedule", "kappa=0.03", "--account", DEPLOYER,
              expect_ok=False)  # fmt: skip
    assert "leasing one's own node earns more" in out
    out = run(admin_script.cli, "params", "set", "penalty", "offline", "6%", "--account",
              DEPLOYER, expect_ok=False)  # fmt: skip
    assert "from 0 to 500" in out
    out = run(
        admin_script.cli,
        "params",
        "set",
        "unbonding-delay",
        "60",
        "--account",
        DEPLOYER,
        expect_ok=False,
    )
    assert "would let a node withdraw before its slash lands" in out
    out = run(
        admin_script.cli, "params", "set", "fee", "7%", "--account", OUTSIDER, expect_ok=False
    )
    assert "is neither the owner" in out


def test_send_turns_contract_errors_into_readable_messages(suite, provider, provider2):
    """Errors the pre-checks did not catch (e.g. a race) still come out as sentences."""
    node = register(suite, provider, COMPUTE)
    with pytest.raises(click.ClickException) as info:
        send("activate", suite.registry.activate, node.address, sender=provider)
    assert info.value.message == (
        f"activate failed: node {node.address} has 0 PLN bonded, below the minimum of 10,000 PLN"
    )
    with pytest.raises(click.ClickException, match="does not own node"):
        send("price", suite.market.setPrice, node.address, 1, sender=provider2)


def test_admin_owner_actions_go_through_the_timelock_when_deployed_with_one(
    deployer, params, tmp_path, monkeypatch, outsider
):
    """On a timelocked deployment (config/local.toml's [governance]) `params set` schedules;
    the same command before the delay says when it can run; after it, executes."""
    from dataclasses import replace

    from plinth_testlib import advance_seconds

    from scripts._deploy import deploy_suite

    p = replace(params, governance_delay=600, proposers=("deployer",))
    s = deploy_suite(deployer, p, write=False, log=lambda *_: None)
    path = tmp_path / "local.json"
    path.write_text(json.dumps({"chain_id": chain.chain_id, "contracts": {
        **s.addresses, "PlinthTimelock": s.timelock.address}}))  # fmt: skip
    monkeypatch.setattr(deploy_mod, "deployment_path", lambda network_name=None: path)

    out = run(admin_script.cli, "params", "set", "fee", "6%", "--account", OUTSIDER,
              expect_ok=False)  # fmt: skip
    assert "not a proposer of the timelock" in out
    out = run(admin_script.cli, "params", "set", "fee", "6%", "--account", DEPLOYER)
    assert "Scheduled through the timelock" in out and s.market.feeBps() == p.fee_bps
    out = run(admin_script.cli, "governance", "pending")
    assert "Marketplace.setFee(feeBps_=600)" in out
    out = run(admin_script.cli, "params", "set", "fee", "6%", "--account", DEPLOYER)
    assert "Already scheduled" in out and s.market.feeBps() == p.fee_bps
    advance_seconds(600)
    out = run(admin_script.cli, "params", "set", "fee", "6%", "--account", OUTSIDER)
    assert "fee is now 6" in out and s.market.feeBps() == 600
    assert "Nothing is scheduled" in run(admin_script.cli, "governance", "pending")
