"""Governance wallet (a timelock proposer, or the guardian for pauses):
`ape run admin <command> ... --network ... --account ALIAS`.

  committee show | set ADDR... --threshold T [--scheme ecdsa|bls]
  pause [CONTRACT|all] / unpause [CONTRACT|all]
  params show | set NAME VALUE...
  slash list | execute ID | cancel ID
  governance pending   owner actions scheduled on the timelock, with when each can run
  grant TO AMOUNT      send tokens from --account (the genesis holder) to TO

Owner actions go through the deployment's timelock: the first run schedules the change (the
caller must be a proposer), and the same command run again once the delay is over executes it
(anyone may). Without a timelock (a test deployment) the owner's account sends it at once.
Every action checks the caller before anything is sent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click
from ape.cli import ConnectedProviderCommand, account_option

from oracle.protocol.hardware import NodeKind, SlashReason
from scripts._cli import (
    ADDRESS,
    AMOUNT,
    SLASH_STATUS,
    checksum,
    fail,
    fields,
    fmt_amount,
    fmt_duration,
    fmt_time,
    kind_name,
    now,
    parse_amount,
    parse_duration,
    reason_name,
    require,
    require_balance,
    require_not_paused,
    same,
    send,
    short,
    suite_or_fail,
    table,
    wrap_config_errors,
)
from scripts._deploy import (
    KINDS,
    SCHEMES,
    SLASH_REASONS,
    WAD,
    bls_key_missing,
    wash_trading_problem,
)
from scripts._governance import Call, GovernanceError, govern, pending

# Contracts with a pause switch, by the short names the commands accept.
PAUSABLE = {
    "registry": "NodeRegistry",
    "vault": "StakingVault",
    "market": "Marketplace",
    "distributor": "RewardsDistributor",
    "emissions": "EmissionsController",
    "slashing": "SlashingManager",
    "hub": "OracleHub",
}


@click.group()
def cli():
    """Governance: oracle committee, pauses, parameters, pending slashes."""


def _owner_action(suite, account, what: str, calls: list[Call]) -> bool:
    """Takes the next step of an owner action (scripts._governance.govern) and says what
    happened; True when the change is applied now."""
    try:
        outcome = govern(suite.timelock, account, calls, send)
    except GovernanceError as exc:
        fail(f"{what}: {exc}")
    if outcome.state in ("scheduled", "waiting"):
        verb = "Scheduled" if outcome.state == "scheduled" else "Already scheduled"
        click.echo(
            f"{verb} through the timelock {suite.timelock.address}: {what}. Executable "
            f"{fmt_time(outcome.eta)}: run the same command again then (anyone may). Providers "
            "see it coming with `ape run admin governance pending`."
        )
        return False
    return True


def _targets(suite, which: str) -> list[tuple[str, object]]:
    key = which.strip().lower()
    if key == "all":
        return [(name, suite.contracts[name]) for name in PAUSABLE.values()]
    for alias, name in PAUSABLE.items():
        if key in (alias, name.lower()):
            return [(name, suite.contracts[name])]
    names = ", ".join(list(PAUSABLE) + list(PAUSABLE.values()))
    raise click.BadParameter(f"unknown contract {which!r}: all, {names}", param_hint="CONTRACT")


# ---------------------------------------------------------------------------- committee


@cli.group()
def committee():
    """The oracle committee that signs epoch reports."""


@committee.command(name="show", cls=ConnectedProviderCommand)
@wrap_config_errors
def committee_show():
    """Members, threshold and version of the committee."""
    suite = suite_or_fail()
    hub = suite.hub
    members = hub.committee()
    click.echo(
        fields(
            [
                ("version", hub.committeeVersion()),
                ("threshold", f"{hub.threshold()} of {len(members)}"),
                ("scheme", SCHEMES[hub.scheme()]),
                ("next report", f"epoch {hub.nextEpoch()} (current epoch {hub.currentEpoch()})"),
            ]
        )
    )
    click.echo("  members:")
    for m in members:
        click.echo(f"    {m}")


@committee.command(name="set", cls=ConnectedProviderCommand)
@account_option()
@click.argument("members", nargs=-1, required=True)
@click.option("--threshold", type=int, required=True, help="signatures needed (n/2 < t <= n)")
@click.option(
    "--scheme",
    type=click.Choice(SCHEMES),
    default=None,
    help="how reports are signed (default: keep the hub's current scheme)",
)
@wrap_config_errors
def committee_set(account, members, threshold, scheme):
    """Replace the committee with MEMBERS (sorted for you), --threshold and --scheme. For bls,
    every member must have registered its BLS key at the hub."""
    addrs = [checksum(m, "member") for m in members]
    dupes = sorted({a for a in addrs if addrs.count(a) > 1})
    if dupes:
        raise click.BadParameter(f"listed more than once: {', '.join(dupes)}", param_hint="MEMBERS")
    addrs.sort(key=lambda a: int(a, 16))
    n = len(addrs)
    if not 0 < threshold <= n or 2 * threshold <= n:
        raise click.BadParameter(
            f"{threshold} of {n}: a threshold must be a majority and at most the committee size "
            f"(here {n // 2 + 1} to {n})",
            param_hint="--threshold",
        )
    suite = suite_or_fail()
    hub = suite.hub
    max_size = hub.MAX_COMMITTEE()
    require(n <= max_size, f"at most {max_size} members")
    current = SCHEMES[hub.scheme()]
    scheme = scheme or current
    if scheme == "bls":
        missing = [m for m in addrs if bls_key_missing(hub, m)]
        require(
            not missing,
            f"no BLS key registered at the hub for {', '.join(missing)}: each operator "
            "registers its own key (with a proof of possession) before a bls committee is set",
        )
    if (
        [str(m) for m in hub.committee()] == addrs
        and hub.threshold() == threshold
        and scheme == current
    ):
        click.echo("The committee is already exactly this: nothing to send.")
        return
    click.echo(f"New committee ({threshold} of {n}, {scheme}, sorted):")
    for m in addrs:
        click.echo(f"  {m}")
    call = Call(hub, "setCommittee", (addrs, threshold, SCHEMES.index(scheme)))
    if not _owner_action(suite, account, "set the oracle committee", [call]):
        return
    click.echo(
        f"Committee version is now {hub.committeeVersion()}: signatures under the old "
        "version no longer count."
    )


# ---------------------------------------------------------------------------- pause


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("contract", default="all")
@wrap_config_errors
def pause(account, contract):
    """Pause CONTRACT (registry, vault, market, distributor, emissions, slashing, hub) or all."""
    suite = suite_or_fail()
    targets = _targets(suite, contract)
    for name, c in targets:
        if not (same(c.guardian(), account.address) or same(c.owner(), account.address)):
            fail(
                f"{account.address} is neither the guardian ({c.guardian()}) nor the owner "
                f"({c.owner()}) of {name}: nothing was paused"
            )
    todo = [(name, c) for name, c in targets if not c.paused()]
    for name, _ in targets:
        if all(name != t for t, _ in todo):
            click.echo(f"{name} is already paused.")
    for name, c in todo:
        send(f"pause {name}", c.pause, sender=account)
    if todo:
        click.echo(f"Paused: {', '.join(name for name, _ in todo)}.")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("contract", default="all")
@wrap_config_errors
def unpause(account, contract):
    """Lift the pause of CONTRACT or all (owner only)."""
    suite = suite_or_fail()
    targets = _targets(suite, contract)
    todo = [(name, c) for name, c in targets if c.paused()]
    for name, _ in targets:
        if all(name != t for t, _ in todo):
            click.echo(f"{name} is not paused.")
    names = ", ".join(name for name, _ in todo)
    if todo and _owner_action(
        suite, account, f"unpause {names}", [Call(c, "unpause") for _, c in todo]
    ):
        click.echo(f"Unpaused: {names}.")


# ---------------------------------------------------------------------------- params


def _bps(value: int) -> str:
    return f"{value} bps ({value / 100:g}%)"


def _wad(value: int) -> str:
    return f"{Decimal(value) / WAD:f}".rstrip("0").rstrip(".") if value else "0"


@cli.group()
def params():
    """Show or change the protocol's parameters."""


