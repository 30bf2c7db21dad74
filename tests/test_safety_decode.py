"""Issue 17, item 10: memory is bounded by pixels, not by file size.

A 38-byte WebP holds 16383x10000 pixels (2.5 GB decoded) and a 160 KB PNG 13000x13000. Decoding
refuses what would not fit the decode budget, with a reason, before allocating it; converts big
pictures a band of rows at a time; shares one budget between all decode threads; and reads only
the first frame of a file with 100,000. Peak memory is measured in a fresh process (VmHWM), where
Pillow's C allocations show.
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import GifImagePlugin, Image, TiffImagePlugin

from simgui.core.media import decode
from simgui.core.media.decode import DECODE_BUDGET, WORKING_SIZE, DecodeError, decode_bytes, decode_file
from simgui.core.media.decode_budget import MemoryBudget

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory read from /proc")

_MEASURE = r"""
import sys
from simgui.core.media.decode import DecodeError, decode_bytes

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

data = open(sys.argv[1], "rb").read()
before = peak_kb()
try:
    decoded = decode_bytes(data)
    outcome = f"decoded {decoded.width}x{decoded.height} as {decoded.picture.width}x{decoded.picture.height}"
except DecodeError as exc:
    outcome = f"refused: {exc}"
print((peak_kb() - before) // 1024, outcome)
"""


def decode_in_fresh_process(path: Path) -> tuple[int, str]:
    """(MB the decode added to the process's peak memory, what came of it)."""
    run = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    grown, outcome = run.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(grown), outcome


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bomb(width: int, height: int, color_type: int = 0, rows: int | None = None) -> bytes:
    """A flat PNG compressed a row at a time (never whole in memory); `rows`: only that many rows of data."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    packer = zlib.compressobj(6)
    row = b"\x00" + b"\x50" * (width * channels)
    body = b"".join(packer.compress(row) for _ in range(height if rows is None else rows)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def webp_bomb(width: int, height: int) -> bytes:
    """A flat lossless WebP codes its pixels in zero bits: a 16x16 one with its size re-written is a valid
    38-byte picture of width x height."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 40)).save(out, "WEBP", lossless=True, method=0, quality=0)
    data = bytearray(out.getvalue())
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    data[21:25] = (bits | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return bytes(data)


def gif_of_frames(frames: int) -> bytes:
    """A 64x64 GIF of `frames` one-pixel frames, black and white by turns (1.5 MB for 100,000)."""
    head = b"GIF89a" + struct.pack("<HHBBB", 64, 64, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    # LZW with 3-bit codes: clear, pixel 0 or 1, end
    one = [b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02" + code + b"\x00"
           for code in (b"\x44\x01", b"\x4c\x01")]
    return head + b"".join(one[n % 2] for n in range(frames)) + b"\x3b"


def test_item10_a_38_byte_webp_of_16383x10000_is_refused_before_its_pixels_exist(tmp_path):
    path = tmp_path / "bomb.webp"
    path.write_bytes(webp_bomb(16383, 10000))
    assert path.stat().st_size < 64
    grown, outcome = decode_in_fresh_process(path)
    assert outcome.startswith("refused: too large to decode safely: 16383x10000 WEBP"), outcome
    assert grown < 64, f"{grown} MB for a refused file"  # decoding it whole takes 2.5 GB


def test_item10_a_13000x13000_grey_png_decodes_a_band_at_a_time(tmp_path):
    path = tmp_path / "grey.png"
    path.write_bytes(png_bomb(13000, 13000))
    grown, outcome = decode_in_fresh_process(path)
    assert outcome.startswith(f"decoded 13000x13000 as {WORKING_SIZE}x{WORKING_SIZE}"), outcome
    # its grey pixels are 161 MB; as RGB at full size (what decoding did before) they were 4 times that
    assert grown < 300, f"{grown} MB"


def test_item10_a_png_whose_pixels_cannot_fit_the_budget_is_refused_with_a_reason():
    with pytest.raises(DecodeError, match=r"too large to decode safely: 13000x13000 PNG needs \d+ MB .*limit"):
        decode_bytes(png_bomb(13000, 13000, color_type=2, rows=1))


def test_item10_a_small_progressive_jpeg_claiming_13000x13000_is_refused(tmp_path):
    """Progressive JPEGs hold every DCT coefficient while decoding, even when decoding at 1/8: 1 GB here
    (no chroma subsampling: three full-size planes)."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 100, 110)).save(out, "JPEG", progressive=True, subsampling=0)
    data = bytearray(out.getvalue())
    frame = data.find(b"\xff\xc2")
    data[frame + 5:frame + 9] = struct.pack(">HH", 13000, 13000)
    path = tmp_path / "progressive.jpg"
    path.write_bytes(bytes(data))
    grown, outcome = decode_in_fresh_process(path)
    assert outcome.startswith("refused: too large to decode safely: 13000x13000 JPEG"), outcome
    assert grown < 64, f"{grown} MB"


def test_item10_decode_threads_share_one_budget():
    """Four threads decode pictures that each need over half the budget: they take turns, and the
    budget's own accounting never goes over its limit."""
    data = webp_bomb(4200, 4200)  # 38 bytes, 20 bytes a pixel to decode
    img = Image.open(io.BytesIO(data))
    cost = decode.decode_cost(img)
    assert DECODE_BUDGET.limit / 2 < cost <= DECODE_BUDGET.limit
    seen, done, results = [], threading.Event(), []

    def watch() -> None:
        while not done.is_set():
            seen.append(DECODE_BUDGET.in_use)
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=lambda: results.append(decode_bytes(data))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    watcher.join()
    assert [(r.width, r.height) for r in results] == [(4200, 4200)] * 4
    assert max(seen) <= DECODE_BUDGET.limit and cost <= DECODE_BUDGET.high_water <= DECODE_BUDGET.limit
    assert DECODE_BUDGET.in_use == 0


def test_item10_the_budget_refuses_what_never_fits_serves_in_order_and_stops_waiting():
    budget = MemoryBudget(100, wait_seconds=0.3)
    with pytest.raises(ValueError):
        with budget.hold(101):
            pass
    order = []
    holding = budget.hold(60)
    holding.__enter__()

    def take(nbytes: int) -> None:
        with budget.hold(nbytes):
            order.append(nbytes)

    big = threading.Thread(target=take, args=(100,))
    big.start()
    while not budget._queue:  # the big request is waiting
        time.sleep(0.001)
    small = threading.Thread(target=take, args=(10,))  # fits beside the 60, but comes after the 100
    small.start()
    time.sleep(0.05)
    assert order == []
    holding.__exit__(None, None, None)
    big.join()
    small.join()
    assert order == [100, 10] and budget.in_use == 0 and budget.high_water == 100
    with budget.hold(90):
        waited = time.monotonic()
        with pytest.raises(TimeoutError):
            with budget.hold(20):
                pass
        assert time.monotonic() - waited >= 0.3
    assert budget.in_use == 0


@pytest.mark.parametrize("make,plugin", [
    (lambda: gif_of_frames(100_000), GifImagePlugin.GifImageFile),
    (lambda: _tiff_of_pages(20_000), TiffImagePlugin.TiffImageFile),
])
def test_item10_a_file_of_huge_frame_count_is_read_at_its_first_frame_only(make, plugin):
    data = make()
    seeks = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is plugin._seek.__code__:
            seeks.append(frame.f_locals["frame"])

    sys.setprofile(profile)
    try:
        decoded = decode_bytes(data)
    finally:
        sys.setprofile(None)
    assert decoded.picture.size == (decoded.width, decoded.height)
    assert set(seeks) <= {0}, f"frames visited: {sorted(set(seeks))[:5]}..."


def _tiff_of_pages(pages: int) -> bytes:
    """`pages` 8x8 grey pages sharing one strip, each IFD pointing at the next."""
    entries = [(256, 4, 1, 8), (257, 4, 1, 8), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8),
               (278, 4, 1, 8), (279, 4, 1, 64)]
    size, first = 2 + 12 * len(entries) + 4, 8 + 64
    ifds = [struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
            + struct.pack("<I", first + (n + 1) * size if n + 1 < pages else 0) for n in range(pages)]
    return b"II*\x00" + struct.pack("<I", first) + bytes(range(64)) + b"".join(ifds)


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "1", "L", "LA"])
def test_item10_band_by_band_reduction_gives_the_picture_whole_conversion_gave(mode):
    """A picture big enough to be reduced in bands (several bands of 1 MP here) reads as it did when it
    was converted to RGB whole and then shrunk: bands meet without seams, transparency reads white."""
    rng = np.random.default_rng(10)
    base = Image.fromarray(rng.integers(0, 256, (1100, 2600, 4), dtype=np.uint8), "RGBA")
    base = base.resize((130, 55)).resize((2600, 1100), Image.BILINEAR)  # smooth, with varied alpha
    img = base.convert("RGB").quantize(64) if mode == "P" else base.convert(mode)
    if mode == "I;16":
        img = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1, **({"transparency": 3} if mode == "P" else {}))
    decoded = decode_bytes(out.getvalue()).picture
    expected = decode._to_rgb(Image.open(io.BytesIO(out.getvalue())))
    expected.thumbnail((expected.width * WORKING_SIZE // min(expected.size),) * 2, Image.BILINEAR)
    assert decoded.size == expected.size
    difference = np.abs(np.asarray(decoded, np.float32) - np.asarray(expected, np.float32))
    assert difference.mean() < 1.5 and np.percentile(difference, 99) < 12, (difference.mean(), difference.max())


def test_item10_a_48_megapixel_phone_heif_is_not_refused_as_a_bomb(tmp_path):
    """iPhones (14 Pro and later) write 48 MP HEIF photos: the budget must fit one (it refused them at 512 MB)."""
    source = Image.open(Path(__file__).parent / "data" / "chelsea.jpg").convert("RGB").resize((8064, 6048))
    source.save(tmp_path / "IMG_0001.HEIC", quality=70)
    decoded = decode_file(str(tmp_path / "IMG_0001.HEIC"))
    assert (decoded.width, decoded.height) == (8064, 6048) and min(decoded.picture.size) >= WORKING_SIZE


def test_item10_the_bytes_of_files_read_at_once_share_one_budget_too(tmp_path):
    """A file's bytes are held until it is decoded: with eight decode threads, eight 500 MB files would be
    4 GB before a pixel. While other reads hold the budget, the next read waits; then it goes on."""
    path = tmp_path / "photo.jpg"
    path.write_bytes((Path(__file__).parent / "data" / "rocket.jpg").read_bytes())
    size = path.stat().st_size
    read = decode.READ_BUDGET
    read.acquire(read.limit - size + 1)  # other threads' big files, being decoded
    results = []
    reader = threading.Thread(target=lambda: results.append(decode_file(str(path))))
    reader.start()
    reader.join(timeout=1)
    assert reader.is_alive() and not results  # it waits for room
    read.release(read.limit - size + 1)
    reader.join(timeout=60)
    assert results and results[0].format == "JPEG"
    assert read.in_use == 0 and read.high_water <= read.limit
