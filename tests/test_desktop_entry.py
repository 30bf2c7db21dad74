"""`simgui --install-desktop-entry`, run as a user would: the entry and icon a desktop's menu reads."""
import configparser
import os
import subprocess
import sys


def test_the_app_installs_its_menu_entry_and_icon_for_the_user(tmp_path):
    data_home = tmp_path / "my data"  # a space in the path: the Exec line must quote it
    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "PATH": f"{tmp_path / 'no launcher here'}"}
    for _ in range(2):  # a second run replaces the first entry, and leaves no partial file behind
        done = subprocess.run([sys.executable, "-m", "simgui", "--install-desktop-entry"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    entry = data_home / "applications" / "simgui.desktop"
    icon = data_home / "icons" / "hicolor" / "256x256" / "apps" / "simgui.png"
    assert str(entry) in done.stdout and icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.optionxform = str
    parsed.read_string(entry.read_text())
    fields = parsed["Desktop Entry"]
    assert fields["Type"] == "Application" and fields["Icon"] == "simgui" and fields["Terminal"] == "false"
    assert fields["Exec"] == f"{sys.executable} -m simgui"  # no launcher on PATH: this Python runs it
    assert "image/jpeg" in fields["MimeType"].split(";")
    assert sorted(p.name for p in entry.parent.iterdir()) == ["simgui.desktop"]
