"""The vision model: pictures in, a global vector and patch tokens out."""
from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from simgui.core.media.framing import FRAMING, photo_inside
from simgui.core.media.hashes import file_sha256

PATCH_SCALE = 127.0  # patch tokens are unit vectors stored as int8


class ModelError(Exception):
    pass


@dataclass
class Embeddings:
    vectors: np.ndarray  # [B, D] float32, L2-normalised
    patches: np.ndarray  # [B, 256, P] int8, each token a unit vector times PATCH_SCALE


def model_folder() -> Path:
    """models/ inside the installed package, or next to a frozen executable."""
    override = os.environ.get("SIMGUI_MODEL_DIR")
    if override:
        return Path(override)
    if getattr(sys, "frozen", False):  # the PyInstaller folder (build.spec puts the model there)
        return Path(sys._MEIPASS) / "simgui" / "models"
    return Path(str(resources.files("simgui.models")))


def model_identity(manifest: dict) -> str:
    """What stored vectors and tokens were made with: the model file, and how a picture was framed for it
    (a change to either makes every photo be embedded again). A faster build of a model that gives the very
    same outputs names the file it stands for (`outputs_of`, tools/build_model.py): nothing is embedded again."""
    return f"{manifest['name']}:{manifest.get('outputs_of', manifest['sha256'][:12])}:{FRAMING}"


def runs_at_once() -> int:
    """Model runs at the same time: one a core, at least two. Indexing reads and decodes with as many threads, each
    waiting on its photo's run; each run holds its own working memory (~10 MB)."""
    return max(2, os.cpu_count() or 2)


class EmbeddingModel:
    def __init__(self, folder: Path | None = None, threads: int | None = None):
        folder = folder or model_folder()
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            raise ModelError(f"model manifest not found in {folder}: reinstall simgui")
        self.manifest = json.loads(manifest_path.read_text())
        model_path = folder / self.manifest["file"]
        if not model_path.exists():
            raise ModelError(f"model file {model_path} is missing: reinstall simgui")
        actual = file_sha256(model_path)
        if actual != self.manifest["sha256"]:
            raise ModelError(f"model file {model_path} is damaged (sha256 {actual[:12]}..., "
                             f"expected {self.manifest['sha256'][:12]}...): reinstall simgui")
        import onnxruntime as ort

        options = ort.SessionOptions()
        # half the cores: indexing runs the model on each of its threads (a thread a core, each also decoding), and
        # they share these; a query or a compare has them to itself (the same outputs to the bit at any count)
        options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2) // 2)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle model threads must sleep, not spin: on 2 cores they would steal the decode threads' time
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        self.session = ort.InferenceSession(str(model_path), options, providers=providers)
        spec = self.manifest["input"]
        self.input_name = spec["name"]
        self.size = spec["size"]
        self.mean = np.array(spec["mean"], np.float32) * 255
        self.std = np.array(spec["std"], np.float32) * 255
        self.id = model_identity(self.manifest)
        self.dim = self.manifest["outputs"]["embedding"]["dim"]
        self._runner_pool: ThreadPoolExecutor | None = None
        self._runners_lock = threading.Lock()

    def preprocess(self, picture: Image.Image) -> np.ndarray:
        return self.preprocess_content(photo_inside(picture))

    def preprocess_content(self, content: Image.Image) -> np.ndarray:
        """Model input from the photo inside a picture (framing.photo_inside)."""
        square = content.resize((self.size, self.size), Image.BILINEAR)
        pixels = (np.asarray(square, np.float32) - self.mean) / self.std
        return pixels.transpose(2, 0, 1)

    def run(self, batch: np.ndarray) -> Embeddings:
        """The embeddings of a batch of model inputs, each run on its own: the int8 model quantises its
        activations with one scale for the whole input, so in a batch a photo's tokens hung on the photos
        beside it (3-4.5 % of the signs flipped with the neighbours, the vectors moved by up to 0.004), and
        one photo met in a query, a compare or two indexings got as many answers. One at a time costs
        nothing on the CPU (14 ms a photo, against 14-17 in batches of 16)."""
        # on the model's own threads, every core at once (a query's turned views; the runs release the GIL), and
        # never on the caller's: indexing calls from its decoding threads, daemons that an exit leaves running, and
        # one inside onnxruntime as the process ends aborts it ("terminate called without an active exception");
        # these threads are joined at exit
        outputs = list(self._runners().map(self._run_one, [batch[row:row + 1] for row in range(len(batch))]))
        vectors, patches = (np.concatenate(part) for part in zip(*outputs))
        return Embeddings(vectors.astype(np.float32), np.round(patches * PATCH_SCALE).astype(np.int8))

    def _run_one(self, row: np.ndarray) -> list[np.ndarray]:
        return self.session.run(["embedding", "patches"], {self.input_name: row})

    def _runners(self) -> ThreadPoolExecutor:
        with self._runners_lock:
            if self._runner_pool is None:
                self._runner_pool = ThreadPoolExecutor(runs_at_once(), thread_name_prefix="model")
            return self._runner_pool

    def close(self) -> None:
        """Lets the model's threads go, once their runs are done (a later run starts them again)."""
        with self._runners_lock:
            pool, self._runner_pool = self._runner_pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def patches_where_given(self, inputs: list[np.ndarray | None]) -> list[np.ndarray | None]:
        """The tokens of each model input that is there (a backdrop view: few pictures have one), else None."""
        given = [n for n, i in enumerate(inputs) if i is not None]
        found: list[np.ndarray | None] = [None] * len(inputs)
        if given:
            for n, tokens in zip(given, self.run(np.stack([inputs[n] for n in given])).patches):
                found[n] = tokens
        return found

    def embed(self, pictures: list[Image.Image]) -> Embeddings:
        return self.run(np.stack([self.preprocess(p) for p in pictures]))
