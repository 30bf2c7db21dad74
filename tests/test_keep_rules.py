"""Which copy of a group is kept: each keep rule, their order, what always comes before them, and the rules
saved in a real library, so the app, the CLI and a restart keep the same copy."""
import json
import os

import pytest

from conftest import cli, coffee_group
from simgui.core.library import Library
from simgui.core.matching.keep_rules import DEFAULT_RULES, KeepRule, KeepRules, KeepRulesError, keeper_order
from simgui.core.storage.store import ImageRecord


def _image(path, w=200, h=200, size=1000, captured=None, format="JPEG", content_pixels=None):
    return ImageRecord(1, path, 1, size, 0, "h", 0, w, h, format, captured, None, content_pixels)


def _kept(images, rules=DEFAULT_RULES, protected=(), chosen=None, stacked=()):
    return sorted(images, key=lambda i: keeper_order(i, list(protected), chosen, i.path in stacked, rules))[0]


def _only(rule, **lists):
    return KeepRules(order=(rule,), **lists)


@pytest.mark.unit
def test_each_rule_alone_picks_its_copy():
    small, large = _image("/p/a/small.jpg", 100, 100), _image("/p/a/large.jpg", 400, 300)
    assert _kept([small, large], _only(KeepRule.RESOLUTION)) is large
    letterboxed = _image("/p/a/bars.jpg", 400, 600, content_pixels=400 * 300)
    assert _kept([letterboxed, small], _only(KeepRule.WHOLE)) is small
    heic, jpeg, png = _image("/p/x.heic", format="HEIF"), _image("/p/x.jpg"), _image("/p/x.png", format="PNG")
    assert _kept([jpeg, png, heic], _only(KeepRule.FORMATS)) is heic
    assert _kept([jpeg, png, heic], _only(KeepRule.FORMATS, formats=("PNG", "JPEG"))) is png
    converted = _image("/p/x_palette.png", format="PNG", size=5000)  # a PNG made of the JPEG: larger, no better
    assert _kept([converted, jpeg]) is jpeg  # by default the same resolution's JPEG comes first
    mpo, webp = _image("/p/y.mpo", format="MPO"), _image("/p/y.webp", format="WEBP")
    assert _kept([webp, mpo], _only(KeepRule.FORMATS)) is mpo  # a multi-picture JPEG is a JPEG
    in_b, in_a, elsewhere = _image("/photos/b/1.jpg"), _image("/photos/z/sub/1.jpg"), _image("/photos/a/1.jpg")
    rules = _only(KeepRule.FOLDERS, folders=("/photos/z", "/photos/b"))
    assert _kept([elsewhere, in_b, in_a], rules) is in_a  # any depth below a preferred folder
    assert _kept([elsewhere, in_b], rules) is in_b
    big_file, small_file = _image("/p/big.jpg", size=5000), _image("/p/small.jpg", size=10)
    assert _kept([small_file, big_file], _only(KeepRule.FILE_SIZE)) is big_file
    old, new = _image("/p/z/old.jpg", captured="2004-05-06T07:08:09"), _image("/p/z/new.jpg", captured="2019-01-01T00:00:00")
    undated = _image("/p/z/none.jpg")
    assert _kept([undated, new, old], _only(KeepRule.OLDEST)) is old
    assert _kept([undated, old, new], _only(KeepRule.NEWEST)) is new  # undated last either way
    assert _kept([undated, new], _only(KeepRule.DATED)) is new
    deep, shallow = _image("/p/a/b/c/IMG.jpg"), _image("/p/IMG_long_name.jpg")
    assert _kept([deep, shallow], _only(KeepRule.SHORTEST_PATH)) is shallow


@pytest.mark.unit
def test_the_first_rule_that_tells_two_copies_apart_decides():
    heic_small = _image("/p/a.heic", 1000, 750, format="HEIF", size=400_000)
    jpeg_large = _image("/p/a.jpg", 4000, 3000, size=3_000_000)
    assert _kept([heic_small, jpeg_large]) is jpeg_large  # by default resolution comes before format
    formats_first = DEFAULT_RULES.with_changes(order=["formats", "resolution", "file-size"])
    assert _kept([heic_small, jpeg_large], formats_first) is heic_small
    # equal on the first rule (same format): the next one decides
    jpeg_small = _image("/p/b.jpg", 1000, 750, size=900_000)
    assert _kept([jpeg_small, jpeg_large], formats_first) is jpeg_large
    # the same resolution: the format decides before the file's size
    heic_same = _image("/p/c.heic", 4000, 3000, format="HEIF", size=1_000_000)
    assert _kept([jpeg_large, heic_same]) is heic_same


@pytest.mark.unit
def test_a_choice_and_a_protected_folder_come_before_every_rule():
    large, small = _image("/photos/new/large.jpg", 4000, 3000), _image("/photos/archive/small.jpg", 100, 100)
    assert _kept([large, small], protected=["/photos/archive"]) is small
    assert _kept([large, small], protected=["/photos/archive"], chosen={"/photos/new/large.jpg": 5.0}) is large


