"""What the model is shown: the photo inside its framing (framing.py). Real photos, no model."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import photo
from simgui.core.media.framing import content_box, photo_inside


def _rgb(name: str) -> Image.Image:
    return Image.open(photo(name)).convert("RGB")


def _alike(a: Image.Image, b: Image.Image) -> float:
    """Correlation of two pictures' grey values at 64x64."""
    x, y = (np.asarray(p.convert("L").resize((64, 64)), np.float32) for p in (a, b))
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


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


def _on_backdrop() -> Image.Image:
    """A subject on its own plain backdrop, as a logo, a product shot or a studio portrait is: a round cut of a
    real photo on white, a grey shade down the left side and a line of caption under it."""
    canvas = Image.new("RGB", (600, 380), (247, 247, 247))
    draw = ImageDraw.Draw(canvas)
    for x in range(90):  # a soft shade: each column a little darker toward the edge
        draw.line((x, 0, x, 380), fill=(157 + x, 157 + x, 157 + x))
    face = _rgb("chelsea").resize((200, 200))
    mask = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 199, 199), fill=255)
    canvas.paste(face, (220, 70), mask)
    draw.text((240, 330), "The traditional desktop", fill=(160, 160, 160))
    return canvas


def test_a_picture_with_a_backdrop_in_a_light_apps_screenshot_is_not_shown_with_the_apps_bars():
    # white on white: a framing that keeps a picture's own backdrop must still stop at the toolbar's icons and
    # the action bar (a version that kept backdrops showed the model both)
    for background in ((255, 255, 255), (0, 0, 0)):
        left, top, right, bottom = content_box(_screenshot(_on_backdrop(), background))
        assert top >= 97 and bottom <= 955, background  # below the toolbar's icons, above the action bar's


def _vignetted(img: Image.Image) -> Image.Image:
    """The photo darkened toward its edges until its corners are black, as a lens or an editor's vignette does."""
    width, height = img.size
    y, x = np.mgrid[:height, :width]
    reach = np.sqrt(((x - width / 2) / (width / 2)) ** 2 + ((y - height / 2) / (height / 2)) ** 2) / np.sqrt(2)
    light = np.clip(1 - 1.6 * reach ** 2, 0, 1)
    return Image.fromarray((np.asarray(img) * light[..., None]).astype(np.uint8))


def test_a_photo_with_dark_edges_in_black_bars_or_a_dark_apps_screenshot_is_cut_from_them():
    # a photo's own near-black edge is not a backdrop that the bars continue: a version that kept backdrops kept
    # these bars, and the copies lined up with their original at 0.61-0.66
    img = _vignetted(_rgb("coffee"))
    letterboxed = Image.new("RGB", (img.width, img.height * 2), (0, 0, 0))
    letterboxed.paste(img, (0, img.height // 2))
    for copy in (letterboxed, _screenshot(img)):
        assert _alike(photo_inside(copy), photo_inside(img)) > 0.9
