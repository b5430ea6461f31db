"""Provider wallet: `ape run provider <command> ... --network ... --account ALIAS`.

  register      register a node (its own signing key: a keystore file, or a new one saved encrypted)
  stake         add stake to a node (approves the vault first if needed)
  activate      Registered -> Active once the kind's minimum stake is bonded
  price         set the node's lease price per epoch (0 withdraws the offer)
  unbond        move stake into the unbonding queue
  withdraw      pay out matured unbonding entries
  exit          leave the network (then unbond everything, withdraw, complete-exit)
  complete-exit Exiting -> Exited once no stake is left
  unjail        Jailed -> Active after the jail time
  claim         claim rewards with a proof from the oracle API
  status        a node's (or all your nodes') stake, queue, slashes, faults, price, rewards

Every command checks what the contracts would refuse before sending anything and says why;
amounts are whole tokens with decimals (e.g. 10000 or 12.5)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import click
from ape import chain
from ape.cli import ConnectedProviderCommand, account_option
from eth_account import Account
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from oracle.protocol.compute import HARDWARE_CLASSES, MAX_STREAMS
from oracle.protocol.eip712 import sign_node_binding
from oracle.protocol.hardware import HardwareClaim, NodeKind, NodeStatus
from oracle.protocol.merkle import (
    CHUNK_SIZE,
    ChunkTree,
    split_chunks,
    verify_chunk_proof,
    verify_rewards_proof,
)
from scripts._cli import (
    ADDRESS,
    AMOUNT,
    AMOUNT_OR_ZERO,
    ZERO_ADDRESS,
    arg_amount,
    ensure_allowance,
    event_args,
    fail,
    fields,
    fmt_amount,
    fmt_size,
    fmt_time,
    kind_name,
    now,
    parse_size,
    reason_name,
    require,
    require_balance,
    require_not_paused,
    require_owner_of,
    same,
    send,
    short,
    status_name,
    suite_or_fail,
    table,
    wrap_config_errors,
)
from scripts._deploy import KINDS

DEFAULT_KEY_DIR = Path.home() / ".plinth" / "node-keys"
MAX_UNBONDING_ENTRIES = 16


@click.group()
def cli():
    """Provider wallet: register, stake, price and run down Plinth nodes."""


# ---------------------------------------------------------------------------- node keys


def _read_password(password_file: str | None, confirm: bool) -> str:
    if password_file:
        try:
            text = Path(password_file).read_text()
        except OSError as exc:
            fail(f"cannot read the password file {password_file}: {exc.strerror}")
        password = text.splitlines()[0] if text else ""
    else:
        password = click.prompt("Node key password", hide_input=True, confirmation_prompt=confirm)
    if not password:
        fail("an empty password is not accepted for a node key")
    return password


def load_node_key(path: str, password_file: str | None):
    """The account of an eth-account keystore file (Account.encrypt)."""
    try:
        keystore = json.loads(Path(path).read_text())
    except OSError as exc:
        fail(f"cannot read the node key {path}: {exc.strerror}")
    except json.JSONDecodeError:
        fail(f"{path} is not a keystore file (JSON expected)")
    password = _read_password(password_file, confirm=False)
    try:
        key = Account.decrypt(keystore, password)
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"cannot decrypt {path}: {exc} (wrong password?)")
    return Account.from_key(key)


def create_node_key(save_to: str | None, password_file: str | None):
    """A new node key, saved encrypted (mode 0600) before anything is sent."""
    acct = Account.create()
    path = Path(save_to) if save_to else DEFAULT_KEY_DIR / f"{acct.address}.json"
    if path.exists():
        fail(f"{path} exists; refusing to overwrite a key file (choose another --save-key)")
    password = _read_password(password_file, confirm=True)
    keystore = Account.encrypt(acct.key, password)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keystore, fh)
    click.echo(f"New node key {acct.address} saved encrypted to {path}")
    click.echo("  (the node agent signs with it; keep it and its password safe)")
    return acct


# ---------------------------------------------------------------------------- hardware


def _h3_cell(lat: float, lon: float, given: str | None) -> int:
    import h3

    if given is None:
        return int(h3.latlng_to_cell(lat, lon, 8), 16)
    text = given.strip().lower().removeprefix("0x")
    if text.isdigit() and not h3.is_valid_cell(text):
        text = format(int(text), "x")  # a decimal integer
    if not h3.is_valid_cell(text):
        raise click.BadParameter(f"not a valid H3 cell: {given!r}", param_hint="--h3-cell")
    res = h3.get_resolution(text)
    if res < 8:
        raise click.BadParameter(
            f"H3 cell {given} has resolution {res}; 8 or finer is required", param_hint="--h3-cell"
        )
    if h3.latlng_to_cell(lat, lon, res) != text:
        raise click.BadParameter(
            f"H3 cell {given} does not contain ({lat}, {lon})", param_hint="--h3-cell"
        )
    return int(text, 16)


def build_claim(
    kind: NodeKind,
    gpu_model,
    gpu_count,
    hw_class,
    capacity,
    lat,
    lon,
    h3_cell,
    tx_power_dbm,
    antenna_gain_dbi,
) -> HardwareClaim:
    """The hardware claim for `kind`, refusing options of other kinds and out-of-range values
    (the same rules as NodeRegistry._checkHardware)."""
    given = {
        "--gpu-model": gpu_model,
        "--gpu-count": gpu_count,
        "--hw-class": hw_class,
        "--capacity": capacity,
        "--lat": lat,
        "--lon": lon,
        "--h3-cell": h3_cell,
        "--tx-power-dbm": tx_power_dbm,
        "--antenna-gain-dbi": antenna_gain_dbi,
    }
    own = {
        NodeKind.COMPUTE: {"--gpu-model", "--gpu-count", "--hw-class"},
        NodeKind.STORAGE: {"--capacity"},
        NodeKind.WIRELESS: {"--lat", "--lon", "--h3-cell", "--tx-power-dbm", "--antenna-gain-dbi"},
    }[kind]
    foreign = [opt for opt, v in given.items() if v is not None and opt not in own]
    if foreign:
        raise click.UsageError(
            f"{', '.join(foreign)} do(es) not apply to {kind.name.lower()} "
            f"nodes (their options: {', '.join(sorted(own))})"
        )
    if kind == NodeKind.COMPUTE:
        if not gpu_model:
            raise click.UsageError("compute nodes need --gpu-model (e.g. H100-SXM)")
        try:
            gpu_model.encode("ascii")
        except UnicodeEncodeError:
            raise click.BadParameter("ASCII only", param_hint="--gpu-model") from None
        if not 1 <= len(gpu_model) <= 32:
            raise click.BadParameter("1 to 32 characters", param_hint="--gpu-model")
        count = 1 if gpu_count is None else gpu_count
        if not 1 <= count <= MAX_STREAMS:
            raise click.BadParameter(
                f"1 to {MAX_STREAMS}: one compute challenge proves at most {MAX_STREAMS} GPUs "
                "(a larger claim earns nothing; register one node per machine)",
                param_hint="--gpu-count",
            )
        cls = 1 if hw_class is None else hw_class
        if cls not in HARDWARE_CLASSES:
            table = ", ".join(f"{c.index} {c.name}" for c in HARDWARE_CLASSES.values())
            raise click.BadParameter(f"one of the classes {table}", param_hint="--hw-class")
        return HardwareClaim.compute(gpu_model, gpu_count=count, hw_class=cls)
    if kind == NodeKind.STORAGE:
        if capacity is None:
            raise click.UsageError("storage nodes need --capacity (e.g. 500GiB)")
        size = parse_size(capacity)
        if not 0 < size < 2**64:
            raise click.BadParameter(
                "must be positive and below 2^64 bytes", param_hint="--capacity"
            )
        return HardwareClaim.storage(size)
    if lat is None or lon is None:
        raise click.UsageError("wireless nodes need --lat and --lon (degrees)")
    if not -90 <= lat <= 90:
        raise click.BadParameter("latitude in [-90, 90]", param_hint="--lat")
    if not -180 <= lon <= 180:
        raise click.BadParameter("longitude in [-180, 180]", param_hint="--lon")
    tx = 27.0 if tx_power_dbm is None else tx_power_dbm
    gain = 3.0 if antenna_gain_dbi is None else antenna_gain_dbi
    if not 0 < round(tx * 10) <= 400:
        raise click.BadParameter("above 0 and at most 40 dBm", param_hint="--tx-power-dbm")
    if not -100 <= round(gain * 10) <= 300:
        raise click.BadParameter("-10 to 30 dBi", param_hint="--antenna-gain-dbi")
    cell = _h3_cell(lat, lon, h3_cell)
    return HardwareClaim.wireless(lat, lon, tx_power_dbm=tx, antenna_gain_dbi=gain, h3_cell=cell)


def describe_hardware(kind: int, hw) -> str:
    if kind == NodeKind.COMPUTE:
        model = bytes(hw.gpuModel).rstrip(b"\x00").decode("ascii", "replace")
        return f"{hw.gpuCount} x {model}, class {hw.hwClass}"
    if kind == NodeKind.STORAGE:
        return f"{fmt_size(hw.capacityBytes)} ({hw.capacityBytes:,} bytes)"
    return (
        f"({hw.latE6 / 1e6:.6f}, {hw.lonE6 / 1e6:.6f}), H3 {hw.h3Cell:x}, "
        f"{hw.txPowerDbm / 10:g} dBm, {hw.antennaGainDbi / 10:g} dBi"
    )


# ---------------------------------------------------------------------------- register


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--kind", type=click.Choice(KINDS, case_sensitive=False), required=True)
@click.option(
    "--node-key",
    "node_key",
    type=click.Path(dir_okay=False),
    help="the node's keystore file (eth-account Account.encrypt); a new key is made if absent",
)
@click.option(
    "--save-key",
    type=click.Path(dir_okay=False),
    help=f"where to save a new node key [default: {DEFAULT_KEY_DIR}/<address>.json]",
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="file whose first line is the node key's password (else prompted)",
)
@click.option(
    "--region",
    type=click.IntRange(1, 65535),
    required=True,
    help="region code (e.g. ISO 3166 numeric: 840 = US); customers lease by region",
)
@click.option("--endpoint", required=True, help="URL the oracles challenge the node at")
@click.option("--gpu-model", help="compute: GPU model, e.g. H100-SXM")
@click.option("--gpu-count", type=int, help="compute: number of GPUs [default: 1]")
@click.option("--hw-class", type=int, help="compute: hardware class index [default: 1]")
@click.option("--capacity", help="storage: capacity offered, e.g. 500GiB or 2TB")
@click.option("--lat", type=float, help="wireless: latitude in degrees")
@click.option("--lon", type=float, help="wireless: longitude in degrees")
@click.option("--h3-cell", help="wireless: H3 cell (hex), resolution >= 8 [default: from lat/lon]")
@click.option("--tx-power-dbm", type=float, help="wireless: transmit power [default: 27]")
@click.option("--antenna-gain-dbi", type=float, help="wireless: antenna gain [default: 3]")
@wrap_config_errors
def register(
    account,
    kind,
    node_key,
    save_key,
    password_file,
    region,
    endpoint,
    gpu_model,
    gpu_count,
    hw_class,
    capacity,
    lat,
    lon,
    h3_cell,
    tx_power_dbm,
    antenna_gain_dbi,
):
    """Register a node under its own key, bound to ACCOUNT by the key's signature."""
    kind_id = NodeKind.parse(kind)
    claim = build_claim(
        kind_id,
        gpu_model,
        gpu_count,
        hw_class,
        capacity,
        lat,
        lon,
        h3_cell,
        tx_power_dbm,
        antenna_gain_dbi,
    )
    if not endpoint.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--endpoint")
    if not 1 <= len(endpoint.encode()) <= 256:
        raise click.BadParameter("at most 256 bytes", param_hint="--endpoint")
    if save_key and node_key:
        raise click.UsageError("--save-key is for a new key; --node-key loads an existing one")

    suite = suite_or_fail()
    require_not_paused(suite.registry, "node registry")
    if node_key:
        key = load_node_key(node_key, password_file)
        existing = suite.registry.getNode(key.address)
        if existing.status != NodeStatus.NONE:
            fail(
                f"node key {key.address} is already registered (owner {existing.owner}, status "
                f"{status_name(existing.status)}); a key registers once, ever: make a new one by "
                "leaving out --node-key"
            )
    else:
        key = create_node_key(save_key, password_file)
    if same(key.address, account.address):
        fail("the node key must differ from your wallet: the node agent holds the node key")

    signature = sign_node_binding(key.key, account.address, chain.chain_id, suite.registry.address)
    click.echo(
        f"Registering {kind_id.name.lower()} node {key.address} for {account.address}: "
        f"region {region}, {describe_hardware_claim(kind_id, claim)}, endpoint {endpoint}"
    )
    send(
        f"register node {short(key.address)}",
        suite.registry.register,
        key.address,
        int(kind_id),
        claim.as_tuple(),
        region,
        endpoint,
        signature,
        sender=account,
    )
    minimum = suite.registry.minStake(int(kind_id))
    click.echo(
        f"Node {key.address} is Registered. Next: stake at least {fmt_amount(minimum)} and "
        f"activate:\n  ape run provider stake {key.address} {arg_amount(minimum)}"
        f"\n  ape run provider activate {key.address}"
    )


