"""NodeRegistry: registration (hardware claims per kind, region, endpoint, the node key's EIP-712
binding signed in Python and verified in Solidity), activation, endpoint changes, exit, jailing
through executed slashes (signed reports), unjailing, and the owner's parameters and wiring."""

from __future__ import annotations

import ape
import pytest
from ape import chain, project
from eth_abi import decode
from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes
from plinth_testlib import (
    COMPUTE,
    REGION,
    STORAGE,
    WIRELESS,
    NodeKey,
    active_node,
    advance_seconds,
    advance_to_epoch,
    b32,
    binding_signature,
    fund,
    hardware,
    make_report,
    register,
    reverts,
    settle_release,
    stake,
    submit,
)

from oracle.protocol.eip712 import SlashRequest, digest_of, node_binding_message, sign_node_binding
from scripts._deploy import TOKEN

# NodeStatus
NONE, REGISTERED, ACTIVE, JAILED, EXITING, EXITED = range(6)
# SlashReason
OFFLINE = 5
ZERO = "0x" + "00" * 20
ENDPOINT = "http://127.0.0.1:9000"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAX_JAIL = 365 * 24 * 3600


# ---------------------------------------------------------------- helpers


def register_args(
    suite,
    owner,
    kind=COMPUTE,
    node: NodeKey | None = None,
    region=REGION,
    endpoint=ENDPOINT,
    signature: bytes | None = None,
    **hw,
) -> tuple:
    node = node or NodeKey.create()
    sig = binding_signature(suite, owner.address, node) if signature is None else signature
    return (node.address, kind, hardware(kind, **hw), region, endpoint, sig)


def report_slashes(suite, oracles, *slashes: SlashRequest) -> list[int]:
    """Settles the hub's next epoch with `slashes` (a 3-of-4 signed report); the slash ids."""
    epoch = suite.hub.nextEpoch()
    advance_to_epoch(suite, epoch + 1)
    first = suite.slashing.slashCount() + 1
    report, _ = make_report(suite, epoch, slashes=slashes)
    submit(suite, report, oracles[:3], sender=oracles[0])
    return list(range(first, first + len(slashes)))


def jail(suite, oracles, outsider, node: NodeKey):
    """Executes faults_to_jail reported slashes against `node`; returns the last receipt."""
    faults_to_jail, _ = suite.registry.jailPolicy()
    ids = report_slashes(
        suite, oracles, *(SlashRequest(node.address, OFFLINE) for _ in range(faults_to_jail))
    )
    advance_seconds(suite.slashing.disputeWindow())
    for slash_id in ids:
        tx = suite.slashing.executeSlash(slash_id, sender=outsider)
    assert suite.registry.statusOf(node.address) == JAILED
    return tx


# ---------------------------------------------------------------- register
@pytest.mark.parametrize("kind", [COMPUTE, STORAGE, WIRELESS])
def test_register_stores_node_when_signature_and_claim_valid(suite, provider, kind):
    node = NodeKey.create()
    count = suite.registry.nodeCount()
    args = register_args(suite, provider, kind, node)

    tx = suite.registry.register(*args, sender=provider)

    n = suite.registry.getNode(node.address)
    assert (n.owner, n.kind, n.status, n.region, n.faults, n.jailedUntil) == (
        provider.address,
        kind,
        REGISTERED,
        REGION,
        0,
        0,
    )
    assert n.registeredAt == chain.blocks.head.timestamp
    assert tuple(n.hardware) == hardware(kind)
    assert n.endpoint == ENDPOINT
    assert suite.registry.ownerOf(node.address) == provider.address
    assert suite.registry.kindOf(node.address) == kind
    assert suite.registry.statusOf(node.address) == REGISTERED
    assert suite.registry.regionOf(node.address) == REGION
    assert suite.registry.minStakeOf(node.address) == suite.registry.minStake(kind)
    assert suite.registry.nodeCount() == count + 1
    assert suite.registry.nodeAt(count) == node.address
    assert not suite.registry.isEligible(node.address)
    [event] = tx.events.filter(suite.registry.NodeRegistered)
    assert (event.node, event.owner, event.kind, event.region, event.endpoint) == (
        node.address,
        provider.address,
        kind,
        REGION,
        ENDPOINT,
    )


