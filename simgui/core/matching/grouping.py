"""Duplicate groups: kNN candidates, patch verification, then average-linkage clusters.

Connected components alone chain unrelated photos (A~B, B~C, so A with C).
Inside each component of matching pairs, clusters merge only while the mean
score over *all* their cross pairs stays above the threshold: two groups of
copies joined by one or two weak, false matches have a mean near zero and stay
apart (see average_linkage). A photo the mean left alone (or two weak copies it
put together) joins the one group of near copies it lines up with, where that is
more than chance (attach_stragglers).

Nodes are distinct contents (content hashes); each expands to every file
holding those bytes. Files with identical bytes also form an `exact` group of
their own, so they can show up in a near or similar group as well.
"""
from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from simgui.core.storage.errors import LibraryError, storage_problem
from simgui.core.matching.clips import ClipMatches, cluster_clips, signatures_of
from simgui.core.matching.clusters import REFUSED, attach_stragglers, average_linkage, components
from simgui.core.matching.rule import (CLUSTERED, DEFAULT_THRESHOLDS, Kind, Thresholds, other_shots, threshold,
                                       thresholds_at)
from simgui.core.matching.learning import LearnedPreferences
from simgui.core.matching.pair_checks import (PARALLEL_FROM, CheckTask, UnitTokens, measure_agreements,
                                              measured_in_workers, worker_count)
from simgui.core.matching.keep_rules import KeepRules, keeper_order
from simgui.core.matching.stacks import stacks_among
from simgui.core.storage.index import VectorIndex
from simgui.core.storage.protection import protected_folder_of
from simgui.core.storage.store import BackdropView, ImageRecord, LibraryStore, is_read_only
from simgui.core.matching.moments import FAINT_AGREEMENT
from simgui.core.matching.verify import ANOTHER_MOMENT, share_inside
from simgui.core.media.orientation import ALIKE, ALIKE_PER_PHOTO, alike_as_they_are


log = logging.getLogger(__name__)


@dataclass
class GroupMember:
    image: ImageRecord
    score: float  # cosine similarity to the keeper (1.0 for the keeper and its exact copies)
    keeper: bool = False
    stacked: list[ImageRecord] = field(default_factory=list)  # the other files of its shot (stacks.py)
    protected: bool = False  # in a protected folder: never marked, never moved

    @property
    def files(self) -> list[ImageRecord]:
        """What this item is on disk: its photo, and the files of its shot that go and stay with it."""
        return [self.image, *self.stacked]

    @property
    def size(self) -> int:
        return sum(image.size for image in self.files)


@dataclass
class Group:
    kind: Kind  # one of rule.GROUP_KINDS
    members: list[GroupMember] = field(default_factory=list)

    @property
    def keeper(self) -> GroupMember:
        return next(m for m in self.members if m.keeper)

    @functools.cached_property
    def paths(self) -> list[str]:
        """Its files (a group's members do not change once it is made: a review makes new groups)."""
        return [m.image.path for m in self.members]

    @property
    def freed(self) -> int:
        """Bytes that merging it would free: every member but the keeper, with the files of its shot."""
        return sum(m.size for m in self.members if not m.keeper)

    @functools.cached_property
    def contents(self) -> frozenset[str]:
        return frozenset(m.image.content_hash for m in self.members)


DENSE_COMPONENT = 64  # up to this size, every pair of a component is scored (2,016 pairs, cached once measured)
# a straggler must lie within one of its near partners this much (attach_stragglers): a weak copy lies within its
# original, a panorama's next frame half outside the frame beside it
INSIDE_PARTNER = 0.8
CONFIRMED_COPY = DEFAULT_THRESHOLDS.near_agreement  # a third photo near both, unvetoed (overrule_lone_vetoes)
SIGNATURE_CHUNK = 64  # contents compared with every stored signature at once (at 100,000: 26 MB of scores)
# what proposes look-alike pairs besides the index: a library searched otherwise is searched so once, whole
LOOK_ALIKE_SEARCH = f"signatures>={ALIKE} closest {ALIKE_PER_PHOTO}"
CHECK_CHUNK = 1024  # pairs measured between two progress reports (their tokens: 64 MB unpacked)


