"""Type stubs for the native module (crates/scorewell-python). Use the `scorewell` package instead."""

from typing import Any, final

import pyarrow as pa

__all__ = [
    "NativeScorer",
    "build_count",
    "create_model_set",
    "ScorewellError",
    "SchemaError",
    "ModelLoadError",
    "UnsupportedModelError",
    "__version__",
]

__version__: str

class ScorewellError(Exception): ...
class SchemaError(ScorewellError): ...
class ModelLoadError(ScorewellError): ...
class UnsupportedModelError(ScorewellError): ...

def build_count() -> int: ...
def create_model_set(
    key: str,
    models: dict[str, tuple[str, bytes]],
    default: tuple[str, bytes] | None = None,
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
) -> bytes: ...

# A frozen #[pyclass]: not subclassable.
@final
class NativeScorer:
    @staticmethod
    def from_bytes(
        data: bytes,
        file_name: str | None = None,
        output_margin: bool = False,
        format: str | None = None,
    ) -> NativeScorer: ...
    @staticmethod
    def from_path(
        path: str, output_margin: bool = False, format: str | None = None
    ) -> NativeScorer: ...
    def build(self) -> None: ...
    @property
    def is_built(self) -> bool: ...
    @property
    def digest(self) -> str: ...
    @property
    def file_name(self) -> str | None: ...
    @property
    def output_margin(self) -> bool: ...
    @property
    def format(self) -> str | None: ...
    def model_bytes(self) -> bytes: ...
    def inputs(self) -> list[str]: ...
    def numeric_inputs(self) -> list[str]: ...
    def outputs(self) -> list[str]: ...
    def output_schema(self, schema: pa.Schema) -> pa.Schema: ...
    def score_batch(self, batch: pa.RecordBatch | Any) -> pa.RecordBatch: ...
    def score_table(self, table: pa.Table | Any) -> pa.Table: ...
