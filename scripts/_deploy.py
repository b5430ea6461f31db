"""Deployment of the Plinth suite with Ape: parameters, idempotent deploy and wiring, and the
deployment file. Used by `ape run deploy`, the other scripts, the demo and the tests."""

from __future__ import annotations

import json
import os
import time
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ape import accounts, chain, networks, project
from ape.exceptions import ContractNotFoundError
from hexbytes import HexBytes

from oracle.protocol import bls
from oracle.service.chain import CONTRACTS
from oracle.service.score import STORAGE_FEE_MULTIPLE_PCT
from scripts import _anvil
from scripts._governance import Call, govern

_anvil.install()  # receipts on an anvil that mines on a timer (the README's persistent chain)

ROOT = Path(__file__).resolve().parent.parent
TOKEN = 10**18
WAD = 10**18
# Mainnet's per-transaction gas cap since EIP-7825; anvil does not enforce it, so we check it.
TX_GAS_CAP = 2**24
ZERO_ADDRESS = "0x" + "00" * 20
KINDS = ("compute", "storage", "wireless")
SLASH_REASONS = (
    "invalid_compute",
    "missed_deadline",
    "storage_audit_failed",
    "location_spoofed",
    "offline",
)
# OracleHub's Scheme enum, by the names the parameter file uses.
SCHEMES = ("ecdsa", "bls")


class ConfigError(ValueError):
    """A deployment parameter file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Params:
    epoch_duration: int
    genesis: int | str
    treasury: str
    guardian: str
    cap: int
    genesis_supply: int
    genesis_holder: str
    min_stakes: tuple[int, int, int]
    faults_to_jail: int
    jail_duration: int
    unbonding_delay: int
    dispute_window: int
    burn_bps: int
    penalties: tuple[int, ...]
    fee_bps: int
    schedule: tuple[int, int, int, int]
    committee: tuple[str, ...]
    threshold: int
    max_slashes: int
    scheme: str = "ecdsa"
    # The owner of every contract: a PlinthTimelock with this delay (seconds) and these
    # proposers; None: the deployer's account (unit tests, benchmarks).
    governance_delay: int | None = None
    proposers: tuple[str, ...] = ()
    source: str = field(default="", compare=False)


def _get(table: dict, key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing '{key}'")
    value = table[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}.{key}: expected an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _wad(text: str, where: str) -> int:
    try:
        value = Decimal(str(text))
    except ArithmeticError as exc:
        raise ConfigError(f"{where}: not a number: {text!r}") from exc
    return int(value * WAD)


def load_params(path: str | Path) -> Params:
    """Reads and validates a deployment parameter file (TOML); errors name the field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such parameter file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc

    def table(name: str) -> dict:
        t = raw.get(name)
        if not isinstance(t, dict):
            raise ConfigError(f"{path}: missing table [{name}]")
        return t

    clock, roles, token, registry = (
        table("clock"),
        table("roles"),
        table("token"),
        table("registry"),
    )
    staking, slashing, market = table("staking"), table("slashing"), table("marketplace")
    emissions, oracle = table("emissions"), table("oracle")
    governance = table("governance")
    proposers = governance.get("proposers")
    if not isinstance(proposers, list) or not proposers:
        raise ConfigError("governance.proposers: a non-empty list of addresses")

    genesis = clock.get("genesis", "now")
    if genesis != "now" and (not isinstance(genesis, int) or genesis <= 0):
        raise ConfigError("clock.genesis: 'now' or a positive unix timestamp")
    min_stakes = registry.get("min_stake_tokens", {})
    penalties = slashing.get("penalty_bps", {})
    for kind in KINDS:
        _get(min_stakes, kind, int, "registry.min_stake_tokens")
    for reason in SLASH_REASONS:
        _get(penalties, reason, int, "slashing.penalty_bps")
    committee = oracle.get("committee")
    if not isinstance(committee, list) or not committee:
        raise ConfigError("oracle.committee: a non-empty list of addresses")

    params = Params(
        epoch_duration=_get(clock, "epoch_duration", int, "clock"),
        genesis=genesis,
        treasury=_get(roles, "treasury", str, "roles"),
        guardian=_get(roles, "guardian", str, "roles"),
        cap=_get(token, "cap_tokens", int, "token") * TOKEN,
        genesis_supply=_get(token, "genesis_tokens", int, "token") * TOKEN,
        genesis_holder=_get(token, "genesis_holder", str, "token"),
        min_stakes=tuple(min_stakes[k] * TOKEN for k in KINDS),
        faults_to_jail=_get(registry, "faults_to_jail", int, "registry"),
        jail_duration=_get(registry, "jail_duration", int, "registry"),
        unbonding_delay=_get(staking, "unbonding_delay", int, "staking"),
        dispute_window=_get(slashing, "dispute_window", int, "slashing"),
        burn_bps=_get(slashing, "burn_bps", int, "slashing"),
        penalties=tuple(penalties[r] for r in SLASH_REASONS),
        fee_bps=_get(market, "fee_bps", int, "marketplace"),
        schedule=(
            _get(emissions, "floor0_tokens", int, "emissions") * TOKEN,
            _wad(_get(emissions, "floor_decay", str, "emissions"), "emissions.floor_decay"),
            _wad(_get(emissions, "kappa", str, "emissions"), "emissions.kappa"),
            _get(emissions, "cap_per_epoch_tokens", int, "emissions") * TOKEN,
        ),
        committee=tuple(committee),
        threshold=_get(oracle, "threshold", int, "oracle"),
        max_slashes=_get(oracle, "max_slashes_per_report", int, "oracle"),
        scheme=oracle.get("scheme", "ecdsa"),
        governance_delay=_get(governance, "delay", int, "governance"),
        proposers=tuple(proposers),
        source=str(path),
    )
    _check(params)
    return params


