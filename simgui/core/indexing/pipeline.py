"""Brings the library up to date with the disk: scan, decode, embed, store, index.

A pool of threads reads, decodes and embeds photos (file reads, Pillow and the
model release the GIL) while this thread gathers their results in batches (and
embeds clips' frames and turned copies); each batch is written to SQLite in one
transaction, then added to the index. Unchanged files (same size and
mtime) are not opened; a file whose content hash already has a vector (a
move, a rename, an exact copy) is hashed but never decoded or embedded.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Protocol

import numpy as np
from PIL import Image

from simgui.core.media.decode import DecodeError, decode_bytes, file_content_hash, held_image_bytes, read_shot_time
from simgui.core.media.formats import is_video_name
from simgui.core.media.video import ClipFrames, read_clip
from simgui.core.matching.clip_search import ClipInput, clip_input, sign
from simgui.core.media.framing import photo_inside, views_inside
from simgui.core.media.sketch import make_sketch
from simgui.core.matching.grouping import GroupFinder, GroupingSource
from simgui.core.media.hashes import content_hash, difference_hash
from simgui.core.storage.lock import indexing_lock
from simgui.core.media.orientation import signatures
from simgui.core.media.scan import FoundFile, scan_root
from simgui.core.media.embed import EmbeddingModel, Embeddings, ModelError, runs_at_once
from simgui.core.storage.pathtext import within
from simgui.core.storage.store import BackdropView, ClipFrameSet, NewImage
from simgui.core.matching.turn_check import TurnFinder, kept_for_turns
from simgui.core.indexing.workers import BoundedWorkerPool, TimeoutResult

BATCH_SIZE = 16
PER_FILE_SECONDS = 30.0
HASHED_PER_SECOND = 50e6  # a slow disk's speed: a clip may take a second more for each 50 MB of it
SETTLE_SECONDS = 2.0  # a file changed this recently and unreadable is probably still being written
SHOT_TIME_BATCH = 500  # photos whose EXIF is read between two progress reports (~1 ms each)


@dataclass
class Progress:
    done: int
    total: int
    skipped: int
    elapsed: float
    current: str = ""
    checking: bool = False  # the last step: done / total count look-alike pairs checked, not photos
    step: str = ""  # work other than indexing ("exporting groups"): what done / total count

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


@dataclass
class IndexReport:
    scanned: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    left_out: int = 0  # of those removed: files the user left out of the library (exclusions.py), still on disk
    skipped: int = 0
    embedded: int = 0  # model runs: files whose content was new to the library
    reused: int = 0  # files whose content already had a vector (moves, copies)
    unsettled: int = 0  # files still being written: left for a later run, not recorded as broken
    offline_roots: list[str] = field(default_factory=list)
    unreadable_folders: list[str] = field(default_factory=list)  # their photos are kept as they were
    cancelled: bool = False
    seconds: float = 0.0

    def changes_text(self) -> str:
        """"3 new, 1 changed, 2 gone, 15 left out, 0 skipped": what a run found, as the app and the CLI say it
        (files left out of the library are not said to be gone: they are still on disk)."""
        left_out = f", {self.left_out} left out" if self.left_out else ""
        return (f"{self.added} new, {self.updated} changed, {self.removed - self.left_out} gone{left_out}, "
                f"{self.skipped} skipped")

    def absorb(self, other: "IndexReport") -> None:
        """Adds another run's counts to these (a watcher's running totals)."""
        for name in ("scanned", "added", "updated", "removed", "left_out", "skipped", "embedded", "reused", "unsettled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds


@dataclass
class _Work:
    found: FoundFile
    root_id: int


class _BackdropInput(NamedTuple):
    """A new content's backdrop view (framing.views_inside), read and embedded."""
    patches: np.ndarray  # the model's tokens of it
    sketch: bytes
    subject: tuple[float, float, float, float]


