"""The in-process air: one RadioMedium shared by every agent of a simulation, plus the inbox of
each node (the beacons it heard, per epoch). A beaconer's agent transmits through the medium and
the receptions land in the witnesses' inboxes; each witness's agent reports its own inbox.

Airwaves implements the agent's `Radio` (oracle.agent.app): the harness hands
`airwaves_for(medium)` to every agent it runs in one process.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass

from oracle.protocol.coverage import Beacon, WitnessReport, air_time, node_id
from oracle.sim.radio import RadioMedium

EPOCHS_KEPT = 8  # inbox epochs kept per node; older ones are dropped
MAX_HEARD_PER_EPOCH = 10_000


@dataclass(frozen=True)
class Heard:
    beacon: Beacon
    report: WitnessReport  # the report the witness signs (fixed point as signed)


class Airwaves:
    def __init__(self, medium: RadioMedium):
        self.medium = medium
        self._inbox: dict[str, OrderedDict[int, list[Heard]]] = {}

    def transmit(self, beacon: Beacon, sender: str, secret: bytes) -> list[str]:
        """Sends `beacon` carrying `secret` from `sender` at the beacon's scheduled transmit
        time; returns who heard it (receivers' inboxes get the witness reports)."""
        receptions = self.medium.transmit(beacon, sender, now=air_time(beacon, secret))
        for reception in receptions:
            report = reception.report(beacon, secret).canonical()
            self._deliver(reception.receiver, beacon, report)
        return [r.receiver for r in receptions]

    def _deliver(self, receiver: str, beacon: Beacon, report: WitnessReport) -> None:
        epochs = self._inbox.setdefault(node_id(receiver), OrderedDict())
        heard = epochs.setdefault(beacon.epoch, [])
        epochs.move_to_end(beacon.epoch)
        while len(epochs) > EPOCHS_KEPT:
            epochs.popitem(last=False)
        if len(heard) < MAX_HEARD_PER_EPOCH and all(h.beacon.hash != beacon.hash for h in heard):
            heard.append(Heard(beacon, report))

    def heard(self, node: str, epoch: int) -> list[WitnessReport]:
        return [h.report for h in self._inbox.get(node_id(node), {}).get(epoch, ())]


_AIRWAVES: weakref.WeakKeyDictionary[RadioMedium, Airwaves] = weakref.WeakKeyDictionary()


def airwaves_for(medium: RadioMedium | Airwaves) -> Airwaves:
    """The one Airwaves of `medium` (created on first use)."""
    if isinstance(medium, Airwaves):
        return medium
    if not isinstance(medium, RadioMedium):
        raise TypeError(f"expected a RadioMedium, got {type(medium).__name__}")
    air = _AIRWAVES.get(medium)
    if air is None:
        air = _AIRWAVES[medium] = Airwaves(medium)
    return air
