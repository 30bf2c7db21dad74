"""Which kind a pair of video clips is, and the clusters of a library's clips: the clip rule, in one place.

A clip's signature is a short sequence of frames (video.py), each with a vector of the photo model and a grey
thumbnail of the picture inside the clip's bars. Two clips are the same footage (`near`) when the shorter one's
frames find frames of the longer one that show the same moment, at one time offset (a trim starts it later; a
re-encode keeps the offset 0) and in one framing that holds still (as they are, or one a fixed part of the
other: clip_framing.py), over most of its length. "The same moment" needs both: the vectors say the same thing
is seen, the thumbnails that it is seen the same way (another take of a scene is seen alike, framed otherwise,
and its framing of the first drifts as its camera goes its own way). Frames of two encodes fall at slightly
different moments, so each frame may pick the better of the other clip's two frames about its time. Blank
frames (black fades, a plain card) say nothing and are left out; a shared logo intro covers only the intro's
share of a clip, so two clips that merely start alike stay apart. The same scene seen in another take is
`similar`.

Thresholds were chosen on benchmarks/video.py's seeds 3, 5, 7 and 9 (9's crops are of random size, place and
shape) and checked on seed 11.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgui.core.matching.clip_framing import framings
from simgui.core.matching.clusters import REFUSED, average_linkage, components
from simgui.core.matching.rule import DEFAULT_THRESHOLDS, Kind
from simgui.core.storage.store import ClipFrameSet

SAME_MOMENT = 0.88  # frame cosine of one moment of one footage (re-encoded, resized, letterboxed, watermarked)
NEAR_COVERAGE = 0.8  # share of the shorter clip's frames that must find their moment, at one offset
SIMILAR_SCENE = DEFAULT_THRESHOLDS.similar  # mean best frame cosine of two takes of one scene, as for photos
# a clip joins copies when it is the same footage as most of them (a mean coverage, pairs that are not the same
# footage counting 0): two copies may each hold a part of the original that the other lacks (a 4:3 cut and a
# zoom to fill), and neither is then within the other
NEAR_LINKAGE = 0.6
CANDIDATE = 0.70  # a pair of clips is looked at when two of their frames reach this cosine
OFFSET_SLACK = 0.25  # seconds beyond half the gap between frames that one moment may be off by
OFFSETS_TRIED = 2  # a trim's offset falls between two frames' times: both are tried
DENSE_COMPONENT = 64  # up to this many clips linked by candidates, every pair of them is compared


@dataclass(eq=False)
class ClipSignature:
    content: str
    duration: float
    frames: ClipFrameSet

    @property
    def times(self) -> np.ndarray:
        return self.frames.times

    @property
    def vectors(self) -> np.ndarray:
        return self.frames.vectors

    @property
    def blank(self) -> np.ndarray:
        return self.frames.blank

    @property
    def seen(self) -> np.ndarray:
        """The frames that show something (all of them, if every one is blank)."""
        return ~self.blank if (~self.blank).any() else np.ones_like(self.blank)

    def widest_gap(self) -> float:
        ends = np.concatenate([[0.0], self.times, [max(self.duration, float(self.times[-1]))]])
        return float(np.diff(ends).max())


@dataclass(frozen=True)
class ClipMatch:
    kind: Kind
    coverage: float  # share of the shorter clip's frames that found their moment at one offset
    scene: float  # mean of their best frame cosines, whatever the time


def compare_clips(a: ClipSignature, b: ClipSignature) -> ClipMatch:
    if a.content == b.content:
        return ClipMatch(Kind.EXACT, 1.0, 1.0)
    short, long = sorted((a, b), key=lambda s: (s.duration, s.content))  # either order, one answer
    if not (~short.blank).any() or not (~long.blank).any():  # blank clips look alike, and that says nothing
        return ClipMatch(Kind.DIFFERENT, 0.0, 0.0)
    cosines = short.vectors[short.seen] @ long.vectors[long.seen].T
    scene = float(cosines.max(axis=1).mean())
    coverage = _coverage(short, long, cosines)
    if coverage >= NEAR_COVERAGE:
        kind = Kind.NEAR
    elif scene >= SIMILAR_SCENE:
        kind = Kind.SIMILAR
    else:
        kind = Kind.DIFFERENT
    return ClipMatch(kind, round(coverage, 4), round(scene, 4))


def _coverage(short: ClipSignature, long: ClipSignature, cosines: np.ndarray) -> float:
    """The share of the short clip's seen frames that show their moment of the long clip, at one offset and in
    one framing; the first that reaches NEAR_COVERAGE is taken (the verdict needs no more)."""
    coverage = 0.0
    thumbs = long.frames.thumbs[long.seen]
    for moment in _aligned_moments(short, long, cosines):
        aligned = moment[:, 0] >= 0
        partners = np.where(moment[aligned] >= 0, moment[aligned], moment[aligned][:, :1])
        for framing in framings(short.frames.thumbs[short.seen][aligned], thumbs[partners], short.frames.aspect,
                                long.frames.aspect):
            coverage = max(coverage, framing.fitting(needed=NEAR_COVERAGE * len(moment)) / len(moment))
            if coverage >= NEAR_COVERAGE:
                return coverage
    return coverage


def _aligned_moments(short: ClipSignature, long: ClipSignature, cosines: np.ndarray) -> list[np.ndarray]:
    """For the likeliest time offsets (OFFSETS_TRIED of them), each seen frame of the short clip's two frames of
    the long clip about that offset ([S, 2]: the nearest, and the nearest on the other side; -1 where not seen
    alike). Two, as frames of two encodes are sampled at moments apart (a keyframe near a second's mark is
    taken for it), and a moving camera makes the nearer in time not always the same picture. Offsets where too
    few frames are seen alike to reach NEAR_COVERAGE are left out, so most pairs never get to the framing."""
    s_times, l_times = short.times[short.seen], long.times[long.seen]
    slack = long.widest_gap() / 2 + OFFSET_SLACK
    rows = np.arange(len(s_times))
    tried = {}
    for offset in np.unique(np.round((l_times[None, :] - s_times[:, None])[cosines >= SAME_MOMENT], 2)):
        apart = l_times[None, :] - (s_times[:, None] + offset)
        nearest = np.abs(apart).argmin(axis=1)
        beyond = np.clip(nearest + np.where(apart[rows, nearest] < 0, 1, -1), 0, len(l_times) - 1)
        moment = np.stack([nearest, beyond], axis=1)
        alike = (np.abs(apart[rows[:, None], moment]) <= slack) & (cosines[rows[:, None], moment] >= SAME_MOMENT)
        if alike[:, 0].mean() >= NEAR_COVERAGE and nearest.tobytes() not in tried:
            tried[nearest.tobytes()] = (float(cosines[rows, nearest][alike[:, 0]].mean()), np.where(alike, moment, -1))
    return [moment for _, moment in sorted(tried.values(), key=lambda t: -t[0])[:OFFSETS_TRIED]]


def candidate_pairs(signatures: list[ClipSignature]) -> set[tuple[int, int]]:
    """Pairs of clips (indexes, smaller first) with two frames alike enough to compare them at all: each
    frame's nearest frames in an HNSW index of every frame that is not blank."""
    if len(signatures) < 2:
        return set()
    owners = np.concatenate([np.full(int(s.seen.sum()), n) for n, s in enumerate(signatures)])
    vectors = np.concatenate([s.vectors[s.seen] for s in signatures]).astype(np.float32)
    import hnswlib
    index = hnswlib.Index(space="ip", dim=vectors.shape[1])
    index.init_index(max_elements=len(vectors), ef_construction=100, M=16)
    index.add_items(vectors, np.arange(len(vectors)))
    k = min(len(vectors), 24)
    index.set_ef(max(k, 64))
    neighbours, distances = index.knn_query(vectors, k=k)
    pairs = set()
    for row, (found, distance) in enumerate(zip(neighbours, distances)):
        for other, d in zip(found, distance):
            a, b = int(owners[row]), int(owners[other])
            if a != b and 1 - d >= CANDIDATE:
                pairs.add((min(a, b), max(a, b)))
    return pairs


