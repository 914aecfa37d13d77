"""Keras-3-written legacy files, merged into keras_cases.py's CASES.

Keras 3 still writes the legacy whole-model HDF5 layout for `model.save("x.h5")` (root
`model_config`, `model_weights/<layer>/<weight name>` with `layer_names`/`weight_names`
attributes), but with Keras 3 configs (dict-form `inbound_nodes`, `batch_shape`) and weight names
without `:0`. Its `save_weights` only writes the new `.weights.h5` layout, so the legacy
weights-only file (`json_legacy`) is written with Keras's own legacy writer,
`legacy_h5_format.save_weights_to_hdf5_group`, the function `model.save("x.h5")` uses for its
`model_weights` group.

Formats added here: `h5` (model.h5) and `json_legacy` (model.json + legacy_weights.h5). Both are
reloaded by Keras and must predict exactly what the `.keras` reload predicts.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
from keras.src.legacy.saving import legacy_h5_format

ROWS = 16


def case_legacy_mlp(rng):
    m = keras.Sequential([
        keras.Input((7,), name="features"),
        keras.layers.Dense(12, activation="relu", name="hidden"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dropout(0.2, name="drop"),
        # Keras 3's hard_sigmoid (x/6 + 1/2): the version attribute must select it.
        keras.layers.Dense(6, activation="hard_sigmoid", name="gate"),
        keras.layers.LayerNormalization(name="ln"),
        keras.layers.Dense(2, activation="softmax", name="probs"),
    ], name="legacy_mlp")
    return m, {"features": rng.normal(size=(ROWS, 7))}


def case_legacy_two_inputs(rng):
    a = keras.Input((4,), name="left")
    b = keras.Input((3,), name="right")
    shared = keras.layers.Dense(5, activation="tanh", name="shared")
    pa = keras.layers.Dense(5, name="proj_a")(a)
    sa, sb = shared(pa), shared(keras.layers.Dense(5, name="proj_b")(b))
    s = keras.layers.Add(name="add")([sa, sb])
    m = keras.layers.Multiply(name="mul")([sa, sb])
    h = keras.layers.Concatenate(name="cat")([s, m])
    h = keras.layers.LayerNormalization(name="ln")(h)
    p = keras.layers.Dense(1, activation="sigmoid", name="p")(h)
    q = keras.layers.Dense(3, activation="softmax", name="q")(h)
    return keras.Model([a, b], [p, q], name="legacy_two_inputs"), {
        "left": rng.normal(size=(ROWS, 4)), "right": rng.normal(size=(ROWS, 3))}


CASES = {
    "keras3_legacy_h5_mlp": (case_legacy_mlp, ["keras", "h5", "json_legacy"]),
    "keras3_legacy_h5_two_inputs": (case_legacy_two_inputs, ["keras", "h5", "json_legacy"]),
}


def _predict(model, ordered):
    pred = model.predict(ordered if len(ordered) > 1 else ordered[0], verbose=0)
    return pred if isinstance(pred, (list, tuple)) else [pred]


def save(model, d: Path, formats, files: dict, ordered, pred) -> None:
    """Writes the legacy formats a case asks for, reloads each with Keras and checks it predicts
    exactly `pred` (the `.keras` reload's outputs)."""
    if "h5" in formats:
        model.save(d / "model.h5")
        files["h5"] = {"model": "model.h5"}
        again = keras.models.load_model(d / "model.h5")
        for x, y in zip(pred, _predict(again, ordered)):
            np.testing.assert_array_equal(x, y)
    if "json_legacy" in formats:
        (d / "model.json").write_text(model.to_json())
        with h5py.File(d / "legacy_weights.h5", "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, model)
        files["json_legacy"] = {"model": "model.json", "weights": "legacy_weights.h5"}
        again = keras.models.model_from_json((d / "model.json").read_text())
        # Keras 3's load_weights only takes `.weights.h5` names, so call its legacy reader
        # directly, as `load_weights` does for a legacy file.
        with h5py.File(d / "legacy_weights.h5", "r") as f:
            legacy_h5_format.load_weights_from_hdf5_group(f, again)
        for x, y in zip(pred, _predict(again, ordered)):
            np.testing.assert_array_equal(x, y)
