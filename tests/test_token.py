"""PlinthToken: hard cap, genesis mint, the one-time minter, burn, EIP-2612 permit, ownership."""

import ape
import pytest
from ape import chain, project
from eth_utils import keccak
from plinth_testlib import permit_signature

from scripts._deploy import TOKEN

CAP = 1_000 * TOKEN


@pytest.fixture
def fresh(deployer, outsider):
    """A token of its own (cap 1,000, genesis 400 to the outsider), minter not set yet."""
    return deployer.deploy(project.PlinthToken, deployer, CAP, outsider, 400 * TOKEN)


# ---------------------------------------------------------------- deployment


def test_cap_and_genesis_supply_match_params_when_deployed(suite, params, deployer):
    assert suite.token.cap() == params.cap
    assert suite.token.totalSupply() == params.genesis_supply
    assert suite.token.balanceOf(deployer) == params.genesis_supply
    assert suite.token.name() == "Plinth"
    assert suite.token.symbol() == "PLN"
    assert suite.token.decimals() == 18


def test_minter_is_emissions_controller_when_suite_deployed(suite):
    assert suite.token.minter() == suite.emissions.address


def test_constructor_mints_genesis_to_holder_when_supply_positive(fresh, outsider):
    assert fresh.totalSupply() == 400 * TOKEN
    assert fresh.balanceOf(outsider) == 400 * TOKEN
    assert fresh.cap() == CAP
    assert int(fresh.minter(), 16) == 0


def test_constructor_mints_nothing_when_genesis_supply_zero(deployer, outsider):
    token = deployer.deploy(project.PlinthToken, deployer, CAP, outsider, 0)
    assert token.totalSupply() == 0
    assert token.balanceOf(outsider) == 0


def test_constructor_reverts_when_genesis_exceeds_cap(deployer, outsider):
    with ape.reverts(project.PlinthToken.ERC20ExceededCap, increasedSupply=CAP + 1, cap=CAP):
        deployer.deploy(project.PlinthToken, deployer, CAP, outsider, CAP + 1)


def test_constructor_reverts_when_cap_zero(deployer, outsider):
    with ape.reverts(project.PlinthToken.ERC20InvalidCap, cap=0):
        deployer.deploy(project.PlinthToken, deployer, 0, outsider, 0)


# ---------------------------------------------------------------- minter


def test_setMinter_reverts_when_minter_already_set(suite, deployer, outsider):
    with ape.reverts(suite.token.MinterAlreadySet, minter=suite.emissions.address):
        suite.token.setMinter(outsider, sender=deployer)


def test_setMinter_sets_once_and_emits_when_called_by_owner(fresh, deployer, provider):
    tx = fresh.setMinter(provider, sender=deployer)
    assert fresh.minter() == provider.address
    assert [(e.event_name, e.minter) for e in tx.events] == [("MinterSet", provider.address)]
    with ape.reverts(fresh.MinterAlreadySet, minter=provider.address):
        fresh.setMinter(deployer, sender=deployer)


def test_setMinter_reverts_when_caller_not_owner(fresh, outsider):
    with ape.reverts(fresh.OwnableUnauthorizedAccount, account=outsider.address):
        fresh.setMinter(outsider, sender=outsider)


def test_setMinter_reverts_when_minter_zero(fresh, deployer):
    with ape.reverts(fresh.ERC20InvalidReceiver, receiver=ape.utils.ZERO_ADDRESS):
        fresh.setMinter(ape.utils.ZERO_ADDRESS, sender=deployer)


def test_setMinter_succeeds_when_called_by_new_owner_after_two_step_transfer(
    fresh, deployer, provider, outsider
):
    fresh.transferOwnership(provider, sender=deployer)
    # Not the owner until accepted.
    with ape.reverts(fresh.OwnableUnauthorizedAccount, account=provider.address):
        fresh.setMinter(provider, sender=provider)
    fresh.acceptOwnership(sender=provider)
    # Neither owner nor deployer (the deployer keeps only this one-time wiring).
    with ape.reverts(fresh.OwnableUnauthorizedAccount, account=outsider.address):
        fresh.setMinter(outsider, sender=outsider)
    fresh.setMinter(provider, sender=provider)
    assert fresh.minter() == provider.address


# ---------------------------------------------------------------- mint


def test_mint_reverts_when_caller_not_minter(suite, deployer, outsider):
    for caller in (deployer, outsider):
        with ape.reverts(suite.token.NotMinter, caller=caller.address):
            suite.token.mint(caller, 1, sender=caller)


def test_mint_reverts_when_no_minter_set(fresh, deployer):
    with ape.reverts(fresh.NotMinter, caller=deployer.address):
        fresh.mint(deployer, 1, sender=deployer)


def test_mint_credits_recipient_when_called_by_minter(fresh, deployer, provider, customer):
    fresh.setMinter(provider, sender=deployer)
    tx = fresh.mint(customer, 25 * TOKEN, sender=provider)
    assert fresh.balanceOf(customer) == 25 * TOKEN
    assert fresh.totalSupply() == 425 * TOKEN
    transfer = tx.events[0]
    assert transfer.event_name == "Transfer"
    assert int(transfer["from"], 16) == 0 and transfer.to == customer.address


def test_mint_reaches_cap_exactly_then_reverts_when_past_cap(fresh, deployer, provider, customer):
    fresh.setMinter(provider, sender=deployer)
    fresh.mint(customer, CAP - 400 * TOKEN, sender=provider)
    assert fresh.totalSupply() == CAP
    with ape.reverts(fresh.ERC20ExceededCap, increasedSupply=CAP + 1, cap=CAP):
        fresh.mint(customer, 1, sender=provider)


