"""What the model is shown: the photo inside its framing (framing.py). Real photos, no model."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import photo, picture_on_backdrop, vignetted
from simgui.core.media.framing import content_box, framing_boxes, photo_inside, views_inside


def _rgb(name: str) -> Image.Image:
    return Image.open(photo(name)).convert("RGB")


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def _alike(a: Image.Image, b: Image.Image) -> float:
    """Correlation of two pictures' grey values at 64x64."""
    return _correlation(*(np.asarray(p.convert("L").resize((64, 64)), np.float32) for p in (a, b)))


def test_letterbox_bars_are_trimmed():
    img = _rgb("rocket")
    framed = Image.new("RGB", (img.width, img.height * 3), (0, 0, 0))
    framed.paste(img, (0, img.height))
    left, top, right, bottom = content_box(framed)
    assert abs(right - left - img.width) <= 0.01 * img.width and abs(bottom - top - img.height) <= 0.01 * img.height


def test_a_photo_without_framing_is_shown_whole():
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field"):
        img = _rgb(name)
        assert photo_inside(img).size == img.size, name


def _screenshot(img: Image.Image, background: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """A phone gallery's screen: status bar with the time, toolbar with icons, the photo, action and nav bars."""
    screen = Image.new("RGB", (540, 1080), background)
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 540, 45), fill=(24, 24, 24))
    draw.text((20, 12), "9:41", fill=(255, 255, 255))
    draw.rectangle((0, 45, 540, 125), fill=(250, 250, 250))
    for x in (380, 440, 500):
        draw.ellipse((x - 12, 73, x + 12, 97), outline=(60, 60, 60), width=3)
    draw.rectangle((0, 930, 540, 1015), fill=(250, 250, 250))
    for k in range(4):
        x = 540 * (2 * k + 1) // 8
        draw.rounded_rectangle((x - 18, 955, x + 18, 991), radius=6, outline=(60, 60, 60), width=3)
    draw.rectangle((0, 1015, 540, 1080), fill=(10, 10, 10))
    draw.ellipse((255, 1032, 285, 1062), outline=(220, 220, 220), width=3)
    shown = img.resize((540, 540 * img.height // img.width))
    screen.paste(shown, (0, (1080 - shown.height) // 2))
    return screen


def test_a_screenshot_shows_the_model_its_photo_not_the_phone_chrome():
    img = _rgb("chelsea")
    inside = photo_inside(_screenshot(img))
    assert abs(inside.width / inside.height - img.width / img.height) < 0.05
    assert _alike(inside, img) > 0.95


@pytest.mark.parametrize("name", ["astronaut", "hubble_deep_field"])  # a dark photo: its edges meet the wedges' black
def test_a_tilted_repost_is_turned_back_and_cut_to_its_photo(name):
    img = _rgb(name)
    for angle in (-20, 8, 20):
        tilted = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0))
        assert _alike(photo_inside(tilted), img) > 0.9, angle
        assert _alike(tilted, img) < 0.7, angle  # the check means something: tilted, it is not alike


def _shifted_and_turned(img: Image.Image, dx: float, dy: float, angle: float) -> Image.Image:
    """A copy slid by a share of its sides and turned a few degrees in its own frame, the rest black."""
    moved = Image.new("RGB", img.size, (0, 0, 0))
    moved.paste(img, (round(dx * img.width), round(dy * img.height)))
    return moved.rotate(angle, resample=Image.BILINEAR)


def _best_alike_within(part: Image.Image, whole: Image.Image) -> float:
    """_alike of `part` with the best-matching box of its size in `whole`, searched at an eighth of the side."""
    scale = 64 / max(whole.size)
    small = np.asarray(whole.convert("L").resize((round(whole.width * scale), round(whole.height * scale))), np.float32)
    piece = np.asarray(part.convert("L").resize((max(1, round(part.width * scale)), max(1, round(part.height * scale)))),
                       np.float32)
    height, width = piece.shape
    return max(_correlation(small[top:top + height, left:left + width], piece)
               for top in range(small.shape[0] - height + 1) for left in range(small.shape[1] - width + 1))


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_a_copy_slid_and_turned_a_little_in_its_frame_is_turned_back_and_cut_to_its_photo(name):
    # black on two sides and a wedge in each corner, no two of them alike: the wedges' legs were too short and
    # uneven to read as a turned photo's, and the black went to the model and the pixel check with the photo
    img = _rgb(name)
    for dx, dy, angle in ((0.06, -0.05, 3.0), (-0.07, 0.04, -2.5), (0.05, 0.07, 3.8)):
        copy = _shifted_and_turned(img, dx, dy, angle)
        inside = photo_inside(copy)
        assert inside.width < 0.97 * copy.width and inside.height < 0.97 * copy.height, (dx, dy, angle)
        assert _best_alike_within(inside, img) > 0.9, (dx, dy, angle)
        # the check means something: cut to its bars only, as before, the copy was no upright part of its photo
        assert _best_alike_within(copy.crop(content_box(copy)), img) < 0.85, (dx, dy, angle)


def test_a_photo_in_a_shared_mat_and_caption_is_cut_from_them():
    img = _rgb("coffee")
    canvas = Image.new("RGB", (700, 575), (244, 238, 224))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((45, 45, 655, 470), outline=(120, 90, 40), width=3)
    canvas.paste(img.resize((590, 405)), (55, 55))
    draw.text((55, 500), "Holidays 2024  ~  our best moments", fill=(90, 60, 30))
    inside = photo_inside(canvas)
    assert _alike(inside, img) > 0.9
    assert inside.height < 0.8 * canvas.height


def _watermarked(picture: Image.Image) -> Image.Image:
    marked = picture.copy()
    ImageDraw.Draw(marked).text((420, 20), "(c) SAMPLE", fill=(255, 255, 255))
    return marked


def test_a_subject_on_its_own_backdrop_has_a_backdrop_view_shown_whole_whichever_way_it_is_turned():
    # trimmed as bars, the backdrop went and each copy was cut to another box: a turned or watermarked copy then
    # lined up with its original no better than two unrelated textures
    picture = picture_on_backdrop()
    for copy in (picture, picture.transpose(Image.ROTATE_90), picture.transpose(Image.FLIP_LEFT_RIGHT),
                 _watermarked(picture)):
        trimmed, backdrop = framing_boxes(copy)
        assert (backdrop or trimmed) == (0, 0, copy.width, copy.height)
    assert framing_boxes(picture)[0] != (0, 0, picture.width, picture.height)  # trimmed, it is cut to the cat


def test_bars_around_a_picture_with_a_backdrop_are_trimmed_from_its_backdrop_view_too():
    picture = picture_on_backdrop()
    for bar in ((0, 0, 0), (30, 90, 200)):
        framed = Image.new("RGB", (picture.width, picture.height * 2), bar)
        framed.paste(picture, (0, picture.height // 2))
        trimmed, backdrop = framing_boxes(framed)
        left, top, right, bottom = backdrop or trimmed
        assert (left, right) == (0, picture.width)
        assert abs(top - picture.height // 2) <= 4 and abs(bottom - top - picture.height) <= 8


def test_a_photo_without_a_backdrop_has_no_backdrop_view():
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        img = _rgb(name)
        letterboxed = Image.new("RGB", (img.width, img.height * 2), (0, 0, 0))
        letterboxed.paste(img, (0, img.height // 2))
        for picture in (img, letterboxed, _screenshot(img)):
            assert views_inside(picture)[1] is None, name


def test_a_picture_with_a_backdrop_in_a_light_apps_screenshot_is_not_shown_with_the_apps_bars():
    # white on white: where the picture's backdrop ends, the screen goes on; the toolbar's icons and the action
    # bar are chrome all the same, in either framing (a first backdrop rule showed the model both)
    for background in ((255, 255, 255), (0, 0, 0)):
        for left, top, right, bottom in filter(None, framing_boxes(_screenshot(picture_on_backdrop(), background))):
            assert top >= 97 and bottom <= 955, background  # below the toolbar's icons, above the action bar's


def test_a_photo_with_dark_edges_in_black_bars_or_a_dark_apps_screenshot_is_cut_from_them():
    # in the pixels, a photo's own near-black edge is alike to a backdrop that the bars continue: a version that
    # had only the backdrop framing kept these bars, and the copies lined up with their original at 0.61-0.66.
    # The photo as trimmed (the framing every picture has) is cut from them.
    img = vignetted(_rgb("coffee"))
    letterboxed = Image.new("RGB", (img.width, img.height * 2), (0, 0, 0))
    letterboxed.paste(img, (0, img.height // 2))
    for copy in (letterboxed, _screenshot(img)):
        assert _alike(photo_inside(copy), photo_inside(img)) > 0.9
