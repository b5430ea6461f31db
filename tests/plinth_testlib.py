"""Helpers shared by the contract tests: node keys, registration, epochs and signed reports."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import ape
from ape import chain
from ape.exceptions import CustomError
from eth_abi import decode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_utils import keccak
from hexbytes import HexBytes

from oracle.protocol.eip712 import EpochReport, SlashRequest, pack_signatures, sign_report
from oracle.protocol.merkle import RewardsTree
from scripts._deploy import TOKEN

COMPUTE, STORAGE, WIRELESS = 0, 1, 2
ECDSA, BLS = 0, 1  # IOracleHub.Scheme
REGION = 250  # an arbitrary region code used throughout the tests
ZERO32 = b"\x00" * 32


@contextmanager
def reverts(error, **inputs):
    """ape.reverts, and also insist the revert decoded to exactly this custom error (ape lets
    an undecoded revert pass for any expected error class)."""
    with ape.reverts(error, **inputs) as info:
        yield info
    assert type(info.value).__name__ == error.__name__, f"reverted with {info.value!r}"


@contextmanager
def reverts_nested(error, **inputs):
    """For a custom error raised inside a call from another contract (the slashing manager under
    the hub, the token under the vault): ape may decode it with another contract's ABI or not at
    all, so match the selector and the arguments of `error` itself."""
    with ape.reverts() as info:
        yield info
    exc, abi = info.value, error.abi
    if isinstance(exc, CustomError):
        assert exc.abi.selector == abi.selector, f"reverted with {exc!r}"
        actual = dict(exc.inputs)
    else:
        data = HexBytes(exc.revert_message)
        assert data[:4] == keccak(text=abi.selector)[:4], f"reverted with {exc!r}"
        values = decode([i.canonical_type for i in abi.inputs], data[4:])
        actual = {i.name: v for i, v in zip(abi.inputs, values, strict=True)}
    for name, want in inputs.items():
        got = actual[name]
        if isinstance(want, str) and want.startswith("0x"):
            got, want = str(got).lower(), want.lower()
        assert got == want, f"{error.__name__}.{name}: expected {want!r}, got {got!r}"


def b32(name: str) -> bytes:
    """A short label as bytes32 (evidence hashes and the like in tests)."""
    return name.encode().ljust(32, b"\x00")


PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def permit_message(
    token, owner: str, spender: str, value: int, nonce: int, deadline: int
) -> SignableMessage:
    """The EIP-2612 Permit typed message for `token` (domain: name, "1", chain, token)."""
    domain = {
        "name": token.name(),
        "version": "1",
        "chainId": chain.chain_id,
        "verifyingContract": token.address,
    }
    message = {
        "owner": owner,
        "spender": spender,
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    return encode_typed_data(domain_data=domain, message_types=PERMIT_TYPES, message_data=message)


def permit_signature(
    token, owner, spender: str, value: int, deadline: int, nonce: int | None = None, signer_key=None
) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a permit from `owner` (an account or address), signed with eth-account by
    `signer_key` (default: the owner's own key)."""
    owner_address = getattr(owner, "address", owner)
    nonce = token.nonces(owner_address) if nonce is None else nonce
    message = permit_message(token, owner_address, spender, value, nonce, deadline)
    signed = Account.sign_message(message, signer_key or owner.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@dataclass
class NodeKey:
    """A node's own signing key (distinct from the owner's wallet)."""

    key: bytes
    address: str

    @classmethod
    def create(cls) -> NodeKey:
        acct = Account.create()
        return cls(bytes(acct.key), acct.address)


def hardware(kind: int, **overrides) -> tuple:
    """A valid HardwareClaim tuple for `kind`, with fields overridden by name."""
    claim = dict(
        hwClass=0,
        gpuCount=0,
        gpuModel=ZERO32,
        capacityBytes=0,
        h3Cell=0,
        latE6=0,
        lonE6=0,
        txPowerDbm=0,
        antennaGainDbi=0,
    )
    if kind == COMPUTE:
        claim.update(hwClass=1, gpuCount=1, gpuModel=b"CPU-AVX2".ljust(32, b"\x00"))
    elif kind == STORAGE:
        claim.update(capacityBytes=1 << 30)
    else:
        claim.update(
            h3Cell=0x8828308281FFFFF,
            latE6=37_775_000,
            lonE6=-122_418_000,
            txPowerDbm=270,
            antennaGainDbi=30,
        )
    claim.update(overrides)
    return tuple(claim.values())


def binding_signature(suite, owner: str, node: NodeKey) -> bytes:
    from oracle.protocol.eip712 import sign_node_binding

    return sign_node_binding(node.key, owner, chain.chain_id, suite.registry.address)


def register(
    suite,
    owner,
    kind: int = COMPUTE,
    node: NodeKey | None = None,
    region: int = REGION,
    endpoint: str = "http://127.0.0.1:9000",
    **hw,
) -> NodeKey:
    node = node or NodeKey.create()
    sig = binding_signature(suite, owner.address, node)
    suite.registry.register(
        node.address, kind, hardware(kind, **hw), region, endpoint, sig, sender=owner
    )
    return node


def fund(suite, deployer, account, tokens: int) -> None:
    suite.token.transfer(account, tokens * TOKEN, sender=deployer)


def stake(suite, owner, node: NodeKey, amount: int) -> None:
    suite.token.approve(suite.vault.address, amount, sender=owner)
    suite.vault.stake(node.address, amount, sender=owner)


def active_node(suite, deployer, owner, kind: int = COMPUTE, extra: int = 0, **kw) -> NodeKey:
    """Registers, funds, stakes the kind's minimum (+ extra) and activates a node."""
    node = register(suite, owner, kind, **kw)
    amount = suite.registry.minStake(kind) + extra
    suite.token.transfer(owner, amount, sender=deployer)
    stake(suite, owner, node, amount)
    suite.registry.activate(node.address, sender=owner)
    return node


def advance_to_epoch(suite, epoch: int, offset: int = 1) -> None:
    """Mines a block `offset` seconds into `epoch`."""
    target = suite.market.epochStart(epoch) + offset
    now = chain.pending_timestamp
    if target > now:
        chain.pending_timestamp = target
    chain.mine()


def advance_seconds(seconds: int) -> None:
    chain.pending_timestamp = chain.pending_timestamp + seconds
    chain.mine()


def make_report(
    suite,
    epoch: int,
    rewards: dict[str, int] | None = None,
    total: int | None = None,
    slashes: tuple[SlashRequest, ...] = (),
    results_root: bytes = b"\x01" * 32,
    version: int | None = None,
    parent: bytes | None = None,
) -> tuple[EpochReport, RewardsTree]:
    """An EpochReport over cumulative `rewards` (account -> amount) for `epoch`, building on
    `parent` (default: the last report the hub accepted)."""
    tree = RewardsTree(rewards or {})
    if total is None:
        already = suite.emissions.totalEmitted()
        total = sum(tree.amounts.values()) - already
    report = EpochReport(
        epoch=epoch,
        parent=last_digest(suite) if parent is None else parent,
        committee_version=suite.hub.committeeVersion() if version is None else version,
        rewards_root=tree.root,
        total_rewards=total,
        results_root=results_root,
        slashes=tuple(slashes),
    )
    return report, tree


def last_digest(suite) -> bytes:
    """The full digest of the last report the hub accepted (zero before the first), from its
    ReportAccepted log: the hub keeps only the first 20 bytes (`lastDigest`)."""
    hub = suite.hub.address
    topic = "0x" + keccak(b"ReportAccepted(uint64,bytes32,bytes32)").hex()
    logs = chain.provider.web3.eth.get_logs({"address": hub, "topics": [topic], "fromBlock": 0})
    digest = bytes(logs[-1]["topics"][2]) if logs else b"\x00" * 32
    assert digest[:20] == bytes(suite.hub.lastDigest()), "the log and the hub disagree"
    return digest


def epoch_of(suite, t: int) -> int:
    return (t - suite.hub.genesis()) // suite.hub.epochDuration()


def settle(suite, oracles, epoch: int) -> None:
    """Settles the hub through `epoch` with one report publishing nothing new (the epochs
    between are skipped), mining past the epoch's end: StakingVault pays an unbonding entry
    only once the hub has settled the epoch it was released in."""
    if suite.hub.nextEpoch() > epoch:
        return
    advance_to_epoch(suite, epoch + 1)
    # After an outage the gap rule needs the hub moved on first (anyone may: skipEpochs).
    while epoch - suite.hub.nextEpoch() > suite.hub.MAX_EPOCH_GAP():
        suite.hub.skipEpochs(sender=oracles[0])
    emitted = suite.emissions.totalEmitted()
    assert emitted == 0, "settle() publishes an empty rewards tree: only before any rewards"
    report, _ = make_report(suite, epoch)
    submit(suite, report, oracles[:3], sender=oracles[0])


def settle_release(suite, oracles, release_at: int) -> None:
    """settle() through the epoch containing `release_at`."""
    settle(suite, oracles, epoch_of(suite, release_at))


def sign(
    suite, report: EpochReport, signers, chain_id: int | None = None, hub: str | None = None
) -> bytes:
    """Packed signatures of `signers` (Ape test accounts), sorted as the hub requires."""
    cid = chain.chain_id if chain_id is None else chain_id
    where = hub or suite.hub.address
    return pack_signatures(sign_report(s.private_key, report, cid, where) for s in signers)


def submit(suite, report: EpochReport, signers, sender):
    return suite.hub.submitReport(report.as_tuple(), sign(suite, report, signers), sender=sender)


@contextmanager
def serving(app):
    """An aiohttp `app` on a free local port in a thread (and event loop) of its own, for code
    under test that calls it synchronously (from a test's own loop too); yields its base URL."""
    from aiohttp import web

    ready, box = threading.Event(), {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        box.update(loop=loop, port=runner.addresses[0][1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the app did not start"
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(10)