def describe_hardware_claim(kind: NodeKind, claim: HardwareClaim) -> str:
    view = SimpleNamespace(
        gpuModel=claim.gpu_model,
        gpuCount=claim.gpu_count,
        hwClass=claim.hw_class,
        capacityBytes=claim.capacity_bytes,
        latE6=claim.lat_e6,
        lonE6=claim.lon_e6,
        h3Cell=claim.h3_cell,
        txPowerDbm=claim.tx_power_dbm,
        antennaGainDbi=claim.antenna_gain_dbi,
    )
    return describe_hardware(int(kind), view)


# ---------------------------------------------------------------------------- stake


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@click.argument("amount", type=AMOUNT)
@wrap_config_errors
def stake(account, node, amount):
    """Add AMOUNT tokens to NODE's bonded stake (approving the vault first if needed)."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    if n.status in (NodeStatus.EXITING, NodeStatus.EXITED):
        fail(f"node {node} is {status_name(n.status)}: it cannot take stake any more")
    require_not_paused(suite.vault, "staking vault")
    require_balance(suite, account, amount, f"staking {fmt_amount(amount)}")
    ensure_allowance(suite, account, suite.vault, amount, "staking vault")
    send(
        f"stake {fmt_amount(amount)} on {short(node)}",
        suite.vault.stake,
        node,
        amount,
        sender=account,
    )
    bonded = suite.vault.bondedOf(node)
    minimum = suite.registry.minStake(n.kind)
    click.echo(
        f"Node {node} now has {fmt_amount(bonded)} bonded "
        f"(minimum for {kind_name(n.kind)} nodes: {fmt_amount(minimum)})."
    )
    if n.status == NodeStatus.REGISTERED:
        if bonded >= minimum:
            click.echo(f"Ready to activate: ape run provider activate {node}")
        else:
            click.echo(f"Stake {fmt_amount(minimum - bonded)} more to activate.")


# ---------------------------------------------------------------------------- activate


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@wrap_config_errors
def activate(account, node):
    """Registered -> Active, once NODE's bonded stake meets its kind's minimum."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    if n.status != NodeStatus.REGISTERED:
        fail(
            f"node {node} is {status_name(n.status)}; only a Registered node can be activated"
            + (" (a jailed node: use `unjail`)" if n.status == NodeStatus.JAILED else "")
        )
    require_not_paused(suite.registry, "node registry")
    bonded = suite.vault.bondedOf(node)
    minimum = suite.registry.minStake(n.kind)
    if bonded < minimum:
        fail(
            f"node {node} has {fmt_amount(bonded)} bonded, below the minimum of "
            f"{fmt_amount(minimum)} for {kind_name(n.kind)} nodes: stake "
            f"{fmt_amount(minimum - bonded)} more first:\n"
            f"  ape run provider stake {node} {arg_amount(minimum - bonded)}"
        )
    send(f"activate {short(node)}", suite.registry.activate, node, sender=account)
    click.echo(
        f"Node {node} is Active: the oracles challenge it from the next epoch. "
        f"Set a price so customers can lease it: ape run provider price {node} AMOUNT"
    )


