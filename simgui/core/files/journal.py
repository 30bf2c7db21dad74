"""The write-ahead journal of file moves: every move is recorded, and synced, before it happens.

It lives in its own SQLite file with synchronous=FULL, so a crash or a power
cut at any point leaves a record of what was about to happen. `recover()`
looks at the disk to decide, for each unfinished move, whether it happened
(finish the record) or not (roll the record back): after it, every photo is in
exactly one place, its own or the trash.

Each move also keeps the photo's library row as it was (`record`), so an undo
puts the row back as it was (size, resolution, capture date) without reading
the photo again; and each action says whether library.db has caught up with
its moves (`synced`), so a crash between the two files is settled at the next start.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from simgui.core.files.disposal import FOLDER_KIND
from simgui.core.files.moves import remove_partial_copy, same_content
from simgui.core.storage.pathtext import from_db, readable, to_db
from simgui.core.storage.sqlite_setup import open_database

JOURNAL_FILE = "journal.db"  # in the library's folder

SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS moves (
    id INTEGER PRIMARY KEY,
    action_id INTEGER NOT NULL REFERENCES actions(id),
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    -- planned | moved | cancelled | restoring | restored | emptying | emptied (in the system trash)
    state TEXT NOT NULL,
    replaced_by TEXT  -- content hash of the file simgui put at `source` after the move (an enriched keeper)
);
-- an action's moves, and a path's moves, without reading the whole journal (it only grows)
CREATE INDEX IF NOT EXISTS moves_by_action ON moves(action_id);
CREATE INDEX IF NOT EXISTS moves_by_source ON moves(source, state);
"""
# columns later versions added, for journals written by earlier ones
_ADDED_COLUMNS = (
    ("moves", "replaced_by", "TEXT"),
    ("moves", "record", "TEXT"),  # the photo's library row at the move, as JSON (store.ImageRecord)
    ("actions", "undo_problem", "TEXT"),  # why the last undo left files in the trash: Ctrl+Z goes on past it
    ("actions", "synced", "INTEGER NOT NULL DEFAULT 1"),  # 0 while library.db may lag behind the moves
    ("actions", "taught", "TEXT"),  # JSON {"kind", "pairs"}: the decisions an action taught (undo forgets them)
    ("moves", "link_to", "TEXT"),  # the keeper a hard link to which is to take `source`'s place: set until it has
)


class JournalError(Exception):
    """journal.db cannot be read or written: no file may move until it can (the message says what to do)."""


@dataclass
class Move:
    id: int
    action_id: int
    source: str
    target: str
    state: str
    replaced_by: str | None = None
    record: str | None = None
    link_to: str | None = None


@dataclass
class ActionRecord:
    id: int
    kind: str
    label: str
    created_at: float
    undone: bool
    moved: int  # files in simgui's trash (or a folder it moved them to), that undo can put back
    emptied: int = 0  # files sent on to the system trash
    undo_problem: str | None = None
    taught: bool = False  # it taught the learner decisions that an undo takes back

    @property
    def undoable(self) -> bool:
        """Undo by its number has something to do: files it moved wait to come back, or what it taught stands."""
        return bool(self.moved) or (self.taught and not self.undone)


def journal_problem(path: Path, exc: sqlite3.Error) -> str:
    if "locked" in str(exc):
        return (f"the journal of file moves at {path} stayed busy (another program holds it open for writing); "
                f"nothing was moved: try again in a moment.")
    if "full" in str(exc):
        return (f"cannot write the journal of file moves at {path}: the disk is full. Nothing was moved; free "
                f"some space and try again.")
    return (f"the journal of file moves at {path} cannot be read ({exc}). simgui moves no file until it can: "
            f"your photos are untouched, and files already in .simgui-trash folders stay there. Move journal.db "
            f"aside (keep it: it lists what is in the trash) and start simgui again to begin a new journal.")


