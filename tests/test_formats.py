"""Every format of a real library (issue 13): camera RAW (DNGs made from real photos), HEIC's own thumbnail,
JPEG XL, AVIF; one registry for the scan, the bytes and the Open dialog."""
from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from conftest import cli, photo
from raw_files import write_dng
from simgui.core.media.decode import MODEL_SIDE, decode_bytes, decode_file
from simgui.core.media.formats import FORMATS, SCANNED_EXTENSIONS, open_dialog_filter, sniff_format


def _alike(a: Image.Image, b: Image.Image) -> float:
    x, y = (np.asarray(p.convert("L").resize((64, 64)), np.float32) for p in (a, b))
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def _photo() -> Image.Image:
    return Image.open(photo("chelsea")).convert("RGB")


def test_one_registry_names_every_format_for_the_scan_and_the_open_dialog():
    for extension in (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".jxl", ".avif", ".heic"):
        assert extension in SCANNED_EXTENSIONS
        assert f"*{extension}" in open_dialog_filter()
    assert {f.name for f in FORMATS if f.metadata_writable} == {"JPEG"}


def test_the_name_tells_a_raw_from_a_tiff_only_when_the_bytes_agree():
    tiff_head, png_head = b"II*\x00" + bytes(28), b"\x89PNG\r\n\x1a\n" + bytes(24)
    assert sniff_format(tiff_head, "/photos/IMG_0001.dng") == "RAW"
    assert sniff_format(tiff_head, "/photos/scan.tif") == "TIFF"
    assert sniff_format(png_head, "/photos/IMG_0001.dng") == "PNG"  # a PNG named .dng is a PNG
    assert sniff_format(b"\x00\x00\x00\x18ftypcrx " + bytes(20), "/photos/IMG_0001.CR3") == "RAW"


