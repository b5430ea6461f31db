"""Coverage benchmark: validation and scoring time at scale, and what the attacks of the proofs
issue earn before and after the fixes.

    python -m oracle.bench.coverage [--sizes 1000 10000 100000] [--seed 7]

**Scale.** N hotspots uniform in a square at 0.25 per km2 (about 20 others within 5 km, a
suburban Helium density), each registered by one of N/3 providers; a quarter of them beacon
(the default beacon_fraction); a beacon is reported by the 25 nearest nodes within 15 km whose
received power (log-distance, exponent 3, 7 dB shadowing, the simulated medium's model) reaches
SF10's -132 dBm (the model would deliver some 150 at this density; the cost is per report, so
the figure is also printed per report), and each report carries the proof of the beacon's
secret. Timed: the round's whole pure
analysis, oracle.service.challenge._judge (every report's verdict, hex density, reward units),
one member's work per epoch; generation is not timed. Goal: 100,000 hotspots under 60 s on
these 2 cores.

**Attacks** (one epoch, every node beacons, through the simulated medium): a 3 x 3 grid of
honest radios 1.5 km apart (each its own provider) and, in turn,

- phantoms: two nodes with no radio that claim sites inside the grid and report every beacon
  (before: they know what the beacon carries, as everyone did when the payload was public;
  after: they cannot know the secret);
- a ring: five radios of one provider at one site 20 km away claiming five sites of a second
  grid, reporting each other at RSSIs consistent with the claims (before: owners not checked;
  after: one owner's links confirm nothing; and the limit: the same ring under five owners);
- framing: two no-radio sybils report an honest beaconer's beacon 1 dB above the free-space
  bound (before: the blame rule slashed the victim in 30 of 30 epochs, as the issue measured;
  after: the victim's verdicts and units with and without the sybils).

Printed: the attackers' share of the epoch's coverage units and the honest radios' mean units.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import replace

import numpy as np
from eth_utils import keccak, to_checksum_address

from oracle.protocol.coverage import (
    CoverageParams,
    RadioClaim,
    WitnessReport,
    air_time,
    fspl_db,
    haversine_m,
    schedule_beacons,
    witness_proof,
)
from oracle.protocol.hardware import NodeKind
from oracle.service.challenge import _judge
from oracle.service.score import NodeInput, VerdictRecord, score_node
from oracle.sim.radio import MediumParams, Radio, RadioMedium

LAT0, LON0 = 40.0, -100.0
T0 = 1_700_000_000.0
DENSITY_PER_KM2 = 0.25
HEAR_RANGE_M = 15_000.0
WITNESSES_PER_BEACON = 25


def addr(i: int) -> str:
    return to_checksum_address(keccak(b"plinth-bench-coverage" + i.to_bytes(8, "big"))[:20])


def offset(north_m: float, east_m: float, lat=LAT0, lon=LON0) -> tuple[float, float]:
    return lat + north_m / 111_195.0, lon + east_m / (111_195.0 * math.cos(math.radians(lat)))


# --- scale ------------------------------------------------------------------------------------


def synthetic_epoch(n: int, rng: np.random.Generator, params: CoverageParams):
    """N hotspots, the epoch's beacons, their secrets and every report heard (see the module
    docstring); each report carries the right proof."""
    side_m = math.sqrt(n / DENSITY_PER_KM2) * 1_000
    north = rng.uniform(0, side_m, n)
    east = rng.uniform(0, side_m, n)
    nodes = [addr(i) for i in range(n)]
    owners = [f"0x{int(rng.integers(1, max(2, n // 3))):040x}" for _ in range(n)]
    claims = {}
    for i, node in enumerate(nodes):
        claims[node] = RadioClaim(*offset(north[i], east[i]), owner=owners[i])
    index = {node: i for i, node in enumerate(nodes)}
    bucket = HEAR_RANGE_M
    grid: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        grid.setdefault((int(north[i] // bucket), int(east[i] // bucket)), []).append(i)
    medium = MediumParams()
    sensitivity = medium.sensitivity_dbm(6.0)
    beacons = schedule_beacons(keccak(b"seed" + n.to_bytes(8, "big")), 1, nodes, T0, params)
    secrets = {b.hash: os.urandom(32) for b in beacons}
    reports: list[WitnessReport] = []
    for b in beacons:
        i = index[b.beaconer]
        gi, gj = int(north[i] // bucket), int(east[i] // bucket)
        near = np.array(
            [j for di in (-1, 0, 1) for dj in (-1, 0, 1) for j in grid.get((gi + di, gj + dj), ())]
        )
        d = np.hypot(north[near] - north[i], east[near] - east[i])
        keep = (near != i) & (d <= HEAR_RANGE_M) & (d >= params.min_distance_m)
        near, d = near[keep], d[keep]
        loss = fspl_db(1.0, b.frequency_hz) + 30 * np.log10(np.maximum(d, 1.0))
        power = 33.0 - loss + rng.normal(0, 7.0, len(d))
        heard = np.flatnonzero(power >= sensitivity)
        heard = heard[np.argsort(d[heard], kind="stable")][:WITNESSES_PER_BEACON]
        for j, p in zip(near[heard], power[heard], strict=True):
            witness = nodes[j]
            reports.append(
                WitnessReport(
                    witness,
                    b.hash,
                    round(float(p), 2),
                    round(float(p) + 123.0, 2),
                    b.frequency_hz,
                    air_time(b, secrets[b.hash]) + 0.001,
                    witness_proof(secrets[b.hash], witness),
                )
            )
    return beacons, secrets, reports, claims


def scale(sizes: list[int], seed: int) -> list[dict]:
    params = CoverageParams()
    rows = []
    for n in sizes:
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        beacons, secrets, reports, claims = synthetic_epoch(n, rng, params)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        verdicts, _ = _judge(beacons, reports, claims, params, T0 + 10, secrets, set())
        judged = time.perf_counter() - started
        valid = sum(v.valid for v in verdicts)
        rows.append(
            {
                "hotspots": n,
                "beacons": len(beacons),
                "reports": len(reports),
                "valid": valid,
                "judge_s": judged,
                "us_per_report": 1e6 * judged / max(len(reports), 1),
                "generated_s": generated,
            }
        )
        print(
            f"  {n:>7,} hotspots  {len(beacons):>6,} beacons  {len(reports):>8,} reports "
            f"({valid / max(len(reports), 1):.0%} valid): judged in {judged:6.2f} s "
            f"({rows[-1]['us_per_report']:.0f} us/report; generating took {generated:.0f} s)",
            flush=True,
        )
    return rows


# --- attacks ----------------------------------------------------------------------------------


def _grid(medium: RadioMedium, claims: dict, first: int, origin=(0.0, 0.0), owner_base=1):
    nodes = []
    for k in range(9):
        node = addr(first + k)
        pos = offset(origin[0] + 1_500 * (k // 3), origin[1] + 1_500 * (k % 3))
        medium.place(node, Radio(*pos))
        claims[node] = RadioClaim(*pos, owner=f"0x{owner_base + k:040x}")
        nodes.append(node)
    return nodes


def _epoch(medium, claims, params, secret_known_by=frozenset(), reports_of=None, seed=1):
    """One epoch through the medium: every node beacons; the honest reports as heard, the
    phantoms' with the right proof only if they are in `secret_known_by`; `reports_of(beacons,
    secrets)` adds reports (an attacker's). Returns (units per node, reports, verdicts)."""
    beacons = schedule_beacons(seed.to_bytes(32, "big"), 1, claims, T0, params)
    secrets = {b.hash: keccak(b"air" + b.hash) for b in beacons}
    reports = []
    for b in beacons:
        for rec in medium.transmit(b, b.beaconer, air_time(b, secrets[b.hash])):
            if rec.fabricated and rec.receiver in secret_known_by:
                rec = replace(rec, knows_secret=True)
            reports.append(rec.report(b, secrets[b.hash]).canonical())
    if reports_of is not None:
        reports += reports_of(beacons, secrets)
    verdicts, scores = _judge(beacons, reports, claims, params, T0 + 10, secrets, set())
    return scores, reports, verdicts


def _share(scores: dict, group) -> float:
    total = sum(scores.values())
    return sum(scores.get(n, 0.0) for n in group) / total if total else 0.0


def attacks(seed: int) -> dict:
    params = CoverageParams(beacon_fraction=1.0)
    out = {}

    def base():
        medium = RadioMedium(np.random.default_rng(seed))
        claims: dict = {}
        honest = _grid(medium, claims, 0)
        return medium, claims, honest

    # Phantoms.
    medium, claims, honest = base()
    phantoms = [addr(100), addr(101)]
    for k, node in enumerate(phantoms):
        pos = offset(750 + 1_500 * k, 750)
        medium.place(node, Radio(*pos, phantom=True, fabricated_rssi_dbm=-110.0,
                                 fabricated_snr_db=-2.0))  # fmt: skip
        claims[node] = RadioClaim(*pos, owner=f"0x{200 + k:040x}")
    before, _, _ = _epoch(medium, claims, params, secret_known_by=frozenset(phantoms))
    after, _, _ = _epoch(medium, claims, params)
    out["phantom"] = {
        "before": _share(before, phantoms), "after": _share(after, phantoms),
        "per_phantom_vs_honest_before": (sum(before[p] for p in phantoms) / 2)
        / (sum(before[h] for h in honest) / len(honest)),
    }  # fmt: skip

    # A ring of one provider's radios at one site, claiming a second grid.
    def ring_scenario(owners):
        medium, claims, honest = base()
        ring = [addr(300 + k) for k in range(5)]
        site = offset(20_000, 0)
        for k, node in enumerate(ring):
            medium.place(node, Radio(*site))
            claims[node] = RadioClaim(*offset(6_000 + 1_500 * (k // 3), 1_500 * (k % 3)),
                                      owner=owners[k])  # fmt: skip
        ring_set = set(ring)

        def consistent(beacons, secrets):
            # they hear each other (one site) and report what the claimed distances allow
            out = []
            for b in beacons:
                if b.beaconer not in ring_set:
                    continue
                bc = claims[b.beaconer]
                for w in ring:
                    if w == b.beaconer:
                        continue
                    wc = claims[w]
                    d = haversine_m(bc.lat, bc.lon, wc.lat, wc.lon)
                    rssi = 33.0 - fspl_db(d, b.frequency_hz) - 20.0
                    out.append(WitnessReport(w, b.hash, round(rssi, 2), round(rssi + 123, 2),
                                             b.frequency_hz,
                                             air_time(b, secrets[b.hash]) + 0.001,
                                             witness_proof(secrets[b.hash], w)))  # fmt: skip
            return out

        # The ring's true receptions of one another are far too strong for the claimed sites:
        # it reports the consistent ones instead (replacing what the medium delivered).
        for node in ring:
            medium.remove(node)
        for node in ring:
            medium.place(node, Radio(*site, online=False))
        scores, _, _ = _epoch(medium, claims, params, reports_of=consistent)
        return _share(scores, ring), sum(scores[h] for h in honest) / len(honest)

    no_owner_check = ring_scenario([""] * 5)
    one_owner = ring_scenario(["0x" + "77" * 20] * 5)
    five_owners = ring_scenario([f"0x{400 + k:040x}" for k in range(5)])
    out["ring"] = {"before": no_owner_check[0], "after": one_owner[0],
                   "five_owners": five_owners[0], "honest_units_before": no_owner_check[1],
                   "honest_units_after": one_owner[1]}  # fmt: skip

    # Framing: two no-radio sybils report the victim's beacon just above the bound.
    medium, claims, honest = base()
    victim = honest[4]
    sybils = [addr(500), addr(501)]
    for k, node in enumerate(sybils):
        claims[node] = RadioClaim(*offset(-3_000, 1_500 * k), owner=f"0x{600 + k:040x}")

    def frame(beacons, secrets):
        out = []
        for b in beacons:
            for s in sybils:
                bc, sc = claims[b.beaconer], claims[s]
                if b.beaconer in sybils:
                    continue
                d = haversine_m(bc.lat, bc.lon, sc.lat, sc.lon)
                bound = 33.0 - fspl_db(d, b.frequency_hz) + params.rssi_margin_db
                rssi = bound + 1.0 if b.beaconer == victim else -130.0
                # as if they had radios that hear every beacon (the proof is right): the blame
                # rule is what is measured, not the secret
                proof = witness_proof(secrets[b.hash], s)
                out.append(
                    WitnessReport(
                        s,
                        b.hash,
                        round(rssi, 2),
                        -10.0,
                        b.frequency_hz,
                        air_time(b, secrets[b.hash]) + 0.001,
                        proof,
                    )
                )
        return out

    clean, _, _ = _epoch(medium, {k: v for k, v in claims.items() if k not in sybils}, params)
    framed, reports, verdicts = _epoch(medium, claims, params, reports_of=frame)
    against_victim = [
        v for r, v in zip(reports, verdicts, strict=True)
        if r.witness == victim and not (v.valid or v.reason in _no_fault())
    ]  # fmt: skip
    # The victim's result as the service scores it: every report is recorded against its
    # witness (oracle.service.challenge), plus the victim's answered beacon and witness list.
    no_fault = _no_fault()
    records = [
        VerdictRecord(f"0x{i:064x}", v.valid or v.reason in no_fault, str(v.reason), 0.0, 5.0)
        for i, (r, v) in enumerate(zip(reports, verdicts, strict=True))
        if r.witness == victim
    ]
    records += [VerdictRecord(f"0x{10**6 + i:064x}", True, "ok", 0.1, 5.0) for i in range(2)]
    result = score_node(
        1, NodeInput(victim, claims[victim].owner, NodeKind.WIRELESS, tuple(records),
                     coverage_micro=int(framed[victim] * 1e6)),
    )  # fmt: skip
    out["framing"] = {"victim_units_clean": clean[victim], "victim_units_framed": framed[victim],
                      "failures_recorded_against_victim": len(against_victim),
                      "victim_slash": result.slash_reason, "victim_reason": result.reason,
                      "sybil_share": _share(framed, sybils)}  # fmt: skip
    return out


def _no_fault():
    from oracle.service.challenge import NOT_THE_WITNESS_FAULT

    return NOT_THE_WITNESS_FAULT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    print(f"# coverage at scale ({os.cpu_count()} CPUs): one member's analysis of one epoch")
    scale(a.sizes, a.seed)
    print("# attacks (one epoch, 3 x 3 honest grid 1.5 km apart; shares of the coverage units)")
    r = attacks(a.seed)
    p = r["phantom"]
    print(f"  two phantoms: {p['before']:.1%} of the units when they could know what a beacon "
          f"carries ({p['per_phantom_vs_honest_before']:.2f}x an honest radio each), "
          f"{p['after']:.1%} with air-only secrets")  # fmt: skip
    g = r["ring"]
    print(f"  ring of 5 at one site: {g['before']:.1%} of the units without the owner rule "
          f"(honest radios {g['honest_units_before']:.2f} units each), {g['after']:.1%} with it "
          f"({g['honest_units_after']:.2f} each); under five owners: {g['five_owners']:.1%} "
          f"(the limit)")  # fmt: skip
    f = r["framing"]
    print(f"  framing by two sybils: victim's units {f['victim_units_clean']:.3f} without them, "
          f"{f['victim_units_framed']:.3f} with them; failures recorded against the victim: "
          f"{f['failures_recorded_against_victim']}, its result {f['victim_reason']!r}, slash "
          f"{f['victim_slash']} (no rule turns a witness report into a slash of its beaconer); "
          f"the sybils' share {f['sybil_share']:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
