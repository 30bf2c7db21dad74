"""What the user leaves out of the library: folders (by path) and name patterns ("*.png", "Screenshots",
"*/WhatsApp/*/Sent/*").

A left-out file is not indexed, grouped or acted on, and one indexed before leaves the library at the next
scan (the file itself is never touched). An entry that is a full path is a folder, with everything below it;
any other entry is a pattern, matched without regard to case against each file's and folder's name or, when
it holds a "/", against the whole path.
"""
from __future__ import annotations

import fnmatch
import functools
import json
import os
from dataclasses import dataclass

from simgui.core.storage.pathtext import within


class ExclusionError(ValueError):
    """An entry that cannot be a folder or a pattern; the message says why."""


@dataclass(frozen=True)
class Exclusions:
    entries: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: list[str]) -> "Exclusions":
        """Entries as the user typed them: folders get their links resolved (as roots are), patterns stay."""
        kept = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            if os.path.isabs(os.path.expanduser(entry)):
                entry = os.path.realpath(os.path.expanduser(entry))
            elif entry in (".", "..") or entry.strip("*/") == "":
                raise ExclusionError(f"{entry!r} would leave out every photo: name a folder or a pattern such as *.png")
            if not any(entry == k or not os.path.isabs(entry) and entry.lower() == k.lower() for k in kept):
                kept.append(entry)
        return cls(tuple(kept))

    @classmethod
    def from_json(cls, saved: str | None) -> "Exclusions":
        return cls(tuple(json.loads(saved))) if saved else cls()

    def to_json(self) -> str:
        return json.dumps(list(self.entries))

    # worked out once: a scan asks leaves_out() of every file and folder of the library
    @functools.cached_property
    def folders(self) -> list[str]:
        return [e for e in self.entries if os.path.isabs(e)]

    @functools.cached_property
    def patterns(self) -> list[str]:
        return [e.lower() for e in self.entries if not os.path.isabs(e)]

    def leaves_out(self, path: str) -> bool:
        """True when this file or folder (a full path) is left out of the library."""
        if not self.entries:
            return False
        if any(within(path, folder) for folder in self.folders):
            return True
        name, lowered = os.path.basename(path).lower(), path.lower()
        return any(fnmatch.fnmatchcase(lowered if "/" in p else name, p) for p in self.patterns)

    def leaves_out_below(self, path: str, root: str) -> bool:
        """True when the file, or a folder between it and its root, is left out (a pattern such as
        "Screenshots" names a folder on the way, not the file)."""
        while len(path) > len(root):
            if self.leaves_out(path):
                return True
            path = os.path.dirname(path)
        return False
