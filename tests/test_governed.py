"""Governance shared by every Plinth contract (Governed): guardian/owner pause, owner-only
unpause, guardian rotation, two-step ownership; and access control of every restricted
function of every contract, cross-checked against the compiled ABIs so that a new restricted
function cannot go untested."""

from __future__ import annotations

import re

import ape
import pytest
from eth_utils import keccak
from plinth_testlib import COMPUTE, REGION, ZERO32, hardware, register, reverts

from scripts._deploy import TOKEN

GOVERNED = ("registry", "vault", "market", "distributor", "emissions", "slashing", "hub")
ZERO = "0x" + "00" * 20
OWNERSHIP = ("transferOwnership",)  # renounceOwnership is disabled: a view that reverts
GOVERNED_OWNER_ONLY = ("setGuardian", "unpause", *OWNERSHIP)


# ---------------------------------------------------------------- the access table
# contract alias -> function -> (arguments from (suite, caller), error the caller gets).
# "owner": OwnableUnauthorizedAccount(caller); "wired": Unauthorized(caller) (only the wired
# contract may call); "NotNodeOwner": restricted to the node's owner (the arguments function
# also takes a node registered by the provider); "NotMinter": the token's minter only.
# Arguments are plausible values, so the access check is the only reason a call fails.
RESTRICTED: dict[str, dict[str, tuple]] = {
    "token": {
        "setMinter": (lambda s, c: (c,), "owner"),
        "mint": (lambda s, c: (c, TOKEN), "NotMinter"),
        "transferOwnership": (lambda s, c: (c,), "owner"),
    },
    "registry": {
        "setMinStake": (lambda s, c: (COMPUTE, 1_000 * TOKEN), "owner"),
        "setJailPolicy": (lambda s, c: (5, 3_600), "owner"),
        "setStakingVault": (lambda s, c: (s.vault,), "owner"),
        "setSlashingManager": (lambda s, c: (s.slashing,), "owner"),
        "recordFault": (lambda s, c: (c,), "wired"),
        # Node-owner setter (node: a node registered by the provider).
        "setEndpoint": (lambda s, c, node: (node, "http://x"), "NotNodeOwner"),
    },
    "vault": {
        "setUnbondingDelay": (lambda s, c: (3_600,), "owner"),
        "setSlashingManager": (lambda s, c: (s.slashing,), "owner"),
        "slash": (lambda s, c: (c, TOKEN), "wired"),
    },
    "market": {
        "setFee": (lambda s, c: (100,), "owner"),
        "setTreasury": (lambda s, c: (c,), "owner"),
        "setEmissionsController": (lambda s, c: (s.emissions,), "owner"),
        "finalizeDemand": (lambda s, c: (0,), "wired"),
        "recordFailures": (lambda s, c: (0, [c]), "wired"),
        # Node-owner setter (node: a node registered by the provider).
        "setPrice": (lambda s, c, node: (node, TOKEN), "NotNodeOwner"),
    },
    "distributor": {
        "setOracleHub": (lambda s, c: (s.hub,), "owner"),
    },
    "emissions": {
        "setSchedule": (
            lambda s, c: (10_000 * TOKEN, 99 * 10**16, 5 * 10**16, 100_000 * TOKEN),
            "owner",
        ),
        "setOracleHub": (lambda s, c: (s.hub,), "owner"),
        "mintForEpoch": (lambda s, c: (0, 0, 0), "wired"),
        "skipTo": (lambda s, c: (s.hub.nextEpoch() + 1,), "wired"),
    },
    "slashing": {
        "setPenalty": (lambda s, c: (1, 100), "owner"),
        "setDisputeWindow": (lambda s, c: (600,), "owner"),
        "setBurnShare": (lambda s, c: (2_500,), "owner"),
        "setTreasury": (lambda s, c: (c,), "owner"),
        "setOracleHub": (lambda s, c: (s.hub,), "owner"),
        "cancelSlash": (lambda s, c: (1,), "owner"),
        "queueSlashes": (lambda s, c: (0, []), "wired"),
    },
    "hub": {
        "setCommittee": (lambda s, c: (list(s.hub.committee()), 3, 0), "owner"),
        "setMaxSlashesPerReport": (lambda s, c: (32,), "owner"),
    },
}
for _alias in GOVERNED:
    RESTRICTED[_alias].update(
        setGuardian=(lambda s, c: (c,), "owner"),
        unpause=(lambda s, c: (), "owner"),
        transferOwnership=(lambda s, c: (c,), "owner"),
    )

# Functions anyone may call (their own checks are tested with each contract).
OPEN = {
    "token": {
        "approve",
        "transfer",
        "transferFrom",
        "permit",
        "burn",
        "burnFrom",
        "acceptOwnership",
    },
    "registry": {"register", "activate", "exit", "completeExit", "unjail"},
    "vault": {"stake", "stakeWithPermit", "requestUnbond", "withdraw"},
    "market": {"openLease", "extendLease", "settle", "closeLease", "confirmData"},
    "distributor": {"claim"},
    "emissions": set(),
    "slashing": {"executeSlash", "disputeStorageSlash"},
    "hub": {
        "submitReport",
        "submitReportBls",
        "submitReportBlsWithHint",
        "registerBlsKey",
        "skipEpochs",  # only after an outage longer than MAX_EPOCH_GAP (NothingToSkip)
    },
}
for _alias in GOVERNED:
    OPEN[_alias] |= {"pause", "acceptOwnership"}  # pause: guardian or owner, tested below

