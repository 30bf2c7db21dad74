"""SQLite storage: the library's source of truth.

Embeddings are keyed by content hash, not by path: exact copies share one
vector, and a moved or renamed file finds its vector again without the model.
The `id` of an embedding row is also its label in the HNSW index; SQLite's
AUTOINCREMENT never reuses one, so a label deleted from the index stays dead.

A damaged database is never written to, nor taken for a new empty one: opening
checks it first (DatabaseDamaged says what to do).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

import numpy as np

from simgui.core.storage.exclusions import Exclusions
from simgui.core.storage.pathtext import from_db, to_db
from simgui.core.storage.sqlite_setup import open_database
from simgui.core.storage.tokens import GRID, pack_tokens

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT,
    perceptual_hash INTEGER,
    width INTEGER,
    height INTEGER,
    format TEXT,
    captured_at TEXT,
    error TEXT,
    content_pixels INTEGER,
    shot_at TEXT,
    duration REAL,
    codec TEXT
);
CREATE INDEX IF NOT EXISTS images_by_hash ON images(content_hash);
CREATE INDEX IF NOT EXISTS images_by_root ON images(root_id);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    patches BLOB NOT NULL,
    UNIQUE (content_hash, model)
);
-- patch agreement of candidate pairs, in content-hash order (the check is not symmetric): measured once,
-- so grouping at start needs no patch work (rows go with either embedding)
CREATE TABLE IF NOT EXISTS pair_agreement (
    first INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    second INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    agreement REAL NOT NULL,
    PRIMARY KEY (first, second)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pair_agreement_by_second ON pair_agreement(second);
-- candidate pairs from the kNN search (label pairs, smaller first) not measured yet: a queue, which a pair
-- leaves for pair_agreement once measured (or for nothing, when no setting could group it), and the labels
-- already searched: a start searches only what is new (a search of every vector took 22 s at 100,000 photos)
CREATE TABLE IF NOT EXISTS candidate_pairs (
    first INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    second INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    PRIMARY KEY (first, second)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS candidate_pairs_by_second ON candidate_pairs(second);
CREATE TABLE IF NOT EXISTS searched (
    label INTEGER PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE
);
-- what the model was shown, at 64x64 as a JPEG (media/sketch.py): tells a copy from another moment
CREATE TABLE IF NOT EXISTS sketches (
    label INTEGER PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE,
    jpeg BLOB NOT NULL
);
-- copies turned by 90/180/270 degrees or mirrored (orientation.py): each content's orientation signature,
-- the tokens of a new content as turned when its signature, turned, matched another's, and those pairs
CREATE TABLE IF NOT EXISTS orientation_signatures (
    label INTEGER PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS turned_tokens (
    label INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    patches BLOB NOT NULL,
    PRIMARY KEY (label, turn)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS turned_pairs (
    first INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    second INTEGER NOT NULL REFERENCES embeddings(id) ON DELETE CASCADE,
    PRIMARY KEY (first, second)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS turned_pairs_by_second ON turned_pairs(second);
-- a content's backdrop view, where it has one (framing.views_inside): its tokens' sign bits, its sketch, and
-- where the photo as trimmed lies in it (4 float32: left, top, right, bottom, shares of its sides)
CREATE TABLE IF NOT EXISTS backdrop_views (
    label INTEGER PRIMARY KEY REFERENCES embeddings(id) ON DELETE CASCADE,
    patches BLOB NOT NULL,
    sketch BLOB NOT NULL,
    subject BLOB NOT NULL
);
-- the copy the user chose to keep ("Keep this one"): it heads every group it is in, newest choice first
CREATE TABLE IF NOT EXISTS keeper_choices (
    path TEXT PRIMARY KEY,
    chosen_at REAL NOT NULL
);
-- folders whose files are never marked to go nor moved, and whose copies are kept first (protection.py)
CREATE TABLE IF NOT EXISTS protected_folders (path TEXT PRIMARY KEY);
-- a video clip's signature (core/matching/clips.py): its frames' times, vectors (float16), blank marks and
-- 32x32 grey thumbnails, and the shape (width / height) of its picture inside any bars
CREATE TABLE IF NOT EXISTS clip_signatures (
    content_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    times BLOB NOT NULL,
    vectors BLOB NOT NULL,
    blank BLOB NOT NULL,
    thumbs BLOB NOT NULL,
    aspect REAL NOT NULL,
    PRIMARY KEY (content_hash, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    hash_a TEXT NOT NULL,
    hash_b TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (kind, hash_a, hash_b)
);
"""
SCHEMA_VERSION = "1"
EMBEDDING_FORMAT = "int8 vectors with a scale, sign-bit tokens"
_FLOAT16_FORMAT = "float16 vectors, sign-bit tokens"  # before November 2026's second release


