"""Keras 3 conformance cases for convolutions, pools and step-axis layers (merged into
keras_cases.CASES). Sizes are odd where it matters so that `same` padding puts its extra cell at
the end, which is where implementations that split the padding evenly go wrong.

Each builder takes a seeded numpy Generator and returns (model, inputs by name).
"""
from __future__ import annotations

import keras

ROWS = 6
L = keras.layers


def case_conv1d(rng):
    x = keras.Input((13, 4), name="signal")
    # The Conv1D + BatchNorm shape, with `same` padding and pooling.
    a = L.Conv1D(6, 3, padding="same", activation="relu", name="same")(x)
    a = L.BatchNormalization(name="bn")(a)
    a = L.MaxPooling1D(2, padding="same", name="max_same")(a)  # 13 -> 7
    a = L.Conv1D(4, 2, strides=2, name="strided_valid")(a)  # 7 -> 3
    a = L.Dense(2, name="head")(L.Flatten(name="flat")(a))
    # Causal with dilation; average pool with `same` padding, 1 cell before and 2 after.
    b = L.Conv1D(5, 3, padding="causal", dilation_rate=2, use_bias=False, activation="tanh",
                 name="causal")(x)
    b = L.AveragePooling1D(4, strides=2, padding="same", name="avg_same")(b)  # 13 -> 7
    b = L.Conv1D(4, 4, strides=3, padding="same", name="same_strided")(b)  # 7 -> 3
    # Grouped and dilated, then valid pools.
    c = L.Conv1D(4, 3, dilation_rate=3, padding="same", groups=2, name="dilated_grouped")(x)
    c = L.AveragePooling1D(2, name="avg")(c)  # 13 -> 6
    c = L.MaxPooling1D(3, strides=1, name="max_overlap")(c)  # 6 -> 4
    d = L.Conv1D(3, 4, dilation_rate=2, activation="sigmoid", name="valid_dilated")(x)  # 13 -> 7
    return keras.Model(x, [a, b, c, d], name="conv1d"), {"signal": rng.normal(size=(ROWS, 13, 4))}


def case_conv2d(rng):
    x = keras.Input((9, 7, 2), name="image")
    a = L.Conv2D(4, (3, 2), padding="same", activation="relu", name="same")(x)
    a = L.MaxPooling2D((2, 2), padding="same", name="max_same")(a)  # (9, 7) -> (5, 4)
    a = L.Conv2D(3, (2, 3), strides=(2, 1), name="strided_valid")(a)  # -> (2, 2)
    a = L.GlobalAveragePooling2D(name="gap")(a)
    b = L.Conv2D(3, 3, dilation_rate=(2, 1), padding="same", name="dilated_same")(x)
    b = L.AveragePooling2D((3, 2), strides=(2, 2), padding="same", name="avg_same")(b)
    b = L.GlobalMaxPooling2D(keepdims=True, name="gmp")(b)
    c = L.Conv2D(2, 2, strides=2, padding="same", use_bias=False, name="strided_same")(x)
    c = L.AveragePooling2D(2, name="avg")(c)  # (5, 4) -> (2, 2)
    c = L.Flatten(name="flat")(c)
    e = L.Conv2D(4, 2, strides=(1, 2), padding="same", groups=2, activation="tanh",
                 name="grouped")(x)  # (9, 7) -> (9, 4)
    e = L.MaxPooling2D((3, 2), strides=(2, 1), name="max_valid")(e)  # -> (4, 3)
    return keras.Model(x, [a, b, c, e], name="conv2d"), {"image": rng.normal(size=(ROWS, 9, 7, 2))}


def case_steps(rng):
    x = keras.Input((5, 3), name="steps")
    a = L.ZeroPadding1D((1, 2), name="pad")(x)  # 5 -> 8
    a = L.Conv1D(4, 3, activation="elu", name="conv")(a)  # 8 -> 6
    a = L.Cropping1D((2, 1), name="crop")(a)  # 6 -> 3
    a = L.UpSampling1D(3, name="up")(a)  # 3 -> 9
    a = L.Conv1D(2, 2, strides=2, padding="same", name="conv_same")(a)  # 9 -> 5
    b = L.ZeroPadding1D(2, name="pad_sym")(x)
    b = L.Cropping1D(1, name="crop_sym")(b)
    b = L.UpSampling1D(name="up_default")(b)
    b = L.Flatten(name="flat")(b)
    return keras.Model(x, [a, b], name="steps"), {"steps": rng.normal(size=(ROWS, 5, 3))}


CASES = {
    "conv1d_batchnorm_pools": (case_conv1d, ["keras", "json"]),
    "conv2d_pools": (case_conv2d, ["keras"]),
    "steps_pad_crop_upsample": (case_steps, ["keras"]),
}
