"""Second-stage check of a candidate pair: do their patch tokens line up in space?

Global vectors cannot tell a copy from a look-alike (two shots of one scene,
two close-up textures). Copies share many patches, and the matches obey one
geometric transform (a crop is a scale plus a shift). Look-alikes also match
patches, but scattered. So: mutual nearest neighbours between the two 16x16
token grids, then RANSAC for a scale+translation, and the score is the share of
the grid that agrees with it. Two moments of one scene (a burst, a tripod) line up too: for a pair that
lines up, their sketches say which it is (moments.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from simgui.core.matching.moments import PixelVerdict, Sketch, pixel_verdict
from simgui.core.matching.rule import DEFAULT_THRESHOLDS
from simgui.core.storage.tokens import GRID


METHOD = "mnn-ransac-3-exact-signs-turns-0.15-moments-1-backdrops-2"  # change it with anything below that changes scores: stored agreements are then redone
MIN_TOKEN_SIMILARITY = 0.3
SAME_CONTENT = 0.5  # token similarity of a cell and its aligned partner above which they show the same thing
DISTINCT_MARGIN = 0.04  # Lowe's ratio test, as a difference: flat sky or a gradient matches everything
SUBJECT_LINED_UP = 0.2  # share of the cells of a backdrop view's photo as trimmed that must agree for the view to count
TURNED_AGREEMENT = 0.15  # a turned copy's agreement counts from here (turned copies measured 0.2-1.0)
HYPOTHESIS_MATCHES = 24  # every pair of the strongest matches proposes a transform: 276 hypotheses, no dice
MOMENT_CHECK_FROM = DEFAULT_THRESHOLDS.near_agreement  # the least agreement any slider position calls near
SAME, CHANGED, CUT_AWAY = 1, -1, -2  # difference_grid's cells: below 0, the first photo's content is not there
ANOTHER_MOMENT = -1.0  # the "agreement" of two moments of one scene: below every threshold, never in a near group
SketchPair = Callable[[bool, bool], "tuple[Sketch, Sketch] | None"]  # (backdrop view of A?, of B?)
# cell indices bit-reversed: among equally similar matches (sign tokens take 33 values) the strongest are then
# taken spread over the grid, not the top rows first
_SPREAD = np.array([int(f"{cell:08b}"[::-1], 2) for cell in range(GRID * GRID)])
_CELLS = np.stack(np.meshgrid(np.arange(GRID), np.arange(GRID), indexing="ij"), -1).reshape(-1, 2)[:, ::-1].astype(np.float32)


@dataclass
class PatchMatches:
    """How A's grid cells found themselves in B."""
    best_similarity: np.ndarray  # [256]: each A cell's most similar B token
    distinct: np.ndarray  # indices of A cells with a mutual, unambiguous match
    agreeing: np.ndarray  # indices of A cells whose match fits the best scale+shift (a subset of `distinct`)
    transform: tuple[float, float, float] | None = None  # that scale, shift x, shift y (A cells to B cells)


