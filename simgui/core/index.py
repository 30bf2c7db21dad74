"""The HNSW index: a cache of SQLite's vectors that answers nearest-neighbour queries fast.

It is never trusted blindly. On open, its labels are compared with SQLite's:
vectors it lacks are added, labels SQLite no longer has are marked deleted, and
a file that is missing or cannot be read is rebuilt from SQLite.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path
from typing import Callable

import hnswlib
import numpy as np

log = logging.getLogger(__name__)

SPACE = "ip"  # vectors are unit length: inner product is cosine similarity
M = 24
EF_CONSTRUCTION = 200
EF_SEARCH = 200  # recall@10 0.969 at 1,000,000 photo-like vectors with 96 (benchmarks/scale.py --vectors)

VectorSource = Callable[[list[int] | None], tuple[np.ndarray, np.ndarray]]  # labels -> (labels, vectors)


class VectorIndex:
    def __init__(self, path: Path, dim: int):
        self.path = Path(path)
        self.dim = dim
        self.index = hnswlib.Index(space=SPACE, dim=dim)
        self.live: set[int] = set()
        self.dirty = False
        self.rebuilt = False

    @classmethod
    def open(cls, path: Path, dim: int, live_labels: list[int], source: VectorSource) -> "VectorIndex":
        """Loads the saved index and reconciles it with SQLite's live labels (rebuilding if it must)."""
        self = cls(path, dim)
        loaded = False
        if self.path.exists():
            try:
                self.index.load_index(str(self.path), max_elements=0)
                loaded = self.index.dim == dim
            except Exception as exc:  # truncated or corrupt: SQLite has everything needed
                log.warning("index file %s unreadable (%s): rebuilding", self.path, exc)
                self.index = hnswlib.Index(space=SPACE, dim=dim)
        if not loaded:
            self._rebuild(source)
            return self
        wanted = set(live_labels)
        present = set(self.index.get_ids_list())
        missing = sorted(wanted - present)
        for label in present - wanted:
            self._mark_deleted(label)
        self.live = wanted & present
        if missing:
            labels, vectors = source(missing)
            self.add(labels, vectors)
        self.dirty = bool(missing) or bool(present - wanted)
        self.index.set_ef(EF_SEARCH)
        return self

    def _rebuild(self, source: VectorSource) -> None:
        labels, vectors = source(None)
        self.index = hnswlib.Index(space=SPACE, dim=self.dim)
        self.index.init_index(max_elements=max(1024, len(labels) * 2), ef_construction=EF_CONSTRUCTION, M=M)
        self.index.set_ef(EF_SEARCH)
        self.live = set()
        self.add(labels, vectors)
        self.rebuilt = True
        self.dirty = True

    def _mark_deleted(self, label: int) -> None:
        try:
            self.index.mark_deleted(int(label))
        except RuntimeError:  # already deleted, or never there
            pass

    def __len__(self) -> int:
        return len(self.live)

    def add(self, labels: np.ndarray | list[int], vectors: np.ndarray) -> None:
        if len(labels) == 0:
            return
        needed = self.index.element_count + len(labels)
        if needed > self.index.get_max_elements():
            self.index.resize_index(max(needed, self.index.get_max_elements() * 2))
        fresh = [(int(l), v) for l, v in zip(labels, vectors) if int(l) not in self.live]
        if fresh:
            self.index.add_items(np.stack([v for _, v in fresh]).astype(np.float32), [l for l, _ in fresh])
            self.live.update(l for l, _ in fresh)
            self.dirty = True

    def remove(self, labels: list[int]) -> None:
        for label in labels:
            if label in self.live:
                self._mark_deleted(label)
                self.live.discard(label)
                self.dirty = True

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(labels [Q, k], similarities [Q, k]); rows padded with -1 / -inf when fewer exist."""
        q = np.atleast_2d(vectors).astype(np.float32)
        k = min(k, len(self.live))
        if k == 0 or len(q) == 0:
            return np.full((len(q), 0), -1, np.int64), np.zeros((len(q), 0), np.float32)
        self.index.set_ef(max(EF_SEARCH, 2 * k))
        while True:
            try:
                labels, distances = self.index.knn_query(q, k=k)
                return labels.astype(np.int64), (1.0 - distances).astype(np.float32)
            except RuntimeError:  # deleted elements can leave too few reachable neighbours for k
                if k == 1:
                    raise
                k = max(1, k // 2)

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        try:
            self.index.save_index(str(tmp))
            # hnswlib does not report failed writes (a full disk): the vectors alone must be there
            if os.path.getsize(tmp) < self.index.element_count * self.dim * 4:
                raise OSError(errno.ENOSPC, "the vector index could not be written in full", str(tmp))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.replace(tmp, self.path)  # a crash leaves the old file or the new one, never half of one
        self.dirty = False
