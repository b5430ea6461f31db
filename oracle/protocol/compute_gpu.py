"""The compute proof's GPU path (oracle.protocol.compute, version 2) in torch: the PRG, the
int8 products, the squash and the digests all on the device, one stream per GPU, only the
digests (2 bytes a row) copied back. Imported only when torch with CUDA is present; the caller
(compute.prove) checks its digests against the CPU reference on a few rows before committing.

The same torch code runs on torch's CPU tensors (`device="cpu"`), which is how its bit-exactness
against the numpy reference is tested on machines without a GPU (tests/test_compute.py)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from oracle.protocol import compute as c

CHUNK_ROWS = 8192  # X 64 MiB, C 256 MiB of int32 at n = 8192


def _mix32(x):
    """lowbias32 on int64 tensors holding 32-bit words (products stay below 2^63)."""
    x = x ^ (x >> 16)
    x = (x * c._MIX[0]) & c._M32
    x = x ^ (x >> 15)
    x = (x * c._MIX[1]) & c._M32
    return x ^ (x >> 15)


def derive(torch: Any, key: bytes, start: int, count: int, width: int, device) -> Any:
    """Rows start .. start + count of the matrix with key `key` (compute.derive_rows, bit for
    bit): int8 tensor (count, width) on `device`."""
    k0 = int.from_bytes(key[0:4], "big")
    k1 = int.from_bytes(key[4:8], "big")
    i = torch.arange(start, start + count, dtype=torch.int64, device=device).view(-1, 1)
    h = _mix32(i ^ k0)
    w = torch.arange(width // 4, dtype=torch.int64, device=device).view(1, -1)
    words = _mix32(_mix32(w ^ h) ^ k1)
    parts = [((words >> (8 * j)) & 0xFF) for j in range(4)]  # little-endian bytes
    raw = torch.stack(parts, dim=-1).to(torch.uint8).view(torch.int8)
    return raw.reshape(count, width)


def product(torch: Any, a, b):
    """a @ b exactly, int8 x int8 -> int32: torch._int_mm (int32 accumulation) where it runs,
    else (torch's CPU tensors in tests) float64 products, exact below 2^53."""
    if a.is_cuda:
        return torch._int_mm(a, b)
    return (a.to(torch.float64) @ b.to(torch.float64)).to(torch.int32)


def digests(torch: Any, cmat, s) -> Any:
    """compute.digests_of on the device: uint16 values in an int32 tensor."""
    g = ((cmat >> 7) & 0xFF).to(torch.uint8).view(torch.int8)
    d = product(torch, g, s) & 0xFFFF
    out = d[:, 0]
    for col in range(1, d.shape[1]):
        out = out ^ d[:, col]
    return out


def prove(
    torch: Any,
    challenge: c.Challenge,
    *,
    give_up: c.GiveUp | None = None,
    devices: list | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> c.Computation:
    """The honest prover on the GPUs (or the given torch devices): stream s on device
    s mod len(devices), the devices in parallel (one thread each; torch releases the GIL)."""
    key = c.challenge_key(challenge)
    n, rows = challenge.n, challenge.rows
    if devices is None:
        devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    out = np.empty(rows * challenge.streams, dtype=np.uint16)
    errors: list[BaseException] = []

    def run(device, streams: list[int]) -> None:
        try:
            b = derive(torch, c.matrix_key(challenge.matrix_seed, n), 0, n, n, device)
            s = derive(torch, c.digest_key(key), 0, n, c.DIGEST_COLUMNS, device)
            for stream in streams:
                skey = c.stream_key(key, stream)
                for lo in range(0, rows, chunk_rows):
                    done = (stream * rows + lo) / (rows * challenge.streams)
                    if give_up is not None and give_up(done):
                        raise c.TooSlow(f"gave up at stream {stream}, row {lo} of {rows}")
                    count = min(chunk_rows, rows - lo)
                    x = derive(torch, skey, lo, count, n, device)
                    d = digests(torch, product(torch, x, b), s)
                    base = stream * rows + lo
                    out[base : base + count] = d.cpu().numpy().astype(np.uint16)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    plan: dict[int, list[int]] = {}
    for stream in range(challenge.streams):
        plan.setdefault(stream % len(devices), []).append(stream)
    threads = [
        threading.Thread(target=run, args=(devices[d], streams), daemon=True)
        for d, streams in plan.items()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return c.Computation(challenge, out, c.commit_digests(out), "gpu")