class ClipMatches:
    """The verdicts of a library's clip pairs worth a look, kept between groupings (the app groups again on every
    slider move and after every merge): the frames of all clips are searched again only when a clip is new, and
    a pair is compared once."""

    def __init__(self):
        self._contents: frozenset[str] = frozenset()
        self._pairs: set[tuple[str, str]] = set()  # contents, in order
        self._matches: dict[tuple[str, str], ClipMatch] = {}

    def of(self, signatures: list[ClipSignature]) -> dict[tuple[int, int], ClipMatch]:
        """(index a, index b), a < b -> the verdict, for the candidate pairs among these clips."""
        contents = frozenset(s.content for s in signatures)
        if not contents <= self._contents:
            self._pairs = {(signatures[a].content, signatures[b].content) for a, b in candidate_pairs(signatures)}
            self._contents = contents
        row = {s.content: n for n, s in enumerate(signatures)}
        found = {}
        for a, b in self._pairs:
            if a in row and b in row:
                found[(row[a], row[b])] = self.match(signatures[row[a]], signatures[row[b]])
        return found

    def match(self, a: ClipSignature, b: ClipSignature) -> ClipMatch:
        key = (a.content, b.content)
        if key not in self._matches:
            self._matches[key] = compare_clips(a, b)
        return self._matches[key]


