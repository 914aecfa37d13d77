"""Score trained machine-learning models natively, with the same engine as the ``scorewell`` CLI.

>>> import scorewell
>>> scorer = scorewell.load("model.json")          # XGBoost JSON/UBJSON, LightGBM model.txt, bundles
>>> scored = scorer.score(df)                      # pandas in, pandas out (pyarrow in, pyarrow out)

The scoring itself happens in Rust with the GIL released; Arrow data crosses into Rust and back
without being copied. A :class:`Scorer` pickles as its model bytes, and unpickling builds nothing
until first use; every copy in one process shares one built model (see :func:`build_count`), so
Spark can broadcast a scorer to its executors cheaply (:mod:`scorewell.spark`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union, cast, overload

import numpy as np
import pyarrow as pa

from . import _scorewell
from . import bundle
from ._scorewell import ModelLoadError, SchemaError, ScorewellError, UnsupportedModelError
from .neighbors import AnnoyIndex

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AnnoyIndex",
    "ModelLoadError",
    "ModelSource",
    "SchemaError",
    "Scorer",
    "ScorewellError",
    "UnsupportedModelError",
    "build_count",
    "bundle",
    "load",
]

__version__: str = _scorewell.__version__

#: What :func:`load` accepts: a path to a model file or bundle, or its bytes.
ModelSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def load(
    source: ModelSource,
    *,
    output_margin: bool = False,
    format: str | None = None,
    lazy: bool = False,
    sha256: str | None = None,
    weights: ModelSource | None = None,
) -> Scorer:
    """Load a model file or bundle into a :class:`Scorer`.

    Args:
        source: a path (``str`` or :class:`pathlib.Path`) to an XGBoost JSON/UBJSON model, a
            LightGBM ``model.txt`` or a scorewell bundle, or the file's bytes; or a URL
            (``s3://``, ``gs://``, ``az://``, ``http(s)://``, optionally ending in
            ``#sha256=<hex>``), fetched into the local cache and revalidated by ETag
            (docs/SOURCES.md).
        output_margin: append raw margins (``margin``, ``margin_<k>``) instead of predictions,
            like XGBoost's ``output_margin=True`` and LightGBM's ``raw_score=True``.
        format: force a format by name (e.g. ``"xgboost-json"``) instead of detecting it.
        lazy: keep only the bytes and build the model on first use; load errors then surface
            at first use instead of here.
        sha256: refuse the model unless its file hashes to this (64 hex digits, ``sha256:``
            optional); checked before it is parsed. Only for a path or URL.
        weights: the weights file (path or bytes) of a Keras architecture JSON given as
            ``source`` (``model.to_json()`` + ``save_weights``, Keras 2 or 3 layout). The two
            are packed into one ``.keras`` archive, so the scorer pickles as one blob and is
            built once per process like any other.

    Returns:
        A scorer; cheap to pickle (its bytes), safe to share between threads.

    Raises:
        ModelLoadError: the file cannot be read or parsed (the message names the file).
        UnsupportedModelError: the model uses something scorewell does not score, or its
            format is not recognised.
        TypeError: ``source`` is neither a path nor bytes.
    """
    if weights is not None:
        if sha256 is not None:
            raise TypeError("sha256= pins one file; with weights= check both files yourself")
        archive = _scorewell.keras_archive(_read(source), _read(weights))
        native = _scorewell.NativeScorer.from_bytes(archive, "model.keras", output_margin, format)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if sha256 is not None:
            raise TypeError("sha256= pins a path or URL; check bytes yourself (hashlib.sha256)")
        native = _scorewell.NativeScorer.from_bytes(bytes(source), None, output_margin, format)
    elif isinstance(source, (str, os.PathLike)):
        native = _scorewell.NativeScorer.from_path(
            os.fspath(source), output_margin, format, sha256
        )
    else:
        raise TypeError(
            f"scorewell.load() takes a path or bytes, not {type(source).__name__}"
        )
    if not lazy:
        native.build()
    return Scorer(native)


def _read(source: ModelSource) -> bytes:
    """The bytes of a path or of a bytes-like object (the parts of a Keras JSON + weights pair)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        with open(os.fspath(source), "rb") as f:
            return f.read()
    raise TypeError(f"scorewell.load() takes a path or bytes, not {type(source).__name__}")


def build_count() -> int:
    """How many models this process has built from bytes.

    Every :class:`Scorer` with the same bytes, file name and options shares one built model per
    process, so after scoring with many unpickled copies of one scorer this goes up by exactly
    one. Built models are never evicted: they live until the process exits.
    """
    return _scorewell.build_count()


def _unpickle(data: bytes, file_name: str | None, output_margin: bool, format: str | None) -> Scorer:
    # Builds nothing: the model is built (or found in the process cache) on first use.
    return Scorer(_scorewell.NativeScorer.from_bytes(data, file_name, output_margin, format))


class Scorer:
    """A loaded model: scores pandas DataFrames and pyarrow Tables/RecordBatches.

    Output is the input's columns followed by ``prediction`` (or ``prediction_0 …`` for
    multiclass and multi-quantile models; ``margin…`` with ``output_margin=True``), equal to
    the original library's ``predict()`` and bit-identical to ``scorewell score``.

    Make one with :func:`load`. Pickling stores the model bytes only.
    """

    __slots__ = ("_native", "_columns")

    def __init__(self, native: _scorewell.NativeScorer) -> None:
        self._native = native
        # (inputs, numeric inputs, outputs), asked of the native side once: each ask builds
        # lists.
        self._columns: tuple[list[str], frozenset[str], list[str]] | None = None

    @property
    def inputs(self) -> list[str]:
        """The columns the model reads, in the model's order (builds the model if lazy)."""
        return list(self._input_columns()[0])

    def _input_columns(self) -> tuple[list[str], frozenset[str], list[str]]:
        if self._columns is None:
            n = self._native
            self._columns = (n.inputs(), frozenset(n.numeric_inputs()), n.outputs())
        return self._columns

    def _score_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        # Only the appended columns cross back from Rust (importing the inputs back into
        # pyarrow cost more than scoring a row); they are appended to the batch held here,
        # whose columns are the caller's own arrays.
        schema = batch.schema
        if any(schema.get_all_field_indices(name) for name in self._input_columns()[2]):
            return self._native.score_batch(batch)  # an output name is taken: its error
        out = self._native.score_appended(batch)
        if out.num_rows != batch.num_rows:
            return out  # a stage dropped rows: the whole scored batch came back
        for i in range(out.num_columns):
            batch = batch.append_column(out.schema.field(i), out.column(i))
        return batch

    @property
    def outputs(self) -> list[str]:
        """The columns scoring appends, e.g. ``["prediction"]`` (builds the model if lazy)."""
        return self._native.outputs()

    @property
    def digest(self) -> str:
        """The sha256 of the model bytes (lowercase hex).

        With the file name and the load options it keys the per-process cache of built models,
        whose entries live until the process exits.
        """
        return self._native.digest

    @property
    def output_margin(self) -> bool:
        """Whether scoring appends raw margins instead of predictions."""
        return self._native.output_margin

    @overload
    def score(self, data: pd.DataFrame) -> pd.DataFrame: ...
    @overload
    def score(self, data: pa.Table) -> pa.Table: ...
    @overload
    def score(self, data: pa.RecordBatch) -> pa.RecordBatch: ...
    @overload
    def score(self, data: Any) -> Any: ...

    def score(self, data: Any) -> Any:
        """Score ``data`` and return the same kind of object with the output columns appended.

        Args:
            data: a :class:`pandas.DataFrame`, a :class:`pyarrow.Table` or a
                :class:`pyarrow.RecordBatch` (or any object speaking the Arrow PyCapsule
                interface). Columns are found by name; other columns pass through. Integer,
                float and boolean columns are accepted; null and NaN are missing values.
                Categorical features take integer codes, or category names when the model
                stores them. A pandas ``category`` column reads as its values; where the model
                stores names, as ``str()`` of each value (LightGBM's pandas behaviour: a
                category the model never saw is missing).

        Returns:
            The input plus output columns: a DataFrame (same index) for a DataFrame, a Table
            for a Table, a RecordBatch for a RecordBatch.

        Raises:
            SchemaError: a model input is missing, has a type the model cannot read, holds
                values of mixed types (pandas ``object`` columns), or an output name is taken.
                The message names the column.
            TypeError: ``data`` is not a DataFrame or Arrow data.
        """
        if isinstance(data, pa.RecordBatch):
            return self._score_batch(data)
        if isinstance(data, pa.Table):
            batches = data.to_batches()
            if len(batches) == 1:
                return pa.Table.from_batches([self._score_batch(batches[0])])
            return self._native.score_table(data)
        if _is_pandas(data):
            return self._score_pandas(data)
        if hasattr(data, "__arrow_c_stream__"):
            return self._native.score_table(data)
        if hasattr(data, "__arrow_c_array__"):
            return self._native.score_batch(data)
        raise TypeError(
            "Scorer.score() takes a pandas.DataFrame, pyarrow.Table or pyarrow.RecordBatch, "
            f"not {type(data).__name__}"
        )

    def score_one(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """Score one row given as a dict of input values; returns a dict of the outputs.

        >>> scorer.score_one({"amount": 12.5, "country": "NL", "hour": None})
        {'fraud_probability': 0.06, 'decision': 'allow'}

        The fast path for online scoring: the row goes straight into the engine, with no
        pandas or pyarrow object built, and scores exactly as the same row in a DataFrame does.

        Args:
            row: the model's inputs by name (:attr:`inputs`); other keys are ignored. A missing
                key, ``None`` and a float NaN are missing values. Numeric inputs take ``int``,
                ``float``, ``bool`` and NumPy scalars; others also take ``str`` (category names,
                text) and lists (vectors, flattened row-major when nested).

        Returns:
            The output columns (:attr:`outputs`) by name: ``float``, ``int``, ``str``, ``bool``
            or ``list`` (an ML vector as its dense values); ``None`` for a missing output value.
            ``None`` instead of a dict when the pipeline drops the row (a Spark stage with
            ``handleInvalid="skip"`` meeting an unseen value).

        Raises:
            SchemaError: a value of a type its input cannot take (the message names the key),
                or the model's own column checks, as :meth:`score` raises them.
        """
        if type(row) is not dict:
            if not isinstance(row, Mapping):
                raise TypeError(f"score_one() takes a dict, not {type(row).__name__}")
            row = dict(row)
        return self._native.score_one(row)

    def score_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Score a list of dict rows at once (one batch); returns a list of output dicts.

        The list lines up with ``rows``: a row the pipeline drops is ``None``.

        Each row is read as in :meth:`score_one`; a key's values must share one type across the
        rows (``int`` and ``float`` mix, as in pandas). Faster per row than calling
        :meth:`score_one` in a loop.

        Raises:
            SchemaError: as :meth:`score_one`, or a key holding values of mixed types.
            TypeError: ``rows`` is not a sequence of dicts.
        """
        if type(rows) is not list:
            rows = list(rows)
        if any(type(r) is not dict for r in rows):
            rows = [dict(r) if isinstance(r, Mapping) else r for r in rows]
        return self._native.score_rows(cast("list[dict[str, Any]]", rows))

    def predict(self, X: Any, columns: Sequence[str] | None = None) -> Any:
        """Score a NumPy array of rows; returns NumPy.

        >>> scorer.predict(X)                     # X: rows × inputs, in the order of `inputs`
        array([0.061, 0.734, ...])

        Args:
            X: a 2-D array (rows × columns) of float64 or float32, C or Fortran order; a 1-D
                array is one row. Integer and boolean arrays are read as float64; anything
                array-like goes through ``numpy.asarray``. A Fortran-ordered array is scored
                without being copied. NaN is a missing value. The GIL is released while scoring.
            columns: the array's column names. Without it the columns are the model's required
                inputs in the order of :attr:`inputs`, and the width must match.

        Returns:
            One output column (``prediction``): a 1-D array, a value per row. Several float
            outputs (``prediction_0 …`` of a multiclass model): a 2-D array, a row per input
            row. Other output sets (e.g. a probability and a label): a dict of 1-D arrays by
            output name. Floats are float64 (NaN for a missing value); strings are object
            arrays.

        Raises:
            SchemaError: the width does not match, or a named column has the wrong type for
                its input (a model reading category names cannot take a float array).
            TypeError: ``X`` cannot be read as a numeric array.
        """
        try:
            # The common case (a float64/float32 ndarray, 1-D or 2-D) goes straight to the
            # native call, which checks the rest; anything else is converted below.
            return self._native.predict(X, columns)
        except TypeError:
            if type(X) is np.ndarray and X.dtype in _FLOATS and X.ndim not in (1, 2):
                raise
            if isinstance(columns, str):
                raise TypeError("columns= takes a list of names, not one string") from None
        X = np.asarray(X)
        if X.dtype not in _FLOATS:
            if X.dtype.kind not in "biuf":
                raise TypeError(
                    f"predict() takes a numeric array; got dtype {X.dtype} (score a "
                    "DataFrame or use score_rows() for strings)"
                )
            X = X.astype(np.float64)
        return self._native.predict(X, None if columns is None else [str(c) for c in columns])

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The schema :meth:`score` returns for input of ``schema``.

        Checks every model input's presence and type exactly as scoring does, so a bad column is
        reported before any data is read.

        Raises:
            SchemaError: as :meth:`score`.
        """
        return self._native.output_schema(schema)

    def model_bytes(self) -> bytes:
        """The model file's (or bundle's) bytes, as loaded."""
        return self._native.model_bytes()

    def __reduce__(self) -> tuple[Any, ...]:
        n = self._native
        return (_unpickle, (n.model_bytes(), n.file_name, n.output_margin, n.format))

    def __repr__(self) -> str:
        kind = "margins" if self.output_margin else "predictions"
        return f"<scorewell.Scorer {self._native.file_name or '<bytes>'} {kind} sha256={self.digest[:12]}>"

    def _score_pandas(self, df: pd.DataFrame) -> pd.DataFrame:
        # Only the model's inputs cross into Arrow; the other columns stay as they are.
        import pandas as pd

        inputs, numeric, _ = self._input_columns()
        if df.columns.is_unique and len(df.columns) and len(set(df.dtypes.tolist())) == 1:
            # All one float dtype (the usual feature frame): the frame's values as one array
            # through the NumPy path, skipping pyarrow's per-column pandas conversion, which
            # costs milliseconds for a one-row frame of 50 columns. Same batch, same scores.
            if df.dtypes.iloc[0] in _FLOATS:
                names = [str(c) for c in df.columns]
                new = self._native.predict(df.to_numpy(), names, True)
                if new is not None:
                    return _append(df, new)
        present = [name for name in inputs if name in df.columns]
        batch = self._pandas_batch(df, present, numeric)
        try:
            out = self._native.score_appended(batch)
        except SchemaError:
            # Report against every column of the frame, as the CLI reports against a file's.
            self._check_frame_schema(df, batch.schema)
            raise
        if out.num_rows != batch.num_rows:
            # A stage dropped rows (Spark's handleInvalid="skip"): score again with row
            # numbers carried through, and keep those rows of the frame.
            numbered = batch.append_column(_ROW_NUMBER, pa.array(np.arange(batch.num_rows)))
            scored = self._native.score_batch(numbered)
            df = df.iloc[scored.column(_ROW_NUMBER).to_numpy()]
            out = scored.select(scored.schema.names[numbered.num_columns :])
        new = {name: out.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(out.schema.names)}
        if any(name in df.columns for name in new):
            self._check_frame_schema(df, batch.schema)  # an output name the frame already has
        return _append(df, new)

    def _pandas_batch(self, df: pd.DataFrame, present: list[str], numeric: frozenset[str]) -> pa.RecordBatch:
        import pandas as pd

        arrays: dict[str, pa.Array] = {}
        for name in present:
            column = df[name]
            if isinstance(column, pd.DataFrame):
                raise SchemaError(f"column `{name}` appears more than once in the DataFrame")
            try:
                if isinstance(column.dtype, pd.CategoricalDtype):
                    arrays[name] = _category_array(column, by_name=name not in numeric)
                elif isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufO":
                    # What pa.Array.from_pandas does for NumPy-backed columns, without its
                    # per-call pandas bookkeeping (several times the cost for one row).
                    arrays[name] = pa.array(column.to_numpy(), from_pandas=True)
                else:
                    arrays[name] = pa.Array.from_pandas(column)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
                raise SchemaError(
                    f"column `{name}` (pandas dtype {column.dtype}) cannot be read as one Arrow "
                    f"type; its values have mixed types: {e}"
                ) from None
        return pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))

    def _check_frame_schema(self, df: pd.DataFrame, schema: pa.Schema) -> None:
        """Raise the schema error for the frame's columns (inputs typed as converted)."""
        types = dict(zip(schema.names, schema.types))
        fields = [pa.field(str(c), types.get(str(c), pa.null())) for c in df.columns]
        self._native.output_schema(pa.schema(fields))


