"""The review session driven whole, without Qt: the pure state (no model, no files) and the session on a
real library (real SQLite, real photos, the real job queue and watcher)."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from conftest import photo, save_edit, stem_of
from simgui.core.matching.grouping import Group, GroupMember
from simgui.core.jobs import Inbox, JobQueue
from simgui.core.review import ReviewState
from simgui.core.matching.rule import Kind
from simgui.core import session as session_module
from simgui.core.session import ReviewSession
from simgui.core.storage.store import ImageRecord


def _member(path: str, content: str, keeper: bool = False) -> GroupMember:
    return GroupMember(ImageRecord(1, path, 1, 1000, 0, content, 0, 100, 100, "JPEG", None, None, None), 0.9, keeper)


def _group(name: str, copies: int = 2, kind: Kind = Kind.NEAR) -> Group:
    return Group(kind, [_member(f"/p/{name}{n}.jpg", f"{name}{n}", keeper=n == 0) for n in range(copies)])


# the state alone: fast, pure -------------------------------------------------------------------------
@pytest.mark.unit
def test_merging_from_the_keyboard_moves_on_to_the_next_group_each_time():
    state = ReviewState()
    state.set_groups([_group(c) for c in "abcde"])
    state.move_to(1)
    merged = []
    for _ in range(3):  # M, M, M: each takes the group under the cursor, which then is the next one
        group = state.current_group()
        merged.append(group.members[0].image.path)
        state.drop(group)
    assert merged == ["/p/b0.jpg", "/p/c0.jpg", "/p/d0.jpg"]
    assert [g.members[0].image.path for g in state.shown] == ["/p/a0.jpg", "/p/e0.jpg"]
    assert state.current_group().members[0].image.path == "/p/e0.jpg"


@pytest.mark.unit
def test_a_regroup_keeps_the_cursor_on_its_photo_and_the_top_on_its_group():
    state = ReviewState()
    state.set_groups([_group(c) for c in "bdfhj"])
    state.move_to(3, 1)  # the second photo of group h
    state.scrolled_to(2)  # group f at the top of the view
    # a new photo arrives: it forms a group that sorts before them all, and one joins group h
    grown = _group("h", 3)
    state.set_groups([_group("a")] + [grown if g.members[0].image.path == "/p/h0.jpg" else g
                                      for g in (_group(c) for c in "bdfhj")])
    assert state.current_member().image.path == "/p/h1.jpg"
    assert state.shown[state.top].members[0].image.path == "/p/f0.jpg"


@pytest.mark.unit
def test_files_that_went_leave_every_group_they_were_in():
    state = ReviewState()
    near = _group("x", 3)
    exact = Group(Kind.EXACT, [_member("/p/x0.jpg", "x0", keeper=True), _member("/p/x0 copy.jpg", "x0")])
    state.set_groups([exact, near, _group("y")])
    state.take_out(["/p/x0 copy.jpg", "/p/x0.jpg"])  # a delete of the keeper and its exact copy
    assert [g.kind for g in state.shown] == [Kind.NEAR, Kind.NEAR]
    assert [m.image.path for m in state.shown[0].members] == ["/p/x1.jpg", "/p/x2.jpg"]
    assert state.shown[0].keeper.image.path == "/p/x1.jpg"  # a keeper still: the next in keeper order


@pytest.mark.unit
def test_a_copy_in_two_groups_is_counted_once_among_the_photos_that_could_go():
    state = ReviewState()
    near = _group("x", 3)  # x0 kept; x1, x2 could go
    exact = Group(Kind.EXACT, [_member("/p/x1.jpg", "x1", keeper=True), _member("/p/x1 copy.jpg", "x1")])
    near.members.append(_member("/p/x1 copy.jpg", "x1"))
    state.set_groups([exact, near])
    assert state.summary() == "2 groups · 3 photos could go"  # x1, x2 and x1 copy: not 4
    state.set_groups([_group("y")])
    assert state.summary() == "1 group · 1 photo could go"
    clip = Group(Kind.NEAR, [_member(f"/p/c{n}.mp4", f"c{n}", keeper=n == 0) for n in range(3)])
    for member in clip.members:
        member.image.duration = 6.0
    state.set_groups([_group("y"), clip])
    assert state.summary() == "2 groups · 1 photo, 2 clips could go"
    state.set_groups([clip])
    assert state.summary() == "1 group · 2 clips could go"


@pytest.mark.unit
def test_a_regroup_asked_before_k_was_stored_does_not_undo_it():
    state = ReviewState()
    state.set_groups([_group("a", 3)])
    state.move_to(0, 2)
    state.choose_keeper()
    state.set_groups([_group("a", 3)])  # found by the engine before it stored the choice: a0 would be kept
    assert state.shown[0].keeper.image.path == "/p/a2.jpg"


@pytest.mark.unit
def test_k_on_two_photos_in_turn_marks_the_last_one_chosen():
    state = ReviewState()
    state.set_groups([_group("a", 2)])
    for member in (0, 1, 0, 1):
        state.move_to(0, member)
        state.choose_keeper()
    assert state.shown[0].keeper.image.path == "/p/a1.jpg"


@pytest.mark.unit
def test_after_a_delete_the_cursor_stays_on_its_group_when_it_lost_files():
    state = ReviewState()
    near = Group(Kind.NEAR, [_member("/p/y.jpg", "y", keeper=True), _member("/p/x.jpg", "x"),
                             _member("/p/x copy.jpg", "x"), _member("/p/z.jpg", "z")])
    exact = Group(Kind.EXACT, [_member("/p/x.jpg", "x", keeper=True), _member("/p/x copy.jpg", "x")])
    state.set_groups([exact, near, _group("q")])
    state.move_to(1)
    state.take_out(["/p/x.jpg", "/p/x copy.jpg"])  # deleted from the near group
    assert [m.image.path for m in state.current_group().members] == ["/p/y.jpg", "/p/z.jpg"]


@pytest.mark.unit
def test_filters_and_sort_keep_the_cursor_on_its_group():
    state = ReviewState()
    state.set_groups([_group("a", 2, Kind.EXACT), _group("b", 4), _group("c", 3, Kind.SIMILAR)])
    state.move_to(1)
    state.set_sort("photos")
    assert state.current_group().members[0].image.path == "/p/b0.jpg" and state.row == 0
    state.set_filter(Kind.NEAR, None)
    assert len(state.shown) == 1 and state.current_group().members[0].image.path == "/p/b0.jpg"


@pytest.mark.unit
def test_the_format_filter_shows_the_groups_with_a_photo_of_that_format():
    from dataclasses import replace
    heic = _group("h")
    heic.members[1].image = replace(heic.members[1].image, format="HEIF")
    state = ReviewState()
    state.set_groups([_group("a"), heic, _group("z")])
    assert state.group_formats == ["HEIF", "JPEG"]
    state.move_to(2)
    state.set_filter(None, None, "HEIF")
    assert [g.members[0].image.path for g in state.shown] == ["/p/h0.jpg"]
    state.set_filter(None, "/p", "JPEG")
    assert len(state.shown) == 3 and state.current_group().members[0].image.path == "/p/h0.jpg"
    state.set_filter(None, None, "PNG")
    assert state.shown == [] and state.summary() == "No duplicates found"


@pytest.mark.unit
def test_groups_sort_by_size_and_by_date_newest_first_undated_last():
    from dataclasses import replace
    dated = {"a": "2019-05-01T10:00:00", "b": None, "c": "2021-01-02T08:00:00", "d": "2019-05-01T09:00:00"}
    groups = []
    for name, date in dated.items():
        group = _group(name, 2 if name != "d" else 3)
        group.members[0].image = replace(group.members[0].image, captured_at=date)
        groups.append(group)
    state = ReviewState()
    state.set_groups(groups)
    state.set_sort("date")
    assert [g.members[0].image.path[3] for g in state.shown] == ["c", "a", "d", "b"]
    state.set_sort("size")
    assert state.shown[0].members[0].image.path == "/p/d0.jpg"  # 3 files of 1000 bytes: the most bytes


# the session on a real library --------------------------------------------------------------------------
class Driver:
    """The session and the inbox its answers arrive in, drained on this (the test's) thread."""

    def __init__(self, library_dir):
        self.inbox = Inbox()
        self.jobs = JobQueue(library_dir, self.inbox.post)
        self.session = ReviewSession(self.jobs)
        self.heard: list[str] = []
        self.session.subscribe(self.heard.append)

    def settle(self) -> None:
        """Until the queue is idle and every answer (and the jobs they asked for) has arrived."""
        while True:
            self.jobs.submit("settle", lambda ctx: None).result(timeout=300)
            if not self.inbox.drain():
                return

    def close(self) -> None:
        self.jobs.close()


@pytest.fixture
def driver(photo_folder, library_dir):
    d = Driver(library_dir)
    d.jobs.submit("add", lambda ctx: (ctx.library.add_roots([str(photo_folder)]), ctx.library.update()))
    d.session.refresh()
    d.settle()
    yield d
    d.close()


def _stems(group: Group) -> set[str]:
    return {stem_of(m.image.path) for m in group.members}


def test_keep_this_one_survives_a_refresh_and_a_restart(driver, library_dir):
    state = driver.session.state
    assert len(state.shown) == 5
    state.move_to(2)
    group = state.current_group()
    choice = next(m for m in group.members if not m.keeper)
    driver.session.move_to(2, group.members.index(choice))
    driver.session.keep_current()
    assert state.current_group().keeper.image.path == choice.image.path  # on screen at once
    driver.settle()

    driver.session.refresh()
    driver.settle()
    regrouped = next(g for g in state.shown if choice.image.path in {m.image.path for m in g.members})
    assert regrouped.keeper.image.path == choice.image.path

    driver.close()
    reopened = Driver(library_dir)
    try:
        reopened.session.refresh()
        reopened.settle()
        again = next(g for g in reopened.session.state.shown
                     if choice.image.path in {m.image.path for m in g.members})
        assert again.keeper.image.path == choice.image.path
        reopened.session.move_to(reopened.session.state.shown.index(again))
        reopened.session.merge_current()  # the merge keeps the chosen photo
        reopened.settle()
        assert os.path.exists(choice.image.path)
        assert not any(os.path.exists(m.image.path) for m in again.members if m.image.path != choice.image.path)
    finally:
        reopened.close()


def test_m_m_m_merges_three_groups_in_a_row(driver):
    state = driver.session.state
    driver.session.move_to(1)
    expected = [state.shown[row] for row in (1, 2, 3)]
    for _ in range(3):  # three presses, as fast as keys come: no answer from the engine in between
        driver.session.merge_current()
    assert len(state.shown) == 2
    driver.settle()
    for group in expected:
        assert os.path.exists(group.keeper.image.path)
        assert not any(os.path.exists(m.image.path) for m in group.members if not m.keeper)
    history = driver.session.overview.history
    assert [h.kind for h in history[:3]] == ["merge"] * 3 and not any(h.undone for h in history)
    assert driver.session.overview.stats["images"] == 15 - sum(len(g.members) - 1 for g in expected)


def test_undoing_an_action_older_than_those_kept_in_memory_still_brings_its_group_back(driver, monkeypatch):
    monkeypatch.setattr(session_module, "TAKEN_KEPT", 1)  # a long review, in short
    state = driver.session.state
    first, second = state.shown[0], state.shown[1]
    driver.session.move_to(0)
    driver.session.merge_current()
    driver.session.merge_current()
    driver.settle()
    older = driver.session.overview.history[1]
    assert older.kind == "merge" and len(driver.session._taken) == 1
    driver.session.undo(older.id)
    driver.settle()
    assert all(os.path.exists(m.image.path) for m in first.members)
    assert any(_stems(g) == _stems(first) for g in state.shown)
    assert not any(_stems(g) == _stems(second) for g in state.shown)


def test_a_file_the_watcher_adds_keeps_the_selection_and_the_scroll(driver, photo_folder, tmp_path):
    session, state = driver.session, driver.session.state
    session.move_to(3, 1)
    session.scrolled_to(2)
    cursor, top = state.current_member().image.path, _stems(state.shown[2])
    arrived = []
    watcher = session.watcher(on_update=lambda: (arrived.append(True), session.refresh()))
    watcher.start()
    try:
        assert watcher.ready.wait(60)
        # a new copy of the first group's photo: it joins a group above the cursor
        first = stem_of(state.shown[0].members[0].image.path)
        copy = save_edit(photo(first), tmp_path / "new.jpg", "recompress")
        shutil.copy(copy, photo_folder / f"{first}_new.jpg")
        deadline = time.monotonic() + 120
        while not arrived and time.monotonic() < deadline:
            driver.inbox.drain()
            time.sleep(0.1)
        driver.settle()
    finally:
        watcher.stop()
    assert arrived
    assert any(m.image.path.endswith(f"{first}_new.jpg") for g in state.shown for m in g.members)
    assert state.current_member().image.path == cursor
    assert _stems(state.shown[state.top]) == top


@pytest.mark.unit
def test_an_undone_merge_puts_its_group_back_at_once():
    state = ReviewState()
    groups = [_group(c) for c in "abc"]
    state.set_groups(groups)
    state.move_to(1)
    state.drop(groups[1])  # M
    state.move_to(1)  # the user goes on to c
    assert state.put_back([groups[1]])  # the merge is undone: b is back, in its place, the cursor still on c
    assert [g.members[0].image.path for g in state.shown] == ["/p/a0.jpg", "/p/b0.jpg", "/p/c0.jpg"]
    assert state.current_group() is groups[2]
    assert not state.put_back([groups[1]])  # already there