def cluster_clips(signatures: list[ClipSignature], matches: ClipMatches,
                  refused: set[frozenset[str]] = frozenset()) -> dict[Kind, list[list[int]]]:
    """Clusters of clips (indexes, in content order) by kind: `near` first, then `similar` among the rest. A pair
    the user called "not duplicates" (`refused`, as content pairs) is never in one cluster."""
    candidates = matches.of(signatures)

    def score(pair: tuple[int, int], kind: Kind) -> float:
        a, b = signatures[pair[0]], signatures[pair[1]]
        if frozenset((a.content, b.content)) in refused:
            return REFUSED
        match = candidates.get(pair) or matches.match(a, b)
        if kind == Kind.NEAR:  # a pair that is not the same footage counts for nothing, as groups and compare agree
            return match.coverage if match.kind in (Kind.NEAR, Kind.EXACT) else 0.0
        return match.scene

    found: dict[Kind, list[list[int]]] = {}
    taken: set[int] = set()
    for kind, least, mean in ((Kind.NEAR, NEAR_COVERAGE, NEAR_LINKAGE), (Kind.SIMILAR, SIMILAR_SCENE, SIMILAR_SCENE)):
        edges = [pair for pair in candidates if pair[0] not in taken and pair[1] not in taken
                 and score(pair, kind) >= least]
        found[kind] = []
        for component in components(edges):
            if len(component) <= DENSE_COMPONENT:
                pairs = [(a, b) for i, a in enumerate(component) for b in component[i + 1:]]
            else:  # every pair of hundreds of clips would take minutes: the candidates alone (others count 0)
                inside = set(component)
                pairs = [pair for pair in candidates if pair[0] in inside and pair[1] in inside]
            found[kind] += average_linkage(component, {pair: score(pair, kind) for pair in pairs}, mean)
        taken |= {n for cluster in found[kind] for n in cluster}
    return found


def signatures_of(rows: dict[str, ClipFrameSet], durations: dict[str, float]) -> list[ClipSignature]:
    """The store's clip signatures (store.clip_signatures), in content order, with each clip's length."""
    return [ClipSignature(content, durations.get(content) or float(frames.times[-1]), frames)
            for content, frames in sorted(rows.items())]
