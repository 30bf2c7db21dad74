"""Duplicate groups: kNN candidates, patch verification, then average-linkage clusters.

Connected components alone chain unrelated photos (A~B, B~C, so A with C).
Inside each component of matching pairs, clusters merge only while the mean
score over *all* their cross pairs stays above the threshold: two groups of
copies joined by one or two weak, false matches have a mean near zero and stay
apart (see average_linkage).

Nodes are distinct contents (content hashes); each expands to every file
holding those bytes. Files with identical bytes also form an `exact` group of
their own, so they can show up in a near or similar group as well.
"""
from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from simgui.core.config import DEFAULT_THRESHOLDS, Thresholds
from simgui.core.store import ImageRecord
from simgui.core.verify import as_unit_tokens, geometric_agreement


@dataclass
class GroupMember:
    image: ImageRecord
    score: float  # cosine similarity to the keeper (1.0 for the keeper and its exact copies)
    keeper: bool = False


@dataclass
class Group:
    kind: str  # exact | near | similar
    members: list[GroupMember] = field(default_factory=list)

    @property
    def keeper(self) -> GroupMember:
        return next(m for m in self.members if m.keeper)


REFUSED = -1e6  # the user said "not duplicates": no mean can absorb this


@dataclass
class PairEvidence:
    """What the finder learnt about the candidate pairs; kept so a threshold change regroups without the model."""
    labels: np.ndarray
    vectors: np.ndarray
    hashes: list[str]
    pairs: dict[tuple[int, int], tuple[float, float]]  # (row a, row b), a < b -> (cosine, agreement)
    load_patches: Callable[[Iterable[int]], dict[int, np.ndarray]]  # labels -> int8 patch tokens
    patches: dict[int, np.ndarray] = field(default_factory=dict)  # those loaded so far

    def agreement(self, a: int, b: int) -> float:
        missing = [int(self.labels[row]) for row in (a, b) if int(self.labels[row]) not in self.patches]
        if missing:
            self.patches.update(self.load_patches(missing))
        return geometric_agreement(as_unit_tokens(self.patches[int(self.labels[a])]),
                                   as_unit_tokens(self.patches[int(self.labels[b])]))


def keeper_order(image: ImageRecord) -> tuple:
    """Largest resolution, then largest file, then oldest capture, then path: the first one is kept.

    Resolution counts the photo itself: a letterboxed copy is bigger only by its bars. Sizes within
    2 % count as equal (the bars are found on a small decode, to a few pixels), so the file decides."""
    pixels = image.content_pixels or (image.width or 0) * (image.height or 0)
    resolution_step = int(math.log(pixels) / math.log(1.02)) if pixels > 0 else 0
    return (-resolution_step, -image.size, image.captured_at or "9999", image.path)


