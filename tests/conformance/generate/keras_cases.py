#!/usr/bin/env python3
"""Generate the Keras 3 conformance cases.

    .venv-keras/bin/python tests/conformance/generate/keras_cases.py [--out DIR]

Each case builds a small seeded Keras 3 model, gives every variable seeded random values
(BatchNormalization's moving variance kept positive), saves it as a `.keras` archive (and, for
some, as `to_json()` + `save_weights`), RELOADS the saved files with Keras and stores the
reloaded model's `predict` on seeded inputs. Layout per case: model files, `case.json`
(files, tolerance, producer version), `data.json` (inputs and outputs by name, one row per
sample, each row the tensor flattened row-major).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_cases_legacy  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "keras"
ROWS = 16
# f32 through different GEMM orders: relative 1e-5 (on |expected| + 1) is the stated bar.
TOLERANCE = 1e-5


def randomise(model: keras.Model, rng: np.random.Generator) -> None:
    for layer in model.layers:
        new = []
        for v in layer.weights:
            shape = tuple(v.shape)
            if "variance" in v.path:
                new.append(rng.uniform(0.5, 2.0, shape).astype("float32"))
            else:
                new.append(rng.normal(0.0, 0.5, shape).astype("float32"))
        if new:
            layer.set_weights(new)


def case_mlp(rng):
    m = keras.Sequential([
        keras.Input((8,), name="features"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(8, activation="gelu"),
        keras.layers.LayerNormalization(),
        keras.layers.Dense(3, activation="softmax"),
    ], name="mlp")
    return m, {"features": rng.normal(size=(ROWS, 8))}


def case_activations(rng):
    x = keras.Input((6,), name="x")
    branches = [keras.layers.Dense(4, activation=a, name=f"d_{a}")(x) for a in [
        "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "sigmoid",
        "hard_sigmoid", "tanh", "softplus", "softsign", "exponential", "softmax"]]
    extra = [
        keras.layers.LeakyReLU(negative_slope=0.1, name="leaky_layer")(x),
        keras.layers.ELU(alpha=0.7, name="elu_layer")(x),
        keras.layers.ReLU(max_value=6.0, name="relu6_layer")(x),
        keras.layers.Activation("tanh", name="tanh_layer")(x),
        keras.layers.Softmax(name="softmax_layer")(x),
    ]
    y = keras.layers.Concatenate(name="all")(branches + extra)
    return keras.Model(x, y, name="activations"), {"x": rng.normal(scale=2.0, size=(ROWS, 6))}


def case_two_inputs(rng):
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    sa, sb = shared(a), shared(b)
    cat = keras.layers.Concatenate(name="cat")([sa, sb])
    s = keras.layers.Add(name="add")([a, b])
    s = keras.layers.Dense(4, activation="selu", name="mix")(s)
    prod = keras.layers.Multiply(name="mul")([sa, s])
    diff = keras.layers.Subtract(name="sub")([sb, s])
    avg = keras.layers.Average(name="avg")([prod, diff, sa])
    mx = keras.layers.Maximum(name="max")([prod, diff])
    mn = keras.layers.Minimum(name="min")([prod, diff])
    h = keras.layers.Concatenate(name="cat2")([cat, avg, mx, mn])
    h = keras.layers.LayerNormalization(name="ln")(h)
    p = keras.layers.Dense(1, activation="sigmoid", name="p")(h)
    q = keras.layers.Dense(2, activation="softplus", name="q")(h)
    return keras.Model([a, b], [p, q], name="two_inputs"), {
        "a": rng.normal(size=(ROWS, 5)), "b": rng.normal(size=(ROWS, 5))}


def case_embedding(rng):
    t = keras.Input((6,), name="tokens", dtype="int32")
    e = keras.layers.Embedding(12, 4, name="emb")(t)
    h = keras.layers.Dense(3, activation="elu", name="per_step")(e)  # Dense over the last axis
    h = keras.layers.Flatten(name="flat")(h)
    h = keras.layers.Reshape((3, 6), name="reshape")(h)
    h = keras.layers.BatchNormalization(name="bn", center=False)(h)
    h = keras.layers.Permute((2, 1), name="permute")(h)  # (3, 6) -> (6, 3)
    h = keras.layers.Reshape((-1,), name="reshape2")(h)
    y = keras.layers.Dense(1, name="score", use_bias=False)(h)
    r = keras.layers.RepeatVector(3, name="repeat")(y)
    r = keras.layers.Permute((2, 1), name="permute2")(r)
    r = keras.layers.Flatten(name="flat2")(r)
    return keras.Model(t, [y, r], name="embedding"), {"tokens": rng.integers(0, 12, size=(ROWS, 6))}


CASES = {
    "mlp_sequential": (case_mlp, ["keras", "json"]),
    "activations": (case_activations, ["keras"]),
    "two_inputs_two_outputs": (case_two_inputs, ["keras", "json"]),
    "embedding_reshape": (case_embedding, ["keras"]),
}
from keras_cases_conv import CASES as _CONV_CASES  # noqa: E402
from keras_cases_recurrent import CASES as _RECURRENT  # noqa: E402

CASES.update(_RECURRENT)
CASES.update(_CONV_CASES)
CASES.update(keras_cases_legacy.CASES)


def write_huge(d: Path) -> None:
    """A weights file whose first kernel declares 8 x 2**40 floats (32 TiB) but stores none:
    the loader must refuse it from the declared shape, without allocating."""
    import h5py

    shutil.copy(d / "model.weights.h5", d / "huge.weights.h5")
    with h5py.File(d / "huge.weights.h5", "r+") as f:
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=(8, 2**40), dtype="float32", chunks=(1, 1024))


def rows(a) -> list:
    a = np.asarray(a)
    return a.reshape(a.shape[0], -1).astype("float64").tolist()


def generate(name: str, out: Path) -> None:
    build, formats = CASES[name]
    seed = sum(map(ord, name))
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model, inputs = build(rng)
    randomise(model, rng)
    d = out / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    files = {}
    model.save(d / "model.keras")
    files["keras"] = {"model": "model.keras"}
    if "json" in formats:
        (d / "model.json").write_text(model.to_json())
        model.save_weights(d / "model.weights.h5")
        files["json"] = {"model": "model.json", "weights": "model.weights.h5"}
    # Expected outputs come from the model Keras reloads from the saved file, so a saving bug
    # cannot hide behind in-memory state.
    reloaded = keras.models.load_model(d / "model.keras")
    ordered = [np.asarray(inputs[i.name]).astype(i.dtype) for i in reloaded.inputs]
    pred = reloaded.predict(ordered if len(ordered) > 1 else ordered[0], verbose=0)
    if not isinstance(pred, (list, tuple)):
        pred = [pred]
    # Outputs are named after their layers (a Sequential model's last layer).
    ends = reloaded.get_config().get("output_layers") or [[reloaded.layers[-1].name, 0, 0]]
    out_names = [ends[0]] if isinstance(ends[0], str) else [e[0] for e in ends]
    if "json" in formats:
        again = keras.models.model_from_json((d / "model.json").read_text())
        again.load_weights(d / "model.weights.h5")
        again_pred = again.predict(ordered if len(ordered) > 1 else ordered[0], verbose=0)
        again_pred = again_pred if isinstance(again_pred, (list, tuple)) else [again_pred]
        for x, y in zip(pred, again_pred):
            np.testing.assert_array_equal(x, y)
    keras_cases_legacy.save(model, d, formats, files, ordered, pred)
    if name == "mlp_sequential":
        write_huge(d)
    data = {
        "inputs": {k: rows(v) for k, v in inputs.items()},
        "outputs": {n: rows(p) for n, p in zip(out_names, pred)},
    }
    (d / "data.json").write_text(json.dumps(data))
    case = {"producer": f"keras {keras.__version__} ({keras.backend.backend()})",
            "tolerance": TOLERANCE, "files": files}
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    for name in CASES:
        generate(name, args.out)
        print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
