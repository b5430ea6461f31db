"""Shared pieces of the user-facing scripts (`ape run provider|market|admin ...`): token amounts,
sizes and durations both ways, tables, pre-check helpers and `send`, which prints progress and
turns contract errors into readable messages. Not a script (the leading underscore)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from ape import chain
from ape.exceptions import ApeException, ContractLogicError, CustomError
from eth_utils import is_address, to_checksum_address

from oracle.protocol.hardware import NodeStatus, SlashReason
from scripts._deploy import KINDS, TOKEN, ConfigError, Suite, load_suite

SYMBOL = "PLN"
DECIMALS = 18
ZERO_ADDRESS = "0x" + "00" * 20

# ---------------------------------------------------------------------------- loading


def suite_or_fail() -> Suite:
    """The deployed suite of the connected network, or a ClickException saying why not."""
    try:
        return load_suite()
    except ConfigError as exc:
        message = str(exc)
        provider = chain.provider
        if getattr(provider, "process", None) is not None:
            # ape-foundry started a fresh anvil for this command (foundry host "auto"): the
            # suite deployed on a long-running node is not on it.
            message += (
                f"\n(This command started its own {provider.name} node, which is gone "
                "when it ends; to use a running anvil, e.g. `anvil --port 8545`, set "
                "APE_FOUNDRY_HOST=http://127.0.0.1:8545.)"
            )
        raise click.ClickException(message) from exc


# ---------------------------------------------------------------------------- token amounts

_AMOUNT = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9_]*)?|\.[0-9_]+)\s*(pln|wei)?\s*$", re.IGNORECASE)


def parse_amount(
    text: str | int | Decimal, *, what: str = "amount", allow_zero: bool = False
) -> int:
    """Whole tokens with decimals ('10000', '12,345.5', '0.25 PLN') or base units ('5wei') as
    base units (18 decimals). Exact: more than 18 decimals is an error, never rounded."""
    if isinstance(text, int):
        units = text * TOKEN
    else:
        m = _AMOUNT.match(str(text))
        if not m:
            raise click.BadParameter(f"{what}: not an amount: {text!r} (e.g. 1000, 12.5, 5wei)")
        number, unit = m.group(1).replace("_", "").replace(",", ""), (m.group(2) or "").lower()
        try:
            value = Decimal(number)
        except InvalidOperation as exc:
            raise click.BadParameter(f"{what}: not an amount: {text!r}") from exc
        if unit == "wei":
            if value != value.to_integral_value():
                raise click.BadParameter(f"{what}: base units (wei) must be a whole number")
            units = int(value)
        else:
            scaled = value * TOKEN
            if scaled != scaled.to_integral_value():
                raise click.BadParameter(f"{what}: at most {DECIMALS} decimals: {text!r}")
            units = int(scaled)
    if units < 0 or (units == 0 and not allow_zero):
        raise click.BadParameter(f"{what} must be {'zero or more' if allow_zero else 'positive'}")
    return units


def fmt_amount(units: int, symbol: bool = True, grouping: bool = True) -> str:
    """Base units as a readable token amount, exact: 12345500000000000000000 -> '12,345.5 PLN'."""
    units = int(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), TOKEN)
    text = f"{sign}{whole:,}" if grouping else f"{sign}{whole}"
    if frac:
        text += "." + f"{frac:0{DECIMALS}d}".rstrip("0")
    return f"{text} {SYMBOL}" if symbol else text


class AmountType(click.ParamType):
    """A click parameter for token amounts (see parse_amount)."""

    name = "amount"

    def __init__(self, allow_zero: bool = False):
        self.allow_zero = allow_zero

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_amount(
                value,
                what=param.human_readable_name if param else "amount",
                allow_zero=self.allow_zero,
            )
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


AMOUNT = AmountType()
AMOUNT_OR_ZERO = AmountType(allow_zero=True)


# ---------------------------------------------------------------------------- sizes and times

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "p": 1000**5,
    "pb": 1000**5,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
    "pib": 1 << 50,
}
_SIZE = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'500GiB', '2 TB', '1048576' -> bytes (binary units are powers of 1024)."""
    m = _SIZE.match(str(text))
    unit = (m.group(2) if m else "").lower()
    if not m or unit not in _SIZE_UNITS:
        raise click.BadParameter(f"not a size: {text!r} (e.g. 500GiB, 2TB, 1048576)")
    size = Decimal(m.group(1).replace("_", "").replace(",", "")) * _SIZE_UNITS[unit]
    if size != size.to_integral_value():
        raise click.BadParameter(f"{text!r} is not a whole number of bytes")
    return int(size)


