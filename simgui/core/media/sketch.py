"""A photo's sketch: what the model was shown, at 64x64 in colour, kept (as a small JPEG, ~2 KB) for the check
that tells a copy from another moment of the same scene (matching/moments.py)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

SKETCH_SIDE = 64  # 8x8 blocks of 8x8 pixels: a moved subject covers several blocks, JPEG noise none
SKETCH_QUALITY = 90


def make_sketch(content: Image.Image) -> bytes:
    """The photo inside its framing (framing.photo_inside), squashed to a square as the model sees it."""
    small = content.convert("RGB").resize((SKETCH_SIDE, SKETCH_SIDE), Image.BOX)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=SKETCH_QUALITY)
    return out.getvalue()


def read_sketch(blob: bytes) -> np.ndarray:
    """[SKETCH_SIDE, SKETCH_SIDE, 3] float32 in 0..1."""
    with Image.open(io.BytesIO(blob)) as picture:
        return np.asarray(picture.convert("RGB"), np.float32) / 255