@pytest.mark.parametrize("preview", [False, True], ids=["sensor data only", "with the camera's preview"])
def test_a_dng_made_from_a_real_photo_decodes_upright_with_its_size_and_date(tmp_path, preview):
    source = _photo()
    path = write_dng(source, tmp_path / "IMG_0001.dng", preview=preview, captured="2024:05:06 07:08:09")
    decoded = decode_file(str(path))
    assert decoded.format == "RAW"
    assert (decoded.width, decoded.height) == (source.width // 2 * 2, source.height // 2 * 2)  # a sensor's even size
    assert decoded.captured_at == "2024-05-06T07:08:09"
    assert min(decoded.picture.size) >= MODEL_SIDE // 2  # a half-size demosaic of a small sensor, or the preview
    assert _alike(decoded.picture, source) > 0.97


@pytest.mark.parametrize("preview", [False, True], ids=["sensor data only", "with the camera's preview"])
def test_a_dng_shot_in_portrait_decodes_upright(tmp_path, preview):
    source = _photo()
    path = write_dng(source, tmp_path / "IMG_0002.dng", preview=preview, orientation=6)  # turn 90 degrees clockwise
    decoded = decode_file(str(path))
    upright = source.transpose(Image.ROTATE_270)
    assert decoded.width < decoded.height
    assert _alike(decoded.picture, upright) > 0.97


def test_a_dng_preview_is_read_instead_of_demosaicing_the_sensor(tmp_path):
    big = _photo().resize((3000, 2000))
    with_preview = write_dng(big, tmp_path / "a.dng", preview=True).read_bytes()
    without = write_dng(big, tmp_path / "b.dng").read_bytes()
    timings = {}
    for name, data in (("preview", with_preview), ("demosaic", without)):
        started = time.perf_counter()
        decoded = decode_bytes(data, name="x.dng")
        timings[name] = time.perf_counter() - started
        assert _alike(decoded.picture, big) > 0.97
    assert timings["preview"] < timings["demosaic"]  # not a speed claim: which path ran (factor ~50 here)


def test_a_heic_is_read_from_its_own_thumbnail_when_it_shows_the_photo():
    source = _photo().resize((2016, 1512))  # 4:3 as a phone's, so the thumbnail is 320x240
    with_thumbnail, without = io.BytesIO(), io.BytesIO()
    source.save(with_thumbnail, "HEIF", quality=80, thumbnails=[320])
    source.save(without, "HEIF", quality=80, thumbnails=[])
    fast, full = decode_bytes(with_thumbnail.getvalue()), decode_bytes(without.getvalue())
    assert fast.picture.size == (320, 240) and full.picture.size != (320, 240)
    assert (fast.width, fast.height) == (full.width, full.height) == (2016, 1512)
    assert _alike(fast.picture, full.picture) > 0.98


def _boxes(data: bytes, start: int, end: int):
    """(type, offset of its content, end) of each ISO base media box between start and end."""
    while start + 8 <= end:
        size, kind = int.from_bytes(data[start:start + 4], "big"), data[start + 4:start + 8]
        yield kind, start + 8, start + size
        start += size


def _with_thumbnail_of_another_picture(photo_size: tuple[int, int], other_size: tuple[int, int]) -> bytes:
    """A HEIC whose thumbnail shows another picture, as an editor that rewrites the photo and keeps the old
    thumbnail leaves it: the photo (no thumbnail) and a second picture with one are written, then the
    thumbnail's reference ('thmb' in the iref box) is pointed at the photo, in place."""
    import pillow_heif

    written = pillow_heif.from_pillow(_photo().resize(photo_size))
    written.add_from_pillow(Image.open(photo("rocket")).convert("RGB").resize(other_size))
    written[0].info["thumbnails"], written[1].info["thumbnails"] = [], [320]
    out = io.BytesIO()
    written.save(out, quality=80)
    data = bytearray(out.getvalue())
    meta_at, meta_end = next((at, end) for kind, at, end in _boxes(data, 0, len(data)) if kind == b"meta")
    children = list(_boxes(data, meta_at + 4, meta_end))  # meta is a full box: version and flags first
    primary = next(int.from_bytes(data[at + 4:at + 6], "big") for kind, at, _ in children if kind == b"pitm")
    iref_at, iref_end = next((at, end) for kind, at, end in children if kind == b"iref")
    for kind, at, _ in _boxes(data, iref_at + 4, iref_end):
        if kind == b"thmb":  # the thumbnail's id, a count, then the pictures it shows (16 bits each)
            data[at + 4:at + 6] = primary.to_bytes(2, "big")
            return bytes(data)
    raise AssertionError("no thumbnail was written")


def test_a_heic_thumbnail_of_another_picture_is_not_read_for_the_photo():
    stale = _with_thumbnail_of_another_picture((2016, 1512), (1600, 1600))
    import pillow_heif
    assert pillow_heif.open_heif(io.BytesIO(stale)).info["thumbnails"] == [320]  # the photo's thumbnail now
    decoded = decode_bytes(stale)
    assert decoded.picture.size != (320, 320)  # not the thumbnail: the photo, decoded whole
    assert _alike(decoded.picture, _photo().resize((2016, 1512))) > 0.97


@pytest.mark.parametrize("kind", ["JXL", "AVIF"])
def test_jpeg_xl_and_avif_decode(kind):
    source = _photo()
    data = io.BytesIO()
    source.save(data, kind, quality=80)
    decoded = decode_bytes(data.getvalue())
    assert decoded.format == kind and (decoded.width, decoded.height) == source.size
    assert _alike(decoded.picture, source) > 0.97


def _near_groups_beside_two_others(folder, library) -> list[list[str]]:
    """The near groups (file names) simgui-cli finds in `folder` once two unrelated photos are added to it."""
    for name in ("coffee", "rocket"):
        Image.open(photo(name)).convert("RGB").save(folder / f"{name}.jpg")
    assert cli(library, "index", str(folder)).returncode == 0
    groups = json.loads(cli(library, "groups", "--json").stdout)["groups"]
    return [sorted(m["path"].rsplit("/", 1)[1] for m in g["members"]) for g in groups if g["kind"] == "near"]


def test_a_raw_and_its_jpeg_export_in_another_folder_are_near(tmp_path):
    folder = tmp_path / "photos"
    (folder / "raw").mkdir(parents=True)
    (folder / "exports").mkdir()
    source = _photo().resize((1800, 1200))
    write_dng(source, folder / "raw" / "IMG_0001.dng", preview=True)
    source.resize((900, 600)).save(folder / "exports" / "holiday.jpg", quality=80)
    assert _near_groups_beside_two_others(folder, tmp_path / "library") == [["IMG_0001.dng", "holiday.jpg"]]


def test_a_phone_heic_read_from_its_thumbnail_and_its_jpeg_export_are_near(tmp_path):
    import pillow_heif

    folder = tmp_path / "photos"
    folder.mkdir()
    shot = _photo().resize((2016, 1512))  # 4:3 as a phone's: its thumbnail is 320x240
    pillow_heif.from_pillow(shot).save(folder / "IMG_0001.HEIC", quality=60, thumbnails=[320])
    shot.resize((1200, 900)).save(folder / "IMG_0001 export.jpg", quality=85)
    assert _near_groups_beside_two_others(folder, tmp_path / "library") == [["IMG_0001 export.jpg", "IMG_0001.HEIC"]]


def test_a_broken_or_truncated_raw_is_skipped_with_a_reason(tmp_path):
    """(A RAW cut after its preview still shows its preview: that part of it is whole.)"""
    from simgui.core.media.decode import DecodeError

    whole = write_dng(_photo(), tmp_path / "whole.dng", preview=True).read_bytes()
    for name, data in (("garbage.dng", b"II*\x00" + bytes(range(256)) * 40), ("cut.dng", whole[:len(whole) // 20])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DecodeError, match="RAW"):
            decode_file(str(tmp_path / name))


def test_the_photo_viewer_shows_formats_qt_cannot_read(qtbot, tmp_path):
    from simgui.gui.photo_view import load_upright_image

    source = _photo()
    path = write_dng(source, tmp_path / "IMG_0003.dng", preview=True)
    jxl = tmp_path / "export.jxl"
    source.save(jxl, "JXL", quality=80)
    for shown in (load_upright_image(str(path)).image, load_upright_image(str(jxl)).image):
        assert not shown.isNull()
        assert abs(shown.width() / shown.height() - source.width / source.height) < 0.02