def arg_amount(units: int) -> str:
    """An amount as a command-line argument: '10000', '12.5'."""
    return fmt_amount(units, symbol=False, grouping=False)


def fmt_size(n: int) -> str:
    for unit, factor in (
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.2f} {unit}"
    return f"{n:,} bytes"


_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """'300', '5m', '2h', '7d' -> seconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise click.BadParameter(f"not a duration: {text!r} (e.g. 300, 5m, 2h, 7d)")
    return int(m.group(1)) * _DURATION_UNITS[(m.group(2) or "").lower()]


def fmt_duration(seconds: int) -> str:
    seconds = int(seconds)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def now() -> int:
    """The timestamp the next transaction would execute at (the pending block's), as well as
    the chain can tell; the latest block's if the node has no pending block."""
    try:
        return int(chain.pending_timestamp)
    except Exception:
        return int(chain.blocks.head.timestamp)


def fmt_time(ts: int, reference: int | None = None) -> str:
    """'2026-01-02 03:04:05 UTC (in 4m 30s)' relative to the chain's time."""
    ref = now() if reference is None else reference
    when = datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = int(ts) - ref
    rel = (
        f"in {fmt_duration(delta)}"
        if delta > 0
        else ("now" if delta == 0 else f"{fmt_duration(-delta)} ago")
    )
    return f"{when} ({rel})"


# ---------------------------------------------------------------------------- names


def kind_name(kind: int) -> str:
    return KINDS[int(kind)] if 0 <= int(kind) < len(KINDS) else f"kind {kind}"


def status_name(status: int) -> str:
    try:
        return NodeStatus(int(status)).name.capitalize()
    except ValueError:
        return f"status {status}"


def reason_name(reason: int) -> str:
    try:
        return SlashReason(int(reason)).name.lower()
    except ValueError:
        return f"reason {reason}"


SLASH_STATUS = ("None", "Pending", "Executed", "Disputed", "Cancelled")


def short(address: str) -> str:
    return f"{address[:8]}...{address[-6:]}"


def same(a: str, b: str) -> bool:
    return int(str(a), 16) == int(str(b), 16)


def checksum(text: str, what: str = "address") -> str:
    if not isinstance(text, str) or not is_address(text) or not text.startswith("0x"):
        raise click.BadParameter(f"{what}: not an address: {text!r}")
    return to_checksum_address(text)


class AddressType(click.ParamType):
    name = "address"

    def convert(self, value, param, ctx):
        try:
            return checksum(value, param.human_readable_name if param else "address")
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


ADDRESS = AddressType()


# ---------------------------------------------------------------------------- output


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Iterable[int] = ()) -> str:
    """A plain text table; columns listed in `right` are right-aligned (numbers)."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    right = set(right)

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column 'name  value' block."""
    pairs = [(k, str(v)) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in pairs)


# ---------------------------------------------------------------------------- pre-checks


def fail(message: str) -> None:
    raise click.ClickException(message)


def require(condition: bool, message: str) -> None:
    if not condition:
        raise click.ClickException(message)


def require_not_paused(contract, name: str) -> None:
    if contract.paused():
        fail(f"the {name} is paused by the guardian: nothing can be sent until it is unpaused")


def require_owner_of(suite: Suite, node: str, account) -> dict:
    """The node as a dict; fails if it is unknown or `account` does not own it."""
    n = suite.registry.getNode(node)
    if same(n.owner, ZERO_ADDRESS):
        fail(f"no node is registered under {node}")
    if not same(n.owner, account.address):
        fail(f"node {node} belongs to {n.owner}, not to {account.address} (use --account)")
    return n


def require_balance(suite: Suite, account, amount: int, purpose: str) -> None:
    balance = suite.token.balanceOf(account.address)
    if balance < amount:
        fail(
            f"{purpose} needs {fmt_amount(amount)} but {account.address} holds "
            f"{fmt_amount(balance)} ({fmt_amount(amount - balance)} short)"
        )


