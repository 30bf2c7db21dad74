"""Coverage-guided fuzzing of the decode path (atheris / libFuzzer): bytes in, a photo or a DecodeError out.

    pip install atheris
    python benchmarks/fuzz_decode.py --minutes 10

Every input goes through what the indexer does to a file's bytes: content
sniffing, the bomb guard, scaled JPEG decoding, EXIF orientation and capture
time, conversion to RGB, border trimming and the model's preprocessing. Any
exception other than DecodeError is a crash; an input taking over 10 s is a
hang. The seeds are real photos in every format the library reads, with EXIF,
plus headers that lie about their size. Pillow's own Python parsers are
instrumented too, so the fuzzer steers into their corners.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import warnings

import atheris

with atheris.instrument_imports():
    import PIL.Image
    import PIL.JpegImagePlugin
    import PIL.PngImagePlugin
    import PIL.TiffImagePlugin
    import PIL.WebPImagePlugin
    from simgui.core.media.decode import DecodeError, decode_bytes
    from simgui.core.media.framing import photo_inside

import numpy as np  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
MODEL_SIDE = 224
HANG_SECONDS = 10


def write_seeds(folder: Path) -> None:
    """Small real photos in each format, some with EXIF orientation and dates, some with lying headers."""
    source = PIL.Image.open(sorted(DATA.glob("*.jpg"))[0]).convert("RGB")
    small = source.resize((96, 64))
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2020:01:02 03:04:05"
    for n, (fmt, options) in enumerate([("JPEG", {"quality": 80}), ("JPEG", {"quality": 40, "exif": exif.tobytes()}),
                                         ("JPEG", {"progressive": True}), ("PNG", {}), ("WEBP", {"quality": 50}),
                                         ("GIF", {}), ("TIFF", {}), ("BMP", {}), ("PNG", {"exif": exif.tobytes()})]):
        out = io.BytesIO()
        image = small.convert("P") if fmt == "GIF" else small
        image.save(out, fmt, **options)
        (folder / f"seed{n}.{fmt.lower()}").write_bytes(out.getvalue())
    png = io.BytesIO()
    PIL.Image.new("L", (1, 1)).save(png, "PNG")
    data = bytearray(png.getvalue())
    data[16:24] = (40000).to_bytes(4, "big") * 2  # IHDR claims 40000 x 40000
    (folder / "seed_bomb.png").write_bytes(bytes(data))


def test_one_input(data: bytes) -> None:
    try:
        decoded = decode_bytes(data)
    except DecodeError:
        return
    content = photo_inside(decoded.picture)
    pixels = np.asarray(content.resize((MODEL_SIDE, MODEL_SIDE), PIL.Image.BILINEAR), np.float32)
    assert pixels.shape == (MODEL_SIDE, MODEL_SIDE, 3), pixels.shape


def main() -> None:
    warnings.simplefilter("ignore")  # Pillow warns on every odd tag: millions of lines, no information
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args, libfuzzer_args = parser.parse_known_args()
    corpus = Path(tempfile.mkdtemp(prefix="simgui-fuzz-"))
    write_seeds(corpus)
    print(f"corpus: {corpus} ({len(list(corpus.iterdir()))} seeds); {args.minutes:g} minutes", flush=True)
    started = time.monotonic()
    argv = [sys.argv[0], str(corpus), f"-max_total_time={int(args.minutes * 60)}", f"-timeout={HANG_SECONDS}",
            "-rss_limit_mb=3072", "-print_final_stats=1", *libfuzzer_args]
    atheris.Setup(argv, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        print(f"wall time {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