def test_nodeKeyBindingDigest_equals_python_digest_when_same_domain(suite, provider):
    node = NodeKey.create()
    message = node_binding_message(
        provider.address, node.address, chain.chain_id, suite.registry.address
    )
    assert bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address)) == digest_of(
        message
    )
    # The digest binds the owner: another owner gives another digest.
    swapped = suite.registry.nodeKeyBindingDigest(node.address, provider.address)
    assert suite.registry.nodeKeyBindingDigest(provider.address, node.address) != swapped


def test_register_accepts_up_to_MAX_GPUS(suite, provider):
    assert suite.registry.MAX_GPUS() == 64
    args = register_args(suite, provider, COMPUTE, gpuCount=64)
    suite.registry.register(*args, sender=provider)


@pytest.mark.parametrize(
    "kind, overrides",
    [
        # Compute: at least one GPU and a model name; storage and radio fields zero.
        (COMPUTE, dict(gpuCount=0)),
        (COMPUTE, dict(gpuModel=b"\x00" * 32)),
        (COMPUTE, dict(capacityBytes=1)),
        (COMPUTE, dict(h3Cell=0x8828308281FFFFF)),
        (COMPUTE, dict(latE6=1)),
        (COMPUTE, dict(lonE6=-1)),
        (COMPUTE, dict(txPowerDbm=10)),
        (COMPUTE, dict(antennaGainDbi=1)),
        # H-2: 65,535 claimed GPUs took 99.93 % of the compute share; no proof checks > 64.
        (COMPUTE, dict(gpuCount=65_535)),
        (COMPUTE, dict(gpuCount=65)),
        # Storage: a capacity; compute and radio fields zero.
        (STORAGE, dict(capacityBytes=0)),
        (STORAGE, dict(gpuCount=1)),
        (STORAGE, dict(gpuModel=b"H100".ljust(32, b"\x00"))),
        (STORAGE, dict(hwClass=1)),
        (STORAGE, dict(h3Cell=1)),
        (STORAGE, dict(txPowerDbm=1)),
        # Wireless: a cell, a location on Earth, a plausible radio; other fields zero.
        (WIRELESS, dict(h3Cell=0)),
        (WIRELESS, dict(latE6=90_000_001)),
        (WIRELESS, dict(latE6=-90_000_001)),
        (WIRELESS, dict(lonE6=180_000_001)),
        (WIRELESS, dict(lonE6=-180_000_001)),
        (WIRELESS, dict(txPowerDbm=0)),
        (WIRELESS, dict(txPowerDbm=-10)),
        (WIRELESS, dict(txPowerDbm=401)),
        (WIRELESS, dict(antennaGainDbi=-101)),
        (WIRELESS, dict(antennaGainDbi=301)),
        (WIRELESS, dict(capacityBytes=1)),
        (WIRELESS, dict(gpuCount=1)),
        (WIRELESS, dict(hwClass=1)),
    ],
    ids=lambda v: str(v) if isinstance(v, int) else "-".join(f"{k}={v[k]!r}"[:24] for k in v),
)
def test_register_reverts_InvalidHardwareClaim_when_claim_does_not_fit_kind(
    suite, provider, kind, overrides
):
    args = register_args(suite, provider, kind, **overrides)
    with reverts(suite.registry.InvalidHardwareClaim, kind=kind):
        suite.registry.register(*args, sender=provider)


@pytest.mark.parametrize(
    "kind, overrides",
    [
        (COMPUTE, dict(hwClass=0, gpuCount=8)),
        (STORAGE, dict(capacityBytes=2**64 - 1)),
        (WIRELESS, dict(latE6=90_000_000, lonE6=180_000_000, txPowerDbm=400, antennaGainDbi=300)),
        (WIRELESS, dict(latE6=-90_000_000, lonE6=-180_000_000, txPowerDbm=1, antennaGainDbi=-100)),
    ],
    ids=["compute-8gpu", "storage-max", "wireless-max-bounds", "wireless-min-bounds"],
)
def test_register_accepts_claim_when_fields_at_bounds(suite, provider, kind, overrides):
    node = register(suite, provider, kind, **overrides)
    assert tuple(suite.registry.getNode(node.address).hardware) == hardware(kind, **overrides)


def test_register_reverts_InvalidRegion_when_region_zero(suite, provider):
    args = register_args(suite, provider, region=0)
    with reverts(suite.registry.InvalidRegion, region=0):
        suite.registry.register(*args, sender=provider)


