"""The groups exported: a self-contained HTML report with thumbnails, and CSV, from the CLI, the engine and the
app, on a real library of real photos."""
import base64
import csv
import io
import json
import re

import pytest
from PIL import Image

from conftest import cli
from simgui.core.export import library_thumbnails, write_export
from simgui.core.library import Library
from simgui.core.storage.errors import LibraryError


def test_cli_writes_a_self_contained_html_report_with_every_photo_s_thumbnail(indexed_library_dir, tmp_path):
    report = tmp_path / "report.html"
    done = cli(indexed_library_dir, "groups", "--html", str(report))
    assert done.returncode == 0, done.stderr
    groups = json.loads(cli(indexed_library_dir, "groups", "--json").stdout)["groups"]
    text = report.read_text()
    assert text.count("<section>") == len(groups) >= 5  # every group the CLI lists
    members = sum(len(g["members"]) for g in groups)
    thumbnails = re.findall(r"src='data:image/jpeg;base64,([^']+)'", text)
    assert len(thumbnails) == members  # every photo shown, each from inside the file
    for encoded in thumbnails:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as thumbnail:
            assert thumbnail.format == "JPEG" and max(thumbnail.size) <= 160
    assert text.count("<b>keep</b>") == len(groups)  # one keeper a group, marked
    assert "http:" not in text and "file:" not in text  # nothing outside the file
    assert f"{len(groups)} groups written" in done.stderr


def test_an_export_is_written_whole_or_not_at_all(indexed_library_dir, tmp_path):
    library = Library(indexed_library_dir)
    try:
        groups = library.groups()
        target = tmp_path / "groups.html"
        assert write_export(groups, target, library_thumbnails(library.folder), cancelled=lambda: True) is False
        assert list(tmp_path.glob("*groups.html*")) == []  # cancelled: no file, no partial one
        with pytest.raises(LibraryError, match="name it .csv or .html"):
            write_export(groups, tmp_path / "groups.txt", library_thumbnails(library.folder))
        with pytest.raises(LibraryError, match="cannot write"):
            write_export(groups, tmp_path / "no such folder" / "groups.csv", library_thumbnails(library.folder))
        assert write_export(groups, tmp_path / "groups.csv", library_thumbnails(library.folder)) is True
    finally:
        library.close()
    rows = list(csv.reader((tmp_path / "groups.csv").open(newline="")))
    assert rows == list(csv.reader(io.StringIO(cli(indexed_library_dir, "groups", "--csv").stdout)))  # as the CLI's
    assert rows[0][:4] == ["group", "kind", "keeper", "path"] and len(rows) > 1


def test_the_app_exports_the_groups_on_screen(qtbot, photo_folder, library_dir, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    from simgui.gui.main_window import MainWindow
    window = MainWindow(library_dir, watch=False)
    qtbot.addWidget(window)
    window.show()
    try:
        window.add_folder(str(photo_folder))
        qtbot.waitUntil(lambda: sum(g.kind == "near" for g in window.duplicates.all_groups) == 5, timeout=120_000)
        window.duplicates.kind_filter.setCurrentText("near")  # the groups on screen are the ones exported
        shown = list(window.session.state.shown)
        assert len(shown) == 5
        chosen = tmp_path / "for the spreadsheet"  # typed without an extension; the CSV filter chosen
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *args: (str(chosen), "CSV for spreadsheets (*.csv)"))
        qtbot.keyClick(window, Qt.Key_E, Qt.ControlModifier)
        written = tmp_path / "for the spreadsheet.csv"
        qtbot.waitUntil(lambda: "exported" in window.statusBar().currentMessage(), timeout=60_000)
        rows = list(csv.DictReader(written.open(newline="")))
        assert {r["group"] for r in rows} == {str(n) for n in range(1, 6)} and {r["kind"] for r in rows} == {"near"}
        assert sorted(r["path"] for r in rows) == sorted(m.image.path for g in shown for m in g.members)
    finally:
        window.close()
