#!/usr/bin/env python3
"""Generate the ONNX conformance cases.

    .venv-onnx/bin/python tests/conformance/generate/onnx_cases.py [--out DIR] [--only NAME,...]

Venv: `bash scripts/setup-onnx.sh` (onnx, onnxruntime, TensorFlow 2.15 CPU + tf2onnx, pinned in
requirements-onnx.txt). Each case writes `model.onnx`, `case.json` (producer, tolerance, and for
a graph scorewell must refuse the text its error must contain) and `data.json` (inputs and ONNX
Runtime's outputs by ONNX name, one row per sample, each row the tensor flattened row-major).
Cases: small tf.keras models exported by tf2onnx, and graphs built with onnx.helper. PyTorch
exports are made by torch_onnx_cases.py, in a venv of their own (.venv-torch).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "onnx"
ROWS = 8
# f32 through different kernels (tract vs ONNX Runtime): relative 1e-5 on |expected| + 1.
TOLERANCE = 1e-5
OPSET = 13


def init(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array, name)


def f32(rng: np.random.Generator, *shape: int, scale: float = 0.5) -> np.ndarray:
    return rng.normal(0.0, scale, shape).astype(np.float32)


def finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx.helper"
    )
    # ONNX Runtime 1.32 reads IR versions up to 10; pin it so the file does not depend on
    # the onnx package's default.
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def case_gemm_mlp(rng):
    """Gemm (transB) + Relu + MatMul + Add + Sigmoid, and a second output through Softmax."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])
    score = helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])
    probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="dense1", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("MatMul", ["a1", "w2"], ["m2"], name="matmul2"),
        helper.make_node("Add", ["m2", "b2"], ["z2"], name="add2"),
        helper.make_node("Sigmoid", ["z2"], ["score"], name="sigmoid"),
        helper.make_node("MatMul", ["a1", "w3"], ["z3"], name="matmul3"),
        helper.make_node("Softmax", ["z3"], ["probs"], name="softmax", axis=-1),
    ]
    inits = [
        init("w1", f32(rng, 10, 6)), init("b1", f32(rng, 10)),
        init("w2", f32(rng, 10, 1)), init("b2", f32(rng, 1)),
        init("w3", f32(rng, 10, 3)),
    ]
    g = helper.make_graph(nodes, "gemm_mlp", [x], [score, probs], inits)
    return finish(g), {"x": rng.normal(size=(ROWS, 6)).astype(np.float32)}


def case_conv_pool_concat(rng):
    """Two inputs: Conv (pads, bias) + Relu + MaxPool + Flatten on a [N, 2, 16] signal,
    Concat with a [N, 5] vector, then Gemm to one output of 3 values."""
    sig = helper.make_tensor_value_info("signal", TensorProto.FLOAT, ["N", 2, 16])
    vec = helper.make_tensor_value_info("extra", TensorProto.FLOAT, ["N", 5])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("Conv", ["signal", "cw", "cb"], ["c"], name="conv",
                         kernel_shape=[3], pads=[1, 1], strides=[1]),
        helper.make_node("Relu", ["c"], ["cr"], name="conv_relu"),
        helper.make_node("MaxPool", ["cr"], ["p"], name="pool", kernel_shape=[2], strides=[2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Concat", ["f", "extra"], ["cat"], name="concat", axis=1),
        helper.make_node("Gemm", ["cat", "w", "b"], ["y"], name="head"),
    ]
    inits = [
        init("cw", f32(rng, 4, 2, 3)), init("cb", f32(rng, 4)),
        init("w", f32(rng, 4 * 8 + 5, 3)), init("b", f32(rng, 3)),
    ]
    g = helper.make_graph(nodes, "conv_pool_concat", [sig, vec], [out], inits)
    return finish(g), {
        "signal": rng.normal(size=(ROWS, 2, 16)).astype(np.float32),
        "extra": rng.normal(size=(ROWS, 5)).astype(np.float32),
    }


def case_int64_embedding(rng):
    """int64 token ids through Gather (an embedding table) and ReduceMean."""
    ids = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["N", 5])
    out = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("Gather", ["table", "tokens"], ["e"], name="embedding", axis=0),
        helper.make_node("ReduceMean", ["e"], ["pooled"], name="mean", axes=[1], keepdims=0),
    ]
    g = helper.make_graph(nodes, "int64_embedding", [ids], [out], [init("table", f32(rng, 12, 3))])
    return finish(g), {"tokens": rng.integers(0, 12, size=(ROWS, 5)).astype(np.int64)}


def lstm_graph(rng, name: str, direction: str):
    """X [N, T, F] -> Transpose to ONNX's [T, N, F] -> LSTM -> last hidden state [N, dirs*H].
    (ONNX Runtime's CPU LSTM does not take layout=1, so the batch axis is moved by hand.)"""
    t, f, h = 4, 3, 5
    dirs = 2 if direction == "bidirectional" else 1
    x = helper.make_tensor_value_info("seq", TensorProto.FLOAT, ["N", t, f])
    out = helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", dirs * h])
    nodes = [
        helper.make_node("Transpose", ["seq"], ["xt"], name="time_major", perm=[1, 0, 2]),
        helper.make_node("LSTM", ["xt", "W", "R", "B"], ["", "yh"], name="lstm",
                         hidden_size=h, direction=direction),
        # Y_h is [dirs, N, H]: batch first, then the directions side by side.
        helper.make_node("Transpose", ["yh"], ["yht"], name="batch_major", perm=[1, 0, 2]),
        helper.make_node("Flatten", ["yht"], ["h"], name="flatten", axis=1),
    ]
    inits = [
        init("W", f32(rng, dirs, 4 * h, f)), init("R", f32(rng, dirs, 4 * h, h)),
        init("B", f32(rng, dirs, 8 * h)),
    ]
    g = helper.make_graph(nodes, name, [x], [out], inits)
    return finish(g), {"seq": rng.normal(size=(ROWS, t, f)).astype(np.float32)}