def match_patches(a: np.ndarray, b: np.ndarray) -> PatchMatches:
    """Mutual nearest neighbours between the token grids, then RANSAC for a scale+shift; `a`, `b` are unit
    tokens [256, P]. Deterministic: the same two photos in the same order always match the same way."""
    sim = _on_sign_grid(a @ b.T, a.shape[1])
    a_to_b = sim.argmax(1)
    # the product again, not sim's columns: strided took 3x, a transposed copy 2x
    b_to_a = _on_sign_grid(b @ a.T, a.shape[1]).argmax(1)
    best_similarity = sim[np.arange(len(a)), a_to_b]
    mutual = np.nonzero(b_to_a[a_to_b] == np.arange(len(a)))[0]
    rows = sim[mutual]
    best = rows[np.arange(len(mutual)), a_to_b[mutual]]
    rows[np.arange(len(mutual)), a_to_b[mutual]] = -np.inf
    runner_up = rows.max(1)  # a max over the rows with their best removed is cheaper than partitioning them
    keep = (best > MIN_TOKEN_SIMILARITY) & (best - runner_up >= DISTINCT_MARGIN)
    mutual, best = mutual[keep], best[keep]
    none = np.zeros(0, np.int64)
    if len(mutual) < 3:
        return PatchMatches(best_similarity, mutual, none)
    pa, pb = _CELLS[mutual], _CELLS[a_to_b[mutual]]
    strongest = np.lexsort((_SPREAD[mutual], -best))[:HYPOTHESIS_MATCHES]
    first, second = _pairs_of(len(strongest))
    first, second = strongest[first], strongest[second]
    span_a = np.linalg.norm(pa[first] - pa[second], axis=1)
    span_b = np.linalg.norm(pb[first] - pb[second], axis=1)
    ok = span_a > 0
    scale = np.where(ok, span_b / np.where(ok, span_a, 1), 0)
    ok &= (scale > 0.4) & (scale < 2.5)
    if not ok.any():
        return PatchMatches(best_similarity, mutual, none)
    scale, first = scale[ok], first[ok]
    shift = pb[first] - scale[:, None] * pa[first]
    # copies propose the same transform many times over: test each one once
    scale, shift = _unique_rows(scale, shift)
    off = scale[:, None, None] * pa[None] + shift[:, None, :] - pb[None]
    fits = np.sqrt(off[..., 0] ** 2 + off[..., 1] ** 2) < np.maximum(1.0, scale)[:, None] + 0.5
    chosen = fits.sum(1).argmax()
    return PatchMatches(best_similarity, mutual, mutual[fits[chosen]],
                        (float(scale[chosen]), float(shift[chosen, 0]), float(shift[chosen, 1])))


def _on_sign_grid(products: np.ndarray, length: int) -> np.ndarray:
    """Similarities of unit sign tokens (storage/tokens.py) are multiples of 2 / length: rounded there, two
    equally similar tokens tie exactly, whatever order the float32 kernel summed in (the same pairs on every
    machine)."""
    products *= length / 2  # in place: a new 256 KB array each time took 10x as long (fresh pages)
    np.rint(products, out=products)
    products *= 2 / length
    return products


@lru_cache(maxsize=HYPOTHESIS_MATCHES + 1)
def _pairs_of(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) of n matches: the same few sizes come back for every pair of photos."""
    return np.triu_indices(n, 1)


def _unique_rows(scale: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (scale, shift) hypotheses in lexicographic order, as np.unique(axis=0) gives them
    (which took a quarter of a pair's check)."""
    order = np.lexsort((shift[:, 1], shift[:, 0], scale))
    scale, shift = scale[order], shift[order]
    new = np.ones(len(scale), bool)
    new[1:] = (scale[1:] != scale[:-1]) | (shift[1:] != shift[:-1]).any(1)
    return scale[new], shift[new]


def share_inside(a: np.ndarray, b: np.ndarray) -> float:
    """Share (0..1) of A's cells that the best scale+shift of A's patches onto B's puts inside B's grid, for two
    photos whose patches line up (0 where no transform is found at all): 1 for a crop or a downscale of B,
    about half for the frame beside B in a panorama."""
    transform = match_patches(a, b).transform
    if transform is None:
        return 0.0
    scale, dx, dy = transform
    placed = scale * _CELLS + (dx, dy)
    return float(((placed >= -0.5) & (placed <= GRID - 0.5)).all(1).mean())


def geometric_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share (0..1) of A's patches whose match in B fits the best scale+shift."""
    return len(match_patches(a, b).agreeing) / len(a)


