"""Which copy of a group is kept: the one place that says it.

Two things always come first: the copy the user chose with K (the newest choice), then a copy in a protected
folder. Then the keep rules, in the order the user gave them (saved in the library, so the app, the CLI and
the HTTP API keep the same copy); the path settles what is left. A group's members are sorted by
keeper_order and the first one is kept.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from enum import Enum

from simgui.core.media.formats import BY_NAME, FORMATS
from simgui.core.storage.protection import protected_folder_of
from simgui.core.storage.store import ImageRecord

FRAMED_SHARE = 0.9  # a picture whose photo covers less of it than this has framing (framing.content_box)
SAME_RESOLUTION = 1.02  # sizes within 2 % count as equal: the bars are found on a small decode, to a few pixels
SAME_LENGTH = 1.03  # clips within 3 % count as equally long: a re-encode ends a frame or two off


class KeepRule(str, Enum):
    """A reason to keep one copy over another; each is a preference, the first rule that tells two apart wins."""
    WHOLE = "whole"  # the photo alone, not inside a letterbox, a frame or a screenshot's chrome
    RESOLUTION = "resolution"  # the most pixels of photo
    FORMATS = "formats"  # the best format by the user's list (a RAW+JPEG shot counts as RAW)
    FOLDERS = "folders"  # in a preferred folder, the earlier in the list the better
    FILE_SIZE = "file-size"  # the largest file
    OLDEST = "oldest"  # the earliest capture date (the original, not a later export)
    NEWEST = "newest"  # the latest capture date
    DATED = "dated"  # has a capture date at all
    SHORTEST_PATH = "shortest-path"  # the fewest folders deep, then the shortest name
    LONGEST = "longest"  # a clip: the most footage (a trim is shorter); photos all tie
    BIT_RATE = "bit-rate"  # a clip: the most bits a second (the least compressed); photos all tie

    @property
    def label(self) -> str:
        return RULE_LABELS[self]


RULE_LABELS = {
    KeepRule.WHOLE: "Whole photo (no bars, frame or screenshot around it)",
    KeepRule.RESOLUTION: "Largest resolution",
    KeepRule.FORMATS: "Preferred formats",
    KeepRule.FOLDERS: "Preferred folders",
    KeepRule.FILE_SIZE: "Largest file",
    KeepRule.OLDEST: "Oldest capture date",
    KeepRule.NEWEST: "Newest capture date",
    KeepRule.DATED: "Has a capture date",
    KeepRule.SHORTEST_PATH: "Shortest path",
    KeepRule.LONGEST: "Longest clip",
    KeepRule.BIT_RATE: "Best bit rate (clips)",
}
# the defaults keep the most photo: a clean, full-size copy; a RAW (or RAW+JPEG shot) over a JPEG of its size,
# then the larger file (less compressed), then the original capture. A clip keeps all its footage first: a
# sharper trim would lose the rest of it
DEFAULT_ORDER = (KeepRule.LONGEST, KeepRule.WHOLE, KeepRule.RESOLUTION, KeepRule.FORMATS, KeepRule.FILE_SIZE,
                 KeepRule.OLDEST)
# a camera's own formats first; a PNG or a TIFF of a photo is most often a conversion of its JPEG (a palette PNG
# a worse one), and WebP, GIF and BMP are made for the web or by old tools
DEFAULT_FORMATS = ("RAW", "HEIF", "JPEG", "JXL", "AVIF", "TIFF", "PNG", "WEBP", "GIF", "BMP")
SAME_FORMAT = {"MPO": "JPEG"}  # a multi-picture JPEG is a JPEG to the user


class KeepRulesError(ValueError):
    pass


@dataclass(frozen=True)
class KeepRules:
    order: tuple[KeepRule, ...] = DEFAULT_ORDER
    formats: tuple[str, ...] = DEFAULT_FORMATS  # format names (formats.py), best first
    folders: tuple[str, ...] = ()  # absolute, links resolved, best first
    _format_rank: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(set(self.order)) != len(self.order):
            raise KeepRulesError("a keep rule is listed twice")
        unknown = [name for name in self.formats if name not in BY_NAME]
        if unknown:
            raise KeepRulesError(f"unknown format {unknown[0]!r}: one of {', '.join(f.name for f in FORMATS)}")
        object.__setattr__(self, "_format_rank", {name: n for n, name in enumerate(self.formats)})

    def key(self, image: ImageRecord, stacked: bool = False) -> tuple:
        """Sorts the copy to keep first: one value for each rule, in the rules' order."""
        return tuple(self._value(rule, image, stacked) for rule in self.order)

    def _value(self, rule: KeepRule, image: ImageRecord, stacked: bool):
        whole = (image.width or 0) * (image.height or 0)
        pixels = photo_pixels(image)
        if rule is KeepRule.WHOLE:
            return pixels < FRAMED_SHARE * whole
        if rule is KeepRule.RESOLUTION:
            return -int(math.log(pixels) / math.log(SAME_RESOLUTION)) if pixels > 0 else 0
        if rule is KeepRule.FORMATS:
            name = "RAW" if stacked else SAME_FORMAT.get(image.format or "", image.format or "")
            return self._format_rank.get(name, len(self.formats))
        if rule is KeepRule.FOLDERS:
            found = protected_folder_of(image.path, list(self.folders))
            return len(self.folders) if found is None else self.folders.index(found)
        if rule is KeepRule.FILE_SIZE:
            return -image.size
        if rule in (KeepRule.OLDEST, KeepRule.NEWEST):
            moment = capture_moment(image)
            if moment is None:
                return (True, 0)  # undated copies after dated ones, either way
            return (False, moment if rule is KeepRule.OLDEST else -moment)
        if rule is KeepRule.DATED:
            return not image.captured_at
        if rule is KeepRule.LONGEST:
            return -int(math.log(image.duration) / math.log(SAME_LENGTH)) if image.duration else 0
        if rule is KeepRule.BIT_RATE:
            return -image.bit_rate
        return (image.path.count(os.sep), len(image.path))  # SHORTEST_PATH

    # saved in the library as JSON ----------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"order": [r.value for r in self.order], "formats": list(self.formats),
                           "folders": list(self.folders)})

    @classmethod
    def from_json(cls, text: str | None) -> "KeepRules":
        if not text:
            return cls()
        saved = json.loads(text)
        return cls(tuple(KeepRule(r) for r in saved["order"]), tuple(saved["formats"]), tuple(saved["folders"]))

    def with_changes(self, order: list[str] | None = None, formats: list[str] | None = None,
                     folders: list[str] | None = None) -> "KeepRules":
        """These rules with a new order, format list or folder list (as a user writes them: names, any case;
        folders resolved); KeepRulesError says what is wrong."""
        changed = self
        if order is not None:
            try:
                changed = replace(changed, order=tuple(KeepRule(name.strip().lower()) for name in order))
            except ValueError as exc:
                raise KeepRulesError(f"{exc}: the rules are {', '.join(r.value for r in KeepRule)}") from None
        if formats is not None:
            by_label = {f.label.casefold(): f.name for f in FORMATS} | {f.name.casefold(): f.name for f in FORMATS}
            names = [by_label.get(name.strip().casefold(), name.strip()) for name in formats]
            changed = replace(changed, formats=tuple(dict.fromkeys(names)))
        if folders is not None:
            changed = replace(changed, folders=tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(f))
                                                                   for f in folders)))
        return changed

    def describe(self) -> list[str]:
        """The rules for people, in order, with the lists they use."""
        lines = ["the copy you chose with K", "a copy in a protected folder"]
        for rule in self.order:
            if rule is KeepRule.FORMATS:
                lines.append(f"{rule.label}: {' > '.join(BY_NAME[n].label for n in self.formats)}")
            elif rule is KeepRule.FOLDERS:
                lines.append(f"{rule.label}: {', '.join(self.folders) or '(none yet)'}")
            else:
                lines.append(rule.label)
        return lines


DEFAULT_RULES = KeepRules()


def photo_pixels(image: ImageRecord) -> int:
    """The pixels of the photo itself: inside bars, chrome and a tilted repost's wedges, where they were found."""
    return image.content_pixels or (image.width or 0) * (image.height or 0)


def capture_moment(image: ImageRecord) -> int | None:
    """Its capture date as a number that sorts like it ("2001-01-01T10:00:00" -> 20010101100000); None: no date."""
    digits = "".join(c for c in image.captured_at or "" if c.isdigit())[:14]
    return int(digits.ljust(14, "0")) if digits else None


def keeper_order(image: ImageRecord, protected: list[str] = (), chosen: dict[str, float] | None = None,
                 stacked: bool = False, rules: KeepRules = DEFAULT_RULES) -> tuple:
    """The copy the user chose to keep (the newest choice), then a copy in a protected folder, then the keep
    rules in their order (stacked: the file is one of a RAW+JPEG shot's), then the path."""
    in_protected = protected_folder_of(image.path, protected) is not None
    return (-(chosen or {}).get(image.path, 0.0), not in_protected, *rules.key(image, stacked), image.path)
