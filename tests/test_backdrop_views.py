"""A picture on its own backdrop (a logo, a product shot, a drawing on one colour) and its copies, in a real library.

Framing trims a plain backdrop as bars, and each copy to another box (a watermark on the backdrop, a shift): the
backdrop views line them up. The other side: dark photos kept in black bars as their backdrop must not line up
on the bars."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from conftest import photo, picture_on_backdrop, vignetted
from simgui.core.library import Library
from simgui.core.matching.rule import Kind


def _near_groups(library: Library) -> list[list[str]]:
    return sorted(sorted(Path(m.image.path).name for m in g.members) for g in library.groups() if g.kind == Kind.NEAR)


def _watermarked(picture: Image.Image) -> Image.Image:
    """White text across it and a coloured square in a corner, as the accuracy benchmark's watermark edit lays."""
    marked = picture.copy()
    draw = ImageDraw.Draw(marked)
    draw.text((20, 40), "(c) PHOTO STUDIO", font=ImageFont.load_default(size=60), fill=(255, 255, 255))
    draw.rectangle((510, 290, 590, 370), fill=(200, 40, 40))
    return marked


def _shifted(picture: Image.Image) -> Image.Image:
    shifted = Image.new("RGB", picture.size, (0, 0, 0))
    shifted.paste(picture, (-36, 24))
    return shifted.rotate(2, resample=Image.BILINEAR)


def test_copies_of_a_picture_on_its_own_backdrop_are_one_photo_with_it(tmp_path, library_dir):
    # trimmed as bars, the backdrop went: the original was cut to the cat, the watermarked copy to the cat and its
    # text, the shifted one to another box again, and they lined up like unrelated pictures
    folder = tmp_path / "logos"
    folder.mkdir()
    original = picture_on_backdrop()
    original.save(folder / "original.jpg", quality=92)
    _watermarked(original).save(folder / "watermarked.jpg", quality=85)
    _shifted(original).save(folder / "shifted.jpg", quality=85)
    library = Library(library_dir)
    try:
        library.add_roots([str(folder)])
        library.update()
        assert _near_groups(library) == [["original.jpg", "shifted.jpg", "watermarked.jpg"]]
        assert library.compare(str(folder / "original.jpg"), str(folder / "watermarked.jpg")).verdict == Kind.NEAR
        # (the shifted copy, turned by 2 degrees, joins through the watermarked one: on its own against the
        # original, the moment check sees the round cut's edge changed in the middle, 8 % of the blocks)
    finally:
        library.close()


def test_different_dark_photos_in_the_same_black_bars_are_not_one_photo(tmp_path, library_dir):
    # a dark edge next to a black bar looks like a backdrop, and the bars are kept in the backdrop views: two
    # different photos then line up on the bars alone (0.13 before only cells of the photos counted there)
    folder = tmp_path / "night"
    folder.mkdir()
    for name in ("chelsea", "coffee"):
        dark = vignetted(Image.open(photo(name)).convert("RGB"))
        dark.save(folder / f"{name}.jpg", quality=92)
        pillarboxed = Image.new("RGB", (dark.width * 3 // 2, dark.height), (0, 0, 0))
        pillarboxed.paste(dark, (dark.width // 4, 0))
        pillarboxed.save(folder / f"{name}_pillarbox.jpg", quality=88)
    library = Library(library_dir)
    try:
        library.add_roots([str(folder)])
        library.update()
        assert _near_groups(library) == [["chelsea.jpg", "chelsea_pillarbox.jpg"], ["coffee.jpg", "coffee_pillarbox.jpg"]]
        apart = library.compare(str(folder / "chelsea_pillarbox.jpg"), str(folder / "coffee_pillarbox.jpg"))
        assert apart.verdict != Kind.NEAR
    finally:
        library.close()


def test_a_blank_backdrop_or_another_small_subject_on_it_is_not_the_picture(tmp_path, library_dir):
    # the blank page and the small star are not cut to a subject (a speck, or nothing): shown whole beside the
    # picture's backdrop view, their plain backdrop lined up with its backdrop cell for cell (0.17 and 0.28)
    folder = tmp_path / "pages"
    folder.mkdir()
    picture = picture_on_backdrop()
    picture.save(folder / "cat.jpg", quality=92)
    blank = picture.copy()
    ImageDraw.Draw(blank).rectangle((215, 65, 425, 275), fill=(247, 247, 247))  # the cat taken away
    blank.save(folder / "blank.jpg", quality=92)
    star = blank.copy()
    ImageDraw.Draw(star).regular_polygon((320, 170, 14), 5, fill=(230, 160, 20))
    star.save(folder / "star.jpg", quality=92)
    library = Library(library_dir)
    try:
        library.add_roots([str(folder)])
        library.update()
        assert not any("cat.jpg" in group for group in _near_groups(library))
        for other in ("blank.jpg", "star.jpg"):
            assert library.compare(str(folder / "cat.jpg"), str(folder / other)).verdict != Kind.NEAR, other
    finally:
        library.close()