_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def _append(df: pd.DataFrame, new: dict[str, Any]) -> pd.DataFrame:
    """`df` with the `new` columns after its own (a shallow copy: the frame's data is shared)."""
    out = df.copy(deep=False)
    for name, values in new.items():
        out[name] = values
    return out

_ROW_NUMBER = "__scorewell_row_number__"


def _category_array(column: pd.Series, *, by_name: bool) -> pa.Array:
    """A pandas ``category`` column as the model reads it.

    Where the model maps category names (``by_name``: e.g. LightGBM's ``pandas_categorical``),
    each row becomes its category's ``str()`` (what LightGBM stores, so a category the model
    never saw is missing, as in LightGBM's own pandas path). Elsewhere the column is its values,
    exactly as a plain column of them would be (a numeric feature, or integer category codes).
    """
    # pandas hands a category column to Arrow dictionary-encoded: its codes and categories.
    array = cast(pa.DictionaryArray, pa.Array.from_pandas(column))
    if not by_name:
        return array.dictionary_decode()
    if pa.types.is_string(array.type.value_type) or pa.types.is_large_string(array.type.value_type):
        return array
    names = pa.array([str(c) for c in column.cat.categories], pa.string())
    return pa.DictionaryArray.from_arrays(array.indices, names)


def _is_pandas(data: Any) -> bool:
    module = type(data).__module__
    if not module.startswith("pandas"):
        return False
    import pandas as pd

    return isinstance(data, pd.DataFrame)