@dataclass
class _Outcome:
    record: NewImage
    embedded: Embeddings | None = None  # the model's outputs, when the content is new
    signatures: np.ndarray | None = None  # ... and its orientation signatures
    sketch: bytes | None = None  # ... and its sketch
    backdrop: _BackdropInput | None = None  # ... and its backdrop view, where it has one
    unsettled: bool = False
    clip: ClipInput | None = None  # a clip's frames as model input, when the content is new
    picture: Image.Image | None = None  # a new content's picture as decoded (small: a turn may be tried on it)


def _time_allowed(item: _Work) -> float:
    """A clip's whole file is hashed before its frames are read: it may take longer by its size."""
    extra = item.found.size / HASHED_PER_SECOND if is_video_name(item.found.path) else 0.0
    return PER_FILE_SECONDS + extra


def decode_threads() -> int:
    # each reads, decodes and waits on the model's run of its photo: as many as the model runs at once (files read
    # wait little on a local disk)
    return runs_at_once()


class IndexingTarget(GroupingSource, Protocol):
    """What indexing uses of a library: what grouping reads (its look-alike checks are grouping's), the
    model, and the clean-up of vectors nobody holds."""

    @property
    def model(self) -> EmbeddingModel: ...

    def drop_orphan_vectors(self) -> None: ...