def _check(p: Params) -> None:
    if p.epoch_duration <= 0:
        raise ConfigError("clock.epoch_duration must be positive")
    if p.genesis_supply > p.cap:
        raise ConfigError("token.genesis_tokens exceeds token.cap_tokens")
    # A fault in epoch e is reported after e ends (up to one epoch later) and then waits out
    # the dispute window; stake unbonded at the fault must still be in the queue by then.
    needed = 2 * p.epoch_duration + p.dispute_window
    if p.unbonding_delay <= needed:
        raise ConfigError(
            f"staking.unbonding_delay ({p.unbonding_delay}s) must exceed two epochs plus the "
            f"dispute window ({needed}s), or a node could withdraw before its slash lands"
        )
    if p.governance_delay is not None:
        # A provider who starts leaving when a change is scheduled must be out before it runs:
        # unbonding, then the report of the epoch its release falls in (up to two epochs).
        leave = p.unbonding_delay + 2 * p.epoch_duration
        if p.governance_delay <= leave:
            raise ConfigError(
                f"governance.delay ({p.governance_delay}s) must exceed the unbonding delay plus "
                f"two epochs ({leave}s), so providers can leave before a scheduled change lands"
            )
    if not 0 < p.threshold <= len(p.committee) or 2 * p.threshold <= len(p.committee):
        raise ConfigError(
            f"oracle.threshold {p.threshold} for {len(p.committee)} members: need n/2 < t <= n"
        )
    if p.scheme not in SCHEMES:
        raise ConfigError(f"oracle.scheme: 'ecdsa' or 'bls', got {p.scheme!r}")
    if p.schedule[1] > WAD:
        raise ConfigError("emissions.floor_decay must be at most 1")
    problem = wash_trading_problem(p.fee_bps, p.schedule[2])
    if problem:
        raise ConfigError(problem)


def wash_trading_problem(fee_bps: int, kappa_wad: int) -> str | None:
    """Why leasing one's own node would pay at this fee and kappa, or None. A self-lease at
    price p costs the fee f p and earns at most STORAGE_FEE_MULTIPLE_PCT % of that fee in
    storage rewards plus kappa p in other kinds (oracle.service.score's docstring), so it never
    pays iff kappa < (1 - multiple) f."""
    keep = 100 - STORAGE_FEE_MULTIPLE_PCT
    if kappa_wad * 10_000 * 100 >= keep * fee_bps * WAD:
        return (
            f"emissions.kappa ({Decimal(kappa_wad) / WAD}) must be below "
            f"{keep} % of the marketplace fee ({fee_bps} bps, so below "
            f"{Decimal(keep * fee_bps) / 1_000_000}): at this kappa leasing one's own node "
            "earns more in rewards than it pays in fees"
        )
    return None


def resolve_address(spec: str, deployer) -> str:
    """'deployer', 'test:N' (local chains only) or a 0x address."""
    if spec == "deployer":
        return deployer.address
    if spec.startswith("test:"):
        if not networks.provider.network.is_local:
            raise ConfigError(f"'{spec}' names a test account; use real addresses off local chains")
        return accounts.test_accounts[int(spec[5:])].address
    if spec.startswith("0x") and len(spec) == 42:
        return spec
    raise ConfigError(f"not an address: {spec!r} (use 'deployer', 'test:N' or 0x...)")


