"""The desktop window on a real Qt event loop (offscreen), real model, real files."""
from simgui.gui.main_window import MainWindow


def test_add_folder_indexes_in_background(qtbot, photo_folder, library_dir):
    window = MainWindow(library_dir)
    qtbot.addWidget(window)
    window.add_folder(str(photo_folder))
    assert window.thread is not None  # indexing runs off the GUI thread
    qtbot.waitUntil(lambda: window.thread is None, timeout=120_000)
    assert window.counts.text() == "15 photos, 0 skipped"
    assert window.folders.item(0).text() == str(photo_folder)
    window.close()
