"""Builds the accuracy benchmark: real photos, edited copies, held-out queries.

Real photos come from packages (Debian's wallpaper packages and scikit-image's
data folder), so anyone can rebuild the exact same set offline from the package
registries. Each source photo gets edited copies from ten families; some copies
go into the library, others are held out as queries. A few look-alikes (a stereo
pair, similar textures, several abstract wallpapers of one style) are kept as
separate sources: grouping them would be a false positive. Then come the traps and
edits of issue 15 (traps.py): turned, mirrored and screenshot copies of the sources, and
different photos that share a background, a screen's chrome, a frame or a scene. truth.json
names each library file's family and each source's anchor (its original).

    python benchmarks/dataset.py OUTDIR      # writes OUTDIR/library, OUTDIR/queries, OUTDIR/truth.json
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

CACHE = Path.home() / ".cache" / "simgui-bench"
WALLPAPER_PACKAGES = ["ukui-wallpapers", "mate-backgrounds", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04"]
# Files that are re-renders or colour variants of another source: as sources they would make the
# ground truth ambiguous (are they "the same photo"?), so they are left out.
AMBIGUOUS = {
    "Elephants_3840x2160.jpg", "Elephants_5640x3172.jpg", "Gulp.png", "Silk.png", "Spring.png",
    "MATE-Stripes-Dark.png", "MATE-Stripes-Light.png", "Stripes.png", "Ubuntu-Mate-Cold-no-logo.png",
    "Ubuntu-Mate-Dark-no-logo.png", "Ubuntu-Mate-Radioactive-no-logo.png", "Ubuntu-Mate-Warm-no-logo.png",
}
SKIMAGE_PHOTOS = [
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
    "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png",
    "moon.png", "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg", "rocket.jpg", "text.png",
]
# Two views taken at the same instant from a stereo rig: at the model's resolution their parallax looks
# like a small shift, so they are neither "the same photo" nor clearly not. Pairs across them count
# neither for nor against any method (as "junk" pairs do in retrieval benchmarks).
AMBIGUOUS_PAIRS = [("motorcycle_left.png", "motorcycle_right.png")]
SOURCE_LONG_SIDE = 1600  # sources are shrunk once: the benchmark tests edits, not decode speed


def wallpaper_files() -> list[Path]:
    root = CACHE / "debs" / "root"
    if not root.exists():
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", *WALLPAPER_PACKAGES], cwd=debs, check=True,
                       stdout=subprocess.DEVNULL)
        for deb in debs.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in (".jpg", ".png") and p.name not in AMBIGUOUS]
    return files


def skimage_files() -> list[Path]:
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    return [folder / name for name in SKIMAGE_PHOTOS]


def is_blank(img: Image.Image) -> bool:
    """Some wallpapers are transparent overlays: on white they are a blank page, not a photo."""
    from PIL import ImageStat

    return ImageStat.Stat(img.convert("L")).stddev[0] < 2


def load_source(path: Path, long_side: int = SOURCE_LONG_SIDE) -> Image.Image:
    img = Image.open(path)
    img.draft("RGB", (long_side, long_side))
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    img = img.convert("RGB")
    img.thumbnail((long_side, long_side), Image.LANCZOS)
    return img


@dataclass
class EditedCopy:
    image: Image.Image
    suffix: str
    save_options: dict


Edit = Callable[[Image.Image, random.Random], EditedCopy]


def _jpeg(img: Image.Image, quality: int = 90, **extra) -> EditedCopy:
    return EditedCopy(img, ".jpg", {"format": "JPEG", "quality": quality, **extra})


def downscale(img, rng):
    f = rng.uniform(0.15, 0.4)
    return _jpeg(img.resize((max(32, int(img.width * f)), max(32, int(img.height * f))), Image.BILINEAR))


def heavy_jpeg(img, rng):
    return _jpeg(img, quality=rng.randint(5, 15))


def crop(img, rng):
    # keep 70-85 % of each side: up to about half of the area is gone
    kw, kh = rng.uniform(0.7, 0.85), rng.uniform(0.7, 0.85)
    w, h = int(img.width * kw), int(img.height * kh)
    x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
    return _jpeg(img.crop((x, y, x + w, y + h)))


def letterbox(img, rng):
    colour = rng.choice([(0, 0, 0), (255, 255, 255), (30, 30, 30)])
    target_ratio = rng.choice([1.0, 16 / 9, 9 / 16, 4 / 3])
    w, h = img.size
    if w / h > target_ratio:
        size = (w, int(w / target_ratio))
    else:
        size = (int(h * target_ratio), h)
    size = (max(size[0], int(w * 1.15)), max(size[1], int(h * 1.15)))
    canvas = Image.new("RGB", size, colour)
    canvas.paste(img, ((size[0] - w) // 2, (size[1] - h) // 2))
    return _jpeg(canvas)


def exif_rotation(img, rng):
    # pixels stored rotated, EXIF orientation says how to show them: viewers show the original
    orientation, method = rng.choice([(6, Image.ROTATE_90), (8, Image.ROTATE_270), (3, Image.ROTATE_180)])
    stored = img.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _jpeg(stored, exif=exif.tobytes())


def watermark(img, rng):
    out = img.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(16, out.height // rng.randint(5, 8))
    font = ImageFont.load_default(size=size)
    text = rng.choice(["(c) PHOTO STUDIO", "SAMPLE", "my holiday 2024", "DO NOT COPY"])
    for row in range(rng.randint(1, 3)):
        y = int(out.height * rng.uniform(0.1, 0.8))
        draw.text((int(out.width * rng.uniform(0.0, 0.3)), y), text, font=font, fill=(255, 255, 255, rng.randint(120, 220)))
    box = int(min(out.size) * 0.18)
    draw.rectangle((out.width - box - 10, out.height - box - 10, out.width - 10, out.height - 10),
                   fill=(rng.randint(0, 255), 40, 40, 200))
    return _jpeg(Image.alpha_composite(out, layer).convert("RGB"))


def format_webp(img, rng):
    return EditedCopy(img, ".webp", {"format": "WEBP", "quality": rng.randint(40, 80)})


def format_palette_png(img, rng):
    return EditedCopy(img.quantize(colors=rng.choice([16, 32, 64])), ".png", {"format": "PNG"})


def gamma_contrast(img, rng):
    gamma = rng.choice([rng.uniform(0.45, 0.7), rng.uniform(1.5, 2.2)])
    lut = [min(255, int(255 * (i / 255) ** gamma)) for i in range(256)] * 3
    out = ImageEnhance.Contrast(img.point(lut)).enhance(rng.uniform(0.6, 1.6))
    return _jpeg(ImageEnhance.Color(out).enhance(rng.uniform(0.6, 1.5)))


def grayscale(img, rng):
    return _jpeg(ImageOps.grayscale(img))


def small_shift(img, rng):
    dx, dy = int(img.width * rng.uniform(-0.08, 0.08)), int(img.height * rng.uniform(-0.08, 0.08))
    shifted = Image.new("RGB", img.size, (0, 0, 0))
    shifted.paste(img, (dx, dy))
    return _jpeg(shifted.rotate(rng.uniform(-4, 4), resample=Image.BILINEAR))


def combined(img, rng):
    """What real copies often are: a crop of a downscaled, recompressed photo."""
    step = crop(img, rng).image
    step = step.resize((max(32, step.width // 3), max(32, step.height // 3)), Image.BILINEAR)
    return _jpeg(step, quality=rng.randint(20, 45))


EDIT_FAMILIES: dict[str, Edit] = {
    "downscale": downscale, "heavy_jpeg": heavy_jpeg, "crop": crop, "letterbox": letterbox,
    "exif_rotation": exif_rotation, "watermark": watermark, "webp": format_webp,
    "palette_png": format_palette_png, "gamma_contrast": gamma_contrast, "grayscale": grayscale,
    "small_shift": small_shift, "combined": combined,
}


def write_copy(copy: EditedCopy, path_without_suffix: Path) -> Path:
    path = path_without_suffix.with_suffix(copy.suffix)
    opts = dict(copy.save_options)
    copy.image.save(path, **opts)
    return path


def record(truth: dict, path: Path, source: str, family: str, anchor: bool = False) -> None:
    """A library file, its source photo and its family; the anchor is what a copy must be grouped with."""
    truth["library"][str(path)] = source
    truth["families"][str(path)] = family
    if anchor:
        truth["anchors"][source] = str(path)


def build(out: Path, seed: int = 7, copies_in_library: int = 6, held_out_queries: int = 2) -> dict:
    rng = random.Random(seed)
    library, queries = out / "library", out / "queries"
    library.mkdir(parents=True, exist_ok=True)
    queries.mkdir(parents=True, exist_ok=True)
    files = [(f, load_source(f)) for f in wallpaper_files() + skimage_files()]
    files = [(f, img) for f, img in files if not is_blank(img)]
    pictures = [img for _, img in files]
    source_name = {f.name: f"s{n:03d}" for n, (f, _) in enumerate(files)}
    truth = {"library": {}, "queries": {}, "families": {}, "anchors": {},
             "ambiguous": [[source_name[a], source_name[b]] for a, b in AMBIGUOUS_PAIRS]}
    families = list(EDIT_FAMILIES)
    for n, img in enumerate(pictures):
        name = f"s{n:03d}"
        original = write_copy(_jpeg(img, quality=92), library / f"{name}_original")
        record(truth, original, name, "original", anchor=True)
        chosen = rng.sample(families, copies_in_library + held_out_queries)
        # one source in five is a singleton in the library: it must end in no group at all
        in_library = [] if n % 5 == 4 else chosen[:copies_in_library]
        for family in in_library:
            path = write_copy(EDIT_FAMILIES[family](img, rng), library / f"{name}_{family}")
            record(truth, path, name, family)
        for family in chosen[copies_in_library:]:
            path = write_copy(EDIT_FAMILIES[family](img, rng), queries / f"{name}_{family}")
            truth["queries"][str(path)] = name
        print(f"\r{n + 1}/{len(pictures)} sources", end="", file=sys.stderr)
    print(file=sys.stderr)
    truth["sources"] = len(pictures)
    add_traps_and_new_edits(library, truth, seed, {f"s{n:03d}": img for n, img in enumerate(pictures) if n % 5 != 4})
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def add_traps_and_new_edits(library: Path, truth: dict, seed: int, sources: dict[str, Image.Image]) -> None:
    """The traps and edits of issue 15 (traps.py), from a random stream of their own: the families above
    come out the same as before they were added."""
    import traps  # traps.py builds on this module's helpers

    rng = random.Random(f"traps-{seed}")
    traps.add_new_edits(library, truth, sources, rng)
    traps.add_traps(library, truth, rng)
    truth["family_kinds"] = {"original": "source", **{f: "edit" for f in EDIT_FAMILIES}, **traps.FAMILY_KINDS}
    truth["existing_families"] = ["original", *EDIT_FAMILIES]


if __name__ == "__main__":
    build(Path(sys.argv[1]))