def deployment_path(network_name: str | None = None) -> Path:
    name = network_name or networks.provider.network.name
    return ROOT / "deployments" / f"{name}.json"


class Suite:
    """The deployed contracts by name (suite.token, suite.hub, ...) and the deployment record."""

    ALIASES = {
        "token": "PlinthToken",
        "registry": "NodeRegistry",
        "vault": "StakingVault",
        "market": "Marketplace",
        "distributor": "RewardsDistributor",
        "emissions": "EmissionsController",
        "slashing": "SlashingManager",
        "hub": "OracleHub",
    }

    def __init__(self, contracts: dict[str, Any], record: dict, timelock=None):
        self.contracts = contracts
        self.record = record
        # The owner of every contract when the deployment has one (PlinthTimelock), else None.
        self.timelock = timelock
        for alias, name in self.ALIASES.items():
            setattr(self, alias, contracts[name])

    @property
    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.items()}


def load_suite(network_name: str | None = None) -> Suite:
    """The suite recorded in deployments/<network>.json; a clear error if it is not deployed."""
    path = deployment_path(network_name)
    if not path.exists():
        raise ConfigError(
            f"no deployment at {os.path.relpath(path, ROOT)}: run `ape run deploy` first"
        )
    record = json.loads(path.read_text())
    if record.get("chain_id") != chain.chain_id:
        raise ConfigError(
            f"{os.path.relpath(path, ROOT)} is for chain {record.get('chain_id')}, "
            f"connected to {chain.chain_id}: redeploy with `ape run deploy`"
        )
    contracts = {}
    for name in CONTRACTS:
        address = record["contracts"].get(name)
        if not address or not chain.provider.get_code(address):
            raise ConfigError(f"{name} is not deployed at {address}: run `ape run deploy`")
        contracts[name] = getattr(project, name).at(address)
    return Suite(contracts, record, _existing(record, "PlinthTimelock"))


def _existing(record: dict, name: str):
    address = record.get("contracts", {}).get(name)
    if not address:
        return None
    try:
        if not chain.provider.get_code(address):
            return None
        return getattr(project, name).at(address)
    except ContractNotFoundError:
        return None


