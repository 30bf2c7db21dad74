"""A map of the library: every distinct photo placed in 2-D so that look-alikes sit together.

PCA first (to 50 dimensions: t-SNE's own advice, and it drops the noise), then
t-SNE from scikit-learn, seeded, so the same library always draws the same
map. Copies of one photo land on top of each other; near-duplicate clusters
are visible at a glance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from simgui.core.storage.store import LibraryStore

PCA_DIMENSIONS = 50
SEED = 0


@dataclass
class MapPoint:
    content_hash: str
    path: str  # one file holding this content (the first by path)
    x: float  # in [0, 1]
    y: float


def layout(vectors: np.ndarray) -> np.ndarray:
    """[N, dim] unit vectors -> [N, 2] positions in [0, 1]."""
    n = len(vectors)
    if n < 4:  # t-SNE needs a few points; a handful lie on a line
        return np.column_stack([np.linspace(0, 1, n) if n > 1 else np.full(n, 0.5), np.full(n, 0.5)])
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    reduced = PCA(n_components=min(PCA_DIMENSIONS, n - 1, vectors.shape[1]), random_state=SEED).fit_transform(vectors)
    xy = TSNE(n_components=2, perplexity=min(30.0, (n - 1) / 3), init="pca", random_state=SEED,
              metric="cosine").fit_transform(reduced)
    low, high = xy.min(0), xy.max(0)
    return (xy - low) / np.maximum(high - low, 1e-9)


class MapSource(Protocol):
    """What the map reads of a library: its stored vectors and files."""
    store: LibraryStore
    model_id: str
    dim: int


def library_map(library: MapSource) -> list[MapPoint]:
    labels, vectors, hashes = library.store.vectors(library.model_id, library.dim)
    files = library.store.images_by_hash(hashes)
    live = [i for i, h in enumerate(hashes) if files.get(h)]  # contents only the trash holds are left out
    xy = layout(vectors[live])
    return [MapPoint(hashes[i], files[hashes[i]][0].path, float(x), float(y)) for i, (x, y) in zip(live, xy)]