class MoveJournal:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.db = open_database(self.path, synchronous="FULL")  # on disk before the file moves
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            for table, column, kind in _ADDED_COLUMNS:
                if column not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}:
                    self._add_column(table, column, kind)
            self.db.execute("SELECT COUNT(*) FROM moves").fetchone()  # reads every page header it needs
        except sqlite3.DatabaseError as exc:
            raise JournalError(journal_problem(self.path, exc)) from exc

    def _add_column(self, table: str, column: str, kind: str) -> None:
        try:
            self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
            # another process opening the same new journal added it a moment ago: what was wanted

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, params: tuple = ()) -> int:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self.db.execute(sql, params)
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # a full disk has rolled it back already: say that, not "no transaction"
                    self.db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise JournalError(journal_problem(self.path, exc)) from exc
        return cursor.lastrowid

    def start_action(self, kind: str, label: str) -> int:
        # a label names a file at times ("merge into ..."): a name that is not UTF-8 is shown, not stored as is
        return self._write("INSERT INTO actions (kind, label, created_at, synced) VALUES (?, ?, ?, 0)",
                           (kind, readable(label), time.time()))

    def plan(self, action_id: int, source: str, target: str, record: str | None = None,
             replaced_by: str | None = None, link_to: str | None = None) -> int:
        """A move about to happen, in one synced write with what simgui will put at `source` once it has
        moved (`replaced_by`: that file's content; `link_to`: the keeper it is a hard link to)."""
        return self._write("INSERT INTO moves (action_id, source, target, state, record, replaced_by, link_to) "
                           "VALUES (?, ?, ?, 'planned', ?, ?, ?)",
                           (action_id, to_db(source), to_db(target), record, replaced_by,
                            None if link_to is None else to_db(link_to)))

    def set_state(self, move_id: int, state: str) -> None:
        self._write("UPDATE moves SET state = ? WHERE id = ?", (state, move_id))

    def link_settled(self, action_id: int, source: str) -> None:
        """The hard link at `source` was made (or cannot be): nothing is left to finish after a crash."""
        self._write("UPDATE moves SET link_to = NULL WHERE action_id = ? AND source = ?", (action_id, to_db(source)))

    def unfinished_links(self) -> list[Move]:
        """Copies moved to the trash whose hard link to the keeper a crash kept from being made."""
        return self._moves("link_to IS NOT NULL AND state = 'moved'", [])

    def set_synced(self, action_ids: list[int], synced: bool) -> None:
        for action_id in action_ids:
            self._write("UPDATE actions SET synced = ? WHERE id = ?", (int(synced), action_id))

    def set_taught(self, action_id: int, kind: str, pairs: list[tuple[str, str]]) -> None:
        taught = json.dumps({"kind": kind, "pairs": pairs}) if pairs else None
        self._write("UPDATE actions SET taught = ? WHERE id = ?", (taught, action_id))

    def taught(self, action_id: int) -> tuple[str, list[tuple[str, str]]] | None:
        """(decision kind, pairs) an action taught the learner, or None."""
        row = self.db.execute("SELECT taught FROM actions WHERE id = ?", (action_id,)).fetchone()
        if not row or not row[0]:
            return None
        taught = json.loads(row[0])
        return taught["kind"], [tuple(pair) for pair in taught["pairs"]]

    def unsynced_actions(self) -> list[int]:
        return [row[0] for row in self.db.execute("SELECT id FROM actions WHERE synced = 0 ORDER BY id")]

    def finish_undo(self, action_id: int, problem: str | None) -> None:
        """An undo ended: done when nothing was left behind, else why (and the action stays undoable by id)."""
        self._write("UPDATE actions SET undone = ?, undo_problem = ? WHERE id = ?",
                    (int(problem is None), problem, action_id))

    def newest_undoable(self) -> int | None:
        """The newest action with files in the trash whose last undo did not get stuck: Ctrl+Z's target.
        Searches the whole journal: an old delete behind any number of newer actions is still reachable."""
        row = self.db.execute(
            """SELECT a.id FROM actions a WHERE a.undo_problem IS NULL
               AND (EXISTS (SELECT 1 FROM moves m WHERE m.action_id = a.id AND m.state = 'moved')
                    OR (a.taught IS NOT NULL AND a.undone = 0))
               ORDER BY a.id DESC LIMIT 1""").fetchone()
        return row[0] if row else None

    def moves(self, action_id: int | None = None, states: tuple[str, ...] | None = None) -> list[Move]:
        where, params = "1", []
        if action_id is not None:
            where += " AND action_id = ?"
            params.append(action_id)
        if states:
            where += f" AND state IN ({','.join('?' * len(states))})"
            params += list(states)
        return self._moves(where, params)

    def trash_moves(self) -> list[Move]:
        """The files in simgui's trash: the moved files of every action but a move to a folder of the user's."""
        return self._moves("state = 'moved' AND action_id NOT IN (SELECT id FROM actions WHERE kind = ?)",
                           [FOLDER_KIND])

    def _moves(self, where: str, params: list) -> list[Move]:
        rows = self.db.execute("SELECT id, action_id, source, target, state, replaced_by, record, link_to FROM moves "
                               f"WHERE {where} ORDER BY id", params)
        return [Move(r[0], r[1], from_db(r[2]), from_db(r[3]), r[4], r[5], r[6], r[7] and from_db(r[7])) for r in rows]

    def contents_in_trash(self) -> set[str]:
        """The content hashes of the photos in simgui's trash (or on their way in or out): their vectors are
        kept so that an undo needs no model run. The journal is the only record of what is in the trash."""
        found = set()
        for (record,) in self.db.execute("SELECT record FROM moves WHERE state IN ('planned', 'moved', 'restoring') "
                                         "AND record IS NOT NULL"):
            found.add(json.loads(record)["content_hash"])
        return found

    def rewrites(self) -> list[Move]:
        """The moves of keepers' originals, whose place a rewritten keeper took (or was about to)."""
        return self._moves("replaced_by IS NOT NULL", [])

    def actions(self, limit: int | None = 50, action_id: int | None = None) -> list[ActionRecord]:
        """Newest first; all of them with limit None; only that one with action_id."""
        rows = self.db.execute(
            """SELECT a.id, a.kind, a.label, a.created_at, a.undone,
                      (SELECT COUNT(*) FROM moves m WHERE m.action_id = a.id AND m.state = 'moved'),
                      (SELECT COUNT(*) FROM moves m WHERE m.action_id = a.id AND m.state = 'emptied'),
                      a.undo_problem, a.taught IS NOT NULL
               FROM actions a WHERE ? IS NULL OR a.id = ? ORDER BY a.id DESC LIMIT ?""",
            (action_id, action_id, -1 if limit is None else limit))
        return [ActionRecord(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], bool(r[8])) for r in rows]

    def recover(self) -> list[Move]:
        """Settles every move a crash interrupted, by what is on disk; returns the moves it settled."""
        settled = []
        for move in self.moves(states=("emptying",)):  # send2trash moves the file away, or leaves it
            self.set_state(move.id, "moved" if os.path.lexists(move.target) else "emptied")
            settled.append(move)
        for move in self.moves(states=("planned", "restoring")):
            origin, destination = (move.source, move.target) if move.state == "planned" else (move.target, move.source)
            remove_partial_copy(destination)
            if os.path.lexists(origin) and os.path.lexists(destination) and same_content(origin, destination):
                os.unlink(origin)  # a copy (or a hard link) was complete and verified: finish the move
            # a rename is atomic: the file is at one end or the other, never both, never neither
            arrived = os.path.lexists(destination) and not os.path.lexists(origin)
            if move.state == "planned":
                self.set_state(move.id, "moved" if arrived else "cancelled")
            else:
                self.set_state(move.id, "restored" if arrived else "moved")
            settled.append(move)
        return settled
