"""Shared helpers for the conformance-case generators.

A *case* is a folder holding a model file written by the real library, an
``input.parquet`` with the model's features and an ``expected.parquet`` with the
library's own predictions (see ../README.md for the contract).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO_ROOT / "tests" / "conformance" / "cases"


def major_minor(version: str) -> str:
    parts = version.split(".")
    return f"{parts[0]}_{parts[1]}"


# --------------------------------------------------------------------------
# Input data: columns with explicit Arrow types and explicit null masks.
# --------------------------------------------------------------------------
@dataclass
class Data:
    """Feature columns in model order.

    ``cols`` maps feature name -> numpy array (float64 / int64 / int32 / bool).
    ``nulls`` maps feature name -> bool mask of parquet NULLs (missing values).
    ``cats`` maps categorical feature name -> number of categories used in training.
    NaN inside a float column stays NaN in parquet (it is NOT written as NULL).
    """

    cols: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray] = field(default_factory=dict)
    cats: dict[str, int] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.cols)

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.cols.values())))

    def to_arrow(self) -> pa.Table:
        arrays = []
        for name, values in self.cols.items():
            mask = self.nulls.get(name)
            arrays.append(pa.array(values, mask=mask, from_pandas=False))
        return pa.Table.from_arrays(arrays, names=self.names)

    def float_matrix(self) -> np.ndarray:
        """All columns as float64, NULL -> NaN (what the libraries call 'missing')."""
        out = np.empty((self.n_rows, len(self.cols)), dtype=np.float64)
        for j, (name, values) in enumerate(self.cols.items()):
            col = values.astype(np.float64)
            mask = self.nulls.get(name)
            if mask is not None:
                col = col.copy()
                col[mask] = np.nan
            out[:, j] = col
        return out

    def float_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.float_matrix(), columns=self.names)

    def typed_frame(self) -> pd.DataFrame:
        """pandas frame keeping int/bool dtypes (where no NULLs) and categorical
        columns as pandas category with categories 0..K-1 (so code == value)."""
        frame = {}
        fm = self.float_matrix()
        for j, (name, values) in enumerate(self.cols.items()):
            has_null = name in self.nulls and self.nulls[name].any()
            if name in self.cats:
                k = self.cats[name]
                v = fm[:, j]
                # codes outside 0..K-1 cannot be held by pandas: they become missing (-1)
                ok = ~np.isnan(v) & (v >= 0) & (v < k)
                codes = np.where(ok, np.nan_to_num(v), -1).astype(np.int64)
                frame[name] = pd.Categorical.from_codes(codes, categories=list(range(k)))
            elif values.dtype.kind in "iub" and not has_null:
                frame[name] = values
            else:
                frame[name] = fm[:, j]
        return pd.DataFrame(frame)

    def head(self, n: int) -> "Data":
        return Data(
            {k: v[:n] for k, v in self.cols.items()},
            {k: v[:n] for k, v in self.nulls.items()},
            dict(self.cats),
        )


def concat_data(a: Data, b: Data) -> Data:
    cols = {k: np.concatenate([a.cols[k], b.cols[k]]) for k in a.cols}
    nulls = {}
    for k in set(a.nulls) | set(b.nulls):
        ma = a.nulls.get(k, np.zeros(a.n_rows, bool))
        mb = b.nulls.get(k, np.zeros(b.n_rows, bool))
        nulls[k] = np.concatenate([ma, mb])
    return Data(cols, nulls, dict(a.cats))


def numeric_data(rng: np.random.Generator, n: int, names: list[str]) -> Data:
    return Data({name: rng.normal(size=n) for name in names})


def sprinkle_nan(rng: np.random.Generator, data: Data, frac: float, names: list[str] | None = None) -> Data:
    cols = dict(data.cols)
    for name in names or data.names:
        v = cols[name].astype(np.float64).copy()
        v[rng.random(len(v)) < frac] = np.nan
        cols[name] = v
    return Data(cols, dict(data.nulls), dict(data.cats))


def sprinkle_null(rng: np.random.Generator, data: Data, frac: float, names: list[str]) -> Data:
    nulls = dict(data.nulls)
    for name in names:
        m = rng.random(data.n_rows) < frac
        nulls[name] = nulls.get(name, np.zeros(data.n_rows, bool)) | m
    return Data(dict(data.cols), nulls, dict(data.cats))


def add_inf_rows(data: Data, float_names: list[str]) -> Data:
    """Append rows where each float feature in turn is +inf / -inf (others from row 0..)."""
    rows = []
    base = data.head(1)
    for name in float_names:
        for val in (np.inf, -np.inf):
            r = Data({k: v.copy() for k, v in base.cols.items()}, {k: v.copy() for k, v in base.nulls.items()}, dict(data.cats))
            r.cols[name] = r.cols[name].astype(np.float64)
            r.cols[name][0] = val
            rows.append(r)
    # all-(+inf) and all-(-inf) rows over the float features
    for val in (np.inf, -np.inf):
        r = Data({k: v.copy() for k, v in base.cols.items()}, {k: v.copy() for k, v in base.nulls.items()}, dict(data.cats))
        for name in float_names:
            r.cols[name] = r.cols[name].astype(np.float64)
            r.cols[name][0] = val
        rows.append(r)
    out = data
    for r in rows:
        out = concat_data(out, r)
    return out


# --------------------------------------------------------------------------
# Seeded synthetic training data and labels, shared by the case generators.
# --------------------------------------------------------------------------
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def xy(seed: int, nf: int = 5, n_train: int = 300, n_test: int = 200, names=None):
    """Train/test numeric data plus a latent signal z for the train rows."""
    names = names or [f"f{i}" for i in range(nf)]
    r = rng(seed)
    train = numeric_data(r, n_train, names)
    test = numeric_data(r, n_test, names)
    m = train.float_matrix()
    w = r.normal(size=len(names))
    z = m @ w / np.sqrt(len(names)) + 0.5 * np.sin(2 * m[:, 0]) + 0.3 * m[:, 1] * m[:, -1]
    return train, test, np.nan_to_num(z), r


def binary_labels(z, r):
    return (z + 0.3 * r.normal(size=len(z)) > 0).astype(np.float64)


def multiclass_labels(train: Data, r, k):
    m = np.nan_to_num(train.float_matrix())
    w = r.normal(size=(m.shape[1], k))
    return np.argmax(m @ w + 0.3 * r.normal(size=(len(m), k)), axis=1).astype(np.float64)


def rank_labels(z, r, t):
    q = np.quantile(z, [0.4, 0.7, 0.9])
    return np.searchsorted(q, z + 0.3 * r.normal(size=len(z))).astype(float)


def mixed_dtypes_data(seed: int = 23) -> tuple[Data, Data, np.ndarray]:
    """Train/test data with float64, int64, int32 and bool columns, and binary train labels."""
    r = rng(seed)

    def mk(n):
        return Data({
            "amount": r.lognormal(3, 1, n),
            "age": r.integers(18, 90, n).astype(np.int64),
            "visits": r.integers(0, 20, n).astype(np.int32),
            "is_member": r.random(n) < 0.4,
            "score": r.normal(size=n),
        })

    train, test = mk(300), mk(200)
    m = train.float_matrix()
    z = 0.5 * np.log(m[:, 0]) - 0.03 * m[:, 1] + 0.1 * m[:, 2] + m[:, 3] + m[:, 4]
    y = (z - np.median(z) + 0.3 * r.normal(size=300) > 0).astype(float)
    return train, test, y


# --------------------------------------------------------------------------
# Case registry and writer
# --------------------------------------------------------------------------
@dataclass
class CaseSpec:
    name: str
    producer: str
    fn: Callable[[Path], dict]


REGISTRY: list[CaseSpec] = []


def register(producer: str, version: str, suffix: str):
    name = f"{producer}_{major_minor(version)}_{suffix}"

    def deco(fn):
        REGISTRY.append(CaseSpec(name, producer, fn))
        return fn

    return deco


def expected_columns(pred: np.ndarray, margin: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for label, arr in (("prediction", pred), ("margin", margin)):
        arr = np.asarray(arr)
        if arr.ndim == 1:
            out[label] = arr.astype(np.float64)
        elif arr.ndim == 2 and arr.shape[1] == 1:
            out[label] = arr[:, 0].astype(np.float64)
        else:
            assert arr.ndim == 2, arr.shape
            for k in range(arr.shape[1]):
                out[f"{label}_{k}"] = arr[:, k].astype(np.float64)
    return out


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_case(
    case_dir: Path,
    *,
    description: str,
    producer: str,
    producer_version: str,
    model: str,
    data: Data,
    expected: dict[str, np.ndarray] | None,
    rtol: float,
    atol: float,
    tol_comment: str,
    expect_error: str = "",
    notes: list[str] | None = None,
) -> dict:
    case_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(data.to_arrow(), case_dir / "input.parquet", compression="zstd")
    lines = [
        f"description = {toml_str(description)}",
        f"producer = {toml_str(producer)}",
        f"producer_version = {toml_str(producer_version)}",
        f"model = {toml_str(model)}",
        f'input = "input.parquet"',
    ]
    if expected is not None:
        table = pa.Table.from_arrays(
            [pa.array(v.astype(np.float64), type=pa.float64(), from_pandas=False) for v in expected.values()],
            names=list(expected),
        )
        assert table.num_rows == data.n_rows
        pq.write_table(table, case_dir / "expected.parquet", compression="zstd")
        lines.append('expected = "expected.parquet"')
    lines.append(f"# {tol_comment}")
    lines.append(f"rtol = {rtol!r}")
    lines.append(f"atol = {atol!r}")
    lines.append(f"expect_error = {toml_str(expect_error)}")
    for note in notes or []:
        lines.append(f"# note: {note}")
    (case_dir / "case.toml").write_text("\n".join(lines) + "\n")
    return {
        "rows": data.n_rows,
        "features": len(data.cols),
        "outputs": ",".join(expected) if expected else "-",
        "error": expect_error,
    }


def reset_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
