import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import photo, save_edit
from simgui.core.media.decode import decode_file
from simgui.core.media.embed import EmbeddingModel, ModelError, model_folder
from simgui.core.matching.verify import geometric_agreement, match_patches
from simgui.core.storage.tokens import as_unit_tokens


@pytest.fixture(scope="module")
def model():
    return EmbeddingModel()


def embed_files(model, paths):
    return model.embed([decode_file(str(p)).picture for p in paths])


def test_vectors_are_unit_length_and_patches_int8(model):
    emb = embed_files(model, [photo("chelsea"), photo("coffee")])
    assert emb.vectors.shape == (2, model.dim)
    np.testing.assert_allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-4)
    assert emb.patches.dtype == np.int8 and emb.patches.shape == (2, 256, 32)


@pytest.mark.parametrize("edit", ["downscale", "recompress", "crop", "grayscale", "letterbox", "exif_rotation"])
def test_edited_copy_is_closer_than_any_other_photo(model, tmp_path, edit):
    copy = save_edit(photo("astronaut"), tmp_path / "copy.jpg", edit)
    others = [photo(n) for n in ("chelsea", "coffee", "rocket", "hubble_deep_field")]
    emb = embed_files(model, [photo("astronaut"), copy, *others])
    copy_score = emb.vectors[0] @ emb.vectors[1]
    assert copy_score > max(emb.vectors[0] @ emb.vectors[i] for i in range(2, 6))
    tokens = as_unit_tokens(emb.patches)
    copy_agreement = geometric_agreement(tokens[0], tokens[1])
    assert copy_agreement > max(geometric_agreement(tokens[0], tokens[i]) for i in range(2, 6))


def test_agreement_is_deterministic(model, tmp_path):
    copy = save_edit(photo("coffee"), tmp_path / "c.jpg", "crop")
    tokens = as_unit_tokens(embed_files(model, [photo("coffee"), copy]).patches)
    assert geometric_agreement(tokens[0], tokens[1]) == geometric_agreement(tokens[0], tokens[1])


def test_patches_match_the_same_way_whatever_order_their_products_are_summed_in(model, tmp_path):
    """Another CPU's kernel sums a token product in another order: the matches (and so the stored agreements
    and the groups) must not change with it. Permuting the token dimensions of both photos alike changes only
    that order; before similarities were rounded to the sign grid, 52 of 600 pairs of a library matched
    otherwise."""
    copies = [save_edit(photo("astronaut"), tmp_path / f"{edit}.jpg", edit)
              for edit in ("downscale", "recompress", "crop", "grayscale", "letterbox")]
    files = [photo("astronaut"), *copies, photo("chelsea"), photo("coffee"), photo("rocket")]
    tokens = as_unit_tokens(embed_files(model, files).patches)
    order = np.random.default_rng(7).permutation(tokens.shape[-1])
    shuffled = np.ascontiguousarray(tokens[..., order])
    for a in range(len(files)):
        for b in range(a + 1, len(files)):
            as_summed, reordered = match_patches(tokens[a], tokens[b]), match_patches(shuffled[a], shuffled[b])
            assert reordered.transform == as_summed.transform, (files[a], files[b])
            np.testing.assert_array_equal(reordered.agreeing, as_summed.agreeing)


def test_a_photo_gets_the_same_embedding_whatever_photos_share_its_batch(model):
    """The int8 model quantises its activations with one scale for its whole input: in a batch, a photo's
    tokens hung on its neighbours (a query, a compare and an indexing of one photo disagreed)."""
    alone = embed_files(model, [photo("chelsea")])
    among_others = embed_files(model, [photo("hubble_deep_field"), photo("chelsea"), photo("rocket")])
    assert np.array_equal(alone.vectors[0], among_others.vectors[1])
    assert np.array_equal(alone.patches[0], among_others.patches[1])


def test_the_model_gives_the_outputs_of_the_build_it_names(model):
    """A faster build names the build whose outputs it reproduces, and libraries keep the vectors that one
    stored: it must give them (what that build gave, kept in tests/data)."""
    named = model.manifest["outputs_of"]
    expected = np.load(Path(__file__).parent / "data" / f"model_outputs_{named}.npz")
    emb = embed_files(model, [photo("chelsea"), photo("coffee"), photo("rocket")])
    assert (emb.vectors * expected["vectors"]).sum(1).min() > 0.9999
    stored_signs = np.unpackbits(expected["signs"], axis=-1).astype(bool)
    assert ((emb.patches >= 0) == stored_signs).mean() > 0.999


def test_damaged_model_file_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(model_folder(), folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="damaged"):
        EmbeddingModel(folder)


def test_missing_model_is_refused(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        EmbeddingModel(tmp_path)


EXIT_DURING_A_RUN = """
import sys, threading, time
import numpy as np
from simgui.core.media.embed import EmbeddingModel
model = EmbeddingModel()
pixels = np.zeros((1, 3, model.size, model.size), np.float32)
running = threading.Event()
def embed_forever():
    while True:
        running.set()
        model.run(pixels)
threading.Thread(target=embed_forever, daemon=True).start()
running.wait()
time.sleep(0.3)
sys.exit(3)
"""


def test_a_process_that_ends_while_a_daemon_thread_embeds_exits_with_its_own_status():
    """Indexing embeds on its decoding threads, daemons: a run that fails (a full disk) ends its process while they
    embed, and a thread inside onnxruntime as the process ended aborted it (SIGABRT, "terminate called without an
    active exception"), in place of the error the user is told."""
    for _ in range(3):
        ended = subprocess.run([sys.executable, "-c", EXIT_DURING_A_RUN], capture_output=True, text=True, timeout=120)
        assert ended.returncode == 3, ended.stderr[-2000:]
        assert "terminate called" not in ended.stderr
