"""Camera RAW files made from real photos, for tests and benchmarks: the photo mosaicked into an RGGB
sensor's 12-bit samples and written as a DNG (tifffile), with or without the camera's JPEG preview.

Laid out as cameras and Adobe's converter write them: with a preview, IFD0 is the preview (a JPEG strip)
and the sensor data is its SubIFD; without, IFD0 is the sensor data."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

BITS = 12
BLACK, WHITE = 256, (1 << BITS) - 1
# DNG's ColorMatrix1 maps XYZ to the camera's primaries; this sensor's are linear sRGB's
XYZ_TO_SRGB = ((32406, -15372, -4986), (-9689, 18758, 415), (557, -2040, 10570))


def mosaic(photo: Image.Image) -> np.ndarray:
    """The photo as an RGGB Bayer sensor would have recorded it: one 12-bit sample a pixel, linear light."""
    rgb = np.asarray(photo.convert("RGB"), np.float32) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    height, width = (s - s % 2 for s in linear.shape[:2])
    linear = linear[:height, :width]
    sensor = np.empty((height, width), np.float32)
    sensor[0::2, 0::2] = linear[0::2, 0::2, 0]  # R
    sensor[0::2, 1::2] = linear[0::2, 1::2, 1]  # G
    sensor[1::2, 0::2] = linear[1::2, 0::2, 1]  # G
    sensor[1::2, 1::2] = linear[1::2, 1::2, 2]  # B
    return np.clip(BLACK + sensor * (WHITE - BLACK), 0, WHITE).astype(np.uint16)


def _dng_tags(orientation: int) -> list[tuple]:
    return [(274, "H", 1, orientation, True), (50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 1, 0, 0), True),  # DNG (backward) version
            (271, "s", 0, "simgui", True), (272, "s", 0, "test sensor", True),
            (50708, "s", 0, "simgui test sensor", True)]  # unique camera model


def _sensor_tags() -> list[tuple]:
    matrix = tuple(v for row in XYZ_TO_SRGB for value in row for v in (value, 10000))
    return [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),  # CFA 2x2, RGGB
            (50714, "H", 1, BLACK, True), (50717, "H", 1, WHITE, True),
            (50721, "2i", 9, matrix, True), (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # colour, as-shot neutral
            (50778, "H", 1, 21, True)]  # D65


def write_dng(photo: Image.Image, target: Path, preview: bool = False, captured: str | None = None,
              orientation: int = 1) -> Path:
    """target (a .dng) from a real photo; preview: embed a full-size JPEG preview; captured: "YYYY:MM:DD HH:MM:SS"
    (written as the file's DateTime); orientation: the EXIF orientation the camera recorded (6: turn the
    stored picture 90 degrees clockwise to show it)."""
    import tifffile

    sensor = mosaic(photo)
    common = {"software": False, "metadata": None, "datetime": captured or False}
    with tifffile.TiffWriter(target) as tif:
        if preview:
            jpeg = io.BytesIO()
            photo.convert("RGB").save(jpeg, "JPEG", quality=90)
            # a pre-encoded strip: tifffile only wants a codec to exist for the compression it writes
            tifffile.TIFF.COMPRESSORS._codecs.setdefault(7, lambda data, *args, **kwargs: data)
            tif.write(iter([jpeg.getvalue()]), shape=(photo.height, photo.width, 3), dtype=np.uint8,
                      photometric="rgb", compression=7, rowsperstrip=photo.height, subfiletype=1, subifds=1,
                      extratags=_dng_tags(orientation), **common)
            tif.write(sensor, photometric=32803, subfiletype=0, extratags=_sensor_tags(), software=False,
                      metadata=None)
        else:
            tif.write(sensor, photometric=32803, subfiletype=0, extratags=_dng_tags(orientation) + _sensor_tags(),
                      **common)
    return target
