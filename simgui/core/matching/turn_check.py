"""Which new pictures may be turned or mirrored copies of stored ones, and their turned tokens.

orientation.py proposes a turn from signatures alone; this turns the new picture so, frames it again and
embeds it (one model run per proposal, and proposals are rare outside libraries full of turned copies), and
keeps the turned tokens only where their patches line up with the proposed photo as a turned copy's do
(verify.TURNED_AGREEMENT). The picture is framed after the turn, as its original was: framing does not turn
with a picture (bands are peeled from rows only).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from simgui.core.media.framing import views_inside
from simgui.core.media.orientation import TURNS, Proposal, proposals, turn_picture
from simgui.core.matching.verify import MOMENT_CHECK_FROM, TURNED_AGREEMENT, geometric_agreement
from simgui.core.storage.tokens import as_unit_tokens

MODEL_BATCH = 16
# the indexer keeps each new picture with its batch in case a turn is proposed: a decoded picture is small (JPEGs
# decode at 1/8: 500x375 for 12 MP), but a long panorama's short side is kept whole, so bigger ones are reduced.
# Pillow holds RGB in 4 bytes a pixel: 4 MB each at most, 320 MB for a batch and the decode window (80) of them
KEPT_PIXELS = 1 << 20
PictureSource = Callable[[int], Image.Image]  # a picture by its row, as decoded


@dataclass
class TurnedCopies:
    """For each new picture (by row): its turned tokens worth keeping, by turn number, and the stored labels
    they line up with."""
    tokens: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (row, turn) -> int8 tokens
    vectors: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)  # (row, turn) -> global vector
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (row, label)

    def of_row(self, row: int) -> tuple[list[np.ndarray], list[np.ndarray], set[int]]:
        """One picture's turned vectors, turned unit tokens, and the labels they line up with."""
        runs = sorted(run for run in self.tokens if run[0] == row)
        return ([self.vectors[run] for run in runs], [as_unit_tokens(self.tokens[run]) for run in runs],
                {label for r, label in self.pairs if r == row})


class TurnFinder:
    def __init__(self, store, model_source, patch_shape: tuple[int, int]):
        """model_source: a callable giving the EmbeddingModel (loaded only when a turn is proposed)."""
        self.store = store
        self.model_source = model_source
        self.patch_shape = patch_shape
        self._labels = np.zeros(0, np.int64)
        self._signatures = np.zeros((0, 0), np.float32)
        self._version: int | None = None

    def known(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels, signatures) of every stored content, read again only when one was added (a content that
        went may stay here: its proposals find no tokens and are dropped)."""
        version = self.store.signatures_version()
        if version != self._version:
            self._labels, self._signatures = self.store.signatures()
            self._version = version
        return self._labels, self._signatures

    def note(self, labels: list[int], signatures: np.ndarray) -> None:
        """These were just stored: known without reading every signature again (at 100,000 photos, 12 MB)."""
        if self._version is None:
            self.known()
            return
        self._labels = np.concatenate([self._labels, np.array(labels, np.int64)])
        self._signatures = signatures if len(self._signatures) == 0 else np.concatenate([self._signatures, signatures])
        self._version = self.store.signatures_version()

    def find(self, signatures: np.ndarray, pictures: PictureSource, patches: Sequence[np.ndarray],
             own_labels: list[int | None]) -> TurnedCopies:
        """Turned copies among the stored photos for each picture (signatures, the picture and the model's tokens
        of it as it is, by row; own label when it is stored itself, so it is not proposed as its own copy)."""
        labels, known = self.known()
        proposed = [p for p in proposals(signatures, known) if labels[p.column] != own_labels[p.row]]
        stored = self.store.patches({int(labels[p.column]) for p in proposed}, self.patch_shape) if proposed else {}
        units = {label: as_unit_tokens(patches) for label, patches in stored.items()}
        proposed = [p for p in proposed if int(labels[p.column]) in units]
        # a picture's own unit tokens, once, for the proposals that ask whether they line up as they are
        own = {p.row: as_unit_tokens(patches[p.row]) for p in proposed if not p.clear}
        wanted = [(row, int(labels[column]), turn) for row, column, turn in turns_worth_trying(
            proposed, lambda row, column: lines_up_as_it_is(own[row], units[int(labels[column])]))]
        found = TurnedCopies()
        if not wanted:
            return found
        turned_tokens, vectors = embed_turned(self.model_source(), pictures,
                                              sorted({(row, turn) for row, _, turn in wanted}))
        by_run = defaultdict(list)
        for row, label, turn in wanted:
            by_run[(row, turn)].append(label)
        for run, targets in by_run.items():
            turned = as_unit_tokens(turned_tokens[run])
            lined_up = [label for label in targets if geometric_agreement(turned, units[label]) >= TURNED_AGREEMENT]
            if lined_up:
                found.tokens[run], found.vectors[run] = turned_tokens[run], vectors[run]
                found.pairs += [(run[0], label) for label in lined_up]
        return found


def kept_for_turns(picture: Image.Image) -> Image.Image:
    """The picture as the indexer keeps it for a proposed turn: KEPT_PIXELS at most."""
    factor = math.ceil(math.sqrt(picture.width * picture.height / KEPT_PIXELS))
    return picture if factor <= 1 else picture.reduce(factor)


def turns_worth_trying(proposed: list[Proposal], lines_up: Callable[[int, int], bool]) -> list[tuple[int, int, int]]:
    """(row, column, turn) of the proposals worth a model run: those whose turned signatures clearly beat them as
    they are, and the others where the two photos' patches do not line up as they are (`lines_up(row, column)`):
    a nearly symmetric picture's mirror image, not its copy as it is."""
    return [(p.row, p.column, p.turn) for p in proposed if p.clear or not lines_up(p.row, p.column)]


def lines_up_as_it_is(a: np.ndarray, b: np.ndarray) -> bool:
    """Do these unit tokens line up well enough, as they are, for any slider position to call them near?"""
    return geometric_agreement(a, b) >= MOMENT_CHECK_FROM


def embed_turned(model, pictures: PictureSource, runs: list[tuple[int, int]]
                 ) -> tuple[dict[tuple[int, int], np.ndarray], dict[tuple[int, int], np.ndarray]]:
    """(row, turn number) -> int8 tokens, and -> global vector, of each picture turned so and framed again."""
    tokens: dict[tuple[int, int], np.ndarray] = {}
    vectors: dict[tuple[int, int], np.ndarray] = {}
    for start in range(0, len(runs), MODEL_BATCH):
        chunk = runs[start:start + MODEL_BATCH]
        # reduced as the indexer keeps it (nothing to do on what it kept): query and compare turn the same picture
        turned = [turn_picture(kept_for_turns(pictures(row)), TURNS[turn - 1]) for row, turn in chunk]
        embedded = model.run(np.stack([model.preprocess_content(views_inside(picture).content) for picture in turned]))
        tokens.update(zip(chunk, embedded.patches))
        vectors.update(zip(chunk, embedded.vectors))
    return tokens, vectors
