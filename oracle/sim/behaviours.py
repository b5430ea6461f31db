"""The dishonest behaviours the simulation harness injects into agents (`create_app`'s
`behaviour`). A behaviour changes only what the node does, never how the
oracle checks it, so every one of them must be caught by the ordinary verifiers.

- `Honest`: does the work it claims.
- `LazyStorage(fraction_kept)`: stores only a pseudo-random fraction of each lease's chunks
  (the others are left as holes in a sparse file and read back as zeros); it keeps the chunk
  hashes, so it still knows the root and can build proofs, but a missing chunk does not reach
  the root: `bad_proof`, with the chunk's index.
- `WithholdStorage()`: takes a lease's data and signs its receipt, then answers every audit of
  it 404 "no data": `data_withheld` once the receipt is on the chain (Marketplace.confirmData),
  a storage failure (StorageAuditFailed by a majority of members, disputable with the chunk).
- `RemoteStore(rtt_s)`: keeps its leases' data elsewhere and fetches each chunk an audit asks
  for, rtt_s a chunk: the walk's 64 steps cost 64 round trips (`late` once they pass the
  deadline: 50 ms is 3.2 s against 2 s).
- `SkipWork(fraction)`: does the work of only 1 - fraction of the rows (compute.lazy_prover):
  `wrong_row` (its committed digest) once a sampled row is a skipped one.
- `SlowGpu(delay_s=..., factor=...)`: answers its compute commitment delay_s later than its
  work took, or after factor times it: `late` at the tiny challenge sizes of tests, where the
  real work of any class takes milliseconds. (A CPU claiming a GPU class needs no delay at the
  protocol's sizes: the honest agent registered as one is late, as the demo's `compute-slow`.)
- Spoofed location is a property of the radio medium, not of the agent: the harness registers
  the node on-chain with a claimed position (HardwareClaim.wireless(lat, lon)) and places its
  true `oracle.sim.radio.Radio` elsewhere (`medium.place(node, Radio(true_lat, true_lon))`); the
  medium delivers from the true position, the oracle checks against the claimed one.
- `Offline(mode)`: every endpoint refuses with 503 (mode "refuse") or hangs for hang_s and then
  refuses (mode "hang", which a caller with a shorter timeout sees as a timeout). Any behaviour
  can be taken offline mid-run by setting its `offline` attribute (or `go_offline()`); the
  harness should also `medium.set_online(node, False)` so the node stops hearing beacons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import keccak

from oracle.agent.behaviour import Behaviour, Honest
from oracle.protocol import compute

__all__ = [
    "Behaviour", "Honest", "LazyStorage", "Offline", "RemoteStore", "SkipWork", "SlowGpu",
    "WithholdStorage",
]  # fmt: skip


@dataclass
class LazyStorage(Behaviour):
    name = "lazy_storage"
    fraction_kept: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.fraction_kept <= 1:
            raise ValueError(f"fraction_kept must be in [0, 1], got {self.fraction_kept}")

    def keeps_chunk(self, lease_id: int, index: int) -> bool:
        digest = keccak(b"keep" + lease_id.to_bytes(32, "big") + index.to_bytes(32, "big"))
        return int.from_bytes(digest, "big") < self.fraction_kept * 2**256


@dataclass
class RemoteStore(Behaviour):
    name = "remote_store"
    rtt_s: float = 0.05

    def __post_init__(self):
        super().__post_init__()
        if not (math.isfinite(self.rtt_s) and self.rtt_s >= 0):
            raise ValueError(f"rtt_s must be a finite number >= 0, got {self.rtt_s}")

    def fetch_delay_s(self, lease_id: int) -> float:
        return self.rtt_s


@dataclass
class WithholdStorage(Behaviour):
    name = "withhold_storage"

    def answers_audits(self, lease_id: int) -> bool:
        return False


@dataclass
class SkipWork(Behaviour):
    name = "skip_work"
    fraction: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1], got {self.fraction}")

    def prover(self) -> Callable[[compute.Challenge], compute.Computation]:
        return compute.lazy_prover(self.fraction)


@dataclass
class SlowGpu(Behaviour):
    name = "slow_gpu"
    delay_s: float = 0.0
    factor: float = 1.0  # answer after factor x the real time (a CPU some factor slower)

    def __post_init__(self):
        super().__post_init__()
        if not (math.isfinite(self.delay_s) and self.delay_s >= 0):
            raise ValueError("delay_s must be a finite number >= 0")
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise ValueError("factor must be a finite number >= 1")

    def commit_delay_s(self, elapsed_s: float) -> float:
        return self.delay_s + (self.factor - 1) * elapsed_s


@dataclass
class Offline(Behaviour):
    name = "offline"
    offline: bool = True