@params.command(name="show", cls=ConnectedProviderCommand)
@wrap_config_errors
def params_show():
    """Every parameter of every contract (settable ones with their `params set` name)."""
    suite = suite_or_fail()
    s = suite
    faults, jail = s.registry.jailPolicy()
    epoch = s.market.currentEpoch()
    sections = [
        (
            "PlinthToken",
            s.token,
            [
                ("cap", fmt_amount(s.token.cap())),
                ("total supply", fmt_amount(s.token.totalSupply())),
                ("minter", s.token.minter()),
            ],
        ),
        (
            "NodeRegistry",
            s.registry,
            [
                *[
                    (f"min-stake {k}", fmt_amount(s.registry.minStake(i)))
                    for i, k in enumerate(KINDS)
                ],
                ("jail-policy", f"{faults} faults -> jailed for {fmt_duration(jail)} ({jail}s)"),
                ("nodes", s.registry.nodeCount()),
            ],
        ),
        (
            "StakingVault",
            s.vault,
            [
                (
                    "unbonding-delay",
                    f"{fmt_duration(s.vault.unbondingDelay())} ({s.vault.unbondingDelay()}s)",
                ),
                ("max unbonding entries", s.vault.MAX_UNBONDING_ENTRIES()),
                ("total bonded", fmt_amount(s.vault.totalBonded())),
                ("total unbonding", fmt_amount(s.vault.totalUnbonding())),
            ],
        ),
        (
            "SlashingManager",
            s.slashing,
            [
                (
                    "dispute-window",
                    f"{fmt_duration(s.slashing.disputeWindow())} ({s.slashing.disputeWindow()}s)",
                ),
                ("burn-share", _bps(s.slashing.burnShareBps())),
                *[
                    (f"penalty {reason_name(r)}", _bps(s.slashing.penaltyBps(int(r))))
                    for r in SlashReason
                ],
                ("treasury", s.slashing.treasury()),
                ("slashes", s.slashing.slashCount()),
            ],
        ),
        (
            "Marketplace",
            s.market,
            [
                ("fee", _bps(s.market.feeBps())),
                ("treasury", s.market.treasury()),
                ("epoch duration", f"{s.market.epochDuration()}s"),
                ("genesis", fmt_time(s.market.genesis())),
                ("current epoch", epoch),
                ("chunk size", f"{s.market.CHUNK_SIZE()} bytes"),
                ("max lease epochs", f"{s.market.MAX_LEASE_EPOCHS():,}"),
                ("leases", s.market.leaseCount()),
            ],
        ),
        (
            "EmissionsController",
            s.emissions,
            [
                ("schedule floor0", fmt_amount(s.emissions.floor0())),
                ("schedule decay", _wad(s.emissions.floorDecayWad())),
                ("schedule kappa", _wad(s.emissions.kappaWad())),
                ("schedule cap", fmt_amount(s.emissions.capPerEpoch())),
                ("next epoch to mint", s.emissions.nextEpoch()),
                ("total emitted", fmt_amount(s.emissions.totalEmitted())),
                (f"budget of epoch {epoch}", fmt_amount(s.emissions.budgetOf(epoch))),
            ],
        ),
        (
            "RewardsDistributor",
            s.distributor,
            [
                ("latest root epoch", s.distributor.latestEpoch()),
                ("balance (unclaimed)", fmt_amount(s.token.balanceOf(s.distributor.address))),
            ],
        ),
        (
            "OracleHub",
            s.hub,
            [
                ("max-slashes", s.hub.maxSlashesPerReport()),
                (
                    "committee",
                    f"{s.hub.threshold()} of {len(s.hub.committee())}, "
                    f"version {s.hub.committeeVersion()}",
                ),
                ("next report epoch", s.hub.nextEpoch()),
                ("max committee", s.hub.MAX_COMMITTEE()),
                ("max epoch gap", s.hub.MAX_EPOCH_GAP()),
            ],
        ),
    ]
    for name, contract, rows in sections:
        gov = [("owner", contract.owner())]
        if name != "PlinthToken":
            gov += [
                ("guardian", contract.guardian()),
                ("paused", "YES" if contract.paused() else "no"),
            ]
        click.echo(f"{name} {contract.address}")
        click.echo(fields(rows + gov))
        click.echo("")
    click.echo(
        "Settable with `params set`: fee, unbonding-delay, dispute-window, burn-share, "
        "penalty REASON, min-stake KIND, jail-policy, schedule, max-slashes."
    )


