"""simgui-cli end to end, in real subprocesses, exactly as scripts call it."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import photo, save_edit, stem_of


def cli(library, *args, check=True):
    result = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library), *args],
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


@pytest.fixture
def indexed(photo_folder, library_dir):
    run = cli(library_dir, "index", str(photo_folder))
    assert "indexed 15/15" in run.stderr  # progress goes to stderr
    return library_dir


def test_stats_groups_query_compare(indexed, photo_folder, tmp_path):
    stats = json.loads(cli(indexed, "stats", "--json").stdout)
    assert stats["images"] == 15 and stats["skipped"] == 0

    groups = json.loads(cli(indexed, "groups", "--json").stdout)["groups"]
    near = [g for g in groups if g["kind"] == "near"]
    assert len(near) == 5
    for g in near:
        paths = [m["path"] for m in g["members"]]
        assert all(os.path.isabs(p) for p in paths) and len({stem_of(p) for p in paths}) == 1
        assert sum(m["keeper"] for m in g["members"]) == 1
        assert all(0.0 <= m["score"] <= 1.0 for m in g["members"])

    # queries need not be in the library: fresh edits made outside it, several at once
    outside = tmp_path / "outside"
    outside.mkdir()
    queries = [save_edit(photo("chelsea"), outside / "q1.jpg", "grayscale"),
               save_edit(photo("rocket"), outside / "q2.jpg", "crop")]
    answers = json.loads(cli(indexed, "query", *map(str, queries), "--top", "3", "--json").stdout)
    assert [a["query"] for a in answers] == [str(q) for q in queries]
    assert stem_of(answers[0]["results"][0]["path"]) == "chelsea"
    assert stem_of(answers[1]["results"][0]["path"]) == "rocket"
    assert len(answers[0]["results"]) == 3
    tiers = ["exact", "near", "similar", "different"]
    keys = [(tiers.index(r["verdict"]), -(r["agreement"] + r["score"])) for r in answers[0]["results"]]
    assert keys == sorted(keys)  # verified copies first, then by how strongly they match

    same = json.loads(cli(indexed, "compare", str(photo("coffee")), str(photo_folder / "coffee.jpg"), "--json").stdout)
    assert same["verdict"] == "exact" and same["score"] == 1.0
    in_library = json.loads(cli(indexed, "query", str(photo("coffee")), "--top", "1", "--json").stdout)[0]
    assert in_library["results"][0]["verdict"] == "exact" and in_library["results"][0]["score"] == 1.0
    near = json.loads(cli(indexed, "compare", str(photo("coffee")), str(queries[0]), "--json").stdout)
    assert near["verdict"] in ("similar", "different")
    downscaled = save_edit(photo("rocket"), outside / "small.jpg", "downscale")
    copy = json.loads(cli(indexed, "compare", str(photo("rocket")), str(downscaled), "--json").stdout)
    assert copy["verdict"] == "near"
    # a 42 % crop of a mostly black night photo: on its own, the patch grid no longer lines up
    cropped = json.loads(cli(indexed, "compare", str(photo("rocket")), str(queries[1]), "--json").stdout)
    assert cropped["verdict"] in ("near", "similar")

    human = cli(indexed, "groups").stdout
    assert "group 1" in human and "keep" in human


def test_skipped_listing_and_bad_query(library_dir, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    (folder / "ok.jpg").write_bytes(photo("coffee").read_bytes())
    cli(library_dir, "index", str(folder))
    skipped = json.loads(cli(library_dir, "skipped", "--json").stdout)["skipped"]
    assert [s["path"] for s in skipped] == [str(folder / "broken.jpg")] and skipped[0]["reason"]
    bad = cli(library_dir, "query", str(folder / "broken.jpg"), "--json", check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)[0]["error"]


def test_clear_errors(library_dir, tmp_path):
    missing = cli(library_dir, "index", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 1 and "not a folder" in missing.stderr
    empty = cli(library_dir, "index", check=False)
    assert empty.returncode == 1 and "no folders" in empty.stderr


def test_library_from_environment(photo_folder, tmp_path):
    env = {**os.environ, "SIMGUI_LIBRARY": str(tmp_path / "envlib")}
    subprocess.run([sys.executable, "-m", "simgui.cli", "index", str(photo_folder)], env=env, check=True,
                   capture_output=True)
    assert (tmp_path / "envlib" / "library.db").exists()


def test_file_names_that_are_not_utf8_or_hold_a_newline(photo_folder, library_dir, tmp_path):
    from simgui.core.files.actions import FileActions
    from simgui.core.library import Library

    latin1 = os.fsdecode(b"caf\xe9 cr\xe8me.jpg")  # a name from an old camera card: bytes, not UTF-8
    newline = "two\nlines.jpg"
    os.rename(next(photo_folder.glob("edits/coffee_*")), photo_folder / latin1)
    os.rename(next(photo_folder.glob("edits/rocket_*")), photo_folder / newline)
    cli(library_dir, "index", str(photo_folder))
    assert json.loads(cli(library_dir, "stats", "--json").stdout)["images"] == 15  # none left out

    result = subprocess.run([sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "groups", "--json"],
                            capture_output=True, timeout=300)
    members = {m["path"] for g in json.loads(result.stdout)["groups"] for m in g["members"]}
    assert str(photo_folder / latin1) in members and str(photo_folder / newline) in members  # exact round trip
    query = json.loads(subprocess.run(
        [sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "query", str(photo_folder / latin1),
         "--json"], capture_output=True, timeout=300).stdout)
    assert query[0]["results"][0]["path"] == str(photo_folder / latin1)

    library = Library(library_dir)
    actions = FileActions(library)
    group = next(g for g in library.groups() if any(m.image.path.endswith(latin1) for m in g.members))
    odd = [m.image for m in group.members if m.image.path.endswith(latin1)]
    assert actions.delete(odd).moved == [str(photo_folder / latin1)]
    assert not os.path.exists(photo_folder / latin1)
    actions.undo()
    assert os.path.exists(photo_folder / latin1)
    copy = next(m.image.path for m in group.members if not m.image.path.endswith(latin1))
    merged = actions.merge_paths(str(photo_folder / latin1), [copy])  # its label names the keeper
    assert merged.moved == [copy]
    assert actions.journal.actions(1)[0].label == "merge into caf\ufffd cr\ufffdme.jpg"
    actions.undo()
    assert os.path.exists(copy)
    actions.close()
    library.close()


def test_two_indexers_on_one_library_do_the_work_once(photo_folder, library_dir):
    from PIL import Image

    from conftest import PHOTOS
    for n in range(60):  # enough work that the two processes overlap
        Image.open(PHOTOS[n % len(PHOTOS)]).convert("RGB").rotate(n * 5).save(photo_folder / f"extra{n:02d}.jpg")
    command = [sys.executable, "-m", "simgui.cli", "--library", str(library_dir), "index", str(photo_folder)]
    first = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=300)[1] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    embedded = [int(line.split(" embedded")[0].rsplit(" ", 1)[1]) for out in outputs
                for line in out.splitlines() if " embedded" in line]
    assert sorted(embedded) == [0, 75], outputs  # one did it all; the other waited, then found it done
    assert any("waiting for another simgui process" in out for out in outputs)
    assert json.loads(cli(library_dir, "stats", "--json").stdout)["images"] == 75


def test_compare_says_how_much_differs_and_draws_it(library_dir, tmp_path):
    from PIL import Image
    marked = tmp_path / "marked.jpg"
    picture = Image.open(photo("coffee")).convert("RGB")
    picture.paste((20, 200, 20), (0, 0, picture.width // 3, picture.height // 3))
    picture.save(marked, quality=90)
    overlay = tmp_path / "differences.png"
    answer = json.loads(cli(library_dir, "compare", str(photo("coffee")), str(marked), "--json",
                            "--overlay", str(overlay)).stdout)
    assert answer["verdict"] == "near" and 0.05 < answer["differing_share"] < 0.25
    # nothing was cropped: what differs is changed content (the green square), not content cut away
    assert answer["changed_share"] == answer["differing_share"] and answer["cut_away_share"] == 0.0
    shaded = np.asarray(Image.open(overlay).convert("RGB"), np.int16) - \
        np.asarray(Image.open(photo("coffee")).convert("RGB").resize(Image.open(overlay).size), np.int16)
    changed = np.abs(shaded).sum(2) > 60
    h, w = changed.shape
    assert changed[: h // 3, : w // 3].mean() > 0.5 and changed[h // 2:, w // 2:].mean() < 0.05
    same = json.loads(cli(library_dir, "compare", str(photo("coffee")), str(photo("coffee")), "--json").stdout)
    assert same["verdict"] == "exact" and same["differing_share"] == 0.0


def test_map_places_every_distinct_photo(indexed):
    points = json.loads(cli(indexed, "map", "--json").stdout)["points"]
    assert len(points) == 15 and all(0.0 <= p["x"] <= 1.0 and 0.0 <= p["y"] <= 1.0 for p in points)