def encode_vector(vector: np.ndarray) -> bytes:
    """A unit vector as a float32 step and int8 multiples of it: 388 bytes at 384 dimensions (float16 took
    768, float32 1,536); cosines move by about 0.0005, a hundredth of the gap between any two thresholds."""
    step = np.float32(max(float(np.abs(vector).max()), 1e-12) / 127)
    return step.tobytes() + np.round(vector / step).astype(np.int8).tobytes()


def decode_vectors(blobs: list[bytes], dim: int) -> np.ndarray:
    """[N, dim] float32 unit vectors from encode_vector's bytes."""
    if not blobs:
        return np.zeros((0, dim), np.float32)
    raw = np.frombuffer(b"".join(blobs), dtype=np.dtype([("step", "<f4"), ("steps", "i1", (dim,))]))
    vectors = raw["steps"].astype(np.float32) * raw["step"][:, None]
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@dataclass
class ImageRecord:
    id: int
    path: str
    root_id: int
    size: int
    mtime_ns: int
    content_hash: str | None
    perceptual_hash: int | None
    width: int | None
    height: int | None
    format: str | None
    captured_at: str | None
    error: str | None
    content_pixels: int | None = None  # pixels of the photo itself, letterbox bars and frames left out
    shot_at: str | None = None  # the shutter's moment (decode.Captured.shot); "": none; None: not read yet
    duration: float | None = None  # a video clip's length in seconds (None: a photo)
    codec: str | None = None  # ... and its video codec (FFmpeg's name)

    @property
    def is_clip(self) -> bool:
        return self.duration is not None

    @property
    def bit_rate(self) -> int:
        """A clip's bits a second, the whole file's (0 for a photo)."""
        return round(self.size * 8 / self.duration) if self.duration else 0


SIGNATURE_BYTES = 63 * 2  # one orientation signature (orientation.py: 63 coefficients) in float16
THUMB_SIDE = 32  # a clip frame's grey thumbnail (ClipFrameSet.thumbs)
# how a clip signature is made (clip_search.clip_input): 2 trims one box of bars for the whole clip, where 1 found
# each frame's own (a caption or a dark frame made frames of one clip framed apart), and keeps the shape of the
# picture inside, where 1 kept each frame's dHash (the thumbnails replaced it); 1 had no thumbnails at first
CLIP_SIGNATURE_FORMAT = "2"
CLIP_SIGNATURE_COLUMNS = {"content_hash", "model", "times", "vectors", "blank", "thumbs", "aspect"}


@dataclass
class ClipFrameSet:
    """The frames of a clip's signature (core/matching/clips.py), as stored."""
    times: np.ndarray  # [F] seconds from the start
    vectors: np.ndarray  # [F, D] the model's unit vectors
    blank: np.ndarray  # [F] bool: shows nothing (a fade, a plain card)
    thumbs: np.ndarray  # [F, 32, 32] uint8: the picture inside any bars in grey, squashed square as the model sees it
    aspect: float  # that picture's width / height before it was squashed


class BackdropView(NamedTuple):
    """A content's backdrop view (framing.views_inside): what is kept of it."""
    bits: np.ndarray  # its tokens: stored as sign bits, [tokens, dim / 8] uint8; saved from the model's int8 tokens
    sketch: bytes  # its sketch (media/sketch.py)
    subject: tuple[float, float, float, float]  # where the photo as trimmed lies in it (framing.Views.subject)


@dataclass
class NewImage:
    """What the indexer learnt about one file; `error` set means it was skipped."""
    path: str
    root_id: int
    size: int
    mtime_ns: int
    content_hash: str | None = None
    perceptual_hash: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    captured_at: str | None = None
    error: str | None = None
    content_pixels: int | None = None
    shot_at: str | None = None
    duration: float | None = None
    codec: str | None = None


log = logging.getLogger(__name__)


class DatabaseDamaged(Exception):
    """library.db is not a sound SQLite database; the message says where, that nothing changed, what to do."""


def damage_message(path: Path, detail: str) -> str:
    return (f"the library database {path} is damaged ({detail}). Nothing was changed: simgui neither writes to it "
            f"nor replaces it. Restore library.db from a backup, or move it aside (keep it) and run simgui again "
            f"to start a new, empty library in {path.parent}; your photos are not touched either way.")


