"""The compute proof's verifier-to-prover work ratio, in multiply-accumulates and in seconds.

    python -m oracle.bench.compute_ratio [--sizes 256 512 1024 2048 4096] [--repeats 3]

Prover: derive A and B, C = A @ B (numpy BLAS on this machine's CPU), commit to the rows.
Verifier: `verify` on an honest answer: derive B and the k sampled rows of A, recompute those
rows (k n^2 multiply-accumulates), check k Merkle proofs. Times are the best of `repeats`
runs. Also prints the matmul throughput behind the CPU hardware class and every class's
deadline next to the honest prover's time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from oracle.protocol.compute import (
    DEFAULT_K,
    HARDWARE_CLASSES,
    LABEL_A,
    LABEL_B,
    Challenge,
    challenge_key,
    commit_rows,
    deadline_s,
    derive_matrices,
    derive_rows,
    multiply_cpu,
    prove,
    row_leaf,
    sample_rows,
    verify,
)
from oracle.protocol.merkle import verify_positional_proof

NODE = "0x" + "5a" * 20


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_throughput(n: int, dtype: type, repeats: int) -> float:
    """Multiply-accumulates per second of numpy's BLAS on n x n matrices of `dtype`."""
    rng = np.random.default_rng(n)
    a = rng.integers(-8, 8, size=(n, n)).astype(dtype)
    b = rng.integers(-8, 8, size=(n, n)).astype(dtype)
    return n**3 / best_of(repeats, lambda: a @ b)


def measure(n: int, k: int, repeats: int) -> dict[str, float]:
    challenge = Challenge(seed=os.urandom(32), n=n, node=NODE, epoch=1)
    key = challenge_key(challenge)
    a, b = derive_matrices(challenge)
    c = multiply_cpu(a, b)
    computation = prove(challenge, backend="cpu")
    salt = os.urandom(32)
    asked = sample_rows(challenge, computation.root, salt, k)
    commitment, reveal = computation.commitment(0.0), computation.reveal(asked)

    def check() -> None:
        verdict = verify(
            challenge, commitment, reveal, salt=salt, hw_class=0, commit_latency_s=0.0, k=k
        )
        assert verdict.passed, verdict

    def proofs() -> None:
        for item in reveal.rows:
            leaf = row_leaf(item.index, item.row)
            assert verify_positional_proof(computation.root, n, item.index, leaf, item.proof)

    b_only = derive_rows(key, LABEL_B, range(n), n)
    return {
        "prove": best_of(repeats, lambda: prove(challenge, backend="cpu")),
        "derive": best_of(repeats, lambda: derive_matrices(challenge)),
        "matmul": best_of(repeats, lambda: multiply_cpu(a, b)),
        "commit": best_of(repeats, lambda: commit_rows(c)),
        "verify": best_of(repeats, check),
        "derive_b": best_of(repeats, lambda: derive_rows(key, LABEL_B, range(n), n)),
        "rows": best_of(repeats, lambda: multiply_cpu(derive_rows(key, LABEL_A, asked, n), b_only)),
        "proofs": best_of(repeats, proofs),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-k", type=int, default=DEFAULT_K, help="rows the verifier samples")
    args = parser.parse_args(argv)
    k = args.k

    print(f"numpy BLAS matmul throughput on {os.cpu_count()} cores (GMAC/s, best of 5)")
    print(f"{'n':>6} {'float64':>9} {'float32':>9}")
    for n in (256, 512, 1024):
        f64 = matmul_throughput(n, np.float64, 5) / 1e9
        f32 = matmul_throughput(n, np.float32, 5) / 1e9
        print(f"{n:>6} {f64:>9.1f} {f32:>9.1f}")

    print(f"\ncompute proof, k = {k} rows, honest CPU prover, best of {args.repeats} (seconds)")
    header = (
        f"{'n':>6} {'prover':>8} {'derive':>8} {'matmul':>8} {'commit':>8} | "
        f"{'verifier':>8} {'deriveB':>8} {'k rows':>8} {'proofs':>8} | "
        f"{'MAC ratio':>9} {'time ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    provers = {}
    for n in args.sizes:
        m = measure(n, k, args.repeats)
        provers[n] = m["prove"]
        print(
            f"{n:>6} {m['prove']:>8.4f} {m['derive']:>8.4f} {m['matmul']:>8.4f} "
            f"{m['commit']:>8.4f} | {m['verify']:>8.4f} {m['derive_b']:>8.4f} {m['rows']:>8.4f} "
            f"{m['proofs']:>8.4f} | {k * n**2 / n**3:>9.2%} {m['verify'] / m['prove']:>10.2%}"
        )

    print("\ndeadline by hardware class (seconds) next to the honest CPU prover measured above")
    names = [HARDWARE_CLASSES[i].name for i in sorted(HARDWARE_CLASSES)]
    print(f"{'n':>6} {'cpu prover':>10} " + " ".join(f"{name:>12}" for name in names))
    for n in args.sizes:
        deadlines = [deadline_s(n, HARDWARE_CLASSES[i]) for i in sorted(HARDWARE_CLASSES)]
        print(f"{n:>6} {provers[n]:>10.4f} " + " ".join(f"{d:>12.4f}" for d in deadlines))


if __name__ == "__main__":
    main()
