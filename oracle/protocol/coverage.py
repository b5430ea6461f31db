"""Proof of coverage: beacons, witness reports, the physics checks, hex density and the reward
units. Pure functions: no I/O and no clock reads (every time is a parameter).

The protocol (DESIGN.md, "The three proofs"; modelled on Helium's oracle-based PoC,
helium/oracles `iot_verifier`, see shared/research/protocols.md section 2b):

1. **Beacons.** From the epoch seed (32 bytes from the chain) and the eligible wireless nodes,
   `schedule_beacons` picks ceil(beacon_fraction * n) beaconers (at least `min_beacons`): the
   nodes with the smallest keccak256("beaconer" || seed || node || epoch). Each beacon has a
   public id, payload = keccak256(seed || beaconer || uint64 epoch) (packed), a channel of the
   plan picked by keccak256("channel" || payload) and a scheduled time `start + offset`, the
   offset (whole ms, below `beacon_spread_s`) picked by keccak256("time" || payload). The
   beacon hash binds epoch, beaconer, payload, frequency and time, so a witness report can be
   replayed neither into another epoch nor onto another beacon. Each beaconer is sent its own
   beacon only.
2. **A secret only the air carries.** Everything above is public: anyone with the seed can
   name every beacon. What proves a witness heard one is a secret the beacon carries on the
   air, that exists nowhere before the beaconer transmits:
   - each committee member draws a fresh random 32-byte *share* per beacon and hands it to the
     beaconer with its beacon request, signed (EIP-191 over `share_digest`: tag, chain id,
     beacon hash, share), so the beaconer knows it came from a member (the agent's `oracles`);
   - the beaconer transmits once it holds every member's share, or a window after the first,
     carrying secret = `beacon_secret(beacon hash, shares)` = keccak256 over the shares in
     member order, at `air_time` (the scheduled time plus up to AIR_SPREAD_MS drawn from the
     secret: every beacon's differs and none is known before its secret), and answers each
     member with the members whose shares are in it;
   - a witness's report carries proof = keccak256(tag || secret || witness) (`witness_proof`),
     signed with the rest of the report, so it proves that this witness heard the secret;
   - the beaconer reveals the shares (`POST /coverage/reveal`) only `reveal_after` after the
     transmission, the largest of the members' requested `reveal_after_s`; a member counts the
     witness lists it received before (its beacon request's send time + its reveal_after_s),
     which is before any secret of its beacons could be out, then asks for the shares, checks
     each member's signature and that its own share is in, and checks every proof.
   A member whose share is in a secret knows that nobody but the beaconer knew the secret before
   the air did: a hostile member cannot feed phantom witnesses (it never knows a whole secret
   before the reveal, and the honest members' witness lists are closed by then). A member whose
   share is not in it (late) counts that beacon's reports as `unverified`. What this cannot stop:
   a beaconer that gives its own secret to phantoms (a node paid for its own witnesses: the ring
   rule and the hex cap bound it), and a radio in range that relays the secret to a phantom
   within the reception lag (it needs a real radio next to the beacon).
3. **Witness reports.** A node that hears a beacon reports (witness, beacon hash, RSSI, SNR,
   frequency, reception time, proof), signed by its node key over `witness_message()` (fixed
   point: RSSI and SNR in hundredths of dB, time in ms). The oracle rebuilds the report from the
   signed fields (`WitnessReport.from_message_fields`), so what is checked is what was signed.
4. **Checks** (`validate_witness`, in this order; the first that fails is the verdict):

   | reason          | rule                                                                      |
   | --------------- | ------------------------------------------------------------------------- |
   | `malformed`     | bad address, hash or proof, NaN/inf, RSSI outside [-200, 30] dBm, SNR out |
   |                 | [-50, 50] dB, frequency outside (0, 10 GHz], time <= 0                     |
   | `unknown_beacon`| the beacon hash is not one of this epoch's beacons                        |
   | `duplicate`     | a witness reports one beacon twice (different reports: all of them)       |
   | `unknown_node`  | witness or beaconer has no asserted radio claim (not a wireless node)     |
   | `self`          | the witness is the beaconer                                               |
   | `unverified`    | this member holds no trusted secret for the beacon (not revealed, or its  |
   |                 | own share is not in it, or the list reached it after the reveal could be)  |
   | `unheard`       | the proof is not witness_proof(secret, witness): it did not hear the air   |
   | `stale`         | received outside [air - skew, air + lag] (air = air_time(beacon, secret)),|
   |                 | or reached the oracle after                                               |
   |                 | tx + report_deadline_s, or before its own reception time - skew           |
   | `wrong_frequency` | abs(f_witness - f_beacon) > frequency_tolerance_hz                       |
   | `too_close`     | claimed positions closer than min_distance_m (haversine)                  |
   | `too_far`       | claimed positions farther than max_distance_m                             |
   | `too_strong`    | RSSI > P_tx + G_tx + G_rx - FSPL(d_claimed, f) + rssi_margin_db, or        |
   |                 | SNR > RSSI - kTB + rssi_margin_db (a noise power below thermal noise)      |
   | `same_owner`    | witness and beaconer registered by one owner: no independent confirmation |
   | `over_hex_cap`  | valid, but its cell already has hex_cap witnesses of this beacon           |

   The free-space bound is the only safe upper bound: a line-of-sight link gets close to free
   space, every other link is weaker, so no honest witness exceeds it by more than the margin.
   The margin, 6 dB, is the most a single ground reflection in phase with the direct ray adds
   (two equal rays double the field: 20 log10 2 = 6.02 dB; Rappaport, Wireless Communications,
   2nd ed., section 4.6). Consequence: the check catches a location spoofer only when its true
   link is much shorter than its claimed one (see tests/test_proof_coverage.py for the rate).

   **Per-hex cap.** Per beacon, at most `hex_cap` (2) valid witnesses per res-`hex_cap_resolution`
   (8, about 0.74 km2) cell of the witnesses' claimed positions. Within a cell the witnesses are
   ranked by keccak256(beacon hash || witness) and the first `hex_cap` kept: a lottery fixed by
   the beacon, so neither arrival order nor a reported RSSI (which a cheater could inflate)
   decides, and over many beacons each witness of a crowded cell wins its share.
5. **Hex density** (`hex_density_weights`): Helium's HIP-17 roll-up (helium/oracles
   `hex_density.rs`). Counts start at the finest configured resolution; at each resolution r,
   from fine to coarse, a cell's count is the sum of its children's clipped counts, its limit is
   min(max_r, target_r * max(1, occupied - neighbours_r + 1)) where `occupied` is the number of
   cells in its grid disk of radius 1 (itself included) whose count reaches target_r, and its
   clipped count is min(count, limit). A node's weight is the product over resolutions of
   clipped / count of the cells that contain it. One deliberate difference: `occupied` is
   counted on all the rolled-up counts of the resolution before any is clipped, so the result
   does not depend on iteration order (the reference reads a map that is partly clipped, in
   hash-map order). Default rules: resolutions 4-8 of the reference table; Plinth asserts
   positions at res 8, so the reference's res 9 and 10 rows are left out.
6. **Reward units** (`coverage_scores`, HIP-15 with witness_redundancy R = 4, decay 0.8):
   for a beacon with n valid witnesses (after the hex cap) the beaconer earns n/R if n <= R,
   else min(cap, 2 - 0.8^(n - R)) with cap 2; each witness earns 1 if n <= R, else
   (R - (1 - 0.8^(n - R))) / n. Each unit is multiplied by the earner's hex-density weight.
   With n <= R the witnesses together earn R times what the beaconer does, Helium's 24 % / 6 %
   witness/beacon split, so one pool of units keeps that ratio.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import h3
import numpy as np
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address

# --- physics -----------------------------------------------------------------------------------

SPEED_OF_LIGHT = 299_792_458.0  # m/s
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius R1
# 20 log10(4 pi / c): FSPL(d, f) = 20 log10(d) + 20 log10(f) + FSPL_CONSTANT_DB, d in m, f in Hz.
FSPL_CONSTANT_DB = -147.55
THERMAL_NOISE_DBM_HZ = -174.0  # kT at 290 K
# LoRa demodulator SNR limit per spreading factor (Semtech SX1276 datasheet, "LoRa modem").
LORA_DEMOD_SNR_DB = {7: -7.5, 8: -10.0, 9: -12.5, 10: -15.0, 11: -17.5, 12: -20.0}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points in degrees, on the mean-radius sphere
    (the ellipsoid differs by up to 0.5 %, far below what the checks resolve)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def haversine_m_array(lat1, lon1, lat2, lon2) -> np.ndarray:
    """`haversine_m` over numpy arrays (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def fspl_db(distance_m: float, frequency_hz: float) -> float:
    """Free-space path loss (Friis): 20 log10(d) + 20 log10(f) - 147.55; 1 km at 915 MHz is
    91.68 dB. ITU-R P.525 writes the same as 32.45 + 20 log10(f MHz) + 20 log10(d km)."""
    return 20 * math.log10(distance_m) + 20 * math.log10(frequency_hz) + FSPL_CONSTANT_DB


def thermal_noise_dbm(bandwidth_hz: float) -> float:
    """kTB: the noise power of a noiseless receiver, -174 dBm/Hz + 10 log10(B)."""
    return THERMAL_NOISE_DBM_HZ + 10 * math.log10(bandwidth_hz)


def noise_floor_dbm(bandwidth_hz: float, noise_figure_db: float) -> float:
    return thermal_noise_dbm(bandwidth_hz) + noise_figure_db


def lora_sensitivity_dbm(
    spreading_factor: int, bandwidth_hz: float, noise_figure_db: float
) -> float:
    """Semtech AN1200.22 (LoRa Modulation Basics): S = -174 + 10 log10(BW) + NF + SNR_limit(SF).
    SF10, 125 kHz, NF 6 dB: -132 dBm; SF12: -137 dBm, the datasheet figures."""
    return noise_floor_dbm(bandwidth_hz, noise_figure_db) + LORA_DEMOD_SNR_DB[spreading_factor]


# --- channel plans and parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    channels_hz: tuple[int, ...]
    bandwidth_hz: int = 125_000


# LoRaWAN Regional Parameters (RP002): EU863-870 default channels 868.1/868.3/868.5 MHz plus the
# five 867.x MHz channels of The Things Network's plan; US902-928 sub-band 2 (channels 8-15,
# 903.9-905.3 MHz), the sub-band TTN and Helium use.
EU868 = ChannelPlan(
    "EU868",
    (
        868_100_000,
        868_300_000,
        868_500_000,
        867_100_000,
        867_300_000,
        867_500_000,
        867_700_000,
        867_900_000,
    ),
)
US915 = ChannelPlan("US915", tuple(903_900_000 + 200_000 * i for i in range(8)))

# HIP-17 rules (resolution, neighbours N, target T, max M), from helium/oracles hex_density.rs.
HIP17_RULES: tuple[tuple[int, int, int, int], ...] = (
    (8, 2, 1, 4),
    (7, 2, 5, 20),
    (6, 1, 25, 100),
    (5, 1, 100, 400),
    (4, 1, 250, 800),
)


MAX_REVEAL_AFTER_S = 600.0  # a beaconer keeps a beacon's secret at most this long


@dataclass(frozen=True)
class CoverageParams:
    """Protocol parameters; defaults follow Helium's oracle-based PoC where it has one."""

    # Beacon schedule.
    beacon_fraction: float = 0.25
    min_beacons: int = 1
    beacon_spread_s: float = 0.0  # > 0 spreads transmit times over the epoch (the medium has
    # no collisions, a real band does)
    channel_plan: ChannelPlan = US915
    # Witness checks.
    min_distance_m: float = 300.0  # Helium: res-11 grid distance < 8 cells, about 0.3 km
    max_distance_m: float = 100_000.0  # Helium MaxDistanceExceeded
    rssi_margin_db: float = 6.0  # one in-phase ground reflection (see module docstring)
    frequency_tolerance_hz: int = 1_000  # Helium poc-v11: within 1 kHz of the channel
    max_clock_skew_s: float = 1.0
    max_reception_lag_s: float = 4.0  # Helium MAX_BEACON_TO_WITNESS_LAG
    # A beacon's secret is revealed no sooner than this after it went on the air; a member
    # counts only witness lists it received before (its beacon request's send time + this), so
    # it must exceed the agents' share window (10 s) plus the witness lists' gathering with
    # every retry (4 tries of 5 s with backoff: about 24 s).
    reveal_after_s: float = 45.0
    report_deadline_s: float = 180.0  # Helium ENTROPY_LIFESPAN
    hex_cap_resolution: int = 8
    hex_cap: int = 2
    # Hex density (HIP-17).
    density_rules: tuple[tuple[int, int, int, int], ...] = HIP17_RULES
    # Reward units (HIP-15).
    witness_redundancy: int = 4
    reward_decay: float = 0.8
    beaconer_cap: float = 2.0

    def __post_init__(self):
        checks = [
            (0 < self.beacon_fraction <= 1, "beacon_fraction must be in (0, 1]"),
            (self.min_beacons >= 1, "min_beacons must be >= 1"),
            (self.beacon_spread_s >= 0, "beacon_spread_s must be >= 0"),
            (len(self.channel_plan.channels_hz) > 0, "channel plan has no channels"),
            (0 <= self.min_distance_m < self.max_distance_m, "need 0 <= min < max distance"),
            (self.rssi_margin_db >= 0, "rssi_margin_db must be >= 0"),
            (self.frequency_tolerance_hz >= 0, "frequency_tolerance_hz must be >= 0"),
            (self.max_clock_skew_s >= 0, "max_clock_skew_s must be >= 0"),
            (self.max_reception_lag_s > 0, "max_reception_lag_s must be > 0"),
            (self.report_deadline_s >= self.max_reception_lag_s, "deadline before lag"),
            (0 < self.reveal_after_s <= MAX_REVEAL_AFTER_S, "reveal_after_s must be in (0, 600]"),
            (0 <= self.hex_cap_resolution <= 15, "hex_cap_resolution must be 0-15"),
            (self.hex_cap >= 1, "hex_cap must be >= 1"),
            (len(self.density_rules) > 0, "density_rules is empty"),
            (self.witness_redundancy >= 1, "witness_redundancy must be >= 1"),
            (0 <= self.reward_decay < 1, "reward_decay must be in [0, 1)"),
            (self.beaconer_cap > 0, "beaconer_cap must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"CoverageParams: {message}")
        resolutions = [rule[0] for rule in self.density_rules]
        if len(set(resolutions)) != len(resolutions):
            raise ValueError("CoverageParams: density_rules repeat a resolution")
        for res, neighbours, target, maximum in self.density_rules:
            if not (0 <= res <= 15 and neighbours >= 0 and 1 <= target <= maximum):
                raise ValueError(f"CoverageParams: bad density rule {res, neighbours, target}")


DEFAULT_PARAMS = CoverageParams()


# --- claims ------------------------------------------------------------------------------------


def node_id(node: str) -> str:
    """The canonical (checksum) form of a node address; ValueError if it is not one."""
    if not isinstance(node, str):
        raise ValueError(f"not a node address: {node!r}")
    return _node_id(node)


@functools.lru_cache(maxsize=1 << 16)
def _node_id(node: str) -> str:
    if not is_address(node):
        raise ValueError(f"not a node address: {node!r}")
    return to_checksum_address(node)


@dataclass(frozen=True)
class RadioClaim:
    """What a wireless node asserted at registration: position and radio, in natural units."""

    lat: float
    lon: float
    tx_power_dbm: float = 27.0
    antenna_gain_dbi: float = 3.0
    owner: str = ""  # the provider that registered it (lowercase hex; "" unknown)

    def __post_init__(self):
        values = (self.lat, self.lon, self.tx_power_dbm, self.antenna_gain_dbi)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"radio claim has a non-finite value: {values}")
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"position out of range: {self.lat}, {self.lon}")
        # EIRP limits: FCC 15.247 allows 30 dBm conducted + 6 dBi; Helium accepts 1-15 dBi gains.
        if not -10 <= self.tx_power_dbm <= 36:
            raise ValueError(f"tx power {self.tx_power_dbm} dBm outside [-10, 36]")
        if not 0 <= self.antenna_gain_dbi <= 15:
            raise ValueError(f"antenna gain {self.antenna_gain_dbi} dBi outside [0, 15]")

    @classmethod
    def from_hardware(cls, claim, owner: str = "") -> RadioClaim:
        """From a NodeRegistry HardwareClaim (oracle.protocol.hardware): microdegrees and tenths
        of a dB, and the node's owner. The position is lat/lon when set, else the centre of the
        asserted H3 cell."""
        if claim.lat_e6 == 0 and claim.lon_e6 == 0:
            if claim.h3_cell == 0:
                raise ValueError("no location asserted")
            lat, lon = h3.cell_to_latlng(h3.int_to_str(claim.h3_cell))
        else:
            lat, lon = claim.lat_e6 / 1e6, claim.lon_e6 / 1e6
        return cls(lat, lon, claim.tx_power_dbm / 10, claim.antenna_gain_dbi / 10, owner.lower())

    def cell(self, resolution: int) -> str:
        return h3.latlng_to_cell(self.lat, self.lon, resolution)


# --- beacons -----------------------------------------------------------------------------------

BEACON_TAG = keccak(b"Plinth.CoverageBeacon.v1")
WITNESS_TAG = keccak(b"Plinth.CoverageWitness.v1")


def _seed(seed: bytes) -> bytes:
    if not isinstance(seed, bytes | bytearray) or len(seed) != 32:
        raise ValueError("the epoch seed must be 32 bytes")
    return bytes(seed)


def beacon_payload(seed: bytes, beaconer: str, epoch: int) -> bytes:
    """keccak256(seed || beaconer || uint64 epoch), packed."""
    return keccak(_seed(seed) + to_canonical_address(node_id(beaconer)) + epoch.to_bytes(8, "big"))


@dataclass(frozen=True)
class Beacon:
    epoch: int
    beaconer: str
    payload: bytes
    frequency_hz: int
    tx_time: float  # when the beaconer is to transmit, unix seconds (whole ms)

    @functools.cached_property
    def hash(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "uint64", "address", "bytes32", "uint64", "uint64"],
                [
                    BEACON_TAG,
                    self.epoch,
                    node_id(self.beaconer),
                    self.payload,
                    self.frequency_hz,
                    round(self.tx_time * 1000),
                ],
            )
        )


