"""Where the library lives, and the defaults chosen on benchmarks/accuracy.py."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

APP_NAME = "simgui"
DATABASE_FILE = "library.db"
INDEX_FILE = "vectors.hnsw"


def default_library_dir() -> Path:
    override = os.environ.get("SIMGUI_LIBRARY")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Thresholds:
    """How alike two photos must be for each kind of group.

    candidate: global cosine above which a pair is checked at all (every
      edited copy in the benchmark scored above 0.55; unrelated photos mostly below).
    near_agreement: share of the 16x16 patch grid that must agree on one
      geometric transform for "same photo"; a group's members must reach it on
      average over all their pairs (benchmarks/accuracy.py --sweep).
    similar: global cosine for "same scene or subject" when the patches do not line up. At 0.80,
      4 % of pairs of different photos in the accuracy set passed (a cat and a coffee cup of the
      same colours); at 0.92, 9 of 72,374 did, while two views of one scene scored 0.93 to 0.99.
    """
    candidate: float = 0.55
    near_agreement: float = 0.07
    similar: float = 0.92
    neighbours: int = 16


DEFAULT_THRESHOLDS = Thresholds()


def thresholds_at(looseness: int) -> Thresholds:
    """The app's strict-to-loose slider: 0 strict, 50 the defaults, 100 loose.

    Strict asks twice the patch agreement and a cosine of 0.96 for "similar"; loose asks a cosine of 0.88
    for "similar" (the edges of the range the accuracy sweep found still useful) but the default patch
    agreement for "near": loosening may show more look-alikes, never call two photos the same one
    (half the agreement put 17 different photos in one near group on the benchmark's traps)."""
    step = (min(100, max(0, looseness)) - 50) / 50  # -1 strict .. +1 loose
    return replace(DEFAULT_THRESHOLDS, near_agreement=round(DEFAULT_THRESHOLDS.near_agreement * 2 ** -min(step, 0.0), 4),
                   similar=round(DEFAULT_THRESHOLDS.similar - 0.04 * step, 4))