@dataclass
class Seen:
    """One content's unit tokens as the model was shown it: as framed (framing.photo_inside), turned or mirrored
    where a turn was worth embedding (orientation.py; for most photos: none), and its backdrop view where it has
    one (framing.views_inside; for most photos: none)."""
    tokens: np.ndarray
    turned: Sequence[np.ndarray] = ()
    backdrop: np.ndarray | None = None
    subject: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # the photo as trimmed, in the backdrop view

    def framings(self) -> list[tuple[bool, np.ndarray]]:
        """(backdrop view?, tokens) of each framing: the photo as trimmed first."""
        return [(False, self.tokens)] + ([] if self.backdrop is None else [(True, self.backdrop)])

    def subject_cells(self) -> np.ndarray:
        """[GRID, GRID] bool: the cells of the backdrop view that hold the photo as trimmed, by their centres."""
        centres = (np.arange(GRID) + 0.5) / GRID
        left, top, right, bottom = self.subject
        return ((centres >= top) & (centres <= bottom))[:, None] & ((centres >= left) & (centres <= right))[None]


def _agreeing_on_subjects(matches: PatchMatches, a: Seen, b: Seen, a_backdrop: bool, b_backdrop: bool) -> int:
    """How many agreeing cells count where a backdrop view takes part. Beside a picture shown as trimmed, all of
    them: a copy's photo as trimmed is often another box than its original's, or the whole copy (a watermark on
    the backdrop leaves nothing to trim), and that is why the backdrop is kept. Between two backdrop views, those
    in the photo as trimmed of either. None unless the photo as trimmed in the backdrop view(s) lines up itself
    (SUBJECT_LINED_UP of its cells): a plain backdrop lines up with a plain backdrop cell for cell, and a blank
    page or one with a small other subject, shown whole, lined up 0.17-0.28 with a logo's page on it (0-12 % of
    the logo's cells agreeing; its copies 14-75 %)."""
    if matches.transform is None or len(matches.agreeing) == 0:
        return 0
    scale, dx, dy = matches.transform
    in_b = np.clip(np.rint(scale * _CELLS[matches.agreeing] + (dx, dy)).astype(np.int64), 0, GRID - 1)
    a_x, a_y = _CELLS[matches.agreeing].astype(np.int64).T
    a_cells, b_cells = a.subject_cells(), b.subject_cells()
    on_a = a_cells[a_y, a_x] & a_backdrop
    on_b = b_cells[in_b[:, 1], in_b[:, 0]] & b_backdrop
    subject = np.mean([cells.sum() for cells, kept in ((a_cells, a_backdrop), (b_cells, b_backdrop)) if kept])
    if (on_a | on_b).sum() < SUBJECT_LINED_UP * subject:
        return 0
    return int((on_a | on_b).sum()) if a_backdrop and b_backdrop else len(matches.agreeing)


def best_agreement(a: Seen, b: Seen, sketches: SketchPair | None = None) -> float:
    """The agreement of A and B in the framings that line up best (each as trimmed, or either with its backdrop
    kept), or with either one turned or mirrored (orientation.py): the largest. Where a backdrop view takes part,
    the photo as trimmed in it must line up itself, and between two backdrop views only their photos' cells
    count (_agreeing_on_subjects): two different dark photos in the same black bars, both kept as backdrop,
    lined up 0.13 on the bars alone.
    A turn counts from TURNED_AGREEMENT up: the best of several tries at the noise floor of two textures
    (grass and gravel agree 0.05-0.08 any way up) would otherwise pass for a copy.
    `sketches(a_backdrop, b_backdrop)`: A's and B's sketches (media/sketch.py) in those framings, asked for only
    when the two line up as they are well enough to be called one photo; if those show two moments of one scene
    (moments.py), the patches that line up say nothing: ANOTHER_MOMENT is returned, evidence that the two are
    different photos; if the agreement is faint and the pixels do not bear it out (or cannot be read), the
    agreement negated: below every threshold, no near pair, no edge of a group, 0 in a group's mean; stored below
    0, like a veto, it is judged again by a new moment rule."""
    tried = {(a_framing, b_framing): match_patches(a_tokens, b_tokens)
             for a_framing, a_tokens in a.framings() for b_framing, b_tokens in b.framings()}
    counts = {framing: len(matches.agreeing) if framing == (False, False) else
              _agreeing_on_subjects(matches, a, b, *framing) for framing, matches in tried.items()}
    framing = max(counts, key=counts.get)  # on a tie, the photos as trimmed
    matches = tried[framing]
    found = counts[framing] / len(a.tokens)
    turned = [value for value in [geometric_agreement(t, b.tokens) for t in a.turned] +
              [geometric_agreement(a.tokens, t) for t in b.turned] if value >= TURNED_AGREEMENT]
    if found >= MOMENT_CHECK_FROM and found >= max(turned, default=0.0) and sketches is not None:
        verdict = pixel_verdict(sketches(*framing), matches.transform, found)
        if verdict is not PixelVerdict.SAME:
            return ANOTHER_MOMENT if verdict is PixelVerdict.ANOTHER_MOMENT else -found
    return max([found] + turned)