# ---------------------------------------------------------------------------- price


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@click.argument("amount_per_epoch", type=AMOUNT_OR_ZERO)
@wrap_config_errors
def price(account, node, amount_per_epoch):
    """Set NODE's lease price per epoch (0 withdraws the offer)."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    require(amount_per_epoch < 2**128, "the price must be below 2^128 base units")
    require_not_paused(suite.market, "marketplace")
    current = suite.market.priceOf(node)
    if current == amount_per_epoch:
        click.echo(f"Node {node} already costs {fmt_amount(current)} per epoch: nothing to send.")
        return
    send(
        f"set price of {short(node)} to {fmt_amount(amount_per_epoch)}/epoch",
        suite.market.setPrice,
        node,
        amount_per_epoch,
        sender=account,
    )
    if amount_per_epoch == 0:
        click.echo(f"Node {node} is no longer offered to customers.")
    else:
        click.echo(
            f"Node {node} costs {fmt_amount(amount_per_epoch)} per epoch "
            f"(was {fmt_amount(current)}); open leases keep their price."
        )
    if not suite.registry.isEligible(node):
        click.echo(
            f"Note: the node is {status_name(n.status)} and not eligible; customers can "
            "lease it once it is Active with the minimum stake."
        )


# ---------------------------------------------------------------------------- unbond


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@click.argument("amount", type=AMOUNT)
@wrap_config_errors
def unbond(account, node, amount):
    """Move AMOUNT of NODE's bonded stake into the unbonding queue."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    bonded = suite.vault.bondedOf(node)
    if amount > bonded:
        fail(
            f"node {node} has only {fmt_amount(bonded)} bonded; cannot unbond {fmt_amount(amount)}"
        )
    if n.status in (NodeStatus.ACTIVE, NodeStatus.JAILED):
        minimum = suite.registry.minStake(n.kind)
        if bonded - amount < minimum:
            most = max(bonded - minimum, 0)
            fail(
                f"node {node} is {status_name(n.status)} and must keep {fmt_amount(minimum)} "
                f"bonded; at most {fmt_amount(most)} can be unbonded now. To unbond everything, "
                f"exit first: ape run provider exit {node}"
            )
    entries = suite.vault.unbondingEntries(node)
    if len(entries) >= MAX_UNBONDING_ENTRIES:
        fail(
            f"node {node}'s unbonding queue is full ({len(entries)} entries): withdraw matured "
            "entries first"
        )
    require_not_paused(suite.vault, "staking vault")
    receipt = send(
        f"unbond {fmt_amount(amount)} from {short(node)}",
        suite.vault.requestUnbond,
        node,
        amount,
        sender=account,
    )
    ev = event_args(suite.vault, "UnbondRequested", receipt)
    release = ev["releaseAt"] if ev else now() + suite.vault.unbondingDelay()
    click.echo(
        f"{fmt_amount(amount)} unbonding; withdrawable from {fmt_time(release)}, once the "
        "oracle hub has settled that epoch. It stays slashable until withdrawn."
    )


