"""Turns a file into a small, upright RGB picture, or a reason why not.

Every guard here is about files a photo library really holds: things that are
not regular files (FIFOs would block a reader forever), files that are not
images whatever their name says, decompression bombs, broken EXIF.

Memory is bounded by pixels, not by file size (a 38-byte WebP can hold 2.5 GB of
pixels). JPEGs decode at reduced size; other formats decode only whole, so
their bigger pictures are converted and reduced a band of rows at a time, and
every decode first takes the bytes it will need at its peak from one budget
shared by all decode threads: a picture that cannot fit it is refused.
"""
from __future__ import annotations

import importlib
import io
import logging
from contextlib import contextmanager
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Iterator, NamedTuple

import numpy as np
import simplejpeg
from PIL import Image, ImageFile, UnidentifiedImageError

from simgui.core.media.decode_budget import MemoryBudget
from simgui.core.media.formats import BY_NAME, FORMATS, HEAD_BYTES, sniff_format
from simgui.core.media.hashes import content_hash, difference_hash, stream_sha256
from simgui.core.media.raw import RawError, decode_raw

# Formats whose Pillow plugin is missing: optional, so a broken wheel never stops JPEG work (both plugins are
# declared dependencies); a file of such a format is skipped saying so, not called damaged
MISSING_READERS: set[str] = set()
for _format in FORMATS:
    if _format.plugin is not None:
        try:  # the plugin registers its opener with Pillow when imported
            importlib.import_module(_format.plugin)
        except ImportError:  # pragma: no cover
            MISSING_READERS.add(_format.name)

log = logging.getLogger(__name__)
MAX_PIXELS = 180_000_000  # a 40000x40000 PNG is a bomb; the largest camera sensors are ~100 MP
MAX_FILE_BYTES = 512 * 1024 * 1024
MODEL_SIDE = 224  # the model's input: a HEIF thumbnail or RAW preview this big is used instead of the photo
WORKING_SIZE = 256  # decoded pictures are at least this on their short side: JPEG draft mode decodes 4000x3000 at 1/8
# Decoded pixels held by all decode threads at once: with the rest of an indexing process (the model, Python:
# about 150 MB) a hostile folder stays under 1 GB. One picture whose decode needs more is refused: a phone's
# 48 MP HEIF fits (582 MB: at 512 MB it was refused), an 8-bit RGB PNG up to ~150 MP, a WebP up to ~30 MP
# (its decoder keeps copies), a baseline JPEG any size (at 1/8).
DECODE_MEMORY = 640 * 1024 * 1024
DECODE_BUDGET = MemoryBudget(DECODE_MEMORY, wait_seconds=20.0)  # under the indexer's 30 s a file
READ_BUDGET = MemoryBudget(MAX_FILE_BYTES, wait_seconds=20.0)  # files' bytes held while they are decoded
BAND_PIXELS = 1 << 20  # a big picture is converted to RGB and reduced this many pixels at a time
ACCEPTED_FORMATS = {f.name for f in FORMATS if f.reader == "pillow"}  # what Pillow may open
EXIF_ORIENTATION = 0x0112
EXIF_IFD = 0x8769
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132
EXIF_SUBSEC_ORIGINAL = 0x9291

# Pillow's own bomb check raises only above 2x its limit and warns below; ours is the one that counts.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow keeps pixels in blocks (16 MB by default). Blocks above glibc's largest mmap threshold (32 MB) go back
# to the system the moment a picture is freed; smaller ones stay in the freeing thread's malloc arena, where
# the next big picture, decoded by another thread, cannot reuse them: a hostile folder then peaked at 1.0 GB
# for a 512 MB budget, and at 0.7 GB with these blocks (benchmarks/hostile_folder.py).
Image.core.set_block_size(64 * 1024 * 1024)


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
    shot_at: str | None = None  # the shutter's moment alone (Captured.shot): tells two shots of a burst apart


