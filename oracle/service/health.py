"""Whether this oracle is doing its job, and why not: what `/health` answers (503 with the
problems when unhealthy) and what the health gauges of `/metrics` export.

Unhealthy when any of these holds (each problem says what to do):
- FAILED_PASSES pipeline passes in a row failed (the last error is quoted);
- the hub has left more than BEHIND_EPOCHS ended epochs unsettled (no report lands: a
  committee short of signers, a gap, a broken RPC);
- this operator is not in the hub's committee, or runs alone while the hub needs more than
  one signature;
- the operator's balance is below `min_balance_wei` (it cannot pay for reports);
- no pass completed for `stale_after_s` (the loop is stuck) or the RPC does not answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

FAILED_PASSES = 3
BEHIND_EPOCHS = 3
# The hub's errors that say what is wrong with the setup, and what to do about each.
HINTS = {
    "NotEnoughSignatures": (
        "the hub's committee needs more signatures than this oracle gathers: start the other "
        "members (each with [committee] peers), or have the owner set a committee this "
        "operator can meet (README, 'A committee of one')"
    ),
    "NotCommitteeMember": "a signer is not in the hub's committee: check [committee] peers",
    "WrongCommitteeVersion": "the committee changed while this report was signed: it retries",
    "EpochGapTooLarge": "after a long outage the oracle calls skipEpochs itself; check its gas",
}


@dataclass
class Health:
    operator: str
    alone: bool  # no [committee] peers
    min_balance_wei: int
    stale_after_s: float
    started_at: float = field(default_factory=time.time)
    passes_ok: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_ok_at: float | None = None
    rpc_error: str | None = None
    current_epoch: int | None = None
    next_epoch: int | None = None
    threshold: int | None = None
    is_member: bool | None = None
    balance_wei: int | None = None

    # ------------------------------------------------------------------ updates
    def pass_ok(self) -> None:
        self.passes_ok += 1
        self.consecutive_failures = 0
        self.last_ok_at = time.time()

    def pass_failed(self, error: BaseException) -> None:
        self.consecutive_failures += 1
        self.last_error = f"{type(error).__name__}: {error}"[:500]

    def observed(self, current: int, next_epoch: int, threshold: int, members, balance: int):
        self.rpc_error = None
        self.current_epoch, self.next_epoch, self.threshold = current, next_epoch, threshold
        self.is_member = self.operator.lower() in {m.lower() for m in members}
        self.balance_wei = balance

    def unobserved(self, error: BaseException) -> None:
        self.rpc_error = f"{type(error).__name__}: {error}"[:500]

    # ------------------------------------------------------------------ verdict
    @property
    def unsettled_epochs(self) -> int | None:
        """Ended epochs the hub has not settled (reported or skipped)."""
        if self.current_epoch is None or self.next_epoch is None:
            return None
        return max(self.current_epoch - self.next_epoch, 0)

    def problems(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        out = []
        if self.rpc_error:
            out.append(f"the chain's RPC does not answer: {self.rpc_error}")
        if self.consecutive_failures >= FAILED_PASSES:
            out.append(
                f"the last {self.consecutive_failures} pipeline passes failed: {self.last_error}"
                + _hint(self.last_error)
            )
        behind = self.unsettled_epochs
        if behind is not None and behind > BEHIND_EPOCHS:
            out.append(
                f"the hub has settled no report for {behind} ended epochs (its nextEpoch is "
                f"{self.next_epoch}, the current epoch {self.current_epoch})"
                + _hint(self.last_error)
            )
        if self.is_member is False:
            out.append(
                f"this operator ({self.operator}) is not in the hub's committee: its reports "
                "are refused (the owner adds it with setCommittee)"
            )
        elif self.alone and self.threshold is not None and self.threshold > 1:
            out.append(
                f"this oracle runs alone (no [committee] peers) but the hub needs "
                f"{self.threshold} signatures per report" + _hint("NotEnoughSignatures")
            )
        if self.balance_wei is not None and self.balance_wei < self.min_balance_wei:
            out.append(
                f"the operator's balance is {self.balance_wei / 1e18:.6f} ETH, below "
                f"{self.min_balance_wei / 1e18:g} ([chain] min_balance_eth): fund {self.operator}"
            )
        since = self.last_ok_at if self.last_ok_at is not None else self.started_at
        if now - since > self.stale_after_s:
            out.append(f"no pipeline pass has completed for {now - since:.0f} s")
        return out

    def state(self, now: float | None = None) -> tuple[str, list[str]]:
        """("ok" | "starting" | "unhealthy", problems)."""
        problems = self.problems(now)
        if problems:
            return "unhealthy", problems
        return ("ok" if self.passes_ok else "starting"), []


def _hint(error: str | None) -> str:
    for name, hint in HINTS.items():
        if error and name in error:
            return f" ({hint})"
    return ""