def _parse_bps(text: str, what: str, maximum: int) -> int:
    t = text.strip()
    try:
        value = Decimal(t[:-1]) * 100 if t.endswith("%") else Decimal(t)
    except InvalidOperation:
        raise click.BadParameter(f"{what}: basis points (500) or a percentage (5%)") from None
    if value != value.to_integral_value() or not 0 <= value <= maximum:
        raise click.BadParameter(
            f"{what}: a whole number of basis points from 0 to {maximum} "
            f"({maximum / 100:g}%), got {text}"
        )
    return int(value)


def _parse_decimal_wad(text: str, what: str, maximum: Decimal) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{what}: not a number: {text!r}") from None
    if not 0 <= value <= maximum:
        raise click.BadParameter(f"{what} must be between 0 and {maximum}")
    scaled = value * WAD
    if scaled != scaled.to_integral_value():
        raise click.BadParameter(f"{what}: at most 18 decimals")
    return int(scaled)


def _nargs(values: tuple[str, ...], n: int, usage: str) -> None:
    if len(values) != n:
        raise click.UsageError(f"usage: ape run admin params set {usage}")


def _check_unbonding_safety(suite, delay: int, window: int, force: bool) -> None:
    """The deploy script's rule: unbonding must outlast two epochs plus the dispute window."""
    needed = 2 * suite.market.epochDuration() + window
    if delay <= needed and not force:
        fail(
            f"an unbonding delay of {delay}s with a dispute window of {window}s would let a "
            f"node withdraw before its slash lands: the delay must exceed two epochs plus the "
            f"window ({needed}s). Use --force to set it anyway."
        )


