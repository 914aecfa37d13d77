"""Recurrent layers and Keras masks: the cases `keras_cases.py` merges into its CASES.

Token inputs hold padding (id 0) at the end, at the start and in the middle of rows, and one
row of padding only, so every masked path (state carried over a masked step, the previous
output repeated, Bidirectional's zeroed outputs, the average over used steps) is exercised.
"""
from __future__ import annotations

import keras
import numpy as np

L = keras.layers
ROWS = 10
STEPS = 7
VOCAB = 20


def tokens(rng, rows=ROWS, steps=STEPS, vocab=VOCAB, empty_row=True):
    t = rng.integers(1, vocab, size=(rows, steps))
    t[0, 5:] = 0  # padded at the end
    t[1, :3] = 0  # padded at the start (pad_sequences' default)
    t[2, 2] = 0  # a hole in the middle
    t[2, 4] = 0
    t[3, 1:6] = 0
    t[4, -1] = 0
    if empty_row:
        t[5, :] = 0  # nothing but padding
    return t


def case_lstm_masked(rng):
    t = keras.Input((STEPS,), dtype="int32", name="tokens")
    e = L.Embedding(VOCAB, 5, mask_zero=True, name="emb")(t)
    seq = L.LSTM(4, return_sequences=True, name="lstm_seq")(e)
    h = L.Dense(3, activation="tanh", name="per_step")(seq)  # carries the mask
    h = L.Dropout(0.2, name="drop")(h)
    last = L.LSTM(3, name="lstm_last")(h)
    y = L.Dense(1, activation="sigmoid", name="p")(last)
    return keras.Model(t, [seq, y], name="lstm_masked"), {"tokens": tokens(rng)}


def case_lstm_sequential(rng):
    m = keras.Sequential([
        keras.Input((STEPS,), dtype="int32", name="tokens"),
        L.Embedding(VOCAB, 6, mask_zero=True),
        L.LSTM(5, recurrent_activation="hard_sigmoid", activation="relu", use_bias=False),
        L.Dense(2, activation="softmax"),
    ], name="lstm_sequential")
    return m, {"tokens": tokens(rng)}


def case_gru(rng):
    t = keras.Input((STEPS,), dtype="int32", name="tokens")
    e = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(t)
    a = L.GRU(3, reset_after=True, return_sequences=True, name="gru_after")(e)
    b = L.GRU(3, reset_after=False, return_sequences=True, name="gru_before")(e)
    c = L.GRU(2, reset_after=False, use_bias=False, recurrent_activation="hard_sigmoid", name="gru_nobias")(e)
    d = L.GRU(2, reset_after=True, go_backwards=True, activation="softsign", name="gru_back")(e)
    return keras.Model(t, [a, b, c, d], name="gru"), {"tokens": tokens(rng)}


def case_simple_rnn(rng):
    x = keras.Input((STEPS, 3), name="x")
    a = L.SimpleRNN(4, go_backwards=True, return_sequences=True, name="back_seq")(x)
    b = L.SimpleRNN(4, go_backwards=True, name="back_last")(x)
    m = L.Masking(mask_value=0.0, name="masking")(x)
    c = L.SimpleRNN(3, go_backwards=True, return_sequences=True, activation="relu", name="masked_back")(m)
    d = L.SimpleRNN(3, name="masked_fwd")(m)
    data = rng.normal(size=(ROWS, STEPS, 3))
    data[0, 5:] = 0.0
    data[1, :2] = 0.0
    data[2, 3] = 0.0
    data[3, 2, 0] = 0.0  # one zero feature: not masked
    return keras.Model(x, [a, b, c, d], name="simple_rnn"), {"x": data}


def _bidirectional(rng, rnn, name):
    t = keras.Input((STEPS,), dtype="int32", name="tokens")
    e = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(t)
    outs = [
        L.Bidirectional(rnn(3, return_sequences=True), merge_mode="concat", name="bi_concat")(e),
        L.Bidirectional(rnn(3, return_sequences=True), merge_mode="sum", name="bi_sum")(e),
        L.Bidirectional(rnn(3), merge_mode="mul", name="bi_mul")(e),
        L.Bidirectional(rnn(3), merge_mode="ave", name="bi_ave")(e),
    ]
    x = keras.Input((STEPS, 2), name="x")  # no mask
    outs.append(L.Bidirectional(rnn(2, return_sequences=True), name="bi_plain")(x))
    data = rng.normal(size=(ROWS, STEPS, 2))
    return keras.Model([t, x], outs, name=name), {"tokens": tokens(rng), "x": data}


