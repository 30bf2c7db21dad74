"""The write-ahead journal of file moves: every move is recorded, and synced, before it happens.

It lives in its own SQLite file with synchronous=FULL, so a crash or a power
cut at any point leaves a record of what was about to happen. `recover()`
looks at the disk to decide, for each unfinished move, whether it happened
(finish the record) or not (roll the record back): after it, every photo is in
exactly one place, its own or the trash.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from simgui.core.moves import remove_partial_copy, same_content
from simgui.core.pathtext import from_db, to_db
from simgui.core.sqlite_setup import open_database

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
    state TEXT NOT NULL,  -- planned | moved | cancelled | restoring | restored | emptied (in the system trash)
    replaced_by TEXT  -- content hash of the file simgui put at `source` after the move (an enriched keeper)
);
"""


@dataclass
class Move:
    id: int
    action_id: int
    source: str
    target: str
    state: str
    replaced_by: str | None = None


@dataclass
class ActionRecord:
    id: int
    kind: str
    label: str
    created_at: float
    undone: bool
    moved: int  # files in simgui's trash, that undo can put back
    emptied: int = 0  # files sent on to the system trash


class MoveJournal:
    def __init__(self, path: Path):
        self.db = open_database(path, synchronous="FULL")  # on disk before the file moves, not merely handed to the OS
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        if "replaced_by" not in {row[1] for row in self.db.execute("PRAGMA table_info(moves)")}:
            self.db.execute("ALTER TABLE moves ADD COLUMN replaced_by TEXT")  # journals of earlier versions

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, params: tuple = ()) -> int:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(sql, params)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return cursor.lastrowid

    def start_action(self, kind: str, label: str) -> int:
        return self._write("INSERT INTO actions (kind, label, created_at) VALUES (?, ?, ?)", (kind, label, time.time()))

    def plan(self, action_id: int, source: str, target: str) -> int:
        return self._write("INSERT INTO moves (action_id, source, target, state) VALUES (?, ?, ?, 'planned')",
                           (action_id, to_db(source), to_db(target)))

    def set_state(self, move_id: int, state: str) -> None:
        self._write("UPDATE moves SET state = ? WHERE id = ?", (state, move_id))

    def set_replaced_by(self, move_id: int, content_hash: str) -> None:
        self._write("UPDATE moves SET replaced_by = ? WHERE id = ?", (content_hash, move_id))

    def mark_undone(self, action_id: int) -> None:
        self._write("UPDATE actions SET undone = 1 WHERE id = ?", (action_id,))

    def moves(self, action_id: int | None = None, states: tuple[str, ...] | None = None) -> list[Move]:
        sql, params = "SELECT id, action_id, source, target, state, replaced_by FROM moves WHERE 1", []
        if action_id is not None:
            sql += " AND action_id = ?"
            params.append(action_id)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params += list(states)
        return [Move(r[0], r[1], from_db(r[2]), from_db(r[3]), r[4], r[5])
                for r in self.db.execute(sql + " ORDER BY id", params)]

    def actions(self, limit: int = 50) -> list[ActionRecord]:
        rows = self.db.execute(
            """SELECT a.id, a.kind, a.label, a.created_at, a.undone,
                      (SELECT COUNT(*) FROM moves m WHERE m.action_id = a.id AND m.state = 'moved'),
                      (SELECT COUNT(*) FROM moves m WHERE m.action_id = a.id AND m.state = 'emptied')
               FROM actions a ORDER BY a.id DESC LIMIT ?""", (limit,))
        return [ActionRecord(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def recover(self) -> list[Move]:
        """Settles every move a crash interrupted, by what is on disk; returns the moves it settled."""
        settled = []
        for move in self.moves(states=("planned", "restoring")):
            origin, destination = (move.source, move.target) if move.state == "planned" else (move.target, move.source)
            remove_partial_copy(destination)
            if os.path.lexists(origin) and os.path.lexists(destination) and same_content(origin, destination):
                os.unlink(origin)  # a copy across file systems was complete and verified: finish the move
            # a rename is atomic: the file is at one end or the other, never both, never neither
            arrived = os.path.lexists(destination) and not os.path.lexists(origin)
            if move.state == "planned":
                self.set_state(move.id, "moved" if arrived else "cancelled")
            else:
                self.set_state(move.id, "restored" if arrived else "moved")
            settled.append(move)
        return settled