def best_cosine(a: np.ndarray, b: np.ndarray, a_turned: list[np.ndarray] = (),
                b_turned: list[np.ndarray] = ()) -> float:
    """The cosine of A's and B's global vectors as they are, or with either one's turned vectors: the largest
    (what best_agreement is to tokens)."""
    return max([float(a @ b)] + [float(t @ b) for t in a_turned] + [float(a @ t) for t in b_turned])


def _fitted(a: np.ndarray, b: np.ndarray, matches: PatchMatches) -> tuple[float, float, float]:
    """The scale+shift that best fits every agreeing match (least squares): RANSAC's pick rests on two matches
    alone, and off by a cell it shades a plain crop's inside as changed."""
    agreeing = matches.agreeing
    if len(agreeing) < 4:
        return matches.transform
    pa, pb = _CELLS[agreeing].astype(np.float64), _CELLS[(a[agreeing] @ b.T).argmax(1)].astype(np.float64)
    centred_a, centred_b = pa - pa.mean(0), pb - pb.mean(0)
    spread = (centred_a ** 2).sum()
    if spread == 0:
        return matches.transform
    scale = float((centred_a * centred_b).sum() / spread)
    dx, dy = pb.mean(0) - scale * pa.mean(0)
    return scale, float(dx), float(dy)


def difference_grid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where photo A differs from B, on A's 16x16 grid, once aligned by the best scale+shift: SAME where B holds
    the same content at the matching place (or a cell beside it: a scaled copy's cells fall between B's),
    CHANGED where it holds something else, CUT_AWAY where the place is outside B (cropped away); 0 everywhere
    when the two cannot be aligned at all."""
    matches = match_patches(a, b)
    if matches.transform is None:
        return np.zeros((GRID, GRID), np.int8)
    scale, dx, dy = _fitted(a, b, matches)
    target = np.rint(scale * _CELLS + (dx, dy)).astype(np.int64)  # (x, y) of each A cell in B's grid
    inside = ((target >= 0) & (target < GRID)).all(1)
    best = np.full(len(a), -1.0, np.float32)
    for step_x in (-1, 0, 1):
        for step_y in (-1, 0, 1):
            near = np.clip(target + (step_x, step_y), 0, GRID - 1)
            best = np.maximum(best, (a * b[near[:, 1] * GRID + near[:, 0]]).sum(1))
    grid = np.where(inside, np.where(best >= SAME_CONTENT, SAME, CHANGED), CUT_AWAY).reshape(GRID, GRID)
    return _without_specks(grid).astype(np.int8)


def _without_specks(grid: np.ndarray) -> np.ndarray:
    """A changed cell with fewer than two changed neighbours (of eight) is a token's noise, not a change: an
    edit (a sticker, a moved person, a caption) changes a patch of cells together, while a plain crop or
    rescale leaves single cells scattered below the threshold all over the photo."""
    changed = np.pad(grid == CHANGED, 1)
    neighbours = sum(changed[1 + dy:GRID + 1 + dy, 1 + dx:GRID + 1 + dx]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)
    return np.where((grid == CHANGED) & (neighbours < 2), SAME, grid)
