"""Every picture format simgui reads, in one place: the names a scan looks for, the bytes that say what
a file really is, the Open dialog's filter, and whether a merge may write its metadata.

Adding a format is one entry in FORMATS (and, if Pillow cannot open it, one reader in decode.py).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PictureFormat:
    name: str  # as decode reports it (Pillow's format name, or "RAW")
    label: str  # for people: the Open dialog
    extensions: tuple[str, ...]
    signatures: tuple[tuple[int, bytes], ...] = ()  # (offset, bytes) any of which starts a file of this format
    metadata_writable: bool = False  # a merge may swap in the capture date and GPS (metadata.py)


# RAW files of most cameras are TIFF inside (CR2, NEF, ARW, DNG, PEF, SRW...): the extension tells them from
# a TIFF, the bytes that they are no disguised something else
_TIFF = ((0, b"II*\x00"), (0, b"MM\x00*"))
FORMATS = (
    PictureFormat("JPEG", "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif"), ((0, b"\xff\xd8\xff"),), metadata_writable=True),
    PictureFormat("MPO", "JPEG", (".mpo",), ((0, b"\xff\xd8\xff"),)),
    PictureFormat("PNG", "PNG", (".png",), ((0, b"\x89PNG\r\n\x1a\n"),)),
    PictureFormat("GIF", "GIF", (".gif",), ((0, b"GIF87a"), (0, b"GIF89a"))),
    PictureFormat("WEBP", "WebP", (".webp",), ((8, b"WEBP"),)),
    PictureFormat("TIFF", "TIFF", (".tif", ".tiff"), _TIFF),
    PictureFormat("BMP", "BMP", (".bmp", ".dib"), ((0, b"BM"),)),
    PictureFormat("HEIF", "HEIC", (".heic", ".heif", ".hif"),
                  tuple((8, brand) for brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim",
                                                 b"heis"))),
    PictureFormat("AVIF", "AVIF", (".avif",), ((8, b"avif"), (8, b"avis"))),
    PictureFormat("JXL", "JPEG XL", (".jxl",), ((0, b"\xff\x0a"), (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n"))),
    PictureFormat("RAW", "Camera RAW", (
        ".dng", ".cr2", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".pef", ".srw", ".erf", ".kdc", ".dcr",
        ".mos", ".mef", ".3fr", ".iiq", ".rwl", ".raw", ".cr3", ".raf", ".orf", ".rw2"),
        _TIFF + ((4, b"ftypcrx "), (0, b"FUJIFILMCCD-RAW"), (0, b"IIRO"), (0, b"IIRS"), (0, b"MMOR"),
                 (0, b"IIU\x00"))),
)
BY_NAME = {f.name: f for f in FORMATS}
SCANNED_EXTENSIONS = frozenset(e for f in FORMATS for e in f.extensions)
HEAD_BYTES = 32  # enough of a file to tell its format


def _extension(path: str | None) -> str:
    if not path:
        return ""
    dot = path.rfind(".")
    return path[dot:].lower() if dot > path.rfind("/") else ""


def sniff_format(head: bytes, path: str | None = None) -> str | None:
    """The format a file's first bytes say it is (its name only tells a camera's RAW from a plain TIFF,
    whose bytes start alike), or None for anything else."""
    raw = BY_NAME["RAW"]
    if _extension(path) in raw.extensions and _starts(head, raw):
        return "RAW"
    for picture_format in FORMATS:
        if picture_format is not raw and picture_format.name != "MPO" and _starts(head, picture_format):
            return picture_format.name
    if head[4:12] == b"ftypcrx ":  # a CR3 whatever its name: nothing else reads it
        return "RAW"
    return None


def _starts(head: bytes, picture_format: PictureFormat) -> bool:
    if picture_format.name == "WEBP" and head[:4] != b"RIFF":
        return False
    if picture_format.name in ("HEIF", "AVIF") and head[4:8] != b"ftyp":
        return False
    return any(head[offset:offset + len(magic)] == magic for offset, magic in picture_format.signatures)


def open_dialog_filter() -> str:
    """"Images (*.jpg *.jpeg ...)" for a file dialog: every extension the scan looks for."""
    return "Images (" + " ".join(f"*{e}" for f in FORMATS for e in f.extensions) + ")"


def is_picture_name(name: str) -> bool:
    return _extension(name) in SCANNED_EXTENSIONS
