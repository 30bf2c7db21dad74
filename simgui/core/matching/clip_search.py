"""Clips through the model, and the questions asked of them: a clip's signature made from its frames (indexing
and a query make it alike), a clip against the library's clips (query, compare), and a photo against the
frames of the library's clips (the clips a photo was taken from).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from simgui.core.matching.clips import SIMILAR_SCENE, ClipMatch, ClipSignature, compare_clips, signatures_of
from simgui.core.matching.rule import Kind
from simgui.core.media.embed import EmbeddingModel
from simgui.core.media.framing import content_box, photo_inside
from simgui.core.media.video import ClipFrames, read_clip
from simgui.core.storage.store import THUMB_SIDE, ClipFrameSet, ImageRecord, LibraryStore

MODEL_BATCH = 16  # frames a model run takes at once


@dataclass
class ClipInput:
    """A clip's frames ready for the model: made on a decode thread, run through the model on another."""
    times: np.ndarray
    pixels: np.ndarray  # [F, 3, S, S]
    blank: np.ndarray
    thumbs: np.ndarray  # each frame's picture inside any bars, in grey, THUMB_SIDE square
    aspect: float  # that picture's width / height


def clip_input(model: EmbeddingModel, clip: ClipFrames) -> ClipInput:
    boxes = _bars_of(clip)
    contents = [photo_inside(p, box) for p, box in zip(clip.pictures, boxes)]
    box = boxes[0]
    thumbs = [np.asarray(c.convert("L").resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR), np.uint8) for c in contents]
    return ClipInput(np.array(clip.times), np.stack([model.preprocess_content(c) for c in contents]),
                     np.array(clip.blank), np.stack(thumbs), (box[2] - box[0]) / max(1, box[3] - box[1]))


def _bars_of(clip: ClipFrames) -> list[tuple[int, int, int, int]]:
    """The picture inside a letterbox's bars, one box for the whole clip (bars do not move), in each frame's
    pixels: the median of its frames' own (framing.content_box), as shares of their sides (a stream may change
    its frame size), as a dark scene or a caption at the bottom can pass for a bar in a frame."""
    shown = [p for p, blank in zip(clip.pictures, clip.blank) if not blank] or clip.pictures[:1]
    shares = np.median([np.array(content_box(p)) / (p.width, p.height, p.width, p.height) for p in shown], axis=0)
    return [tuple(int(round(v)) for v in shares * (p.width, p.height, p.width, p.height)) for p in clip.pictures]


def sign(model: EmbeddingModel, frames: ClipInput) -> ClipFrameSet:
    """The clip's signature: the model's vector of each frame."""
    vectors = np.concatenate([model.run(frames.pixels[start:start + MODEL_BATCH]).vectors
                              for start in range(0, len(frames.pixels), MODEL_BATCH)])
    return ClipFrameSet(frames.times, vectors, frames.blank, frames.thumbs, frames.aspect)


class ClipSource(Protocol):
    store: LibraryStore
    model_id: str
    dim: int

    @property
    def model(self) -> EmbeddingModel: ...


def signature_of(library: ClipSource, path: str, content: str) -> ClipSignature:
    """A clip's signature as the library stores it (so a query and `groups` use the very same numbers), or
    read and signed now when the library does not hold it. DecodeError when it cannot be read."""
    stored = library.store.clip_signatures(library.model_id, library.dim, [content])
    if content in stored:
        files = library.store.images_by_hash([content]).get(content) or []
        return signatures_of(stored, {content: files[0].duration} if files else {})[0]
    clip = read_clip(path)
    return ClipSignature(content, clip.info.duration, sign(library.model, clip_input(library.model, clip)))


def library_clips(library: ClipSource) -> tuple[list[ClipSignature], dict[str, list[ImageRecord]]]:
    """Every clip the library's files hold, with those files."""
    stored = library.store.clip_signatures(library.model_id, library.dim)
    files = {c: images for c, images in library.store.images_by_hash(stored).items() if images}
    return signatures_of({c: stored[c] for c in files}, {c: images[0].duration for c, images in files.items()}), files


def clips_like_clip(library: ClipSource, query: ClipSignature) -> list[tuple[ImageRecord, ClipMatch]]:
    """The library's clips that are the query's copies or takes of its scene, the closest first."""
    signatures, files = library_clips(library)
    found = [(compare_clips(query, s), s.content) for s in signatures]
    found = [(m, c) for m, c in found if m.kind is not Kind.DIFFERENT]
    found.sort(key=lambda mc: (list(Kind).index(mc[0].kind), -mc[0].coverage, -mc[0].scene))
    return [(image, match) for match, content in found for image in files[content]]


def clips_showing(library: ClipSource, vectors: np.ndarray) -> list[list[tuple[ImageRecord, float]]]:
    """For each photo (its model vector), the library's clips with a frame like it, the closest first: `similar`
    at most, as a still is never the same file as a clip."""
    signatures, files = library_clips(library)
    answers = []
    for vector in vectors:
        found = []
        for s in signatures:
            match = photo_against_clip(s, vector)
            if match.kind is Kind.SIMILAR:
                found += [(image, match.scene) for image in files[s.content]]
        answers.append(sorted(found, key=lambda pair: -pair[1]))
    return answers


def photo_against_clip(signature: ClipSignature, vector: np.ndarray) -> ClipMatch:
    """A photo and a clip: how close the photo is to the clip's likest frame."""
    best = float((signature.vectors[signature.seen] @ vector).max())
    return ClipMatch(Kind.SIMILAR if best >= SIMILAR_SCENE else Kind.DIFFERENT, 0.0, round(best, 4))
