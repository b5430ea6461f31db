"""scripts/_deploy.py: parameter validation with clear messages, and an idempotent deployment
(a second run sends nothing; a changed parameter costs exactly its setter). The deployment file
goes to a temporary folder, never to the repository's deployments/."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from ape import chain
from hexbytes import HexBytes

import scripts._deploy as deploy_module
from oracle.protocol import bls
from scripts._deploy import (
    CONTRACTS,
    ROOT,
    TOKEN,
    WAD,
    ConfigError,
    deploy_suite,
    deployment_path,
    load_params,
    resolve_address,
)

LOCAL = ROOT / "config" / "local.toml"


def write_variant(
    tmp_path: Path, pattern: str, replacement: str, name: str = "params.toml"
) -> Path:
    """config/local.toml with the first match of `pattern` (a multiline regex) replaced."""
    text, n = re.subn(pattern, replacement, LOCAL.read_text(), count=1, flags=re.MULTILINE)
    assert n == 1, f"pattern {pattern!r} not found in {LOCAL}"
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- load_params
def test_load_params_parses_local_toml_when_valid():
    p = load_params(LOCAL)
    assert p.epoch_duration == 60 and p.genesis == "now"
    assert p.cap == 1_000_000_000 * TOKEN and p.genesis_supply == 200_000_000 * TOKEN
    assert p.min_stakes == (10_000 * TOKEN, 5_000 * TOKEN, 1_000 * TOKEN)
    assert p.penalties == (1_000, 200, 1_000, 1_500, 100)
    assert p.schedule == (10_000 * TOKEN, 99 * WAD // 100, 2 * WAD // 100, 100_000 * TOKEN)
    assert p.committee == ("test:6", "test:7", "test:8", "test:9", "test:12")
    assert p.threshold == 3
    assert p.max_slashes == 64 and p.scheme == "ecdsa" and p.source == str(LOCAL)


@pytest.mark.parametrize(
    ("pattern", "replacement", "message"),
    [
        # a missing table
        (r"^\[oracle\]$(.|\n)*", "", "missing table [oracle]"),
        (r"^\[clock\]$", "[clocks]", "missing table [clock]"),
        # a missing key
        (r"^threshold = 3$", "", "oracle: missing 'threshold'"),
        (r", offline = 100", "", "slashing.penalty_bps: missing 'offline'"),
        (r"storage = 5_000, ", "", "registry.min_stake_tokens: missing 'storage'"),
        # not an integer
        (
            r"^epoch_duration = 60 ",
            'epoch_duration = "60" ',
            "clock.epoch_duration: expected an integer, got '60'",
        ),
        (r"^fee_bps = 500 ", "fee_bps = 5.0 ", "marketplace.fee_bps: expected an integer, got 5.0"),
        (
            r"^burn_bps = 5_000 ",
            "burn_bps = true ",
            "slashing.burn_bps: expected an integer, got True",
        ),
        (
            r"compute = 10_000",
            'compute = "10000"',
            "registry.min_stake_tokens.compute: expected an integer",
        ),
        (r"^treasury = \"deployer\"", "treasury = 1", "roles.treasury: expected a string, got 1"),
        (r'^kappa = "0.02"', 'kappa = "five percent"', "emissions.kappa: not a number"),
        # other shapes
        (
            r'^genesis = "now" ',
            "genesis = -5 ",
            "clock.genesis: 'now' or a positive unix timestamp",
        ),
        (r"^committee = .*$", "committee = []", "oracle.committee: a non-empty list of addresses"),
        (r"^epoch_duration = 60 ", "epoch_duration = 0 ", "clock.epoch_duration must be positive"),
        # consistency between parameters
        (
            r"^unbonding_delay = 300 ",
            "unbonding_delay = 240 ",
            "staking.unbonding_delay (240s) must exceed two epochs plus the dispute window (240s)",
        ),
        (
            r"^dispute_window = 120 ",
            "dispute_window = 200 ",
            "staking.unbonding_delay (300s) must exceed two epochs plus the dispute window (320s)",
        ),
        (
            r"^threshold = 3$",
            "threshold = 2",
            "oracle.threshold 2 for 5 members: need n/2 < t <= n",
        ),
        (
            r"^threshold = 3$",
            "threshold = 6",
            "oracle.threshold 6 for 5 members: need n/2 < t <= n",
        ),
        (
            r"^threshold = 3$",
            "threshold = 0",
            "oracle.threshold 0 for 5 members: need n/2 < t <= n",
        ),
        (
            r'^floor_decay = "0.99"',
            'floor_decay = "1.01"',
            "emissions.floor_decay must be at most 1",
        ),
        (
            r"^genesis_tokens = 200_000_000",
            "genesis_tokens = 1_000_000_001",
            "token.genesis_tokens exceeds token.cap_tokens",
        ),
        (
            r'^scheme = "ecdsa"',
            'scheme = "schnorr"',
            "oracle.scheme: 'ecdsa' or 'bls', got 'schnorr'",
        ),
    ],
    ids=[
        "missing-table-oracle",
        "missing-table-clock",
        "missing-threshold",
        "missing-penalty",
        "missing-min-stake",
        "string-for-int",
        "float-for-int",
        "bool-for-int",
        "nested-string-for-int",
        "int-for-string",
        "kappa-not-a-number",
        "negative-genesis",
        "empty-committee",
        "zero-epoch",
        "unbonding-equal-to-minimum",
        "dispute-window-too-long",
        "threshold-half",
        "threshold-above-n",
        "threshold-zero",
        "decay-above-1",
        "genesis-above-cap",
        "unknown-scheme",
    ],
)
def test_load_params_raises_ConfigError_when_file_invalid(tmp_path, pattern, replacement, message):
    path = write_variant(tmp_path, pattern, replacement)
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (r"^unbonding_delay = 300 ", "unbonding_delay = 241 "),  # one second above the minimum
        (r'^floor_decay = "0.99"', 'floor_decay = "1"'),  # a flat floor
        (r"^genesis_tokens = 200_000_000", "genesis_tokens = 1_000_000_000"),  # all at genesis
        (r"^threshold = 3$", "threshold = 4"),  # t = n
        (r'^genesis = "now" ', "genesis = 1700000000 "),
        (r'^scheme = "ecdsa"', 'scheme = "bls"'),
    ],
    ids=[
        "unbonding-minimum+1",
        "decay-1",
        "genesis-equals-cap",
        "threshold-n",
        "genesis-timestamp",
        "scheme-bls",
    ],
)
def test_load_params_accepts_when_at_bounds(tmp_path, pattern, replacement):
    load_params(write_variant(tmp_path, pattern, replacement))


def test_load_params_raises_ConfigError_when_file_missing_or_not_toml(tmp_path):
    with pytest.raises(ConfigError, match="no such parameter file"):
        load_params(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[clock\nepoch_duration = 60\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_params(bad)


def test_resolve_address_raises_ConfigError_when_spec_invalid(accounts, deployer):
    assert resolve_address("deployer", deployer) == deployer.address
    assert resolve_address("test:3", deployer) == accounts[3].address
    assert resolve_address(accounts[5].address, deployer) == accounts[5].address
    for spec in ("alice", "0x1234", "", "0x" + "00" * 21):
        with pytest.raises(ConfigError, match="not an address"):
            resolve_address(spec, deployer)


# ---------------------------------------------------------------- deploy_suite
@pytest.fixture
def deployments(tmp_path, monkeypatch):
    """deployments/<network>.json under tmp_path instead of the repository."""
    monkeypatch.setattr(deploy_module, "ROOT", tmp_path)
    path = deployment_path()
    assert path.parent == tmp_path / "deployments"
    return path


def run(deployer, params):
    """(suite, transactions sent by the deployer, log lines) of one deploy_suite run."""
    lines: list[str] = []
    nonce = deployer.nonce
    suite = deploy_suite(deployer, params, write=True, log=lines.append)
    return suite, deployer.nonce - nonce, lines


def test_deploy_suite_sends_no_transaction_when_run_twice(deployer, params, deployments):
    start = chain.blocks.head.number
    first, sent, _ = run(deployer, params)
    assert sent == len(CONTRACTS) + 8  # eight deployments and eight wiring transactions
    record = json.loads(deployments.read_text())
    assert record["chain_id"] == chain.chain_id
    # readers (the explorer) scan the suite's logs from the block before its first contract
    assert record["from_block"] == start
    assert record["contracts"] == first.addresses
    assert set(first.addresses) == set(CONTRACTS)

    second, sent, lines = run(deployer, params)
    assert sent == 0
    assert second.addresses == first.addresses
    assert lines[-1].strip() == "nothing to do: the suite is deployed and wired"
    assert json.loads(deployments.read_text()) == record  # same genesis, same addresses
    # The deployed suite is wired as a whole.
    assert second.token.minter() == second.emissions.address
    assert second.slashing.oracleHub() == second.hub.address
    assert second.hub.threshold() == params.threshold


def test_deploy_suite_sends_one_transaction_when_only_fee_changed(deployer, params, deployments):
    first, _, _ = run(deployer, params)
    assert first.market.feeBps() == params.fee_bps == 500

    changed = replace(params, fee_bps=600)
    second, sent, lines = run(deployer, changed)
    assert sent == 1
    assert second.market.feeBps() == 600
    assert second.addresses == first.addresses
    assert any("set marketplace fee: 500 -> 600" in line for line in lines)

    _, sent, _ = run(deployer, changed)
    assert sent == 0


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"threshold": 4}, lambda s: s.hub.threshold() == 4 and s.hub.committeeVersion() == 2),
        ({"penalties": (1_000, 300, 1_000, 1_500, 100)}, lambda s: s.slashing.penaltyBps(2) == 300),
        (
            {"min_stakes": (10_000 * TOKEN, 6_000 * TOKEN, 1_000 * TOKEN)},
            lambda s: s.registry.minStake(1) == 6_000 * TOKEN,
        ),
        ({"max_slashes": 32}, lambda s: s.hub.maxSlashesPerReport() == 32),
    ],
    ids=["threshold", "one-penalty", "one-min-stake", "max-slashes"],
)
def test_deploy_suite_sends_one_transaction_when_one_parameter_changed(
    deployer, params, deployments, change, check
):
    first, _, _ = run(deployer, params)
    second, sent, _ = run(deployer, replace(params, **change))
    assert sent == 1
    assert check(second)
    assert second.addresses == first.addresses


@pytest.mark.parametrize("other_chain", [True, False], ids=["other-chain-id", "no-code-here"])
def test_deploy_suite_refuses_to_replace_a_record_of_another_chain_unless_told(
    deployer, params, deployments, other_chain
):
    """A mistyped APE_FOUNDRY_HOST made Ape start a throwaway anvil and the deploy script
    overwrote the record of the real chain; it now refuses, and --replace keeps a backup."""
    deployments.parent.mkdir(parents=True)
    stale = {
        "chain_id": chain.chain_id + (1 if other_chain else 0),
        "genesis": 1,
        "contracts": {n: "0x" + "12" * 20 for n in CONTRACTS},
    }
    deployments.write_text(json.dumps(stale))
    nonce = deployer.nonce
    with pytest.raises(ConfigError, match=r"not on this chain .* Is this the chain you meant\?"):
        deploy_suite(deployer, params, write=True, log=lambda *_: None)
    assert deployer.nonce == nonce and json.loads(deployments.read_text()) == stale
    suite = deploy_suite(deployer, params, write=True, replace=True, log=lambda *_: None)
    [backup] = deployments.parent.glob("*.json.bak")
    assert json.loads(backup.read_text()) == stale
    assert json.loads(deployments.read_text())["contracts"] == suite.record["contracts"]


def test_deploy_suite_deploys_afresh_when_told_to_replace_a_record_of_another_chain(
    deployer, params, deployments
):
    deployments.parent.mkdir(parents=True)
    stale = {
        "chain_id": chain.chain_id + 1,
        "genesis": 1,
        "contracts": {n: deployer.address for n in CONTRACTS},
    }
    deployments.write_text(json.dumps(stale))
    nonce = deployer.nonce
    deploy_suite(deployer, params, write=True, replace=True, log=lambda *_: None)
    sent = deployer.nonce - nonce
    assert sent == len(CONTRACTS) + 8
    record = json.loads(deployments.read_text())
    assert record["chain_id"] == chain.chain_id and record["genesis"] != 1
    assert deployer.address not in record["contracts"].values()


def test_deploy_suite_raises_ConfigError_when_wired_to_another_deployment(
    deployer, params, deployments
):
    first, _, _ = run(deployer, params)
    # Forget everything but the token: the new emissions controller cannot become its minter.
    record = json.loads(deployments.read_text())
    record["contracts"] = {"PlinthToken": first.token.address}
    deployments.write_text(json.dumps(record))
    with pytest.raises(
        ConfigError, match=r"token minter is wired to 0x[0-9a-fA-F]{40}, not .*: redeploy the suite"
    ):
        deploy_suite(deployer, params, write=True, log=lambda *_: None)


# ---------------------------------------------------------------- oracle.scheme = "bls"
def _derived_pk1(accounts, member: str) -> tuple[int, int]:
    account = next(a for a in accounts if a.address == member)
    sk = bls.derive_secret_key(HexBytes(account.private_key))
    return bls.g1_abi(bls.public_keys(sk)[0])


def test_deploy_suite_registers_keys_and_sets_a_bls_committee_when_scheme_bls(
    accounts, deployer, params, deployments
):
    bls_params = replace(params, scheme="bls")
    first, sent, lines = run(deployer, bls_params)
    # The hub starts ECDSA: the members' keys are registered by the members, then the
    # committee is set again with the BLS scheme.
    assert sent == len(CONTRACTS) + 8 + 1
    assert first.hub.scheme() == 1 and first.hub.committeeVersion() == 2
    members = list(first.hub.committee())
    assert sum("registered the BLS key" in line for line in lines) == len(members) == 4
    for m in members:
        assert tuple(first.hub.blsKeyOf(m)) == _derived_pk1(accounts, m)

    second, sent, lines = run(deployer, bls_params)
    assert sent == 0 and second.hub.committeeVersion() == 2
    assert lines[-1].strip() == "nothing to do: the suite is deployed and wired"


def test_deploy_suite_switches_an_ecdsa_deployment_to_bls_when_scheme_changed(
    deployer, params, deployments
):
    first, _, _ = run(deployer, params)
    assert first.hub.scheme() == 0
    second, sent, lines = run(deployer, replace(params, scheme="bls"))
    assert sent == 1 and second.hub.scheme() == 1  # setCommittee; the keys come from the members
    assert second.addresses == first.addresses
    assert any("set committee" in line for line in lines)
    third, sent, _ = run(deployer, params)
    assert sent == 1 and third.hub.scheme() == 0


def test_deploy_suite_raises_ConfigError_when_bls_member_has_no_key_and_is_not_held(
    deployer, params, deployments
):
    stranger = "0x" + "11" * 20
    bls_params = replace(params, committee=(*params.committee[:3], stranger), scheme="bls")
    with pytest.raises(ConfigError, match=f"member {stranger} has no BLS key at the hub"):
        deploy_suite(deployer, bls_params, write=True, log=lambda *_: None)


def test_scripts_wait_for_receipts_on_an_anvil_that_mines_on_a_timer(accounts):
    """The README's persistent chain runs `anvil --block-time 1`, which answers
    anvil_getAutomine false: Ape then returned receipts without a block and `ape run deploy`
    failed ("did not create a contract"). scripts._anvil (installed by every script) waits for
    the receipt on a node that mines on its own."""
    from ape import chain as ape_chain

    from scripts import _anvil

    provider = ape_chain.provider
    sender, receiver = accounts[0], accounts[1]
    assert not _anvil.mines_on_its_own(provider, wait_s=1.5)  # automine: no block without a tx
    provider.make_request("evm_setIntervalMining", [1])
    _anvil.forget()
    try:
        assert provider.make_request("anvil_getAutomine", []) is False
        receipt = sender.transfer(receiver, 1)
        assert receipt.block_number > 0 and receipt.status == 1
        assert provider.web3.eth.get_transaction_receipt(receipt.txn_hash)["blockNumber"] == (
            receipt.block_number
        )
    finally:
        provider.make_request("evm_setIntervalMining", [0])
        provider.make_request("anvil_setAutomine", [True])
        _anvil.forget()