@dataclass
class PairEvidence:
    """What the finder learnt about the candidate pairs; kept so a threshold change regroups without the model."""
    labels: np.ndarray
    vectors: np.ndarray
    hashes: list[str]
    pairs: dict[tuple[int, int], tuple[float, float]]  # (row a, row b), a < b -> (cosine, agreement)
    load_patches: Callable[[Iterable[int]], tuple[dict, dict, dict]]  # labels -> their tokens' stored sign bits, turned ones, backdrop views
    stored: dict[tuple[int, int], float]  # (label a, label b) in content order -> agreement, from the database
    sketch_of: Callable[[int], np.ndarray | None] | None = None  # label -> its sketch (UnitTokens)
    fresh: dict[tuple[int, int], float] = field(default_factory=dict)  # measured now, not yet stored
    patches: dict[int, np.ndarray] = field(default_factory=dict)  # those loaded so far
    turned: dict[int, list[np.ndarray]] = field(default_factory=dict)  # ... and their turned ones, where any
    backdrops: dict[int, BackdropView] = field(default_factory=dict)  # ... and their backdrop views, where any
    units: "UnitTokens" = field(init=False)

    def __post_init__(self):
        self.units = UnitTokens(self.patches, self.turned, self.backdrops, self.sketch_of)

    def agreement(self, a: int, b: int) -> float:
        key = (int(self.labels[a]), int(self.labels[b]))
        if key not in self.stored:
            self.measure([key])
        return self.stored[key]

    def measured(self, a: int, b: int) -> float | None:
        """The agreement of rows a and b where it was measured, else None (nothing is measured here)."""
        return self.stored.get((int(self.labels[a]), int(self.labels[b])))

    def measure(self, keys: list[tuple[int, int]]) -> None:
        """Measures these (label a, label b) pairs, in content order, after one read of their patches."""
        self._load({label for key in keys for label in key})
        self.remember(dict(zip(keys, measure_agreements(keys, self.units))))

    def lies_inside(self, a: int, b: int) -> bool:
        """Whether photo A (a row) lies within photo B as their patches line up (INSIDE_PARTNER of its cells)."""
        first, second = int(self.labels[a]), int(self.labels[b])
        self._load({first, second})
        return share_inside(self.units[first], self.units[second]) >= INSIDE_PARTNER

    def _load(self, labels: set[int]) -> None:
        wanted = labels - set(self.patches)
        if wanted:
            patches, turned, backdrops = self.load_patches(wanted)
            self.patches.update(patches)
            self.turned.update(turned)
            self.backdrops.update(backdrops)

    def remember(self, measured: dict[tuple[int, int], float]) -> None:
        self.stored.update(measured)
        self.fresh.update(measured)

    def take_fresh(self) -> dict[tuple[int, int], float]:
        fresh, self.fresh = self.fresh, {}
        return fresh


def _cosines(vectors: np.ndarray, pairs: list[tuple[int, int]], chunk: int = 65536) -> list[float]:
    """vectors[a] @ vectors[b] for each pair, a chunk at a time (all at once: 1.8 GB at 500,000 pairs)."""
    found: list[float] = []
    for start in range(0, len(pairs), chunk):
        a, b = np.array(pairs[start:start + chunk], np.int64).reshape(-1, 2).T
        found += np.einsum("ij,ij->i", vectors[a], vectors[b]).tolist()
    return found