SHARE_TAG = keccak(b"Plinth.CoverageShare.v1")
SECRET_TAG = keccak(b"Plinth.CoverageSecret.v1")
PROOF_TAG = keccak(b"Plinth.CoverageHeard.v1")


def share_digest(chain_id: int, beacon_hash: bytes, share: bytes) -> bytes:
    """What a member signs (EIP-191 personal_sign) when it hands a beaconer its share:
    keccak256(abi.encode(tag, chain id, beacon hash, share))."""
    return keccak(
        encode(
            ["bytes32", "uint256", "bytes32", "bytes32"], [SHARE_TAG, chain_id, beacon_hash, share]
        )
    )


def sign_share(key, chain_id: int, beacon_hash: bytes, share: bytes) -> bytes:
    """The member's signature of its share; `key`: an eth-account LocalAccount or a private key."""
    message = encode_defunct(primitive=share_digest(chain_id, beacon_hash, share))
    signer = (
        key.sign_message
        if hasattr(key, "sign_message")
        else functools.partial(Account.sign_message, private_key=key)
    )
    return bytes(signer(message).signature)


def share_signer(chain_id: int, beacon_hash: bytes, share: bytes, signature: bytes) -> str | None:
    """The checksum address that signed this share, or None if the signature recovers nothing."""
    message = encode_defunct(primitive=share_digest(chain_id, beacon_hash, share))
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # any malformed signature: eth_keys raises several types
        return None


