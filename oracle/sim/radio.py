"""The simulated radio medium: delivers beacons from the nodes' TRUE positions and radios (which
may differ from what they claimed on-chain). Pure computation with an injected numpy RNG; no
network and no clock (the transmit time is a parameter). A later stage serves it over HTTP.

Channel model, for a link of true length d (metres) on frequency f (Hz):

    loss = FSPL(1 m, f) + 10 n log10(d / 1 m) + S_link + F
    received power P_rx = P_tx + G_tx + G_rx - loss
    noise N = -174 dBm/Hz + 10 log10(B) + NF_rx        SNR = P_rx - N
    heard  iff  SNR >= SNR_limit(SF), i.e. P_rx >= sensitivity

- Log-distance path loss with a 1 m free-space reference and exponent n = 3.0, the middle of
  the 2.7-3.5 that Rappaport (Wireless Communications, 2nd ed., Table 4.2) gives for urban
  cellular radio.
- S_link: log-normal shadowing, sigma 7 dB, drawn once per (unordered) link and kept, as a
  building or hill between two nodes stays put; 3GPP TR 38.901 Table 7.4.1-1 gives 6 dB (UMa
  NLOS) to 7.82 dB (UMi NLOS). F: per-packet fading, sigma 2 dB, from the injected RNG.
- LoRa at SF10, 125 kHz (US915 DR0, the slowest uplink rate the 400 ms FCC dwell time allows;
  LoRaWAN RP002), noise figure 6 dB: sensitivity -132 dBm (Semtech AN1200.22; SX1276 datasheet).
- The reported RSSI is the signal strength (SX1302 "rssis"), the SNR clipped to what the radio
  can report ([-32, +31.75] dB), the frequency the channel centre
  (as a packet forwarder reports it), the reception time the transmit time plus d / c.

Behaviours for the simulation: a spoofer is a node whose `Radio` position differs from its
claim (nothing special here: the medium only knows the truth); an offline node neither sends
nor hears; a colluder (`fabricate_for`) reports the beacons of the listed beaconers even when it
cannot hear them, at a fabricated RSSI and SNR, with their secrets (its beaconers hand them
over); a phantom (`phantom`) has no radio at all: it hears and sends nothing, and reports every
beacon transmitted anywhere (anyone can name the beacons from the epoch seed) at a fabricated
RSSI and SNR, with a proof it can only guess, since it never hears a secret.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from eth_utils import keccak

from oracle.protocol.coverage import (
    LORA_DEMOD_SNR_DB,
    SPEED_OF_LIGHT,
    Beacon,
    WitnessReport,
    fspl_db,
    haversine_m_array,
    lora_sensitivity_dbm,
    node_id,
    noise_floor_dbm,
    witness_proof,
)

# A LoRa radio reports SNR as a signed byte in quarter dB (SX1276 RegPktSnrValue): strong
# signals read as +31.75 dB at most.
SNR_REPORT_RANGE_DB = (-32.0, 31.75)


@dataclass(frozen=True)
class MediumParams:
    path_loss_exponent: float = 3.0
    shadowing_sigma_db: float = 7.0
    fading_sigma_db: float = 2.0
    spreading_factor: int = 10
    bandwidth_hz: int = 125_000
    reference_distance_m: float = 1.0

    def __post_init__(self):
        if not 1.5 <= self.path_loss_exponent <= 6:
            raise ValueError(f"path loss exponent {self.path_loss_exponent} outside [1.5, 6]")
        if self.shadowing_sigma_db < 0 or self.fading_sigma_db < 0:
            raise ValueError("shadowing and fading sigmas must be >= 0")
        if self.spreading_factor not in LORA_DEMOD_SNR_DB:
            raise ValueError(f"spreading factor {self.spreading_factor} not in 7-12")
        if self.bandwidth_hz <= 0 or self.reference_distance_m <= 0:
            raise ValueError("bandwidth and reference distance must be > 0")

    def sensitivity_dbm(self, noise_figure_db: float) -> float:
        return lora_sensitivity_dbm(self.spreading_factor, self.bandwidth_hz, noise_figure_db)


@dataclass(frozen=True)
class Radio:
    """A node's true radio: where it really is and what it really transmits with."""

    lat: float
    lon: float
    tx_power_dbm: float = 27.0
    antenna_gain_dbi: float = 3.0
    noise_figure_db: float = 6.0
    online: bool = True
    # Colluder: beaconers whose beacons it reports without hearing them, and at what values.
    fabricate_for: frozenset[str] = field(default_factory=frozenset)
    fabricated_rssi_dbm: float = -60.0
    fabricated_snr_db: float = 8.0
    phantom: bool = False  # no radio: fabricates every beacon's report, secret unknown


@dataclass(frozen=True)
class Reception:
    receiver: str
    rssi_dbm: float
    snr_db: float
    frequency_hz: int
    received_at: float
    fabricated: bool = False  # for the simulation's bookkeeping; never part of a report
    knows_secret: bool = True  # False: a phantom's, which never heard the air

    def report(self, beacon: Beacon, secret: bytes) -> WitnessReport:
        """The witness report an agent would sign for this reception of `beacon` carrying
        `secret` (a phantom's proof is its best guess from public data: a wrong one)."""
        proof = (
            witness_proof(secret, self.receiver)
            if self.knows_secret
            else witness_proof(beacon.payload, self.receiver)
        )
        return WitnessReport(
            self.receiver,
            beacon.hash,
            self.rssi_dbm,
            self.snr_db,
            self.frequency_hz,
            self.received_at,
            proof,
        )