def deploy_suite(
    deployer, params: Params, *, write: bool = True, replace: bool = False, log=print
) -> Suite:
    """Deploys what is missing, wires what is unwired and aligns mutable parameters. A second
    run against the same chain sends no transaction. With write=False nothing is read from or
    written to deployments/: a fresh suite every time (tests, benchmarks, the demo).

    A record in deployments/<network>.json whose suite is not on this chain (another chain id,
    or no contract at its addresses: a restarted anvil, or the throwaway anvil Ape starts when
    APE_FOUNDRY_HOST is mistyped) is never overwritten silently: ConfigError, unless `replace`,
    which moves it aside to deployments/<network>.<unix time>.json.bak first."""
    path = deployment_path()
    record: dict = {}
    # Without `write`, deploy afresh: an earlier run's record belongs to another chain's life.
    if write and path.exists():
        record = json.loads(path.read_text())
        if record.get("chain_id") != chain.chain_id or _existing(record, "PlinthToken") is None:
            backup = path.with_name(f"{path.stem}.{int(time.time())}.json.bak")
            where = os.path.relpath(path, ROOT)
            if not replace:
                token = record.get("contracts", {}).get("PlinthToken")
                raise ConfigError(
                    f"{where} records a suite that is not on this chain (chain "
                    f"{record.get('chain_id')}, PlinthToken {token}; connected to chain "
                    f"{chain.chain_id} at {chain.provider.uri}, block "
                    f"{chain.blocks.head.number}). Is this the chain you meant? (A mistyped "
                    "APE_FOUNDRY_HOST makes Ape start a throwaway anvil.) To deploy a new suite "
                    f"here and replace the record, run again with --replace (the old record is "
                    f"kept as {os.path.relpath(backup, ROOT)})."
                )
            path.rename(backup)
            log(f"  the old record of {where} moved to {os.path.relpath(backup, ROOT)}")
            record = {}
    sent = 0

    def step(name: str, deploy_args: tuple):
        nonlocal sent
        c = _existing(record, name)
        if c is not None:
            log(f"  {name:20s} {c.address} (already deployed)")
            return c
        c = deployer.deploy(getattr(project, name), *deploy_args)
        sent += 1
        log(f"  {name:20s} {c.address} deployed")
        record.setdefault("contracts", {})[name] = c.address
        return c

    addr = lambda spec: resolve_address(spec, deployer)  # noqa: E731
    genesis = record.get("genesis")
    if genesis is None:
        genesis = chain.blocks.head.timestamp if params.genesis == "now" else params.genesis
    record.update(chain_id=chain.chain_id, network=networks.provider.network.name, genesis=genesis)
    # the block before the suite's first contract: readers scan the suite's logs from there
    record.setdefault("from_block", chain.blocks.head.number)
    treasury, guardian = addr(params.treasury), addr(params.guardian)
    timelock = None
    if params.governance_delay is not None:
        proposers = [addr(p) for p in params.proposers]
        # Executors: address(0), anyone executes an operation once its delay is over.
        timelock = step("PlinthTimelock", (params.governance_delay, proposers, [ZERO_ADDRESS]))
    owner = timelock.address if timelock is not None else deployer.address

    token = step(
        "PlinthToken", (owner, params.cap, addr(params.genesis_holder), params.genesis_supply)
    )
    registry = step(
        "NodeRegistry",
        (owner, guardian, list(params.min_stakes), params.faults_to_jail, params.jail_duration),
    )
    vault = step("StakingVault", (owner, guardian, token, registry, params.unbonding_delay))
    market = step(
        "Marketplace",
        (
            owner,
            guardian,
            token,
            registry,
            treasury,
            params.fee_bps,
            genesis,
            params.epoch_duration,
        ),
    )
    distributor = step("RewardsDistributor", (owner, guardian, token))
    emissions = step(
        "EmissionsController", (owner, guardian, token, market, distributor, list(params.schedule))
    )
    slashing = step(
        "SlashingManager",
        (
            owner,
            guardian,
            token,
            vault,
            registry,
            market,
            treasury,
            params.dispute_window,
            params.burn_bps,
            list(params.penalties),
        ),
    )
    committee = sorted((addr(m) for m in params.committee), key=lambda a: int(a, 16))
    hub = step(
        "OracleHub",
        (
            owner,
            guardian,
            emissions,
            distributor,
            slashing,
            committee,
            params.threshold,
            params.max_slashes,
        ),
    )

    scheme = SCHEMES.index(params.scheme)
    if params.scheme == "bls":
        sent += _register_bls_keys(hub, committee, log)

    # One-time wiring: (description, current value, wanted value, transaction).
    wiring = [
        ("token minter", token.minter, emissions, token.setMinter),
        ("registry vault", registry.stakingVault, vault, registry.setStakingVault),
        ("registry slasher", registry.slashingManager, slashing, registry.setSlashingManager),
        ("vault slasher", vault.slashingManager, slashing, vault.setSlashingManager),
        ("market emissions", market.emissionsController, emissions, market.setEmissionsController),
        ("distributor hub", distributor.oracleHub, hub, distributor.setOracleHub),
        ("emissions hub", emissions.oracleHub, hub, emissions.setOracleHub),
        ("slashing hub", slashing.oracleHub, hub, slashing.setOracleHub),
    ]
    for what, current, wanted, tx in wiring:
        have = current()
        if have == wanted.address:
            continue
        if int(have, 16) != 0:
            raise ConfigError(
                f"{what} is wired to {have}, not {wanted.address}: redeploy the suite"
            )
        tx(wanted, sender=deployer)
        sent += 1
        log(f"  wired {what} -> {wanted.address}")

    # Mutable parameters: (description, on-chain value, wanted value, owner call). Changed
    # values go through the owner: one timelock batch (scheduled now, executed by a later run
    # once the delay is over) or, without a timelock, the deployer's transactions.
    syncs = [
        (
            "marketplace fee",
            market.feeBps(),
            params.fee_bps,
            Call(market, "setFee", (params.fee_bps,)),
        ),
        (
            "unbonding delay",
            vault.unbondingDelay(),
            params.unbonding_delay,
            Call(vault, "setUnbondingDelay", (params.unbonding_delay,)),
        ),
        (
            "dispute window",
            slashing.disputeWindow(),
            params.dispute_window,
            Call(slashing, "setDisputeWindow", (params.dispute_window,)),
        ),
        (
            "burn share",
            slashing.burnShareBps(),
            params.burn_bps,
            Call(slashing, "setBurnShare", (params.burn_bps,)),
        ),
        (
            "emission schedule",
            (
                emissions.floor0(),
                emissions.floorDecayWad(),
                emissions.kappaWad(),
                emissions.capPerEpoch(),
            ),
            params.schedule,
            Call(emissions, "setSchedule", tuple(params.schedule)),
        ),
        (
            "max slashes per report",
            hub.maxSlashesPerReport(),
            params.max_slashes,
            Call(hub, "setMaxSlashesPerReport", (params.max_slashes,)),
        ),
        (
            "committee",
            (tuple(hub.committee()), hub.threshold(), SCHEMES[hub.scheme()]),
            (tuple(committee), params.threshold, params.scheme),
            Call(hub, "setCommittee", (committee, params.threshold, scheme)),
        ),
    ]
    for i, kind_min in enumerate(params.min_stakes):
        syncs.append(
            (
                f"min stake ({KINDS[i]})",
                registry.minStake(i),
                kind_min,
                Call(registry, "setMinStake", (i, kind_min)),
            )
        )
    penalties_now = tuple(slashing.penaltyBps(i + 1) for i in range(len(SLASH_REASONS)))
    syncs += [
        (
            f"penalty {SLASH_REASONS[i]}",
            penalties_now[i],
            bps,
            Call(slashing, "setPenalty", (i + 1, bps)),
        )
        for i, bps in enumerate(params.penalties)
    ]
    changes = [(what, have, want, call) for what, have, want, call in syncs if have != want]
    if changes:
        for what, have, want, _ in changes:
            log(f"  set {what}: {have} -> {want}")

        def transact(what, fn, *args, sender):
            nonlocal sent
            fn(*args, sender=sender)
            sent += 1

        outcome = govern(timelock, deployer, [c for *_, c in changes], transact)
        if outcome.state in ("scheduled", "waiting"):
            wait = max(0, outcome.eta - chain.blocks.head.timestamp)
            log(
                f"  {outcome.state}: the change(s) above go through the timelock; executable "
                f"in {wait} s (at {outcome.eta}): run `ape run deploy` again then"
            )
        else:
            log(f"  {outcome.state}: the change(s) above are applied")

    deployed = dict(
        zip(
            CONTRACTS,
            (token, registry, vault, market, distributor, emissions, slashing, hub),
            strict=True,
        )
    )
    record.update(
        deployer=deployer.address,
        treasury=treasury,
        guardian=guardian,
        epoch_duration=params.epoch_duration,
        params=params.source,
        contracts={name: c.address for name, c in deployed.items()},
    )
    if timelock is not None:
        record["contracts"]["PlinthTimelock"] = timelock.address
        record["governance_delay"] = int(timelock.getMinDelay())
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")
        log(f"  addresses written to {os.path.relpath(path, ROOT)}")
    log(
        f"  {sent} transaction(s) sent"
        if sent
        else "  nothing to do: the suite is deployed and wired"
    )
    return Suite(deployed, record, timelock)