def overrule_lone_vetoes(scores: dict[tuple[int, int], float], vetoes: set[tuple[int, int]]
                         ) -> dict[tuple[int, int], float]:
    """`scores` with each lone moment veto (a pair the pixels took for two moments of one scene) made 0 (no
    evidence either way) where a third photo that both line up with as near (CONFIRMED_COPY) and unvetoed
    contradicts it: a palette PNG and a watermarked copy of one photo, whose two edits together read as another
    moment, both agree 0.6-0.8 with their original; two crops of one photo that overlap little, misaligned on a
    flat picture, agree 0.1-0.2 with it. Lone: neither photo is refused by a near partner of the other (refusals
    between partners, another misjudged pair of edits, do not count: on seed 101 such ones kept a crop and a
    crop of a downscale out).
    Asking 0.3 of the partners, as first, left 7 copies out of their groups on 9 accuracy seeds that this finds,
    with no wrong pair more at any slider position.
    Two shots of a burst and their copies are refused across in several pairs, even when the pixels missed one
    of them (seed 127: shot 1 lines up 0.69 with shot 2, unvetoed, while shot 1's copy is vetoed against both
    shot 2 and its copy): overruling there would let one missed veto join the shots."""
    near: dict[int, set[int]] = defaultdict(set)
    for (a, b), score in scores.items():
        if score >= CONFIRMED_COPY:
            near[a].add(b)
            near[b].add(a)

    def lone(a: int, b: int) -> bool:
        across = [(a, y) for y in near[b] if y != a] + [(x, b) for x in near[a] if x != b]
        return not any(scores.get((min(pair), max(pair)), 0.0) == REFUSED for pair in across)
    return {pair: 0.0 if pair in vetoes and near[pair[0]] & near[pair[1]] and lone(*pair) else score
            for pair, score in scores.items()}


@dataclass
class _PairRule:
    """How grouping weighs a pair of rows of the evidence: its patch agreement, or a refusal no mean absorbs."""
    evidence: PairEvidence
    refused_rows: set[tuple[int, int]]  # the user's "Not duplicates"
    shots: list[str | None]  # each row's shutter time
    preferences: LearnedPreferences | None

    def cosine(self, a: int, b: int) -> float:
        return float(self.evidence.vectors[a] @ self.evidence.vectors[b])

    def told_apart(self, a: int, b: int) -> bool:
        """What this user taught says the two are not one photo to them, or their cameras recorded two shots
        (rule.other_shots)."""
        prefs, vectors = self.preferences, self.evidence.vectors
        return other_shots(self.shots[a], self.shots[b]) or \
            prefs is not None and prefs.distances(vectors[a], vectors[b])[0] > prefs.cutoff

    def agreement(self, a: int, b: int) -> float:
        """The patch agreement, unless the two were told apart: then, like their own "Not duplicates", no
        mean can absorb it (a 0 would be outvoted by the strong agreements of a copy's other pairs)."""
        if self.told_apart(a, b):
            return REFUSED
        value = self.evidence.agreement(a, b)
        # two moments of one scene are two photos: as firm as a "Not duplicates" (a -1 in the mean let
        # a burst's shots hold together through their copies: 12 wrong pairs against 8, seed 53), unless
        # a common copy overrules it (overrule_lone_vetoes). A faint agreement the pixels did not bear out
        # (stored below 0) is none: counted at its size in a mean, it held a moved chessboard's shots
        # together through their copies (4 wrong pairs, seeds 71 and 97)
        return REFUSED if value == ANOTHER_MOMENT else max(value, 0.0)

    def doubted(self, a: int, b: int) -> bool:
        """The pixels spoke against the pair (stored below 0): another moment, or a faint agreement they did not
        bear out. Evidence against a photo joining a group that holds the other (attach_stragglers), even where
        a common copy overruled the moment veto inside the group (overrule_lone_vetoes): a panorama's next frame
        was vetoed by one copy of the frame beside it, and lined up faintly with four others. A pair never
        measured (in a big component, most are not) says nothing, and is not measured for this."""
        value = self.evidence.measured(a, b)
        return value is not None and value < 0

    def moment_veto(self, a: int, b: int) -> bool:
        """Refused by the pixels alone (moments.py), not by the user, the cameras or what was learnt."""
        return self.evidence.agreement(a, b) == ANOTHER_MOMENT and \
            (min(a, b), max(a, b)) not in self.refused_rows and not self.told_apart(a, b)


