"""The photo inside its framing: what the model is shown, so that a copy and its original line up.

A copy often carries framing its original lacks, and different photos often share one (a phone's
screenshot chrome, a shared mat and caption, the black corners of a tilted repost). Framing that the
model sees makes copies look different and different photos look alike, so it is taken off first:
- flat bars at the edges (letterbox, mat) are trimmed;
- thin bands of rows cut off from the rest by a flat run (status bar, toolbar, caption, navigation
  bar) are peeled off, two at most at the top and two at the bottom, and never much of the picture;
- a photo turned by a few degrees inside a flat fill (corner wedges; black on two sides as well, where it was
  slid too) is turned back and cut to its inside.

What was trimmed as bars may be the picture's own backdrop instead: a colour that goes on around the subject (a
logo on white, a drawing on one colour). Trimmed, such a picture and its copies are cut to boxes that differ
(a watermark or a caption on the backdrop, a turn that makes rows columns), and line up like two unrelated
pictures. Kept, a dark photo in black bars (a night shot, a vignette, a star field) keeps its bars too, which
its original lacks. Nothing in the pixels tells the two apart, so where they differ a picture has both
framings: the photo as trimmed, and its backdrop view (framing_boxes, views_inside), and a pair is judged on the framings
that line up best (verify.py).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image

FRAMING = "framing-3-backdrop-1"  # part of the model identity: change it with anything below that changes what is embedded
ANALYSIS_SIDE = 256  # framing is found on a small grey copy; boxes are scaled back
FLAT_SPREAD = 8  # grey levels around a row's median that still count as "the same colour"
FLAT_SHARE = 0.98  # a row (or column) this much one colour is flat: a thin line or a speck of text allowed
BAND_MAX = 0.15  # a band thicker than this share of the picture is content, not chrome
BANDS_PER_SIDE = 2  # status bar and toolbar; action bar and navigation bar
SEPARATOR_MIN = 0.01  # a flat run this long (share of the side) cuts a band off
WEDGE_MIN = 0.04  # a corner wedge's legs are at least this share of the sides
MIN_TILT, MAX_TILT = 1.5, 45.0  # degrees: below, a crop to the inside is all it takes
# A copy slid and turned a few degrees in its own frame shows black on two sides and four thin, uneven wedges (no
# legs to read): its tilt is read from the lines where the fill meets the photo (_edges_tilt). The angle of the
# fullest lines (TILT_STEP apart, then a tenth of it) counts where they hold EDGE_SHARE of that border (each point
# weighed by how far the photo's colour beside it is from the fill's, to EDGE_CONTRAST: where a dark photo fades
# into the fill, the border wanders), the fill lies all round the rectangle the photo fills (FILL_AROUND) and that
# rectangle is photo (PHOTO_INSIDE), EDGE_GIVE pixels of the analysis copy given at its edges. Of accuracy seeds
# 239, 241 and 251's pictures with flat corners, the slid copies turned 1.5 degrees or more held 0.85-1.0 of their
# border on the lines, but where a dark photo fades into the fill (0.53-0.73: left as they were); every other
# picture 0.59 at the most (a logo on a white backdrop shaded grey, its bounding box at 38 degrees)
TILT_STEP = 0.5
COARSE_POINTS = 600
EDGE_SHARE = 0.8
EDGE_CONTRAST = 64
FILL_AROUND = 0.99
PHOTO_INSIDE = 0.95
EDGE_GIVE = 2
# A bar ends where the photo's rectangle starts: the edge line of what is left holds the photo's own colours.
# A backdrop goes on around the subject: that edge is still mostly its colour. Trimmed as bars, a logo on white
# was cut to the logo's box and its copies (turned, shifted, watermarked) to other boxes: 0.03-0.10 of their
# patches lined up, against 0.5 for its copies that kept the same box.
BACKDROP_SHARE = 0.5
EDGE_DEPTH = 2  # lines into the box where its edge is looked at
BACKDROP_MIN = 0.02  # of the side: a backdrop widens the box by this much at least
# rounds of widening at most: each takes every line it can on each side, and all 1,999 widenings of three
# accuracy seeds' pictures settled within 4 (a crafted staircase of flat steps could ask a round a line)
WIDENINGS = 8
Box = tuple[int, int, int, int]  # top, bottom, left, right, on the analysis copy


def content_box(picture: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the photo inside flat bars and thin chrome bands; the whole picture if
    what is left would be a speck."""
    grey, scale = _analysis_grey(picture)
    return _picture_box(picture, grey, scale, _peel(grey)[0])


def framing_boxes(picture: Image.Image) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int] | None]:
    """The content_box, and the box with the picture's backdrop kept where that is another box (else None)."""
    grey, scale = _analysis_grey(picture)
    peeled, reach = _peel(grey)
    content = _picture_box(picture, grey, scale, peeled)
    backdrop = _picture_box(picture, grey, scale, _with_backdrop(grey, peeled, reach))
    return content, (backdrop if backdrop != content else None)