@params.command(name="set", cls=ConnectedProviderCommand)
@account_option()
@click.argument(
    "name",
    type=click.Choice(
        [
            "fee",
            "unbonding-delay",
            "dispute-window",
            "burn-share",
            "penalty",
            "min-stake",
            "jail-policy",
            "schedule",
            "max-slashes",
        ],
        case_sensitive=False,
    ),
)
@click.argument("values", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="skip the safety check on unbonding vs dispute window")
@wrap_config_errors
def params_set(account, name, values, force):
    """Set a parameter. NAME and VALUE(S):

    \b
      fee BPS|PCT                      marketplace fee, e.g. 500 or 5%  (max 20%)
      unbonding-delay DURATION         e.g. 300, 5m, 2h, 7d
      dispute-window DURATION          e.g. 120, 2m
      burn-share BPS|PCT               part of each slash burned (rest to the treasury)
      penalty REASON BPS|PCT           invalid_compute, missed_deadline, storage_audit_failed,
                                       location_spoofed, offline  (max: offline 5%,
                                       missed_deadline 10%, the others 25%)
      min-stake KIND AMOUNT            compute, storage, wireless; whole tokens
      jail-policy FAULTS DURATION      faults that jail, and for how long
      schedule FLOOR0 DECAY KAPPA CAP  or any of floor0=.. decay=.. kappa=.. cap=..
      max-slashes N                    slashes per report (1-64: must fit the 2^24 tx gas cap)
    """
    suite = suite_or_fail()
    s = suite
    name = name.lower()
    if name == "fee":
        _nargs(values, 1, "fee BPS")
        new = _parse_bps(values[0], "fee", 2000)
        problem = wash_trading_problem(new, s.emissions.kappaWad())
        require(problem is None, f"{problem} (lower kappa first)")
        contract, old, fn, args, show = s.market, s.market.feeBps(), s.market.setFee, (new,), _bps
    elif name == "unbonding-delay":
        _nargs(values, 1, "unbonding-delay DURATION")
        new = parse_duration(values[0])
        require(0 < new <= 365 * 86400, "the unbonding delay must be 1s to 365 days")
        _check_unbonding_safety(s, new, s.slashing.disputeWindow(), force)
        contract, old, fn, args = (
            s.vault,
            s.vault.unbondingDelay(),
            s.vault.setUnbondingDelay,
            (new,),
        )
        show = fmt_duration
    elif name == "dispute-window":
        _nargs(values, 1, "dispute-window DURATION")
        new = parse_duration(values[0])
        lowest = s.slashing.MIN_DISPUTE_WINDOW()
        require(lowest <= new <= 30 * 86400, f"the dispute window must be {lowest}s to 30 days")
        _check_unbonding_safety(s, s.vault.unbondingDelay(), new, force)
        contract, old = s.slashing, s.slashing.disputeWindow()
        fn, args, show = s.slashing.setDisputeWindow, (new,), fmt_duration
    elif name == "burn-share":
        _nargs(values, 1, "burn-share BPS")
        new = _parse_bps(values[0], "burn share", 10_000)
        least = s.slashing.MIN_BURN_BPS()
        require(new >= least, f"at least {_bps(least)} of every slash is burned")
        contract, old = s.slashing, s.slashing.burnShareBps()
        fn, args, show = s.slashing.setBurnShare, (new,), _bps
    elif name == "penalty":
        _nargs(values, 2, "penalty REASON BPS")
        key = values[0].strip().lower().replace("-", "_")
        if key not in SLASH_REASONS:
            raise click.BadParameter(f"unknown reason {values[0]!r}: {', '.join(SLASH_REASONS)}")
        reason = SLASH_REASONS.index(key) + 1
        new = _parse_bps(values[1], "penalty", s.slashing.maxPenaltyBps(reason))
        contract, old = s.slashing, s.slashing.penaltyBps(reason)
        fn, args, show = s.slashing.setPenalty, (reason, new), _bps
        name = f"penalty {key}"
    elif name == "min-stake":
        _nargs(values, 2, "min-stake KIND AMOUNT")
        try:
            kind = NodeKind.parse(values[0])
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        new = parse_amount(values[1], what="minimum stake")
        contract, old = s.registry, s.registry.minStake(int(kind))
        fn, args, show = s.registry.setMinStake, (int(kind), new), fmt_amount
        name = f"min-stake {kind_name(kind)}"
    elif name == "jail-policy":
        _nargs(values, 2, "jail-policy FAULTS DURATION")
        try:
            faults = int(values[0])
        except ValueError:
            raise click.BadParameter(f"FAULTS: a whole number, got {values[0]!r}") from None
        require(1 <= faults <= 255, "faults to jail must be 1 to 255")
        duration = parse_duration(values[1])
        require(duration <= 365 * 86400, "the jail duration must be at most 365 days")
        new = (faults, duration)
        contract, old = s.registry, tuple(s.registry.jailPolicy())
        fn, args = s.registry.setJailPolicy, new

        def show(v):
            return f"{v[0]} faults, {fmt_duration(v[1])}"
    elif name == "schedule":
        e = s.emissions
        old = (e.floor0(), e.floorDecayWad(), e.kappaWad(), e.capPerEpoch())
        current = dict(zip(("floor0", "decay", "kappa", "cap"), old, strict=True))
        parsers = {
            "floor0": lambda v: parse_amount(v, what="floor0", allow_zero=True),
            "decay": lambda v: _parse_decimal_wad(v, "decay", Decimal(1)),
            "kappa": lambda v: _parse_decimal_wad(v, "kappa", Decimal(100)),
            "cap": lambda v: parse_amount(v, what="cap"),
        }
        if all("=" in v for v in values):
            for v in values:
                k, _, raw = v.partition("=")
                k = k.strip().lower()
                if k not in parsers:
                    raise click.BadParameter(f"unknown schedule field {k!r}: {', '.join(parsers)}")
                current[k] = parsers[k](raw)
        else:
            _nargs(values, 4, "schedule FLOOR0 DECAY KAPPA CAP (or field=value ...)")
            current = {k: parsers[k](v) for k, v in zip(parsers, values, strict=True)}
        new = (current["floor0"], current["decay"], current["kappa"], current["cap"])
        require(new[0] <= new[3], "floor0 cannot exceed the cap per epoch")
        envelope = e.capEnvelope()
        require(new[3] <= envelope, f"the cap per epoch can never exceed {fmt_amount(envelope)}")
        problem = wash_trading_problem(s.market.feeBps(), new[2])
        require(problem is None, str(problem))
        contract, fn, args = e, e.setSchedule, new

        def show(v):
            return (
                f"floor0 {fmt_amount(v[0])}, decay {_wad(v[1])}, kappa {_wad(v[2])}, "
                f"cap {fmt_amount(v[3])}"
            )
    else:  # max-slashes
        _nargs(values, 1, "max-slashes N")
        try:
            new = int(values[0])
        except ValueError:
            raise click.BadParameter(f"N: a whole number, got {values[0]!r}") from None
        require(
            1 <= new <= 64,
            "max slashes per report must be 1 to 64 (a report must fit the tx gas cap)",
        )
        contract, old = s.hub, s.hub.maxSlashesPerReport()
        fn, args, show = s.hub.setMaxSlashesPerReport, (new,), str

    if old == new:
        click.echo(f"{name} is already {show(new)}: nothing to send.")
        return
    call = Call(contract, fn.abis[0].name, tuple(args))
    if _owner_action(s, account, f"set {name}: {show(old)} -> {show(new)}", [call]):
        click.echo(f"{name} is now {show(new)}.")