class RadioMedium:
    """All nodes' true radios; `transmit` tells who hears a beacon and how well."""

    def __init__(
        self,
        rng: np.random.Generator,
        params: MediumParams | None = None,
        radios: Mapping[str, Radio] | None = None,
    ):
        self.params = params or MediumParams()
        self._rng = rng
        # Key of the persistent per-link shadowing, drawn once from the injected RNG.
        self._link_key = rng.bytes(32)
        self._link_shadow: dict[tuple[str, str], float] = {}
        self._radios: dict[str, Radio] = {}
        for node, radio in (radios or {}).items():
            self.place(node, radio)

    # --- the population --------------------------------------------------------------------

    def place(self, node: str, radio: Radio) -> None:
        fabricate_for = frozenset(node_id(n) for n in radio.fabricate_for)
        self._radios[node_id(node)] = replace(radio, fabricate_for=fabricate_for)

    def remove(self, node: str) -> None:
        self._radios.pop(node_id(node), None)

    def set_online(self, node: str, online: bool) -> None:
        node = node_id(node)
        self._radios[node] = replace(self._radios[node], online=online)

    def radio(self, node: str) -> Radio:
        return self._radios[node_id(node)]

    def __contains__(self, node: str) -> bool:
        return node_id(node) in self._radios

    def __len__(self) -> int:
        return len(self._radios)

    # --- propagation -----------------------------------------------------------------------

    def link_shadowing_db(self, a: str, b: str) -> float:
        """The persistent shadowing of the link a-b (symmetric, independent of call order)."""
        key = tuple(sorted((node_id(a), node_id(b))))
        if key not in self._link_shadow:
            # Box-Muller on two uniforms from keccak256(link key || a || b): a normal deviate
            # that depends on the link only, not on the order links are first used.
            digest = keccak(self._link_key + bytes.fromhex(key[0][2:] + key[1][2:]))
            u1 = (int.from_bytes(digest[:8], "big") + 1) / 2**64  # (0, 1]
            u2 = int.from_bytes(digest[8:16], "big") / 2**64
            z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
            self._link_shadow[key] = z * self.params.shadowing_sigma_db
        return self._link_shadow[key]

    def path_loss_db(self, distance_m, frequency_hz: float):
        """Median log-distance loss (no shadowing or fading), for scalars or arrays."""
        p = self.params
        d = np.maximum(np.asarray(distance_m, dtype=float), p.reference_distance_m)
        reference = fspl_db(p.reference_distance_m, frequency_hz)
        return reference + 10 * p.path_loss_exponent * np.log10(d / p.reference_distance_m)

    def transmit(self, beacon: Beacon, from_node: str, now: float) -> list[Reception]:
        """Everyone who reports hearing `beacon`, sent by `from_node` at time `now`: the online
        nodes whose received SNR reaches the demodulation limit, plus the colluders that
        fabricate it. Sorted by receiver."""
        sender_id = node_id(from_node)
        sender = self._radios.get(sender_id)
        receptions: list[Reception] = []
        if sender is not None and sender.online and not sender.phantom:
            receptions = self._hear(beacon, sender_id, sender, now)
        heard = {r.receiver for r in receptions}
        beaconer = node_id(beacon.beaconer)
        for node, radio in sorted(self._radios.items()):
            colluding = beaconer in radio.fabricate_for
            if node != sender_id and node not in heard and (colluding or radio.phantom):
                receptions.append(
                    Reception(
                        node,
                        radio.fabricated_rssi_dbm,
                        radio.fabricated_snr_db,
                        beacon.frequency_hz,
                        now + 0.001,
                        fabricated=True,
                        knows_secret=colluding,
                    )
                )
        return sorted(receptions, key=lambda r: r.receiver)

    def _hear(self, beacon: Beacon, sender_id: str, sender: Radio, now: float) -> list[Reception]:
        p = self.params
        listening = sorted((n, r) for n, r in self._radios.items() if r.online and not r.phantom)
        nodes = [n for n, _ in listening if n != sender_id]
        if not nodes:
            return []
        radios = [self._radios[n] for n in nodes]
        lat = np.array([r.lat for r in radios])
        lon = np.array([r.lon for r in radios])
        gain = np.array([r.antenna_gain_dbi for r in radios])
        noise_figure = np.array([r.noise_figure_db for r in radios])
        distance = haversine_m_array(sender.lat, sender.lon, lat, lon)
        shadowing = np.array([self.link_shadowing_db(sender_id, n) for n in nodes])
        fading = self._rng.normal(0.0, p.fading_sigma_db, size=len(nodes))
        loss = self.path_loss_db(distance, beacon.frequency_hz) + shadowing + fading
        power = sender.tx_power_dbm + sender.antenna_gain_dbi + gain - loss
        snr = power - noise_floor_dbm(p.bandwidth_hz, noise_figure)
        heard = snr >= LORA_DEMOD_SNR_DB[p.spreading_factor]
        reported_snr = np.clip(snr, *SNR_REPORT_RANGE_DB)
        return [
            Reception(
                nodes[i],
                float(power[i]),
                float(reported_snr[i]),
                beacon.frequency_hz,
                now + float(distance[i]) / SPEED_OF_LIGHT,
            )
            for i in np.flatnonzero(heard)
        ]
