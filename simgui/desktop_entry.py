"""`simgui --install-desktop-entry`: a menu entry and icon for the app (freedesktop.org), for the user alone,
so that it starts from the desktop's menu and not only from a terminal."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from simgui.gui.app import ICON

ENTRY_NAME = "simgui.desktop"
# what the entry offers to open: a photo dropped on its icon, or "Open with" in a file manager
MIME_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "image/webp", "image/tiff", "image/avif",
              "image/jxl", "image/x-adobe-dng", "image/x-canon-cr2", "image/x-nikon-nef", "image/x-sony-arw")


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _command() -> str:
    """How the menu starts this very installation: its `simgui` launcher, else this Python with -m."""
    launcher = shutil.which("simgui")
    return " ".join(_exec_argument(part) for part in ([launcher] if launcher else [sys.executable, "-m", "simgui"]))


def _exec_argument(text: str) -> str:
    """An argument as the Exec key wants it: in double quotes, with \\ " ` $ escaped, if it has a space or
    one of those."""
    if not any(c in text for c in ' "\\`$'):
        return text
    escaped = "".join("\\" + c if c in '"\\`$' else c for c in text)
    return f'"{escaped}"'


def install_desktop_entry() -> list[Path]:
    """Writes the entry and its icon (replacing an older simgui entry of this user); the paths written."""
    data_home = _data_home()
    icon = data_home / "icons" / "hicolor" / "256x256" / "apps" / "simgui.png"
    entry = data_home / "applications" / ENTRY_NAME
    text = "\n".join([
        "[Desktop Entry]", "Type=Application", "Name=simgui", "GenericName=Duplicate photo finder",
        "Comment=Find duplicate and similar photos and clean up your library safely",
        f"Exec={_command()}", "Icon=simgui", "Terminal=false", "StartupWMClass=simgui",
        "Categories=Graphics;Photography;", f"MimeType={';'.join(MIME_TYPES)};",
        "Keywords=duplicates;photos;similar;cleanup;", ""])
    for target, write in ((icon, lambda path: shutil.copyfile(ICON, path)),
                          (entry, lambda path: path.write_text(text, encoding="utf-8"))):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        write(partial)
        os.replace(partial, target)  # ours alone: a menu never reads half an entry
    return [entry, icon]
