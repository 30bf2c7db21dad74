"""One library folder: its database, its vector index and the model, opened lazily.

The CLI and the desktop app both talk to the engine through this class.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from simgui.core.files.journal import JOURNAL_FILE, JournalError, MoveJournal
from simgui.core.storage.config import DATABASE_FILE, INDEX_FILE
from simgui.core.matching.rule import DEFAULT_THRESHOLDS, Kind, Thresholds, other_shots, pair_kind
from simgui.core.matching.clip_search import clips_like_clip, clips_showing, photo_against_clip, signature_of
from simgui.core.matching.clips import ClipMatches, compare_clips
from simgui.core.media.decode import Captured, DecodeError, DecodedImage, decode_file, file_content_hash
from simgui.core.media.formats import is_video_name
from simgui.core.media.embed import EmbeddingModel, model_folder, model_identity
from simgui.core.storage.exclusions import Exclusions
from simgui.core.media.framing import Views, content_box, photo_inside, views_inside
from simgui.core.media.sketch import make_sketch, read_sketch
from simgui.core.media.orientation import alike_as_they_are, proposals, signatures
from simgui.core.matching.turn_check import TurnFinder, embed_turned, lines_up_as_it_is, turns_worth_trying
from simgui.core.matching.pair_checks import seen_as_stored
from simgui.core.matching.grouping import Group, GroupFinder
from simgui.core.matching.keep_rules import KeepRules
from simgui.core.storage.index import VectorIndex
from simgui.core.matching.learning import LearnedPreferences, learn, load_preferences
from simgui.core.matching.learning import forget as forget_preferences
from simgui.core.indexing.pipeline import Indexer, IndexReport, Progress
from simgui.core.storage.errors import LibraryError, storage_problem
from simgui.core.storage.store import BackdropView, DatabaseDamaged, ImageRecord, LibraryStore, NewImage, is_read_only
from simgui.core.matching.verify import METHOD as VERIFY_METHOD
from simgui.core.matching.moments import MOMENT_RULE, Sketch
from simgui.core.matching.verify import (ANOTHER_MOMENT, MOMENT_CHECK_FROM, Seen, SketchPair, best_agreement, best_cosine,
                                         difference_grid)
from simgui.core.storage.tokens import GRID, as_unit_tokens


log = logging.getLogger(__name__)

READ_AHEAD_KEPT = 4  # photos read ahead of a drop (a drag can cross the window and come back)
RERANK_POOL = 32  # patch checks, 0.6 ms each; query top-1 was the same with 64 (seeds 23 and 53: 1.000, 0.992)


@dataclass
class FolderSettings:
    protected: list[str]  # folders whose files are never moved, kept first
    excluded: list[str]  # folders and name patterns left out of the library (storage/exclusions.py)


@dataclass
class Match:
    image: ImageRecord
    score: float  # cosine similarity of the global vectors
    verdict: Kind  # as compare() would say
    agreement: float = 0.0  # share of patches that line up (see verify.py)
    another_moment: bool = False  # they line up, but their pixels show two moments of one scene (moments.py)


@dataclass
class Comparison:
    score: float  # cosine similarity of the global vectors (1.0 for the same bytes)
    agreement: float  # share of patches that line up (see verify.py)
    verdict: Kind
    # where the first photo differs from the second: verify.difference_grid over the photo inside its
    # bars, whose box is given as fractions of the whole picture (left, top, right, bottom)
    differences: np.ndarray | None = None
    content_box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    another_moment: bool = False  # as Match's
    # a clip was compared (clips.py): `agreement` is then the share of the shorter clip found in step
    of_clips: bool = False

    @property
    def evidence_text(self) -> str:
        """What `agreement` measures, as the app and the CLI say it beside its value."""
        return "of the shorter clip found in step" if self.of_clips else "patches agreeing"


def read_model_identity(folder: Path | None = None) -> tuple[str, int, tuple[int, int]]:
    """(model id, vector size, patch shape) from the manifest alone, without loading the model."""
    manifest = json.loads(((folder or model_folder()) / "manifest.json").read_text())
    patches = manifest["outputs"]["patches"]
    return (model_identity(manifest), manifest["outputs"]["embedding"]["dim"],
            (patches["grid"] ** 2, patches["dim"]))


@dataclass
class _QueryInput:
    """A query photo as read and embedded: kept by Library.read_ahead until the drop that follows."""
    decoded: DecodedImage
    views: Views  # framing.views_inside: the photo inside its bars as the model saw it, its backdrop view if any
    vector: np.ndarray
    patches: np.ndarray
    backdrop_patches: np.ndarray | None  # the backdrop view's tokens

    @property
    def content(self) -> Image.Image:
        return self.views.content

    def seen(self, turned: list[np.ndarray]) -> Seen:
        return _seen_now(self.patches, turned, self.backdrop_patches, self.views)


def _file_key(path: str) -> tuple[str, int, int] | None:
    """What says a file read ahead is still the same file; None when it cannot be looked at."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return path, stat.st_size, stat.st_mtime_ns