def is_damage(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_read_only(exc: sqlite3.Error) -> bool:
    """SQLite refused a write because the file or its folder is read-only (not "locked", not "full")."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY


_IMAGE_COLUMNS = ("id, path, root_id, size, mtime_ns, content_hash, perceptual_hash, width, height, format, "
                  "captured_at, error, content_pixels, shot_at, duration, codec")


class LibraryStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        _refuse_emptied(self.path)
        try:
            # WAL + NORMAL: a crash loses at most the last batch, never the file
            # 32 KB pages: two embedding rows (1.5 KB each) left a quarter of every 4 KB page empty, 21 fill 97 %
            self.db = open_database(self.path, synchronous="NORMAL", page_size=32768)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise DatabaseDamaged(damage_message(self.path, str(exc))) from exc
            raise
        try:
            self._check_sound()
            self.db.execute("PRAGMA foreign_keys=ON")
            with self.transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                self._add_missing_columns()
                # which files are in the trash was kept here too, beside the journal, and never reconciled:
                # the journal alone says it now (files/journal.py)
                self.db.execute("DROP TABLE IF EXISTS trashed")
                self._compact_old_embeddings()
        except BaseException:
            self.db.close()
            raise

    def _check_sound(self) -> None:
        """Every page of every table and index is read before anything is written (a damaged page would
        otherwise surface later, in the middle of a command). 0.07 s for a 165 MB library (100,000 photos)."""
        try:
            verdict = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            verdict = str(exc)
        if verdict != "ok":
            raise DatabaseDamaged(damage_message(self.path, verdict))

    def close(self) -> None:
        self.db.close()

    def _compact_old_embeddings(self) -> None:
        """Libraries of earlier versions stored float32 (then float16) vectors and int8 tokens: rewritten
        once as int8 vectors and sign bits (no model run: both come straight from what is stored).
        Marked done in meta, so an open never scans the table again."""
        stored = self._meta("embedding_format")
        if stored == EMBEDDING_FORMAT:
            return
        stored_as = np.float16 if stored == _FLOAT16_FORMAT else np.float32
        self._set_meta("embedding_format", EMBEDDING_FORMAT)
        updates = []
        for label, vector, patches in self.db.execute("SELECT id, vector, patches FROM embeddings").fetchall():
            if len(patches) > 1024:  # int8 tokens of the first layout: their signs are what is kept
                patches = pack_tokens(np.frombuffer(patches, np.int8).reshape(GRID * GRID, -1)).tobytes()
            updates.append((encode_vector(np.frombuffer(vector, stored_as).astype(np.float32)), patches, label))
        self.db.executemany("UPDATE embeddings SET vector = ?, patches = ? WHERE id = ?", updates)

    def _add_missing_columns(self) -> None:
        """Libraries made by an earlier version get the columns added since (empty until files change)."""
        present = {row[1] for row in self.db.execute("PRAGMA table_info(images)")}
        if "content_pixels" not in present:
            self.db.execute("ALTER TABLE images ADD COLUMN content_pixels INTEGER")
        for column, kind in (("shot_at", "TEXT"), ("duration", "REAL"), ("codec", "TEXT")):
            if column not in present:
                self.db.execute(f"ALTER TABLE images ADD COLUMN {column} {kind}")
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(clip_signatures)")}
        if self._meta("clip_signature_format") != CLIP_SIGNATURE_FORMAT or columns != CLIP_SIGNATURE_COLUMNS:
            # signatures made another way would be compared with new ones as if alike (and an earlier version,
            # opening this library, may have written its own rows): their clips are signed again at the next
            # update (unsigned_clip_paths)
            self.db.execute("DROP TABLE clip_signatures")
            self.db.execute(next(s for s in SCHEMA.split(";") if "TABLE IF NOT EXISTS clip_signatures" in s))
            self._set_meta("clip_signature_format", CLIP_SIGNATURE_FORMAT)
        # rows an earlier version wrote here after this one made the table (its columns in another order) do
        # not add up: they go, and their clips are signed again
        self.db.execute("DELETE FROM clip_signatures WHERE length(blank) * 4 != length(times) "
                        "OR length(thumbs) != length(blank) * ?", (THUMB_SIDE * THUMB_SIDE,))

    def transaction(self):
        return _Transaction(self.db)

    # roots -----------------------------------------------------------------
    def add_root(self, path: str) -> int:
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)", (to_db(path), time.time()))
            return self.db.execute("SELECT id FROM roots WHERE path = ?", (to_db(path),)).fetchone()[0]

    def roots(self) -> list[tuple[int, str]]:
        return [(root_id, from_db(path)) for root_id, path in self.db.execute("SELECT id, path FROM roots ORDER BY path")]

    def remove_root(self, path: str) -> None:
        """Forgets a folder and its photos' rows (the files are not touched)."""
        with self.transaction():
            self.db.execute("DELETE FROM roots WHERE path = ?", (to_db(path),))

    def files_per_root(self) -> dict[str, tuple[int, int]]:
        """Root -> (its files, how many of them are video clips)."""
        return {from_db(path): (files, clips or 0) for path, files, clips in self.db.execute(
            "SELECT r.path, COUNT(i.content_hash), SUM(i.duration IS NOT NULL) FROM roots r "
            "LEFT JOIN images i ON i.root_id = r.id GROUP BY r.id")}

    # images ----------------------------------------------------------------
    def file_states(self) -> dict[str, tuple[int, int, int, int]]:
        """path -> (image id, size, mtime_ns, root id): all the incremental scan compares."""
        rows = self.db.execute("SELECT path, id, size, mtime_ns, root_id FROM images")
        return {from_db(path): (image_id, size, mtime, root_id) for path, image_id, size, mtime, root_id in rows}

    def assign_roots(self, rows: Iterable[tuple[int, int]]) -> None:
        """(image id, root id): unchanged files that now belong to another root (a nested root was added)."""
        self.db.executemany("UPDATE images SET root_id = ? WHERE id = ?", [(root, image) for image, root in rows])

    def save_images(self, images: Iterable[NewImage]) -> None:
        self.db.executemany(
            """INSERT INTO images (path, root_id, size, mtime_ns, content_hash, perceptual_hash, width, height,
                                   format, captured_at, error, content_pixels, shot_at, duration, codec)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(path) DO UPDATE SET root_id=excluded.root_id, size=excluded.size,
                 mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,
                 perceptual_hash=excluded.perceptual_hash, width=excluded.width, height=excluded.height,
                 format=excluded.format, captured_at=excluded.captured_at, error=excluded.error,
                 content_pixels=excluded.content_pixels, shot_at=excluded.shot_at, duration=excluded.duration,
                 codec=excluded.codec""",
            [(to_db(i.path), i.root_id, i.size, i.mtime_ns, i.content_hash, i.perceptual_hash, i.width, i.height,
              i.format, i.captured_at, i.error, i.content_pixels, i.shot_at, i.duration, i.codec) for i in images],
        )

    def delete_images(self, image_ids: Iterable[int]) -> None:
        self.db.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in image_ids])

    def images(self, where: str = "1", params: tuple = ()) -> list[ImageRecord]:
        rows = self.db.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE {where} ORDER BY path", params)
        return [_image_record(row) for row in rows]

    def images_by_hash(self, hashes: Iterable[str]) -> dict[str, list[ImageRecord]]:
        wanted = set(hashes)
        found: dict[str, list[ImageRecord]] = {h: [] for h in wanted}
        rows = self._select_in(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE content_hash IN ({{marks}}) "
                               "AND error IS NULL ORDER BY path", wanted)
        for row in rows:  # a content's files all come from one chunk's query, in path order
            record = _image_record(row)
            found[record.content_hash].append(record)
        return found

    def image_by_path(self, path: str) -> ImageRecord | None:
        found = self.images("path = ?", (to_db(path),))
        return found[0] if found else None

    def images_starting(self, prefix: str) -> list[ImageRecord]:
        """The files whose paths start with `prefix` (a range of the path index, not a scan)."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        raw = os.fsencode(prefix)
        # names that are not UTF-8 are stored as bytes (pathtext.py), which sort after every text
        return self.images("(path >= ? AND path < ?) OR (path >= ? AND path < ?)",
                           (to_db(prefix), to_db(end), raw, raw[:-1] + bytes([raw[-1] + 1])))

    def shot_times(self) -> dict[str, str]:
        """Content hash -> the shutter moment its files recorded (ImageRecord.shot_at), where one did."""
        return dict(self.db.execute("SELECT content_hash, shot_at FROM images WHERE shot_at != '' "
                                    "AND content_hash IS NOT NULL"))

    def images_without_shot_time(self) -> list[tuple[int, str, str | None]]:
        """(id, path, format) of the photos whose shutter time was never read (indexed by an earlier version)."""
        rows = self.db.execute("SELECT id, path, format FROM images WHERE shot_at IS NULL AND error IS NULL "
                               "AND content_hash IS NOT NULL ORDER BY path")
        return [(image_id, from_db(path), picture_format) for image_id, path, picture_format in rows]

    def set_shot_times(self, found: Iterable[tuple[int, str]]) -> None:
        """(id, shutter time, "" for none) of photos read since."""
        self.db.executemany("UPDATE images SET shot_at = ? WHERE id = ?", [(shot, image_id) for image_id, shot in found])

    def skipped(self) -> list[ImageRecord]:
        return self.images("error IS NOT NULL")

    def counts(self) -> dict[str, int]:
        images, skipped, clips = self.db.execute(
            "SELECT COUNT(content_hash), COUNT(error), COUNT(duration) FROM images").fetchone()
        # a query of its own: beside the other counts it cannot use the index (200 against 10 ms at 100,000)
        unique = self.db.execute("SELECT COUNT(DISTINCT content_hash) FROM images").fetchone()[0]
        return {"images": images, "clips": clips, "skipped": skipped, "unique": unique,
                "roots": self.db.execute("SELECT COUNT(*) FROM roots").fetchone()[0]}

    # embeddings ------------------------------------------------------------
    def all_embedded_hashes(self, model: str) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT content_hash FROM embeddings WHERE model = ?", (model,))}

    def save_embeddings(self, model: str, hashes: list[str], vectors: np.ndarray, patches: np.ndarray) -> list[int]:
        """patches: the model's int8 tokens; their sign bits are what is kept (verify.pack_tokens)."""
        labels = []
        for content_hash, vector, patch in zip(hashes, vectors, patches):
            self.db.execute(
                "INSERT OR IGNORE INTO embeddings (content_hash, model, vector, patches) VALUES (?,?,?,?)",
                (content_hash, model, encode_vector(vector), pack_tokens(patch).tobytes()))
            labels.append(self.db.execute("SELECT id FROM embeddings WHERE content_hash = ? AND model = ?",
                                          (content_hash, model)).fetchone()[0])
        return labels

    def share_embedding(self, model: str, content_hash: str, new_hash: str) -> int | None:
        """Gives `new_hash` the vector of `content_hash` (same pixels, new metadata); the new label, or None."""
        self.db.execute("INSERT OR IGNORE INTO embeddings (content_hash, model, vector, patches) "
                        "SELECT ?, model, vector, patches FROM embeddings WHERE content_hash = ? AND model = ?",
                        (new_hash, content_hash, model))
        row = self.db.execute("SELECT id FROM embeddings WHERE content_hash = ? AND model = ?", (new_hash, model)).fetchone()
        if row:
            for table, columns in (("sketches", "t.jpeg"), ("backdrop_views", "t.patches, t.sketch, t.subject")):
                self.db.execute(f"INSERT OR IGNORE INTO {table} SELECT ?, {columns} FROM {table} t JOIN embeddings e "
                                "ON e.id = t.label WHERE e.content_hash = ? AND e.model = ?", (row[0], content_hash, model))
        return row[0] if row else None

    def orphan_embeddings(self, kept: set[str]) -> list[int]:
        """Embeddings whose content no image holds any more, except the contents in `kept` (the journal's
        files in the trash, whose vectors an undo needs)."""
        return [label for label, content in self.db.execute(
            "SELECT e.id, e.content_hash FROM embeddings e WHERE NOT EXISTS "
            "(SELECT 1 FROM images i WHERE i.content_hash = e.content_hash AND i.error IS NULL)")
            if content not in kept]

    # video clips -----------------------------------------------------------
    def save_clip_signature(self, model: str, content_hash: str, frames: "ClipFrameSet") -> None:
        self.db.execute("INSERT OR REPLACE INTO clip_signatures VALUES (?,?,?,?,?,?,?)",
                        (content_hash, model, frames.times.astype(np.float32).tobytes(),
                         frames.vectors.astype(np.float16).tobytes(), frames.blank.astype(np.uint8).tobytes(),
                         frames.thumbs.astype(np.uint8).tobytes(), float(frames.aspect)))

    def clip_signatures(self, model: str, dim: int, hashes: Iterable[str] | None = None) -> dict[str, "ClipFrameSet"]:
        """Content hash -> the frames of every clip's signature, or of these clips'."""
        query = "SELECT content_hash, times, vectors, blank, thumbs, aspect FROM clip_signatures WHERE model = ?"
        rows = (self._select_in(query + " AND content_hash IN ({marks})", hashes, (model,)) if hashes is not None
                else self.db.execute(query, (model,)))
        return {content: ClipFrameSet(np.frombuffer(times, np.float32).astype(np.float64),
                                      np.frombuffer(vectors, np.float16).astype(np.float32).reshape(-1, dim),
                                      np.frombuffer(blank, np.uint8).astype(bool),
                                      np.frombuffer(thumbs, np.uint8).reshape(-1, THUMB_SIDE, THUMB_SIDE), aspect)
                for content, times, vectors, blank, thumbs, aspect in rows}

    def unsigned_clip_paths(self, model: str) -> set[str]:
        """Clips whose content has no signature of this model: read again even when unchanged (their
        signature's layout changed, or the model did)."""
        return {from_db(path) for (path,) in self.db.execute(
            "SELECT path FROM images WHERE duration IS NOT NULL AND error IS NULL AND content_hash NOT IN "
            "(SELECT content_hash FROM clip_signatures WHERE model = ?)", (model,))}

    def signed_clip_hashes(self, model: str) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT content_hash FROM clip_signatures WHERE model = ?", (model,))}

    def orphan_clips(self, kept: set[str]) -> list[str]:
        """Clip contents no file holds any more, except those in `kept` (the trash's: for an undo)."""
        return [content for (content,) in self.db.execute(
            "SELECT c.content_hash FROM clip_signatures c WHERE NOT EXISTS "
            "(SELECT 1 FROM images i WHERE i.content_hash = c.content_hash AND i.error IS NULL)") if content not in kept]

    def delete_clip_signatures(self, contents: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM clip_signatures WHERE content_hash = ?", [(c,) for c in contents])

    def hashes_with_files(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT content_hash FROM images WHERE content_hash IS NOT NULL")}

    def delete_embeddings(self, labels: Iterable[int]) -> None:
        self.db.executemany("DELETE FROM embeddings WHERE id = ?", [(i,) for i in labels])

    def live_labels(self, model: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM embeddings WHERE model = ? ORDER BY id", (model,))]

    def vectors(self, model: str, dim: int, labels: Iterable[int] | None = None,
                hashes: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(labels, vectors [N, dim], content hashes) for all contents, or the given labels, or contents."""
        if labels is not None:
            rows = self._select_in("SELECT id, vector, content_hash FROM embeddings WHERE id IN ({marks})", labels)
        elif hashes is not None:
            rows = self._select_in("SELECT id, vector, content_hash FROM embeddings WHERE model = ? "
                                   "AND content_hash IN ({marks})", hashes, (model,))
        else:
            rows = self.db.execute("SELECT id, vector, content_hash FROM embeddings WHERE model = ? ORDER BY id", (model,)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, decode_vectors([r[1] for r in rows], dim), [r[2] for r in rows]

    def patches(self, labels: Iterable[int], shape: tuple[int, int]) -> dict[int, np.ndarray]:
        """label -> the stored sign bits of its tokens, [tokens, dim / 8] uint8 (verify.as_unit_tokens reads them)."""
        rows = self._select_in("SELECT id, patches FROM embeddings WHERE id IN ({marks})", set(labels))
        return {label: np.frombuffer(blob, dtype=np.uint8).reshape(shape[0], shape[1] // 8) for label, blob in rows}

    def save_signatures(self, labels: list[int], signatures: np.ndarray) -> None:
        self.db.executemany("INSERT OR REPLACE INTO orientation_signatures VALUES (?, ?)",
                            [(int(label), s.astype(np.float16).tobytes()) for label, s in zip(labels, signatures)])

    def signatures(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels, [N, 2, 63] float32 orientation signatures, framed and whole) of every content that has them."""
        rows = self.db.execute("SELECT label, signature FROM orientation_signatures ORDER BY label").fetchall()
        labels = np.array([r[0] for r in rows], np.int64)
        # a content stored before its whole picture's signature was kept too: its framed one stands in for it
        pairs = [blob + blob if len(blob) == SIGNATURE_BYTES else blob for _, blob in rows]
        return labels, np.frombuffer(b"".join(pairs), np.float16).reshape(len(rows), 2, SIGNATURE_BYTES // 2).astype(
            np.float32)

    def signatures_version(self) -> int:
        """The newest label with a signature: it changes whenever one is added (labels are never reused)."""
        return self.db.execute("SELECT COALESCE(MAX(label), 0) FROM orientation_signatures").fetchone()[0]

    def save_sketches(self, sketches: dict[int, bytes]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO sketches VALUES (?, ?)", list(sketches.items()))

    def sketch(self, label: int) -> bytes | None:
        row = self.db.execute("SELECT jpeg FROM sketches WHERE label = ?", (label,)).fetchone()
        return row[0] if row else None

    def sketches(self, labels: Iterable[int]) -> dict[int, bytes]:
        """label -> its sketch, for those of these labels that have one stored."""
        return dict(self._select_in("SELECT label, jpeg FROM sketches WHERE label IN ({marks})", set(labels)))

    def content_of(self, label: int) -> str | None:
        row = self.db.execute("SELECT content_hash FROM embeddings WHERE id = ?", (label,)).fetchone()
        return row[0] if row else None

    def save_turned(self, tokens: dict[tuple[int, int], np.ndarray], pairs: Iterable[tuple[int, int]]) -> None:
        """tokens: (label, turn) -> the model's int8 tokens of that content turned so; pairs: label pairs it
        was turned for."""
        self.db.executemany("INSERT OR REPLACE INTO turned_tokens VALUES (?, ?, ?)",
                            [(label, turn, pack_tokens(t).tobytes()) for (label, turn), t in tokens.items()])
        self.db.executemany("INSERT OR IGNORE INTO turned_pairs VALUES (?, ?)", [(min(p), max(p)) for p in pairs])

    def turned_patches(self, labels: Iterable[int], shape: tuple[int, int]) -> dict[int, list[np.ndarray]]:
        """label -> the stored sign bits of its turned tokens (none for most contents)."""
        found: dict[int, list[np.ndarray]] = {}
        for label, blob in self._select_in("SELECT label, patches FROM turned_tokens WHERE label IN ({marks}) "
                                           "ORDER BY label, turn", set(labels)):
            found.setdefault(label, []).append(np.frombuffer(blob, dtype=np.uint8).reshape(shape[0], shape[1] // 8))
        return found

    def save_backdrop_views(self, views: dict[int, BackdropView]) -> None:
        """label -> its backdrop view, with the model's int8 tokens as `bits` (packed here)."""
        self.db.executemany("INSERT OR REPLACE INTO backdrop_views VALUES (?, ?, ?, ?)",
                            [(label, pack_tokens(v.bits).tobytes(), v.sketch, np.array(v.subject, np.float32).tobytes())
                             for label, v in views.items()])

    def backdrop_views(self, labels: Iterable[int], shape: tuple[int, int]) -> dict[int, BackdropView]:
        """label -> its backdrop view as stored (for the few contents that have one)."""
        return {label: BackdropView(np.frombuffer(blob, dtype=np.uint8).reshape(shape[0], shape[1] // 8), sketch,
                                    tuple(float(s) for s in np.frombuffer(subject, np.float32)))
                for label, blob, sketch, subject in self._select_in(
                    "SELECT label, patches, sketch, subject FROM backdrop_views WHERE label IN ({marks})", set(labels))}

    def turned_pairs(self) -> list[tuple[int, int]]:
        return self.db.execute("SELECT first, second FROM turned_pairs").fetchall()

    def keep_pair_agreements_only_from(self, method: str) -> None:
        """Agreements measured by another verification method (an upgrade) are dropped, to be measured anew:
        their pairs go back to the queue of candidates (their contents are not searched again)."""
        with self.transaction():
            stored = self._meta("pair_method")
            if stored is not None and stored != method:
                self._queue_measured_pairs("1")
            self._keep_only_from("pair_method", method, ("pair_agreement",))

    def measure_again_from(self, least: float, key: str, rule: str) -> None:
        """Agreements from `least` up (and vetoes, stored as negative) that another version of a rule judged
        (`rule`, recorded in meta under `key`) go back to the queue of candidates, to be measured anew; the
        weaker ones, which that rule never looked at, stay."""
        with self.transaction():
            if self._meta(key) == rule:
                return
            judged = "agreement >= ? OR agreement < 0"
            self._queue_measured_pairs(judged, (least,))
            self.db.execute(f"DELETE FROM pair_agreement WHERE {judged}", (least,))
            self._set_meta(key, rule)

    def _queue_measured_pairs(self, where: str, params: tuple = ()) -> None:
        """Measured pairs (those `where` picks) back to the queue of candidates, to be measured anew."""
        self.db.execute("INSERT OR IGNORE INTO candidate_pairs SELECT MIN(first, second), MAX(first, second) "
                        f"FROM pair_agreement WHERE {where}", params)

    def keep_candidates_only_from(self, search: str) -> None:
        """Candidates found with other search settings (a new default) are dropped, to be searched anew."""
        self._keep_only_from("candidate_search", search, ("candidate_pairs", "searched"))

    def _keep_only_from(self, key: str, maker: str, tables: tuple[str, ...]) -> None:
        """Derived tables made by something else than `maker` (recorded in meta under `key`) are emptied."""
        with self.transaction():
            if self._meta(key) != maker:
                for table in tables:
                    self.db.execute(f"DELETE FROM {table}")
                self._set_meta(key, maker)

    def _select_in(self, sql: str, values: Iterable, leading: tuple = ()) -> list[tuple]:
        """Rows of `sql`, whose `{marks}` is an IN list, for any number of values: 500 at a time (SQLite
        caps the variables of one statement). `leading` are the parameters before the list."""
        rows = []
        for chunk in _chunks(list(values), 500):
            rows += self.db.execute(sql.format(marks=",".join("?" * len(chunk))), (*leading, *chunk)).fetchall()
        return rows

    def searched_labels(self) -> set[int]:
        return {row[0] for row in self.db.execute("SELECT label FROM searched")}

    def candidate_pairs(self) -> list[tuple[int, int]]:
        return self.db.execute("SELECT first, second FROM candidate_pairs").fetchall()

    def save_candidates(self, searched: Iterable[int], pairs: Iterable[tuple[int, int]]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO candidate_pairs VALUES (?, ?)", [(min(p), max(p)) for p in pairs])
        self.db.executemany("INSERT OR IGNORE INTO searched VALUES (?)", [(int(label),) for label in searched])

    def look_alike_search(self) -> str | None:
        """How this library's contents were all searched for look-alikes besides the index (grouping.py)."""
        return self._meta("look_alike_search")

    def set_look_alike_search(self, search: str) -> None:
        self._set_meta("look_alike_search", search)

    def forget_candidates(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Takes measured pairs (label pairs in either order) off the queue of candidates to check."""
        self.db.executemany("DELETE FROM candidate_pairs WHERE first = ? AND second = ?",
                            [(min(p), max(p)) for p in pairs])

    def pair_agreements(self) -> dict[tuple[int, int], float]:
        return {(a, b): agreement for a, b, agreement in self.db.execute("SELECT first, second, agreement FROM pair_agreement")}

    def save_pair_agreements(self, agreements: dict[tuple[int, int], float]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO pair_agreement VALUES (?, ?, ?)",
                            [(a, b, agreement) for (a, b), agreement in agreements.items()])

    # decisions -------------------------------------------------------------
    def add_decision(self, kind: str, hash_a: str, hash_b: str) -> bool:
        """True when the pair was not decided so before."""
        a, b = sorted((hash_a, hash_b))
        with self.transaction():
            cursor = self.db.execute("INSERT OR IGNORE INTO decisions (kind, hash_a, hash_b, created_at) "
                                     "VALUES (?,?,?,?)", (kind, a, b, time.time()))
        return cursor.rowcount == 1

    def remove_decisions(self, kind: str, pairs: Iterable[tuple[str, str]]) -> None:
        with self.transaction():
            self.db.executemany("DELETE FROM decisions WHERE kind = ? AND hash_a = ? AND hash_b = ?",
                                [(kind, *sorted(pair)) for pair in pairs])

    def decisions(self, kind: str) -> set[tuple[str, str]]:
        return set(self.db.execute("SELECT hash_a, hash_b FROM decisions WHERE kind = ?", (kind,)))

    def choose_keeper(self, path: str, instead_of: Iterable[str]) -> None:
        """`path` is kept first from now on; the other copies of its group lose an earlier choice."""
        with self.transaction():
            self.db.executemany("DELETE FROM keeper_choices WHERE path = ?", [(to_db(p),) for p in instead_of])
            self.db.execute("INSERT OR REPLACE INTO keeper_choices (path, chosen_at) VALUES (?, ?)",
                            (to_db(path), time.time()))

    def keeper_choices(self) -> dict[str, float]:
        """path -> when it was chosen."""
        return {from_db(p): at for p, at in self.db.execute("SELECT path, chosen_at FROM keeper_choices")}

    def protected_folders(self) -> list[str]:
        return [from_db(r[0]) for r in self.db.execute("SELECT path FROM protected_folders ORDER BY path")]

    def set_protected(self, paths: Iterable[str], protected: bool) -> None:
        sql = ("INSERT OR IGNORE INTO protected_folders (path) VALUES (?)" if protected
               else "DELETE FROM protected_folders WHERE path = ?")
        with self.transaction():
            self.db.executemany(sql, [(to_db(p),) for p in paths])

    def keep_rules(self) -> str | None:
        """The user's keep rules as saved (keep_rules.KeepRules' JSON), or None: the defaults."""
        return self._meta("keep_rules")

    def set_keep_rules(self, saved: str) -> None:
        with self.transaction():
            self._set_meta("keep_rules", saved)

    def exclusions(self) -> Exclusions:
        """What the user leaves out of the library (none until set)."""
        return Exclusions.from_json(self._meta("exclusions"))

    def set_exclusions(self, left_out: Exclusions) -> None:
        with self.transaction():
            self._set_meta("exclusions", left_out.to_json())

    def _meta(self, key: str) -> str | None:
        """What meta records under `key`: a setting, or what made a derived table; None if nothing."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _refuse_emptied(path: Path) -> None:
    """An empty library.db beside the rest of a library (its vector index, its journal...) lost its content:
    SQLite would take it for a new database and start an empty library over it. A lone empty file is a
    library whose first start stopped before its first write (or another process making it right now, with
    its -journal): it is new. So is one whose content is all still in its write-ahead log (-wal)."""
    wal = Path(f"{path}-wal")
    if not path.exists() or path.stat().st_size > 0 or (wal.exists() and wal.stat().st_size > 0):
        return
    own = {path.name, wal.name, f"{path.name}-shm", f"{path.name}-journal"}
    others = sorted(name for name in os.listdir(path.parent) if name not in own)
    if others:
        raise DatabaseDamaged(damage_message(path, f"it is empty, 0 bytes, beside the library's {', '.join(others)}"))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error; nests as a no-op."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outer = False

    def __enter__(self):
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if not self.outer:
            return False
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self._roll_back()
                raise
        else:
            self._roll_back()
        return False

    def _roll_back(self) -> None:
        """After some errors (a full disk while the page cache spilled) SQLite has rolled the transaction back
        itself: a ROLLBACK then fails with "no transaction is active" and would hide the real error."""
        if not self.db.in_transaction:
            return
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error as failed:  # the error being raised says more than this one
            log.error("rollback after an error failed too: %s", failed)


def _image_record(row: tuple) -> ImageRecord:
    return ImageRecord(row[0], from_db(row[1]), *row[2:])


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