def beacon_secret(beacon_hash: bytes, shares: Mapping[str, bytes]) -> bytes:
    """The secret a beacon carries on the air: keccak256(tag || beacon hash || member_1 ||
    share_1 || ...) over the members' shares in ascending address order. Nobody knows it before
    the beaconer has every share; a member whose share is in it knows that no one but the
    beaconer did."""
    if not shares:
        raise ValueError("a beacon secret needs at least one share")
    parts = [SECRET_TAG, bytes(beacon_hash)]
    for member in sorted(shares, key=lambda m: int(node_id(m), 16)):
        share = shares[member]
        if len(share) != 32:
            raise ValueError("a share is 32 bytes")
        parts += [to_canonical_address(node_id(member)), bytes(share)]
    return keccak(b"".join(parts))


def witness_proof(secret: bytes, witness: str) -> bytes:
    """What a witness report carries to show its witness heard the beacon:
    keccak256(tag || secret || witness address). Bound to the witness, so a report cannot lend
    its proof to another node; a node that did not hear the secret cannot compute it."""
    return _proof(secret, node_id(witness))


AIR_TAG = keccak(b"Plinth.CoverageAirTime.v1")
AIR_SPREAD_MS = 1_000  # a beacon goes on the air up to this long after its scheduled time


def air_time(beacon: Beacon, secret: bytes) -> float:
    """When the beacon is on the air: its scheduled time plus keccak256(tag || secret) mod
    AIR_SPREAD_MS milliseconds. Every beacon's differs, and nobody knows it before the secret
    exists (a witness's reception time is checked against it)."""
    offset_ms = int.from_bytes(keccak(AIR_TAG + bytes(secret)), "big") % AIR_SPREAD_MS
    return (round(beacon.tx_time * 1000) + offset_ms) / 1000


