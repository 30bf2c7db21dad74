"""Where the library lives, and the names of its files."""
from __future__ import annotations

import os
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