def ensure_allowance(suite: Suite, account, spender, amount: int, spender_name: str) -> None:
    """Approves `spender` for `amount` if the current allowance is lower, and says so."""
    allowance = suite.token.allowance(account.address, spender.address)
    if allowance >= amount:
        return
    click.echo(
        f"The {spender_name} may spend {fmt_amount(allowance)} of your tokens; approving "
        f"{fmt_amount(amount)} first."
    )
    send(
        f"approve {fmt_amount(amount)} for the {spender_name}",
        suite.token.approve,
        spender.address,
        amount,
        sender=account,
    )


# ---------------------------------------------------------------------------- errors


def _bytes32_text(value) -> str:
    raw = bytes(value) if not isinstance(value, str) else bytes.fromhex(value.removeprefix("0x"))
    return raw.rstrip(b"\x00").decode("ascii", "replace")


def _t(ts) -> str:
    return fmt_time(int(ts))


_a = fmt_amount  # short alias for the templates below

ERROR_TEMPLATES: dict[str, Callable[[dict], str]] = {
    # governance
    "EnforcedPause": lambda i: (
        "the contract is paused by the guardian; try again once it is unpaused"
    ),
    "ExpectedPause": lambda i: "the contract is not paused",
    "NotGuardian": lambda i: f"{i['caller']} is neither the guardian nor the owner",
    "OwnableUnauthorizedAccount": lambda i: f"{i['account']} is not the owner of this contract",
    "Unauthorized": lambda i: f"{i['caller']} may not call this function",
    "ZeroAddress": lambda i: "an address argument is zero",
    "AlreadySet": lambda i: f"already wired to {i['current']}",
    "InvalidParameter": lambda i: (
        f"parameter {_bytes32_text(i['name'])} out of range: {i['value']}"
    ),
    # registry
    "NodeKeyAlreadyUsed": lambda i: (
        f"node key {i['node']} is already registered (a key registers "
        "once, ever): use a new node key"
    ),
    "UnknownNode": lambda i: f"no node is registered under {i['node']}",
    "NotNodeOwner": lambda i: f"{i['caller']} does not own node {i['node']}",
    "InvalidNodeKeySignature": lambda i: (
        f"the node key's signature does not bind {i['node']} to "
        f"the sender (recovered {i['recovered']})"
    ),
    "InvalidHardwareClaim": lambda i: (
        f"the hardware claim does not fit a {kind_name(i['kind'])} node"
    ),
    "InvalidRegion": lambda i: f"region {i['region']} is invalid (0 is reserved)",
    "InvalidEndpoint": lambda i: f"the endpoint must be 1 to 256 bytes (got {i['length']})",
    "WrongStatus": lambda i: (
        f"node {i['node']} is {status_name(i['status'])}, which does not allow this action"
    ),
    "InsufficientStake": lambda i: (
        f"node {i['node']} has {_a(i['bonded'])} bonded, below the minimum of {_a(i['minimum'])}"
    ),
    "StillJailed": lambda i: f"node {i['node']} is jailed until {_t(i['jailedUntil'])}",
    "StakeRemaining": lambda i: f"node {i['node']} still has {_a(i['total'])} staked or unbonding",
    # vault
    "ZeroAmount": lambda i: "the amount is zero",
    "CannotStake": lambda i: f"node {i['node']} cannot take stake (exiting, exited or unknown)",
    "InsufficientBonded": lambda i: (
        f"node {i['node']} has only {_a(i['bonded'])} bonded ({_a(i['requested'])} requested)"
    ),
    "BelowMinimumStake": lambda i: (
        f"node {i['node']} would keep {_a(i['remaining'])}, below the "
        f"minimum of {_a(i['minimum'])}; exit the node first"
    ),
    "UnbondingQueueFull": lambda i: (
        f"node {i['node']}'s unbonding queue is full; withdraw matured entries first"
    ),
    "PendingSlash": lambda i: (
        f"a slash against node {i['node']} is pending; withdrawals wait for it"
    ),
    "NothingToWithdraw": lambda i: f"nothing has matured in node {i['node']}'s unbonding queue",
    # token
    "ERC20InsufficientBalance": lambda i: (
        f"{i['sender']} holds {_a(i['balance'])}, {_a(i['needed'])} needed"
    ),
    "ERC20InsufficientAllowance": lambda i: (
        f"allowance for {i['spender']} is {_a(i['allowance'])}, {_a(i['needed'])} needed"
    ),
    # marketplace
    "NodeNotEligible": lambda i: f"node {i['node']} is not eligible (not active or under-staked)",
    "NoPrice": lambda i: f"node {i['node']} has no price set",
    "PriceAboveMax": lambda i: (
        f"node {i['node']} costs {_a(i['price'])} per epoch, above your "
        f"maximum of {_a(i['maxPrice'])}"
    ),
    "RegionMismatch": lambda i: (
        f"node {i['node']} is in region {i['nodeRegion']}, not {i['requested']}"
    ),
    "InvalidDuration": lambda i: f"invalid lease duration: {i['epochs']} epochs",
    "InvalidStorageTerms": lambda i: f"invalid storage terms (data size {i['dataSize']})",
    "UnknownLease": lambda i: f"there is no lease {i['leaseId']}",
    "NotCustomer": lambda i: f"lease {i['leaseId']} is not {i['caller']}'s",
    "LeaseClosed": lambda i: f"lease {i['leaseId']} is closed",
    "LeaseEnded": lambda i: f"lease {i['leaseId']} ended with epoch {int(i['endEpoch']) - 1}",
    # distributor
    "RootUnavailable": lambda i: (
        f"no claimable rewards root for epoch {i['epoch']} (latest "
        f"{i['latestEpoch']}; only the latest roots are kept): "
        "fetch a fresh proof from the oracle API"
    ),
    "InvalidProof": lambda i: (
        f"the proof does not match the root for {i['account']} and {_a(i['cumulativeAmount'])}"
    ),
    "NothingToClaim": lambda i: (
        f"nothing to claim: {i['account']} already claimed "
        f"{_a(i['claimed'])} of {_a(i['cumulativeAmount'])}"
    ),
    # slashing
    "UnknownSlash": lambda i: f"there is no slash {i['slashId']}",
    "NotPending": lambda i: (
        f"slash {i['slashId']} is {SLASH_STATUS[int(i['status'])]}, not pending"
    ),
    "DisputeWindowOpen": lambda i: (
        f"slash {i['slashId']} is in its dispute window until {_t(i['executableAt'])}"
    ),
    "DisputeWindowClosed": lambda i: (
        f"the dispute window of slash {i['slashId']} closed at {_t(i['executableAt'])}"
    ),
    # oracle hub
    "InvalidCommittee": lambda i: (
        f"invalid committee: {i['size']} members with threshold "
        f"{i['threshold']} (need n/2 < t <= n)"
    ),
    "SignersNotIncreasing": lambda i: (
        f"addresses must be sorted without duplicates ({i['signer']} after {i['previous']})"
    ),
}


