"""The grouping rule: the kinds of likeness, their thresholds, and which kind a pair of photos is.

`groups` (grouping.py), `compare` and `query` (library.py) all ask this module, so they cannot
disagree. A new kind of group is added here: its name in `Kind`, the evidence it clusters on and its
threshold in `CLUSTERED`, the defaults in `Thresholds`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    EXACT = "exact"  # the same bytes: no judgement of the model involved
    NEAR = "near"  # the same photo: its patches line up under one geometric transform
    SIMILAR = "similar"  # the same scene or subject: the global vectors are close
    DIFFERENT = "different"  # a pair only: never a group


GROUP_KINDS = (Kind.EXACT, Kind.NEAR, Kind.SIMILAR)  # in the order they are shown


@dataclass(frozen=True)
class Thresholds:
    """How alike two photos must be for each kind of group (chosen on benchmarks/accuracy.py).

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

# the kinds clustered from pair evidence, strongest first: a photo in a near group is not also in a
# similar one. Each: the evidence it weighs ("agreement" of the patches, "cosine" of the vectors)
# and the Thresholds field a pair (and a cluster's mean) must reach.
CLUSTERED = {Kind.NEAR: ("agreement", "near_agreement"), Kind.SIMILAR: ("cosine", "similar")}


def threshold(kind: Kind, t: Thresholds) -> float:
    return getattr(t, CLUSTERED[kind][1])


def pair_kind(cosine: float, agreement: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Kind:
    """The kind of a pair of different contents, from its vectors' cosine and its patch agreement."""
    evidence = {"cosine": cosine, "agreement": agreement}
    for kind, (weighs, _) in CLUSTERED.items():
        if evidence[weighs] >= threshold(kind, t):
            return kind
    return Kind.DIFFERENT


def thresholds_at(looseness: int) -> Thresholds:
    """The app's strict-to-loose slider: 0 strict, 50 the defaults, 100 loose.

    Strict asks twice the patch agreement and a cosine of 0.96 for "similar"; loose asks a cosine of 0.88
    for "similar" (the edges of the range the accuracy sweep found still useful) but the default patch
    agreement for "near": loosening may show more look-alikes, never call two photos the same one
    (half the agreement put 17 different photos in one near group on the benchmark's traps)."""
    step = (min(100, max(0, looseness)) - 50) / 50  # -1 strict .. +1 loose
    return replace(DEFAULT_THRESHOLDS, near_agreement=round(DEFAULT_THRESHOLDS.near_agreement * 2 ** -min(step, 0.0), 4),
                   similar=round(DEFAULT_THRESHOLDS.similar - 0.04 * step, 4))


# a camera clock set right on one copy (a time zone, a summer time) moves its time by whole quarter hours
_CLOCK_STEP_SECONDS = 15 * 60


def other_shots(a: str | None, b: str | None) -> bool:
    """Whether two photos' shutter moments (decode.Captured.shot: EXIF DateTimeOriginal with its sub-seconds,
    which edits and exports keep) say they are two shots, as a burst's or a tripod series' frames are: both
    known and different, to the sub-second where both have one. Such a pair is never `near`, however well it
    lines up (as firm as the moment check's verdict, moments.py). Most copies that travel without EXIF
    (messengers, screenshots) say nothing here, and vision alone decides.

    A difference of whole quarter hours is a clock set right on one copy, not two shots."""
    if not a or not b:  # None: not read yet; "": the photo has none
        return False
    (a_second, _, a_fraction), (b_second, _, b_fraction) = a.partition("."), b.partition(".")
    try:
        apart = abs((datetime.fromisoformat(a_second) - datetime.fromisoformat(b_second)).total_seconds())
    except ValueError:  # stored by decode, so always ISO: never a reason to split a group
        return False
    fractions_differ = bool(a_fraction and b_fraction) and float("0." + a_fraction) != float("0." + b_fraction)
    return fractions_differ or apart % _CLOCK_STEP_SECONDS != 0
