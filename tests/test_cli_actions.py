"""simgui-cli delete, merge, undo, history and empty-trash: the contract scripts rely on (DESIGN.md)."""
import json
import os
from datetime import datetime

from conftest import cli


def test_merge_history_undo_and_empty_trash_as_json(photo_folder, indexed_library_dir):
    photos, library_dir = photo_folder, indexed_library_dir
    keeper, a, b = photos / "coffee.jpg", photos / "edits" / "coffee_grayscale.jpg", photos / "edits" / "coffee_letterbox.jpg"
    run = cli(library_dir, "merge", str(keeper), str(a), str(b), "--json")
    assert run.returncode == 0, run.stderr
    merged = json.loads(run.stdout)
    assert merged["moved"] == [str(a), str(b)] and merged["refused"] == [] and isinstance(merged["action"], int)
    assert keeper.exists() and not a.exists() and not b.exists()

    history = json.loads(cli(library_dir, "history", "--json").stdout)
    assert history[0]["id"] == merged["action"] and history[0]["kind"] == "merge"
    assert history[0]["files"] == [str(a), str(b)] and history[0]["undone"] is False
    assert all(m["state"] == "in simgui's trash" and os.path.exists(m["trash"]) for m in history[0]["moves"])
    datetime.fromisoformat(history[0]["at"])

    undone = json.loads(cli(library_dir, "undo", "--json").stdout)
    assert undone["action"] == merged["action"] and sorted(undone["moved"]) == sorted([str(a), str(b)])
    assert a.exists() and b.exists()
    again = cli(library_dir, "undo", str(merged["action"]))  # said, not a silent success
    assert again.returncode == 0 and "undone already" in again.stderr
    assert json.loads(cli(library_dir, "history", "--json").stdout)[0]["undone"] is True

    deleted = json.loads(cli(library_dir, "delete", str(a), "--json").stdout)
    emptied = cli(library_dir, "empty-trash", "--json")
    assert emptied.returncode == 0 and json.loads(emptied.stdout)["moved"] == [str(a)]
    last = json.loads(cli(library_dir, "history", "--json").stdout)[0]
    assert last["id"] == deleted["action"] and last["moves"][0]["state"] == "in the system trash"


def test_merge_never_lets_a_different_photo_go_as_a_copy(photo_folder, indexed_library_dir):
    """merge keeps one copy of one photo: a file that compare calls a different photo (a wrong path in a
    script, a slip of the mouse) is refused, not sent to the trash with the copies (an attacker's pass)."""
    photos, library_dir = photo_folder, indexed_library_dir
    keeper, copy, stranger = photos / "coffee.jpg", photos / "edits" / "coffee_grayscale.jpg", photos / "rocket.jpg"
    assert json.loads(cli(library_dir, "compare", str(keeper), str(stranger), "--json").stdout)["verdict"] == "different"
    run = cli(library_dir, "merge", str(keeper), str(copy), str(stranger), "--json")
    assert run.returncode == 1 and copy.exists() and stranger.exists()
    assert "different photo" in run.stderr and str(stranger) in run.stderr


def test_a_refused_action_exits_1_moves_nothing_and_says_which_file_and_why(photo_folder, indexed_library_dir, tmp_path):
    photos, library_dir = photo_folder, indexed_library_dir
    stranger = tmp_path / "not indexed.jpg"
    stranger.write_bytes((photos / "rocket.jpg").read_bytes())
    before = sorted(p for p in photos.rglob("*") if p.is_file())
    run = cli(library_dir, "delete", str(photos / "rocket.jpg"), str(stranger), "--json")
    assert run.returncode == 1
    assert json.loads(run.stdout)["refused"] == [{"path": str(stranger),
                                                 "reason": "not a photo of this library (index its folder first)"}]
    assert f"left alone: {stranger}" in run.stderr

    (photos / "chelsea.jpg").write_bytes(b"edited since")  # the keeper changed: the merge must not go ahead
    run = cli(library_dir, "merge", str(photos / "chelsea.jpg"), str(photos / "edits" / "chelsea_recompress.jpg"))
    assert run.returncode == 1 and "the file to keep" in run.stderr and "Traceback" not in run.stderr
    run = cli(library_dir, "merge", str(photos / "rocket.jpg"), str(photos / "rocket.jpg"))
    assert run.returncode == 1 and "named as the file to keep" in run.stderr
    assert sorted(p for p in photos.rglob("*") if p.is_file()) == before

    run = cli(library_dir, "undo", "999")
    assert run.returncode == 1 and "no action 999" in run.stderr
    nothing = cli(library_dir, "undo", "--json")
    assert nothing.returncode == 0 and json.loads(nothing.stdout)["action"] is None


def test_merge_to_a_folder_and_as_hard_links_then_undo(photo_folder, library_dir, tmp_path):
    import shutil

    from conftest import snapshot
    photos = photo_folder
    shutil.copy(photos / "rocket.jpg", photos / "edits" / "rocket copy.jpg")
    assert cli(library_dir, "index", str(photos)).returncode == 0
    before = snapshot(photos)
    keeper, copy, near = photos / "rocket.jpg", photos / "edits" / "rocket copy.jpg", photos / "edits" / "coffee_grayscale.jpg"

    aside = tmp_path / "aside"
    run = cli(library_dir, "merge", str(photos / "coffee.jpg"), str(near), "--to-folder", str(aside), "--json")
    assert run.returncode == 0, run.stderr
    assert (aside / photos.name / "edits" / near.name).read_bytes() == before[str(near)] and not near.exists()
    history = json.loads(cli(library_dir, "history", "--json").stdout)[0]
    assert history["kind"] == "move" and history["moves"][0]["state"] == "in the folder it was moved to"
    assert cli(library_dir, "undo").returncode == 0 and snapshot(photos) == before

    run = cli(library_dir, "merge", str(photos / "coffee.jpg"), str(near), "--hard-link")  # not an identical copy
    assert run.returncode == 1 and "identical" in run.stderr and snapshot(photos) == before
    run = cli(library_dir, "merge", str(keeper), str(copy), "--hard-link", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["moved"] == [str(copy)] and os.path.samefile(keeper, copy)
    assert snapshot(photos) == before
    assert cli(library_dir, "undo").returncode == 0
    assert snapshot(photos) == before and not os.path.samefile(keeper, copy)

    run = cli(library_dir, "merge", str(keeper), str(copy), "--to-folder", str(photos / "doubles"))
    assert run.returncode == 1 and "inside the library" in run.stderr and not (photos / "doubles").exists()