@pytest.mark.unit
def test_a_raw_and_jpeg_shot_counts_as_raw():
    shot_jpeg, export = _image("/p/shoot/IMG_1.jpg", 4000, 3000, size=2_000_000), _image("/p/out/IMG_1.jpg", 4000, 3000,
                                                                                         size=5_000_000)
    assert _kept([export, shot_jpeg], stacked={"/p/shoot/IMG_1.jpg"}) is shot_jpeg


@pytest.mark.unit
def test_rules_are_saved_as_json_and_bad_ones_are_refused_with_a_reason():
    rules = DEFAULT_RULES.with_changes(order=["Formats", "oldest"], formats=["heic", "JPEG", "raw"], folders=["/tmp"])
    assert rules.order == (KeepRule.FORMATS, KeepRule.OLDEST)
    assert rules.formats == ("HEIF", "JPEG", "RAW")  # labels or names, any case
    assert rules.folders == (os.path.realpath("/tmp"),)
    assert KeepRules.from_json(rules.to_json()) == rules
    assert KeepRules.from_json(None) == DEFAULT_RULES
    with pytest.raises(KeepRulesError, match="biggest"):
        DEFAULT_RULES.with_changes(order=["biggest"])
    with pytest.raises(KeepRulesError, match="twice"):
        DEFAULT_RULES.with_changes(order=["oldest", "oldest"])
    with pytest.raises(KeepRulesError, match="unknown format 'PSD'"):
        DEFAULT_RULES.with_changes(formats=["PSD"])
    assert rules.describe()[:3] == ["the copy you chose with K", "a copy in a protected folder",
                                    "Preferred formats: HEIC > JPEG > Camera RAW"]


def test_saved_rules_pick_the_keeper_in_the_library_and_outlive_a_restart(library, library_dir, photo_folder):
    group = coffee_group(library)
    assert group.keeper.image.path == str(photo_folder / "coffee.jpg")  # the largest, by default
    library.set_keep_rules(DEFAULT_RULES.with_changes(order=["shortest-path"], folders=[]))
    library.set_keep_rules(library.keep_rules().with_changes(order=["folders", "resolution"],
                                                             folders=[str(photo_folder / "edits")]))
    library.close()
    reopened = Library(library_dir)
    try:
        kept = coffee_group(reopened).keeper.image.path
        assert os.path.dirname(kept) == str(photo_folder / "edits")  # the preferred folder's copy, now
        with pytest.raises(Exception, match="not a folder"):
            reopened.set_keep_rules(reopened.keep_rules().with_changes(folders=[str(photo_folder / "nowhere")]))
    finally:
        reopened.close()


def test_cli_shows_and_sets_the_keep_rules(indexed_library_dir, photo_folder):
    shown = cli(indexed_library_dir, "keep-rules", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["order"] == [r.value for r in DEFAULT_RULES.order]
    changed = cli(indexed_library_dir, "keep-rules", "--order", "folders,resolution", "--folders",
                  str(photo_folder / "edits"))
    assert changed.returncode == 0, changed.stderr
    assert "1. the copy you chose with K" in changed.stdout and f"Preferred folders: {photo_folder / 'edits'}" in changed.stdout
    groups = json.loads(cli(indexed_library_dir, "groups", "--json").stdout)["groups"]
    coffee = next(g for g in groups if g["kind"] == "near" and any("coffee" in m["path"] for m in g["members"]))
    keeper = next(m for m in coffee["members"] if m["keeper"])
    assert os.path.dirname(keeper["path"]) == str(photo_folder / "edits")
    wrong = cli(indexed_library_dir, "keep-rules", "--order", "prettiest")
    assert wrong.returncode == 2 and "prettiest" in wrong.stderr and "Traceback" not in wrong.stderr
    reset = cli(indexed_library_dir, "keep-rules", "--reset", "--json")
    assert json.loads(reset.stdout)["order"] == [r.value for r in DEFAULT_RULES.order]


def test_a_tilted_repost_inside_black_corners_is_not_kept_over_its_original(tmp_path):
    from PIL import Image

    from conftest import photo
    folder = tmp_path / "photos"
    folder.mkdir()
    original = Image.open(photo("coffee")).convert("RGB")
    original.save(folder / "coffee.jpg", quality=92)
    # turned 20 degrees on a larger canvas: more pixels than the original, a third of them black corners
    original.rotate(20, expand=True, fillcolor=(0, 0, 0)).save(folder / "coffee_reposted.jpg", quality=92)
    library = Library(tmp_path / "library")
    try:
        library.add_roots([str(folder)])
        library.update()
        [group] = [g for g in library.groups() if g.kind == "near"]
        assert group.keeper.image.path == str(folder / "coffee.jpg")
        tilted = next(m.image for m in group.members if not m.keeper)
        assert tilted.content_pixels < 0.9 * tilted.width * tilted.height  # its photo, not its canvas
    finally:
        library.close()
