#!/usr/bin/env python3
"""Generate AUTHENTIC Keras 2 conformance cases with tf-keras (TensorFlow's Keras 2 package).

    bash scripts/setup-tfkeras.sh      # once: .venv-tfkeras (TensorFlow CPU + tf-keras, ~1.3 GB)
    .venv-tfkeras/bin/python tests/conformance/generate/tfkeras_cases.py [--out DIR]

These are the files only Keras 2 writes: list-form `inbound_nodes`, `batch_input_shape`, weight
names ending in `:0`, `keras_version` "2.x", and the legacy weights-only layout at the HDF5 root
from `save_weights('w.h5')`. CI does not install TensorFlow, so the output is committed
(tests/conformance/keras/tfk_*/) and the Rust runner checks the committed files.

Each case builds a small seeded model, gives every variable seeded random values (moving
variances kept positive), writes the whole-model `model.h5` and `model.json` (`to_json()`) plus
`weights.h5` (`save_weights`), RELOADS both with tf-keras, checks the two reloads agree exactly and
stores the reloaded model's `predict`. Layout per case is the one keras_cases.py uses: model
files, `case.json` (files, tolerance, producer), `data.json` (inputs and outputs by name, one row
per sample, each row the tensor flattened row-major).

"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

# tf-keras, not the Keras 3 that `tf.keras` is in TensorFlow 2.16+.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
DEFAULT_OUT = HERE / "keras"
ROWS = 8
TOLERANCE = 1e-5
L = keras.layers


def randomise(model, rng: np.random.Generator) -> None:
    for layer in model.layers:
        new = []
        for v in layer.weights:
            shape = tuple(v.shape)
            if "variance" in v.name:
                new.append(rng.uniform(0.5, 2.0, shape).astype("float32"))
            else:
                new.append(rng.normal(0.0, 0.5, shape).astype("float32"))
        if new:
            layer.set_weights(new)


def case_mlp(rng):
    # No InputLayer of our own: the first layer's `input_shape` becomes `batch_input_shape`, and
    # Keras 2 records an auto-made InputLayer `hidden_input` in the config.
    m = keras.Sequential([
        L.Dense(16, activation="relu", input_shape=(8,), name="hidden"),
        L.Dropout(0.3),
        L.BatchNormalization(),
        L.Dense(8, activation="gelu"),
        L.LayerNormalization(),
        # Keras 2's hard_sigmoid is clip(0.2 x + 0.5), not Keras 3's x/6 + 1/2.
        L.Dense(6, activation="hard_sigmoid"),
        L.Dense(3, activation="softmax", name="probs"),
    ], name="mlp")
    return m, {"hidden_input": rng.normal(size=(ROWS, 8))}


def case_activations(rng):
    x = keras.Input((6,), name="x")
    branches = [L.Dense(4, activation=a, name=f"d_{a}")(x) for a in [
        "linear", "relu", "relu6", "elu", "selu", "gelu", "swish", "sigmoid",
        "hard_sigmoid", "tanh", "softplus", "softsign", "exponential", "softmax"]]
    extra = [
        L.LeakyReLU(alpha=0.1, name="leaky_layer")(x),
        L.ELU(alpha=0.7, name="elu_layer")(x),
        L.ReLU(max_value=6.0, name="relu6_layer")(x),
        L.Activation("hard_sigmoid", name="hard_sigmoid_layer")(x),
        L.Softmax(name="softmax_layer")(x),
    ]
    y = L.Concatenate(name="all")(branches + extra)
    return keras.Model(x, y, name="activations"), {"x": rng.normal(scale=2.0, size=(ROWS, 6))}


def case_two_inputs(rng):
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    shared = L.Dense(4, activation="tanh", name="shared")
    sa, sb = shared(a), shared(b)
    cat = L.Concatenate(name="cat")([sa, sb])
    s = L.Add(name="add")([a, b])
    s = L.Dense(4, activation="selu", name="mix")(s)
    prod = L.Multiply(name="mul")([sa, s])
    diff = L.Subtract(name="sub")([sb, s])
    avg = L.Average(name="avg")([prod, diff, sa])
    mx = L.Maximum(name="max")([prod, diff])
    mn = L.Minimum(name="min")([prod, diff])
    h = L.Concatenate(name="cat2")([cat, avg, mx, mn])
    h = L.LayerNormalization(name="ln")(h)
    p = L.Dense(1, activation="sigmoid", name="p")(h)
    q = L.Dense(2, activation="softplus", name="q")(h)
    return keras.Model([a, b], [p, q], name="two_inputs"), {
        "a": rng.normal(size=(ROWS, 5)), "b": rng.normal(size=(ROWS, 5))}


def case_embedding(rng):
    # A Sequential with its own InputLayer (Keras 2 writes it with `batch_input_shape`).
    m = keras.Sequential([
        keras.Input((6,), name="tokens", dtype="int32"),
        L.Embedding(12, 4, name="emb"),
        L.Dense(3, activation="elu", name="per_step"),  # Dense over the last axis
        L.Flatten(name="flat"),
        L.Reshape((3, 6), name="reshape"),
        L.BatchNormalization(name="bn", center=False),
        L.Permute((2, 1), name="permute"),
        L.Reshape((-1,), name="reshape2"),
        L.Dense(2, name="score", use_bias=False),
        L.RepeatVector(3, name="repeat"),
        L.Flatten(name="flat2"),
    ], name="embedding")
    return m, {"tokens": rng.integers(0, 12, size=(ROWS, 6))}


def case_recurrent(rng):
    t = keras.Input((7,), name="tokens", dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True, name="emb")(t)
    h = L.LSTM(5, return_sequences=True, name="lstm")(e)
    g = L.GRU(3, name="gru")(h)  # reset_after=True, the Keras 2.x default since 2.3
    g2 = L.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", name="gru_v1")(h)
    c = L.Conv1D(4, 3, padding="causal", activation="relu", name="conv")(e)
    c = L.GlobalAveragePooling1D(name="gap")(c)
    y = L.Concatenate(name="cat")([g, g2, c])
    y = L.Dense(2, activation="sigmoid", name="out")(y)
    tokens = rng.integers(1, 10, size=(ROWS, 7))
    for i in range(ROWS):  # trailing padding of varying length, masked by mask_zero
        tokens[i, 7 - (i % 4):] = 0
    return keras.Model(t, y, name="recurrent"), {"tokens": tokens}


CASES = {
    "tfk_mlp_sequential": case_mlp,
    "tfk_activations": case_activations,
    "tfk_two_inputs_two_outputs": case_two_inputs,
    "tfk_embedding_sequential": case_embedding,
    "tfk_recurrent_conv": case_recurrent,
}
# Cases that also get a copy of their weights with fixed-length string attributes.
FIXED_STRINGS = {"tfk_mlp_sequential", "tfk_two_inputs_two_outputs"}


def rows(a) -> list:
    a = np.asarray(a)
    return a.reshape(a.shape[0], -1).astype("float64").tolist()


def endpoints(model) -> tuple[list[str], list[str]]:
    """Input and output names as the saved config states them (what scorewell binds to)."""
    cfg = model.get_config()
    if "input_layers" in cfg:
        return [e[0] for e in cfg["input_layers"]], [e[0] for e in cfg["output_layers"]]
    layers = cfg["layers"]
    return [layers[0]["config"]["name"]], [layers[-1]["config"]["name"]]


def predict(model, ordered):
    pred = model.predict(ordered if len(ordered) > 1 else ordered[0], verbose=0)
    return pred if isinstance(pred, (list, tuple)) else [pred]


def write_fixed_strings(src: Path, dst: Path) -> None:
    """A copy of a legacy weights file whose string attributes are fixed-length NULLPAD arrays
    (what Keras 2 wrote with h5py 2, as in the real files the research read), with
    `layer_names` split into `layer_names0`/`layer_names1` the way Keras splits an attribute
    too large for an object header."""
    import h5py

    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        names = [n.encode() if isinstance(n, str) else n for n in f.attrs["layer_names"]]
        del f.attrs["layer_names"]
        half = len(names) // 2
        f.attrs["layer_names0"] = np.array(names[:half], dtype="S")
        f.attrs["layer_names1"] = np.array(names[half:], dtype="S")
        for n in names:
            g = f[n.decode()]
            w = list(g.attrs["weight_names"])
            if w:
                g.attrs["weight_names"] = np.array([x.encode() if isinstance(x, str) else x for x in w], dtype="S")


def write_damaged(d: Path) -> None:
    """Files for the loader's error tests, made from the case's model.h5:
    `keras1.h5` lacks `keras_version` (how Keras 2 recognises a Keras 1 file), and `huge.h5`'s
    first kernel declares 8 x 2**40 floats (32 TiB) but stores none, so the loader must refuse
    it from the declared shape without allocating."""
    import h5py

    shutil.copy(d / "model.h5", d / "keras1.h5")
    with h5py.File(d / "keras1.h5", "r+") as f:
        del f.attrs["keras_version"]
        del f["model_weights"].attrs["keras_version"]
    shutil.copy(d / "model.h5", d / "huge.h5")
    with h5py.File(d / "huge.h5", "r+") as f:
        del f["model_weights/hidden/hidden/kernel:0"]
        f.create_dataset("model_weights/hidden/hidden/kernel:0", shape=(8, 2**40), dtype="float32",
                         chunks=(1, 1024))


def generate(name: str, build, out: Path) -> None:
    seed = sum(map(ord, name))
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model, inputs = build(rng)
    randomise(model, rng)
    d = out / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    model.save(d / "model.h5")
    (d / "model.json").write_text(model.to_json())
    model.save_weights(d / "weights.h5")
    in_names, out_names = endpoints(model)
    assert sorted(in_names) == sorted(inputs), (in_names, list(inputs))
    # Expected outputs come from the models tf-keras reloads from the saved files, so a saving
    # bug cannot hide behind in-memory state; both reloads must agree exactly.
    reloaded = keras.models.load_model(d / "model.h5")
    ordered = [np.asarray(inputs[n]).astype(i.dtype.name) for n, i in zip(in_names, reloaded.inputs)]
    pred = predict(reloaded, ordered)
    again = keras.models.model_from_json((d / "model.json").read_text())
    again.load_weights(d / "weights.h5")
    for x, y in zip(pred, predict(again, ordered)):
        np.testing.assert_array_equal(x, y)
    files = {
        "h5": {"model": "model.h5"},
        "json_legacy": {"model": "model.json", "weights": "weights.h5"},
    }
    if name in FIXED_STRINGS:
        write_fixed_strings(d / "weights.h5", d / "weights_fixed.h5")
        again.load_weights(d / "weights_fixed.h5")
        for x, y in zip(pred, predict(again, ordered)):
            np.testing.assert_array_equal(x, y)
        files["json_legacy_fixed_strings"] = {"model": "model.json", "weights": "weights_fixed.h5"}
    if name == "tfk_mlp_sequential":
        write_damaged(d)
    data = {
        "inputs": {k: rows(inputs[k]) for k in in_names},
        "outputs": {n: rows(p) for n, p in zip(out_names, pred)},
    }
    (d / "data.json").write_text(json.dumps(data))
    case = {
        "producer": f"tf-keras {keras.__version__} (TensorFlow {tf.__version__})",
        "tolerance": TOLERANCE,
        "files": files,
    }
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    assert keras.__version__.startswith("2."), keras.__version__
    for name, build in CASES.items():
        generate(name, build, args.out)
        print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