def _regular_file_size(path: str) -> int:
    """The size of a regular file that is not empty, or DecodeError saying why not."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise DecodeError("not a regular file")
    if st.st_size == 0:
        raise DecodeError("empty file")
    return st.st_size


def _readable_size(path: str) -> int:
    """The size of a regular file that may be read whole, or DecodeError saying why not."""
    size = _regular_file_size(path)
    if size > MAX_FILE_BYTES:
        raise DecodeError(f"file too large ({size} bytes)")
    return size


def file_content_hash(path: str) -> str:
    """content_hash of a file of any size (a clip), a chunk at a time: what a file action checks a file against
    right before moving it. DecodeError when it is no regular file or cannot be read."""
    _regular_file_size(path)
    with opened_regular_file(path) as f:
        return stream_sha256(f)


@contextmanager
def opened_regular_file(path: str) -> Iterator[BinaryIO]:
    """The file open for reading, if it is a regular file; DecodeError when it is not, or cannot be read."""
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since it was looked at, open must not wait for a writer
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise DecodeError("not a regular file")
            yield f
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc


def read_image_bytes(path: str) -> bytes:
    """Reads a regular file, refusing what would hang or exhaust memory.

    The head is looked at first: a 300 MB file that is not an image is refused, not read."""
    _readable_size(path)
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if sniff_format(f.read(HEAD_BYTES), path) is None:
                raise DecodeError("not an image (unknown content)")
            f.seek(0)
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DecodeError(f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:  # it grew since the stat
        raise DecodeError(f"file too large (over {MAX_FILE_BYTES} bytes)")
    return data


@contextmanager
def held_image_bytes(path: str) -> Iterator[bytes]:
    """read_image_bytes, its bytes counted in READ_BUDGET while the block works on them: the files read at
    once by all threads stay within MAX_FILE_BYTES together (with 8 decode threads, eight 500 MB files
    would otherwise be 4 GB before a pixel is decoded)."""
    size = _readable_size(path)
    try:
        READ_BUDGET.acquire(size)
    except TimeoutError as exc:
        raise DecodeError(f"waited {READ_BUDGET.wait_seconds:g} s to read {size >> 20} MB "
                          f"(other large files were being read)") from exc
    try:
        yield read_image_bytes(path)
    finally:
        READ_BUDGET.release(size)


class Captured(NamedTuple):
    """When a photo was taken, as its EXIF says."""
    at: str | None  # DateTimeOriginal, else DateTime (ISO 8601): the date to show and sort by
    # DateTimeOriginal with SubSecTimeOriginal, as the camera wrote them ("2024-05-06T07:08:09.123"): the
    # moment of the shot, which edits and exports keep; DateTime is left out, as editors rewrite it
    shot: str | None = None


def capture_time(img: Image.Image) -> Captured:
    try:
        return exif_capture_time(img.getexif())
    except Exception:  # malformed EXIF is common and never a reason to skip a photo
        return Captured(None)


def exif_capture_time(exif: Image.Exif) -> Captured:
    """The capture time in these EXIF tags; Captured(None) when neither date is there or readable."""
    try:
        details = exif.get_ifd(EXIF_IFD)
        original, subsec = details.get(EXIF_DATETIME_ORIGINAL), details.get(EXIF_SUBSEC_ORIGINAL)
        shot = _exif_date(original)
        if shot is not None and subsec is not None and str(subsec).strip("\x00 ").isdigit():
            shot += "." + str(subsec).strip("\x00 ")
        return Captured(_exif_date(original) or _exif_date(exif.get(EXIF_DATETIME)), shot)
    except Exception:  # malformed EXIF is common and never a reason to skip a photo
        return Captured(None)


def _exif_date(raw) -> str | None:
    try:
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat() if raw else None
    except ValueError:  # "0000:00:00 00:00:00", a date in another layout: no date
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


def _reduce_factor(size: tuple[int, int]) -> int:
    """The whole-number shrink that keeps the short side at least twice the working size (as thumbnail() would)."""
    return max(1, min(size) // (2 * WORKING_SIZE))


def _shrink_to_rgb(img: Image.Image) -> Image.Image:
    """RGB, reduced to about twice the working size a band of rows at a time: a picture that decodes as
    13000x13000 greys is never also held as 13000x13000 RGB (four times the bytes)."""
    factor = _reduce_factor(img.size)
    if factor == 1:
        return _to_rgb(img)
    width, height = img.size
    rows = max(factor, BAND_PIXELS // width // factor * factor)  # whole blocks of rows, so bands meet exactly
    picture = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        band = _to_rgb(img.crop((0, top, width, min(height, top + rows))))
        picture.paste(band.reduce(factor), (0, top // factor))
    return picture


# Bytes a pixel takes in Pillow's own picture (every other mode takes 4), and what each decoder holds beside
# it while it works, per pixel: the peak memory of one decode in a fresh process, measured, rounded up.
_PILLOW_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_DECODER_BYTES = {"WEBP": 16, "HEIF": 8, "AVIF": 8, "BMP": 2, "JPEG": 4, "MPO": 4}
# the copies _to_rgb makes of a transparent picture (RGBA, background, composite, RGB) and one more (a band's
# crop, or the upright copy of a picture too small to be reduced)
_CONVERSION_BYTES = 20


def _jpeg_first_scan_components(data: bytes) -> int:
    """How many colour components a JPEG's first scan codes (its SOS header, after every other segment), or -1."""
    at = 2
    while at + 5 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
        elif marker == 0xDA:
            return data[at + 4]
        else:
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return -1


