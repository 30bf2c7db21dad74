"""The photo inside its framing: what the model is shown, so that a copy and its original line up.

A copy often carries framing its original lacks, and different photos often share one (a phone's
screenshot chrome, a shared mat and caption, the black corners of a tilted repost). Framing that the
model sees makes copies look different and different photos look alike, so it is taken off first:
- flat bars at the edges (letterbox, mat) are trimmed;
- thin bands of rows cut off from the rest by a flat run (status bar, toolbar, caption, navigation
  bar) are peeled off, two at most at the top and two at the bottom, and never much of the picture;
- a photo turned by a few degrees inside flat corner wedges is turned back and cut to its inside.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

FRAMING = "framing-2"  # part of the model identity: change it with anything below that changes what is embedded
ANALYSIS_SIDE = 256  # framing is found on a small grey copy; boxes are scaled back
FLAT_SPREAD = 8  # grey levels around a row's median that still count as "the same colour"
FLAT_SHARE = 0.98  # a row (or column) this much one colour is flat: a thin line or a speck of text allowed
BAND_MAX = 0.15  # a band thicker than this share of the picture is content, not chrome
BANDS_PER_SIDE = 2  # status bar and toolbar; action bar and navigation bar
SEPARATOR_MIN = 0.01  # a flat run this long (share of the side) cuts a band off
WEDGE_MIN = 0.04  # a corner wedge's legs are at least this share of the sides
MIN_TILT, MAX_TILT = 1.5, 45.0  # degrees: below, a crop to the inside is all it takes


def content_box(picture: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the photo inside flat bars and thin chrome bands; the whole picture if
    what is left would be a speck."""
    grey, scale = _analysis_grey(picture)
    top, bottom, left, right = _peel(grey)
    height, width = bottom - top, right - left
    if height * width < 0.05 * grey.size or min(height, width) < 8:
        return 0, 0, picture.width, picture.height
    box = (round(left * scale[0]), round(top * scale[1]), round(right * scale[0]), round(bottom * scale[1]))
    return (max(0, box[0]), max(0, box[1]), min(picture.width, box[2]), min(picture.height, box[3]))


