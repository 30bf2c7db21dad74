"""Every picture and video format simgui reads, in one place: the names a scan looks for, the bytes that say what
a file really is, what opens it, the Open dialog's filter, and whether a merge may write its metadata.

Adding a format that Pillow or a Pillow plugin opens is one entry in FORMATS; a format neither opens needs
a reader of its own in decode.py as well (LibRaw's, for RAW). Videos are one entry, read by FFmpeg through PyAV
(video.py): a clip's container says little of its codec, and FFmpeg reads them all.
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class PictureFormat:
    name: str  # as decode reports it (Pillow's format name, or "RAW")
    label: str  # for people: the Open dialog
    extensions: tuple[str, ...]
    # what starts a file of this format: any one signature, each a set of (offset, bytes) that all must be there
    signatures: tuple[tuple[tuple[int, bytes], ...], ...] = ()
    metadata_writable: bool = False  # a merge may swap in the capture date and GPS (metadata.py)
    # Pillow reads its EXIF without a pixel (a PNG's may follow its pixels, and load them): decode.read_shot_time
    exif_before_pixels: bool = False
    reader: str = "pillow"  # what opens it: "pillow", "libraw" (raw.py) or "pyav" (video.py)
    plugin: str | None = None  # the module that teaches Pillow the format, when Pillow lacks it

    def starts(self, head: bytes) -> bool:
        return any(all(head[offset:offset + len(magic)] == magic for offset, magic in signature)
                   for signature in self.signatures)


def _brands(*brands: bytes) -> tuple[tuple[tuple[int, bytes], ...], ...]:
    """ISO base media files (HEIF, AVIF, CR3): an ftyp box first, its major brand after it."""
    return tuple(((4, b"ftyp"), (8, brand)) for brand in brands)


FORMATS = (
    PictureFormat("JPEG", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"), (((0, b"\xff\xd8\xff"),),),
                  metadata_writable=True, exif_before_pixels=True),
    # Pillow names a multi-picture JPEG "MPO"; its bytes are a JPEG's, so the bytes say JPEG
    PictureFormat("MPO", "JPEG", (".mpo",), exif_before_pixels=True),
    PictureFormat("PNG", "PNG", (".png",), (((0, b"\x89PNG\r\n\x1a\n"),),)),
    PictureFormat("GIF", "GIF", (".gif",), (((0, b"GIF87a"),), ((0, b"GIF89a"),))),
    PictureFormat("WEBP", "WebP", (".webp",), (((0, b"RIFF"), (8, b"WEBP")),)),
    PictureFormat("TIFF", "TIFF", (".tif", ".tiff"), (((0, b"II*\x00"),), ((0, b"MM\x00*"),)), exif_before_pixels=True),
    PictureFormat("BMP", "BMP", (".bmp", ".dib"), (((0, b"BM"),),)),
    PictureFormat("HEIF", "HEIC", (".heic", ".heif", ".hif"),
                  _brands(b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"),
                  plugin="pillow_heif.HeifImagePlugin", exif_before_pixels=True),
    PictureFormat("AVIF", "AVIF", (".avif",), _brands(b"avif", b"avis")),
    PictureFormat("JXL", "JPEG XL", (".jxl",), (((0, b"\xff\x0a"),), ((0, b"\x00\x00\x00\x0cJXL \r\n\x87\n"),)),
                  plugin="pillow_jxl"),
    # the RAWs with signatures of their own; most cameras' RAW (CR2, NEF, ARW, DNG, PEF, SRW...) is TIFF inside,
    # and only its name tells it from a TIFF (sniff_format)
    PictureFormat("RAW", "Camera RAW", (
        ".dng", ".cr2", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".pef", ".srw", ".erf", ".kdc", ".dcr",
        ".mos", ".mef", ".3fr", ".iiq", ".rwl", ".raw", ".cr3", ".raf", ".orf", ".rw2"),
        _brands(b"crx ") + (((0, b"FUJIFILMCCD-RAW"),), ((0, b"IIRO"),), ((0, b"IIRS"),), ((0, b"MMOR"),),
                            ((0, b"IIU\x00"),)), reader="libraw", exif_before_pixels=True),
    # last: any ISO media file that no picture format above claimed by its brand is a clip (mp4, mov, 3gp)
    PictureFormat("VIDEO", "Video", (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".3gp"),
                  (((4, b"ftyp"),), ((4, b"moov"),), ((4, b"mdat"),), ((4, b"wide"),), ((0, b"\x1aE\xdf\xa3"),),
                   ((0, b"RIFF"), (8, b"AVI "))), reader="pyav"),
)
BY_NAME = {f.name: f for f in FORMATS}
SCANNED_EXTENSIONS = frozenset(e for f in FORMATS for e in f.extensions)
WRITABLE_FORMATS = frozenset(f.name for f in FORMATS if f.metadata_writable)  # a merge may add date/GPS to these
HEAD_BYTES = 32  # enough of a file to tell its format


def _extension(path: str | None) -> str:
    if not path:
        return ""
    dot = path.rfind(".")
    return path[dot:].lower() if dot > path.rfind("/") else ""


def sniff_format(head: bytes, path: str | None = None) -> str | None:
    """The format a file's first bytes say it is, or None for anything else. The name is looked at only to
    tell a camera's RAW from a plain TIFF, whose bytes start alike."""
    for picture_format in FORMATS:
        if picture_format.starts(head):
            if picture_format.name == "TIFF" and _extension(path) in BY_NAME["RAW"].extensions:
                return "RAW"
            return picture_format.name
    return None


def open_dialog_filter() -> str:
    """"Photos and videos (*.jpg *.jpeg ...)" for a file dialog: every extension the scan looks for."""
    return "Photos and videos (" + " ".join(f"*{e}" for f in FORMATS for e in f.extensions) + ")"


def is_library_name(name: str) -> bool:
    """Whether a scan looks at a file of this name (a photo or a clip)."""
    return _extension(name) in SCANNED_EXTENSIONS


def is_video_name(name: str) -> bool:
    return _extension(name) in BY_NAME["VIDEO"].extensions


LIVE_PHOTO_MOTION = ".mov"  # by its stem only: IMG_0001.HEIC.MOV is no camera's name
LIVE_PHOTO_STILLS = (".heic", ".heif", ".jpg", ".jpeg")  # what a phone writes beside a Live Photo's motion


def is_live_photo_motion(name: str, names_beside: set[str]) -> bool:
    """Whether a video of this name is a Live Photo's motion part, given the names in its folder: then it is its
    photo's sidecar (files/sidecars.py), which goes and comes back with it, not a clip of its own."""
    stem, ext = os.path.splitext(name)
    return ext.lower() == LIVE_PHOTO_MOTION and any(
        os.path.splitext(n)[0] == stem and os.path.splitext(n)[1].lower() in LIVE_PHOTO_STILLS for n in names_beside)