RESTRICTED_CASES = [(alias, fn) for alias, table in RESTRICTED.items() for fn in table]


def _state_changing(contract) -> set[str]:
    return {
        abi.name
        for abi in contract.contract_type.abi
        if abi.type == "function" and abi.stateMutability not in ("view", "pure")
    }


# ---------------------------------------------------------------- the table covers the ABIs
@pytest.mark.parametrize("alias", list(RESTRICTED))
def test_abi_functions_are_all_classified_when_compiled(suite, alias):
    """Every state-changing function is either in the restricted table (tested below) or
    known to be open; in particular every non-view set* function is restricted."""
    functions = _state_changing(getattr(suite, alias))
    restricted, open_ = set(RESTRICTED[alias]), OPEN[alias]
    assert not restricted & open_
    assert functions == restricted | open_, (
        f"unclassified: {sorted(functions - restricted - open_)}; "
        f"gone: {sorted((restricted | open_) - functions)}"
    )
    setters = {f for f in functions if re.match(r"set[A-Z]", f)}
    assert setters
    assert setters <= restricted


# ---------------------------------------------------------------- every restricted function
@pytest.mark.parametrize(
    ("alias", "fn"), RESTRICTED_CASES, ids=[f"{a}.{f}" for a, f in RESTRICTED_CASES]
)
def test_restricted_function_reverts_when_called_by_outsider(
    suite, deployer, guardian, provider, outsider, alias, fn
):
    contract = getattr(suite, alias)
    args_of, error = RESTRICTED[alias][fn]
    if error == "NotNodeOwner":
        node = register(suite, provider, COMPUTE).address
        args_of = (lambda f: lambda s, c: f(s, c, node))(args_of)
    callers = [outsider] if error != "owner" else [outsider, guardian]  # the guardian only pauses
    for caller in callers:
        args = args_of(suite, caller)
        if error == "owner":
            expected, inputs = contract.OwnableUnauthorizedAccount, {"account": caller.address}
        elif error == "wired":
            expected, inputs = contract.Unauthorized, {"caller": caller.address}
        elif error == "NotNodeOwner":
            expected, inputs = contract.NotNodeOwner, {"node": node, "caller": caller.address}
        else:
            expected, inputs = getattr(contract, error), {}
        with reverts(expected, **inputs):
            getattr(contract, fn)(*args, sender=caller)

    if error == "owner":
        # The owner passes the access check (it may still fail a later check, e.g. AlreadySet).
        try:
            getattr(contract, fn)(*args_of(suite, outsider), sender=deployer)
        except ape.exceptions.ContractLogicError as exc:
            assert type(exc).__name__ != "OwnableUnauthorizedAccount"


# ---------------------------------------------------------------- pause
@pytest.mark.parametrize("alias", GOVERNED)
def test_pause_pauses_when_called_by_guardian(suite, deployer, guardian, alias):
    contract = getattr(suite, alias)
    assert contract.guardian() == guardian.address != deployer.address
    tx = contract.pause(sender=guardian)
    assert contract.paused()
    assert [e.account for e in tx.events.filter(contract.Paused)] == [guardian.address]


@pytest.mark.parametrize("alias", GOVERNED)
def test_pause_pauses_when_called_by_owner(suite, deployer, alias):
    contract = getattr(suite, alias)
    contract.pause(sender=deployer)
    assert contract.paused()


@pytest.mark.parametrize("alias", GOVERNED)
def test_pause_reverts_NotGuardian_when_called_by_outsider(suite, provider, outsider, alias):
    contract = getattr(suite, alias)
    for caller in (outsider, provider):
        with reverts(contract.NotGuardian, caller=caller.address):
            contract.pause(sender=caller)
    assert not contract.paused()


@pytest.mark.parametrize("alias", GOVERNED)
def test_unpause_reverts_OwnableUnauthorizedAccount_when_not_owner(
    suite, deployer, guardian, outsider, alias
):
    contract = getattr(suite, alias)
    contract.pause(sender=guardian)
    for caller in (guardian, outsider):
        with reverts(contract.OwnableUnauthorizedAccount, account=caller.address):
            contract.unpause(sender=caller)
    assert contract.paused()
    tx = contract.unpause(sender=deployer)
    assert not contract.paused()
    assert [e.account for e in tx.events.filter(contract.Unpaused)] == [deployer.address]


@pytest.mark.parametrize("alias", GOVERNED)
def test_pause_reverts_EnforcedPause_when_already_paused(suite, deployer, guardian, alias):
    contract = getattr(suite, alias)
    contract.pause(sender=guardian)
    with reverts(contract.EnforcedPause):
        contract.pause(sender=deployer)
    contract.unpause(sender=deployer)
    with reverts(contract.ExpectedPause):
        contract.unpause(sender=deployer)