# ---------------------------------------------------------------------------- grants


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.argument("to", type=ADDRESS)
@click.argument("amount", type=AMOUNT)
@wrap_config_errors
def grant(account, to, amount):
    """Send AMOUNT tokens from --account (e.g. the genesis holder) to TO: grants, demo funding."""
    suite = suite_or_fail()
    require_balance(suite, account, amount, f"granting {fmt_amount(amount)}")
    send(
        f"transfer {fmt_amount(amount)} to {short(to)}",
        suite.token.transfer,
        to,
        amount,
        sender=account,
    )
    click.echo(f"{to} now holds {fmt_amount(suite.token.balanceOf(to))}.")


# ---------------------------------------------------------------------------- slashes


@cli.group()
def slash():
    """Pending slashes: list, execute after the dispute window, cancel (owner)."""


@slash.command(name="list", cls=ConnectedProviderCommand)
@click.option("--all", "show_all", is_flag=True, help="also executed, disputed and cancelled ones")
@click.option("--node", type=ADDRESS, help="only slashes of this node")
@wrap_config_errors
def slash_list(show_all, node):
    """Pending slashes with the time each becomes executable."""
    suite = suite_or_fail()
    sm = suite.slashing
    t = now()
    rows = []
    for slash_id in range(sm.slashCount(), 0, -1):
        x = sm.getSlash(slash_id)
        if not show_all and x.status != 1:
            continue
        if node and not same(x.node, node):
            continue
        when = (
            ("executable now" if x.executableAt <= t else fmt_time(x.executableAt, t))
            if x.status == 1
            else "-"
        )
        rows.append(
            [
                slash_id,
                short(x.node),
                reason_name(x.reason),
                fmt_amount(x.amount),
                SLASH_STATUS[x.status],
                when,
            ]
        )
    if not rows:
        click.echo("No pending slashes." if not show_all else "No slashes.")
        return
    click.echo(
        table(
            ["id", "node", "reason", "amount", "status", "executable"],
            rows,
            right=(0, 3, 4),
        )
    )


