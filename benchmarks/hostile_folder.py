"""Issue 17, item 10: a hostile folder indexes in under 1 GB of peak memory, every file with an outcome.

    python benchmarks/hostile_folder.py [--keep DIR] [--limit-mb 1024]

Writes 40+ kinds of hostile files (decompression bombs of every format simgui
reads: small files that claim or hold huge pixel counts, headers that lie,
truncated files, broken and hostile EXIF, huge frame counts, empty files,
non-images with image names, a FIFO, a symbolic link), then runs
`/usr/bin/time -v simgui-cli --library TMP index FOLDER` and prints, for each
file, whether it was indexed or skipped and why, and the run's peak RSS.
Exits 1 when the peak reaches the limit, the indexer crashed, or a file has no
outcome. Nothing here comes from any test set: every file is made on the spot.

66 files on 2 cores: peak RSS 5291 MB before the decode budget (four 38-byte WebPs
decoded at 2.5 GB each), 684 MB after, with 35 indexed and 31 skipped with a reason.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib
from contextlib import closing
from pathlib import Path
from typing import Callable

from PIL import Image

import pillow_heif

pillow_heif.register_heif_opener()

CLI = shutil.which("simgui-cli") or str(Path(sys.executable).with_name("simgui-cli"))
MAKERS: list[tuple[str, str, Callable[[Path], None]]] = []  # (kind, file name, writer)


def kind(name: str, filename: str):
    def register(writer: Callable[[Path], None]):
        MAKERS.append((name, filename, writer))
        return writer
    return register


# ---- building blocks -------------------------------------------------------------------------------

def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_bomb(width: int, height: int, color_type: int = 0, depth: int = 8, interlace: int = 0,
             fill: int = 0) -> bytes:
    """A PNG of one flat colour, compressed a row at a time: a few hundred KB for hundreds of megapixels."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    packer = zlib.compressobj(9)
    body = []
    for x0, y0, dx, dy in passes:
        pass_width, pass_height = -(-(width - x0) // dx), -(-(height - y0) // dy)
        row = b"\x00" + bytes([fill]) * -(-pass_width * channels * depth // 8)
        body += [packer.compress(row) for _ in range(max(0, pass_height) if pass_width > 0 else 0)]
    body.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace)
    palette = _chunk(b"PLTE", bytes(range(6))) + _chunk(b"tRNS", b"\x00") if color_type == 3 else b""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + palette + _chunk(b"IDAT", b"".join(body))
            + _chunk(b"IEND", b""))


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def webp_lossless_bomb(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    """A solid-colour lossless WebP codes every pixel in zero bits, so only the header knows the size:
    a small one's header, re-written, makes a valid 38-byte picture of up to 16383x16383."""
    data = bytearray(encoded(Image.new("RGB", (16, 16), color), "WEBP", lossless=True, method=0, quality=0))
    assert data[12:16] == b"VP8L" and data[20] == 0x2F
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    data[21:25] = (bits | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return bytes(data)


def gif_frames(width: int, height: int, frames: int) -> bytes:
    """A GIF whose logical screen is width x height, holding `frames` frames of one pixel each."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    # LZW, minimum code size 2: clear, pixel 0 or 1, end (3-bit codes, packed from the low bit)
    one = [b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02" + code + b"\x00"
           for code in (b"\x44\x01", b"\x4c\x01")]
    return head + b"".join(one[n % 2] for n in range(frames)) + b"\x3b"


def tiff_ifd(entries: list[tuple[int, int, int, int]], next_ifd: int) -> bytes:
    """One little-endian IFD: (tag, type, count, value-or-offset) entries, in tag order."""
    body = b"".join(struct.pack("<HHII", *e) for e in sorted(entries))
    return struct.pack("<H", len(entries)) + body + struct.pack("<I", next_ifd)


def tiff_strip(width: int, height: int, strip_offset: int, strip_bytes: int, extra=()) -> list:
    """The tags of an uncompressed 8-bit greyscale page with one strip."""
    return [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, strip_offset), (278, 4, 1, height), (279, 4, 1, strip_bytes), *extra]


def tiff_pages(pages: int, loop: bool = False) -> bytes:
    """Many 8x8 pages sharing one strip; `loop`: the last page points back to the first."""
    strip, first = 8, 8 + 64
    ifd_size = 2 + 8 * 12 + 4
    ifds = []
    for n in range(pages):
        following = first + (n + 1) * ifd_size if n + 1 < pages else (first if loop else 0)
        ifds.append(tiff_ifd(tiff_strip(8, 8, strip, 64), following))
    return b"II*\x00" + struct.pack("<I", first) + bytes(range(64)) + b"".join(ifds)


def exif_blob(entries: list[tuple[int, int, int, int]], next_ifd: int = 0, tail: bytes = b"") -> bytes:
    """A TIFF-structured EXIF block (little-endian) whose first IFD holds `entries`."""
    return b"II*\x00\x08\x00\x00\x00" + tiff_ifd(entries, next_ifd) + tail


HOSTILE_EXIF = {
    # the EXIF IFD and the next IFD both point back at IFD0
    "loop": exif_blob([(0x0112, 3, 1, 6), (0x8769, 4, 1, 8)], next_ifd=8),
    # counts of billions of values, offsets past the end
    "huge_counts": exif_blob([(0x0112, 3, 0xFFFFFFFF, 8), (0x0132, 2, 0x7FFFFFFF, 8), (0x8769, 4, 1, 0xFFFFFF00)]),
    # orientation as text, capture time as a number, an undefined type
    "wrong_types": exif_blob([(0x0112, 2, 4, int.from_bytes(b"six\x00", "little")), (0x0132, 4, 1, 7),
                              (0x9003, 99, 1, 0)]),
    # an IFD that says it holds 65535 entries and holds 2
    "entry_count": b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 0xFFFF) + struct.pack("<HHII", 0x0112, 3, 1, 8) * 2,
    "orientation_65535": exif_blob([(0x0112, 3, 1, 0xFFFF)]),
}


def photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A smooth colour picture (so that decoders and the model see something photo-like)."""
    gradient = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (gradient, gradient.transpose(Image.ROTATE_90).resize(size),
                               Image.new("L", size, 90)))


# ---- the kinds -------------------------------------------------------------------------------------

def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _lazy(make: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(make())


def register_kinds() -> None:
    normal = photo()
    jpeg = encoded(normal, "JPEG", quality=90)
    # controls: ordinary photos that must be indexed
    kind("normal JPEG", "normal.jpg")(_write(jpeg))
    kind("normal PNG (RGBA)", "normal_rgba.png")(_write(encoded(normal.convert("RGBA"), "PNG")))
    kind("normal 24 MP PNG", "normal_24mp.png")(_lazy(lambda: encoded(photo((6000, 4000)), "PNG", compress_level=1)))
    # PNG
    for n, fill in enumerate((0, 60, 120, 180)):  # four at once: the decode threads share one budget
        kind(f"PNG bomb 13000x13000 grey #{n + 1}", f"png_grey_bomb{n + 1}.png")(
            _lazy(lambda fill=fill: png_bomb(13000, 13000, fill=fill)))
    kind("PNG bomb 13000x13000 grey, cut halfway", "png_grey_cut.png")(
        _lazy(lambda: first_half(png_bomb(13000, 13000, fill=7))))
    kind("PNG bomb 13000x13000 RGB", "png_rgb_bomb.png")(_lazy(lambda: png_bomb(13000, 13000, 2)))
    kind("PNG bomb 10000x10000 RGBA", "png_rgba_bomb.png")(_lazy(lambda: png_bomb(10000, 10000, 6)))
    kind("PNG bomb 9000x9000 RGB 16-bit", "png_rgb16_bomb.png")(_lazy(lambda: png_bomb(9000, 9000, 2, 16)))
    kind("PNG bomb 13000x13000 grey 16-bit", "png_grey16_bomb.png")(_lazy(lambda: png_bomb(13000, 13000, 0, 16)))
    kind("PNG bomb 13000x13000 palette+tRNS", "png_palette_bomb.png")(_lazy(lambda: png_bomb(13000, 13000, 3)))
    kind("PNG bomb 13000x13000 1-bit", "png_1bit_bomb.png")(_lazy(lambda: png_bomb(13000, 13000, 0, 1)))
    kind("PNG bomb 12000x12000 interlaced", "png_interlaced_bomb.png")(_lazy(lambda: png_bomb(12000, 12000, 2, 8, 1)))
    kind("PNG header claims 40000x40000", "png_40000.png")(_write(png_bomb(40000, 40000)[:33]))
    kind("PNG header claims 13000x13000, 1 row", "png_lying.png")(_lazy(lambda: png_bomb(13000, 13000, 2)[:2000]))
    kind("PNG 0x0", "png_zero.png")(_write(png_bomb(0, 0)))
    kind("PNG hostile EXIF (IFD loop)", "png_exif_loop.png")(
        _write(encoded(normal, "PNG", exif=b"Exif\x00\x00" + HOSTILE_EXIF["loop"])))
    apng = [Image.new("L", (8, 8), n % 2 * 255) for n in range(5000)]
    kind("APNG 5000 frames", "apng_frames.png")(_write(encoded(apng[0], "PNG", save_all=True, append_images=apng[1:])))
    # WebP
    for n, color in enumerate([(200, 30, 40), (30, 200, 40), (30, 40, 200), (90, 90, 90)]):
        kind(f"WebP lossless bomb 16383x10000 #{n + 1} (38 bytes)", f"webp_bomb{n + 1}.webp")(
            _write(webp_lossless_bomb(16383, 10000, color)))
    kind("WebP lossy bomb 12000x12000", "webp_lossy_bomb.webp")(
        _lazy(lambda: encoded(Image.new("RGB", (12000, 12000), (10, 80, 160)), "WEBP", quality=1, method=0)))
    webp_anim = [Image.new("RGB", (8, 8), (n % 2 * 255, 0, 0)) for n in range(3000)]
    kind("WebP 3000 frames", "webp_frames.webp")(
        _write(encoded(webp_anim[0], "WEBP", save_all=True, append_images=webp_anim[1:], lossless=True, method=0)))
    kind("WebP hostile EXIF (huge counts)", "webp_exif.webp")(
        _write(encoded(normal, "WEBP", exif=HOSTILE_EXIF["huge_counts"])))
    kind("WebP truncated", "webp_truncated.webp")(_write(encoded(normal, "WEBP")[:900]))
    register_more_kinds(normal, jpeg)


def register_more_kinds(normal: Image.Image, jpeg: bytes) -> None:
    # GIF
    kind("GIF bomb 13000x13000", "gif_bomb.gif")(_lazy(lambda: encoded(Image.new("P", (13000, 13000)), "GIF")))
    kind("GIF 100000 frames", "gif_frames.gif")(_write(gif_frames(64, 64, 100_000)))
    kind("GIF screen 13000x13000, 1-pixel frames", "gif_screen.gif")(_write(gif_frames(13000, 13000, 1000)))
    kind("GIF screen 65535x65535", "gif_65535.gif")(_write(gif_frames(65535, 65535, 1)))
    kind("GIF truncated", "gif_truncated.gif")(_write(encoded(normal.quantize(64), "GIF")[:3000]))
    # TIFF
    kind("TIFF bomb 13000x13000 deflate", "tiff_bomb.tif")(
        _lazy(lambda: encoded(Image.new("L", (13000, 13000)), "TIFF", compression="tiff_adobe_deflate")))
    kind("TIFF bomb 10000x10000 RGB LZW", "tiff_rgb_bomb.tif")(
        _lazy(lambda: encoded(Image.new("RGB", (10000, 10000)), "TIFF", compression="tiff_lzw")))
    kind("TIFF 20000 pages", "tiff_pages.tif")(_write(tiff_pages(20000)))
    kind("TIFF page chain loop", "tiff_loop.tif")(_write(tiff_pages(3, loop=True)))
    kind("TIFF header claims 13000x13000, no data", "tiff_lying.tif")(
        _write(b"II*\x00\x08\x00\x00\x00" + tiff_ifd(tiff_strip(13000, 13000, 8, 169_000_000), 0)))
    kind("TIFF hostile EXIF IFD (loop)", "tiff_exif_loop.tif")(
        _write(b"II*\x00\x08\x00\x00\x00" + tiff_ifd(tiff_strip(8, 8, 0, 64, [(0x8769, 4, 1, 8)]), 8)))
    # BMP
    kind("BMP RLE8 bomb 13000x13000", "bmp_rle_bomb.bmp")(_write(bmp_rle8(13000, 13000)))
    kind("BMP header claims 20000x8000 32-bit", "bmp_lying.bmp")(_write(bmp_header(20000, 8000, 32, 0, 0)))
    kind("BMP 0 wide", "bmp_zero.bmp")(_write(bmp_header(0, 100, 24, 0, 0)))
    # JPEG
    kind("JPEG progressive 12000x12000", "jpeg_progressive_bomb.jpg")(
        _lazy(lambda: encoded(Image.new("RGB", (12000, 12000), (90, 100, 110)), "JPEG", progressive=True, quality=50)))
    kind("JPEG progressive header claims 12000x12000", "jpeg_progressive_lying.jpg")(
        _write(jpeg_with_size(encoded(normal, "JPEG", progressive=True), 12000, 12000)))
    kind("JPEG CMYK progressive 9000x9000", "jpeg_cmyk_bomb.jpg")(
        _lazy(lambda: encoded(Image.new("CMYK", (9000, 9000)), "JPEG", progressive=True, quality=50)))
    kind("JPEG baseline 60000x2800", "jpeg_wide.jpg")(
        _lazy(lambda: encoded(Image.new("RGB", (60000, 2800), (40, 40, 40)), "JPEG", quality=50)))
    kind("JPEG header claims 65500x65500", "jpeg_65500.jpg")(_write(jpeg_with_size(jpeg, 65500, 65500)))
    kind("JPEG truncated", "jpeg_truncated.jpg")(_write(jpeg[: len(jpeg) // 3]))
    for name, blob in HOSTILE_EXIF.items():
        kind(f"JPEG hostile EXIF ({name.replace('_', ' ')})", f"jpeg_exif_{name}.jpg")(
            _write(encoded(normal, "JPEG", exif=b"Exif\x00\x00" + blob)))
    register_heif_and_others(normal, jpeg)


def register_heif_and_others(normal: Image.Image, jpeg: bytes) -> None:
    kind("HEIF bomb 8192x8192", "heif_bomb.heic")(
        _lazy(lambda: encoded(Image.new("RGB", (8192, 8192), (20, 120, 40)), "HEIF", quality=10)))
    heif = encoded(normal, "HEIF", quality=50)
    kind("HEIF truncated", "heif_truncated.heic")(_write(first_half(heif)))
    kind("HEIF ftyp box only", "heif_ftyp.heic")(_write(heif[:32]))
    kind("HEIF hostile EXIF (wrong types)", "heif_exif.heic")(
        _write(encoded(normal, "HEIF", quality=50, exif=b"Exif\x00\x00" + HOSTILE_EXIF["wrong_types"])))
    kind("AVIF bomb 10000x10000", "avif_bomb.avif")(
        _lazy(lambda: encoded(Image.new("RGB", (10000, 10000), (20, 40, 120)), "AVIF", quality=10, speed=10)))
    avif_anim = [Image.new("RGB", (16, 16), (0, n % 2 * 255, 0)) for n in range(300)]
    kind("AVIF 300 frames", "avif_frames.avif")(
        _write(encoded(avif_anim[0], "AVIF", save_all=True, append_images=avif_anim[1:], speed=10)))
    # not images, or not files
    kind("empty file", "empty.jpg")(_write(b""))
    kind("text named .png", "text.png")(_write(b"this is not a picture\n" * 10))
    kind("random bytes named .jpg", "random.jpg")(_write(os.urandom(65536)))
    psd_header = b"8BPS\x00\x01" + bytes(6) + struct.pack(">HIIHH", 3, 30000, 30000, 8, 3)
    kind("PSD named .jpg", "photoshop.jpg")(_write(psd_header))
    kind("sparse 300 MB of zeros named .jpg", "sparse.jpg")(lambda path: os.truncate(_touch(path), 300 << 20))
    kind("FIFO named .jpg", "fifo.jpg")(lambda path: os.mkfifo(path))
    kind("symbolic link to /dev/zero", "zero_link.jpg")(lambda path: os.symlink("/dev/zero", path))


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def bmp_header(width: int, height: int, bits: int, compression: int, colours: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, 0, 2835, 2835, colours, 0)
    offset = 14 + len(info) + 4 * colours
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, offset) + info + bytes(4 * colours)


def bmp_rle8(width: int, height: int) -> bytes:
    """An 8-bit run-length BMP made of 'skip 255 rows' codes: 1 KB for 169 megapixels."""
    return bmp_header(width, height, 8, 1, 256) + b"\x00\x02\x00\xff" * -(-height // 255) + b"\x00\x01"


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header (SOF0/SOF2) claiming another size."""
    out = bytearray(data)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = out.find(marker)
        if at >= 0:
            out[at + 5:at + 9] = struct.pack(">HH", height, width)
            return bytes(out)
    raise ValueError("no frame header")


# ---- the run ---------------------------------------------------------------------------------------

def write_folder(folder: Path) -> list[tuple[str, Path]]:
    register_kinds()
    made = []
    for name, filename, writer in MAKERS:
        path = folder / filename
        writer(path)
        made.append((name, path))
        print(f"  wrote {filename}", file=sys.stderr, flush=True)
    return made


def index_with_time(library: Path, folder: Path) -> tuple[int, int, str]:
    """Runs the indexer under /usr/bin/time -v: exit status, peak RSS in KB, and its stderr."""
    run = subprocess.run(["/usr/bin/time", "-v", CLI, "--library", str(library), "index", str(folder)],
                         capture_output=True, text=True)
    peak = [line for line in run.stderr.splitlines() if "Maximum resident set size" in line]
    if not peak:
        raise SystemExit(f"/usr/bin/time gave no peak RSS:\n{run.stderr[-2000:]}")
    return run.returncode, int(peak[0].rsplit(":", 1)[1]), run.stderr


def cli_json(library: Path, *command: str) -> dict:
    out = subprocess.run([CLI, "--library", str(library), *command, "--json"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def outcomes(library: Path) -> dict[str, str]:
    """path -> 'indexed WxH' or 'skipped: reason', from `skipped --json` and the library's own rows."""
    reasons = {item["path"]: item["reason"] for item in cli_json(library, "skipped")["skipped"]}
    found = {path: f"skipped: {reason}" for path, reason in reasons.items()}
    with closing(sqlite3.connect(f"file:{library / 'library.db'}?mode=ro", uri=True)) as db:
        for path, width, height in db.execute("SELECT path, width, height FROM images WHERE error IS NULL"):
            found[path] = f"indexed {width}x{height}"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the folder and library here and keep them")
    parser.add_argument("--limit-mb", type=int, default=1024)
    args = parser.parse_args()
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("needs GNU time: apt-get install time")
    work = args.keep or Path(tempfile.mkdtemp(prefix="simgui-hostile-"))
    folder, library = work / "hostile", work / "library"
    folder.mkdir(parents=True)
    made = write_folder(folder)
    print(f"{len(made)} kinds written to {folder}; indexing under /usr/bin/time -v", file=sys.stderr, flush=True)
    status, peak_kb, stderr = index_with_time(library, folder)
    readable = (library / "library.db").exists()  # what a crashed run committed is still worth a look
    found = outcomes(library) if readable else {}
    stats = cli_json(library, "stats") if readable else {}
    missing = 0
    print(f"{'kind':48} {'file size':>11}  outcome")
    for name, path in made:
        size = os.lstat(path).st_size
        outcome = found.get(os.path.abspath(path), "NO OUTCOME")
        missing += outcome == "NO OUTCOME"
        print(f"{name[:48]:48} {size:>11,}  {outcome[:110]}")
    print(f"\nkinds: {len(made)}; stats: images {stats.get('images')}, skipped {stats.get('skipped')}; "
          f"exit status {status}; peak RSS {peak_kb / 1024:.0f} MB (limit {args.limit_mb} MB)")
    if status != 0:
        print(stderr[-3000:])
    return 1 if status != 0 or missing or peak_kb >= args.limit_mb * 1024 else 0


if __name__ == "__main__":
    sys.exit(main())
