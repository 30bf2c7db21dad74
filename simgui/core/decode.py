"""Turns a file into a small, upright RGB picture, or a reason why not.

Every guard here is about files a photo library really holds: things that are
not regular files (FIFOs would block a reader forever), files that are not
images whatever their name says, decompression bombs, broken EXIF.
"""
from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import simplejpeg
from PIL import Image, ImageFile

from simgui.core.hashes import content_hash, difference_hash

try:  # HEIC/HEIF from phones; optional so a broken wheel never stops JPEG work
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIF_SUPPORTED = False

MAX_PIXELS = 180_000_000  # a 40000x40000 PNG is a bomb; the largest camera sensors are ~100 MP
MAX_FILE_BYTES = 512 * 1024 * 1024
WORKING_SIZE = 256  # decoded pictures are at least this on their short side: JPEG draft mode decodes 4000x3000 at 1/8
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "HEIF", "AVIF"}
EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132

# Pillow's own bomb check raises only above 2x its limit and warns below; ours is the one that counts.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


class DecodeError(Exception):
    """A file that is not a usable image; the message is shown to the user as the skip reason."""


@dataclass
class DecodedImage:
    picture: Image.Image  # RGB, upright, short side about WORKING_SIZE (or smaller when the file is)
    width: int  # full-resolution size, upright
    height: int
    format: str
    content_hash: str
    perceptual_hash: int
    captured_at: str | None  # ISO 8601 from EXIF, when the camera recorded it


# Magic numbers of the formats we accept: the name of a file says nothing about what it holds.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis", b"avif", b"avis"}


def sniff_format(head: bytes) -> str | None:
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def read_image_bytes(path: str) -> bytes:
    """Reads a regular file, refusing what would hang or exhaust memory."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError("not a regular file")
    if st.st_size == 0:
        raise DecodeError("empty file")
    if st.st_size > MAX_FILE_BYTES:
        raise DecodeError(f"file too large ({st.st_size} bytes)")
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc


def capture_time(img: Image.Image) -> str | None:
    try:
        exif = img.getexif()
        raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
        if not raw:
            return None
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:  # malformed EXIF is common and never a reason to skip a photo
        return None


_ORIENTATION_FIX = {2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
                    5: Image.TRANSPOSE, 6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}


def _orientation(img: Image.Image) -> int:
    try:
        value = int(img.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # broken orientation tags: show the pixels as stored
        return 1
    return value if value in _ORIENTATION_FIX else 1


def _decode_jpeg_scaled(data: bytes) -> Image.Image | None:
    """libjpeg-turbo's scaled decode through simplejpeg: about 10 % less CPU than Pillow's draft mode.

    None for what it cannot do (CMYK, odd colour spaces); Pillow handles those."""
    try:
        pixels = simplejpeg.decode_jpeg(data, "RGB", fastdct=True, fastupsample=True,
                                        min_width=WORKING_SIZE, min_height=WORKING_SIZE)
    except ValueError:
        return None
    return Image.fromarray(np.ascontiguousarray(pixels))


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # transparent areas read as white, like every image viewer shows them on a light page
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clip
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


def decode_bytes(data: bytes, digest: str | None = None) -> DecodedImage:
    """digest: the content hash when the caller already has it (hashing a camera file costs 1.5 ms)."""
    kind = sniff_format(data[:32])
    if kind is None:
        raise DecodeError("not an image (unknown content)")
    if kind == "HEIF" and not HEIF_SUPPORTED:
        raise DecodeError("HEIF support is not installed")
    try:
        img = Image.open(io.BytesIO(data))
        if img.format not in ACCEPTED_FORMATS:
            raise DecodeError(f"unsupported format {img.format}")
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise DecodeError(f"too many pixels ({width}x{height}): possible decompression bomb")
        captured_at = capture_time(img)
        orientation = _orientation(img)
        picture = _decode_jpeg_scaled(data) if img.format in ("JPEG", "MPO") and img.mode in ("RGB", "L") else None
        if picture is None:
            if img.format == "JPEG":
                img.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # DCT scaling: 4000x3000 decodes as 500x375
            img.seek(0)  # first frame of GIF / multi-page TIFF
            img.load()
            picture = _to_rgb(img)
        if orientation != 1:
            picture = picture.transpose(_ORIENTATION_FIX[orientation])
        if min(picture.size) > 2 * WORKING_SIZE:
            picture.thumbnail((picture.width * WORKING_SIZE // min(picture.size),) * 2, Image.BILINEAR)
    except DecodeError:
        raise
    except MemoryError as exc:
        raise DecodeError("image too large to decode") from exc
    except Exception as exc:
        # Pillow's parsers meet hostile bytes with every kind of error (the fuzzer found a TypeError in
        # the TIFF reader): whatever the parser raises, the file is damaged, and the library goes on
        raise DecodeError(f"damaged {kind} file: {exc or type(exc).__name__}") from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return DecodedImage(picture=picture, width=width, height=height, format=kind,
                        content_hash=digest or content_hash(data), perceptual_hash=difference_hash(picture),
                        captured_at=captured_at)


def decode_file(path: str) -> DecodedImage:
    return decode_bytes(read_image_bytes(path))
