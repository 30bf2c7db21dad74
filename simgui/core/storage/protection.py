"""Protected folders: a user's reference copies (the archive, the edited exports they keep).

Their files are never marked to go and never moved, by any action, bulk ones included; in a
group, a copy in a protected folder is the one kept. Folders are stored with links resolved,
like roots, and a photo is inside one when its folder, links resolved, is that folder or below it.
"""
from __future__ import annotations

import os

from simgui.core.storage.pathtext import within


def protected_folder_of(path: str, protected: list[str]) -> str | None:
    """The protected folder that holds `path`, or None."""
    folder = os.path.realpath(os.path.dirname(path))
    return next((top for top in protected if within(folder, top)), None)