def case_lstm_forward(rng):
    return lstm_graph(rng, "lstm_forward", "forward")


def case_lstm_bidirectional(rng):
    return lstm_graph(rng, "lstm_bidirectional", "bidirectional")


def case_refused_lstm_reverse(rng):
    model, inputs = lstm_graph(rng, "lstm_reverse", "reverse")
    return model, inputs, 'node `lstm` (LSTM): direction="reverse" is not supported'


def case_refused_reverse_sequence(rng):
    """ReverseSequence: an op tract does not implement (tf2onnx emits it for go_backwards)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    lens = helper.make_tensor_value_info("lens", TensorProto.INT64, ["N"])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    nodes = [helper.make_node("ReverseSequence", ["x", "lens"], ["y"], name="flip",
                              batch_axis=0, time_axis=1)]
    g = helper.make_graph(nodes, "reverse_sequence", [x, lens], [out])
    inputs = {
        "x": rng.normal(size=(ROWS, 4)).astype(np.float32),
        "lens": rng.integers(1, 5, size=(ROWS,)).astype(np.int64),
    }
    return finish(g), inputs, "node `flip`: op type `ReverseSequence` is not supported"


def tf_export(model, signature):
    """tf.keras model -> ONNX through tf2onnx (imported here: TensorFlow is slow to import)."""
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec((None, *shape), tf.float32, name=name) for name, shape in signature]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=15)
    return proto


def tf_seed(rng):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(int(rng.integers(0, 2**31)))
    return tf


def case_tf_mlp(rng):
    tf = tf_seed(rng)
    inp = tf.keras.Input((8,), name="features")
    h = tf.keras.layers.Dense(16, activation="relu")(inp)
    h = tf.keras.layers.BatchNormalization()(h)
    h = tf.keras.layers.Dense(8, activation="tanh")(h)
    out = tf.keras.layers.Dense(3, activation="softmax", name="probs")(h)
    m = tf.keras.Model(inp, out)
    # Non-trivial batch-norm statistics, so folding them is tested.
    bn = m.layers[2]
    bn.set_weights([w + rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in bn.get_weights()])
    return tf_export(m, [("features", (8,))]), {
        "features": rng.normal(size=(ROWS, 8)).astype(np.float32)
    }


def case_tf_conv1d(rng):
    tf = tf_seed(rng)
    inp = tf.keras.Input((20, 4), name="series")
    h = tf.keras.layers.Conv1D(8, 3, padding="same", activation="relu")(inp)
    h = tf.keras.layers.MaxPooling1D(2)(h)
    h = tf.keras.layers.Conv1D(6, 3, dilation_rate=2, activation="relu")(h)
    h = tf.keras.layers.GlobalAveragePooling1D()(h)
    out = tf.keras.layers.Dense(1, activation="sigmoid", name="score")(h)
    m = tf.keras.Model(inp, out)
    return tf_export(m, [("series", (20, 4))]), {
        "series": rng.normal(size=(ROWS, 20, 4)).astype(np.float32)
    }


CASES = {
    "gemm_mlp": case_gemm_mlp,
    "conv_pool_concat": case_conv_pool_concat,
    "int64_embedding": case_int64_embedding,
    "lstm_forward": case_lstm_forward,
    "lstm_bidirectional": case_lstm_bidirectional,
    "refused_lstm_reverse": case_refused_lstm_reverse,
    "refused_reverse_sequence": case_refused_reverse_sequence,
    "tf_mlp": case_tf_mlp,
    "tf_conv1d": case_tf_conv1d,
}


def rows(a: np.ndarray) -> list:
    return a.reshape(a.shape[0], -1).tolist()


def write_case(out: Path, name: str, build) -> None:
    # Seeded by the name (hash() is salted per process).
    rng = np.random.default_rng(sum(map(ord, name)))
    built = build(rng)
    model, inputs = built[0], built[1]
    refused = built[2] if len(built) > 2 else None
    d = out / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "model.onnx").write_bytes(model.SerializeToString())
    producer = f"{model.producer_name} {model.producer_version}".strip()
    case = {
        "producer": producer,
        "expected_by": f"onnxruntime {ort.__version__}",
        "tolerance": TOLERANCE,
        "files": {"onnx": {"model": "model.onnx"}},
    }
    data = {"inputs": {k: rows(v) for k, v in inputs.items()}}
    if refused is not None:
        case["refused"] = refused
    else:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        # A graph exported for a fixed number of rows is run that many rows at a time.
        fixed = sess.get_inputs()[0].shape[0]
        step = fixed if isinstance(fixed, int) and fixed > 0 else ROWS
        parts = [
            sess.run(names, {k: v[i : i + step] for k, v in inputs.items()})
            for i in range(0, ROWS, step)
        ]
        got = [np.concatenate([p[j] for p in parts]) for j in range(len(names))]
        data["outputs"] = {n: rows(np.asarray(v, dtype=np.float64)) for n, v in zip(names, got)}
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    (d / "data.json").write_text(json.dumps(data) + "\n")
    print(f"{name}: {producer}{' (refused)' if refused else ''}")


def main(cases: dict | None = None) -> None:
    """Writes `cases` (default: this file's) under --out, or only those --only names."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name, build in (CASES if cases is None else cases).items():
        if not only or name in only:
            write_case(args.out, name, build)


if __name__ == "__main__":
    main()
