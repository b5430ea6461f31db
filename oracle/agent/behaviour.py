"""How an agent behaves: `Honest` does the work it claims. `Behaviour` is the base the
simulation's dishonest behaviours (oracle.sim.behaviours) override: a behaviour changes only
what the node does, never how the oracle checks it. `offline` may be flipped at any time (every
endpoint then refuses with 503, or hangs for hang_s first in mode "hang")."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from oracle.protocol import compute

OFFLINE_MODES = ("refuse", "hang")


@dataclass
class Behaviour:
    """Base: honest work; `offline` may be flipped at any time."""

    name = "honest"
    offline: bool = False
    offline_mode: str = "refuse"
    hang_s: float = 30.0

    def __post_init__(self):
        if self.offline_mode not in OFFLINE_MODES:
            raise ValueError(
                f"offline mode must be one of {OFFLINE_MODES}, not {self.offline_mode!r}"
            )
        if not (math.isfinite(self.hang_s) and self.hang_s >= 0):
            raise ValueError("hang_s must be a finite number >= 0")

    def go_offline(self) -> None:
        self.offline = True

    def go_online(self) -> None:
        self.offline = False

    # --- compute
    def prover(self) -> Callable[[compute.Challenge], compute.Computation]:
        return compute.prove

    def commit_delay_s(self, elapsed_s: float) -> float:
        """Extra seconds to wait before answering a commitment that took elapsed_s."""
        return 0.0

    # --- storage
    def keeps_chunk(self, lease_id: int, index: int) -> bool:
        return True

    def answers_audits(self, lease_id: int) -> bool:
        """False: the node answers an audit of the lease 404 "no data" (a withholder)."""
        return True

    def fetch_delay_s(self, lease_id: int) -> float:
        """Seconds each chunk read takes beyond the local disk (a remote store's round trip)."""
        return 0.0


@dataclass
class Honest(Behaviour):
    name = "honest"