def _picture_box(picture: Image.Image, grey: np.ndarray, scale: tuple[float, float], box: Box
                 ) -> tuple[int, int, int, int]:
    top, bottom, left, right = box
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


class Views(NamedTuple):
    """What the model is shown of a picture."""
    content: Image.Image  # the photo inside its framing (photo_inside)
    backdrop: Image.Image | None  # its backdrop view: the picture with its backdrop kept, where that is another box
    subject: tuple[float, float, float, float]  # where `content`'s box lies in the backdrop view's (shares of its sides)

    def shown(self, backdrop: bool) -> Image.Image:
        """The picture in one framing: its backdrop view, or the photo as trimmed."""
        return self.backdrop if backdrop else self.content


def views_inside(picture: Image.Image) -> Views:
    """The photo inside its framing, and its backdrop view where it has one (None for most photos)."""
    content, backdrop = framing_boxes(picture)
    if backdrop is None:
        return Views(photo_inside(picture, content), None, (0.0, 0.0, 1.0, 1.0))
    width, height = backdrop[2] - backdrop[0], backdrop[3] - backdrop[1]
    subject = ((content[0] - backdrop[0]) / width, (content[1] - backdrop[1]) / height,
               (content[2] - backdrop[0]) / width, (content[3] - backdrop[1]) / height)
    return Views(photo_inside(picture, content), photo_inside(picture, backdrop),
                 tuple(min(1.0, max(0.0, share)) for share in subject))


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


def _peel(grey: np.ndarray) -> tuple[Box, Box]:
    """(top, bottom, left, right) of what is left once flat edges are trimmed and thin bands peeled off, and how
    far out a backdrop may take it back: not over a peeled band's own lines (a toolbar's icons, a caption)."""
    top, bottom, left, right = 0, grey.shape[0], 0, grey.shape[1]
    reach = [0, grey.shape[0], 0, grey.shape[1]]
    # chrome comes in rows (status, tool, caption and navigation bars); a photo's own flat columns (a
    # studio backdrop, an illustration's plain side) would be peeled as readily, so columns are only trimmed
    peeled = {"top": 0, "bottom": 0, "left": BANDS_PER_SIDE, "right": BANDS_PER_SIDE}
    changed = True
    while changed and bottom - top > 8 and right - left > 8:
        changed = False
        region = grey[top:bottom, left:right]
        rows, cols = _flat_lines(region), _flat_lines(region.T)
        new_top, new_bottom, *bands = _trim_and_peel(rows, grey.shape[0], peeled, "top", "bottom")
        new_left, new_right, *side_bands = _trim_and_peel(cols, grey.shape[1], peeled, "left", "right")
        for n, (band, offset) in enumerate(zip(bands + side_bands, (top, top, left, left))):
            if band is not None:
                reach[n] = offset + band
        if (new_top, new_bottom, new_left, new_right) != (0, len(rows), 0, len(cols)):
            top, bottom = top + new_top, top + new_bottom
            left, right = left + new_left, left + new_right
            changed = True
    return (top, bottom, left, right), tuple(reach)


def _with_backdrop(grey: np.ndarray, peeled: Box, reach: Box) -> Box:
    """The `peeled` box widened on each side where what was trimmed there is the picture's backdrop around the
    subject, out to where its colour jumps (a backdrop may shade off; a bar starts sharply). A backdrop runs out
    to the picture's edge or a flat bar, over a caption peeled as a band if need be; one that crosses a peeled
    band into more chrome (a status bar) is a light app's screen around a photo: it stops at that band (`reach`)."""
    height, width = grey.shape
    whole = (0, height, 0, width)
    widened = _widened(grey, peeled, whole)
    # the lines beyond each side, the outermost first; those next to the box may blend it into a bar
    beyond = (grey[:widened[0]], grey[widened[1]:][::-1], grey[:, :widened[2]].T, grey[:, widened[3]:][:, ::-1].T)
    crossed = (widened[0] < reach[0], widened[1] > reach[1], widened[2] < reach[2], widened[3] > reach[3])
    into_chrome = [cross and not _flat_lines(lines[:len(lines) - EDGE_DEPTH]).all()
                   for cross, lines in zip(crossed, beyond)]
    if any(into_chrome):
        widened = _widened(grey, peeled, tuple(r if chrome else w for r, chrome, w in zip(reach, into_chrome, whole)))
    # around the subject: on two sides at least. A flat colour on one side only (a foggy sky over a pier)
    # may as well be a bar. Taken as backdrop too, the fog above a chessboard moved on a tripod kept every shot
    # whole, so they lined up as shots on a tripod do, and the moment check could not tell a grey board on grey
    # fog from an overlay: 4-12 wrong pairs on each of 11 accuracy seeds.
    # A few lines are no backdrop: a scan's edge, a resize's blend, the tips of a tilted repost's wedges
    least = BACKDROP_MIN * np.array(grey.shape)[[0, 0, 1, 1]]
    grew = [abs(now - then) >= most for now, then, most in zip(widened, peeled, least)]
    return widened if sum(grew) >= 2 else peeled


