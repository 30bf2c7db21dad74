"""Camera RAW files through LibRaw (rawpy): the camera's own JPEG preview when it is big enough (most
cameras embed one at full or near-full size), the sensor data demosaiced at half size otherwise.

The preview is what the camera showed on its screen, rendered with its own colours: for telling copies
apart it is as good as a demosaic and about a hundred times cheaper.
"""
from __future__ import annotations

import io

import numpy as np
import simplejpeg
from PIL import Image

from simgui.core.media.decode_budget import MemoryBudget

PREVIEW_MAX_PIXELS = 120_000_000  # a preview claiming more is hostile: at 1/8, 65535x65535 would still be 200 MB
# LibRaw's peak per sensor pixel when demosaicing at half size: the 16-bit raw plane, the 4-channel 16-bit
# half-size image and the 8-bit RGB result (2 + 2 + 0.75 bytes), rounded up
DEMOSAIC_BYTES_PER_PIXEL = 6
_FLIPS = {3: Image.ROTATE_180, 5: Image.ROTATE_90, 6: Image.ROTATE_270}  # LibRaw's flip -> how to show a preview


class RawError(Exception):
    """LibRaw could not read the file; the message says why."""


def decode_raw(data: bytes, budget: MemoryBudget, shrink, working_size: int,
               min_side: int) -> tuple[Image.Image, tuple[int, int], bytes | None]:
    """(upright RGB picture, upright full size, the preview's JPEG bytes when it was used).

    `shrink` reduces a big decoded picture the way every other format is reduced (decode.py); a preview at
    least `min_side` on its short side (the model's input) is used as it is."""
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            flip = raw.sizes.flip
            width, height = raw.sizes.width, raw.sizes.height
            if flip in (5, 6):
                width, height = height, width
            preview = _preview(raw, working_size, min_side)
            if preview is not None:
                picture = preview[0].transpose(_FLIPS[flip]) if flip in _FLIPS else preview[0]
                return picture, (width, height), preview[1]
            cost = raw.sizes.raw_width * raw.sizes.raw_height * DEMOSAIC_BYTES_PER_PIXEL
            if cost > budget.limit:
                raise RawError(f"too large to decode safely ({raw.sizes.raw_width}x{raw.sizes.raw_height} sensor)")
            with budget.hold(cost):
                raw.unpack()
                rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False)
            return shrink(Image.fromarray(np.ascontiguousarray(rgb))), (width, height), None
    except (rawpy.LibRawError, ValueError) as exc:  # LibRaw's own errors, and buffers it cannot parse
        raise RawError(f"damaged or unsupported RAW file: {exc or type(exc).__name__}") from exc


def _preview(raw, working_size: int, min_side: int) -> tuple[Image.Image, bytes | None] | None:
    """The embedded JPEG preview decoded at about the working size, if there is one big enough."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format != rawpy.ThumbFormat.JPEG:
        if thumb.format == rawpy.ThumbFormat.BITMAP and min(thumb.data.shape[:2]) >= min_side:
            return Image.fromarray(np.ascontiguousarray(thumb.data[..., :3])), None
        return None
    jpeg = bytes(thumb.data)
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
        if min(width, height) < min_side or width * height > PREVIEW_MAX_PIXELS:
            return None  # too small to use, or claiming more pixels than any camera: the sensor data decides
        side = min(working_size, width, height)
        pixels = simplejpeg.decode_jpeg(jpeg, "RGB", fastdct=True, fastupsample=True, min_width=side, min_height=side)
    except ValueError:  # a broken preview: the sensor data may still be fine
        return None
    return Image.fromarray(np.ascontiguousarray(pixels)), jpeg
