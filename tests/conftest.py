"""Fixtures: the whole suite deployed once per session on anvil (ape-foundry), named roles.
Ape reverts the chain to a snapshot between tests, so each test starts from the same state."""

from dataclasses import replace

import pytest

from scripts._deploy import ROOT, deploy_suite, load_params


@pytest.fixture(scope="session")
def params():
    # Distinct accounts for each role, so access-control tests can tell them apart.
    # The contract tests sign as the four `oracles` below (the demo runs config's five).
    base = load_params(ROOT / "config" / "local.toml")
    return replace(
        base,
        guardian="test:1",
        treasury="test:2",
        committee=("test:6", "test:7", "test:8", "test:9"),
        # The unit tests call owner functions directly; tests/test_governance.py deploys the
        # timelocked suite the deploy script builds.
        governance_delay=None,
    )


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def treasury(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def provider(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def provider2(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def customer(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def oracles(accounts):
    """The committee of config/local.toml (test accounts 6-9), sorted by address."""
    return sorted((accounts[i] for i in range(6, 10)), key=lambda a: int(a.address, 16))


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[10]


@pytest.fixture(scope="session")
def suite(deployer, params):
    return deploy_suite(deployer, params, write=False, log=lambda *_: None)