def _jpeg_coefficient_bytes(img: Image.Image, data: bytes) -> int:
    """A progressive (or any multi-scan) JPEG keeps every DCT coefficient of the full-size picture while it
    decodes, two bytes each, at whatever scale it outputs: 430 MB for a 12000x12000 photo in 1.2 MB.
    A sequential JPEG whose first scan codes every component has no other scan, and decodes a row at a time."""
    layers = getattr(img, "layer", None) or [("", 1, 1, 0)] * 3
    if not img.info.get("progressive") and _jpeg_first_scan_components(data) == len(layers):
        return 0
    h_max, v_max = max(layer[1] for layer in layers), max(layer[2] for layer in layers)
    share = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)
    return int(img.width * img.height * share * 2)


def _tiff_tag(img: Image.Image, tag: int, default: int) -> int:
    """A size tag as libtiff reads it: the largest of several values; missing or not a positive number: default."""
    value = img.tag_v2.get(tag, default)
    value = max(value) if isinstance(value, tuple) and value else value
    return value if isinstance(value, int) and value > 0 else default


def _tiff_strip_bytes(img: Image.Image) -> int:
    """libtiff decodes a strip or a tile at a time (as RGBA for some colour spaces): the bytes of one."""
    width, height = img.size
    if 322 in img.tag_v2:  # TileWidth
        area = _tiff_tag(img, 322, width) * _tiff_tag(img, 323, height)
    else:
        area = width * min(height, _tiff_tag(img, 278, height))  # RowsPerStrip
    return area * max(4, -(-_tiff_tag(img, 277, 1) * _tiff_tag(img, 258, 8) // 8))  # samples, bits


def decode_cost(img: Image.Image) -> int:
    """Peak bytes of decoding an opened image (a JPEG at its draft scale): its decoded pixels, what its
    decoder holds beside them, and the working copies of the conversion to a small RGB picture."""
    pixels = img.width * img.height
    decoder = _tiff_strip_bytes(img) if img.format == "TIFF" else pixels * _DECODER_BYTES.get(img.format, 0)
    factor = _reduce_factor(img.size)
    converted = min(pixels, max(BAND_PIXELS, factor * img.width)) if factor > 1 else pixels
    return (decoder + pixels * _PILLOW_BYTES.get(img.mode, 4)
            + converted * _CONVERSION_BYTES + pixels // (factor * factor) * 12)


def _decode_picture(img: Image.Image, data: bytes) -> tuple[Image.Image, Captured, int]:
    """With the memory for img held: its picture (RGB, upright, short side about WORKING_SIZE), capture time
    and EXIF orientation."""
    picture = _decode_jpeg_scaled(data) if img.format in ("JPEG", "MPO") and img.mode in ("RGB", "L") else None
    if picture is None:
        # the first frame only: Image.open stands on it, and nothing here asks how many frames there are
        # (n_frames walks every frame of a GIF or TIFF: 100,000 of them in a 1.5 MB file)
        img.load()
    # after load(): a PNG's EXIF may follow its pixels, and getexif() would load them unbudgeted
    captured_at, orientation = capture_time(img), _orientation(img)
    if picture is None:
        picture = _shrink_to_rgb(img)
    if orientation != 1:
        picture = picture.transpose(_ORIENTATION_FIX[orientation])
    if min(picture.size) > 2 * WORKING_SIZE:
        picture.thumbnail((picture.width * WORKING_SIZE // min(picture.size),) * 2, Image.BILINEAR)
    return picture, captured_at, orientation


def _open(data: bytes, kind: str) -> Image.Image:
    """Pillow's reading of the header, checked against the formats and the size we accept."""
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise DecodeError(f"damaged {kind} file: its header cannot be read") from exc
    if img.format not in ACCEPTED_FORMATS:
        raise DecodeError(f"unsupported format {img.format}")
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise DecodeError(f"too many pixels ({width}x{height}): possible decompression bomb")
    return img


def _decode_within_budget(data: bytes, kind: str) -> tuple[Image.Image, Captured, int, tuple[int, int]]:
    img = _open(data, kind)
    size = img.size
    cost = 0
    if img.format in ("JPEG", "MPO"):
        cost = _jpeg_coefficient_bytes(img, data)  # at full size, whatever the scale
        img.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # DCT scaling: 4000x3000 decodes as 500x375
    elif img.format == "HEIF":
        # the file's own thumbnail when it is a scaled copy of the photo (pillow-heif checks its aspect,
        # crop, rotation and colour profile; an iPhone writes 320x240): a 12 MP HEIC decodes in ~390 ms
        img.draft("RGB", (MODEL_SIDE, MODEL_SIDE))
    cost += decode_cost(img)
    if cost > DECODE_BUDGET.limit:
        raise DecodeError(f"too large to decode safely: {size[0]}x{size[1]} {img.format} needs "
                          f"{cost >> 20} MB of memory (the limit is {DECODE_BUDGET.limit >> 20} MB)")
    try:
        with DECODE_BUDGET.hold(cost):
            try:
                picture, captured_at, orientation = _decode_picture(img, data)
            finally:
                img.close()  # the full-size pixels go now, while their bytes are still counted as held
    except TimeoutError as exc:
        raise DecodeError(f"waited {DECODE_BUDGET.wait_seconds:g} s for memory to decode "
                          f"{size[0]}x{size[1]} pixels (other large pictures were decoding)") from exc
    return picture, captured_at, orientation, size


def decode_bytes(data: bytes, digest: str | None = None, name: str | None = None) -> DecodedImage:
    """digest: the content hash when the caller already has it (hashing a camera file costs 1.5 ms); name: the
    file's name, which alone tells a camera's RAW from a TIFF (their bytes start alike)."""
    kind = sniff_format(data[:HEAD_BYTES], name)
    if kind is None:
        raise DecodeError("not an image (unknown content)")
    if kind in MISSING_READERS:
        raise DecodeError(f"{BY_NAME[kind].label} support is not installed")
    if BY_NAME[kind].reader == "pyav":
        raise DecodeError("a video clip named like a picture")
    try:
        if BY_NAME[kind].reader == "libraw":
            picture, captured_at, (width, height) = _decode_raw(data)
            orientation = 1
        else:
            picture, captured_at, orientation, (width, height) = _decode_within_budget(data, kind)
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
                        captured_at=captured_at.at, shot_at=captured_at.shot)


def _decode_raw(data: bytes) -> tuple[Image.Image, Captured, tuple[int, int]]:
    """A camera RAW through LibRaw (raw.py): upright picture, capture time, upright full size."""
    try:
        picture, size, preview = decode_raw(data, DECODE_BUDGET, _shrink_to_rgb, WORKING_SIZE, MODEL_SIDE)
    except RawError as exc:
        raise DecodeError(str(exc)) from exc
    except TimeoutError as exc:
        raise DecodeError(f"waited {DECODE_BUDGET.wait_seconds:g} s for memory to decode a RAW file "
                          f"(other large pictures were decoding)") from exc
    if min(picture.size) > 2 * WORKING_SIZE:
        picture.thumbnail((picture.width * WORKING_SIZE // min(picture.size),) * 2, Image.BILINEAR)
    return picture, _raw_capture_time(data, preview), size


def _raw_capture_time(data: bytes, preview: bytes | None) -> Captured:
    """The capture time in a RAW's own tags (TIFF-based RAWs: DNG, CR2, NEF, ARW...), else its preview's."""
    tags = _tiff_tags(data) if data[:4] in (b"II*\x00", b"MM\x00*") else None
    found = exif_capture_time(tags) if tags is not None else Captured(None)
    if found.at is None and preview is not None:
        try:
            with Image.open(io.BytesIO(preview)) as img:
                found = capture_time(img)
        except Exception:  # a preview Pillow cannot parse: the date is optional
            return Captured(None)
    return found


def _tiff_tags(data: bytes) -> Image.Exif | None:
    """The tags of a TIFF-structured file, read without a pixel; None when they cannot be."""
    tags = Image.Exif()
    try:
        tags.load(data)
    except Exception:  # broken tags: the date is optional
        return None
    return tags


def read_shot_time(path: str, picture_format: str | None) -> str:
    """A photo's shutter moment (Captured.shot) from its EXIF alone, no pixel decoded; "" when it has none or
    it cannot be read now (as for a new photo without one: the indexer looks again when the file changes)."""
    if picture_format not in BY_NAME or not BY_NAME[picture_format].exif_before_pixels:
        return ""
    try:
        with Image.open(path) as img:
            return capture_time(img).shot or ""
    except Exception as exc:  # a file changed or gone since, a RAW Pillow cannot open (CR3, RAF): no shutter time
        log.info("no shutter time read from %s: %r", path, exc)
        return ""


def decode_file(path: str) -> DecodedImage:
    with held_image_bytes(path) as data:
        return decode_bytes(data, name=path)
