"""The storage node's disk: each lease's data kept as chunks in one file under the data dir.

File `lease-<id>.plinth`, written to a temporary file, fsynced and renamed into place (a crash
leaves the old file or the new one, never a mix):

    magic "PLINTHL1" | uint64 size | uint64 n_chunks | root (32) | leaf hashes (32 n_chunks)
    | chunks (CHUNK_SIZE n_chunks)

The leaf hashes let the node rebuild its tree on restart without rehashing the data, and let a
lazy node (behaviour.LazyStorage) still build proofs for chunks it dropped: it writes only the
chunks it keeps (the others are holes in a sparse file, which read back as zeros).
"""

from __future__ import annotations

import os
import struct
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oracle.protocol.merkle import CHUNK_SIZE, PositionalTree, chunk_leaf, split_chunks

MAGIC = b"PLINTHL1"
_HEADER = struct.Struct(">8sQQ32s")


class LeaseNotFound(KeyError):
    pass


@dataclass(frozen=True)
class LeaseInfo:
    lease_id: int
    size: int
    n_chunks: int
    root: bytes


@dataclass
class _Loaded:
    info: LeaseInfo
    tree: PositionalTree


class LeaseStore:
    """Leases on disk; trees cached in memory. Thread-safe (writes run in an executor)."""

    def __init__(self, data_dir: Path):
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cache: dict[int, _Loaded] = {}
        self._lock = threading.Lock()

    def _path(self, lease_id: int) -> Path:
        return self.dir / f"lease-{lease_id}.plinth"

    def put(
        self, lease_id: int, data: bytes, keep: Callable[[int, int], bool] = lambda _l, _i: True
    ) -> LeaseInfo:
        """Stores `data` for the lease (replacing what was there); `keep(lease_id, index)` says
        which chunks are really written (all of them, for an honest node)."""
        chunks = split_chunks(data)
        leaves = [chunk_leaf(i, c) for i, c in enumerate(chunks)]
        tree = PositionalTree(leaves)
        info = LeaseInfo(lease_id, len(data), len(chunks), tree.root)
        header = _HEADER.pack(MAGIC, info.size, info.n_chunks, info.root)
        data_offset = _HEADER.size + 32 * len(chunks)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".lease-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + b"".join(leaves))
                for i, chunk in enumerate(chunks):
                    if keep(lease_id, i):
                        f.seek(data_offset + i * CHUNK_SIZE)
                        f.write(chunk)
                f.truncate(data_offset + len(chunks) * CHUNK_SIZE)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path(lease_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self._lock:
            self._cache[lease_id] = _Loaded(info, tree)
        return info

    def _load(self, lease_id: int) -> _Loaded:
        with self._lock:
            loaded = self._cache.get(lease_id)
        if loaded is not None:
            return loaded
        try:
            with self._path(lease_id).open("rb") as f:
                magic, size, n_chunks, root = _HEADER.unpack(f.read(_HEADER.size))
                if magic != MAGIC:
                    raise OSError(f"{self._path(lease_id)} is not a lease file")
                raw = f.read(32 * n_chunks)
        except FileNotFoundError:
            raise LeaseNotFound(lease_id) from None
        tree = PositionalTree([raw[i : i + 32] for i in range(0, len(raw), 32)])
        if tree.root != root:
            raise OSError(f"{self._path(lease_id)}: leaf hashes do not match the stored root")
        loaded = _Loaded(LeaseInfo(lease_id, size, n_chunks, root), tree)
        with self._lock:
            self._cache[lease_id] = loaded
        return loaded

    def info(self, lease_id: int) -> LeaseInfo:
        return self._load(lease_id).info

    def read(self, lease_id: int, indices: list[int]) -> list[tuple[int, bytes, list[bytes]]]:
        """(index, chunk as stored, proof) for each index."""
        loaded = self._load(lease_id)
        offset = _HEADER.size + 32 * loaded.info.n_chunks
        out = []
        with self._path(lease_id).open("rb") as f:
            for i in indices:
                f.seek(offset + i * CHUNK_SIZE)
                chunk = f.read(CHUNK_SIZE).ljust(CHUNK_SIZE, b"\x00")
                out.append((i, chunk, loaded.tree.proof(i)))
        return out

    def data(self, lease_id: int) -> bytes:
        """The lease's data as stored (size bytes; a chunk the node dropped reads as zeros)."""
        info = self._load(lease_id).info
        with self._path(lease_id).open("rb") as f:
            f.seek(_HEADER.size + 32 * info.n_chunks)
            return f.read(info.size).ljust(info.size, b"\x00")

    def leases(self) -> list[int]:
        ids = []
        for path in self.dir.glob("lease-*.plinth"):
            try:
                ids.append(int(path.stem.removeprefix("lease-")))
            except ValueError:
                continue
        return sorted(ids)