@pytest.mark.parametrize("length", [0, 257, 1_000])
def test_register_reverts_InvalidEndpoint_when_length_out_of_range(suite, provider, length):
    args = register_args(suite, provider, endpoint="h" * length)
    with reverts(suite.registry.InvalidEndpoint, length=length):
        suite.registry.register(*args, sender=provider)


@pytest.mark.parametrize("length", [1, 256])
def test_register_accepts_endpoint_when_length_at_bounds(suite, provider, length):
    node = register(suite, provider, endpoint="h" * length)
    assert suite.registry.getNode(node.address).endpoint == "h" * length


def test_register_reverts_ZeroAddress_when_node_is_zero(suite, provider):
    args = (ZERO, COMPUTE, hardware(COMPUTE), REGION, ENDPOINT, b"\x00" * 65)
    with reverts(suite.registry.ZeroAddress):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_InvalidNodeKeySignature_when_signed_by_another_key(suite, provider):
    node, other = NodeKey.create(), NodeKey.create()
    sig = binding_signature(suite, provider.address, other)  # a valid binding, for another key
    digest = bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address))
    recovered = Account._recover_hash(digest, signature=sig)  # what ecrecover sees on-chain
    assert recovered not in (node.address, other.address)
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(suite.registry.InvalidNodeKeySignature, node=node.address, recovered=recovered):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_InvalidNodeKeySignature_when_right_message_signed_by_another_key(
    suite, provider
):
    node, other = NodeKey.create(), NodeKey.create()
    digest = bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address))
    sig = bytes(Account.unsafe_sign_hash(digest, other.key).signature)
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(
        suite.registry.InvalidNodeKeySignature, node=node.address, recovered=other.address
    ):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_InvalidNodeKeySignature_when_signed_by_owner_wallet(suite, provider):
    # The owner's wallet cannot stand in for the node key, even over the right digest.
    node = NodeKey.create()
    digest = bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address))
    sig = bytes(Account.unsafe_sign_hash(digest, provider.private_key).signature)
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(
        suite.registry.InvalidNodeKeySignature, node=node.address, recovered=provider.address
    ):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_InvalidNodeKeySignature_when_signature_made_for_another_owner(
    suite, provider, provider2
):
    # The node key consented to provider2; the provider replays that consent for itself.
    node = NodeKey.create()
    sig = binding_signature(suite, provider2.address, node)
    digest = bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address))
    recovered = Account._recover_hash(digest, signature=sig)  # what ecrecover sees on-chain
    assert recovered != node.address
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(suite.registry.InvalidNodeKeySignature, node=node.address, recovered=recovered):
        suite.registry.register(*args, sender=provider)
    # provider2 itself can use it.
    suite.registry.register(*args, sender=provider2)
    assert suite.registry.ownerOf(node.address) == provider2.address


@pytest.mark.parametrize("where", ["chain-id", "registry"])
def test_register_reverts_InvalidNodeKeySignature_when_signature_replayed_from_other_domain(
    suite, provider, where
):
    node = NodeKey.create()
    chain_id, registry = chain.chain_id, suite.registry.address
    if where == "chain-id":
        chain_id += 1
    else:
        registry = suite.vault.address  # any other verifying contract
    sig = sign_node_binding(node.key, provider.address, chain_id, registry)
    digest = bytes(suite.registry.nodeKeyBindingDigest(provider.address, node.address))
    recovered = Account._recover_hash(digest, signature=sig)
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(suite.registry.InvalidNodeKeySignature, node=node.address, recovered=recovered):
        suite.registry.register(*args, sender=provider)


@pytest.mark.parametrize("bad", ["empty", "short", "long", "high-s", "bad-v"])
def test_register_reverts_InvalidNodeKeySignature_when_signature_malformed(suite, provider, bad):
    node = NodeKey.create()
    sig = binding_signature(suite, provider.address, node)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    sig = {
        "empty": b"",
        "short": sig[:64],
        "long": sig + b"\x00",
        # The malleable twin of a valid signature: (r, n - s, flipped v) recovers the same key.
        "high-s": r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v]),
        "bad-v": sig[:64] + bytes([v + 2]),
    }[bad]
    args = register_args(suite, provider, node=node, signature=sig)
    with reverts(suite.registry.InvalidNodeKeySignature, node=node.address, recovered=ZERO):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_NodeKeyAlreadyUsed_when_key_registered(suite, provider, provider2):
    node = register(suite, provider)
    for owner in (provider, provider2):
        args = register_args(suite, owner, STORAGE, node=node)  # a fresh, valid binding
        with reverts(suite.registry.NodeKeyAlreadyUsed, node=node.address):
            suite.registry.register(*args, sender=owner)
    assert suite.registry.ownerOf(node.address) == provider.address


