"""Shared fixtures: real photos, real edited copies, real library folders."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import numpy as np
from PIL import Image, ImageDraw, ImageOps

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the app keeps its settings (window geometry...) in the user's config folder: never the tester's own
CONFIG_HOME = tempfile.mkdtemp(prefix="simgui-test-config-")
os.environ["XDG_CONFIG_HOME"] = CONFIG_HOME
# ...and "Empty trash" sends files to the system trash under XDG_DATA_HOME: a throwaway one
os.environ["XDG_DATA_HOME"] = os.path.join(CONFIG_HOME, "data")



def pytest_unconfigure(config):
    shutil.rmtree(CONFIG_HOME, ignore_errors=True)


DATA = Path(__file__).parent / "data"
PHOTOS = sorted(DATA.glob("*.jpg"))


def photo(name: str) -> Path:
    return DATA / f"{name}.jpg"


def texture(name: str) -> Path:
    """grass, gravel: textures, kept apart from PHOTOS (a texture's copies line up as little as two textures)."""
    return DATA / "textures" / f"{name}.jpg"


def picture_on_backdrop() -> Image.Image:
    """A subject on its own plain backdrop, as a logo, a product shot or a studio portrait is: a round cut of a
    real photo on white, a grey shade down the left side and a line of caption under it."""
    canvas = Image.new("RGB", (600, 380), (247, 247, 247))
    draw = ImageDraw.Draw(canvas)
    for x in range(90):  # a soft shade: each column a little darker toward the edge
        draw.line((x, 0, x, 380), fill=(157 + x, 157 + x, 157 + x))
    face = Image.open(photo("chelsea")).convert("RGB").resize((200, 200))
    mask = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 199, 199), fill=255)
    canvas.paste(face, (220, 70), mask)
    draw.text((240, 330), "The traditional desktop", fill=(160, 160, 160))
    return canvas


def vignetted(img: Image.Image) -> Image.Image:
    """The photo darkened toward its edges until its corners are black, as a lens or an editor's vignette does."""
    width, height = img.size
    y, x = np.mgrid[:height, :width]
    reach = np.sqrt(((x - width / 2) / (width / 2)) ** 2 + ((y - height / 2) / (height / 2)) ** 2) / np.sqrt(2)
    light = np.clip(1 - 1.6 * reach ** 2, 0, 1)
    return Image.fromarray((np.asarray(img) * light[..., None]).astype(np.uint8))


def save_edit(source: Path, target: Path, edit: str) -> Path:
    """Writes one edited copy of `source`; the edits are the ones users' libraries are full of."""
    img = Image.open(source).convert("RGB")
    w, h = img.size
    if edit == "downscale":
        img.resize((w // 3, h // 3), Image.BILINEAR).save(target, quality=85)
    elif edit == "recompress":
        img.save(target, quality=20)
    elif edit == "crop":
        img.crop((int(w * 0.12), int(h * 0.1), int(w * 0.9), int(h * 0.85))).save(target, quality=90)
    elif edit == "grayscale":
        ImageOps.grayscale(img).save(target, quality=90)
    elif edit == "letterbox":
        canvas = Image.new("RGB", (w, int(h * 1.6)), (0, 0, 0))
        canvas.paste(img, (0, int(h * 0.3)))
        canvas.save(target, quality=90)
    elif edit == "exif_rotation":
        exif = Image.Exif()
        exif[0x0112] = 6  # stored rotated; viewers turn it back upright
        img.transpose(Image.ROTATE_90).save(target, quality=90, exif=exif.tobytes())
    elif edit == "webp":
        img.save(target.with_suffix(".webp"), quality=60)
        return target.with_suffix(".webp")
    else:
        raise ValueError(edit)
    return target


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Five distinct photos, each with two edited copies: 15 files, 5 true duplicate groups."""
    folder = tmp_path / "photos"
    (folder / "edits").mkdir(parents=True)
    for n, source in enumerate(PHOTOS):
        shutil.copy(source, folder / source.name)
        edits = [("downscale", "crop"), ("recompress", "exif_rotation"), ("grayscale", "letterbox"),
                 ("crop", "webp"), ("letterbox", "downscale")][n]
        for edit in edits:
            save_edit(source, folder / "edits" / f"{source.stem}_{edit}.jpg", edit)
    return folder


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    return tmp_path / "library"


def stem_of(path: str) -> str:
    """Which source photo a file was made from: the part of its name before the edit."""
    name = Path(path).stem
    for source in PHOTOS:
        if name == source.stem or name.startswith(source.stem + "_"):
            return source.stem
    raise ValueError(path)


@pytest.fixture
def library(photo_folder, library_dir):
    """photo_folder, indexed into a real library."""
    from simgui.core.library import Library
    lib = Library(library_dir)
    lib.add_roots([str(photo_folder)])
    lib.update()
    yield lib
    lib.close()


def snapshot(folder) -> dict[str, bytes]:
    """Every photo's bytes by path, simgui's trash left out: what "nothing lost" is checked against."""
    from simgui.core.files.actions import TRASH_FOLDER
    files = {}
    for dirpath, dirnames, names in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != TRASH_FOLDER]
        for n in names:
            with open(os.path.join(dirpath, n), "rb") as f:
                files[os.path.join(dirpath, n)] = f.read()
    return files


def coffee_group(library):
    return next(g for g in library.groups() if g.kind == "near" and stem_of(g.members[0].image.path) == "coffee")


def indexed_noise_photos(base: Path, count: int, seed: int, subfolder: str = "") -> Path:
    """`count` small photos of distinct random pixels in day folders under base/photos[/subfolder], indexed
    into base/library (whose root is base/photos): a library for tests that move many files and need no
    look-alikes."""
    import numpy as np

    from simgui.core.library import Library
    rng = np.random.default_rng(seed)
    photos = base / "photos"
    for n in range(count):
        folder = photos / subfolder / f"day{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((96, 72)).save(folder / f"IMG_{n:04d}.jpg", quality=90)
    library = Library(base / "library")
    library.add_roots([str(photos)])
    assert library.update().added == count
    library.close()
    return photos


def cli(library_dir, *args) -> subprocess.CompletedProcess:
    """simgui-cli in a child process, as a script would run it: its exit status, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def indexed_library_dir(photo_folder, library_dir) -> Path:
    """photo_folder indexed into library_dir, the library closed again (for tests that open it themselves)."""
    from simgui.core.library import Library
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    library.close()
    return library_dir


@pytest.fixture(autouse=True)
def _error_boxes_fail_app_tests(request, monkeypatch):
    """An app test that meets an error box (a job that failed) fails at once with its text: offscreen, the modal
    box would hold the test until pytest-timeout, 600 s later, without saying what failed. Tests that expect
    a warning patch QMessageBox themselves, after this."""
    if "qtbot" in request.fixturenames:
        from PySide6.QtWidgets import QMessageBox

        def refuse(parent, title, text, *args, **kwargs):
            pytest.fail(f"the app showed an error box: {text}", pytrace=False)
        monkeypatch.setattr(QMessageBox, "warning", refuse)
        monkeypatch.setattr(QMessageBox, "critical", refuse)
