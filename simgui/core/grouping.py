"""Duplicate groups: kNN candidates, patch verification, then star clusters.

Connected components alone chain unrelated photos (A~B, B~C, so A with C).
A component is kept whole only when it is coherent: every pair of its members
passes the candidate bar on the global vectors. Otherwise it is split into
stars: a centre photo and the photos that match the centre itself, so every
member is directly a copy of one photo. A leftover photo joins a star only if
it matches a member and also passes the candidate bar against the centre.

Nodes are distinct contents (content hashes); each expands to every file
holding those bytes.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

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


@dataclass
class PairEvidence:
    """What the finder learnt about the candidate pairs; kept so a threshold change regroups without the model."""
    labels: np.ndarray
    vectors: np.ndarray
    hashes: list[str]
    pairs: dict[tuple[int, int], tuple[float, float]]  # (row a, row b) -> (cosine, agreement)


def keeper_order(image: ImageRecord) -> tuple:
    """Largest resolution, then largest file, then oldest capture, then path: the first one is kept."""
    return (-(image.width or 0) * (image.height or 0), -image.size, image.captured_at or "9999", image.path)


class GroupFinder:
    def __init__(self, library, thresholds: Thresholds = DEFAULT_THRESHOLDS):
        self.library = library
        self.thresholds = thresholds

    def evidence(self) -> PairEvidence:
        store, model_id = self.library.store, self.library.model_id
        labels, vectors, hashes = store.vectors(model_id, self.library.dim)
        row_of = {int(l): i for i, l in enumerate(labels)}
        pairs: dict[tuple[int, int], tuple[float, float]] = {}
        if len(labels) > 1:
            found, sims = self.library.index.search(vectors, self.thresholds.neighbours + 1)
            candidates = set()
            for i in range(len(labels)):
                for label, sim in zip(found[i], sims[i]):
                    j = row_of.get(int(label))
                    if j is not None and j != i and sim >= self.thresholds.candidate:
                        candidates.add((min(i, j), max(i, j)))
            patches = store.patches((int(labels[r]) for pair in candidates for r in pair), self.library.patch_shape)
            for a, b in sorted(candidates):
                cosine = float(vectors[a] @ vectors[b])
                agreement = geometric_agreement(as_unit_tokens(patches[int(labels[a])]),
                                                as_unit_tokens(patches[int(labels[b])]))
                pairs[(a, b)] = (cosine, agreement)
        return PairEvidence(labels, vectors, hashes, pairs)

    def find(self, evidence: PairEvidence | None = None) -> list[Group]:
        evidence = evidence or self.evidence()
        t = self.thresholds
        refused = self.library.store.decisions("not_duplicate")
        h = evidence.hashes

        def allowed(a: int, b: int) -> bool:
            return tuple(sorted((h[a], h[b]))) not in refused

        near = _drop_bridges([(a, b, agr) for (a, b), (cos, agr) in evidence.pairs.items()
                              if agr >= t.near_agreement and allowed(a, b)], t.sure_agreement)
        near_clusters = _clusters(near, evidence.vectors, t.candidate)
        in_near = {n for c in near_clusters for n in c}
        similar = [(a, b, cos) for (a, b), (cos, agr) in evidence.pairs.items()
                   if cos >= t.similar and a not in in_near and b not in in_near and allowed(a, b)]
        similar_clusters = _clusters(similar, evidence.vectors, t.similar)
        in_similar = {n for c in similar_clusters for n in c}

        files = self.library.store.images_by_hash(h)
        groups = [self._group("near", c, evidence, files) for c in near_clusters]
        groups += [self._group("exact", [n], evidence, files) for n in range(len(h))
                   if n not in in_near and n not in in_similar and len(files.get(h[n], [])) > 1]
        groups += [self._group("similar", c, evidence, files) for c in similar_clusters]
        groups = [g for g in groups if len(g.members) > 1]
        for g in groups:
            if g.kind != "exact" and len({m.image.content_hash for m in g.members}) == 1:
                g.kind = "exact"
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


def _drop_bridges(edges: list[tuple[int, int, float]], sure: float) -> list[tuple[int, int, float]]:
    """Drops a weak edge that links two photos which each have other matches but share none.

    Copies of one photo match each other in many ways, so a weak edge inside a
    group sits in a triangle. A weak edge whose ends both belong to different
    circles of matches is what chains two groups of unrelated photos together.
    A lone pair (a photo and its only copy) keeps its edge."""
    neighbours: dict[int, set[int]] = defaultdict(set)
    for a, b, _ in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)

    def bridge(a: int, b: int) -> bool:
        return len(neighbours[a]) > 1 and len(neighbours[b]) > 1 and not (neighbours[a] & neighbours[b])

    return [(a, b, w) for a, b, w in edges if w >= sure or not bridge(a, b)]


def _clusters(edges: list[tuple[int, int, float]], vectors: np.ndarray, floor: float) -> list[list[int]]:
    """Coherent connected components whole; the others split into stars."""
    neighbours: dict[int, dict[int, float]] = defaultdict(dict)
    for a, b, w in edges:
        neighbours[a][b] = w
        neighbours[b][a] = w
    clusters = []
    seen: set[int] = set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        component, frontier = [], [start]
        seen.add(start)
        while frontier:
            node = frontier.pop()
            component.append(node)
            for n in neighbours[node]:
                if n not in seen:
                    seen.add(n)
                    frontier.append(n)
        component.sort()
        members = vectors[component]
        if (members @ members.T).min() >= floor:
            clusters.append(component)
        else:
            part = set(component)
            clusters += _star_clusters({n: {m: w for m, w in neighbours[n].items() if m in part} for n in component},
                                       vectors, floor)
    return clusters


def _star_clusters(neighbours: dict[int, dict[int, float]], vectors: np.ndarray, join_floor: float) -> list[list[int]]:
    order = sorted(neighbours, key=lambda n: (-len(neighbours[n]), -sum(neighbours[n].values()), n))
    owner: dict[int, int] = {}
    clusters: dict[int, list[int]] = {}
    for centre in order:
        if centre in owner:
            continue
        members = [centre] + sorted(n for n in neighbours[centre] if n not in owner)
        if len(members) < 2:
            continue
        clusters[centre] = members
        for n in members:
            owner[n] = centre
    # leftovers whose neighbours were all taken: join the best-matching member's star if close to its centre
    for node in order:
        if node in owner:
            continue
        best = max((w, n) for n, w in neighbours[node].items() if n in owner) if any(
            n in owner for n in neighbours[node]) else None
        if best is None:
            continue
        centre = owner[best[1]]
        if float(vectors[node] @ vectors[centre]) >= join_floor:
            clusters[centre].append(node)
            owner[node] = centre
    return list(clusters.values())