def test_register_reverts_NodeKeyAlreadyUsed_when_key_reused_after_exit(suite, provider):
    node = register(suite, provider)
    suite.registry.exit(node.address, sender=provider)
    suite.registry.completeExit(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == EXITED
    args = register_args(suite, provider, node=node)
    with reverts(suite.registry.NodeKeyAlreadyUsed, node=node.address):
        suite.registry.register(*args, sender=provider)


def test_register_reverts_EnforcedPause_when_paused(suite, deployer, guardian, provider):
    args = register_args(suite, provider)
    suite.registry.pause(sender=guardian)
    with reverts(suite.registry.EnforcedPause):
        suite.registry.register(*args, sender=provider)
    suite.registry.unpause(sender=deployer)
    suite.registry.register(*args, sender=provider)
    assert suite.registry.statusOf(args[0]) == REGISTERED


# ---------------------------------------------------------------- activate
@pytest.mark.parametrize("kind", [COMPUTE, STORAGE, WIRELESS])
def test_activate_sets_Active_when_bonded_equals_minimum(suite, deployer, provider, kind):
    node = register(suite, provider, kind)
    minimum = suite.registry.minStake(kind)
    suite.token.transfer(provider, minimum, sender=deployer)
    stake(suite, provider, node, minimum)

    tx = suite.registry.activate(node.address, sender=provider)

    assert suite.registry.statusOf(node.address) == ACTIVE
    assert suite.registry.isEligible(node.address)
    assert [e.node for e in tx.events.filter(suite.registry.NodeActivated)] == [node.address]


def test_activate_reverts_InsufficientStake_when_bonded_below_minimum(suite, deployer, provider):
    node = register(suite, provider, STORAGE)
    minimum = suite.registry.minStake(STORAGE)
    with reverts(suite.registry.InsufficientStake, node=node.address, bonded=0, minimum=minimum):
        suite.registry.activate(node.address, sender=provider)
    suite.token.transfer(provider, minimum, sender=deployer)
    stake(suite, provider, node, minimum - 1)
    with reverts(
        suite.registry.InsufficientStake, node=node.address, bonded=minimum - 1, minimum=minimum
    ):
        suite.registry.activate(node.address, sender=provider)
    # Stake in the unbonding queue does not count.
    stake(suite, provider, node, 1)
    suite.vault.requestUnbond(node.address, 1, sender=provider)
    with reverts(suite.registry.InsufficientStake, bonded=minimum - 1):
        suite.registry.activate(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == REGISTERED


def test_activate_reverts_WrongStatus_when_not_registered(suite, deployer, provider):
    node = active_node(suite, deployer, provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=ACTIVE):
        suite.registry.activate(node.address, sender=provider)
    suite.registry.exit(node.address, sender=provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=EXITING):
        suite.registry.activate(node.address, sender=provider)


def test_activate_reverts_NotNodeOwner_when_caller_not_owner(suite, deployer, provider, provider2):
    node = register(suite, provider, WIRELESS)
    minimum = suite.registry.minStake(WIRELESS)
    suite.token.transfer(provider, minimum, sender=deployer)
    stake(suite, provider, node, minimum)
    with reverts(suite.registry.NotNodeOwner, node=node.address, caller=provider2.address):
        suite.registry.activate(node.address, sender=provider2)


def test_activate_reverts_UnknownNode_when_node_not_registered(suite, provider):
    stranger = NodeKey.create()
    with reverts(suite.registry.UnknownNode, node=stranger.address):
        suite.registry.activate(stranger.address, sender=provider)


def test_activate_reverts_EnforcedPause_when_paused(suite, deployer, guardian, provider):
    node = register(suite, provider, WIRELESS)
    minimum = suite.registry.minStake(WIRELESS)
    suite.token.transfer(provider, minimum, sender=deployer)
    stake(suite, provider, node, minimum)
    suite.registry.pause(sender=guardian)
    with reverts(suite.registry.EnforcedPause):
        suite.registry.activate(node.address, sender=provider)


def test_isEligible_false_when_minimum_raised_above_bonded(suite, deployer, provider):
    node = active_node(suite, deployer, provider, WIRELESS)
    minimum = suite.registry.minStake(WIRELESS)
    suite.registry.setMinStake(WIRELESS, minimum + 1, sender=deployer)
    assert suite.registry.statusOf(node.address) == ACTIVE
    assert not suite.registry.isEligible(node.address)


# ---------------------------------------------------------------- setEndpoint
def test_setEndpoint_changes_endpoint_when_owner_calls(suite, provider):
    node = register(suite, provider)
    tx = suite.registry.setEndpoint(node.address, "https://node.example:8443", sender=provider)
    assert suite.registry.getNode(node.address).endpoint == "https://node.example:8443"
    [event] = tx.events.filter(suite.registry.NodeEndpointChanged)
    assert (event.node, event.endpoint) == (node.address, "https://node.example:8443")
    # Still allowed while exiting (the node keeps answering until it is out).
    suite.registry.exit(node.address, sender=provider)
    suite.registry.setEndpoint(node.address, "http://x", sender=provider)
    assert suite.registry.getNode(node.address).endpoint == "http://x"


@pytest.mark.parametrize("length", [0, 257])
def test_setEndpoint_reverts_InvalidEndpoint_when_length_out_of_range(suite, provider, length):
    node = register(suite, provider)
    with reverts(suite.registry.InvalidEndpoint, length=length):
        suite.registry.setEndpoint(node.address, "x" * length, sender=provider)


def test_setEndpoint_reverts_NotNodeOwner_when_caller_not_owner(suite, provider, outsider):
    node = register(suite, provider)
    with reverts(suite.registry.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.registry.setEndpoint(node.address, "http://evil", sender=outsider)
    assert suite.registry.getNode(node.address).endpoint == ENDPOINT


def test_setEndpoint_reverts_UnknownNode_when_node_not_registered(suite, provider):
    stranger = NodeKey.create()
    with reverts(suite.registry.UnknownNode, node=stranger.address):
        suite.registry.setEndpoint(stranger.address, "http://x", sender=provider)


def test_setEndpoint_reverts_WrongStatus_when_exited(suite, provider):
    node = register(suite, provider)
    suite.registry.exit(node.address, sender=provider)
    suite.registry.completeExit(node.address, sender=provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=EXITED):
        suite.registry.setEndpoint(node.address, "http://x", sender=provider)


# ---------------------------------------------------------------- exit / completeExit
def test_exit_sets_Exiting_when_registered_or_active(suite, deployer, provider):
    registered = register(suite, provider)
    active = active_node(suite, deployer, provider)
    for node in (registered, active):
        tx = suite.registry.exit(node.address, sender=provider)
        assert suite.registry.statusOf(node.address) == EXITING
        assert [e.node for e in tx.events.filter(suite.registry.NodeExiting)] == [node.address]
    assert not suite.registry.isEligible(active.address)


def test_exit_succeeds_when_paused(suite, deployer, guardian, provider):
    # A pause must never trap a provider in the network.
    node = active_node(suite, deployer, provider)
    suite.registry.pause(sender=guardian)
    suite.registry.exit(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == EXITING


def test_exit_reverts_WrongStatus_when_already_exiting_or_exited(suite, provider):
    node = register(suite, provider)
    suite.registry.exit(node.address, sender=provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=EXITING):
        suite.registry.exit(node.address, sender=provider)
    suite.registry.completeExit(node.address, sender=provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=EXITED):
        suite.registry.exit(node.address, sender=provider)


def test_exit_reverts_NotNodeOwner_when_caller_not_owner(suite, provider, outsider):
    node = register(suite, provider)
    with reverts(suite.registry.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.registry.exit(node.address, sender=outsider)
    with reverts(suite.registry.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.registry.completeExit(node.address, sender=outsider)


def test_exit_reverts_UnknownNode_when_node_not_registered(suite, provider):
    stranger = NodeKey.create()
    with reverts(suite.registry.UnknownNode, node=stranger.address):
        suite.registry.exit(stranger.address, sender=provider)
    with reverts(suite.registry.UnknownNode, node=stranger.address):
        suite.registry.completeExit(stranger.address, sender=provider)


def test_completeExit_reverts_WrongStatus_when_not_exiting(suite, deployer, provider):
    registered = register(suite, provider)
    with reverts(suite.registry.WrongStatus, node=registered.address, status=REGISTERED):
        suite.registry.completeExit(registered.address, sender=provider)
    active = active_node(suite, deployer, provider)
    with reverts(suite.registry.WrongStatus, node=active.address, status=ACTIVE):
        suite.registry.completeExit(active.address, sender=provider)


def test_completeExit_reverts_StakeRemaining_until_all_stake_withdrawn(
    suite, deployer, provider, oracles
):
    node = active_node(suite, deployer, provider, extra=500 * TOKEN)
    total = suite.registry.minStake(COMPUTE) + 500 * TOKEN
    suite.registry.exit(node.address, sender=provider)
    with reverts(suite.registry.StakeRemaining, node=node.address, total=total):
        suite.registry.completeExit(node.address, sender=provider)

    # Unbonding stake is still slashable, so it still blocks the exit.
    suite.vault.requestUnbond(node.address, total - 1, sender=provider)
    with reverts(suite.registry.StakeRemaining, node=node.address, total=total):
        suite.registry.completeExit(node.address, sender=provider)
    suite.vault.requestUnbond(node.address, 1, sender=provider)
    with reverts(suite.registry.StakeRemaining, node=node.address, total=total):
        suite.registry.completeExit(node.address, sender=provider)

    advance_seconds(suite.vault.unbondingDelay())
    settle_release(suite, oracles, suite.vault.unbondingEntries(node.address)[-1].releaseAt)
    suite.vault.withdraw(node.address, sender=provider)
    tx = suite.registry.completeExit(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == EXITED
    assert [e.node for e in tx.events.filter(suite.registry.NodeExited)] == [node.address]
    # An exited node takes no stake.
    suite.token.approve(suite.vault.address, TOKEN, sender=provider)
    with reverts(suite.vault.CannotStake, node=node.address):
        suite.vault.stake(node.address, TOKEN, sender=provider)


# ---------------------------------------------------------------- faults and jailing
@pytest.mark.parametrize("who", ["outsider", "deployer", "guardian", "provider"])
def test_recordFault_reverts_Unauthorized_when_caller_not_slashing_manager(
    suite, deployer, guardian, provider, outsider, who
):
    node = register(suite, provider)
    caller = {
        "outsider": outsider,
        "deployer": deployer,
        "guardian": guardian,
        "provider": provider,
    }[who]
    with reverts(suite.registry.Unauthorized, caller=caller.address):
        suite.registry.recordFault(node.address, sender=caller)
    assert suite.registry.getNode(node.address).faults == 0


def test_recordFault_jails_active_node_when_faults_reach_threshold(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    faults_to_jail, jail_duration = suite.registry.jailPolicy()
    ids = report_slashes(
        suite, oracles, *(SlashRequest(node.address, OFFLINE) for _ in range(faults_to_jail))
    )
    advance_seconds(suite.slashing.disputeWindow())
    for n, slash_id in enumerate(ids, start=1):
        assert suite.registry.statusOf(node.address) == ACTIVE
        tx = suite.slashing.executeSlash(slash_id, sender=outsider)
        [fault] = tx.events.filter(suite.registry.FaultRecorded)
        assert (fault.node, fault.faults) == (node.address, n)

    until = chain.blocks.head.timestamp + jail_duration
    n = suite.registry.getNode(node.address)
    assert (n.status, n.faults, n.jailedUntil) == (JAILED, faults_to_jail, until)
    [jailed] = tx.events.filter(suite.registry.NodeJailed)
    assert (jailed.node, jailed.jailedUntil) == (node.address, until)
    assert not suite.registry.isEligible(node.address)


def test_recordFault_counts_without_jailing_when_node_not_active(
    suite, deployer, provider, oracles, outsider
):
    node = register(suite, provider)
    fund(suite, deployer, provider, 1_000)
    stake(suite, provider, node, 1_000 * TOKEN)
    faults_to_jail, _ = suite.registry.jailPolicy()
    ids = report_slashes(
        suite, oracles, *(SlashRequest(node.address, OFFLINE) for _ in range(faults_to_jail + 1))
    )
    advance_seconds(suite.slashing.disputeWindow())
    for slash_id in ids:
        suite.slashing.executeSlash(slash_id, sender=outsider)
    n = suite.registry.getNode(node.address)
    assert (n.status, n.faults, n.jailedUntil) == (REGISTERED, faults_to_jail + 1, 0)


def test_unjail_reverts_StillJailed_when_jail_time_not_over(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    jail(suite, oracles, outsider, node)
    until = suite.registry.getNode(node.address).jailedUntil
    with reverts(suite.registry.StillJailed, node=node.address, jailedUntil=until):
        suite.registry.unjail(node.address, sender=provider)
    chain.pending_timestamp = until - 1
    with reverts(suite.registry.StillJailed, node=node.address, jailedUntil=until):
        suite.registry.unjail(node.address, sender=provider)


def test_unjail_sets_Active_and_clears_faults_when_jail_over_and_stake_enough(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    jail(suite, oracles, outsider, node)
    chain.pending_timestamp = suite.registry.getNode(node.address).jailedUntil

    tx = suite.registry.unjail(node.address, sender=provider)

    n = suite.registry.getNode(node.address)
    assert (n.status, n.faults) == (ACTIVE, 0)
    assert suite.registry.isEligible(node.address)
    assert [e.node for e in tx.events.filter(suite.registry.NodeUnjailed)] == [node.address]


def test_unjail_reverts_InsufficientStake_when_slashes_took_stake_below_minimum(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider)  # exactly the minimum: any slash goes below
    jail(suite, oracles, outsider, node)
    advance_seconds(suite.registry.jailPolicy()[1])
    bonded = suite.vault.bondedOf(node.address)
    minimum = suite.registry.minStake(COMPUTE)
    assert bonded < minimum
    with reverts(
        suite.registry.InsufficientStake, node=node.address, bonded=bonded, minimum=minimum
    ):
        suite.registry.unjail(node.address, sender=provider)
    # A jailed node can top up its stake, then come back.
    suite.token.transfer(provider, minimum - bonded, sender=deployer)
    stake(suite, provider, node, minimum - bonded)
    suite.registry.unjail(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == ACTIVE


def test_unjail_reverts_WrongStatus_when_not_jailed(suite, deployer, provider):
    node = active_node(suite, deployer, provider)
    with reverts(suite.registry.WrongStatus, node=node.address, status=ACTIVE):
        suite.registry.unjail(node.address, sender=provider)


def test_unjail_reverts_NotNodeOwner_when_caller_not_owner(
    suite, deployer, provider, oracles, outsider
):
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    jail(suite, oracles, outsider, node)
    advance_seconds(suite.registry.jailPolicy()[1])
    with reverts(suite.registry.NotNodeOwner, node=node.address, caller=outsider.address):
        suite.registry.unjail(node.address, sender=outsider)


def test_exit_sets_Exiting_when_jailed(suite, deployer, provider, oracles, outsider):
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    jail(suite, oracles, outsider, node)
    suite.registry.exit(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == EXITING
    with reverts(suite.registry.WrongStatus, node=node.address, status=EXITING):
        suite.registry.unjail(node.address, sender=provider)


def test_recordFault_jails_at_first_fault_when_policy_is_one_fault(
    suite, deployer, provider, oracles, outsider
):
    suite.registry.setJailPolicy(1, 0, sender=deployer)
    node = active_node(suite, deployer, provider, extra=5_000 * TOKEN)
    [slash_id] = report_slashes(suite, oracles, SlashRequest(node.address, OFFLINE))
    advance_seconds(suite.slashing.disputeWindow())
    suite.slashing.executeSlash(slash_id, sender=outsider)
    assert suite.registry.statusOf(node.address) == JAILED
    # A zero jail duration lets the owner unjail at once.
    suite.registry.unjail(node.address, sender=provider)
    assert suite.registry.statusOf(node.address) == ACTIVE


# ---------------------------------------------------------------- owner: parameters and wiring
def test_setMinStake_sets_minimum_when_owner_calls(suite, deployer):
    tx = suite.registry.setMinStake(STORAGE, 7 * TOKEN, sender=deployer)
    assert suite.registry.minStake(STORAGE) == 7 * TOKEN
    [event] = tx.events.filter(suite.registry.MinStakeSet)
    assert (event.kind, event.minStake) == (STORAGE, 7 * TOKEN)


def test_setMinStake_reverts_InvalidParameter_when_zero(suite, deployer):
    with reverts(suite.registry.InvalidParameter, name=b32("minStake"), value=0):
        suite.registry.setMinStake(COMPUTE, 0, sender=deployer)


def test_setJailPolicy_sets_policy_when_within_bounds(suite, deployer):
    tx = suite.registry.setJailPolicy(255, MAX_JAIL, sender=deployer)
    assert suite.registry.jailPolicy() == (255, MAX_JAIL)
    [event] = tx.events.filter(suite.registry.JailPolicySet)
    assert (event.faultsToJail, event.jailDuration) == (255, MAX_JAIL)


@pytest.mark.parametrize(
    "faults, duration, name, value",
    [
        (0, 600, "faultsToJail", 0),
        (3, MAX_JAIL + 1, "jailDuration", MAX_JAIL + 1),
        (3, 2**64 - 1, "jailDuration", 2**64 - 1),
    ],
)
def test_setJailPolicy_reverts_InvalidParameter_when_out_of_range(
    suite, deployer, faults, duration, name, value
):
    with reverts(suite.registry.InvalidParameter, name=b32(name), value=value):
        suite.registry.setJailPolicy(faults, duration, sender=deployer)


def test_owner_setters_revert_OwnableUnauthorizedAccount_when_caller_not_owner(
    suite, guardian, outsider
):
    r = suite.registry
    calls = (
        (r.setMinStake, (COMPUTE, TOKEN)),
        (r.setJailPolicy, (1, 1)),
        (r.setStakingVault, (suite.vault.address,)),
        (r.setSlashingManager, (suite.slashing.address,)),
    )
    for caller in (guardian, outsider):
        for method, args in calls:
            with reverts(r.OwnableUnauthorizedAccount, account=caller.address):
                method(*args, sender=caller)


def test_setStakingVault_and_setSlashingManager_revert_AlreadySet_when_wired(
    suite, deployer, outsider
):
    with reverts(suite.registry.AlreadySet, current=suite.vault.address):
        suite.registry.setStakingVault(outsider.address, sender=deployer)
    with reverts(suite.registry.AlreadySet, current=suite.slashing.address):
        suite.registry.setSlashingManager(outsider.address, sender=deployer)


def test_setStakingVault_and_setSlashingManager_revert_ZeroAddress_when_zero(suite, deployer):
    with reverts(suite.registry.ZeroAddress):
        suite.registry.setStakingVault(ZERO, sender=deployer)
    with reverts(suite.registry.ZeroAddress):
        suite.registry.setSlashingManager(ZERO, sender=deployer)


def test_setStakingVault_wires_once_when_fresh_registry(deployer, guardian, params, outsider):
    registry = deployer.deploy(
        project.NodeRegistry, deployer, guardian, list(params.min_stakes), 3, 600
    )
    assert int(registry.stakingVault(), 16) == 0 and int(registry.slashingManager(), 16) == 0
    # Nobody can record a fault before a slashing manager is wired.
    with reverts(registry.Unauthorized, caller=outsider.address):
        registry.recordFault(outsider.address, sender=outsider)

    tx = registry.setStakingVault(outsider.address, sender=deployer)
    assert registry.stakingVault() == outsider.address
    assert [e.vault for e in tx.events.filter(registry.StakingVaultSet)] == [outsider.address]
    tx = registry.setSlashingManager(guardian.address, sender=deployer)
    assert registry.slashingManager() == guardian.address
    assert [e.slasher for e in tx.events.filter(registry.SlashingManagerSet)] == [guardian.address]
    with reverts(registry.AlreadySet, current=outsider.address):
        registry.setStakingVault(deployer.address, sender=deployer)
    with reverts(registry.AlreadySet, current=guardian.address):
        registry.setSlashingManager(deployer.address, sender=deployer)
    # The wired slashing manager may record faults; unknown nodes are refused.
    with reverts(registry.UnknownNode, node=outsider.address):
        registry.recordFault(outsider.address, sender=guardian)


@pytest.mark.parametrize(
    "min_stakes, faults, duration, name, value",
    [
        ([0, 1, 1], 3, 600, "minStake", 0),
        ([1, 1, 0], 3, 600, "minStake", 0),
        ([1, 1, 1], 0, 600, "faultsToJail", 0),
        ([1, 1, 1], 3, MAX_JAIL + 1, "jailDuration", MAX_JAIL + 1),
    ],
    ids=["compute-min-0", "wireless-min-0", "faults-0", "jail-too-long"],
)
def test_constructor_reverts_InvalidParameter_when_out_of_range(
    deployer, guardian, min_stakes, faults, duration, name, value
):
    # ape does not decode a revert of a deployment: match selector and arguments by hand.
    with ape.reverts() as info:
        deployer.deploy(project.NodeRegistry, deployer, guardian, min_stakes, faults, duration)
    data = HexBytes(info.value.revert_message)
    selector = keccak(text="InvalidParameter(bytes32,uint256)")[:4]
    assert data[:4] == selector, f"reverted with {info.value!r}"
    assert decode(["bytes32", "uint256"], data[4:]) == (b32(name), value)
