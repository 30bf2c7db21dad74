"""How the picture of one clip sits in another's, over the whole clip: as it is, or a part of it (a crop, scaled
to fill the frame or cut to another shape) that stays put. Used by the clip rule (clips.py) on the grey
thumbnails of frames that show one moment.

Another take of a scene can look like a crop of the first at every moment, and at 32 pixels a side even like one
crop for the whole clip; but its camera goes its own way, so the part of the other clip it shows moves: nudged
to fit each frame best, the part sits elsewhere over the second half of the clip than over the first. A copy's
part stays where it is (STEADY).

A part is a box (left, top, width, height as shares of the outer picture's sides) of the inner picture's shape:
a 16:9 clip cut to 4:3 shows a box three quarters as wide as high, a zoom to fill one as wide as high. It is
found by a coarse search over sizes and places, then refined. Two pictures are compared cell by cell, each
scaled to a median of 0 and a robust spread of 1, and a cell's squared difference counts up to CELL_TOLERANCE
only: a watermark, a caption or a logo over a copy spoils its own cells, not the fit.

Chosen on benchmarks/video.py's seeds 3, 5, 7 and 9 (9: random crops and 4:3 cuts), where FRAME_FITS 0.55 lets
one other take in and 0.65 leaves a few copies out; seed 11 was built afterwards to check them.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from simgui.core.storage.store import THUMB_SIDE

CELLS = 16  # a side's cells, compared
COARSE_CELLS = 8  # ... in the coarse search
CELL_TOLERANCE = 0.5  # robust spreads: a cell differing by more counts as differing, whatever by
FRAME_FITS = 0.6  # a frame's score (1: every cell alike, 0: none) that shows the same picture
STEADY = 0.025  # a copy's part of the other moves less than this (shares of a side) from one half to the other
SMALLEST_PART = 0.45  # a crop is at least this share of the largest box of its shape (each side)
THINNEST_PART = 0.3  # ... whose shorter side is at least this share (a 9:16 cut of a 16:9 clip: 0.32)
_REFINE_STEP = 0.04
_REFINE_ROUNDS = 5


class Framing:
    """One way the frames of `inner` may show (a part of) the frames of `outer`: pair k shows one moment, or
    rather one of the long clip's two frames k does (frames of two encodes fall at moments apart), the one that
    fits better in this framing. As the camera moves between those moments, each frame may sit a little off the
    framing (JITTER); the drift says whether it wanders off over the clip."""

    def __init__(self, inner: np.ndarray, outer: np.ndarray, box: np.ndarray):
        """inner [K, n, 32, 32] and outer [K, m, 32, 32] floats, the choices for each pair (n or m is 1)."""
        self.box = box
        choices = [(i, o) for i in range(inner.shape[1]) for o in range(outer.shape[1])]
        jittered = _nudged(box, _JITTER)
        inner_cells = [_inner_cells(inner[:, i]) for i in range(inner.shape[1])]
        scores = np.stack([_scores(inner_cells[i], outer[:, o], jittered).max(axis=0)
                           for i, o in choices])  # [choice, K]
        picked = np.array(choices)[scores.argmax(axis=0)]
        pairs = np.arange(len(inner))
        self.scores = scores.max(axis=0)  # per frame pair, 0..1
        self.inner, self.outer = inner[pairs, picked[:, 0]], outer[pairs, picked[:, 1]]

    def fitting(self, needed: float) -> int:
        """How many frame pairs show the same picture, framed this way; 0 if the part does not hold still. The
        steadiness (the costly part) is looked at only when `needed` pairs fit."""
        fits = self.scores >= FRAME_FITS
        if fits.sum() < needed or self.drift(fits) > STEADY:
            return 0
        return int(fits.sum())

    def drift(self, fits: np.ndarray) -> float:
        """How far the part moves from the first half of the frames that fit to the second (0 for under 4: too
        few to tell): each frame's own best nudge of the part (a shift, a zoom), averaged over each half."""
        inner, outer = self.inner[fits], self.outer[fits]
        half = len(inner) // 2
        if half < 2:
            return 0.0
        nudges = _NUDGES[_scores(_inner_cells(inner), outer, _nudged(self.box, _NUDGES)).argmax(axis=0)]  # [frames, 3]
        return float(np.abs(nudges[:half].mean(axis=0) - nudges[-half:].mean(axis=0)).max())


