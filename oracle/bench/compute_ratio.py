"""The compute proof (version 2): what the verifier spends per node-challenge, where the honest
prover's time goes, and how often a CPU claiming each GPU class is caught.

    python -m oracle.bench.compute_ratio [--repeats 5] [--catch-trials 10] [--gpu]

1. Verifier. `verify` on honest answers at each class's width (n = 1024 for the CPU class,
   8192 for the GPU classes): per node-challenge (k = 44 rows: derive them, Freivalds' check,
   digests, leaves and proofs), and once per epoch and width (B r: n^2 PRG words and a
   product). The goal is at most 5 ms per node-challenge.
2. Prover on this CPU, the CPU class at the protocol's size (2 s of a CPU's work): the time split
   between deriving X (host-side PRG here; on a GPU it is device work), the products (the
   device's work), the digests and the tree, against its deadline.
3. Catch rate: the reference prover on this CPU, claiming each GPU class at the protocol's size,
   gives up at the claim's deadline (as the agent does); caught = did not finish in time.
   Also the CPU's measured rate against each class's deadline (how far from passing it is).
4. `--gpu`: the GPU path (torch with CUDA) on each class's shape: its time against the deadline
   and the split, printed only where a GPU is present.
Times are the best of `repeats` runs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from oracle.protocol import compute
from oracle.protocol.compute import (
    DEFAULT_K,
    DEFAULT_PARAMS,
    HARDWARE_CLASSES,
    Challenge,
    Probe,
    challenge_key,
    commit_digests,
    deadline_s,
    derive_rows,
    digest_key,
    digests_of,
    epoch_matrix,
    multiply_cpu,
    prove_cpu,
    sample_rows,
    shape_for,
    stream_key,
    verify,
)

NODE = "0x" + "5a" * 20
GOAL_MS = 5.0


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def challenge_for(shape: compute.Shape, matrix_seed: bytes) -> Challenge:
    return Challenge(os.urandom(32), matrix_seed, NODE, 7, shape.n, shape.rows, shape.streams)


def verifier(n: int, repeats: int) -> dict[str, float]:
    """Verifier seconds per node-challenge and per epoch at width n (a challenge of MIN_ROWS x
    ... rows: the verifier's work does not depend on the row count)."""
    shape = compute.Shape(n, 2 * compute.BLOCK, 1)
    matrix_seed = os.urandom(32)
    epoch = best_of(max(1, repeats // 2), lambda: Probe.draw(matrix_seed, n))
    probe = Probe.draw(matrix_seed, n)
    c = challenge_for(shape, matrix_seed)
    done = prove_cpu(c)
    salt = os.urandom(32)
    commitment = done.commitment(0.0)
    reveal = done.reveal(sample_rows(c, done.root, salt), salt, DEFAULT_K)
    cls = compute.HardwareClass(99, "bench", macs_per_s=2 * compute.BLOCK * n * n, n=n)
    params = compute.Params(device_s=1.0, max_n=n)

    def run():
        v = verify(c, commitment, reveal, salt=salt, hw_class=99, gpu_count=1,
                   commit_latency_s=0.0, params=params, classes={99: cls}, probe=probe)  # fmt: skip
        assert v.passed, v

    per_node = best_of(repeats, run)
    return {"n": n, "per_node_s": per_node, "per_epoch_s": epoch,
            "reveal_bytes": sum(len(r.row) + len(r.block) + 32 * len(r.proof)
                                for r in reveal.rows)}  # fmt: skip


def prover_split(shape: compute.Shape, matrix_seed: bytes) -> dict[str, float]:
    """The CPU prover's time by step, one pass over every row (what prove_cpu does)."""
    c = challenge_for(shape, matrix_seed)
    key = challenge_key(c)
    t = time.perf_counter()
    b = epoch_matrix(matrix_seed, shape.n)
    s = derive_rows(digest_key(key), range(shape.n), compute.DIGEST_COLUMNS)
    split = {"B (once per epoch)": time.perf_counter() - t, "X": 0.0, "product": 0.0,
             "digests": 0.0, "tree": 0.0}  # fmt: skip
    chunk = compute._chunk_rows(shape.n)
    digests = np.empty(shape.total_rows, dtype=np.uint16)
    for stream in range(shape.streams):
        skey = stream_key(key, stream)
        for lo in range(0, shape.rows, chunk):
            t0 = time.perf_counter()
            x = derive_rows(skey, np.arange(lo, min(lo + chunk, shape.rows), dtype=np.uint64),
                            shape.n)  # fmt: skip
            t1 = time.perf_counter()
            prod = multiply_cpu(x, b)
            t2 = time.perf_counter()
            digests[stream * shape.rows + lo : stream * shape.rows + lo + len(x)] = digests_of(
                prod, s
            )
            t3 = time.perf_counter()
            split["X"] += t1 - t0
            split["product"] += t2 - t1
            split["digests"] += t3 - t2
    t = time.perf_counter()
    commit_digests(digests)
    split["tree"] = time.perf_counter() - t
    return split


def cpu_rate(n: int, repeats: int) -> float:
    """Multiply-accumulates per second of the reference prover's product on this CPU."""
    rng = np.random.default_rng(n)
    rows = max(compute.ROW_ALIGN, min(1024, 2**30 // (n * n)))
    a = rng.integers(-128, 128, size=(rows, n), dtype=np.int8)
    b = rng.integers(-128, 128, size=(n, n), dtype=np.int8)
    return rows * n * n / best_of(repeats, lambda: multiply_cpu(a, b))


def catch(cls: compute.HardwareClass, trials: int) -> tuple[int, float]:
    """(caught, seconds per trial): the CPU prover claiming `cls`, giving up at its deadline."""
    shape = shape_for(cls, 1)
    limit = deadline_s(shape, cls)
    matrix_seed = os.urandom(32)
    epoch_matrix(matrix_seed, shape.n)  # derived at the start of the epoch, not per challenge
    caught, spent = 0, 0.0
    for _ in range(trials):
        started = time.perf_counter()
        try:
            late = lambda done, t0=started: time.perf_counter() - t0 > limit  # noqa: E731
            prove_cpu(challenge_for(shape, matrix_seed), give_up=late)
        except compute.TooSlow:
            caught += 1
        spent += time.perf_counter() - started
    return caught, spent / trials


def gpu(repeats: int) -> None:
    torch = compute._torch_cuda()
    if torch is None:
        print("\nGPU path: no torch with CUDA here (nothing measured)")
        return
    from oracle.protocol import compute_gpu

    print(f"\nGPU path on {torch.cuda.get_device_name(0)} x {torch.cuda.device_count()}")
    for cls in HARDWARE_CLASSES.values():
        if cls.index == 0:
            continue
        shape = shape_for(cls, 1)
        c = challenge_for(shape, os.urandom(32))
        compute_gpu.prove(torch, c)  # warm-up: CUDA context, B on the device
        t = best_of(repeats, lambda c=c: compute_gpu.prove(torch, c))
        print(f"  claim {cls.name:8s} rows {shape.rows:>10,}  {t:7.3f} s  deadline "
              f"{deadline_s(shape, cls):6.3f} s  {shape.macs / t / 1e12:7.1f} T MAC/s "
              f"sustained (table {cls.macs_per_s / 1e12:.1f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--catch-trials", type=int, default=10)
    parser.add_argument("--gpu", action="store_true", help="also time the GPU path (torch+CUDA)")
    a = parser.parse_args()

    print("1. Verifier per node-challenge (k = 44) and per epoch and width (B r)")
    for n in sorted({c.n for c in HARDWARE_CLASSES.values()}):
        v = verifier(n, a.repeats)
        flag = "ok" if v["per_node_s"] * 1e3 <= GOAL_MS else f"over the {GOAL_MS} ms goal"
        print(f"  n = {n:5d}: {v['per_node_s'] * 1e3:6.2f} ms per node ({flag}), "
              f"{v['per_epoch_s']:6.3f} s per epoch, "
              f"reveal {v['reveal_bytes'] / 1e6:.2f} MB")  # fmt: skip

    cpu = HARDWARE_CLASSES[0]
    shape = shape_for(cpu, 1, DEFAULT_PARAMS)
    split = prover_split(shape, os.urandom(32))
    total = sum(v for k, v in split.items() if not k.startswith("B"))
    print(f"\n2. Honest CPU prover, class cpu, {shape.rows:,} rows of {shape.n} "
          f"({shape.macs:.2e} MAC), deadline {deadline_s(shape, cpu):.2f} s: "
          f"{total:.3f} s")  # fmt: skip
    for k, v in split.items():
        share = "" if k.startswith("B") else f" ({100 * v / total:4.1f} %)"
        print(f"  {k:20s} {v:7.3f} s{share}")

    print("\n3. This CPU claiming each GPU class at the protocol's size (gives up at the deadline)")
    for cls in HARDWARE_CLASSES.values():
        if cls.index == 0:
            continue
        s = shape_for(cls, 1)
        rate = cpu_rate(s.n, max(1, a.repeats // 2))
        limit = deadline_s(s, cls)
        caught, per = catch(cls, a.catch_trials)
        print(f"  claim {cls.name:8s} deadline {limit:6.3f} s; this CPU needs "
              f"{s.macs / rate:9.0f} s ({rate / 1e9:5.1f} G MAC/s); "
              f"caught {caught}/{a.catch_trials} "
              f"({100 * caught / a.catch_trials:.0f} %), {per:.2f} s each")  # fmt: skip
    if a.gpu:
        gpu(a.repeats)


if __name__ == "__main__":
    main()
