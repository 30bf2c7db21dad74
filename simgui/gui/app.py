"""The desktop app's entry point: arguments, QApplication, main window."""
from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from simgui import __version__
from simgui.core.storage.config import default_library_dir

ICON = Path(str(resources.files("simgui.resources"))) / "simgui.png"  # resources/ in the source tree


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="simgui", description="Find duplicate and similar photos.")
    parser.add_argument("--version", action="version", version=f"simgui {__version__}")
    parser.add_argument("--library", type=Path, default=None,
                        help="library folder (default: $SIMGUI_LIBRARY or the per-user data folder)")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add simgui to your desktop's menu (a .desktop file and its icon, for you alone), then exit")
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.install_desktop_entry:
        from simgui.desktop_entry import install_desktop_entry
        try:
            written = install_desktop_entry()
        except OSError as exc:
            print(f"simgui: the menu entry could not be written: {exc}", file=sys.stderr)
            return 1
        print("simgui is in your desktop's menu now:", *written, sep="\n  ")
        return 0
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from simgui.core.library import LibraryError
    from simgui.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("simgui")
    app.setOrganizationName("simgui")
    app.setWindowIcon(QIcon(str(ICON)))
    try:
        window = MainWindow(args.library or default_library_dir())
    except LibraryError as exc:  # a read-only or full library folder: say so, rather than a traceback
        print(f"simgui: {exc}", file=sys.stderr)
        QMessageBox.critical(None, "simgui", str(exc))
        return 1
    window.show()
    return app.exec()


if __name__ == "__main__":  # python -m simgui.gui.app, as well as python -m simgui and simgui
    sys.exit(run(sys.argv[1:]))
