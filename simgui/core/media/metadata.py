"""Capture date and GPS position: copied onto a merge's keeper when it lacks them, without re-encoding a pixel.

A downscaled export often lost its EXIF while the phone's original kept it; when
the export is the keeper (or the original is merged away), the date and the
place should survive the merge. Only JPEG is written: its EXIF is one APP1
segment that can be swapped while every other byte stays as it was.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from simgui.core.media.decode import Captured, capture_time

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
# DateTimeOriginal, DateTimeDigitized, their UTC offsets and sub-seconds
CAPTURE_TAGS = (0x9003, 0x9004, 0x9010, 0x9011, 0x9291, 0x9292)
JPEG_START, APP1 = b"\xff\xd8", 0xE1
MAX_SEGMENT = 65533  # an APP1 segment's length field is 16 bits, and counts itself


def _exif(path: str) -> Image.Exif | None:
    try:
        with Image.open(path) as img:
            return img.getexif()
    except (OSError, UnidentifiedImageError):
        return None


def _has_capture_time(exif: Image.Exif) -> bool:
    return 0x9003 in exif.get_ifd(EXIF_IFD)


def _has_position(exif: Image.Exif) -> bool:
    return bool(exif.get_ifd(GPS_IFD))


@dataclass
class Enriched:
    data: bytes  # the keeper's new bytes: its own pixels and segments, with the EXIF segment swapped
    copied: list[str]  # what it gained, for the user: "capture date", "GPS position"
    captured: Captured


def enriched_keeper(keeper_path: str, donor_paths: list[str]) -> Enriched | None:
    """The keeper's bytes with the capture time and GPS it lacks taken from the first donor that has them,
    and what was copied; None when the keeper is not a JPEG or lacks nothing a donor has."""
    with open(keeper_path, "rb") as f:
        head = f.read(len(JPEG_START))
        if head != JPEG_START:
            return None  # looked at before the rest is read: a keeper can be a clip of gigabytes
        original = head + f.read()
    keeper = _exif(keeper_path)
    if keeper is None:
        return None
    copied = []
    for donor_path in donor_paths:
        donor = _exif(donor_path)
        if donor is None:
            continue
        if "capture date" not in copied and not _has_capture_time(keeper) and _has_capture_time(donor):
            keeper_ifd, donor_ifd = keeper.get_ifd(EXIF_IFD), donor.get_ifd(EXIF_IFD)
            keeper_ifd.update({tag: donor_ifd[tag] for tag in CAPTURE_TAGS if tag in donor_ifd})
            copied.append("capture date")
        if "GPS position" not in copied and not _has_position(keeper) and _has_position(donor):
            keeper[GPS_IFD] = dict(donor.get_ifd(GPS_IFD))
            copied.append("GPS position")
    if not copied:
        return None
    segment = keeper.tobytes()
    if len(segment) > MAX_SEGMENT:
        return None  # a huge maker note: leave the keeper as it is rather than drop part of it
    data = _with_exif_segment(original, segment)
    with Image.open(io.BytesIO(data)) as img:
        return Enriched(data, copied, capture_time(img))


def _with_exif_segment(jpeg: bytes, exif: bytes) -> bytes:
    """The JPEG with its EXIF APP1 segment replaced (or added after the JFIF header); all else byte for byte."""
    out, pos = [JPEG_START], 2
    inserted = False
    while pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        if marker == 0xDA:  # start of scan: the image data follows, no more header segments
            break
        length = int.from_bytes(jpeg[pos + 2:pos + 4], "big")
        segment = jpeg[pos:pos + 2 + length]
        if marker == APP1 and segment[4:10] == b"Exif\x00\x00":
            pos += 2 + length
            continue  # the old EXIF: replaced below
        if not inserted and marker != 0xE0:  # after JFIF (APP0), before everything else
            out.append(_app1(exif))
            inserted = True
        out.append(segment)
        pos += 2 + length
    if not inserted:
        out.append(_app1(exif))
    out.append(jpeg[pos:])
    return b"".join(out)


def _app1(exif: bytes) -> bytes:
    return b"\xff" + bytes([APP1]) + (len(exif) + 2).to_bytes(2, "big") + exif