def _widened(grey: np.ndarray, box: Box, limits: Box) -> Box:
    """`box` widened over the backdrop lines beside it, within `limits`: lines across the box as it grows (beside
    a screenshot's photo lies the screen, not the photo's backdrop; and as it grows, a caption's text fills the
    middle of its rows less and less)."""
    top, bottom, left, right = box
    if bottom - top < 1 or right - left < 1:
        return box
    for _ in range(WIDENINGS):
        inside = grey[top:bottom, left:right]
        # the box's edge itself may be a blend of bar and photo (the photo was resized onto the bar)
        rows, cols = min(EDGE_DEPTH, len(inside) - 1), min(EDGE_DEPTH, inside.shape[1] - 1)
        widened = (top - _backdrop_lines(grey[limits[0]:top, left:right], inside[rows]),
                   bottom + _backdrop_lines(grey[bottom:limits[1], left:right][::-1], inside[-1 - rows]),
                   left - _backdrop_lines(grey[top:bottom, limits[2]:left].T, inside[:, cols]),
                   right + _backdrop_lines(grey[top:bottom, right:limits[3]][:, ::-1].T, inside[:, -1 - cols]))
        if widened == (top, bottom, left, right):
            break
        top, bottom, left, right = widened
    return top, bottom, left, right


def _backdrop_lines(outside: np.ndarray, edge: np.ndarray) -> int:
    """How many of the lines `outside` one edge of the box (the outermost first) are the backdrop that the box's
    `edge` line stands on: each line out from the box that is mostly alike, pixel for pixel, to the one inside
    it (a backdrop may shade off, or hold a caption's sparse text; a bar starts sharply)."""
    inner = edge
    for n in range(len(outside) - 1, -1, -1):
        if (np.abs(outside[n] - inner) <= FLAT_SPREAD).mean() < BACKDROP_SHARE:
            return len(outside) - 1 - n
        inner = outside[n]
    return len(outside)


def _trim_and_peel(flat: np.ndarray, side: int, peeled: dict[str, int], start: str, end: str
                   ) -> tuple[int, int, int | None, int | None]:
    """The span of `flat` (one entry a line) left after flat edges go and, at each end, at most one thin
    band cut off by a flat run; `peeled` counts the bands taken from each side of the whole picture. Then where
    the lines of the band peeled at the start end, and where those of the band peeled at the end begin (None:
    no band)."""
    content = np.nonzero(~flat)[0]
    if len(content) == 0:
        return 0, len(flat), None, None
    first, last = int(content[0]), int(content[-1]) + 1
    start_band = end_band = None
    if peeled[start] < BANDS_PER_SIDE:
        found = _band_end(flat[first:last], side)
        if found is not None:
            start_band, first = first + found[0], first + found[1]
            peeled[start] += 1
    if peeled[end] < BANDS_PER_SIDE:
        found = _band_end(flat[first:last][::-1], side)
        if found is not None:
            end_band, last = last - found[0], last - found[1]
            peeled[end] += 1
    return first, last, start_band, end_band


def _band_end(flat: np.ndarray, side: int) -> tuple[int, int] | None:
    """(lines of a thin leading band, where the content after it starts: the band and its flat separator
    skipped), or None when `flat` does not start with a band: content thicker than BAND_MAX, or no separator
    long enough."""
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
                return band, n + 1 + int(following[0])
        else:
            if n >= limit:
                return None
            run = 0
    return None


def straightened(picture: Image.Image) -> Image.Image:
    """A photo turned by MIN_TILT..MAX_TILT degrees inside a flat fill (a tilted repost, a straightened scan, a
    copy slid and turned in its own frame), turned back and cut to the largest upright box of photo; else the
    picture itself."""
    if not _corners_alike(picture):  # nearly every photo: no fill in its corners, nothing more to look at
        return picture
    grey, scale = _analysis_grey(picture)
    fill = _corner_colour_mask(grey)
    found = _wedges(grey, fill) or _edges_tilt(grey, fill)
    if found is None:
        return picture
    tilt, fill = found
    turned = picture.rotate(-tilt, resample=Image.BICUBIC, expand=False)
    outside = Image.fromarray((fill * 255).astype(np.uint8)).rotate(-tilt, resample=Image.NEAREST, fillcolor=255)
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

    regions, _ = ndimage.label(np.abs(grey - np.median(_corner_levels(grey))) <= FLAT_SPREAD)
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


