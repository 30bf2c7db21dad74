"""Copies turned by 90/180/270 degrees or mirrored, with no EXIF tag to say so.

The model's tokens change when a picture is turned, so a turned copy neither lines up with its original
nor lands near it in the index. A cheap signature proposes the turn: the lowest 8x8 DCT coefficients of a
32x32 grey copy, which a turn or mirror only permutes and flips in sign, so each photo's signature can be
turned seven ways for free and compared with every stored one. Each photo has two: of the photo inside its
framing, and of the whole picture, since a turned copy's framing is not always its original's turned (bands
are peeled from rows only: specks above a drawing on a flat backdrop are peeled, turned they are columns and
stay). Only a proposal costs a model run: the new picture is turned, framed again and embedded, and its tokens
are kept for the patch check. Signatures alike as they are propose a patch check too (see ALIKE): grey, they
hold what a colour edit leaves alone.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

SIDE = 32
BAND = 8  # coefficients per axis kept: 63 without the mean
MATCH = 0.95  # cosine of two signatures above which a turn is worth a model run (turned copies: 5 % below 0.967)
MARGIN = 0.05  # ... and by which it must beat the photos as they are (a symmetric picture matches itself)
# ... or at least match them, from NEAR_EXACT, for a picture nearly symmetric at low frequencies (a landscape
# mirrored: 1.0 turned, 0.98 as it is): turn_check.turns_worth_trying then asks whether the patches line up as
# they are. Below it, such proposals were between different photos (symmetric landscapes, 0.95-0.983: 38 on seed
# 227's 534 files, costing 8 model runs there), above it between copies of one photo (0.989-0.998)
NEAR_EXACT = 0.985
PROPOSALS = 3  # at most this many photos per turn of a new photo
FRAMED, WHOLE = 0, 1  # a photo's signatures [2, 63]: of the photo inside its framing, of the whole picture
# Signatures alike as they are propose a copy the global vectors miss: a black-and-white copy's nearest
# neighbours in the index are other grey pictures, not its colour original (its cosine to it: 0.72-0.87).
# On benchmarks/accuracy.py seeds 71, 89 and 97, the pairs at 0.95 or more that the index search did not
# propose were 29, 17 and 17, every one a copy and its original or another copy of it.
ALIKE = 0.95
ALIKE_PER_PHOTO = 8  # the closest ones, at most: a folder of scanned pages is alike in grey throughout


class Turn(NamedTuple):
    """One of the seven turns and mirrors, as array steps: swap the axes, then reverse rows, then columns."""
    transpose: bool
    flip_rows: bool
    flip_cols: bool


TURNS = [Turn(*(bool(n >> k & 1) for k in (2, 1, 0))) for n in range(1, 8)]  # index + 1 is what is stored
_ROW_FREQ, _COL_FREQ = np.meshgrid(np.arange(BAND), np.arange(BAND), indexing="ij")
_KEPT = (_ROW_FREQ + _COL_FREQ) > 0
# reversing an axis flips the sign of the odd frequencies along it (float32: an int sign would make every
# product float64, and the known signatures would be copied to float64 for each comparison)
_ROW_SIGNS = np.where(_ROW_FREQ % 2 == 1, -1, 1).astype(np.float32)
_COL_SIGNS = np.where(_COL_FREQ % 2 == 1, -1, 1).astype(np.float32)


def signature(picture: Image.Image) -> np.ndarray:
    """[63] float32 unit vector: the low frequencies of the picture in grey."""
    from scipy.fft import dctn

    grey = np.asarray(picture.convert("L").resize((SIDE, SIDE), Image.BILINEAR), np.float32)
    coefficients = dctn(grey, type=2, norm="ortho")[:BAND, :BAND]
    kept = coefficients[_KEPT]
    return (kept / max(float(np.linalg.norm(kept)), 1e-6)).astype(np.float32)


def signatures(content: Image.Image, picture: Image.Image) -> np.ndarray:
    """[2, 63]: the signatures of the photo inside its framing (`content`) and of the whole `picture`."""
    return np.stack([signature(content), signature(picture)])


def turned_signatures(signatures: np.ndarray) -> np.ndarray:
    """[7, N, 63]: each signature as the same photo turned by each of TURNS would have it."""
    square = np.zeros((len(signatures), BAND, BAND), np.float32)
    square[:, _KEPT] = signatures
    turned = []
    for turn in TURNS:
        c = square.transpose(0, 2, 1) if turn.transpose else square
        c = c * _ROW_SIGNS if turn.flip_rows else c
        c = c * _COL_SIGNS if turn.flip_cols else c
        turned.append(c[:, _KEPT])
    return np.stack(turned)


def turn_picture(picture: Image.Image, turn: Turn) -> Image.Image:
    """The picture turned so (the steps of `turn`, in its order)."""
    if turn.transpose:
        picture = picture.transpose(Image.Transpose.TRANSPOSE)
    if turn.flip_rows:
        picture = picture.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if turn.flip_cols:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return picture


class Proposal(NamedTuple):
    row: int  # in `new`
    column: int  # in `known`
    turn: int  # 1..7 (TURNS[turn - 1])
    clear: bool  # the turned signatures beat them as they are by MARGIN


def proposals(new: np.ndarray, known: np.ndarray) -> list[Proposal]:
    """Where the new photo, turned, looks like a known one clearly more than it does as it is, or nearly exactly and
    at least as much, framed or whole.
    `new` [B, 2, 63], `known` [N, 2, 63] signatures (a new photo may also be in `known`)."""
    if len(new) == 0 or len(known) == 0:
        return []
    by_run: dict[tuple[int, int], dict[int, tuple[float, bool]]] = {}
    for kind in (FRAMED, WHOLE):
        # the photos as they are and turned seven ways, against every known one in one product
        ours = new[:, kind]
        scores = np.concatenate([ours[None], turned_signatures(ours)]).reshape(-1, ours.shape[1]) @ known[:, kind].T
        scores = scores.reshape(len(TURNS) + 1, len(new), len(known))
        for turn, row, column in np.argwhere(scores[1:] >= MATCH).tolist():
            score, as_they_are = float(scores[turn + 1, row, column]), float(scores[0, row, column])
            if score >= as_they_are + MARGIN or (score >= as_they_are and score >= NEAR_EXACT):
                found = by_run.setdefault((row, turn + 1), {})
                before = found.get(column, (score, False))
                found[column] = (max(score, before[0]), before[1] or score >= as_they_are + MARGIN)
    # the clear ones first: the others may yet be dropped (turn_check.turns_worth_trying)
    return [Proposal(row, column, turn, found[column][1]) for (row, turn), found in sorted(by_run.items())
            for column in sorted(found, key=lambda c: (not found[c][1], -found[c][0], c))[:PROPOSALS]]


def alike_as_they_are(new: np.ndarray, known: np.ndarray, own: np.ndarray) -> list[tuple[int, int]]:
    """(row in `new`, row in `known`) of the known photos (ALIKE_PER_PHOTO closest at most) whose framed signatures
    are ALIKE with a new one's as they are; `own`: each new photo's row in `known` (-1: none), never its own match."""
    if len(new) == 0 or len(known) == 0:
        return []
    scores = new[:, FRAMED] @ known[:, FRAMED].T
    scores[np.flatnonzero(own >= 0), own[own >= 0]] = -np.inf
    rows, columns = np.nonzero(scores >= ALIKE)
    order = np.lexsort((columns, -scores[rows, columns], rows))  # each row's, the closest first
    rows, columns = rows[order], columns[order]
    closest = np.arange(len(rows)) - np.searchsorted(rows, rows) < ALIKE_PER_PHOTO
    return list(zip(rows[closest].tolist(), columns[closest].tolist()))