class Indexer:
    def __init__(self, library: IndexingTarget, progress: Callable[[Progress], None] | None = None,
                 cancel: threading.Event | None = None, wait_for_writers: bool = False):
        """wait_for_writers: the watcher's mode, where a broken file that changed a moment ago is
        left for the next run (a camera or sync tool still writing it), not recorded as broken."""
        self.library = library
        self.wait_for_writers = wait_for_writers
        self.store = library.store
        self.progress = progress or (lambda p: None)
        self.cancel = cancel or threading.Event()
        self.new_labels: list[int] = []  # contents embedded by this run
        # contents with a vector (or a clip's signature), those this run stored included: read and hashed, never
        # decoded
        self.known_contents: set[str] = set()
        self.turns = TurnFinder(library.store, lambda: library.model, library.patch_shape)

    def run(self) -> IndexReport:
        started = time.monotonic()
        waiting = Progress(0, 0, 0, 0.0, "waiting for another simgui process indexing this library")
        with indexing_lock(self.library.folder, self.cancel, lambda: self.progress(waiting)) as held:
            if not held:
                return IndexReport(cancelled=True, seconds=time.monotonic() - started)
            return self._run(started)

    def _run(self, started: float) -> IndexReport:
        report = IndexReport()
        work, gone, moved = self._scan(report)
        if moved:  # rows that an outer root held before its nested roots were kept apart (see _scan)
            with self.store.transaction():
                self.store.assign_roots(moved)
        if work:
            self._process(work, report, started)
        self._read_shot_times(report)
        if self.new_labels:
            self._check_look_alikes(report)
        if gone:  # after the new files: a moved file copies its metadata from the row it leaves
            with self.store.transaction():
                self.store.delete_images(gone)
            report.removed = len(gone)
        self.library.drop_orphan_vectors()
        self.library.index.save()
        report.seconds = time.monotonic() - started
        return report

    def _scan(self, report: IndexReport) -> tuple[list[_Work], list[int], list[tuple[int, int]]]:
        """What changed on disk: files to read, rows of files that are gone, (row, root) of unchanged files
        whose root is now another. A file belongs to the innermost root holding it: an outer root's walk
        leaves its nested roots out (scanned under both, each run moved the file to the other: "4 new" each
        time), and removing the outer root leaves the inner one's photos. Rows under a folder that cannot be
        read, or a root that is offline, stay as they are: those photos are not known to be gone."""
        self.known_contents = (self.store.all_embedded_hashes(self.library.model_id)
                               | self.store.signed_clip_hashes(self.library.model_id))
        roots = self.store.roots()
        left_out = self.store.exclusions()
        rows = self.store.file_states()
        unsigned = self.store.unsigned_clip_paths(self.library.model_id)
        work: list[_Work] = []
        moved: list[tuple[int, int]] = []
        seen: set[str] = set()
        kept: list[str] = []
        for root_id, root in roots:
            if not os.path.isdir(root):
                report.offline_roots.append(root)  # unplugged drive: keep its photos, look again next time
                kept.append(root)
                continue
            nested = {other for _, other in roots if other != root and within(other, root)}
            found = scan_root(root, exclude={str(self.library.folder)} | nested, left_out=left_out.leaves_out)
            report.scanned += len(found.files)
            report.unreadable_folders += found.unreadable_folders
            kept += found.unreadable_folders
            for f in found.files:
                seen.add(f.path)
                old = rows.get(f.path)
                if old is not None and old[1:3] == (f.size, f.mtime_ns) and f.path not in unsigned:
                    if old[3] != root_id:
                        moved.append((old[0], root_id))
                    continue
                work.append(_Work(f, root_id))
                if old is None:
                    report.added += 1
                else:
                    report.updated += 1
        gone_paths = [path for path in rows if path not in seen and not any(within(path, folder) for folder in kept)]
        root_of = dict(roots)
        report.left_out = sum(left_out.leaves_out_below(path, root_of.get(rows[path][3], ""))
                              for path in gone_paths) if left_out.entries else 0
        gone = [rows[path][0] for path in gone_paths]
        return work, gone, moved

    def _read_shot_times(self, report: IndexReport) -> None:
        """Photos indexed before shutter times were read get theirs from their EXIF alone (no pixel decoded),
        a batch at a time: a cancel keeps what was read, and the next run reads the rest."""
        missing = self.store.images_without_shot_time()
        started = time.monotonic()
        for start in range(0, len(missing), SHOT_TIME_BATCH):
            if self.cancel.is_set():
                return
            batch = missing[start:start + SHOT_TIME_BATCH]
            found = [(image_id, read_shot_time(path, picture_format)) for image_id, path, picture_format in batch]
            with self.store.transaction():
                self.store.set_shot_times(found)
            self.progress(Progress(start + len(batch), len(missing), report.skipped, time.monotonic() - started,
                                   step="reading shutter times of photos indexed before"))

    def _check_look_alikes(self, report: IndexReport) -> None:
        """The new photos' look-alikes, searched once all of them are in the index (as a search of
        everything would find them), and their patches checked: grouping then finds everything measured
        and never searches every vector again (at 100,000 photos it would take minutes)."""
        # a content met in two batches of the run was stored once, but noted twice
        labels, vectors, _ = self.store.vectors(self.library.model_id, self.library.dim, sorted(set(self.new_labels)))
        started = time.monotonic()
        GroupFinder(self.library).check_new(labels, vectors, lambda done, total: self.progress(
            Progress(done, total, report.skipped, time.monotonic() - started, "checking look-alikes", checking=True)),
            self.cancel)
        report.cancelled = report.cancelled or self.cancel.is_set()

    def _process(self, work: list[_Work], report: IndexReport, started: float) -> None:
        pool = BoundedWorkerPool(self._read, threads=decode_threads(), time_limit=_time_allowed)
        batch: list[_Outcome] = []
        done = 0
        try:
            for item, outcome in pool.map_unordered(work, self.cancel):
                if isinstance(outcome, TimeoutResult):
                    outcome = _Outcome(self._skip(item, f"reading took over {_time_allowed(item):.0f} s"))
                elif isinstance(outcome, ModelError):
                    raise outcome  # the run fails, as it says; the photos not stored yet are read again next time
                elif isinstance(outcome, BaseException):
                    outcome = _Outcome(self._skip(item, f"unexpected error: {outcome!r}"))
                if outcome.unsettled:
                    report.unsettled += 1
                else:
                    batch.append(outcome)
                    if outcome.record.error:
                        report.skipped += 1
                if sum(o.embedded is not None for o in batch) >= BATCH_SIZE or len(batch) >= 4 * BATCH_SIZE:
                    self._commit(batch, report)
                    batch = []
                done += 1
                self.progress(Progress(done, len(work), report.skipped, time.monotonic() - started, item.found.path))
            if self.cancel.is_set():
                report.cancelled = True
        finally:
            pool.close()
            if batch:
                self._commit(batch, report)

    @staticmethod
    def _skip(item: _Work, reason: str) -> NewImage:
        f = item.found
        return NewImage(f.path, item.root_id, f.size, f.mtime_ns, error=reason)

    def _read(self, item: _Work) -> _Outcome:
        """Runs on a pool thread: read, hash, and (for new content only) decode and embed."""
        f = item.found
        if f.problem:
            return _Outcome(self._skip(item, f.problem))
        if is_video_name(f.path):
            return self._read_clip(item)
        try:
            with held_image_bytes(f.path) as data:  # the bytes count against the read budget until decoded
                size, digest = len(data), content_hash(data)
                if digest in self.known_contents:
                    return _Outcome(NewImage(f.path, item.root_id, size, f.mtime_ns, content_hash=digest))
                decoded = decode_bytes(data, digest, f.path)
        except DecodeError as exc:
            return self._unreadable(item, exc)
        content, backdrop, subject = views_inside(decoded.picture)
        # the photo's own share of the picture: inside bars and chrome, and inside a tilted repost's corner
        # wedges (its bounding box is the whole canvas): the keep rules' "whole photo" and resolution use it
        share = content.width * content.height / (decoded.picture.width * decoded.picture.height)
        record = NewImage(f.path, item.root_id, size, f.mtime_ns, decoded.content_hash, decoded.perceptual_hash,
                          decoded.width, decoded.height, decoded.format, decoded.captured_at,
                          content_pixels=round(decoded.width * decoded.height * share), shot_at=decoded.shot_at or "")
        # embedded from here, a photo at a time (embed.py): beside the decoding of the others, every core is busy to
        # the last photo; asked for by the thread that stores batches, the model ran alone at the end
        model = self.library.model
        pixels = model.preprocess_content(content)
        backdrop_pixels = None if backdrop is None else model.preprocess_content(backdrop)
        try:
            embedded = model.run(pixels[None])
            backdrop_tokens = None if backdrop_pixels is None else model.run(backdrop_pixels[None]).patches[0]
        except Exception as exc:
            # the same input size for every photo: a failure of the run (memory, the model's threads gone), not of
            # this file, which must not be recorded as unreadable (an unchanged file is not read again)
            raise ModelError(f"the model failed while indexing {f.path}: {exc!r}") from exc
        return _Outcome(record, embedded, signatures(content, decoded.picture), make_sketch(content),
                        picture=kept_for_turns(decoded.picture),
                        backdrop=None if backdrop is None else _BackdropInput(backdrop_tokens, make_sketch(backdrop), subject))

    def _unreadable(self, item: _Work, exc: DecodeError) -> _Outcome:
        if self.wait_for_writers and time.time_ns() - item.found.mtime_ns < SETTLE_SECONDS * 1e9:
            return _Outcome(self._skip(item, str(exc)), unsettled=True)
        return _Outcome(self._skip(item, str(exc)))

    def _read_clip(self, item: _Work) -> _Outcome:
        """A video clip: hashed as it streams by, and (for new content only) its keyframes read (video.py)."""
        f = item.found
        try:
            digest = file_content_hash(f.path)
            if digest in self.known_contents:
                return _Outcome(NewImage(f.path, item.root_id, f.size, f.mtime_ns, content_hash=digest))
            clip = read_clip(f.path, seconds=PER_FILE_SECONDS * 0.8)
        except DecodeError as exc:
            return self._unreadable(item, exc)
        return _Outcome(self._clip_record(item, digest, clip), clip=clip_input(self.library.model, clip))

    @staticmethod
    def _clip_record(item: _Work, digest: str, clip: ClipFrames) -> NewImage:
        f, info = item.found, clip.info
        poster = clip.poster
        content = photo_inside(poster)  # bars of a letterboxed re-post are no part of its resolution
        share = content.width * content.height / (poster.width * poster.height)
        return NewImage(f.path, item.root_id, f.size, f.mtime_ns, digest, difference_hash(poster), info.width,
                        info.height, "VIDEO", info.captured_at, content_pixels=round(info.width * info.height * share),
                        shot_at="", duration=round(info.duration, 3), codec=info.codec)

    def _clip_signatures(self, batch: list[_Outcome]) -> dict[str, ClipFrameSet]:
        """content -> the signature of each of the batch's new clips: the model on their frames."""
        signed = {}
        for o in batch:
            if o.clip is not None and o.record.content_hash not in signed:
                signed[o.record.content_hash] = sign(self.library.model, o.clip)
        return signed

    def _commit(self, batch: list[_Outcome], report: IndexReport) -> None:
        fresh: dict[str, _Outcome] = {}
        for o in batch:
            if o.embedded is not None and o.record.content_hash not in fresh:
                fresh[o.record.content_hash] = o
        hashes = list(fresh)
        embeddings = Embeddings(np.concatenate([fresh[h].embedded.vectors for h in hashes]),
                                np.concatenate([fresh[h].embedded.patches for h in hashes])) if hashes else None
        signed = np.stack([fresh[h].signatures for h in hashes]) if hashes else None
        clips = self._clip_signatures(batch)
        with self.store.transaction():
            for content, frames in clips.items():
                self.store.save_clip_signature(self.library.model_id, content, frames)
            if embeddings is not None:
                labels = self.store.save_embeddings(self.library.model_id, hashes, embeddings.vectors, embeddings.patches)
                self.store.save_signatures(labels, signed)
                self.store.save_sketches({label: fresh[h].sketch for label, h in zip(labels, hashes)})
                self.store.save_backdrop_views({label: BackdropView(fresh[h].backdrop.patches, fresh[h].backdrop.sketch,
                                                                    fresh[h].backdrop.subject)
                                                for label, h in zip(labels, hashes) if fresh[h].backdrop is not None})
            self._fill_known_metadata(batch)
            self.store.save_images(o.record for o in batch)
        # a copy met later in the run (a backup's second folder) is hashed, not decoded and embedded again: the
        # row it takes its size and capture time from is stored now
        self.known_contents.update(hashes)
        self.known_contents.update(clips)
        if embeddings is not None:
            self.library.index.add(labels, embeddings.vectors)
            self.new_labels += labels
            self._keep_turned_copies(labels, signed, [fresh[h].picture for h in hashes], embeddings.patches)
        report.embedded += len(hashes) + len(clips)
        report.reused += sum(1 for o in batch if o.embedded is None and o.clip is None and not o.record.error)

    def _keep_turned_copies(self, labels: list[int], signed: np.ndarray, pictures: list[Image.Image],
                            patches: np.ndarray) -> None:
        """The turned tokens of new contents that are turned or mirrored copies of stored ones (or of each
        other), for the patch check of the look-alikes (turn_check.py)."""
        self.turns.note(labels, signed)
        found = self.turns.find(signed, pictures.__getitem__, patches, labels)
        if found.tokens:
            with self.store.transaction():
                self.store.save_turned({(labels[row], turn): t for (row, turn), t in found.tokens.items()},
                                       [(labels[row], label) for row, label in found.pairs])

    def _fill_known_metadata(self, batch: list[_Outcome]) -> None:
        """A moved or copied file takes its size, hashes and capture time from a row with the same content."""
        needing = [o.record for o in batch if o.embedded is None and o.clip is None and not o.record.error
                   and o.record.width is None]
        if not needing:
            return
        same = self.store.images_by_hash(r.content_hash for r in needing)
        for record in needing:
            twins = same.get(record.content_hash) or []
            if twins:
                t = twins[0]
                record.perceptual_hash, record.width, record.height = t.perceptual_hash, t.width, t.height
                record.format, record.captured_at, record.content_pixels = t.format, t.captured_at, t.content_pixels
                record.shot_at, record.duration, record.codec = t.shot_at, t.duration, t.codec