def test_mint_reverts_when_past_cap_on_suite_token(suite, accounts, params, customer):
    minter = accounts[suite.emissions.address]
    chain.set_balance(minter.address, 10**20)
    room = params.cap - suite.token.totalSupply()
    with ape.reverts(suite.token.ERC20ExceededCap, increasedSupply=params.cap + 1, cap=params.cap):
        suite.token.mint(customer, room + 1, sender=minter)
    suite.token.mint(customer, room, sender=minter)
    assert suite.token.totalSupply() == params.cap


def test_mint_cap_counts_burned_tokens_as_free_room_when_supply_burned(
    fresh, deployer, provider, outsider
):
    fresh.setMinter(provider, sender=deployer)
    fresh.mint(provider, CAP - 400 * TOKEN, sender=provider)
    fresh.burn(100 * TOKEN, sender=outsider)
    fresh.mint(provider, 100 * TOKEN, sender=provider)
    assert fresh.totalSupply() == CAP


# ---------------------------------------------------------------- burn


def test_burn_reduces_balance_and_supply_when_holder_burns(suite, deployer):
    supply = suite.token.totalSupply()
    balance = suite.token.balanceOf(deployer)
    suite.token.burn(7 * TOKEN, sender=deployer)
    assert suite.token.totalSupply() == supply - 7 * TOKEN
    assert suite.token.balanceOf(deployer) == balance - 7 * TOKEN


def test_burn_reverts_when_amount_exceeds_balance(suite, deployer, outsider):
    suite.token.transfer(outsider, 5, sender=deployer)
    with ape.reverts(
        suite.token.ERC20InsufficientBalance, sender=outsider.address, balance=5, needed=6
    ):
        suite.token.burn(6, sender=outsider)


def test_burnFrom_spends_allowance_when_approved(suite, deployer, outsider):
    supply = suite.token.totalSupply()
    suite.token.approve(outsider, 10, sender=deployer)
    with ape.reverts(
        suite.token.ERC20InsufficientAllowance, spender=outsider.address, allowance=10, needed=11
    ):
        suite.token.burnFrom(deployer, 11, sender=outsider)
    suite.token.burnFrom(deployer, 10, sender=outsider)
    assert suite.token.totalSupply() == supply - 10
    assert suite.token.allowance(deployer, outsider) == 0


# ---------------------------------------------------------------- permit


def test_domain_separator_matches_python_when_computed_off_chain(suite):
    type_hash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        type_hash
        + keccak(text="Plinth")
        + keccak(text="1")
        + chain.chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(suite.token.address[2:])
    )
    assert suite.token.DOMAIN_SEPARATOR() == expected


def test_permit_sets_allowance_and_nonce_when_signed_by_owner(suite, deployer, provider, outsider):
    suite.token.transfer(provider, 100 * TOKEN, sender=deployer)
    deadline = chain.pending_timestamp + 3600
    value = 60 * TOKEN
    v, r, s = permit_signature(suite.token, provider, outsider.address, value, deadline)
    # Anyone may relay the permit.
    suite.token.permit(provider, outsider, value, deadline, v, r, s, sender=deployer)
    assert suite.token.allowance(provider, outsider) == value
    assert suite.token.nonces(provider) == 1
    suite.token.transferFrom(provider, outsider, value, sender=outsider)
    assert suite.token.balanceOf(outsider) == value


def test_permit_reverts_when_signature_replayed(suite, provider, outsider):
    deadline = chain.pending_timestamp + 3600
    v, r, s = permit_signature(suite.token, provider, outsider.address, 5, deadline)
    suite.token.permit(provider, outsider, 5, deadline, v, r, s, sender=outsider)
    with ape.reverts(suite.token.ERC2612InvalidSigner):
        suite.token.permit(provider, outsider, 5, deadline, v, r, s, sender=outsider)


def test_permit_reverts_when_deadline_passed(suite, provider, outsider):
    deadline = chain.pending_timestamp - 1
    v, r, s = permit_signature(suite.token, provider, outsider.address, 5, deadline)
    with ape.reverts(suite.token.ERC2612ExpiredSignature, deadline=deadline):
        suite.token.permit(provider, outsider, 5, deadline, v, r, s, sender=outsider)


def test_permit_reverts_when_signed_by_another_key(suite, provider, customer, outsider):
    deadline = chain.pending_timestamp + 3600
    v, r, s = permit_signature(
        suite.token, provider, outsider.address, 5, deadline, signer_key=customer.private_key
    )
    with ape.reverts(
        suite.token.ERC2612InvalidSigner, signer=customer.address, owner=provider.address
    ):
        suite.token.permit(provider, outsider, 5, deadline, v, r, s, sender=outsider)


def test_permit_reverts_when_value_differs_from_signed(suite, provider, outsider):
    deadline = chain.pending_timestamp + 3600
    v, r, s = permit_signature(suite.token, provider, outsider.address, 5, deadline)
    with ape.reverts(suite.token.ERC2612InvalidSigner):
        suite.token.permit(provider, outsider, 6, deadline, v, r, s, sender=outsider)


def test_setMinter_by_the_deployer_when_the_owner_is_the_timelock(deployer, provider, outsider):
    """The owner is the timelock from the start; the deployer fills the minter slot once."""
    token = deployer.deploy(project.PlinthToken, outsider, CAP, outsider, 0)
    assert token.owner() == outsider.address
    token.setMinter(provider, sender=deployer)
    assert token.minter() == provider.address
    with ape.reverts(token.MinterAlreadySet, current=provider.address):
        token.setMinter(deployer, sender=deployer)