@dataclass
class _PairEvidence:
    """What compare weighs, by content hash: vectors, unit tokens, and those of turned copies and backdrop views."""
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    turned_vectors: dict[str, list[np.ndarray]] = field(default_factory=dict)
    seen: dict[str, Seen] = field(default_factory=dict)


def _seen_now(patches: np.ndarray, turned: list[np.ndarray], backdrop_patches: np.ndarray | None, views: Views) -> Seen:
    """A picture's unit tokens in every framing, from the model's tokens just made (`turned`: unit tokens)."""
    backdrop = None if backdrop_patches is None else as_unit_tokens(backdrop_patches)
    return Seen(as_unit_tokens(patches), turned, backdrop, views.subject)


def _sketch_of(picture: Image.Image) -> Sketch:
    """The pixel check's view of a picture just decoded: its sketch as the library would store and read it."""
    return Sketch(read_sketch(make_sketch(picture)))


def _stored_seen(label: int, patches: dict[int, np.ndarray], turned: dict[int, list[np.ndarray]],
                 backdrops: dict[int, BackdropView]) -> Seen:
    """A stored content's unit tokens in every framing kept, from what the store read for it."""
    return seen_as_stored(as_unit_tokens(patches[label]), turned.get(label, ()), backdrops.get(label))


class Library:
    def __init__(self, folder: Path, thresholds: Thresholds = DEFAULT_THRESHOLDS):
        self.folder = Path(folder).expanduser().resolve()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create library folder {self.folder}: {exc.strerror}") from exc
        self.thresholds = thresholds
        try:
            self.store = LibraryStore(self.folder / DATABASE_FILE)
        except DatabaseDamaged as exc:
            raise LibraryError(str(exc)) from exc
        except sqlite3.Error as exc:
            raise LibraryError(storage_problem(self.folder, exc, opening=True)) from exc
        self.model_id, self.dim, self.patch_shape = read_model_identity()
        try:
            self.store.keep_pair_agreements_only_from(f"{self.model_id} {VERIFY_METHOD}")
            # a new moment rule judges again only the pairs that line up enough for it to look at
            self.store.measure_again_from(MOMENT_CHECK_FROM, "moment_rule", MOMENT_RULE)
            self.store.keep_candidates_only_from(
                f"{self.model_id} k={DEFAULT_THRESHOLDS.neighbours} cosine>={DEFAULT_THRESHOLDS.candidate}")
        except sqlite3.Error as exc:  # "locked" or "full" must not pass for read-only
            if not is_read_only(exc):
                self.store.close()
                raise LibraryError(storage_problem(self.folder, exc, opening=True)) from exc
            log.info("library %s is read-only: grouping measures every pair itself (%s)", self.folder, exc)
        self._model: EmbeddingModel | None = None
        self.clip_matches = ClipMatches()  # verdicts of clip pairs, kept between groupings
        self._preferences: LearnedPreferences | None | bool = False  # False: not read from disk yet
        self._index: VectorIndex | None = None
        self.turns = TurnFinder(self.store, lambda: self.model, self.patch_shape)
        self._lock = threading.Lock()
        self._read_ahead: dict[tuple[str, int, int], _QueryInput] = {}  # oldest first

    def close(self) -> None:
        try:
            if self._index is not None:
                self._index.save()
        except OSError as exc:  # the index is a cache of SQLite: the next open rebuilds what is missing
            log.warning("vector index not saved: %s", exc)
        finally:
            try:
                self.store.close()
            finally:
                if self._model is not None:
                    self._model.close()

    @property
    def model(self) -> EmbeddingModel:
        with self._lock:
            if self._model is None:
                self._model = EmbeddingModel()
            return self._model

    @property
    def index(self) -> VectorIndex:
        with self._lock:
            if self._index is None:
                def source(labels):
                    found, vectors, _ = self.store.vectors(self.model_id, self.dim, labels)
                    return found, vectors
                self._index = VectorIndex.open(self.folder / INDEX_FILE, self.dim,
                                               self.store.live_labels(self.model_id), source)
            return self._index

    def warm_up(self) -> None:
        """A query of a made-up photo: loads the model (and runs it once: its first run sets up its buffers),
        the vector index, the orientation signatures and the decoders' modules, so the first photo dropped
        is answered as fast as the next (435 against 130 ms at 100,000 photos). The app does it while idle."""
        with tempfile.TemporaryDirectory(prefix="simgui-warm-up-") as folder:
            path = os.path.join(folder, "warm-up.jpg")
            ramp = np.linspace(0, 255, 256 * 256 * 3).astype(np.uint8).reshape(256, 256, 3)
            Image.fromarray(ramp).save(path)
            self.query([path], 1)

    # roots -----------------------------------------------------------------
    def add_roots(self, paths: list[str]) -> list[str]:
        added = []
        for p in paths:
            root = os.path.realpath(os.path.expanduser(p))
            if not os.path.isdir(root):
                raise LibraryError(f"not a folder: {p}")
            if Path(root) == self.folder:
                raise LibraryError(f"{p} is the library's own folder")
            try:
                self.store.add_root(root)
            except sqlite3.Error as exc:  # a full disk or a read-only folder: said, not a traceback
                raise LibraryError(storage_problem(self.folder, exc)) from exc
            added.append(root)
        return added

    def roots(self) -> list[str]:
        return [path for _, path in self.store.roots()]

    def protected_folders(self) -> list[str]:
        return self.store.protected_folders()

    def sketch(self, label: int) -> np.ndarray | None:
        """A content's sketch (media/sketch.py). Contents indexed before sketches were kept get theirs from
        one of their files the first time it is asked for (only pairs whose patches line up ask); None when
        no file of it can be read now."""
        blob = self.store.sketch(label)
        if blob is None:
            blob = self._sketch_from_file(label)
        return None if blob is None else read_sketch(blob)

    def _sketch_from_file(self, label: int) -> bytes | None:
        content = self.store.content_of(label)
        for image in self.store.images_by_hash([content]).get(content, []) if content else []:
            try:
                blob = make_sketch(photo_inside(decode_file(image.path).picture))
            except DecodeError as exc:  # moved or changed since: another file of it, or no check
                log.info("no sketch from %s: %s", image.path, exc)
                continue
            try:
                with self.store.transaction():
                    self.store.save_sketches({label: blob})
            except sqlite3.Error as exc:  # a read-only library: made again next time
                if not is_read_only(exc):
                    raise LibraryError(storage_problem(self.folder, exc)) from exc
            return blob
        return None

    def set_protected(self, paths: list[str], protected: bool = True) -> list[str]:
        """Protects folders (or lifts their protection); returns them as stored, links resolved."""
        folders = [os.path.realpath(os.path.expanduser(p)) for p in paths]
        for given, folder in zip(paths, folders):
            if protected and not os.path.isdir(folder):
                raise LibraryError(f"not a folder: {given}")
        self.store.set_protected(folders, protected)
        return folders

    def folder_settings(self) -> FolderSettings:
        return FolderSettings(self.protected_folders(), list(self.exclusions().entries))

    def set_folder_settings(self, protected: list[str] | None = None, excluded: list[str] | None = None
                            ) -> FolderSettings:
        """Exactly these folders protected, exactly these entries left out, from now on (a list left None stays
        as it was); as stored. Raises LibraryError for a protected path that is no folder, ExclusionError for an
        entry that would leave out everything."""
        if protected is not None:
            wanted = self.set_protected(protected)
            self.set_protected([f for f in self.protected_folders() if f not in wanted], protected=False)
        if excluded is not None:
            self.set_exclusions(excluded)
        return self.folder_settings()

    def exclusions(self) -> Exclusions:
        return self.store.exclusions()

    def set_exclusions(self, entries: list[str]) -> Exclusions:
        """What is left out of the library from the next scan on (exclusions.py): its photos leave the library,
        never the disk. Raises ExclusionError for an entry that would leave out everything."""
        left_out = Exclusions.of(entries)
        self.store.set_exclusions(left_out)
        return left_out

    def keep_rules(self) -> KeepRules:
        return KeepRules.from_json(self.store.keep_rules())

    def set_keep_rules(self, rules: KeepRules) -> None:
        """The rules that pick each group's keeper from now on (keep_rules.py), for the app, the CLI and the API."""
        for given in rules.folders:
            if not os.path.isdir(given):
                raise LibraryError(f"not a folder: {given}")
        self.store.set_keep_rules(rules.to_json())

    def choose_keeper(self, path: str, group_paths: list[str]) -> None:
        """"Keep this one": the photo heads its group in every regroup to come (grouping.keeper_order)."""
        self.store.choose_keeper(path, [p for p in group_paths if p != path])

    def remove_root(self, path: str) -> None:
        """Stops looking at a folder: its photos leave the library (and its groups); the files stay on disk."""
        self.store.remove_root(path)
        self.drop_orphan_vectors()
        self.index.save()

    def folders(self) -> list[tuple[str, int, int, bool]]:
        """(path, files, clips among them, online) for each root: what the app's sidebar shows."""
        counts = self.store.files_per_root()
        return [(path, *counts.get(path, (0, 0)), os.path.isdir(path)) for path in self.roots()]

    # work ------------------------------------------------------------------
    def update(self, progress: Callable[[Progress], None] | None = None,
               cancel: threading.Event | None = None, wait_for_writers: bool = False) -> IndexReport:
        try:
            return Indexer(self, progress, cancel, wait_for_writers).run()
        except (sqlite3.Error, OSError) as exc:  # per-file problems are caught inside: this is the library's own
            raise LibraryError(storage_problem(self.folder, exc)) from exc

    def note_metadata_rewrite(self, image: ImageRecord, new_hash: str, captured: Captured) -> None:
        """simgui rewrote a photo's EXIF only: the same pixels, so the new content takes the old vector
        (no model run) and the row its new size, time and hash."""
        st = os.stat(image.path)
        with self.store.transaction():
            label = self.store.share_embedding(self.model_id, image.content_hash, new_hash)
            self.store.save_images([NewImage(image.path, image.root_id, st.st_size, st.st_mtime_ns, new_hash,
                                             image.perceptual_hash, image.width, image.height, image.format,
                                             captured.at, content_pixels=image.content_pixels,
                                             shot_at=captured.shot or "")])
        if label is not None:
            _, vectors, _ = self.store.vectors(self.model_id, self.dim, [label])
            self.index.add([label], vectors)

    def drop_orphan_vectors(self) -> None:
        """Vectors (and clip signatures) no file holds any more go, except those of files in simgui's trash (an
        undo needs them): the journal says which those are. With no journal readable, every vector stays."""
        if not self.store.orphan_embeddings(kept=set()) and not self.store.orphan_clips(kept=set()):
            return  # nearly always: no need to read the journal
        kept: set[str] = set()
        if (self.folder / JOURNAL_FILE).exists():
            try:
                journal = MoveJournal(self.folder / JOURNAL_FILE)
            except JournalError as exc:
                log.warning("unused vectors kept: %s", exc)
                return
            try:
                kept = journal.contents_in_trash()
            finally:
                journal.close()
        orphans, clips = self.store.orphan_embeddings(kept), self.store.orphan_clips(kept)
        with self.store.transaction():
            self.store.delete_embeddings(orphans)
            self.store.delete_clip_signatures(clips)
        if orphans:
            self.index.remove(orphans)

    def groups(self, thresholds: Thresholds | None = None,
               progress: Callable[[Progress], None] | None = None) -> list[Group]:
        """progress: the pairs measured on the way, where stored agreements lack (after an upgrade of the check)."""
        started = time.monotonic()
        return GroupFinder(self, thresholds or self.thresholds, self.preferences).find(
            report=None if progress is None else lambda done, total: progress(
                Progress(done, total, 0, time.monotonic() - started, checking=True)))

    # learning from the user's decisions (learning.py) ------------------------
    @property
    def preferences(self) -> LearnedPreferences | None:
        if self._preferences is False:
            self._preferences = load_preferences(self.folder)
        return self._preferences

    def decide(self, kind: str, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Remembers the user's word on pairs of contents ("same_photo" from a merge, "not_duplicate"),
        then learns again from all of them; returns the pairs that are new (what an undo takes back)."""
        new = [(a, b) for a, b in pairs if a != b and self.store.add_decision(kind, a, b)]
        self.relearn()
        return new

    def take_back(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        """Forgets decisions an undone action made, then learns again from those that stay."""
        self.store.remove_decisions(kind, pairs)
        self.relearn()

    def relearn(self) -> None:
        same, different = sorted(self.store.decisions("same_photo")), sorted(self.store.decisions("not_duplicate"))
        # only the decided contents' vectors: a merge must not read the whole library
        _, vectors, hashes = self.store.vectors(self.model_id, self.dim, hashes={h for p in same + different for h in p})
        learnt = learn(same, different, dict(zip(hashes, vectors)))
        if learnt is None:
            forget_preferences(self.folder)
        else:
            learnt.save(self.folder)
        self._preferences = learnt

    def forget_learning(self) -> None:
        """Back to the default scoring; the decisions stay ("not duplicates" is still honoured)."""
        forget_preferences(self.folder)
        self._preferences = None

    def stats(self) -> dict:
        counts = self.store.counts()
        counts["vectors"] = len(self.store.live_labels(self.model_id))
        counts["library"] = str(self.folder)
        counts["model"] = self.model_id
        return counts

    def read_ahead(self, path: str) -> None:
        """Reads and embeds a photo about to be queried (the app calls it when a file is dragged over its
        window), so the drop that follows only searches: decoding and the model are ~70 of a query's ~100 ms.
        A clip is read at the drop: its frames are most of its query's time either way."""
        if not is_video_name(path):
            self._query_inputs([os.path.abspath(path)])

    def _query_inputs(self, paths: list[str]) -> list["_QueryInput | str"]:
        """Each photo read and embedded (or the reason it cannot be), those read ahead taken as they are while
        the file is unchanged."""
        keys = [_file_key(path) for path in paths]
        found: dict[int, _QueryInput | str] = {n: self._read_ahead[key] for n, key in enumerate(keys)
                                                if key in self._read_ahead}
        readable = []
        for n in [n for n in range(len(paths)) if n not in found]:
            try:
                readable.append((n, decode_file(paths[n])))
            except DecodeError as exc:
                found[n] = str(exc)
        if readable:
            views = [views_inside(decoded.picture) for _, decoded in readable]
            inputs = [self.model.preprocess_content(v.content) for v in views]
            embeddings = self.model.run(np.stack(inputs))
            backdrops = self._backdrop_tokens(views)
            for row, ((n, decoded), view) in enumerate(zip(readable, views)):
                found[n] = _QueryInput(decoded, view, embeddings.vectors[row], embeddings.patches[row], backdrops[row])
                if keys[n] is not None:
                    self._read_ahead[keys[n]] = found[n]
        while len(self._read_ahead) > READ_AHEAD_KEPT:
            del self._read_ahead[next(iter(self._read_ahead))]
        return [found[n] for n in range(len(paths))]

    def query(self, paths: list[str], top: int = 10) -> list[tuple[str, list[Match] | str]]:
        """For each path (a photo or a clip): its best matches, or the reason it could not be read."""
        absolute = [os.path.abspath(p) for p in paths]
        answers: list[tuple[str, list[Match] | str]] = [(p, self._clip_query(p, top)) for p in absolute
                                                         if is_video_name(p)]
        photos = [p for p in absolute if not is_video_name(p)]
        read = self._query_inputs(photos)
        answers += [(p, r) for p, r in zip(photos, read) if isinstance(r, str)]
        inputs = [(p, r) for p, r in zip(photos, read) if not isinstance(r, str)]
        if inputs:
            vectors = np.stack([r.vector for _, r in inputs])
            # a wider net than asked for: the patch check below reorders it
            found, sims = self.index.search(vectors, max(2 * top, RERANK_POOL))
            signed = np.stack([signatures(r.content, r.decoded.picture) for _, r in inputs])
            turned = self.turns.find(signed, lambda row: inputs[row][1].decoded.picture, [r.patches for _, r in inputs],
                                     [None] * len(inputs))
            known_labels, known = self.turns.known()
            alike = alike_as_they_are(signed, known, np.full(len(inputs), -1))
            showing = clips_showing(self, vectors)
            for n, (path, r) in enumerate(inputs):
                clips = [Match(image, round(score, 4), Kind.SIMILAR) for image, score in showing[n]]
                matches = self._matches(r, found[n], top, turned.of_row(n),
                                        {int(known_labels[c]) for row, c in alike if row == n}) + clips
                matches.sort(key=lambda m: (list(Kind).index(m.verdict), -(m.agreement + m.score)))
                answers.append((path, matches[:top]))
        order = {p: i for i, p in enumerate(absolute)}
        return sorted(answers, key=lambda a: order[a[0]])

    def _clip_query(self, path: str, top: int) -> list[Match] | str:
        """A clip's copies and other takes in the library (clips.py's rule, as `groups` applies it)."""
        try:
            query = signature_of(self, path, file_content_hash(path))
        except DecodeError as exc:
            return str(exc)
        return [Match(image, match.scene, match.kind, match.coverage)
                for image, match in clips_like_clip(self, query)][:top]

    def _compare_with_clip(self, path_a: str, path_b: str) -> Comparison:
        """compare() when either file is a clip: two clips by the clip rule (score: how alike their frames look,
        agreement: the share of the shorter one found at one time offset); a photo against a clip's likest frame."""
        clips = sorted((file_content_hash(p), p) for p in (path_a, path_b) if is_video_name(p))
        signatures = [signature_of(self, path, content) for content, path in clips]
        if len(signatures) == 2:
            match = compare_clips(*signatures)
        else:
            photo = next(p for p in (path_a, path_b) if not is_video_name(p))
            read = self._query_inputs([photo])[0]
            if isinstance(read, str):
                raise DecodeError(read)
            match = photo_against_clip(signatures[0], read.vector)
        return Comparison(match.scene, match.coverage, match.kind, of_clips=True)

    def _matches(self, query: _QueryInput, labels: np.ndarray, top: int,
                 turned: tuple[list[np.ndarray], list[np.ndarray], set[int]], alike: set[int]) -> list[Match]:
        """Candidates from the index, the photos the query turned or mirrored lines up with, and those its
        signature is alike with as it is (orientation.ALIKE: what grouping checks too): verified copies
        first; within a verdict, by patch agreement plus cosine (chosen on benchmarks/accuracy.py: it ranks a
        strongly confirmed copy above one that merely looks alike)."""
        turned_vectors, turned_tokens, turned_labels = turned
        # one Sketch for all the candidates: what the pixel check works out of it is worked out once
        query_sketch = functools.cache(lambda backdrop: _sketch_of(query.views.shown(backdrop)))
        label_list = sorted({int(l) for l in labels if l >= 0} | turned_labels | alike)
        ids, vectors, hashes = self.store.vectors(self.model_id, self.dim, label_list)
        scores = [best_cosine(query.vector, vector, turned_vectors) for vector in vectors]
        # the patches are checked for the pairs grouping checks: candidates by cosine, and turned copies
        # (the RERANK_POOL closest of them: the app shows 24 and searches twice that, and the patch checks
        # are most of a query's time)
        closest = sorted(zip(scores, ids.tolist()), reverse=True)[:RERANK_POOL]
        checked = [label for score, label in closest if score >= self.thresholds.candidate] + sorted(turned_labels | alike)
        patches = self.store.patches(checked, self.patch_shape)
        their_turned = self.store.turned_patches(checked, self.patch_shape)
        their_backdrops = self.store.backdrop_views(checked, self.patch_shape)
        query_seen = query.seen(turned_tokens)
        query_hash = query.decoded.content_hash
        files = self.store.images_by_hash(hashes)
        ranked = []
        for label, score, content in zip(ids.tolist(), scores, hashes):
            if files.get(content) and content != query_hash and \
                    other_shots(query.decoded.shot_at, files[content][0].shot_at):
                agreement = ANOTHER_MOMENT  # two shots, as their cameras recorded (rule.other_shots)
            else:
                agreement = 0.0 if label not in patches else best_agreement(
                    query_seen, _stored_seen(label, patches, their_turned, their_backdrops),
                    self._sketch_pair(query_sketch, label, their_backdrops))
            verdict = Kind.EXACT if content == query_hash else pair_kind(score, agreement, self.thresholds)
            if verdict is Kind.EXACT:
                score = 1.0  # the same bytes: say so, whatever rounding the model's batch brought
            tier = list(Kind).index(verdict)
            for image in files.get(content, []):
                ranked.append((tier, -(agreement + score), image.path,
                               Match(image, round(min(1.0, score), 4), verdict, round(max(0.0, agreement), 4),
                                     agreement == ANOTHER_MOMENT)))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:top]]

    def _sketch_pair(self, sketch: Callable[[bool], Sketch], label: int,
                     backdrops: dict[int, BackdropView]) -> SketchPair:
        """The query's sketch in a framing (made the first time a pair needs it) and a stored photo's, for verify."""
        def pair(query_backdrop: bool, their_backdrop: bool) -> tuple[Sketch, Sketch] | None:
            theirs = read_sketch(backdrops[label].sketch) if their_backdrop else self.sketch(label)
            return None if theirs is None else (sketch(query_backdrop), Sketch(theirs))
        return pair

    def compare(self, path_a: str, path_b: str) -> Comparison:
        path_a, path_b = os.path.abspath(path_a), os.path.abspath(path_b)
        if is_video_name(path_a) or is_video_name(path_b):
            return self._compare_with_clip(path_a, path_b)
        a, b = decode_file(path_a), decode_file(path_b)
        w, h = a.picture.size
        left, top, right, bottom = content_box(a.picture)
        box = (left / w, top / h, right / w, bottom / h)
        if a.content_hash == b.content_hash:
            return Comparison(1.0, 1.0, Kind.EXACT, np.ones((GRID, GRID), np.int8), box)
        ordered = sorted((a, b), key=lambda d: d.content_hash)  # the same pair always scores the same
        views = {d.content_hash: views_inside(d.picture) for d in ordered}
        evidence = self._evidence_of(ordered, views)
        first, second = (d.content_hash for d in ordered)
        score = best_cosine(evidence.vectors[first], evidence.vectors[second], evidence.turned_vectors[first],
                            evidence.turned_vectors[second])
        seen = evidence.seen[first], evidence.seen[second]
        if other_shots(a.shot_at, b.shot_at):  # two shots, as their cameras recorded
            agreement = ANOTHER_MOMENT
        else:
            agreement = best_agreement(*seen, lambda first_backdrop, second_backdrop: (
                _sketch_of(views[first].shown(first_backdrop)), _sketch_of(views[second].shown(second_backdrop))))
        moment = agreement == ANOTHER_MOMENT
        # how much lines up, said beside "another moment"; a faint agreement the pixels did not bear out is none
        shown = best_agreement(*seen) if moment else max(0.0, agreement)
        differences = difference_grid(evidence.seen[a.content_hash].tokens, evidence.seen[b.content_hash].tokens)
        return Comparison(round(min(1.0, score), 4), round(shown, 4), pair_kind(score, agreement, self.thresholds),
                          differences, box, moment)

    def _evidence_of(self, decoded: list[DecodedImage],
                     views: dict[str, Views]) -> "_PairEvidence":
        """Vectors and unit tokens, as they are, turned and of backdrop views, of two pictures by content (`views`:
        framing.views_inside of each): those the library holds as they are stored (so `compare` gives the very
        number grouping used), the others embedded now."""
        labels, vectors, hashes = self.store.vectors(self.model_id, self.dim, hashes={d.content_hash for d in decoded})
        stored = self.store.patches(labels.tolist(), self.patch_shape)
        stored_turned = self.store.turned_patches(labels.tolist(), self.patch_shape)
        stored_backdrops = self.store.backdrop_views(labels.tolist(), self.patch_shape)
        found = _PairEvidence()
        for n, content in enumerate(hashes):
            found.vectors[content] = vectors[n]
            found.seen[content] = _stored_seen(int(labels[n]), stored, stored_turned, stored_backdrops)
            found.turned_vectors[content] = []  # only tokens of turned copies are kept
        missing = [d for d in decoded if d.content_hash not in found.vectors]
        if missing:
            inputs = [self.model.preprocess_content(views[d.content_hash].content) for d in missing]
            fresh = self.model.run(np.stack(inputs))
            backdrops = self._backdrop_tokens([views[d.content_hash] for d in missing])
            # each picture read now, turned, against both as they look (the rule turn_check.TurnFinder applies):
            # stored ones have their turns kept already
            signed = {d.content_hash: signatures(views[d.content_hash].content, d.picture) for d in decoded}
            others = np.stack([signed[d.content_hash] for d in decoded])
            as_it_is = {content: seen.tokens for content, seen in found.seen.items()} | {
                d.content_hash: as_unit_tokens(fresh.patches[n]) for n, d in enumerate(missing)}
            runs = sorted({(n, turn) for n, d in enumerate(missing) for _, _, turn in turns_worth_trying(
                proposals(signed[d.content_hash][None], others), lambda _, column: lines_up_as_it_is(
                    as_it_is[d.content_hash], as_it_is[decoded[column].content_hash]))})
            turned_tokens, turned_vectors = embed_turned(self.model, lambda n: missing[n].picture, runs)
            for n, d in enumerate(missing):
                turned = [as_unit_tokens(turned_tokens[run]) for run in runs if run[0] == n]
                found.vectors[d.content_hash] = fresh.vectors[n]
                found.turned_vectors[d.content_hash] = [turned_vectors[run] for run in runs if run[0] == n]
                found.seen[d.content_hash] = _seen_now(fresh.patches[n], turned, backdrops[n], views[d.content_hash])
        return found

    def _backdrop_tokens(self, views: list[Views]) -> list[np.ndarray | None]:
        """The tokens of each picture's backdrop view; None for those that have none (most)."""
        return self.model.patches_where_given([None if v.backdrop is None else self.model.preprocess_content(v.backdrop)
                                               for v in views])