def photo_inside(picture: Image.Image, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The picture without its framing (see the module's notes), turned upright if it was tilted; `box`:
    its content_box, when the caller has it already."""
    box = box or content_box(picture)
    content = picture if box == (0, 0, picture.width, picture.height) else picture.crop(box)
    return straightened(content)


def _analysis_grey(picture: Image.Image) -> tuple[np.ndarray, tuple[float, float]]:
    small = picture.convert("L")
    if max(small.size) > ANALYSIS_SIDE:
        factor = ANALYSIS_SIDE / max(small.size)
        small = small.resize((max(1, round(small.width * factor)), max(1, round(small.height * factor))),
                             Image.BILINEAR)
    grey = np.asarray(small, np.int16)
    return grey, (picture.width / grey.shape[1], picture.height / grey.shape[0])


def _flat_lines(grey: np.ndarray) -> np.ndarray:
    """For each row of `grey`: is it (nearly all) one colour?"""
    median = np.median(grey, axis=1, keepdims=True)
    return (np.abs(grey - median) <= FLAT_SPREAD).mean(axis=1) >= FLAT_SHARE


def _peel(grey: np.ndarray) -> tuple[int, int, int, int]:
    """top, bottom, left, right of what is left once flat edges are trimmed and thin bands peeled off."""
    top, bottom, left, right = 0, grey.shape[0], 0, grey.shape[1]
    # chrome comes in rows (status, tool, caption and navigation bars); a photo's own flat columns (a
    # studio backdrop, an illustration's plain side) would be peeled as readily, so columns are only trimmed
    peeled = {"top": 0, "bottom": 0, "left": BANDS_PER_SIDE, "right": BANDS_PER_SIDE}
    changed = True
    while changed and bottom - top > 8 and right - left > 8:
        changed = False
        region = grey[top:bottom, left:right]
        rows, cols = _flat_lines(region), _flat_lines(region.T)
        new_top, new_bottom = _trim_and_peel(rows, grey.shape[0], peeled, "top", "bottom")
        new_left, new_right = _trim_and_peel(cols, grey.shape[1], peeled, "left", "right")
        if (new_top, new_bottom, new_left, new_right) != (0, len(rows), 0, len(cols)):
            top, bottom = top + new_top, top + new_bottom
            left, right = left + new_left, left + new_right
            changed = True
    return top, bottom, left, right


def _trim_and_peel(flat: np.ndarray, side: int, peeled: dict[str, int], start: str, end: str) -> tuple[int, int]:
    """The span of `flat` (one entry a line) left after flat edges go and, at each end, at most one thin
    band cut off by a flat run; `peeled` counts the bands taken from each side of the whole picture."""
    content = np.nonzero(~flat)[0]
    if len(content) == 0:
        return 0, len(flat)
    first, last = int(content[0]), int(content[-1]) + 1
    if peeled[start] < BANDS_PER_SIDE:
        cut = _band_end(flat[first:last], side)
        if cut is not None:
            first += cut
            peeled[start] += 1
    if peeled[end] < BANDS_PER_SIDE:
        cut = _band_end(flat[first:last][::-1], side)
        if cut is not None:
            last -= cut
            peeled[end] += 1
    return first, last


def _band_end(flat: np.ndarray, side: int) -> int | None:
    """Where the content after a thin leading band starts (the band and its flat separator skipped), or None
    when `flat` does not start with a band: content thicker than BAND_MAX, or no separator long enough."""
    limit = int(BAND_MAX * side)
    run_needed = max(2, int(SEPARATOR_MIN * side))
    run = 0
    for n in range(min(len(flat), limit + run_needed)):
        if flat[n]:
            run += 1
            if run >= run_needed and n + 1 - run > 0:
                rest = flat[n + 1:]
                following = np.nonzero(~rest)[0]
                band = n + 1 - run
                if len(following) == 0 or len(rest) - following[0] < max(2 * band, BAND_MAX * side):
                    return None  # the band would be much of what is left
                return n + 1 + int(following[0])
        else:
            if n >= limit:
                return None
            run = 0
    return None


def straightened(picture: Image.Image) -> Image.Image:
    """A photo turned by MIN_TILT..MAX_TILT degrees inside flat corner wedges (a tilted repost, a
    straightened scan), turned back and cut to the largest upright box of photo; else the picture itself."""
    if not _corners_alike(picture):  # nearly every photo: no wedges, nothing more to look at
        return picture
    grey, scale = _analysis_grey(picture)
    found = _wedges(grey)
    if found is None:
        return picture
    tilt, wedges = found
    turned = picture.rotate(-tilt, resample=Image.BICUBIC, expand=False)
    outside = Image.fromarray((wedges * 255).astype(np.uint8)).rotate(-tilt, resample=Image.NEAREST, fillcolor=255)
    box = _inner_box(np.asarray(outside) == 0)
    if box is None:
        return picture
    left, top, right, bottom = box
    return turned.crop((round(left * scale[0]), round(top * scale[1]), round(right * scale[0]),
                        round(bottom * scale[1])))


def _corners_alike(picture: Image.Image) -> bool:
    """Are the four corner pixels one grey level, give or take FLAT_SPREAD?"""
    right, bottom = picture.width - 1, picture.height - 1
    levels = [sum(picture.getpixel(xy)[:3]) / 3 if picture.mode != "L" else picture.getpixel(xy)
              for xy in ((0, 0), (right, 0), (0, bottom), (right, bottom))]
    return max(levels) - min(levels) <= FLAT_SPREAD


def _corner_colour_mask(grey: np.ndarray) -> np.ndarray:
    """Pixels of the flat colour of the four corners that are connected to a corner."""
    from scipy import ndimage

    colour = np.median([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]])
    regions, _ = ndimage.label(np.abs(grey - colour) <= FLAT_SPREAD)
    touching = {regions[0, 0], regions[0, -1], regions[-1, 0], regions[-1, -1]} - {0}
    return np.isin(regions, list(touching))


CORNERS = ((False, False), (True, False), (False, True), (True, True))  # flip x, flip y: each corner seen as top left


def _as_top_left(mask: np.ndarray, flip_x: bool, flip_y: bool) -> np.ndarray:
    mask = mask[::-1] if flip_y else mask
    return mask[:, ::-1] if flip_x else mask


def _wedge_legs(corner: np.ndarray) -> tuple[int, int] | None:
    """(along the top, down the side) of a right-triangle wedge in the top left of `corner`, or None."""
    height, width = corner.shape
    along_top = int(np.argmin(corner[0])) if not corner[0].all() else width
    along_side = int(np.argmin(corner[:, 0])) if not corner[:, 0].all() else height
    if not (WEDGE_MIN * width <= along_top <= 0.9 * width and WEDGE_MIN * height <= along_side <= 0.9 * height):
        return None
    # a wedge is a triangle: it fills the half of the box its legs span below its long side, little else
    box = corner[:along_side, :along_top]
    y, x = np.mgrid[:along_side, :along_top]
    inside = x / along_top + y / along_side < 1
    return (along_top, along_side) if box[inside].mean() >= 0.85 and box[~inside].mean() <= 0.15 else None


def _wedges(grey: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The tilt in degrees (counter-clockwise) and the mask of the four wedges, when the corners hold
    right-triangle wedges of one flat colour whose long sides agree on one angle; None otherwise. A turned
    rectangle's opposite wedges are alike, so a corner whose wedge runs into the photo's own dark edge is
    drawn as its opposite's (two opposite corners must be found)."""
    if np.ptp(np.array([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]], np.int16)) > FLAT_SPREAD:
        return None
    mask = _corner_colour_mask(grey)
    legs = [_wedge_legs(_as_top_left(mask, *flips)) for flips in CORNERS]
    if any(leg is None and legs[3 - n] is None for n, leg in enumerate(legs)):
        return None
    legs = [leg if leg is not None else legs[3 - n] for n, leg in enumerate(legs)]
    angles = [_fold(math.degrees(math.atan2(side, top)) * (-1 if flip_x != flip_y else 1))
              for (top, side), (flip_x, flip_y) in zip(legs, CORNERS)]
    tilt = float(np.mean(angles))
    if np.ptp(angles) > 3.0 or not MIN_TILT <= abs(tilt) <= MAX_TILT:
        return None
    height, width = grey.shape
    y, x = np.mgrid[:height, :width]
    wedges = np.zeros(grey.shape, bool)
    for (top, side), (flip_x, flip_y) in zip(legs, CORNERS):
        wedges |= (width - 1 - x if flip_x else x) / top + (height - 1 - y if flip_y else y) / side < 1
    return tilt, wedges


def _fold(angle: float) -> float:
    """An edge's angle as the smallest turn that makes it horizontal or vertical: -45..45 degrees."""
    return (angle + 45.0) % 90.0 - 45.0


def _inner_box(valid: np.ndarray) -> tuple[int, int, int, int] | None:
    """The biggest upright box of valid pixels, shrunk from the valid pixels' bounds one edge at a time."""
    rows, cols = np.nonzero(valid.any(1))[0], np.nonzero(valid.any(0))[0]
    if len(rows) == 0:
        return None
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    while bottom - top > 8 and right - left > 8:
        edges = {"top": 1 - valid[top, left:right].mean(), "bottom": 1 - valid[bottom - 1, left:right].mean(),
                 "left": 1 - valid[top:bottom, left].mean(), "right": 1 - valid[top:bottom, right - 1].mean()}
        worst = max(edges, key=edges.get)
        if edges[worst] <= 0.01:
            return left, top, right, bottom
        if worst == "top":
            top += 1
        elif worst == "bottom":
            bottom -= 1
        elif worst == "left":
            left += 1
        else:
            right -= 1
    return None
