"""oracle.service.chain against the session's deployed suite on anvil, through its own web3
client."""

import pytest
from ape import chain as ape_chain
from eth_account import Account
from plinth_testlib import (
    COMPUTE,
    REGION,
    STORAGE,
    active_node,
    advance_to_epoch,
    fund,
    make_report,
)

from oracle.protocol.eip712 import pack_signatures, sign_report
from oracle.protocol.hardware import NodeKind, NodeStatus
from oracle.service.chain import Chain, ChainError, Deployment, load_abis
from scripts._deploy import TOKEN


@pytest.fixture
def deployment(suite):
    return Deployment.from_record(suite.record)


@pytest.fixture
def view(deployment):
    return Chain(ape_chain.provider.uri, deployment, load_abis())


def test_chain_refuses_a_deployment_of_another_chain(deployment):
    other = Deployment(1, deployment.genesis, deployment.epoch_duration, deployment.addresses)
    with pytest.raises(ChainError, match=r"chain 31337.*chain 1"):
        Chain(ape_chain.provider.uri, other, load_abis())


def test_chain_refuses_a_deployment_whose_contracts_are_not_on_the_chain(deployment):
    """A deployment record of an earlier anvil: the same chain id, no code at the addresses."""
    moved = dict(deployment.addresses, OracleHub="0x" + "11" * 20)
    gone = Deployment(deployment.chain_id, deployment.genesis, deployment.epoch_duration, moved)
    with pytest.raises(ChainError, match=r"no contract at 0x1111.*\(OracleHub\).*ape run deploy"):
        Chain(ape_chain.provider.uri, gone, load_abis())


def test_chain_reports_an_unreachable_rpc_as_ChainError(deployment):
    with pytest.raises(ChainError, match="failed"):
        Chain("http://127.0.0.1:9", deployment, load_abis(), timeout_s=1)


def test_nodes_lists_registered_nodes_with_eligibility(suite, deployer, provider, view):
    node = active_node(suite, deployer, provider, COMPUTE)
    infos = {n.node: n for n in view.nodes()}
    info = infos[node.address]
    assert (info.owner, info.kind, info.status, info.eligible) == (
        provider.address,
        NodeKind.COMPUTE,
        NodeStatus.ACTIVE,
        True,
    )
    assert info.hardware.gpu_count == 1


def test_leases_and_budget_match_the_contracts(suite, deployer, provider, customer, view):
    node = active_node(suite, deployer, provider, STORAGE)
    suite.market.setPrice(node.address, 10 * TOKEN, sender=provider)
    fund(suite, deployer, customer, 100)
    suite.token.approve(suite.market.address, 30 * TOKEN, sender=customer)
    suite.market.openLease(node.address, REGION, 3, 10 * TOKEN, b"\x05" * 32, 4096, sender=customer)
    [lease] = [x for x in view.leases() if x.node == node.address]
    assert (lease.data_root, lease.data_size, lease.end_epoch - lease.start_epoch) == (
        b"\x05" * 32,
        4096,
        3,
    )
    assert lease.active_in(lease.start_epoch) and not lease.active_in(lease.end_epoch)
    epoch = view.current_epoch()
    assert view.budget(epoch) == suite.emissions.budgetOf(epoch)


def test_submit_report_lands_and_its_digest_seeds_the_next_epoch(suite, oracles, view):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch)
    sigs = pack_signatures(
        sign_report(o.private_key, report, view.chain_id, suite.hub.address) for o in oracles[:3]
    )
    submitter = Account.from_key(oracles[0].private_key)
    tx = view.submit_report(submitter, report, sigs)
    assert view.receipt(tx)["status"] == 1
    digest = view.report_digest(epoch)
    assert digest is not None and view.next_report_epoch() == epoch + 1
    advance_to_epoch(suite, epoch + 2)
    seed = view.epoch_seed(epoch + 2)
    assert len(seed) == 32 and seed == view.epoch_seed(epoch + 2)


def test_submit_report_raises_the_hubs_error_by_name_when_stale(suite, oracles, view):
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    report, _ = make_report(suite, epoch)
    sigs = pack_signatures(
        sign_report(o.private_key, report, view.chain_id, suite.hub.address) for o in oracles[:2]
    )
    with pytest.raises(ChainError, match=r"NotEnoughSignatures\(count=2, threshold=3\)"):
        view.submit_report(Account.from_key(oracles[0].private_key), report, sigs)


def test_epoch_seed_raises_when_epoch_not_started(view):
    with pytest.raises(ChainError, match="has not started"):
        view.epoch_seed(view.current_epoch() + 5)
