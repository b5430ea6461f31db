"""Time to build an epoch from simulated node results: scoring and the rewards split
(oracle.service.score), cumulative amounts and the rewards tree, the results file and its tree,
and the EpochReport digest (oracle.service.report, oracle.protocol.eip712).

    python -m oracle.bench.epoch_build [--sizes 1000 100000] [--verdicts 3] [--owners-ratio 1]
    ETH_HASH_BACKEND=pysha3 python -m oracle.bench.epoch_build   # the faster keccak backend

Nodes: a third of each kind, 3 verdicts each, about 5 % failing in each way (offline, late,
wrong row, missing chunk, spoofed witness); one owner per node unless --owners-ratio is < 1
(the worst case for the rewards tree is one owner per node). Each stage is timed separately;
the build is done twice and the two outputs compared byte for byte (determinism).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from oracle.protocol.hardware import NodeKind
from oracle.service.report import build_epoch
from oracle.service.score import NodeInput, VerdictRecord, score_epoch

BUDGET = 1_000_000 * 10**18


def simulate(n: int, verdicts: int, owners_ratio: float, seed: int = 1) -> list[NodeInput]:
    rng = random.Random(seed)
    n_owners = max(1, int(n * owners_ratio))
    owners = [f"0x{rng.getrandbits(160):040x}" for _ in range(n_owners)]
    nodes = []
    for i in range(n):
        kind = NodeKind(i % 3)
        fail = rng.random()
        vs = []
        for j in range(verdicts):
            cid = f"0x{rng.getrandbits(256):064x}"
            lat = rng.uniform(0.05, 2.0)
            if fail < 0.05:
                vs.append(VerdictRecord(cid, False, "timeout", None, 4.0))
            elif fail < 0.10:
                vs.append(VerdictRecord(cid, False, "late", 5.0, 4.0))
            elif fail < 0.15 and j == 0:
                bad = {NodeKind.COMPUTE: "wrong_row", NodeKind.STORAGE: "bad_chunk"}
                vs.append(
                    VerdictRecord(cid, False, bad.get(kind, "too_strong"), lat, 4.0, j + 1, 7)
                )
            else:
                vs.append(VerdictRecord(cid, True, "ok", lat, 4.0, lease_id=j + 1))
        nodes.append(
            NodeInput(
                node=f"0x{rng.getrandbits(160):040x}",
                owner=owners[rng.randrange(n_owners)],
                kind=kind,
                verdicts=tuple(vs),
                prev_reputation_bps=None if i % 10 == 0 else rng.randrange(3_000, 10_001),
                hw_class=i % 4,
                gpu_count=1 + i % 8,
                leases={j + 1: rng.randrange(1, 1 << 34) for j in range(verdicts)},
                coverage_micro=rng.randrange(0, 5_000_000),
            )
        )
    return nodes


def run(n: int, verdicts: int, owners_ratio: float) -> dict[str, float]:
    nodes = simulate(n, verdicts, owners_ratio)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    results = score_epoch(7, nodes, BUDGET)
    t1 = time.perf_counter()
    build = build_epoch(7, 1, results, {}, max_slashes=64)
    t2 = time.perf_counter()
    digest = build.digest(31337, "0x" + "11" * 20)
    t3 = time.perf_counter()
    times["score"] = t1 - t0
    times["report"] = t2 - t1
    times["digest"] = t3 - t2
    times["total"] = t3 - t0
    again = build_epoch(7, 1, list(reversed(results)), {}, max_slashes=64)
    assert again.results_file == build.results_file
    assert again.digest(31337, "0x" + "11" * 20) == digest
    assert sum(r.reward for r in results) == BUDGET
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--verdicts", type=int, default=3)
    parser.add_argument("--owners-ratio", type=float, default=1.0)
    args = parser.parse_args()
    env = os.environ.get("ETH_HASH_BACKEND", "")
    print(f"keccak backend: {keccak_backend()} (ETH_HASH_BACKEND={env!r})")
    for n in args.sizes:
        t = run(n, args.verdicts, args.owners_ratio)
        print(
            f"{n:>8} nodes: score {t['score']:6.2f} s  report (trees, results file) "
            f"{t['report']:6.2f} s  digest {t['digest'] * 1e3:5.1f} ms  total {t['total']:6.2f} s"
        )


def keccak_backend() -> str:
    """The eth_hash backend in use ("pycryptodome" or "pysha3"), as eth_utils.keccak uses it."""
    from eth_hash.auto import keccak

    keccak(b"")  # the first call picks the backend (ETH_HASH_BACKEND, else the first installed)
    return keccak.hasher.__module__.rsplit(".", 1)[-1]


if __name__ == "__main__":
    main()
