"""Copies turned by 90/180/270 degrees or mirrored, with no EXIF tag (issue 15): real photos, real model."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from conftest import cli, photo
from simgui.core.matching.turn_check import KEPT_PIXELS, kept_for_turns
from simgui.core.media.framing import views_inside
from simgui.core.media.orientation import (TURNS, alike_as_they_are, proposals, signature, signatures, turn_picture,
                                           turned_signatures)

TRANSPOSES = {"rot90": Image.ROTATE_90, "rot180": Image.ROTATE_180, "rot270": Image.ROTATE_270,
              "mirror": Image.FLIP_LEFT_RIGHT}


def _signed(picture: Image.Image) -> np.ndarray:
    return signatures(views_inside(picture).content, picture)


def test_a_turned_signature_is_the_signature_of_the_turned_photo():
    img = Image.open(photo("chelsea")).convert("RGB")
    turned = turned_signatures(signature(img)[None])
    for n, turn in enumerate(TURNS):
        assert float(turned[n, 0] @ signature(turn_picture(img, turn))) > 0.999, turn


def test_turns_are_proposed_for_turned_copies_and_not_for_other_photos():
    img = Image.open(photo("coffee")).convert("RGB")
    others = [Image.open(photo(name)).convert("RGB") for name in ("rocket", "astronaut", "hubble_deep_field")]
    known = np.stack([_signed(p) for p in [img, *others]])
    for name, method in TRANSPOSES.items():
        found = proposals(_signed(img.transpose(method))[None], known)
        assert [p.column for p in found] == [0], name
    assert proposals(np.stack([_signed(p) for p in others]), known[:1]) == []


def _json(library, *args):
    done = cli(library, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else None


def test_turned_and_mirrored_copies_group_compare_and_query_as_near(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    source = Image.open(photo("chelsea")).convert("RGB")
    source.save(folder / "chelsea.jpg", quality=92)
    for name, method in TRANSPOSES.items():
        source.transpose(method).save(folder / f"chelsea_{name}.jpg", quality=85)
    for name in ("coffee", "rocket", "astronaut"):
        Image.open(photo(name)).convert("RGB").save(folder / f"{name}.jpg")
    library = tmp_path / "library"
    _json(library, "index", str(folder))
    groups = _json(library, "groups", "--json")["groups"]
    near = [sorted(m["path"].rsplit("/", 1)[1] for m in g["members"]) for g in groups if g["kind"] == "near"]
    assert near == [sorted(["chelsea.jpg", *(f"chelsea_{n}.jpg" for n in TRANSPOSES)])]
    compared = _json(library, "compare", str(folder / "chelsea.jpg"), str(folder / "chelsea_rot270.jpg"), "--json")
    assert compared["verdict"] == "near"
    query = tmp_path / "sent_on.jpg"  # not in the library: shrunk, recompressed, turned
    source.transpose(Image.ROTATE_180).resize((300, 225)).save(query, quality=75)
    results = _json(library, "query", str(query), "--top", "8", "--json")[0]["results"]
    verdicts = {r["path"].rsplit("/", 1)[1]: r["verdict"] for r in results}
    assert verdicts["chelsea.jpg"] == "near"
    assert all(verdicts[name] not in ("near", "exact") for name in ("coffee.jpg", "rocket.jpg", "astronaut.jpg"))


def test_a_black_and_white_copy_is_proposed_by_its_signature_and_other_photos_are_not():
    """The global vectors of a grey copy land among other grey pictures; its grey signature is its original's."""
    names = ("coffee", "chelsea", "rocket", "astronaut", "hubble_deep_field")
    pictures = [Image.open(photo(name)).convert("RGB") for name in names]
    grey_copy = pictures[0].convert("L").resize((pictures[0].width // 2, pictures[0].height // 2)).convert("RGB")
    known = np.stack([_signed(p) for p in [*pictures, grey_copy]])
    found = alike_as_they_are(known, known, np.arange(len(known)))
    assert sorted(found) == [(0, 5), (5, 0)]  # each one of the pair, never itself
    assert alike_as_they_are(known[:1], known, np.array([-1]))[0] == (0, 0)  # a query is not in the library
    assert alike_as_they_are(known[:1], np.zeros((0, 0), np.float32), np.array([-1])) == []  # an empty library


def _on_a_backdrop_with_specks() -> Image.Image:
    """A photo on a flat backdrop with dark specks above and below it: the framing peels the specks' rows as a
    band, but turned they are columns, which are not peeled (a drawing on flat blue wallpaper, issue 15)."""
    from PIL import ImageDraw

    canvas = Image.new("RGB", (1600, 1000), (20, 60, 170))
    subject = Image.open(photo("chelsea")).convert("RGB")
    subject.thumbnail((420, 420))
    canvas.paste(subject, (800, 330))  # off the middle: turned, the whole picture is not its own look-alike
    draw = ImageDraw.Draw(canvas)
    for x in range(760, 1280, 90):
        draw.ellipse((x, 230, x + 24, 254), fill=(10, 20, 60))
        draw.ellipse((x + 40, 720, x + 60, 740), fill=(10, 20, 60))
    return canvas


def _indexed_among_other_photos(folder, library):
    for name in ("coffee", "rocket"):
        Image.open(photo(name)).convert("RGB").save(folder / f"{name}.jpg")
    _json(library, "index", str(folder))
    return library


def _near_groups(library) -> list[list[str]]:
    groups = _json(library, "groups", "--json")["groups"]
    return [sorted(m["path"].rsplit("/", 1)[1] for m in g["members"]) for g in groups if g["kind"] == "near"]


def test_a_turned_copy_whose_framing_differs_from_its_originals_is_found(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    source = _on_a_backdrop_with_specks()
    source.save(folder / "drawing.jpg", quality=92)
    for name in ("rot90", "rot270"):
        source.transpose(TRANSPOSES[name]).save(folder / f"drawing_{name}.jpg", quality=85)
    library = _indexed_among_other_photos(folder, tmp_path / "library")
    assert _near_groups(library) == [["drawing.jpg", "drawing_rot270.jpg", "drawing_rot90.jpg"]]
    compared = _json(library, "compare", str(folder / "drawing.jpg"), str(folder / "drawing_rot90.jpg"), "--json")
    assert compared["verdict"] == "near"
    query = tmp_path / "sent_on.jpg"  # not in the library: shrunk and turned
    source.transpose(Image.ROTATE_270).resize((500, 800)).save(query, quality=80)
    results = _json(library, "query", str(query), "--top", "5", "--json")[0]["results"]
    assert {r["path"].rsplit("/", 1)[1]: r["verdict"] for r in results}["drawing.jpg"] == "near"


def _broadly_symmetric(name: str) -> Image.Image:
    """A photo whose broad shapes are made mirror-symmetric (its 16x16 blur replaced by the blur's mean with its
    mirror image), its details left as they are: like a landscape, it looks alike mirrored at low frequencies."""
    img = Image.open(photo(name)).convert("RGB")
    pixels = np.asarray(img, np.float32)
    broad = np.asarray(img.resize((16, 16), Image.BOX).resize(img.size, Image.BICUBIC), np.float32)
    return Image.fromarray(np.clip(pixels - broad + (broad + broad[:, ::-1]) / 2, 0, 255).astype(np.uint8))


def test_the_mirror_image_of_a_broadly_symmetric_photo_is_found(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    source = _broadly_symmetric("chelsea")
    source.save(folder / "cat.jpg", quality=92)
    mirrored = source.transpose(Image.FLIP_LEFT_RIGHT)
    mirrored.save(folder / "cat_selfie_camera.jpg", quality=85)
    as_it_is, mirror = _signed(source), _signed(mirrored)
    assert float(as_it_is[0] @ mirror[0]) > 0.95  # its signatures cannot tell the mirror image from it
    library = _indexed_among_other_photos(folder, tmp_path / "library")
    assert _near_groups(library) == [["cat.jpg", "cat_selfie_camera.jpg"]]
    compared = _json(library, "compare", str(folder / "cat.jpg"), str(folder / "cat_selfie_camera.jpg"), "--json")
    assert compared["verdict"] == "near"


def test_a_long_panorama_is_kept_reduced_for_a_turn_and_its_turned_copy_is_found(tmp_path):
    small = Image.new("RGB", (500, 375))
    assert kept_for_turns(small) is small  # a camera JPEG as decoded (at 1/8)
    kept = kept_for_turns(Image.new("RGB", (60000, 600)))
    assert kept.width * kept.height <= KEPT_PIXELS and kept.width / kept.height == 100
    folder = tmp_path / "photos"
    folder.mkdir()
    tiles = [Image.open(photo(name)).convert("RGB") for name in ("chelsea", "coffee", "rocket", "astronaut")] * 5
    tiles = [t.resize((t.width * 400 // t.height, 400)) for t in tiles]
    panorama = Image.new("RGB", (sum(t.width for t in tiles), 400))  # a PNG decodes whole: over KEPT_PIXELS
    for n, tile in enumerate(tiles):
        panorama.paste(tile, (sum(t.width for t in tiles[:n]), 0))
    assert panorama.width * panorama.height > KEPT_PIXELS
    panorama.save(folder / "pier.png")
    panorama.transpose(Image.ROTATE_90).save(folder / "pier_turned.png")
    library = _indexed_among_other_photos(folder, tmp_path / "library")
    assert _near_groups(library) == [["pier.png", "pier_turned.png"]]
