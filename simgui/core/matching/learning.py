"""Learning from the user's decisions: what *this* user calls a duplicate.

Every merge says "these are one photo" (positive pairs); every "Not duplicates"
says "these are not" (negative pairs). Where the user's idea differs from the
default in a consistent way (a black-and-white version kept as a photo of its
own, say), a small linear projection of the frozen embeddings, trained with a
contrastive loss, finds the direction that separates the two, and candidate
pairs the default would group are rescored by their distance along it. It is
numpy, seeded, and takes well under a second. With too few decisions of either
kind nothing is learnt and the default scoring stands; `forget()` resets it.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEARNED_FILE = "learned.npz"
MIN_EACH = 3  # positive and negative decisions needed before anything is learnt
RANK = 16  # the projection: 384 -> 16
STEPS = 1500
LEARNING_RATE = 0.05
MARGIN = 1.0
SEED = 0


@dataclass
class LearnedPreferences:
    projection: np.ndarray  # [dim, RANK]
    cutoff: float  # pairs further apart than this in the projected space are not duplicates for this user

    def distances(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm((np.atleast_2d(a) - np.atleast_2d(b)) @ self.projection, axis=1)

    def save(self, folder: Path) -> None:
        tmp = folder / (LEARNED_FILE + ".tmp.npz")
        np.savez(tmp, projection=self.projection, cutoff=np.array(self.cutoff))
        os.replace(tmp, folder / LEARNED_FILE)


def load_preferences(folder: Path) -> LearnedPreferences | None:
    path = folder / LEARNED_FILE
    if not path.exists():
        return None
    with np.load(path) as data:
        return LearnedPreferences(data["projection"], float(data["cutoff"]))


def forget(folder: Path) -> None:
    """Back to the default scoring (the decisions themselves stay: "not duplicates" is still honoured)."""
    (folder / LEARNED_FILE).unlink(missing_ok=True)


def learn(same: list[tuple[str, str]], different: list[tuple[str, str]],
          vector_of: dict[str, np.ndarray]) -> LearnedPreferences | None:
    """From decisions on pairs of contents to preferences. "Same photo" is transitive, so a merge of five
    copies says ten pairs are one photo; and what is "not the same" as one of them is not the same as any:
    the decisions are closed under both before training (contents no longer in the library are left out)."""
    parent: dict[str, str] = {}

    def root(h: str) -> str:
        while parent.setdefault(h, h) != h:
            h = parent[h]
        return h
    for a, b in same:
        parent[root(a)] = root(b)
    classes: dict[str, list[str]] = {}
    for h in {h for pair in same + different for h in pair if h in vector_of}:
        classes.setdefault(root(h), []).append(h)
    positives = [pair for members in classes.values() for pair in itertools.combinations(sorted(members), 2)]
    negatives = {tuple(sorted((x, y))) for a, b in different if a in vector_of and b in vector_of
                 for x in classes[root(a)] for y in classes[root(b)] if root(x) != root(y)}
    return train([(vector_of[a], vector_of[b]) for a, b in positives],
                 [(vector_of[a], vector_of[b]) for a, b in sorted(negatives)])


def train(positives: list[tuple[np.ndarray, np.ndarray]],
          negatives: list[tuple[np.ndarray, np.ndarray]]) -> LearnedPreferences | None:
    """Contrastive loss on the vector differences: positives pulled together, negatives pushed past MARGIN.
    None when there are too few decisions of either kind to learn anything honest."""
    if len(positives) < MIN_EACH or len(negatives) < MIN_EACH:
        return None
    pos = np.stack([a - b for a, b in positives]).astype(np.float64)
    neg = np.stack([a - b for a, b in negatives]).astype(np.float64)
    rng = np.random.default_rng(SEED)
    projection = rng.normal(0, 1 / np.sqrt(pos.shape[1]), (pos.shape[1], RANK))
    for _ in range(STEPS):
        pos_proj, neg_proj = pos @ projection, neg @ projection
        neg_dist = np.linalg.norm(neg_proj, axis=1) + 1e-9
        short = np.maximum(0.0, MARGIN - neg_dist)  # negatives still inside the margin
        # d/dP of sum |pos P|^2  +  sum (margin - |neg P|)^2, averaged per kind
        grad = 2 * pos.T @ pos_proj / len(pos)
        grad -= 2 * neg.T @ (neg_proj * (short / neg_dist)[:, None]) / len(neg)
        projection -= LEARNING_RATE * grad
    pos_d = np.linalg.norm(pos @ projection, axis=1)
    neg_d = np.linalg.norm(neg @ projection, axis=1)
    # halfway between what the user merged and what they set apart, erring towards keeping groups
    cutoff = (float(np.percentile(pos_d, 90)) + float(np.percentile(neg_d, 10))) / 2
    return LearnedPreferences(projection.astype(np.float32), cutoff)
