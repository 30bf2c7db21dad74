"""Whether two clip frames are framed alike: as they are (their dHashes are close), or one a fixed crop of the
other (a "zoom to fill", a re-frame in an editor). Used by the clip rule (clips.py), which asks that one framing
hold for a whole clip: another take of a scene can look like a crop of the first at one moment, but its camera
goes elsewhere, so no one crop fits all its frames.

A crop is tried at three zooms (0.9, 0.8, 0.7 of the side) in nine places, either way round (either clip may be
the cropped one), on grey thumbnails: a cell agrees when the two pictures, each scaled to a mean of 0 and a
spread of 1, differ there by less than CELL_AGREES; a crop fits when CROP_FITS of the cells agree (a watermark
or a caption over the copy leaves most cells agreeing). Chosen on benchmarks/video.py's seed 5.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

SAME_FRAMING = 14  # dHash bits (of 64) that may differ between two frames of one moment, framed as they are
CROP_ZOOMS = (0.9, 0.8, 0.7)
CROP_PLACES = (0.0, 0.5, 1.0)  # of the room the crop leaves, across and down
VIEW_SIDE = 16  # the cells compared
CELL_AGREES = 0.4
CROP_FITS = 0.85


def _standard(picture: Image.Image) -> np.ndarray:
    cells = np.asarray(picture.resize((VIEW_SIDE, VIEW_SIDE), Image.BILINEAR), np.float32).ravel()
    spread = cells.std()
    return (cells - cells.mean()) / spread if spread > 1e-6 else cells * 0


def framing_views(thumbs: np.ndarray) -> np.ndarray:
    """[F, 1 + crops, cells]: each frame's thumbnail whole, then each crop of it, standardised."""
    views = []
    for thumb in thumbs:
        picture = Image.fromarray(thumb)
        side = picture.width
        found = [_standard(picture)]
        for zoom in CROP_ZOOMS:
            room = side * (1 - zoom)
            found += [_standard(picture.resize(picture.size, Image.BILINEAR,
                                               box=(room * x, room * y, room * x + side * zoom, room * y + side * zoom)))
                      for y in CROP_PLACES for x in CROP_PLACES]
        views.append(np.stack(found))
    return np.stack(views)


def framings(hashes_a: np.ndarray, views_a: np.ndarray, hashes_b: np.ndarray, views_b: np.ndarray) -> np.ndarray:
    """[len(a), len(b), framings] bool: for each pair of frames, which framings fit them: as they are, a frame of
    `a` as each crop of `b`'s, a frame of `b` as each crop of `a`'s."""
    as_they_are = (_differing_bits(hashes_a, hashes_b) <= SAME_FRAMING)[..., None]
    a_in_b = (np.abs(views_b[None, :, 1:] - views_a[:, None, None, 0]) < CELL_AGREES).mean(-1) >= CROP_FITS
    b_in_a = (np.abs(views_a[:, None, 1:] - views_b[None, :, None, 0]) < CELL_AGREES).mean(-1) >= CROP_FITS
    return np.concatenate([as_they_are, a_in_b, b_in_a], axis=-1)


def _differing_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] Hamming distances of two lists of 64-bit hashes."""
    xor = (a[:, None] ^ b[None, :]).view(np.uint8).reshape(len(a), len(b), 8)
    return np.unpackbits(xor, axis=2).sum(axis=2)