def _register_bls_keys(hub, members: list[str], log) -> int:
    """For oracle.scheme = "bls": registers at the hub the BLS key of every member that has
    none and whose account this process holds (local test accounts; the key is derived from the
    account's ECDSA key, oracle.protocol.bls.derive_secret_key). Any other member must have
    registered its own key already (its operator signs the proof of possession). Returns the count
    sent."""
    held = {}
    if networks.provider.network.is_local:
        held = {a.address: a for a in accounts.test_accounts}
    sent = 0
    for member in members:
        if not bls_key_missing(hub, member):
            continue
        account = held.get(member)
        if account is None:
            raise ConfigError(
                f"oracle.scheme = 'bls': committee member {member} has no BLS key at the hub; "
                "its operator must register one (registerBlsKey) before the committee is set"
            )
        register_bls_key(hub, account)
        sent += 1
        log(f"  registered the BLS key of {member}")
    return sent


def bls_key_missing(hub, member: str) -> bool:
    return tuple(hub.blsKeyOf(member)) == (0, 0)


def register_bls_key(hub, account, sk: int | None = None):
    """Registers `account`'s BLS key at `hub` with its proof of possession for this chain, hub
    and account; `sk` defaults to the key derived from the account's ECDSA key
    (oracle.protocol.bls.derive_secret_key, as the oracle derives it). Returns the receipt."""
    if sk is None:
        sk = bls.derive_secret_key(HexBytes(account.private_key))
    pk1, pk2 = bls.public_keys(sk)
    pop = bls.prove_possession(sk, chain.chain_id, hub.address, account.address)
    return hub.registerBlsKey(bls.g1_abi(pk1), bls.g2_abi(pk2), bls.g1_abi(pop), sender=account)