def _proof(secret: bytes, witness: str) -> bytes:
    """witness_proof for a witness already in checksum form."""
    return keccak(PROOF_TAG + bytes(secret) + bytes.fromhex(witness[2:]))


class _Ids(dict):
    """node_id of each distinct address string, computed once per call: checksumming (a keccak
    each) was most of an epoch's validation when every report called it afresh."""

    def __missing__(self, raw: str) -> str:
        value = self[raw] = node_id(raw)
        return value


def _rank(*parts: bytes) -> bytes:
    return keccak(b"".join(parts))


def select_beaconers(
    seed: bytes, epoch: int, nodes: Iterable[str], params: CoverageParams = DEFAULT_PARAMS
) -> list[str]:
    """The epoch's beaconers: ceil(fraction * n), at least min_beacons, at most n, ranked by
    keccak256("beaconer" || seed || node || uint64 epoch). Independent of the input order."""
    seed = _seed(seed)
    eligible = sorted({node_id(n) for n in nodes})
    if not eligible:
        return []
    k = min(
        len(eligible), max(params.min_beacons, math.ceil(params.beacon_fraction * len(eligible)))
    )
    e = epoch.to_bytes(8, "big")
    ranked = sorted(eligible, key=lambda n: _rank(b"beaconer", seed, to_canonical_address(n), e))
    return sorted(ranked[:k])