class GroupingSource(Protocol):
    """What grouping reads of a library (core/library.py's Library is one)."""
    folder: Path
    store: LibraryStore
    model_id: str
    dim: int
    patch_shape: tuple[int, int]

    @property
    def index(self) -> VectorIndex: ...

    clip_matches: ClipMatches  # the verdicts of clip pairs, kept between groupings

    def protected_folders(self) -> list[str]: ...

    def sketch(self, label: int) -> np.ndarray | None: ...


class GroupFinder:
    def __init__(self, library: GroupingSource, thresholds: Thresholds = DEFAULT_THRESHOLDS,
                 preferences: LearnedPreferences | None = None):
        """preferences: what was learnt from this user's decisions (learning.py); None scores as the default."""
        self.library = library
        self.thresholds = thresholds
        self.preferences = preferences
        self.protected = library.protected_folders()
        self.chosen = library.store.keeper_choices()
        self.rules = KeepRules.from_json(library.store.keep_rules())

    def evidence(self, report: Callable[[int, int], None] | None = None) -> PairEvidence:
        """report(done, total): pairs measured now, of those no stored agreement held (after an upgrade of the
        check: every pair of the library, minutes at 100,000 photos)."""
        store, model_id = self.library.store, self.library.model_id
        labels, vectors, hashes = store.vectors(model_id, self.library.dim)
        # rows in content order, so groups do not depend on the order files were indexed in; contents
        # that only the trash holds are left out
        live = store.hashes_with_files()
        order = sorted((i for i in range(len(hashes)) if hashes[i] in live), key=hashes.__getitem__)
        labels, vectors, hashes = labels[order], vectors[order], [hashes[i] for i in order]
        evidence = PairEvidence(labels, vectors, hashes, {}, self._patches, store.pair_agreements(), self.library.sketch)
        if len(labels) > 1:
            ordered = self._candidate_rows(labels, self._candidate_labels(labels, vectors, evidence.stored)).tolist()
            row_labels, stored = labels.tolist(), evidence.stored
            missing = [key for key in ((row_labels[a], row_labels[b]) for a, b in ordered) if key not in stored]
            done = 0
            for chunk, values in self._measured(missing):  # in workers when many
                evidence.remember(dict(zip(chunk, values)))
                done += len(chunk)
                if report is not None:
                    report(done, len(missing))
            evidence.pairs = {(a, b): (cos, stored[(row_labels[a], row_labels[b])])
                              for (a, b), cos in zip(ordered, _cosines(vectors, ordered))}
            self._remember(evidence.take_fresh())
        return evidence

    def _patches(self, labels: Iterable[int]
                 ) -> tuple[dict[int, np.ndarray], dict[int, list[np.ndarray]], dict[int, BackdropView]]:
        labels, shape, store = set(labels), self.library.patch_shape, self.library.store
        return store.patches(labels, shape), store.turned_patches(labels, shape), store.backdrop_views(labels, shape)

    @staticmethod
    def _candidate_rows(labels: np.ndarray, pairs: set[tuple[int, int]]) -> np.ndarray:
        """Label pairs as sorted, distinct (row a, row b) pairs, a < b, of the rows these labels are in;
        pairs with a label not among them are left out. In arrays: half a million pairs is common."""
        found = np.array(list(pairs), np.int64).reshape(-1, 2)
        row_of = np.full(int(max(labels.max(), found.max(initial=0))) + 1, -1, np.int64)
        row_of[labels] = np.arange(len(labels))
        rows = row_of[found]
        rows = np.sort(rows[(rows >= 0).all(1)], axis=1)
        codes = np.unique(rows[:, 0] * len(labels) + rows[:, 1])  # one number a pair: a 1-D unique is fast
        return np.column_stack([codes // len(labels), codes % len(labels)])

    def _candidate_labels(self, labels: np.ndarray, vectors: np.ndarray,
                          measured: dict[tuple[int, int], float]) -> set[tuple[int, int]]:
        """Pairs of labels worth a patch check: each content and its nearest neighbours above the candidate
        cosine. With the default search settings these are the measured pairs plus the queue of pairs
        found but not measured yet, and only contents not searched yet (each `update` searches the
        contents it embedded) are searched here."""
        t, store = self.thresholds, self.library.store
        if (t.neighbours, t.candidate) != (DEFAULT_THRESHOLDS.neighbours, DEFAULT_THRESHOLDS.candidate):
            return self._search(labels, vectors)  # a benchmark's sweep: nothing stored is right for it
        searched = store.searched_labels()
        todo = [i for i, label in enumerate(labels.tolist()) if label not in searched]
        fresh = self.search_candidates(labels[todo], vectors[todo]) if todo else set()
        return set(store.candidate_pairs()) | measured.keys() | fresh | set(store.turned_pairs()) | \
            self._search_look_alikes_once(measured.keys())

    def look_alikes(self, labels: np.ndarray | None = None) -> set[tuple[int, int]]:
        """Label pairs of these contents (None: all) and any stored one (these included) whose grey signatures
        are alike as they are (orientation.ALIKE): a black-and-white copy's index neighbours are other grey
        pictures, not its colour original. One product a chunk: about 15 s for 100,000 contents against as many."""
        known_labels, known = self.library.store.signatures()
        if labels is None:
            rows = np.arange(len(known_labels))
        else:
            row_of = {int(label): row for row, label in enumerate(known_labels.tolist())}
            rows = np.array([row_of[label] for label in labels.tolist() if label in row_of], np.int64)
        pairs = set()
        for start in range(0, len(rows), SIGNATURE_CHUNK):
            own = rows[start:start + SIGNATURE_CHUNK]
            for row, column in alike_as_they_are(known[own], known, own):
                first, second = int(known_labels[own[row]]), int(known_labels[column])
                pairs.add((min(first, second), max(first, second)))
        return pairs

    def _search_look_alikes_once(self, measured: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
        """A library indexed before its contents' look-alikes were searched (LOOK_ALIKE_SEARCH) gets them once:
        those not `measured` yet are queued for the check; later index runs search those of the contents they add."""
        store = self.library.store
        if store.look_alike_search() == LOOK_ALIKE_SEARCH:
            return set()
        pairs = self.look_alikes() - set(measured)

        def write() -> None:
            store.save_candidates((), pairs)
            store.set_look_alike_search(LOOK_ALIKE_SEARCH)
        self._keep(write, "look-alike pairs")
        return pairs

    def search_candidates(self, labels: np.ndarray, vectors: np.ndarray) -> set[tuple[int, int]]:
        """Searches these contents' neighbours and queues the candidate pairs (a new photo finds its old
        look-alikes; theirs are not searched again). Read-only libraries search again next time."""
        pairs = self._search(labels, vectors)
        self._queue(labels, pairs)
        return pairs

    def _queue(self, searched: np.ndarray, pairs: Iterable[tuple[int, int]]) -> None:
        self._keep(lambda: self.library.store.save_candidates(searched.tolist(), pairs), "candidate pairs")

    def _keep(self, write: Callable[[], None], what: str) -> None:
        """Stored pairs only save work: a read-only library groups all the same and measures them again next
        time. Any other refusal ("locked", "full", a damaged file) is for the user to hear about."""
        try:
            with self.library.store.transaction():
                write()
        except sqlite3.Error as exc:
            if not is_read_only(exc):
                raise LibraryError(storage_problem(self.library.folder, exc)) from exc
            log.info("read-only library %s: %s not kept (%s)", self.library.folder, what, exc)

    def check_new(self, labels: np.ndarray, vectors: np.ndarray, report: Callable[[int, int], None] | None = None,
                  cancel=None) -> None:
        """What indexing does last for the contents it embedded: their look-alikes (in the index, and by their
        signatures) searched and checked, so that grouping finds every pair measured. Only pairs a cancel left
        unchecked are queued: queueing all of them first left a seventh of a big library's file as free pages
        once they were measured."""
        new = set(labels.tolist())
        pairs = self._search(labels, vectors) | {p for p in self.library.store.turned_pairs() if new & set(p)} \
            | self.look_alikes(labels)
        try:
            unmeasured = self.check_candidates(pairs, report, cancel)
        except BaseException:
            # queued, not lost: the signature look-alikes of these contents are never searched again (the index
            # neighbours would be); grouping measures what is queued and not stored yet
            self._queue(labels, pairs)
            raise
        self._queue(labels, unmeasured)

    def check_candidates(self, pairs: set[tuple[int, int]], report: Callable[[int, int], None] | None = None,
                         cancel=None) -> list[tuple[int, int]]:
        """Measures the patch agreement of these candidate pairs of labels and stores it. Pairs that no
        slider setting could group (too little agreement and cosine even for "loose") are dropped rather
        than stored: about half of a big library's pairs. Stops when `cancel` is set and returns the pairs
        it did not measure."""
        store = self.library.store
        labels, vectors, hashes = store.vectors(self.library.model_id, self.library.dim,
                                                sorted({label for pair in pairs for label in pair}))
        row = {label: n for n, label in enumerate(labels.tolist())}
        keys = sorted(tuple(sorted(pair, key=lambda label: hashes[row[label]])) for pair in pairs
                      if pair[0] in row and pair[1] in row)
        loosest = thresholds_at(100)
        measured: list[list[tuple[int, int]]] = []
        done = 0
        for chunk, values in self._measured(keys, cancel):
            cosines = _cosines(vectors, [(row[a], row[b]) for a, b in chunk])
            # these pairs were never queued: nothing to take off the queue. The pixels' verdicts (below 0) are kept
            # for a new moment rule to judge again
            self._remember({key: value for key, value, cos in zip(chunk, values, cosines) if value < 0
                            or value >= loosest.near_agreement or cos >= loosest.similar}, queued=False)
            measured.append(chunk)
            done += len(chunk)
            if report is not None:
                report(done, len(keys))
        if done == len(keys):
            return []
        taken = {key for chunk in measured for key in chunk}
        return [key for key in keys if key not in taken]

    def _measured(self, keys: list[tuple[int, int]], cancel=None) -> Iterator[tuple[list[tuple[int, int]], list[float]]]:
        """(pairs, their agreements), a chunk at a time: in worker processes when there are many."""
        if len(keys) >= PARALLEL_FROM and worker_count() > 1:
            yield from measured_in_workers(keys, self._check_task, self._measure_here, cancel)
            return
        for start in range(0, len(keys), CHECK_CHUNK):
            if cancel is not None and cancel.is_set():
                return
            chunk = keys[start:start + CHECK_CHUNK]
            yield chunk, self._measure_here(chunk)

    def _measure_here(self, keys: list[tuple[int, int]]) -> list[float]:
        return measure_agreements(keys, UnitTokens(*self._patches({label for key in keys for label in key}),
                                                   self.library.sketch))

    def _check_task(self, keys: list[tuple[int, int]]) -> CheckTask | None:
        """A worker's inputs for these pairs; None when a sketch is not stored yet (made from the file here)."""
        labels = {label for key in keys for label in key}
        sketches = self.library.store.sketches(labels)
        return CheckTask(keys, *self._patches(labels), sketches) if len(sketches) == len(labels) else None

    def _search(self, labels: np.ndarray, vectors: np.ndarray) -> set[tuple[int, int]]:
        t = self.thresholds
        found, sims = self.library.index.search(vectors, t.neighbours + 1)
        pairs = set()
        for label, row_found, row_sims in zip(labels.tolist(), found, sims):
            pairs |= {(min(label, int(other)), max(label, int(other))) for other, sim in zip(row_found, row_sims)
                      if other >= 0 and int(other) != label and sim >= t.candidate}
        return pairs

    def _remember(self, agreements: dict[tuple[int, int], float], queued: bool = True) -> None:
        """Stores measured agreements; `queued`: the pairs may be in the queue of pairs to check, and leave it."""
        if not agreements:
            return

        def write() -> None:
            self.library.store.save_pair_agreements(agreements)
            if queued:
                self.library.store.forget_candidates(agreements)
        self._keep(write, "measured pairs")

    def find(self, evidence: PairEvidence | None = None, report: Callable[[int, int], None] | None = None
             ) -> list[Group]:
        """report: as evidence() reports the pairs it measures."""
        evidence = evidence or self.evidence(report)
        row_of = {content: row for row, content in enumerate(evidence.hashes)}
        refused_rows = {(min(row_of[a], row_of[b]), max(row_of[a], row_of[b]))
                        for a, b in self.library.store.decisions("not_duplicate") if a in row_of and b in row_of}
        shot_of = self.library.store.shot_times()
        pairs = _PairRule(evidence, refused_rows, [shot_of.get(content) for content in evidence.hashes],
                          self.preferences)

        def scores(component: list[int], measure: Callable[[int, int], float]) -> dict[tuple[int, int], float]:
            """Every pair of a small component (measured now if the kNN did not pair them); in a big one, only
            the pairs already measured: checking all n^2 would take minutes, and an unmeasured pair (or one
            indexing dropped as too weak for any setting) counts 0."""
            if len(component) <= DENSE_COMPONENT:
                found = {(a, b): measure(a, b) for i, a in enumerate(component) for b in component[i + 1:]}
            else:
                inside = set(component)
                found = {(a, b): measure(a, b) for a, b in evidence.pairs if a in inside and b in inside}
                found.update({pair: 0.0 for pair in refused_rows if pair[0] in inside and pair[1] in inside})
            found = {pair: REFUSED if pair in refused_rows else value for pair, value in found.items()}
            return overrule_lone_vetoes(found, {pair for pair in found if pairs.moment_veto(*pair)}) \
                if measure == pairs.agreement else found

        def linked(component: list[int], found: dict[tuple[int, int], float], weighs: str, least: float
                   ) -> list[list[int]]:
            """Average linkage; a photo it left alone, or two it put together, may join a group of near copies
            (attach_stragglers)."""
            clustered = average_linkage(component, found, least)
            if weighs != "agreement":
                return clustered
            return attach_stragglers(clustered, found, least, FAINT_AGREEMENT, pairs.doubted, evidence.lies_inside)

        measures = {"agreement": pairs.agreement, "cosine": pairs.cosine}
        clusters: dict[Kind, list[list[int]]] = {}
        taken: set[int] = set()  # in a stronger kind's cluster already
        for kind, (weighs, _) in CLUSTERED.items():
            measure, least = measures[weighs], threshold(kind, self.thresholds)
            stored = 1 if weighs == "agreement" else 0  # the pair's (cosine, agreement) as stored
            edges = [pair for pair, values in evidence.pairs.items() if values[stored] >= least
                     and pair[0] not in taken and pair[1] not in taken and measure(*pair) >= least]
            clusters[kind] = [c for comp in components(edges)
                              for c in linked(comp, scores(comp, measure), weighs, least)]
            taken |= {n for c in clusters[kind] for n in c}
        self._remember(evidence.take_fresh())
        return self._groups(clusters, evidence)

    def _groups(self, clusters: dict[Kind, list[list[int]]], evidence: PairEvidence) -> list[Group]:
        """The groups of these clusters of contents, and an exact group for each content held by several files."""
        h = evidence.hashes
        files = self.library.store.images_by_hash(h)
        stacks = stacks_among(image for images in files.values() for image in images)
        row_of = {content: row for row, content in enumerate(h)}

        def cosine(a: str, b: str) -> float:
            return float(evidence.vectors[row_of[a]] @ evidence.vectors[row_of[b]])
        # identical bytes always get their own group, even inside a near group: that is what a
        # one-click "resolve exact copies" acts on, with no judgement of the model involved
        groups = [self._group(Kind.EXACT, [content], files, stacks, cosine) for content in h
                  if len(files.get(content, [])) > 1]
        groups += [self._group(kind, [h[n] for n in c], files, stacks, cosine)
                   for kind, found in clusters.items() for c in found]
        groups += self._clip_groups()
        return [group for group in groups if len(group.members) > 1]  # a shot's own files are not duplicates

    def _clip_groups(self) -> list[Group]:
        """The groups of the library's video clips (clips.py's rule), exact copies first."""
        store = self.library.store
        rows = store.clip_signatures(self.library.model_id, self.library.dim)
        live = store.hashes_with_files()
        rows = {content: frames for content, frames in rows.items() if content in live}
        if not rows:
            return []
        files = store.images_by_hash(rows)
        signatures = signatures_of(rows, {c: images[0].duration for c, images in files.items() if images})
        refused = {frozenset(pair) for pair in store.decisions("not_duplicate")}
        clusters = cluster_clips(signatures, self.library.clip_matches, refused)
        by_content = {s.content: s for s in signatures}

        def score(a: str, b: str) -> float:
            return self.library.clip_matches.match(by_content[a], by_content[b]).scene

        groups = [self._group(Kind.EXACT, [content], files, {}, score) for content in rows if len(files[content]) > 1]
        return groups + [self._group(kind, [signatures[n].content for n in c], files, {}, score)
                         for kind, found in clusters.items() for c in found]

    def _group(self, kind: Kind, contents: list[str], files: dict, stacks: dict[str, list[ImageRecord]],
               score_to: Callable[[str, str], float]) -> Group:
        """The files of these contents, each shot (stacks.py) one member, in keeper order; `score_to(a, b)`:
        how alike two of the contents are (the members' scores, to the keeper's content)."""
        images = [(content, image) for content in contents for image in files.get(content, [])]
        images.sort(key=lambda pair: keeper_order(pair[1], self.protected, self.chosen,
                                                  stacked=pair[1].path in stacks, rules=self.rules))
        members, shots = [], set()
        second_names = _second_names([image for _, image in images])
        for n, image in images:
            if image.path in second_names:
                continue
            stack = stacks.get(image.path, [image])
            if stack[0].path in shots:
                continue  # its shot is a member already
            shots.add(stack[0].path)
            score = 1.0 if n == images[0][0] else score_to(n, images[0][0])
            members.append(GroupMember(image, round(min(1.0, score), 4), keeper=not members,
                                       stacked=[f for f in stack if f.path != image.path],
                                       protected=protected_folder_of(image.path, self.protected) is not None))
        return Group(kind, members)


def _second_names(images: list[ImageRecord]) -> set[str]:
    """The paths that are another name of a file listed before them (hard links: a merge's, or the user's own):
    a second name takes no space, and there is nothing to merge. Only a content held by several paths is
    looked at on disk; a file that cannot be looked at (an unplugged card) counts as a file of its own."""
    held = Counter(image.content_hash for image in images)
    seen, second = set(), set()
    for image in images:
        if held[image.content_hash] < 2:
            continue
        try:
            st = os.stat(image.path)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            second.add(image.path)
        seen.add((st.st_dev, st.st_ino))
    return second