# One pause-guarded entry point per contract: (function, arguments from (suite, caller)).
GUARDED = {
    "registry": ("register", lambda s, c: (c, COMPUTE, hardware(COMPUTE), REGION, "http://x", b"")),
    "vault": ("stake", lambda s, c: (c, TOKEN)),
    "market": ("openLease", lambda s, c: (c, REGION, 1, TOKEN, ZERO32, 0)),
    "distributor": ("claim", lambda s, c: (0, c, TOKEN, [])),
    "emissions": ("mintForEpoch", lambda s, c: (0, 0, 0)),
    "slashing": ("executeSlash", lambda s, c: (1,)),
    "hub": ("submitReport", lambda s, c: ((0, ZERO32, 1, ZERO32, 0, ZERO32, [], [], 0), b"")),
}


@pytest.mark.parametrize("alias", GOVERNED)
def test_guarded_function_reverts_EnforcedPause_when_paused(suite, guardian, outsider, alias):
    contract = getattr(suite, alias)
    fn, args_of = GUARDED[alias]
    contract.pause(sender=guardian)
    with reverts(contract.EnforcedPause):
        getattr(contract, fn)(*args_of(suite, outsider), sender=outsider)


# ---------------------------------------------------------------- guardian
@pytest.mark.parametrize("alias", GOVERNED)
def test_setGuardian_reverts_ZeroAddress_when_zero(suite, deployer, alias):
    contract = getattr(suite, alias)
    with reverts(contract.ZeroAddress):
        contract.setGuardian(ZERO, sender=deployer)


@pytest.mark.parametrize("alias", GOVERNED)
def test_setGuardian_replaces_guardian_when_called_by_owner(
    suite, deployer, guardian, provider, alias
):
    contract = getattr(suite, alias)
    tx = contract.setGuardian(provider, sender=deployer)
    assert contract.guardian() == provider.address
    [event] = tx.events.filter(contract.GuardianChanged)
    assert (event.previousGuardian, event.newGuardian) == (guardian.address, provider.address)
    with reverts(contract.NotGuardian, caller=guardian.address):
        contract.pause(sender=guardian)
    contract.pause(sender=provider)
    assert contract.paused()


# ---------------------------------------------------------------- ownership (two steps)
@pytest.mark.parametrize("alias", [*GOVERNED, "token"])
def test_transferOwnership_takes_effect_only_when_accepted(
    suite, deployer, provider, outsider, alias
):
    contract = getattr(suite, alias)
    new_owner = provider
    contract.transferOwnership(new_owner, sender=deployer)
    assert contract.owner() == deployer.address
    assert contract.pendingOwner() == new_owner.address

    with reverts(contract.OwnableUnauthorizedAccount, account=outsider.address):
        contract.acceptOwnership(sender=outsider)
    with reverts(contract.OwnableUnauthorizedAccount, account=deployer.address):
        contract.acceptOwnership(sender=deployer)

    tx = contract.acceptOwnership(sender=new_owner)
    assert contract.owner() == new_owner.address
    assert int(contract.pendingOwner(), 16) == 0
    [event] = tx.events.filter(contract.OwnershipTransferred)
    assert (event.previousOwner, event.newOwner) == (deployer.address, new_owner.address)

    # The old owner lost its powers, the new one has them.
    restricted = "setGuardian" if alias != "token" else "transferOwnership"
    with reverts(contract.OwnableUnauthorizedAccount, account=deployer.address):
        getattr(contract, restricted)(outsider, sender=deployer)
    getattr(contract, restricted)(outsider, sender=new_owner)


@pytest.mark.parametrize("alias", GOVERNED)
def test_transferOwnership_can_be_overridden_when_not_yet_accepted(
    suite, deployer, provider, outsider, alias
):
    contract = getattr(suite, alias)
    contract.transferOwnership(provider, sender=deployer)
    contract.transferOwnership(outsider, sender=deployer)
    with reverts(contract.OwnableUnauthorizedAccount, account=provider.address):
        contract.acceptOwnership(sender=provider)
    contract.acceptOwnership(sender=outsider)
    assert contract.owner() == outsider.address


@pytest.mark.parametrize("alias", [*GOVERNED, "token"])
def test_renounceOwnership_reverts_RenounceOwnershipDisabled_when_called_by_owner(
    suite, deployer, outsider, alias
):
    contract = getattr(suite, alias)
    # renounceOwnership is a view that always reverts, so Ape runs it as a call and does not
    # decode the custom error: match its selector in the revert data.
    selector = keccak(text="RenounceOwnershipDisabled()")[:4].hex()
    with ape.reverts() as info:
        contract.renounceOwnership(sender=deployer)
    assert selector in str(info.value).lower().removeprefix("0x"), info.value
    with ape.reverts() as info:
        contract.renounceOwnership(sender=outsider)
    assert keccak(text="OwnableUnauthorizedAccount(address)")[:4].hex() in str(info.value).lower()
    assert contract.owner() == deployer.address