def schedule_beacons(
    seed: bytes,
    epoch: int,
    nodes: Iterable[str],
    start_time: float,
    params: CoverageParams = DEFAULT_PARAMS,
) -> list[Beacon]:
    """The epoch's beacons, in transmit order (ties by beaconer)."""
    plan = params.channel_plan.channels_hz
    spread_ms = round(params.beacon_spread_s * 1000)
    start_ms = round(start_time * 1000)
    beacons = []
    for beaconer in select_beaconers(seed, epoch, nodes, params):
        payload = beacon_payload(seed, beaconer, epoch)
        channel = int.from_bytes(_rank(b"channel", payload), "big") % len(plan)
        offset = int.from_bytes(_rank(b"time", payload), "big") % spread_ms if spread_ms else 0
        beacons.append(Beacon(epoch, beaconer, payload, plan[channel], (start_ms + offset) / 1000))
    return sorted(beacons, key=lambda b: (b.tx_time, b.beaconer))


# --- witness reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WitnessReport:
    witness: str
    beacon_hash: bytes
    rssi_dbm: float
    snr_db: float
    frequency_hz: int
    received_at: float  # unix seconds, the witness's (GPS) clock
    proof: bytes  # witness_proof(the secret heard on the air, witness)

    def witness_message_fields(self) -> tuple[str, bytes, int, int, int, int, bytes]:
        """What the node key signs, in fixed point: (witness, beacon hash, RSSI in 0.01 dBm,
        SNR in 0.01 dB, frequency in Hz, reception time in ms, proof). ValueError if
        malformed."""
        reason = _malformed(self)
        if reason:
            raise ValueError(f"malformed witness report: {reason}")
        return (
            node_id(self.witness),
            bytes(self.beacon_hash),
            round(self.rssi_dbm * 100),
            round(self.snr_db * 100),
            int(self.frequency_hz),
            round(self.received_at * 1000),
            bytes(self.proof),
        )

    def witness_message(self) -> bytes:
        """The canonical bytes to sign: abi.encode(tag, witness, beaconHash, int32 rssi,
        int32 snr, uint64 frequency, uint64 receivedAtMs, bytes32 proof)."""
        return encode(
            ["bytes32", "address", "bytes32", "int32", "int32", "uint64", "uint64", "bytes32"],
            [WITNESS_TAG, *self.witness_message_fields()],
        )

    @classmethod
    def from_message_fields(cls, fields: Sequence) -> WitnessReport:
        witness, beacon_hash, rssi, snr, frequency, received_ms, proof = fields
        return cls(
            witness,
            bytes(beacon_hash),
            rssi / 100,
            snr / 100,
            frequency,
            received_ms / 1000,
            bytes(proof),
        )

    def canonical(self) -> WitnessReport:
        """The report exactly as signed (rounded to the message's fixed point)."""
        return WitnessReport.from_message_fields(self.witness_message_fields())


