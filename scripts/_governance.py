"""Owner actions, directly or through the timelock.

Every Plinth contract's owner is the deployment's PlinthTimelock (config `[governance]`): an
owner action is scheduled in public, waits out the delay, then anyone executes it. `govern`
does whichever step an action is at, so the same command, run again after the delay, executes
what it scheduled:

- the caller owns the targets (a test deployment without a timelock): sent at once;
- not yet scheduled: scheduled as one batch (the caller must be a proposer);
- scheduled, waiting: says when it becomes executable;
- ready: executed (anyone may).

A batch is identified by its calls and a salt; the first salt whose operation is not done is
used, so scheduling the same change again after it was executed once works."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ape import chain
from eth_utils import keccak

ZERO32 = b"\x00" * 32
PROPOSER_ROLE = keccak(text="PROPOSER_ROLE")
_MAX_SALTS = 1_000


class GovernanceError(RuntimeError):
    """An owner action the caller cannot take (with the reason)."""


@dataclass(frozen=True)
class Call:
    """One owner call: `contract.method(*args)`."""

    contract: Any
    method: str
    args: tuple = ()

    def data(self) -> bytes:
        return bytes(getattr(self.contract, self.method).encode_input(*self.args))


@dataclass(frozen=True)
class Outcome:
    """What `govern` did: "sent" (direct), "scheduled", "waiting" or "executed"; `eta` is
    when a scheduled batch becomes executable (unix seconds)."""

    state: str
    eta: int | None = None
    operation: bytes | None = None


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def owner_of(calls: list[Call], timelock=None) -> str:
    """The one owner of every target (the timelock owns itself)."""
    owners = {
        timelock.address
        if timelock is not None and _same(c.contract.address, timelock.address)
        else str(c.contract.owner())
        for c in calls
    }
    if len({o.lower() for o in owners}) != 1:
        raise GovernanceError(f"the targets have different owners: {', '.join(sorted(owners))}")
    return owners.pop()


def govern(timelock, account, calls: list[Call], transact) -> Outcome:
    """Takes the next step of `calls` (see the module docstring). `transact(what, fn, *args,
    sender=...)` sends one transaction (scripts._cli.send prints progress)."""
    if not calls:
        raise GovernanceError("nothing to do")
    owner = owner_of(calls, timelock)
    if _same(owner, account.address):
        for c in calls:
            transact(f"{c.method}", getattr(c.contract, c.method), *c.args, sender=account)
        return Outcome("sent")
    if timelock is None or not _same(owner, timelock.address):
        raise GovernanceError(
            f"the owner is {owner}: {account.address} is neither the owner nor able to "
            "schedule through the deployment's timelock"
        )
    targets = [c.contract.address for c in calls]
    values = [0] * len(calls)
    payloads = [c.data() for c in calls]
    for i in itertools.islice(itertools.count(), _MAX_SALTS):
        salt = i.to_bytes(32, "big")
        op = bytes(timelock.hashOperationBatch(targets, values, payloads, ZERO32, salt))
        if timelock.isOperationDone(op):
            continue
        if timelock.isOperationReady(op):
            transact(
                "execute the scheduled change",
                timelock.executeBatch,
                targets,
                values,
                payloads,
                ZERO32,
                salt,
                sender=account,
            )
            return Outcome("executed", operation=op)
        if timelock.isOperationPending(op):
            return Outcome("waiting", eta=int(timelock.getTimestamp(op)), operation=op)
        if not timelock.hasRole(PROPOSER_ROLE, account.address):
            raise GovernanceError(
                f"{account.address} is not a proposer of the timelock {timelock.address}: "
                "only a proposer schedules owner actions (anyone executes them after the delay)"
            )
        transact(
            f"schedule (executable after {int(timelock.getMinDelay())} s)",
            timelock.scheduleBatch,
            targets,
            values,
            payloads,
            ZERO32,
            salt,
            timelock.getMinDelay(),
            sender=account,
        )
        return Outcome("scheduled", eta=int(timelock.getTimestamp(op)), operation=op)
    raise GovernanceError(f"{_MAX_SALTS} identical batches were executed already")


@dataclass(frozen=True)
class Scheduled:
    """A scheduled, not yet executed batch: its id, when it is executable, its calls decoded
    as (contract name, function signature, arguments)."""

    operation: bytes
    eta: int
    calls: tuple[tuple[str, str, dict], ...]


def pending(timelock, contracts: dict[str, Any]) -> list[Scheduled]:
    """Every operation scheduled on `timelock` and still pending (waiting or ready), oldest
    first, with its calls decoded against `contracts` (name -> contract)."""
    by_address = {c.address.lower(): (name, c) for name, c in contracts.items()}
    ops: dict[bytes, list] = {}
    head = chain.blocks.head.number
    for log in timelock.CallScheduled.range(0, head + 1):
        ops.setdefault(bytes(log.id), []).append(log)
    out = []
    for op, logs in ops.items():
        if not timelock.isOperationPending(op):
            continue
        calls = []
        for log in sorted(logs, key=lambda x: x.index):
            name, contract = by_address.get(str(log.target).lower(), (str(log.target), None))
            if contract is None:
                calls.append((name, "0x" + bytes(log.data)[:4].hex(), {}))
                continue
            signature, args = contract.decode_input(bytes(log.data))
            calls.append((name, signature, dict(args)))
        out.append(Scheduled(op, int(timelock.getTimestamp(op)), tuple(calls)))
    return sorted(out, key=lambda s: s.eta)