def _pending_slash(suite, slash_id: int):
    count = suite.slashing.slashCount()
    if not 1 <= slash_id <= count:
        fail(f"there is no slash {slash_id} ({count} so far)")
    x = suite.slashing.getSlash(slash_id)
    if x.status != 1:
        fail(f"slash {slash_id} is {SLASH_STATUS[x.status]}, not pending")
    return x


@slash.command(name="execute", cls=ConnectedProviderCommand)
@account_option()
@click.argument("slash_id", type=click.IntRange(min=1))
@wrap_config_errors
def slash_execute(account, slash_id):
    """Execute pending slash SLASH_ID once its dispute window is over (anyone may)."""
    suite = suite_or_fail()
    x = _pending_slash(suite, slash_id)
    if now() < x.executableAt:
        fail(f"slash {slash_id} is in its dispute window until {fmt_time(x.executableAt)}")
    require_not_paused(suite.slashing, "slashing manager")
    receipt = send(
        f"execute slash {slash_id} ({reason_name(x.reason)}, {short(x.node)})",
        suite.slashing.executeSlash,
        slash_id,
        sender=account,
    )
    for log in receipt.decode_logs(suite.slashing.SlashExecuted):
        click.echo(
            f"Slashed {fmt_amount(log.slashed)} from {x.node}: {fmt_amount(log.burned)} "
            f"burned, {fmt_amount(log.toTreasury)} to the treasury."
        )


