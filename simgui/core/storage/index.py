"""The HNSW index: a cache of SQLite's vectors that answers nearest-neighbour queries fast.

It is never trusted blindly. hnswlib loads a file without checking it, and a damaged one crashed the
process (a segmentation fault in 11 of 102 random damages) or answered wrongly: every field of the file
is checked against hnswlib's layout first (index_file_problem), and a file that fails is rebuilt from
SQLite, like a missing one. Then its labels are compared with SQLite's: vectors it lacks are added,
labels SQLite no longer has are marked deleted, and a sample of its vectors must match SQLite's.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import struct
from pathlib import Path
from typing import Callable

import hnswlib
import numpy as np

log = logging.getLogger(__name__)

SPACE = "ip"  # vectors are unit length: inner product is cosine similarity
M = 24
EF_CONSTRUCTION = 200
EF_SEARCH = 200  # recall@10 0.969 at 1,000,000 photo-like vectors with 96 (benchmarks/scale.py --vectors)

SAMPLE = 64  # vectors compared with SQLite's at each open: another library's file, or damage the layout allows
MAX_LEVEL = 32  # an element's level is about ln(N) / ln(M): 4 at a million vectors

# hnswlib's saveIndex: offsetLevel0_, max_elements_, cur_element_count, size_data_per_element_, label_offset_,
# offsetData_ (size_t), maxlevel_ (int), enterpoint_node_ (unsigned), maxM_, maxM0_, M_ (size_t), mult_ (double),
# ef_construction_ (size_t); then each element's level-0 record (a 4-byte link count, maxM0_ 4-byte links, the
# vector, an 8-byte label), then each element's 4-byte size of its upper-level lists and the lists
# (per level: a 4-byte count and maxM_ 4-byte links)
HEADER = struct.Struct("<QQQQQQiIQQQdQ")
NO_ELEMENT = 0xFFFFFFFF

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
        deleted = self._load()
        wanted = set(live_labels)
        if deleted is None:
            self._rebuild(source)
            return self
        present = set(self.index.get_ids_list())
        for label in wanted & deleted:  # deleted in the file, live in SQLite: a label's vector never changes
            self.index.unmark_deleted(label)
        if not self._agrees_with(source, sorted(wanted & present)):
            log.warning("index file %s holds other vectors than the library's database: rebuilding it", self.path)
            self._rebuild(source)
            return self
        missing = sorted(wanted - present)
        for label in present - wanted - deleted:
            self.index.mark_deleted(label)
        self.live = wanted & present
        if missing:
            labels, vectors = source(missing)
            self.add(labels, vectors)
        self.dirty = bool(missing) or bool(present - wanted - deleted) or bool(wanted & deleted)
        self.index.set_ef(EF_SEARCH)
        return self

    def _load(self) -> set[int] | None:
        """Loads the saved file if it passes every check: the labels it marks deleted, or None to rebuild."""
        if not self.path.exists():
            return None
        try:
            problem, deleted = index_file_problem(self.path, self.dim)
            if problem is None:
                self.index.load_index(str(self.path), max_elements=0)
                return deleted
        except (OSError, RuntimeError, MemoryError, ValueError) as exc:  # hnswlib's own checks, a read error
            problem = f"unreadable ({exc})"
        log.warning("index file %s is damaged (%s): rebuilding it from the library's database", self.path, problem)
        self.index = hnswlib.Index(space=SPACE, dim=self.dim)
        return None

    def _agrees_with(self, source: VectorSource, labels: list[int]) -> bool:
        """A sample of the file's vectors are SQLite's (stored there as int8: cosines of 0.999 and more)."""
        sample = labels[::max(1, len(labels) // SAMPLE)][:SAMPLE]
        if not sample:
            return True
        found, stored = source(sample)
        if len(found) == 0:
            return True
        kept = np.asarray(self.index.get_items([int(label) for label in found], return_type="numpy"))
        return bool(np.all(np.einsum("ij,ij->i", kept, stored) >= 0.99))

    def _rebuild(self, source: VectorSource) -> None:
        labels, vectors = source(None)
        self.index = hnswlib.Index(space=SPACE, dim=self.dim)
        self.index.init_index(max_elements=max(1024, len(labels) * 2), ef_construction=EF_CONSTRUCTION, M=M)
        self.index.set_ef(EF_SEARCH)
        self.live = set()
        self.add(labels, vectors)
        self.rebuilt = True
        self.dirty = True

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
            if label in self.live:  # live labels are never marked deleted: hnswlib refuses it twice
                self.index.mark_deleted(int(label))
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
            os.chmod(tmp, 0o600)  # what the photos show, in numbers: for their owner only, like library.db
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.replace(tmp, self.path)  # a crash leaves the old file or the new one, never half of one
        self.dirty = False


def index_file_problem(path: Path, dim: int) -> tuple[str | None, set[int]]:
    """What is wrong with a saved index (None: hnswlib may load it), and the labels it marks deleted.

    hnswlib trusts every number in the file: a wrong size, link or level makes it read or write outside its
    memory. So the header must be what hnswlib writes for `dim`-dimensional vectors, the file exactly as long
    as the header and the lists' sizes say, every link must name an element of a level it may link to, and
    every vector must be of unit length (an "ip" index holds only those) under a label of its own."""
    size = os.path.getsize(path)
    if size < HEADER.size:
        return f"{size} bytes, shorter than its header", set()
    data = np.memmap(path, dtype=np.uint8, mode="r")
    fields = HEADER.unpack_from(data)
    problem = _header_problem(fields, dim, size)
    if problem:
        return problem, set()
    problem, levels, deleted = _level0_problem(data, fields, dim)
    if problem:
        return problem, set()
    return _upper_levels_problem(data, fields, levels), deleted


def _header_problem(fields: tuple, dim: int, size: int) -> str | None:
    (level0_offset, max_elements, count, per_element, label_offset, data_offset, max_level, enter_point,
     max_m, max_m0, m, mult, ef_construction) = fields
    if not 2 <= m <= 4096 or (max_m, max_m0) != (m, 2 * m) or not math.isclose(mult, 1 / math.log(m)):
        return f"its graph settings are not hnswlib's (M {m}, {max_m}, {max_m0}, mult {mult})"
    if not m <= ef_construction <= 1 << 16:
        return f"ef_construction {ef_construction}"
    links = 4 + 4 * max_m0
    if (level0_offset, data_offset, label_offset, per_element) != (0, links, links + 4 * dim, links + 4 * dim + 8):
        return f"its records are not those of {dim}-dimensional vectors"
    # room for up to 8 times the elements: an index grows by doubling (VectorIndex.add)
    if not count <= max_elements <= max(1 << 16, 8 * count) or max_elements >= NO_ELEMENT:
        return f"room for {max_elements} elements, holding {count}"
    if count == 0 and (max_level, enter_point) != (-1, NO_ELEMENT):
        return "an empty graph with an entry point"
    if count > 0 and not (0 <= max_level <= MAX_LEVEL and enter_point < count):
        return f"entry point {enter_point} at level {max_level} of {count} elements"
    if size < HEADER.size + count * (per_element + 4):
        return f"{size} bytes, too short for {count} elements"
    return None


def _level0_problem(data: np.ndarray, fields: tuple, dim: int) -> tuple[str | None, np.ndarray, set[int]]:
    """Checks every element's level-0 record; (problem, each element's level so far (0), deleted labels)."""
    count, max_m0 = fields[2], fields[9]
    record = np.dtype([("count", "<u2"), ("mark", "u1"), ("spare", "u1"), ("links", "<u4", (max_m0,)),
                       ("vector", "<f4", (dim,)), ("label", "<u8")])
    elements = np.frombuffer(data, dtype=record, count=count, offset=HEADER.size)
    levels = np.zeros(count, np.int64)
    if np.any(elements["count"] > max_m0) or np.any(elements["mark"] > 1) or np.any(elements["spare"]):
        return "a level-0 link count or deletion mark out of range", levels, set()
    used = np.arange(max_m0) < elements["count"][:, None]
    if np.any((elements["links"] >= count) & used):
        return "a level-0 link to an element that does not exist", levels, set()
    squares = np.einsum("ij,ij->i", elements["vector"], elements["vector"])
    if not np.all(np.abs(squares - 1) <= 2e-3):  # NaN fails too
        return "a vector that is not of unit length", levels, set()
    labels = elements["label"]
    if np.any(labels >= 1 << 63) or len(np.unique(labels)) != count:
        return "a label out of range or used twice", levels, set()
    return None, levels, {int(label) for label in labels[elements["mark"] == 1]}


def _upper_levels_problem(data: np.ndarray, fields: tuple, levels: np.ndarray) -> str | None:
    """Walks the elements' upper-level lists: their sizes must add up to the file's end exactly, and each
    link must name an element that reaches that level (hnswlib reads its list there)."""
    count, per_element, max_level, enter_point, max_m = fields[2], fields[3], fields[6], fields[7], fields[8]
    start = HEADER.size + count * per_element
    if (len(data) - start) % 4:
        return "its link lists end mid-word"
    words = np.frombuffer(data, "<u4", offset=start)
    block = 1 + max_m  # words of one level's list
    nonzero = np.flatnonzero(words)
    offsets, element, at = [], 0, 0
    while True:
        k = int(np.searchsorted(nonzero, at))
        upper = int(nonzero[k]) if k < len(nonzero) else len(words)
        element += upper - at  # elements only at level 0: a zero size each
        if element >= count or upper == len(words):
            if element != count or upper != len(words):
                return "the sizes of its link lists do not add up to its length"
            break
        level, rest = divmod(int(words[upper]), 4 * block)
        if rest or level > max_level or upper + 1 + level * block > len(words):
            return f"element {element} has lists of {words[upper]} bytes"
        levels[element] = level
        offsets += [(upper + 1 + n * block, n + 1) for n in range(level)]
        element, at = element + 1, upper + 1 + level * block
    if count and (levels.max() != max_level or levels[enter_point] != max_level):
        return "its entry point is not at its top level"
    if not offsets:
        return None
    where, at_level = np.array(offsets).T
    lists = words[where[:, None] + np.arange(block)]
    used = np.arange(max_m) < lists[:, :1]
    if np.any(lists[:, 0] > max_m):
        return "an upper-level link count out of range"
    targets = np.where(used, lists[:, 1:], 0)
    if np.any(targets >= count) or np.any(used & (levels[np.minimum(targets, max(count - 1, 0))] < at_level[:, None])):
        return "an upper-level link to an element that does not reach that level"
    return None