# ---------------------------------------------------------------------------- withdraw


def _pending_slashes(suite, node: str, count: int) -> list:
    """The pending slashes against `node` (newest first), scanning back from the latest."""
    found = []
    if count == 0:
        return found
    for slash_id in range(suite.slashing.slashCount(), 0, -1):
        s = suite.slashing.getSlash(slash_id)
        if s.status == 1 and same(s.node, node):
            found.append((slash_id, s))
            if len(found) == count:
                break
    return found


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@wrap_config_errors
def withdraw(account, node):
    """Pay out every matured unbonding entry of NODE to its owner."""
    suite = suite_or_fail()
    require_owner_of(suite, node, account)
    pending = suite.slashing.pendingSlashCount(node)
    if pending:
        lines = [
            f"  slash {i}: {reason_name(s.reason)}, {fmt_amount(s.amount)}, executable "
            f"{fmt_time(s.executableAt)}"
            for i, s in _pending_slashes(suite, node, pending)
        ]
        fail(
            f"{pending} slash(es) pending against node {node}: withdrawals wait until they are "
            "executed or cancelled\n" + "\n".join(lines)
        )
    t = now()
    entries = suite.vault.unbondingEntries(node)
    hub = suite.hub
    settled_before, genesis, duration = hub.nextEpoch(), hub.genesis(), hub.epochDuration()

    def epoch_of(release_at: int) -> int:
        return max(release_at - genesis, 0) // duration

    ripe = [e for e in entries if e.releaseAt <= t]
    matured = sum(e.amount for e in ripe if epoch_of(e.releaseAt) < settled_before)
    if matured == 0:
        if not entries:
            fail(f"node {node} has nothing unbonding: unbond first (ape run provider unbond ...)")
        if ripe:
            waiting = min(epoch_of(e.releaseAt) for e in ripe)
            fail(
                f"{fmt_amount(sum(e.amount for e in ripe))} has matured, but the oracle hub has "
                f"settled epochs up to {settled_before - 1} only: an entry released in epoch "
                f"{waiting} is paid once that epoch's report has landed (its slashes come first)"
            )
        nxt = min(entries, key=lambda e: e.releaseAt)
        fail(
            f"nothing has matured yet: the next entry ({fmt_amount(nxt.amount)}) matures at "
            f"{fmt_time(nxt.releaseAt, t)}, and is paid once the oracle hub has settled that "
            f"epoch ({epoch_of(nxt.releaseAt)})"
        )
    require_not_paused(suite.vault, "staking vault")
    receipt = send(f"withdraw from {short(node)}", suite.vault.withdraw, node, sender=account)
    ev = event_args(suite.vault, "Withdrawn", receipt)
    paid = ev["amount"] if ev else matured
    click.echo(f"Withdrew {fmt_amount(paid)} to {account.address}.")
    left = suite.vault.slashableOf(node)
    status = suite.registry.statusOf(node)
    if left:
        click.echo(f"Still staked or unbonding: {fmt_amount(left)}.")
    elif status == NodeStatus.EXITING:
        click.echo(f"No stake left: finish the exit with `ape run provider complete-exit {node}`.")


