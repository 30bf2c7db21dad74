import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import photo
from simgui.core.media.decode import WORKING_SIZE, DecodeError, decode_bytes, decode_file, sniff_format


def _write(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


@pytest.fixture
def rgb() -> Image.Image:
    return Image.open(photo("chelsea")).convert("RGB")


@pytest.mark.parametrize("fmt,suffix,mode", [
    ("JPEG", ".jpg", "RGB"), ("PNG", ".png", "RGBA"), ("PNG", ".png", "P"), ("WEBP", ".webp", "RGB"),
    ("GIF", ".gif", "P"), ("TIFF", ".tif", "RGB"), ("BMP", ".bmp", "RGB"), ("JPEG", ".jpg", "CMYK"),
])
def test_formats_decode_to_upright_rgb(tmp_path, rgb, fmt, suffix, mode):
    img = rgb.convert(mode) if mode != "P" else rgb.quantize(64)
    path = _write(img, tmp_path / f"x{suffix}", format=fmt)
    decoded = decode_file(str(path))
    assert decoded.picture.mode == "RGB"
    assert (decoded.width, decoded.height) == rgb.size
    assert decoded.format == ("JPEG" if fmt == "JPEG" else fmt)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = (np.tile(np.linspace(0, 65535, 256), (64, 1))).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    picture = np.asarray(decode_file(str(path)).picture)
    assert picture[..., 0].min() < 10 and picture[..., 0].max() > 245


def test_gif_first_frame(tmp_path, rgb):
    frames = [rgb.quantize(32), Image.new("RGB", rgb.size, "red").quantize(2)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    picture = np.asarray(decode_file(str(path)).picture, np.float32)
    assert picture.std() > 20  # the cat, not the flat red second frame


def test_heif(tmp_path, rgb):
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "phone.heic"
    pillow_heif.from_pillow(rgb).save(str(path), quality=80)
    decoded = decode_file(str(path))
    assert decoded.format == "HEIF" and (decoded.width, decoded.height) == rgb.size


def test_exif_orientation_is_applied(tmp_path, rgb):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _write(rgb.transpose(Image.ROTATE_90), tmp_path / "rot.jpg", exif=exif.tobytes())
    decoded = decode_file(str(path))
    assert (decoded.width, decoded.height) == rgb.size
    assert decoded.picture.size[0] > decoded.picture.size[1]


def test_capture_time_from_exif(tmp_path, rgb):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 16:05:09"
    path = _write(rgb, tmp_path / "dated.jpg", exif=exif.tobytes())
    assert decode_file(str(path)).captured_at == "2019-07-14T16:05:09"


def test_malformed_exif_is_ignored(tmp_path, rgb):
    path = _write(rgb, tmp_path / "badexif.jpg", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    assert decode_file(str(path)).captured_at is None


def test_large_jpeg_decodes_in_draft_mode(tmp_path, rgb):
    big = rgb.resize((4000, 3000))
    path = _write(big, tmp_path / "camera.jpg", quality=85)
    decoded = decode_file(str(path))
    assert (decoded.width, decoded.height) == (4000, 3000)
    assert min(decoded.picture.size) <= 2 * WORKING_SIZE


def test_content_type_wins_over_extension(tmp_path, rgb):
    path = _write(rgb, tmp_path / "really_a_jpeg.png", format="JPEG")
    assert decode_file(str(path)).format == "JPEG"
    assert sniff_format(b"hello world") is None


def _bomb_png(path: Path, side: int) -> None:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    body = zlib.compress(b"\x00" * (side + 1) * 8, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(photo("rocket").read_bytes()[:5000]), "damaged"),
    (lambda p: p.write_bytes(os.urandom(4096)), "not an image"),
    (lambda p: p.write_text("just text"), "not an image"),
    (lambda p: _bomb_png(p, 40000), "too many pixels"),
    (lambda p: os.mkfifo(p), "not a regular file"),
])
def test_bad_files_are_refused_with_a_reason(tmp_path, make, reason):
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(DecodeError, match=reason):
        decode_file(str(path))


def test_vanished_file(tmp_path):
    with pytest.raises(DecodeError, match="cannot read"):
        decode_file(str(tmp_path / "gone.jpg"))


def test_a_tiff_that_makes_pillow_raise_a_type_error_is_just_damaged():
    # found by benchmarks/fuzz_decode.py: a strip offset of the wrong type reaches seek() as a float
    tiff = bytes.fromhex("49492a00080000008a000001040001000000600000000101040001000000400000000201030042500000"
                         "060100a401000000ffffffff0200000011010b00010000008c0000001501030001000000030000")
    with pytest.raises(DecodeError, match="damaged TIFF file"):
        decode_bytes(tiff)


def test_the_shutter_moment_is_read_from_date_time_original_and_its_sub_seconds_alone():
    def jpeg(tags: dict, details: dict) -> bytes:
        exif = Image.Exif()
        exif.update(tags)
        exif.get_ifd(0x8769).update(details)
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 60, 30)).save(out, "JPEG", exif=exif.tobytes())
        return out.getvalue()

    shot = decode_bytes(jpeg({0x0132: "2024:06:01 10:00:00"}, {0x9003: "2024:05:06 07:08:09", 0x9291: "045"}))
    assert (shot.captured_at, shot.shot_at) == ("2024-05-06T07:08:09", "2024-05-06T07:08:09.045")
    edited = decode_bytes(jpeg({0x0132: "2024:06:01 10:00:00"}, {}))  # an editor's save time: no shot
    assert (edited.captured_at, edited.shot_at) == ("2024-06-01T10:00:00", None)