def explain(err: Exception) -> str:
    """A readable sentence for a contract error raised by Ape (custom errors by name)."""
    if isinstance(err, CustomError):
        name = err.abi.name
        inputs = dict(err.inputs or {})
        template = ERROR_TEMPLATES.get(name)
        if template is not None:
            try:
                return template(inputs)
            except Exception:
                pass
        args = ", ".join(f"{k}={v}" for k, v in inputs.items())
        return f"{name}({args})"
    if isinstance(err, ContractLogicError):
        message = str(err.message if hasattr(err, "message") else err)
        return f"reverted: {message}"
    return str(err) or type(err).__name__


def send(what: str, fn, *args, sender, **kwargs):
    """Sends a transaction, printing progress; a contract error becomes a ClickException."""
    click.echo(f"-> {what}: sending from {sender.address} ...")
    try:
        receipt = fn(*args, sender=sender, **kwargs)
    except ContractLogicError as err:
        raise click.ClickException(f"{what} failed: {explain(err)}") from err
    except ApeException as err:
        raise click.ClickException(f"{what} failed: {explain(err)}") from err
    if getattr(receipt, "failed", False):
        raise click.ClickException(f"{what} failed: transaction {receipt.txn_hash} reverted")
    click.echo(
        f"   confirmed in block {receipt.block_number}: tx {receipt.txn_hash}, "
        f"gas used {receipt.gas_used:,}"
    )
    return receipt


def event_args(contract, event_name: str, receipt) -> dict | None:
    """The arguments of the first `event_name` log `contract` emitted in `receipt`."""
    event = getattr(contract, event_name)
    for log in receipt.decode_logs(event):
        if same(log.contract_address, contract.address):
            return dict(log.event_arguments)
    return None


def wrap_config_errors(fn):
    """Decorator: ConfigError (and Ape errors outside `send`) become ClickExceptions."""
    import functools

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        except ContractLogicError as exc:
            raise click.ClickException(explain(exc)) from exc

    return inner
