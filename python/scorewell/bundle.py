"""Make bundles from Python: a model set (one model per key value) saved as a zip.

>>> import scorewell
>>> devices = scorewell.bundle.model_set("device_id", {"d1": b1, "d2": "d2.json"}, default=g)
>>> devices.save("devices.zip")                 # scorewell score / serve / load take it as is
>>> scorer = scorewell.load(devices.to_bytes())

A model is given as bytes (XGBoost JSON or UBJSON, LightGBM text, a zipped bundle), as a path
to such a file, or as a trained booster: ``xgboost.Booster``, ``lightgbm.Booster`` or their
scikit-learn wrappers. The models must write the same outputs (checked here: a mismatch names
the key and the column); their feature sets may differ. docs/ROUTING.md has the details.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Union

from . import _scorewell

__all__ = ["ModelSet", "model_set"]

#: What a model may be given as.
ModelLike = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", Any]


def _model_file(model: ModelLike, what: str) -> tuple[str, bytes]:
    """The model as ``(file_name, bytes)``: the extension tells scorewell its format."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        return _named(data), data
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        with open(path, "rb") as f:
            return os.path.basename(path), f.read()
    # scikit-learn wrappers hold the booster.
    if hasattr(model, "get_booster"):
        model = model.get_booster()
    elif hasattr(model, "booster_"):
        model = model.booster_
    if hasattr(model, "save_raw"):  # xgboost.Booster
        return "model.json", bytes(model.save_raw(raw_format="json"))
    if hasattr(model, "model_to_string"):  # lightgbm.Booster
        return "model.txt", model.model_to_string().encode()
    raise TypeError(
        f"{what}: expected model bytes, a path, or an XGBoost/LightGBM booster, not {type(model).__name__}"
    )


def _named(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "model.zip"
    head = data[:64].lstrip()
    if head.startswith(b"{"):
        return "model.json"
    if head.startswith(b"tree"):
        return "model.txt"
    return "model.ubj"


class ModelSet:
    """A model-set bundle made in memory; :meth:`save` writes it, :meth:`to_bytes` returns it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def to_bytes(self) -> bytes:
        """The bundle as zip bytes (what :func:`scorewell.load` accepts)."""
        return self._data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the zip to ``path``, through a temporary file renamed into place."""
        path = os.fspath(path)
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self._data)
        os.replace(tmp, path)

    def __repr__(self) -> str:
        return f"ModelSet({len(self._data)} bytes)"


def model_set(
    key: str,
    models: Mapping[Any, ModelLike],
    default: ModelLike | None = None,
    *,
    unseen: str | None = None,
    key_type: str | None = None,
    record: str | None = None,
    output: str | None = None,
    output_margin: bool = False,
    cache_bytes: int | None = None,
    name: str | None = None,
    version: str | None = None,
    description: str | None = None,
) -> ModelSet:
    """A bundle whose ``key`` column picks each row's model from ``models``.

    ``models`` maps key values (strings, or integers for an integer key column) to models.
    ``unseen`` says what rows with an unseen or null key get: ``"default"`` (the ``default``
    model; the default when one is given), ``"null"`` outputs, or ``"error"`` (the default
    without a default model). ``key_type`` is ``"utf8"`` (default), ``"int64"`` or
    ``"int32"``; integer keys given in ``models`` make it ``"int64"`` unless told otherwise.
    ``record`` names a column written with ``<key>@<digest>`` of the model that scored each
    row. ``cache_bytes`` bounds the built models kept in memory (default 256 MiB of model
    files; the least recently used are dropped).
    """
    files = {str(k): _model_file(m, f"models[{k!r}]") for k, m in models.items()}
    if key_type is None and models and all(isinstance(k, int) for k in models):
        key_type = "int64"
    default_file = None if default is None else _model_file(default, "default")
    data = _scorewell.create_model_set(
        key,
        files,
        default_file,
        unseen=unseen,
        key_type=key_type,
        record=record,
        output=output,
        output_margin=output_margin,
        cache_bytes=cache_bytes,
        name=name,
        version=version,
        description=description,
    )
    return ModelSet(data)
