from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import PHOTOS, stem_of
from simgui.core.matching.clusters import REFUSED, attach_stragglers, average_linkage
from simgui.core.matching.grouping import GroupFinder, overrule_lone_vetoes
from simgui.core.matching.keep_rules import keeper_order
from simgui.core.library import Library
from simgui.core.storage.store import ImageRecord


@pytest.mark.unit
def test_average_linkage_does_not_chain_two_groups_through_one_weak_match():
    # 0,1,2 are copies of one photo; 3,4,5 of another; 2~3 is one weak, false match
    strong = {(0, 1), (0, 2), (1, 2), (3, 4), (3, 5), (4, 5)}
    weak = {(2, 3)}

    scores = {pair: 0.5 for pair in strong} | {pair: 0.08 for pair in weak}
    assert average_linkage(list(range(6)), scores, 0.07) == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.unit
def test_average_linkage_keeps_a_copy_that_matches_most_of_its_group():
    scores = {(0, 1): 0.6, (0, 2): 0.3, (1, 2): 0.05}
    assert average_linkage([0, 1, 2], scores, 0.07) == [[0, 1, 2]]


@pytest.mark.unit
def test_average_linkage_scales_to_a_component_of_thousands():
    # 3,000 copies in 30 groups of 100, each copy scored only against its 8 nearest in its group (as the
    # kNN gives), and a weak false match between neighbouring groups: never chained across groups
    scores = {}
    for g in range(30):
        base = g * 100
        for i in range(100):
            for step in range(1, 9):
                if i + step < 100:
                    scores[(base + i, base + i + step)] = 0.6
        if g:
            scores[(base - 1, base)] = 0.08
    clusters = average_linkage(list(range(3000)), scores, 0.07)
    assert all(len({n // 100 for n in c}) == 1 for c in clusters)  # never two groups in one cluster
    assert sum(len(c) for c in clusters) == 3000  # every copy is in a cluster (big groups come in chunks)


def _image(path, w, h, size, captured=None, content_pixels=None):
    return ImageRecord(1, path, 1, size, 0, "h", 0, w, h, "JPEG", captured, None, content_pixels)


@pytest.mark.unit
def test_a_moment_veto_between_two_copies_of_one_original_is_overruled_and_one_between_two_shots_is_not():
    original, palette, watermarked = 0, 1, 2  # a palette PNG and a watermarked copy read as two moments
    copies = {(0, 1): 0.81, (0, 2): 0.62, (1, 2): REFUSED}
    overruled = overrule_lone_vetoes(copies, {(1, 2)})
    assert overruled[(1, 2)] == 0.0
    assert average_linkage([original, palette, watermarked], overruled, 0.07) == [[0, 1, 2]]
    # two shots of a burst (0, 1), each with its copy (2, 3): every shot-to-other-shot pair is vetoed
    burst = {(0, 1): REFUSED, (0, 2): 0.9, (1, 3): 0.9, (0, 3): REFUSED, (1, 2): REFUSED, (2, 3): REFUSED}
    assert overrule_lone_vetoes(burst, {(0, 1), (0, 3), (1, 2), (2, 3)}) == burst
    # ... and where the pixels missed one veto (shot 0 and shot 1 line up, unvetoed), the others still hold
    missed = {**burst, (0, 1): 0.69, (0, 3): 0.69}
    assert overrule_lone_vetoes(missed, {(1, 2), (2, 3)}) == missed
    # a veto the user gave ("Not duplicates") is not the pixels': it is never passed as one, and stays
    assert overrule_lone_vetoes(copies, set()) == copies
    # two crops of a flat picture that overlap little (seed 97's s012): each only faintly near its original
    crops = {(0, 1): 0.2, (0, 2): 0.16, (1, 2): REFUSED}
    assert average_linkage([0, 1, 2], overrule_lone_vetoes(crops, {(1, 2)}), 0.07) == [[0, 1, 2]]
    # a refusal between two other copies (3 and 4, each near one of the two) is theirs, not these two's
    edits = {**crops, (0, 3): 0.5, (0, 4): 0.5, (1, 3): 0.3, (2, 4): 0.3, (3, 4): REFUSED}
    assert overrule_lone_vetoes(edits, {(1, 2), (3, 4)})[(1, 2)] == 0.0


def _no_doubts(a: int, b: int) -> bool:
    return False


def _inside(item: int, partner: int) -> bool:
    return True


def _group_of_copies(size: int, strength: float = 0.5) -> dict[tuple[int, int], float]:
    """An original (0) and its copies (1 .. size - 1), all lining up with each other."""
    return {(a, b): strength for a in range(size) for b in range(a + 1, size)}


@pytest.mark.unit
def test_a_weak_copy_that_lines_up_with_two_of_a_big_group_joins_it_though_the_groups_mean_left_it_out():
    # a third-size copy at JPEG quality 30 (item 8) lines up with its original and one copy, hardly with the rest
    scores = {**_group_of_copies(8), (0, 8): 0.09, (3, 8): 0.074, (5, 8): 0.03}
    linked = average_linkage(list(range(9)), scores, 0.07)
    assert linked == [list(range(8))]  # the mean over the group: (0.09 + 0.074 + 0.03) / 8
    assert attach_stragglers(linked, scores, 0.07, 0.12, _no_doubts, _inside) == [list(range(9))]
    # with one partner, its agreement must be more than chance's: a different flat picture lines up so, once
    faint = {**_group_of_copies(8), (7, 8): 0.078, **{(m, 8): 0.05 for m in range(7)}}
    linked = average_linkage(list(range(9)), faint, 0.07)
    assert attach_stragglers(linked, faint, 0.07, 0.12, _no_doubts, _inside) == [list(range(8))]
    solid = {**_group_of_copies(8), (0, 8): 0.17}
    linked = average_linkage(list(range(9)), solid, 0.07)
    assert attach_stragglers(linked, solid, 0.07, 0.12, _no_doubts, _inside) == [list(range(9))]


@pytest.mark.unit
def test_a_straggler_joins_no_group_that_refuses_or_doubts_it_nor_one_of_two_and_only_stragglers_join():
    two_groups = {**_group_of_copies(8), **{(a + 8, b + 8): 0.5 for a, b in _group_of_copies(8)}}
    # near two of each group: it could be either photo's (a picture holding both): it joins neither
    between = {**two_groups, (0, 16): 0.2, (1, 16): 0.2, (8, 16): 0.2, (9, 16): 0.2}
    linked = average_linkage(list(range(17)), between, 0.07)
    assert linked == [list(range(8)), list(range(8, 16))]
    assert attach_stragglers(linked, between, 0.07, 0.12, _no_doubts, _inside) == linked
    # another moment of one member (the pixels' veto), or one the user said is not a duplicate: never joins
    refused = {**_group_of_copies(8), (0, 8): 0.2, (1, 8): 0.2, (6, 8): REFUSED}
    linked = average_linkage(list(range(9)), refused, 0.07)
    assert attach_stragglers(linked, refused, 0.07, 0.12, _no_doubts, _inside) == [list(range(8))]
    # a member whose pixels did not bear out a faint agreement with it doubts it: another photo that shares a
    # pasted poster with the group's, or the other half of a star field, lines up with a few members so
    poster = {**_group_of_copies(8), (0, 8): 0.13, (1, 8): 0.11, **{(m, 8): 0.0 for m in range(2, 8)}}
    linked = average_linkage(list(range(9)), poster, 0.07)
    assert attach_stragglers(linked, poster, 0.07, 0.12, lambda a, b: (a, b) == (5, 8), _inside) == [list(range(8))]
    assert attach_stragglers(linked, poster, 0.07, 0.12, _no_doubts, _inside) == [list(range(9))]
    # a moment veto between it and a member counts though a common copy overruled it inside the group (a
    # panorama's next frame, vetoed by one copy of the frame beside it, lined up faintly with four others)
    raw = {**_group_of_copies(8), **{(m, 8): 0.08 for m in range(4)}, (4, 8): REFUSED}
    overruled = overrule_lone_vetoes(raw, {(4, 8)})
    assert overruled[(4, 8)] == 0.0
    linked = average_linkage(list(range(9)), overruled, 0.07)
    assert linked == [list(range(8))]
    assert attach_stragglers(linked, overruled, 0.07, 0.12, lambda a, b: raw.get((a, b), 0.0) < 0, _inside) == linked
    # a panorama's next frame lines up with four copies of the frame beside it where the two overlap, the
    # pixels bearing it out as a crop's, but lies half outside each: it stays out; a crop lying inside one joins
    pano = {**_group_of_copies(8), **{(m, 8): 0.09 for m in range(4)}}
    linked = average_linkage(list(range(9)), pano, 0.07)
    assert attach_stragglers(linked, pano, 0.07, 0.12, _no_doubts, lambda item, partner: False) == linked
    assert attach_stragglers(linked, pano, 0.07, 0.12, _no_doubts, lambda item, partner: partner == 3) == \
        [list(range(9))]
    # two photos linkage put together (8 and 9) join only as one, where each lines up with the group: here 9
    # lines up with none of it, and 8 must not bring it in
    pair = {**_group_of_copies(8), (0, 8): 0.2, (1, 8): 0.2, (8, 9): 0.9}
    linked = average_linkage(list(range(10)), pair, 0.07)
    assert linked == [list(range(8)), [8, 9]]
    assert attach_stragglers(linked, pair, 0.07, 0.12, _no_doubts, _inside) == linked


@pytest.mark.unit
def test_two_weak_copies_that_linkage_put_together_join_their_originals_group_as_one():
    # a crop (8) and a third-size copy of another crop (9) line up with each other (0.18) better than the group's
    # mean allows, and each with a few of the group's copies (as seed 163's crop and combined copies did)
    weak = {**_group_of_copies(8), (8, 9): 0.18, (0, 8): 0.078, (2, 8): 0.09, (0, 9): 0.074, (5, 9): 0.08}
    linked = average_linkage(list(range(10)), weak, 0.07)
    assert linked == [list(range(8)), [8, 9]]
    assert attach_stragglers(linked, weak, 0.07, 0.12, _no_doubts, _inside) == [list(range(10))]
    # a member that doubts either of them keeps both out, as it keeps a lone straggler out
    assert attach_stragglers(linked, weak, 0.07, 0.12, lambda a, b: (a, b) == (3, 9), _inside) == linked
    # ... and so does a partner in another group
    other = {**weak, **{(a + 10, b + 10): 0.5 for a, b in _group_of_copies(4)}, (9, 10): 0.2}
    linked = average_linkage(list(range(14)), other, 0.07)
    assert linked == [list(range(8)), [8, 9], [10, 11, 12, 13]]
    assert attach_stragglers(linked, other, 0.07, 0.12, _no_doubts, _inside) == linked
    # a lone straggler whose partners are in a cluster of two that joins a bigger group stays out: it would chain
    chained = {**weak, (8, 10): 0.13}  # one partner, at more than chance's agreement
    linked = average_linkage(list(range(11)), chained, 0.07)
    assert linked == [list(range(8)), [8, 9]]
    assert attach_stragglers(linked, chained, 0.07, 0.12, _no_doubts, _inside) == [list(range(10))]


@pytest.mark.unit
def test_keeper_is_largest_then_biggest_file_then_oldest():
    small = _image("/a", 100, 100, 999)
    large = _image("/b", 200, 200, 10)
    assert sorted([small, large], key=keeper_order)[0] is large
    old = _image("/c", 200, 200, 10, "2001-01-01T00:00:00")
    assert sorted([large, old], key=keeper_order)[0] is old
    bigger_file = _image("/d", 200, 200, 11)
    assert sorted([old, bigger_file], key=keeper_order)[0] is bigger_file
    letterboxed = _image("/e", 200, 300, 10, content_pixels=201 * 201)  # bigger only by its bars
    assert sorted([letterboxed, bigger_file], key=keeper_order)[0] is bigger_file
    # a phone screenshot showing the photo upscaled: more pixels of photo, but the clean photo is kept
    screenshot = _image("/f", 1080, 2160, 600_000, content_pixels=1080 * 720)
    photo = _image("/g", 640, 427, 27_000)
    assert sorted([screenshot, photo], key=keeper_order)[0] is photo


def test_library_groups_each_photo_with_its_copies(photo_folder, library_dir):
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    groups = [g for g in library.groups() if g.kind in ("exact", "near")]
    library.close()
    found = sorted(sorted(m.image.path for m in g.members) for g in groups)
    assert len(found) == 5
    for members in found:
        assert len(members) == 3
        assert len({stem_of(p) for p in members}) == 1  # nothing wrongly grouped
    def photo_pixels(image):  # the photo itself: a letterboxed copy is not bigger by its bars
        return image.content_pixels or image.width * image.height

    for g in groups:
        keeper = g.keeper.image
        assert all(photo_pixels(keeper) * 1.02 >= photo_pixels(m.image) for m in g.members)


def test_not_duplicates_decision_splits_a_group(photo_folder, library_dir):
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    group = next(g for g in library.groups() if stem_of(g.members[0].image.path) == "coffee")
    keeper = group.keeper.image
    for m in group.members[1:]:
        library.store.add_decision("not_duplicate", keeper.content_hash, m.image.content_hash)
    with_keeper = [g for g in library.groups() if any(m.image.path == keeper.path for m in g.members)]
    library.close()
    assert with_keeper == []  # the photo never comes back grouped with what the user set apart


def _membership(groups):
    return sorted((g.kind, sorted(m.image.path for m in g.members)) for g in groups)


def test_pair_agreements_are_measured_once_and_leave_with_their_photo(photo_folder, library_dir):
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    first = _membership(library.groups())
    stored = library.store.pair_agreements()
    library.close()
    assert stored  # the candidate pairs' patch checks are kept for the next start

    reopened = Library(library_dir)
    evidence = GroupFinder(reopened).evidence()
    assert evidence.patches == {}  # every candidate pair's agreement came from the database
    assert _membership(GroupFinder(reopened).find(evidence)) == first

    coffee = next(p for p in photo_folder.rglob("coffee_*"))
    before = set(reopened.store.live_labels(reopened.model_id))
    coffee.unlink()
    reopened.update()
    remaining = reopened.store.pair_agreements()
    live = set(reopened.store.live_labels(reopened.model_id))
    reopened.close()
    assert len(live) == len(before) - 1
    assert all(a in live and b in live for a, b in remaining)  # the gone photo's pairs went with it


def test_a_content_met_in_two_batches_of_one_run_groups_as_an_exact_copy(tmp_path, library_dir):
    """The second file of a content is read before the first is stored, so the content is embedded in both
    batches: it must still pair with its look-alikes only, never with itself (a pair of one photo with itself
    broke the grouping of a component too big to score every pair)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    source = Image.open(PHOTOS[0]).convert("RGB").resize((320, 240))
    for n in range(70):  # one component of look-alikes, past DENSE_COMPONENT; batches of 16
        source.rotate(n / 4).save(folder / f"img{n:02d}.jpg", quality=85)
    (folder / "img99.jpg").write_bytes((folder / "img00.jpg").read_bytes())  # read 69 files after its twin
    library = Library(library_dir)
    try:
        library.add_roots([str(folder)])
        library.update()
        groups = library.groups()
        exact = [{Path(m.image.path).stem for m in g.members} for g in groups if g.kind == "exact"]
        assert any({"img00", "img99"} <= group for group in exact)
    finally:
        library.close()


def test_a_library_indexed_before_look_alikes_were_searched_gets_its_grey_copies_paired_once(tmp_path, library_dir):
    """A black-and-white copy is proposed by its signature; a library whose contents were all indexed before that
    search existed has its look-alikes searched once, at its next grouping."""
    import sqlite3

    folder = tmp_path / "photos"
    folder.mkdir()
    for source in PHOTOS[:3]:
        Image.open(source).convert("RGB").save(folder / source.name, quality=90)
    Image.open(PHOTOS[0]).convert("L").save(folder / "grey_copy.jpg", quality=90)
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()
    library.close()

    def near_groups() -> list[set[str]]:
        reopened = Library(library_dir)
        try:
            return [{Path(m.image.path).stem for m in g.members} for g in reopened.groups() if g.kind == "near"]
        finally:
            reopened.close()
    assert near_groups() == [{PHOTOS[0].stem, "grey_copy"}]
    with sqlite3.connect(library_dir / "library.db") as db:  # as an older version left it: no pair measured yet
        db.execute("DELETE FROM pair_agreement")
    assert near_groups() == []  # searched already: nothing proposes the pair again
    with sqlite3.connect(library_dir / "library.db") as db:
        db.execute("DELETE FROM pair_agreement")
        db.execute("DELETE FROM meta WHERE key = 'look_alike_search'")
    assert near_groups() == [{PHOTOS[0].stem, "grey_copy"}]


def test_indexing_checks_the_look_alikes_and_keeps_only_pairs_some_setting_could_group(photo_folder, library_dir):
    from simgui.core.matching.rule import thresholds_at
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    kept = library.store.pair_agreements()
    labels, vectors, _ = library.store.vectors(library.model_id, library.dim)
    assert kept and library.store.candidate_pairs() == []  # every pair found was measured: none left to check
    loosest, at = thresholds_at(100), {label: n for n, label in enumerate(labels.tolist())}
    assert all(agreement >= loosest.near_agreement or vectors[at[a]] @ vectors[at[b]] >= loosest.similar
               for (a, b), agreement in kept.items())
    indexed = _membership(library.groups())
    assert [kind for kind, _ in indexed].count("near") >= 1

    # the same library with every candidate pair searched and measured again, none dropped: same groups
    with library.store.transaction():
        for table in ("pair_agreement", "candidate_pairs", "searched"):
            library.store.db.execute(f"DELETE FROM {table}")
    assert _membership(library.groups()) == indexed
    assert len(library.store.pair_agreements()) > len(kept)  # grouping itself keeps every pair it measures
    library.close()


def test_checks_a_cancel_stopped_are_queued_and_grouping_measures_them(photo_folder, library_dir):
    import threading
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()
    indexed = _membership(library.groups())
    store = library.store
    with store.transaction():
        for table in ("pair_agreement", "candidate_pairs", "searched"):
            store.db.execute(f"DELETE FROM {table}")
    labels, vectors, _ = store.vectors(library.model_id, library.dim)
    stop = threading.Event()
    stop.set()
    GroupFinder(library).check_new(labels, vectors, cancel=stop)
    assert store.pair_agreements() == {} and store.candidate_pairs()  # nothing measured, every pair queued
    assert store.searched_labels() == set(labels.tolist())
    assert _membership(library.groups()) == indexed
    assert store.candidate_pairs() == []
    library.close()


def test_pairs_measured_in_worker_processes_get_the_agreements_measured_here(photo_folder, library_dir, monkeypatch):
    import threading
    from simgui.core.matching import grouping, pair_checks
    if pair_checks.worker_count() < 2:
        pytest.skip("one core: pairs are measured here")
    library = Library(library_dir)
    library.add_roots([str(photo_folder)])
    library.update()  # a few pairs: measured in this process
    indexed, here = _membership(library.groups()), library.store.pair_agreements()
    store = library.store

    def start_again(sketchless: list[int]) -> tuple[np.ndarray, np.ndarray]:
        with store.transaction():
            for table in ("pair_agreement", "candidate_pairs", "searched"):
                store.db.execute(f"DELETE FROM {table}")
            # as an older library's: made from their files, in this process, when a pair asks
            store.db.executemany("DELETE FROM sketches WHERE label = ?", [(label,) for label in sketchless])
        return store.vectors(library.model_id, library.dim)[:2]

    monkeypatch.setattr(grouping, "PARALLEL_FROM", 1)
    monkeypatch.setattr(pair_checks, "TASK_PAIRS", 3)
    labels, vectors = start_again(sketchless=[int(label) for label in labels_of(store)[:2]])
    reports = []
    GroupFinder(library).check_new(labels, vectors, lambda done, total: reports.append((done, total)))
    assert store.pair_agreements() == here and store.candidate_pairs() == []
    assert len(reports) > 3 and reports[-1][0] == reports[-1][1]
    assert len(store.sketches(labels_of(store))) == len(labels)

    # cancelled while the workers measure: what they did not measure is queued, and grouping measures it
    labels, vectors = start_again(sketchless=[])
    stop = threading.Event()
    GroupFinder(library).check_new(labels, vectors, lambda done, total: stop.set(), stop)
    assert store.candidate_pairs() and len(store.pair_agreements()) < len(here)
    assert _membership(library.groups()) == indexed and store.candidate_pairs() == []
    assert {pair: store.pair_agreements().get(pair) for pair in here} == here  # grouping keeps more pairs
    library.close()


def labels_of(store) -> list[int]:
    return [row[0] for row in store.db.execute("SELECT id FROM embeddings ORDER BY id")]


def _colourfulness(path) -> float:
    """How far a photo's pixels lie from their grey, on average (0..1)."""
    pixels = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255
    return float(np.abs(pixels - (pixels @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]).mean())


def test_learning_from_decisions_rescores_pairs_nobody_judged(tmp_path, library_dir):
    from conftest import PHOTOS, save_edit
    folder = tmp_path / "bw"
    folder.mkdir()
    for source in PHOTOS:  # each photo, a smaller copy, and a black-and-white version
        (folder / source.name).write_bytes(source.read_bytes())
        save_edit(source, folder / f"{source.stem}_downscale.jpg", "downscale")
        save_edit(source, folder / f"{source.stem}_grayscale.jpg", "grayscale")
    library = Library(library_dir)
    library.add_roots([str(folder)])
    library.update()

    def hash_of(name):
        return library.store.image_by_path(str(folder / name)).content_hash

    def together(a, b):
        return any({str(folder / a), str(folder / b)} <= {m.image.path for m in g.members}
                   for g in library.groups() if g.kind == "near")
    stems = [p.stem for p in PHOTOS]
    judged, unseen = stems[:3], stems[3:]
    assert all(together(f"{s}_downscale.jpg", f"{s}_grayscale.jpg") for s in judged)  # the default: one photo
    library.decide("same_photo", [(hash_of(f"{s}.jpg"), hash_of(f"{s}_downscale.jpg")) for s in judged])
    # this user keeps black-and-white versions apart; they said so for the originals only
    library.decide("not_duplicate", [(hash_of(f"{s}.jpg"), hash_of(f"{s}_grayscale.jpg")) for s in judged])
    assert library.preferences is not None and (library_dir / "learned.npz").exists()
    # the small copy and the black-and-white one were never judged together: what was learnt parts them
    assert not any(together(f"{s}_downscale.jpg", f"{s}_grayscale.jpg") for s in judged)
    assert all(together(f"{s}.jpg", f"{s}_downscale.jpg") for s in stems)  # colour copies stay together
    _, vectors, hashes = library.store.vectors(library.model_id, library.dim)
    vector = dict(zip(hashes, vectors))
    # photos never judged at all move the right way, further apart in black and white: those with colour to
    # lose (the deep field's pixels lie 0.008 from their grey on average, the others' 0.05-0.16: its
    # black-and-white version is the photo itself)
    coloured = [s for s in unseen if _colourfulness(folder / f"{s}.jpg") > 0.02]
    assert coloured
    for s in coloured:
        grey = library.preferences.distances(vector[hash_of(f"{s}.jpg")], vector[hash_of(f"{s}_grayscale.jpg")])
        colour = library.preferences.distances(vector[hash_of(f"{s}.jpg")], vector[hash_of(f"{s}_downscale.jpg")])
        assert grey[0] > colour[0]

    library.forget_learning()
    assert library.preferences is None and not (library_dir / "learned.npz").exists()
    # only the explicit decisions remain: each original refused its own black-and-white version
    assert _membership(library.groups()) == _membership(GroupFinder(library).find())
    assert all(together(f"{s}_downscale.jpg", f"{s}_grayscale.jpg") for s in unseen)
    library.close()


def test_compare_reports_the_agreement_grouping_used_for_the_same_pair(library):
    """One number everywhere (issue 15, item 7): `compare` of two indexed photos reads their stored tokens,
    so its agreement and verdict are the ones the near groups were built from."""
    labels, _, hashes = library.store.vectors(library.model_id, library.dim)
    label_of = dict(zip(hashes, labels.tolist()))
    stored = library.store.pair_agreements()
    checked = 0
    for group in library.groups():
        if group.kind != "near":
            continue
        keeper, other = group.members[0].image, group.members[1].image
        pair = tuple(sorted((label_of[keeper.content_hash], label_of[other.content_hash])))
        if pair not in stored:
            continue
        result = library.compare(keeper.path, other.path)
        assert result.agreement == round(stored[pair], 4)
        if stored[pair] >= library.thresholds.near_agreement:
            assert result.verdict == "near"
        checked += 1
    assert checked >= 3


def test_an_upgrade_of_the_patch_check_measures_the_pairs_again_and_loses_none(library, library_dir):
    """A new verification method drops the stored agreements: the pairs they were measured for must be
    measured again, not forgotten (their contents were searched already and are not searched again)."""
    before = sorted(sorted(m.image.path for m in g.members) for g in library.groups())
    assert len(before) == 5
    with library.store.transaction():
        library.store.db.execute("UPDATE meta SET value = 'an earlier method' WHERE key = 'pair_method'")
    library.close()
    upgraded = Library(library_dir)
    try:
        assert not upgraded.store.pair_agreements()  # dropped: measured by the earlier method
        measuring = []  # what the app's status bar and simgui-cli show while they are measured again
        assert sorted(sorted(m.image.path for m in g.members) for g in upgraded.groups(progress=measuring.append)) \
            == before
        assert measuring and measuring[-1].checking and measuring[-1].done == measuring[-1].total > 0
        measuring.clear()
        upgraded.groups(progress=measuring.append)
        assert measuring == []  # measured once: the next regroup only clusters
    finally:
        upgraded.close()


def test_a_new_moment_rule_judges_again_only_the_pairs_it_looks_at(library, library_dir):
    from simgui.core.matching.verify import MOMENT_CHECK_FROM

    before = sorted(sorted(m.image.path for m in g.members) for g in library.groups())
    labels = sorted(library.store.live_labels(library.model_id))
    weak = next((a, b) for a in labels for b in labels if a < b and (a, b) not in library.store.pair_agreements())
    with library.store.transaction():
        library.store.save_pair_agreements({weak: 0.02})  # a weak pair: the moment check never looks at it
        library.store.db.execute("UPDATE meta SET value = 'an earlier rule' WHERE key = 'moment_rule'")
    stored = library.store.pair_agreements()
    judged = {pair for pair, value in stored.items() if value >= MOMENT_CHECK_FROM or value < 0}
    assert judged and weak not in judged
    library.close()
    upgraded = Library(library_dir)
    try:
        kept = upgraded.store.pair_agreements()
        assert set(kept) == set(stored) - judged  # the rest are queued, to be measured anew
        assert sorted(sorted(m.image.path for m in g.members) for g in upgraded.groups()) == before
        again = upgraded.store.pair_agreements()
        assert {pair: again[pair] for pair in judged} == {pair: stored[pair] for pair in judged}  # measured anew
    finally:
        upgraded.close()


@pytest.mark.unit
def test_share_inside_is_the_part_of_a_photo_that_its_partner_holds():
    # random sign tokens on the 16x16 grid: B, the same photo (a copy), and the frame beside B (half of it B's)
    from simgui.core.matching.verify import share_inside

    rng = np.random.default_rng(3)
    signs = np.where(rng.random((16, 24, 32)) < 0.5, -1.0, 1.0).astype(np.float32) / np.sqrt(32)
    b = signs[:, :16].reshape(256, 32)
    beside = signs[:, 8:24].reshape(256, 32)  # B's right half, then 8 columns B does not have
    assert share_inside(b.copy(), b) == 1.0
    assert share_inside(beside, b) == 0.5