def framings(a: np.ndarray, b: np.ndarray, a_aspect: float, b_aspect: float) -> Iterator[Framing]:
    """The framings worth asking about for a short clip's thumbnails ([K, 32, 32] u8) and, for each, two
    thumbnails of the long clip about its moment ([K, 2, 32, 32]), the cheapest first: as they are; the part of
    b that a shows best; the part of a that b shows best. A part has the shape of the picture that shows it
    (the aspects: width / height of each clip's picture), as a crop is not stretched."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    yield Framing(a[:, None], b, _WHOLE)
    if min(a_aspect, b_aspect) <= 0:  # a picture of no width: no part of the other has its shape
        return
    for inner, outer, shape, as_parts in ((a, b[:, 0], b_aspect / a_aspect, (a[:, None], b)),
                                          (b[:, 0], a, a_aspect / b_aspect, (b, a[:, None]))):
        box = _search(inner, outer, shape)
        if box is not None:
            yield Framing(*as_parts, box)


def _search(inner: np.ndarray, outer: np.ndarray, shape: float) -> np.ndarray | None:
    """The box of `outer` that `inner` shows best, over all frames; its height is `shape` times its width (as
    shares of the outer's sides). None if the largest box of that shape is too thin to be a crop."""
    largest = np.array([min(1.0, 1.0 / shape), min(1.0, shape)], np.float32)  # its width and height
    if largest.min() < THINNEST_PART:
        return None
    boxes = np.array([(left, top, *(size * largest)) for size in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
                      for left in np.linspace(0, 1 - size * largest[0], 5 if size * largest[0] < 1 else 1)
                      for top in np.linspace(0, 1 - size * largest[1], 5 if size * largest[1] < 1 else 1)],
                     np.float32)
    coarse = _pearson(_standard(_cells(inner, COARSE_CELLS)), _sampled(outer, boxes, COARSE_CELLS))
    box = boxes[coarse.mean(axis=1).argmax()]
    inner_cells = _inner_cells(inner)
    step = _REFINE_STEP
    for _ in range(_REFINE_ROUNDS):
        left, top, size = (np.array([box[0], box[1], box[2] / largest[0]]) + step * _STEPS).T
        width, height = np.outer(np.clip(size, SMALLEST_PART, 1.0), largest).T
        candidates = np.stack([np.clip(left, 0, 1 - width), np.clip(top, 0, 1 - height), width, height],
                              axis=1).astype(np.float32)
        box = candidates[_scores(inner_cells, outer, candidates).mean(axis=1).argmax()]
        step /= 2
    return box


def _nudged(box: np.ndarray, nudges: np.ndarray) -> np.ndarray:
    """The box moved and zoomed by each nudge (it may reach past the picture: its edge is repeated)."""
    x, y, w, h = box
    shift, zoom = nudges[:, :2], 1 + nudges[:, 2:]
    return np.concatenate([np.array([x + w / 2, y + h / 2]) + shift - np.array([w, h]) * zoom / 2,
                           np.array([w, h]) * zoom], axis=1).astype(np.float32)


def _inner_cells(inner: np.ndarray) -> np.ndarray:
    """The cells `_scores` compares of the inner thumbnails: made once for all the boxes tried against them."""
    return _robust(_cells(inner, CELLS))


def _scores(inner_cells: np.ndarray, outer: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[boxes, frames]: the share of cells alike (robustly: a differing cell costs at most CELL_TOLERANCE)."""
    differences = (_robust(_sampled(outer, boxes, CELLS)) - inner_cells[None]) ** 2
    return 1 - np.minimum(differences, CELL_TOLERANCE ** 2).mean(axis=-1) / CELL_TOLERANCE ** 2


def _cells(thumbs: np.ndarray, side: int) -> np.ndarray:
    """[K, side * side]: each thumbnail's mean over side x side cells."""
    k, factor = len(thumbs), THUMB_SIDE // side
    return thumbs.reshape(k, side, factor, side, factor).mean(axis=(2, 4)).reshape(k, side * side)


def _sampled(thumbs: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """[boxes, K, side * side]: each box of each thumbnail, sampled (bilinear) at side x side cell centres."""
    across = _interpolation(boxes[:, 0], boxes[:, 2], side)  # [boxes, side, 32]
    down = _interpolation(boxes[:, 1], boxes[:, 3], side)
    picked = down[:, None] @ thumbs[None] @ across.transpose(0, 2, 1)[:, None]  # [boxes, K, side, side]
    return picked.reshape(len(boxes), len(thumbs), side * side)


def _interpolation(start: np.ndarray, width: np.ndarray, side: int) -> np.ndarray:
    """[boxes, side, 32]: the weights that sample [start, start + width] of a thumbnail's side at side centres."""
    at = (start[:, None] + width[:, None] * (np.arange(side) + 0.5) / side) * THUMB_SIDE - 0.5
    at = np.clip(at, 0, THUMB_SIDE - 1)
    pixels = np.arange(THUMB_SIDE)
    return np.maximum(0.0, 1 - np.abs(at[..., None] - pixels)).astype(np.float32)


def _standard(cells: np.ndarray) -> np.ndarray:
    centred = cells - cells.mean(axis=-1, keepdims=True)
    return centred / np.maximum(centred.std(axis=-1, keepdims=True), 1e-3)


def _pearson(inner: np.ndarray, sampled: np.ndarray) -> np.ndarray:
    return (_standard(sampled) * inner[None]).mean(axis=-1)


def _robust(cells: np.ndarray) -> np.ndarray:
    """To a median of 0 and a spread (interquartile range / 1.349) of 1: a watermark moves neither much. The
    quartiles of every fourth cell serve (ranking all of them was half the time of comparing two clips)."""
    some = cells[..., ::4]
    n = some.shape[-1]
    low, middle, high = (n // 4, n // 2, 3 * n // 4)
    ranked = np.partition(some, (low, middle, high), axis=-1)
    spread = (ranked[..., high:high + 1] - ranked[..., low:low + 1]) / 1.349
    return (cells - ranked[..., middle:middle + 1]) / np.maximum(spread, 1e-3)


def _grid(*axes) -> np.ndarray:
    """[points, len(axes)]: every combination of the axes' values."""
    return np.array(np.meshgrid(*axes, indexing="ij"), np.float32).reshape(len(axes), -1).T


_NUDGES = _grid(*[np.linspace(-0.06, 0.06, 9)] * 2, (-0.06, 0.0, 0.06))  # shift across, down (shares of a side), zoom
_JITTER = _grid(*[(-0.015, 0.0, 0.015)] * 3)  # shift across, down, zoom
_WHOLE = np.array([0.0, 0.0, 1.0, 1.0], np.float32)
_STEPS = _grid(*[(-1, 0, 1)] * 3)  # left, top, size