# ---------------------------------------------------------------------------- exit


@cli.command(name="exit", cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@wrap_config_errors
def exit_(account, node):
    """Take NODE out of the network (Registered, Active or Jailed -> Exiting)."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    if n.status not in (NodeStatus.REGISTERED, NodeStatus.ACTIVE, NodeStatus.JAILED):
        fail(
            f"node {node} is {status_name(n.status)}; only a Registered, Active or Jailed node "
            "can exit"
        )
    send(f"exit {short(node)}", suite.registry.exit, node, sender=account)
    bonded = suite.vault.bondedOf(node)
    click.echo(f"Node {node} is Exiting: it is no longer challenged, rewarded or leasable.")
    if bonded:
        click.echo(
            f"Unbond its {fmt_amount(bonded)}: ape run provider unbond {node} {arg_amount(bonded)}"
        )


@cli.command(name="complete-exit", cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@wrap_config_errors
def complete_exit(account, node):
    """Exiting -> Exited, once NODE has no stake bonded or unbonding."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    if n.status != NodeStatus.EXITING:
        fail(f"node {node} is {status_name(n.status)}; only an Exiting node can complete its exit")
    left = suite.vault.slashableOf(node)
    if left:
        fail(
            f"node {node} still has {fmt_amount(left)} bonded or unbonding: unbond and withdraw "
            "it first"
        )
    send(f"complete exit of {short(node)}", suite.registry.completeExit, node, sender=account)
    click.echo(f"Node {node} is Exited.")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("node", type=ADDRESS)
@wrap_config_errors
def unjail(account, node):
    """Jailed -> Active after the jail time, if the stake still meets the minimum."""
    suite = suite_or_fail()
    n = require_owner_of(suite, node, account)
    if n.status != NodeStatus.JAILED:
        fail(f"node {node} is {status_name(n.status)}, not Jailed")
    if now() < n.jailedUntil:
        fail(f"node {node} is jailed until {fmt_time(n.jailedUntil)}")
    bonded, minimum = suite.vault.bondedOf(node), suite.registry.minStake(n.kind)
    if bonded < minimum:
        fail(
            f"node {node} has {fmt_amount(bonded)} bonded, below the minimum of "
            f"{fmt_amount(minimum)}: stake {fmt_amount(minimum - bonded)} more first"
        )
    require_not_paused(suite.registry, "node registry")
    send(f"unjail {short(node)}", suite.registry.unjail, node, sender=account)
    click.echo(f"Node {node} is Active again.")


# ---------------------------------------------------------------------------- claim


MAX_CLAIM_BYTES = 1 << 20  # an oracle's /claims answer: a proof of 2 x 64 hashes is ~9 KB


def fetch_claim(url: str, account: str) -> dict:
    """GET <url>/claims/<account> from an oracle's API: the JSON object, or a clear failure
    (unreachable, an error the API explains, too large, not JSON)."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise click.BadParameter(f"an http(s) URL, got {url!r}", param_hint="--oracle")
    where = f"{base}/claims/{account}"
    try:
        with urllib.request.urlopen(where, timeout=10) as r:
            body = r.read(MAX_CLAIM_BYTES + 1)
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read(4096)).get("error", exc.reason)
        except (ValueError, AttributeError):
            reason = exc.reason
        fail(f"the oracle at {base} answered {exc.code}: {reason}")
    except (urllib.error.URLError, OSError) as exc:
        fail(f"cannot reach the oracle at {base}: {getattr(exc, 'reason', exc)}")
    if len(body) > MAX_CLAIM_BYTES:
        fail(f"the oracle at {base} sent more than {MAX_CLAIM_BYTES} bytes for one claim")
    try:
        return json.loads(body)
    except ValueError:
        fail(f"the oracle at {base} did not answer JSON at {where}")


def _claim_inputs(epoch, amount, proof, from_file, account_address, oracle_url=None):
    """(epoch, account, cumulative amount in base units, proof as bytes32 list), from the
    options, a file or an oracle's API."""
    target = account_address
    if from_file or oracle_url:
        if epoch is not None or amount is not None or proof is not None:
            raise click.UsageError("--from-file and --oracle replace --epoch, --amount and --proof")
        if from_file and oracle_url:
            raise click.UsageError("give --from-file or --oracle, not both")
        if oracle_url:
            data = fetch_claim(oracle_url, account_address)
            from_file = f"the oracle's answer ({oracle_url})"
        else:
            try:
                data = json.loads(Path(from_file).read_text())
            except OSError as exc:
                fail(f"cannot read {from_file}: {exc.strerror}")
            except json.JSONDecodeError as exc:
                fail(f"{from_file} is not JSON: {exc}")
        if not isinstance(data, dict):
            fail(f"{from_file}: expected an object with epoch, amount and proof")
        epoch = data.get("epoch")
        raw = next(
            (data[k] for k in ("amount", "cumulativeAmount", "cumulative_amount") if k in data),
            None,
        )
        proof = data.get("proof")
        if "account" in data:
            if not isinstance(data["account"], str) or not is_address(data["account"]):
                fail(f"{from_file}: 'account' is not an address: {str(data['account'])[:60]!r}")
            if oracle_url and to_checksum_address(data["account"]) != target:
                fail(f"{from_file} is for {data['account']}, not {target}")
            target = to_checksum_address(data["account"])
        if epoch is None or raw is None or proof is None:
            fail(f"{from_file}: needs 'epoch', 'amount' (cumulative, base units) and 'proof'")
        try:
            epoch = int(epoch)
            units = int(raw) if not isinstance(raw, float) else None
        except (TypeError, ValueError):
            units = None
        if not isinstance(epoch, int) or not 0 <= epoch < 2**64:
            fail(f"{from_file}: 'epoch' must be an epoch number, got {str(epoch)[:40]!r}")
        if units is None or units <= 0:
            fail(f"{from_file}: 'amount' must be a positive integer in base units, got {raw!r}")
    else:
        if epoch is None or amount is None or proof is None:
            raise click.UsageError("give --epoch, --amount and --proof, or --from-file")
        units = amount
        try:
            proof = json.loads(proof)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--proof") from None
    if not isinstance(proof, list):
        fail("the proof must be a JSON list of 32-byte hex strings")
    try:
        proof_bytes = [HexBytes(p) for p in proof]
    except (TypeError, ValueError):
        fail("the proof must be a JSON list of 32-byte hex strings")
    if any(len(p) != 32 for p in proof_bytes):
        fail("every proof element must be 32 bytes (64 hex digits)")
    return int(epoch), target, units, proof_bytes


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--epoch", type=int, help="the epoch whose rewards root the proof is against")
@click.option(
    "--amount",
    type=AMOUNT,
    help="cumulative amount earned (tokens, or base units with a 'wei' suffix)",
)
@click.option("--proof", help='JSON list of hex hashes, e.g. \'["0xab..", "0xcd.."]\'')
@click.option(
    "--from-file",
    type=click.Path(dir_okay=False),
    help="JSON file with epoch, amount (cumulative, base units) and proof, as served "
    "by the oracle API",
)
@click.option(
    "--oracle",
    "oracle_url",
    help="an oracle's API URL (e.g. http://127.0.0.1:8700): the epoch, amount and proof are "
    "fetched from its /claims/<account>",
)
@click.option(
    "--for",
    "for_account",
    type=ADDRESS,
    help="claim for another account (the tokens always go to it)",
)
@wrap_config_errors
def claim(account, epoch, amount, proof, from_file, oracle_url, for_account):
    """Claim everything owed under an epoch's rewards root with one proof: from an oracle's
    API (--oracle URL), a file it served (--from-file) or the values (--epoch, --amount,
    --proof)."""
    epoch, target, units, proof_bytes = _claim_inputs(
        epoch, amount, proof, from_file, for_account or account.address, oracle_url
    )
    if for_account:
        target = for_account
    suite = suite_or_fail()
    dist = suite.distributor
    root = HexBytes(dist.rootOf(epoch))
    if root == HexBytes(b"\x00" * 32):
        latest = dist.latestEpoch()
        if HexBytes(dist.rootOf(latest)) == HexBytes(b"\x00" * 32):
            fail("no rewards root has been published yet: nothing can be claimed")
        fail(
            f"no claimable rewards root for epoch {epoch} (latest root: epoch {latest}; only "
            "the latest roots are kept): fetch a fresh proof from the oracle API"
        )
    if not verify_rewards_proof(bytes(root), target, units, [bytes(p) for p in proof_bytes]):
        fail(
            f"the proof does not match epoch {epoch}'s rewards root for {target} and a "
            f"cumulative {fmt_amount(units)}: check the account, amount and epoch"
        )
    claimed = dist.claimedOf(target)
    if claimed >= units:
        fail(
            f"nothing to claim: {target} has already claimed {fmt_amount(claimed)} of the "
            f"cumulative {fmt_amount(units)}"
        )
    require_not_paused(dist, "rewards distributor")
    receipt = send(
        f"claim {fmt_amount(units - claimed)} for {short(target)}",
        dist.claim,
        epoch,
        target,
        units,
        proof_bytes,
        sender=account,
    )
    ev = event_args(dist, "Claimed", receipt)
    paid = ev["amount"] if ev else units - claimed
    click.echo(f"Claimed {fmt_amount(paid)} to {target} (cumulative {fmt_amount(units)}).")


# ---------------------------------------------------------------------------- dispute

STORAGE_AUDIT_FAILED, PENDING = 3, 1  # ISlashingManager.SlashReason / SlashStatus


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("slash_id", type=int)
@click.option(
    "--agent-data",
    type=click.Path(file_okay=False, exists=True),
    help="the storage agent's data_dir (agent.toml): the chunk and its proof are read from it",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(dir_okay=False, exists=True),
    help="the lease's whole data as uploaded (the chunk and its proof are computed from it)",
)
@wrap_config_errors
def dispute(account, slash_id, agent_data, data_file):
    """Cancel a pending storage slash by showing the chunk the node was said not to hold, with
    its Merkle proof against the lease's data root, before the dispute window closes. Anyone
    may send it; the node's stake is released."""
    if (agent_data is None) == (data_file is None):
        raise click.UsageError("give --agent-data DIR or --data FILE")
    suite = suite_or_fail()
    slashing = suite.slashing
    if not 0 < slash_id <= slashing.slashCount():
        fail(f"there is no slash {slash_id} (slashes 1 to {slashing.slashCount()})")
    s = slashing.getSlash(slash_id)
    if s.reason != STORAGE_AUDIT_FAILED:
        fail(
            f"slash {slash_id} is for {reason_name(s.reason)}: only storage slashes can be "
            "disputed (with the chunk)"
        )
    if s.status != PENDING:
        fail(f"slash {slash_id} is no longer pending: nothing to dispute")
    t = now()
    if t >= s.executableAt:
        fail(f"the dispute window of slash {slash_id} closed {fmt_time(s.executableAt, t)}")
    lease = suite.market.getLease(s.leaseId)
    root, size, index = bytes(lease.dataRoot), int(lease.dataSize), int(s.chunkIndex)
    n_chunks = max(1, -(-size // CHUNK_SIZE))
    if agent_data is not None:
        from oracle.agent.store import LeaseNotFound, LeaseStore

        try:
            [(_, chunk, proof)] = LeaseStore(Path(agent_data)).read(int(s.leaseId), [index])
        except LeaseNotFound:
            fail(f"{agent_data} holds no data of lease {s.leaseId}: is it the agent's data_dir?")
        except OSError as exc:
            fail(f"cannot read lease {s.leaseId} from {agent_data}: {exc}")
    else:
        chunks = split_chunks(Path(data_file).read_bytes())
        tree = ChunkTree(chunks)
        if tree.root != root or index >= len(chunks):
            fail(f"{data_file} is not lease {s.leaseId}'s data: its root differs from the lease's")
        chunk, proof = chunks[index], tree.proof(index)
    if not verify_chunk_proof(root, n_chunks, index, chunk, proof):
        fail(
            f"chunk {index} of lease {s.leaseId} as held there does not match the lease's data "
            "root: the node does not hold it, so the slash stands"
        )
    receipt = send(
        f"dispute slash {slash_id} (lease {s.leaseId}, chunk {index})",
        slashing.disputeStorageSlash,
        slash_id,
        chunk,
        [bytes(p) for p in proof],
        sender=account,
    )
    ev = event_args(slashing, "SlashDisputed", receipt)
    click.echo(
        f"Slash {slash_id} disputed: {fmt_amount(s.amount)} of node "
        f"{ev['node'] if ev else s.node}'s stake released."
    )


# ---------------------------------------------------------------------------- status


def _owned_nodes(suite, owner: str) -> list[str]:
    """Every node key `owner` registered (enumerated off-chain with nodeCount/nodeAt)."""
    reg = suite.registry
    return [
        node
        for node in (reg.nodeAt(i) for i in range(reg.nodeCount()))
        if same(reg.ownerOf(node), owner)
    ]


def _node_details(suite, node: str, t: int) -> list[tuple[str, str]]:
    n = suite.registry.getNode(node)
    bonded = suite.vault.bondedOf(node)
    minimum = suite.registry.minStake(n.kind)
    entries = suite.vault.unbondingEntries(node)
    price = suite.market.priceOf(node)
    pending = suite.slashing.pendingSlashCount(node)
    faults_to_jail, _ = suite.registry.jailPolicy()
    rows = [
        ("node", node),
        ("owner", n.owner),
        ("kind", kind_name(n.kind)),
        (
            "status",
            status_name(n.status)
            + (
                " (eligible: challenged, rewarded, leasable)"
                if suite.registry.isEligible(node)
                else " (not eligible)"
            ),
        ),
        ("region", n.region),
        ("hardware", describe_hardware(n.kind, n.hardware)),
        ("endpoint", n.endpoint),
        ("registered", fmt_time(n.registeredAt, t)),
        ("bonded", f"{fmt_amount(bonded)} (minimum {fmt_amount(minimum)})"),
    ]
    if entries:
        total = sum(e.amount for e in entries)
        rows.append(
            (
                "unbonding",
                f"{fmt_amount(total)} in {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
            )
        )
        for e in sorted(entries, key=lambda e: e.releaseAt):
            state = "matured" if e.releaseAt <= t else "releases"
            rows.append(("", f"{fmt_amount(e.amount)} {state} {fmt_time(e.releaseAt, t)}"))
        matured = sum(e.amount for e in entries if e.releaseAt <= t)
        rows.append(
            (
                "withdrawable",
                fmt_amount(matured)
                + (" (blocked by pending slashes)" if pending and matured else ""),
            )
        )
    else:
        rows.append(("unbonding", "none"))
    rows.append(("pending slashes", str(pending)))
    for slash_id, s in _pending_slashes(suite, node, pending):
        rows.append(
            (
                "",
                f"#{slash_id} {reason_name(s.reason)} {fmt_amount(s.amount)}"
                + (f" (lease {s.leaseId}, chunk {s.chunkIndex})" if s.reason == 3 else "")
                + f", executable {fmt_time(s.executableAt, t)}",
            )
        )
    rows.append(("faults", f"{n.faults} (jailed at {faults_to_jail})"))
    rows.append(("price", f"{fmt_amount(price)} per epoch" if price else "not offered"))
    if n.status == NodeStatus.JAILED or n.jailedUntil:
        rows.append(("jailed until", fmt_time(n.jailedUntil, t) if n.jailedUntil else "-"))
    return rows


def _rewards_rows(suite, owner: str) -> list[tuple[str, str]]:
    dist = suite.distributor
    latest = dist.latestEpoch()
    has_root = HexBytes(dist.rootOf(latest)) != HexBytes(b"\x00" * 32)
    return [
        ("rewards account", owner),
        ("claimed so far", fmt_amount(dist.claimedOf(owner))),
        ("latest root", f"epoch {latest}" if has_root else "none published yet"),
        (
            "to claim",
            "fetch your proof from the oracle API, then `ape run provider claim "
            "--from-file proof.json`",
        ),
    ]


@cli.command(cls=ConnectedProviderCommand)
@account_option(prompt=False)
@click.argument("node", type=ADDRESS, required=False)
@wrap_config_errors
def status(account, node):
    """NODE's state, or a table of every node of --account followed by their details."""
    suite = suite_or_fail()
    t = now()
    epoch = suite.market.currentEpoch()
    click.echo(f"Chain time {fmt_time(t, t)}, epoch {epoch}")
    if node:
        n = suite.registry.getNode(node)
        if same(n.owner, ZERO_ADDRESS):
            fail(f"no node is registered under {node}")
        click.echo(fields(_node_details(suite, node, t)))
        click.echo("")
        click.echo(fields(_rewards_rows(suite, n.owner)))
        return
    if account is None:
        raise click.UsageError("give a NODE, or --account to list your nodes")
    nodes = _owned_nodes(suite, account.address)
    if not nodes:
        click.echo(
            f"{account.address} has no nodes. Register one with `ape run provider register`."
        )
        return
    rows = []
    for nd in nodes:
        n = suite.registry.getNode(nd)
        entries = suite.vault.unbondingEntries(nd)
        price = suite.market.priceOf(nd)
        rows.append(
            [
                nd,
                kind_name(n.kind),
                status_name(n.status),
                n.region,
                fmt_amount(suite.vault.bondedOf(nd)),
                fmt_amount(sum(e.amount for e in entries)) if entries else "-",
                suite.slashing.pendingSlashCount(nd),
                n.faults,
                fmt_amount(price) if price else "-",
            ]
        )
    click.echo(
        table(
            [
                "node",
                "kind",
                "status",
                "region",
                "bonded",
                "unbonding",
                "slashes",
                "faults",
                "price/epoch",
            ],
            rows,
            right=(3, 4, 5, 6, 7, 8),
        )
    )
    for nd in nodes:
        click.echo("")
        click.echo(fields(_node_details(suite, nd, t)))
    click.echo("")
    click.echo(fields(_rewards_rows(suite, account.address)))