class GroupFinder:
    def __init__(self, library, thresholds: Thresholds = DEFAULT_THRESHOLDS):
        self.library = library
        self.thresholds = thresholds

    def evidence(self) -> PairEvidence:
        store, model_id = self.library.store, self.library.model_id
        labels, vectors, hashes = store.vectors(model_id, self.library.dim)
        # rows in content order, so groups do not depend on the order files were indexed in; contents
        # that only the trash holds are left out
        live = store.hashes_with_files()
        order = sorted((i for i in range(len(hashes)) if hashes[i] in live), key=hashes.__getitem__)
        labels, vectors, hashes = labels[order], vectors[order], [hashes[i] for i in order]
        row_of = {int(l): i for i, l in enumerate(labels)}
        pairs: dict[tuple[int, int], tuple[float, float]] = {}
        evidence = PairEvidence(labels, vectors, hashes, pairs,
                                lambda wanted: store.patches(wanted, self.library.patch_shape))
        if len(labels) > 1:
            found, sims = self.library.index.search(vectors, self.thresholds.neighbours + 1)
            candidates = set()
            for i in range(len(labels)):
                for label, sim in zip(found[i], sims[i]):  # labels of trashed contents have no row
                    j = row_of.get(int(label))
                    if j is not None and j != i and sim >= self.thresholds.candidate:
                        candidates.add((min(i, j), max(i, j)))
            known = store.pair_agreements()
            unknown = [(a, b) for a, b in candidates if (int(labels[a]), int(labels[b])) not in known]
            evidence.patches.update(evidence.load_patches(int(labels[r]) for pair in unknown for r in pair))
            measured = {(int(labels[a]), int(labels[b])): evidence.agreement(a, b) for a, b in unknown}
            if measured:
                self._remember(measured)
            known.update(measured)
            for a, b in sorted(candidates):
                pairs[(a, b)] = (float(vectors[a] @ vectors[b]), known[(int(labels[a]), int(labels[b]))])
        return evidence

    def _remember(self, agreements: dict[tuple[int, int], float]) -> None:
        try:
            with self.library.store.transaction():
                self.library.store.save_pair_agreements(agreements)
        except sqlite3.OperationalError:
            pass  # a read-only library still groups; it measures these pairs again next time

    def find(self, evidence: PairEvidence | None = None) -> list[Group]:
        evidence = evidence or self.evidence()
        t = self.thresholds
        h = evidence.hashes
        refused = self.library.store.decisions("not_duplicate")

        def is_refused(a: int, b: int) -> bool:
            return tuple(sorted((h[a], h[b]))) in refused

        def agreement(a: int, b: int) -> float:
            if is_refused(a, b):
                return REFUSED
            if (a, b) not in evidence.pairs:  # not a kNN candidate, but in the same component: check it now
                evidence.pairs[(a, b)] = (float(evidence.vectors[a] @ evidence.vectors[b]),
                                          evidence.agreement(a, b))
            return evidence.pairs[(a, b)][1]

        def cosine(a: int, b: int) -> float:
            if is_refused(a, b):
                return REFUSED
            return float(evidence.vectors[a] @ evidence.vectors[b])

        near_edges = [pair for pair, (cos, agr) in evidence.pairs.items() if agr >= t.near_agreement]
        near_clusters = [c for comp in _components(near_edges)
                         for c in average_linkage(comp, agreement, t.near_agreement)]
        in_near = {n for c in near_clusters for n in c}
        similar_edges = [(a, b) for (a, b), (cos, agr) in evidence.pairs.items()
                         if cos >= t.similar and a not in in_near and b not in in_near]
        similar_clusters = [c for comp in _components(similar_edges)
                            for c in average_linkage(comp, cosine, t.similar)]

        files = self.library.store.images_by_hash(h)
        # identical bytes always get their own group, even inside a near group: that is what a
        # one-click "resolve exact copies" acts on, with no judgement of the model involved
        groups = [self._group("exact", [n], evidence, files) for n in range(len(h)) if len(files.get(h[n], [])) > 1]
        groups += [self._group("near", c, evidence, files) for c in near_clusters]
        groups += [self._group("similar", c, evidence, files) for c in similar_clusters]
        return groups

    def _group(self, kind: str, nodes: list[int], evidence: PairEvidence, files: dict) -> Group:
        images = [(n, image) for n in nodes for image in files.get(evidence.hashes[n], [])]
        if not images:
            return Group(kind)
        images.sort(key=lambda pair: keeper_order(pair[1]))
        keeper_node = images[0][0]
        members = []
        for n, image in images:
            score = 1.0 if n == keeper_node else float(evidence.vectors[n] @ evidence.vectors[keeper_node])
            members.append(GroupMember(image, round(min(1.0, score), 4), keeper=not members))
        return Group(kind, members)


def _components(edges: list[tuple[int, int]]) -> list[list[int]]:
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen: set[int] = set()
    found = []
    for start in sorted(neighbours):
        if start in seen:
            continue
        component, frontier = [], [start]
        seen.add(start)
        while frontier:
            node = frontier.pop()
            component.append(node)
            for n in neighbours[node] - seen:
                seen.add(n)
                frontier.append(n)
        found.append(sorted(component))
    return found


def average_linkage(nodes: list[int], score: Callable[[int, int], float], threshold: float) -> list[list[int]]:
    """Merges the closest clusters while their mean pairwise score stays at or above `threshold`.

    The mean over all cross pairs is what stops chaining: two groups of copies
    joined by one or two weak matches have a mean near zero."""
    clusters = [[n] for n in nodes]
    pair = {(a, b): score(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]}
    # link[i][j]: sum of scores between clusters i and j (means need sums and sizes)
    link = {i: {j: pair[(min(a, b), max(a, b))] for j, b in enumerate(nodes) if j != i} for i, a in enumerate(nodes)}
    alive = set(range(len(nodes)))
    while len(alive) > 1:
        best, best_pair = threshold, None
        for i in sorted(alive):
            for j in sorted(alive):
                if j <= i:
                    continue
                mean = link[i][j] / (len(clusters[i]) * len(clusters[j]))
                if mean >= best and (best_pair is None or mean > best):
                    best, best_pair = mean, (i, j)
        if best_pair is None:
            break
        i, j = best_pair
        clusters[i] += clusters[j]
        alive.discard(j)
        for k in alive:
            if k != i:
                link[i][k] += link[j][k]
                link[k][i] = link[i][k]
    return [sorted(clusters[i]) for i in sorted(alive) if len(clusters[i]) > 1]