# --- verdicts ----------------------------------------------------------------------------------


class Reason(StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN_BEACON = "unknown_beacon"
    DUPLICATE = "duplicate"
    UNKNOWN_NODE = "unknown_node"
    SELF = "self"
    UNVERIFIED = "unverified"
    UNHEARD = "unheard"
    STALE = "stale"
    WRONG_FREQUENCY = "wrong_frequency"
    TOO_CLOSE = "too_close"
    TOO_FAR = "too_far"
    TOO_STRONG = "too_strong"
    SAME_OWNER = "same_owner"
    OVER_HEX_CAP = "over_hex_cap"


# Links that contradict one of their two claimed positions, without saying which: the beaconer's
# or the witness's. Such a link earns neither end anything and is neither end's failure (no
# rule lets a beacon's witnesses, or a witness's beaconers, steer a verdict onto the other).
CONTRADICTED = frozenset({Reason.TOO_CLOSE, Reason.TOO_FAR, Reason.TOO_STRONG})
# A provider's nodes confirm nothing of one another (a ring of one owner's radios at one site,
# claiming sites apart, would otherwise witness itself into rewards): such a link is sound but
# not independent; it earns nothing and fails no one.
NOT_INDEPENDENT = frozenset({Reason.SAME_OWNER})
# Reports whose proof of hearing fails or cannot be checked: they earn nothing and fail no one
# (a beaconer that reveals other shares than it sent makes honest proofs fail; so would a member
# late with its share): a phantom witness is unpaid, never proven guilty by its beaconer.
NOT_PROVEN_HEARD = frozenset({Reason.UNVERIFIED, Reason.UNHEARD})
# Every reason above: a report that earns nothing and is no fault of its witness alone.
UNPROVEN_LINKS = CONTRADICTED | NOT_INDEPENDENT | NOT_PROVEN_HEARD


@dataclass(frozen=True)
class WitnessVerdict:
    valid: bool
    reason: str
    detail: str = field(default="", compare=False)

    @classmethod
    def ok(cls, detail: str = "") -> WitnessVerdict:
        return cls(True, Reason.OK, detail)

    @classmethod
    def reject(cls, reason: Reason, detail: str = "") -> WitnessVerdict:
        return cls(False, reason, detail)


def _finite(*values) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _malformed(report: WitnessReport, quick: bool = False) -> str:
    """Why the report is malformed, or "" if it is not. `quick`: only that the witness is an
    address (what coverage_scores needs of a report its verdict did not call malformed)."""
    if not isinstance(report.witness, str) or not is_address(report.witness):
        return f"witness {report.witness!r} is not an address"
    if quick:
        return ""
    if not isinstance(report.beacon_hash, bytes | bytearray) or len(report.beacon_hash) != 32:
        return "beacon hash is not 32 bytes"
    if not isinstance(report.proof, bytes | bytearray) or len(report.proof) != 32:
        return "proof is not 32 bytes"
    values = (report.rssi_dbm, report.snr_db, report.frequency_hz, report.received_at)
    if isinstance(report.frequency_hz, bool) or not _finite(*values):
        return f"non-numeric or non-finite value in {values}"
    if not -200 <= report.rssi_dbm <= 30:
        return f"RSSI {report.rssi_dbm} dBm outside [-200, 30]"
    if not -50 <= report.snr_db <= 50:
        return f"SNR {report.snr_db} dB outside [-50, 50]"
    if report.frequency_hz != int(report.frequency_hz) or not 0 < report.frequency_hz <= 10**10:
        return f"frequency {report.frequency_hz} Hz is not a whole number in (0, 10 GHz]"
    if report.received_at <= 0 or report.received_at >= 2**63 / 1000:
        return f"reception time {report.received_at} out of range"
    return ""


def _check_report(
    beacon: Beacon | None,
    report: WitnessReport,
    claims: Mapping[str, RadioClaim],
    params: CoverageParams,
    now: float,
    seen: Collection[str],
    secret: bytes | None,
    ids: _Ids | None = None,
    well_formed: bool = False,
) -> WitnessVerdict:
    """One report's verdict; `well_formed`: the caller has checked _malformed already; `ids`:
    the caller's node_id memo."""
    reject = WitnessVerdict.reject
    problem = "" if well_formed else _malformed(report)
    if problem:
        return reject(Reason.MALFORMED, problem)
    if beacon is None or bytes(report.beacon_hash) != beacon.hash:
        return reject(Reason.UNKNOWN_BEACON, "not a beacon of this epoch")
    ids = _Ids() if ids is None else ids
    witness, beaconer = ids[report.witness], ids[beacon.beaconer]
    if witness in seen:
        return reject(Reason.DUPLICATE, "witness already reported this beacon")
    w_claim, b_claim = claims.get(witness), claims.get(beaconer)
    if w_claim is None or b_claim is None:
        missing = "witness" if w_claim is None else "beaconer"
        return reject(Reason.UNKNOWN_NODE, f"{missing} has no asserted radio claim")
    if witness == beaconer:
        return reject(Reason.SELF, "the beaconer cannot witness its own beacon")
    if secret is None:
        return reject(Reason.UNVERIFIED, "no trusted secret for this beacon to check it against")
    if bytes(report.proof) != _proof(secret, witness):
        return reject(Reason.UNHEARD, "its proof is not of the secret the beacon carried")

    lag = report.received_at - air_time(beacon, secret)
    if not -params.max_clock_skew_s <= lag <= params.max_reception_lag_s:
        return reject(Reason.STALE, f"received {lag:+.3f} s from the beacon's time on the air")
    if now > beacon.tx_time + params.report_deadline_s:
        return reject(Reason.STALE, f"reached the oracle {now - beacon.tx_time:.1f} s after tx")
    if now < report.received_at - params.max_clock_skew_s:
        return reject(Reason.STALE, "reception time is in the oracle's future")

    offset = abs(int(report.frequency_hz) - beacon.frequency_hz)
    if offset > params.frequency_tolerance_hz:
        return reject(Reason.WRONG_FREQUENCY, f"{offset} Hz off the beacon's channel")

    d = haversine_m(b_claim.lat, b_claim.lon, w_claim.lat, w_claim.lon)
    if d < params.min_distance_m:
        return reject(Reason.TOO_CLOSE, f"claimed distance {d:.0f} m")
    if d > params.max_distance_m:
        return reject(Reason.TOO_FAR, f"claimed distance {d / 1000:.1f} km")

    bound = (
        b_claim.tx_power_dbm
        + b_claim.antenna_gain_dbi
        + w_claim.antenna_gain_dbi
        - fspl_db(d, beacon.frequency_hz)
        + params.rssi_margin_db
    )
    if report.rssi_dbm > bound:
        return reject(
            Reason.TOO_STRONG,
            f"RSSI {report.rssi_dbm:.1f} dBm above the free-space bound {bound:.1f} dBm "
            f"at the claimed {d / 1000:.2f} km",
        )
    snr_bound = report.rssi_dbm - thermal_noise_dbm(params.channel_plan.bandwidth_hz)
    if report.snr_db > snr_bound + params.rssi_margin_db:
        return reject(Reason.TOO_STRONG, f"SNR {report.snr_db:.1f} dB implies noise below kTB")
    if w_claim.owner and w_claim.owner == b_claim.owner:
        return reject(Reason.SAME_OWNER, "witness and beaconer have one owner: not independent")
    return WitnessVerdict.ok(f"claimed distance {d / 1000:.2f} km")


def validate_witness(
    beacon: Beacon | None,
    report: WitnessReport,
    claims: Mapping[str, RadioClaim],
    params: CoverageParams = DEFAULT_PARAMS,
    *,
    now: float,
    secret: bytes | None,
    seen: Collection[str] = frozenset(),
) -> WitnessVerdict:
    """One report against its beacon. `claims` maps checksum node address to its RadioClaim
    (positions, tx power, gains as registered); `now` is when the oracle received the report
    (stored with it, so a replay gives the same verdict); `secret` is the beacon's secret as
    revealed by its beaconer, None when this member has none it can trust (its own share is
    not in it, or it was not revealed); `seen` holds the witnesses already counted for this
    beacon (checksum addresses). The per-hex cap needs all of a beacon's witnesses: see
    `validate_witnesses`."""
    return _check_report(beacon, report, claims, params, now, seen, secret)


def _witness_rank(beacon_hash: bytes, witness: str) -> bytes:
    """keccak256(beacon hash || witness address); `witness` in checksum form."""
    return keccak(bytes(beacon_hash) + bytes.fromhex(witness[2:]))


def validate_witnesses(
    beacons: Iterable[Beacon],
    reports: Sequence[WitnessReport],
    claims: Mapping[str, RadioClaim],
    params: CoverageParams = DEFAULT_PARAMS,
    *,
    now: float,
    secrets: Mapping[bytes, bytes],
) -> list[WitnessVerdict]:
    """Every report of an epoch, one verdict each (same order); `secrets` maps a beacon hash to
    its trusted secret (a beacon missing from it: its reports are `unverified`). The outcome
    does not depend on the order of the reports: a witness that sent one beacon two different
    reports gets `duplicate` on all of them; byte-identical copies (retries) count once; the
    per-hex cap keeps the witnesses with the smallest keccak256(beacon hash || witness) in
    each cell."""
    by_hash = {b.hash: b for b in beacons}
    ids = _Ids()
    claims = {ids[node]: claim for node, claim in claims.items()}
    verdicts: list[WitnessVerdict | None] = [None] * len(reports)

    # Well-formed reports of known beacons, grouped by (beacon, witness) for the duplicate rule.
    groups: dict[tuple[bytes, str], list[int]] = defaultdict(list)
    for i, report in enumerate(reports):
        problem = _malformed(report)
        if problem:
            verdicts[i] = WitnessVerdict.reject(Reason.MALFORMED, problem)
        elif bytes(report.beacon_hash) not in by_hash:
            verdicts[i] = WitnessVerdict.reject(Reason.UNKNOWN_BEACON, "not a beacon of this epoch")
        else:
            groups[(bytes(report.beacon_hash), ids[report.witness])].append(i)

    valid_by_beacon: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for (beacon_hash, witness), indices in groups.items():
        messages = {reports[i].witness_message() for i in indices} if len(indices) > 1 else ()
        if len(messages) > 1:
            for i in indices:
                verdicts[i] = WitnessVerdict.reject(
                    Reason.DUPLICATE, f"{len(messages)} different reports for one beacon"
                )
            continue
        first, *copies = indices
        for i in copies:
            verdicts[i] = WitnessVerdict.reject(Reason.DUPLICATE, "copy of an earlier report")
        verdict = _check_report(
            by_hash[beacon_hash], reports[first], claims, params, now, (),
            secrets.get(beacon_hash), ids, well_formed=True,
        )  # fmt: skip
        verdicts[first] = verdict
        if verdict.valid:
            valid_by_beacon[beacon_hash].append((witness, first))

    cells: dict[str, str] = {}
    for beacon_hash, valid in valid_by_beacon.items():
        by_cell: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for witness, i in valid:
            if witness not in cells:
                cells[witness] = claims[witness].cell(params.hex_cap_resolution)
            by_cell[cells[witness]].append((witness, i))
        for cell, members in by_cell.items():
            if len(members) <= params.hex_cap:
                continue
            members.sort(key=lambda m: _witness_rank(beacon_hash, m[0]))
            for _, i in members[params.hex_cap :]:
                verdicts[i] = WitnessVerdict.reject(
                    Reason.OVER_HEX_CAP, f"cell {cell} already has {params.hex_cap} witnesses"
                )
    return verdicts  # type: ignore[return-value]


# --- hex density -------------------------------------------------------------------------------


def _cell(cell: str | int) -> str:
    text = h3.int_to_str(cell) if isinstance(cell, int) else cell
    if not h3.is_valid_cell(text):
        raise ValueError(f"not an H3 cell: {cell!r}")
    return text


def hex_density_weights(
    cells: Mapping[str, str | int], params: CoverageParams = DEFAULT_PARAMS
) -> dict[str, float]:
    """Per node, the HIP-17 scale in (0, 1] of its claimed cell (rule in the module docstring).
    `cells` maps node to its claimed H3 cell (string or int), at a resolution no coarser than the
    finest density rule."""
    rules = sorted(params.density_rules, reverse=True)
    finest = rules[0][0]
    node_cells = {node_id(n): _cell(c) for n, c in cells.items()}
    for node, cell in node_cells.items():
        if h3.get_resolution(cell) < finest:
            raise ValueError(f"{node}: cell {cell} is coarser than resolution {finest}")

    scale = dict.fromkeys(node_cells, 1.0)
    clipped: Counter[str] = Counter(h3.cell_to_parent(c, finest) for c in node_cells.values())
    for k, (res, neighbours, target, maximum) in enumerate(rules):
        if k == 0:
            counts = clipped
        else:
            counts = Counter()
            for child, n in clipped.items():
                counts[h3.cell_to_parent(child, res)] += n
        clipped = Counter()
        for cell, n in counts.items():
            occupied = sum(1 for c in h3.grid_disk(cell, 1) if counts.get(c, 0) >= target)
            limit = min(maximum, target * max(1, occupied - neighbours + 1))
            clipped[cell] = min(n, limit)
        for node, cell in node_cells.items():
            parent = h3.cell_to_parent(cell, res)
            scale[node] *= clipped[parent] / counts[parent]
    return scale


# --- reward units ------------------------------------------------------------------------------


def beaconer_units(n_valid: int, params: CoverageParams = DEFAULT_PARAMS) -> float:
    r = params.witness_redundancy
    if n_valid <= r:
        return n_valid / r
    return min(params.beaconer_cap, 2 - params.reward_decay ** (n_valid - r))


def witness_units(n_valid: int, params: CoverageParams = DEFAULT_PARAMS) -> float:
    r = params.witness_redundancy
    if n_valid <= r:
        return 1.0 if n_valid else 0.0
    return (r - (1 - params.reward_decay ** (n_valid - r))) / n_valid


def coverage_scores(
    beacons: Iterable[Beacon],
    verdicts: Iterable[tuple[WitnessReport, WitnessVerdict]],
    weights: Mapping[str, float],
    params: CoverageParams = DEFAULT_PARAMS,
) -> dict[str, float]:
    """Reward units per node for an epoch (rule in the module docstring). `verdicts` pairs each
    report with its verdict (from `validate_witnesses`); `weights` holds the hex-density weight
    of every eligible node, and a node missing from it earns nothing. Every beaconer and every
    witness that reported appears in the result, with 0.0 when it earned nothing."""
    valid: dict[bytes, list[str]] = defaultdict(list)
    scores: dict[str, float] = {}
    ids = _Ids()
    for report, verdict in verdicts:
        if verdict.reason != Reason.MALFORMED and not _malformed(report, quick=True):
            witness = ids[report.witness]
            scores.setdefault(witness, 0.0)
            if verdict.valid:
                valid[bytes(report.beacon_hash)].append(witness)
    for beacon in beacons:
        beaconer = ids[beacon.beaconer]
        witnesses = sorted(set(valid.get(beacon.hash, ())))
        n = len(witnesses)
        scores[beaconer] = scores.get(beaconer, 0.0) + beaconer_units(n, params) * weights.get(
            beaconer, 0.0
        )
        for witness in witnesses:
            scores[witness] += witness_units(n, params) * weights.get(witness, 0.0)
    return scores