def _corner_levels(grey: np.ndarray) -> np.ndarray:
    """The grey levels of the four corner pixels."""
    return np.array([grey[0, 0], grey[0, -1], grey[-1, 0], grey[-1, -1]], np.int16)


def _wedges(grey: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The tilt in degrees (counter-clockwise) and the mask of the four wedges, when the corners hold
    right-triangle wedges of one flat colour whose long sides agree on one angle; None otherwise. A turned
    rectangle's opposite wedges are alike, so a corner whose wedge runs into the photo's own dark edge is
    drawn as its opposite's (two opposite corners must be found). `mask`: _corner_colour_mask(grey)."""
    if np.ptp(_corner_levels(grey)) > FLAT_SPREAD:
        return None
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


def _edges_tilt(grey: np.ndarray, fill: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The tilt in degrees (counter-clockwise) of a photo turned inside the corners' flat fill, read from the lines
    where the two meet (see EDGE_SHARE), and the mask of what lies outside the photo's rectangle; None where the
    fill is not such a photo's. `fill`: _corner_colour_mask(grey)."""
    from scipy import ndimage

    colour = np.median(_corner_levels(grey))
    ys, xs = np.nonzero(fill & ~ndimage.binary_erosion(fill, border_value=1))
    # the border runs a side's length at the least, and a turned rectangle's at the most (a diagonal line of 4-connected
    # pixels is 1.41 times as long): a fill that wanders through the photo (a backdrop, a dark ground) is not one
    if not min(grey.shape) <= len(xs) <= 3 * sum(grey.shape):
        return None
    # each border point's strongest contrast among its 8 neighbours, read off a padded copy at the points alone
    contrast = np.pad(np.where(fill, 0, np.abs(grey - colour)), 1)
    beside = np.max([contrast[ys + 1 + dy, xs + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    weights = np.minimum(beside, EDGE_CONTRAST).astype(np.float64)
    coarse = np.arange(-MAX_TILT, MAX_TILT, TILT_STEP)
    every = -(-len(xs) // COARSE_POINTS)  # the coarse angles on a sample of the border: its lines stand out as well
    best = coarse[int(np.argmax(_on_lines(xs[::every], ys[::every], weights[::every], coarse)))]
    fine = best + np.linspace(-TILT_STEP, TILT_STEP, 21)
    held = _on_lines(xs, ys, weights, fine)
    angle = float(fine[int(np.argmax(held))])
    if not MIN_TILT <= abs(angle) <= MAX_TILT or held.max() < EDGE_SHARE * weights.sum():
        return None
    y, x = np.mgrid[:grey.shape[0], :grey.shape[1]]
    coordinates = _turned_coordinates(x, y, angle)
    photo = ~fill
    ends = [np.percentile(coordinate[photo], [0.2, 99.8]) for coordinate in coordinates]

    def rectangle(grown: float) -> np.ndarray:
        (low, high), (left, right) = ends
        across, along = coordinates
        return (across >= low - grown) & (across <= high + grown) & (along >= left - grown) & (along <= right + grown)

    around, inside = ~rectangle(EDGE_GIVE), rectangle(-EDGE_GIVE)
    if (fill & around).sum() < FILL_AROUND * around.sum() or (photo & inside).sum() < PHOTO_INSIDE * inside.sum():
        return None
    return -angle, ~rectangle(-EDGE_GIVE / 2)  # the edge's blend of fill and photo is fill


def _turned_coordinates(x: np.ndarray, y: np.ndarray, angle: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where points lie across lines at `angle` degrees (clockwise on the picture: y runs down) and along them."""
    radians = np.radians(angle)
    return -x * np.sin(radians) + y * np.cos(radians), x * np.cos(radians) + y * np.sin(radians)


def _on_lines(xs: np.ndarray, ys: np.ndarray, weights: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """For each angle, the weight of the points (xs, ys) on the two fullest lines (3 pixels wide) at it, and on the two
    fullest across it: a turned rectangle's edges, as much of them as the picture shows."""
    found = np.zeros(len(angles))
    rows = np.arange(len(angles))
    for coordinate in _turned_coordinates(xs[None], ys[None], angles[:, None]):
        place = np.round(coordinate).astype(np.int64)
        place -= place.min(1, keepdims=True)
        width = int(place.max()) + 1
        lines = np.bincount((place + rows[:, None] * width).ravel(), np.broadcast_to(weights, place.shape).ravel(),
                            len(angles) * width).reshape(len(angles), width)
        lines = lines + np.roll(lines, 1, 1) + np.roll(lines, -1, 1)
        for _ in range(2):
            fullest = lines.argmax(1)
            found += lines[rows, fullest]
            for off in range(-3, 4):  # the next line is another edge, not this one's other half
                lines[rows, np.clip(fullest + off, 0, width - 1)] = 0
    return found


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