def case_bidirectional_lstm(rng):
    return _bidirectional(rng, L.LSTM, "bidirectional_lstm")


def case_bidirectional_gru(rng):
    return _bidirectional(rng, L.GRU, "bidirectional_gru")


def case_time_distributed(rng):
    x = keras.Input((STEPS, 4), name="x")
    m = L.Masking(mask_value=-1.0, name="masking")(x)
    td = L.TimeDistributed(L.Dense(3, activation="relu"), name="td")(m)
    h = L.LSTM(4, return_sequences=True, name="lstm")(td)
    td2 = L.TimeDistributed(L.Dense(2), name="td2")(h)
    data = rng.normal(size=(ROWS, STEPS, 4))
    data[0, 4:] = -1.0
    data[2, 1] = -1.0
    data[3, :3] = -1.0
    return keras.Model(x, td2, name="time_distributed"), {"x": data}


def case_global_pooling(rng):
    t = keras.Input((STEPS,), dtype="int32", name="tokens")
    e = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(t)
    h = L.Dense(3, name="per_step")(e)
    avg = L.GlobalAveragePooling1D(name="avg")(h)
    mx = L.GlobalMaxPooling1D(name="max")(h)  # Keras ignores the mask here
    avg_k = L.GlobalAveragePooling1D(keepdims=True, name="avg_keep")(e)
    x = keras.Input((3, 5), name="x")
    cf = L.GlobalAveragePooling1D(data_format="channels_first", name="avg_cf")(x)
    cfm = L.GlobalMaxPooling1D(data_format="channels_first", keepdims=True, name="max_cf")(x)
    return keras.Model([t, x], [avg, mx, avg_k, cf, cfm], name="global_pooling"), {
        "tokens": tokens(rng, empty_row=False), "x": rng.normal(size=(ROWS, 3, 5))}


def case_mask_merges(rng):
    a = keras.Input((STEPS,), dtype="int32", name="a")
    b = keras.Input((STEPS,), dtype="int32", name="b")
    x = keras.Input((STEPS, 4), name="x")
    ea = L.Embedding(VOCAB, 4, mask_zero=True, name="emb_a")(a)
    eb = L.Embedding(VOCAB, 4, mask_zero=True, name="emb_b")(b)
    s = L.Add(name="add")([ea, eb])  # mask: a OR b
    p = L.LSTM(3, name="after_add")(s)
    c = L.Concatenate(name="cat_features")([ea, x])  # x has no mask: all steps used
    q = L.GRU(3, name="after_cat")(c)
    ct = L.Concatenate(axis=1, name="cat_time")([ea, eb])  # masks concatenated in time
    r = L.SimpleRNN(3, return_sequences=True, name="after_cat_time")(ct)
    ta, tb = tokens(rng), tokens(rng)
    tb[:, ::2] = np.where(tb[:, ::2] == 0, 3, 0)
    return keras.Model([a, b, x], [p, q, r], name="mask_merges"), {
        "a": ta, "b": tb, "x": rng.normal(size=(ROWS, STEPS, 4))}


CASES = {
    "lstm_masked": (case_lstm_masked, ["keras", "json"]),
    "lstm_sequential_masked": (case_lstm_sequential, ["keras", "json"]),
    "gru_reset_after_and_before": (case_gru, ["keras", "json"]),
    "simple_rnn_go_backwards": (case_simple_rnn, ["keras"]),
    "bidirectional_lstm": (case_bidirectional_lstm, ["keras", "json"]),
    "bidirectional_gru": (case_bidirectional_gru, ["keras"]),
    "time_distributed_masking": (case_time_distributed, ["keras"]),
    "global_pooling_1d_masked": (case_global_pooling, ["keras"]),
    "mask_merges": (case_mask_merges, ["keras"]),
}