@slash.command(name="cancel", cls=ConnectedProviderCommand)
@account_option()
@click.argument("slash_id", type=click.IntRange(min=1))
@wrap_config_errors
def slash_cancel(account, slash_id):
    """Cancel pending slash SLASH_ID (owner only)."""
    suite = suite_or_fail()
    x = _pending_slash(suite, slash_id)
    what = (
        f"cancel slash {slash_id} ({reason_name(x.reason)}, {fmt_amount(x.amount)}, "
        f"{short(x.node)})"
    )
    if suite.timelock is not None and now() + suite.timelock.getMinDelay() >= x.executableAt:
        click.echo(
            f"Note: slash {slash_id} becomes executable {fmt_time(x.executableAt)}, before a "
            "cancellation through the timelock can run; the guardian can pause the slashing "
            "manager (`ape run admin pause slashing`) so that it cannot be executed meanwhile."
        )
    if _owner_action(suite, account, what, [Call(suite.slashing, "cancelSlash", (slash_id,))]):
        click.echo(f"Slash {slash_id} cancelled; node {x.node} keeps its stake.")


# ---------------------------------------------------------------------------- governance


@cli.group()
def governance():
    """The timelock that owns every contract: what is scheduled and when it can run."""


@governance.command(name="pending", cls=ConnectedProviderCommand)
@wrap_config_errors
def governance_pending():
    """Owner actions scheduled on the timelock and not yet executed, oldest first."""
    suite = suite_or_fail()
    tl = suite.timelock
    if tl is None:
        click.echo("This deployment has no timelock: its owner acts at once.")
        return
    click.echo(
        fields(
            [
                ("timelock", tl.address),
                ("delay", fmt_duration(tl.getMinDelay())),
                ("delay floor", fmt_duration(tl.delayFloor())),
            ]
        )
    )
    ops = pending(tl, {**suite.contracts, "PlinthTimelock": tl})
    if not ops:
        click.echo("Nothing is scheduled.")
        return
    t = now()
    for op in ops:
        when = "executable now" if op.eta <= t else f"executable {fmt_time(op.eta, t)}"
        click.echo(f"operation 0x{op.operation.hex()} ({when}):")
        for name, signature, args in op.calls:
            shown = ", ".join(f"{k}={v}" for k, v in args.items())
            click.echo(f"    {name}.{signature.split('(')[0]}({shown})")
