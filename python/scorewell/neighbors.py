"""Annoy nearest-neighbour indexes, queried exactly as Spotify's ``annoy`` 1.17.3 answers.

>>> import scorewell
>>> index = scorewell.AnnoyIndex.load("signatures.ann", dims=64, metric="angular")
>>> ids, distances = index.get_nns_by_vector(v, 10, include_distances=True)

The API mirrors annoy's (``get_nns_by_vector``, ``get_nns_by_item``, ``get_item_vector``,
``get_n_items``, ``get_n_trees``) and so do the answers: the same ids in the same order and the
same distances. An index loaded from a path is memory-mapped (no copy); one loaded from bytes is
shared by every copy with equal bytes in the process. An :class:`AnnoyIndex` pickles as its file
bytes, so Spark can broadcast it: each executor process loads it once, with no temporary file.
Queries release the GIL.
"""

from __future__ import annotations

import os
from typing import Any, Sequence, Union, overload, Literal

from . import _scorewell

__all__ = ["AnnoyIndex"]

#: What :meth:`AnnoyIndex.load` accepts: a path to an ``.ann`` file, or its bytes.
IndexSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def _unpickle(data: bytes, dims: int, metric: str) -> AnnoyIndex:
    return AnnoyIndex(_scorewell.NativeAnnoyIndex.from_bytes(data, dims, metric))


class AnnoyIndex:
    """A loaded Annoy index (read-only). Make one with :meth:`load`."""

    __slots__ = ("_native",)

    def __init__(self, native: _scorewell.NativeAnnoyIndex) -> None:
        self._native = native

    @staticmethod
    def load(source: IndexSource, dims: int, metric: str = "angular") -> AnnoyIndex:
        """Open an index annoy (or ``scorewell index build``) wrote.

        Args:
            source: a path to the ``.ann`` file (memory-mapped) or its bytes.
            dims: the vector dimension the index was built with (the file does not record it).
            metric: ``angular`` (annoy's default), ``euclidean``, ``manhattan``, ``dot`` or
                ``hamming`` (the file does not record it either).

        Raises:
            ModelLoadError: the file does not fit ``dims`` and ``metric`` (its size is not a
                whole number of nodes, or its roots claim more items than it holds).
            ValueError: an unknown metric.
        """
        if isinstance(source, (bytes, bytearray, memoryview)):
            native = _scorewell.NativeAnnoyIndex.from_bytes(bytes(source), dims, metric)
        elif isinstance(source, (str, os.PathLike)):
            native = _scorewell.NativeAnnoyIndex.from_path(os.fspath(source), dims, metric)
        else:
            raise TypeError(
                f"AnnoyIndex.load() takes a path or bytes, not {type(source).__name__}"
            )
        return AnnoyIndex(native)

    @property
    def f(self) -> int:
        """The vector dimension (annoy's ``f``)."""
        return self._native.dims

    @property
    def metric(self) -> str:
        """The metric's name."""
        return self._native.metric

    @overload
    def get_nns_by_vector(
        self, vector: Sequence[float], n: int, search_k: int = ..., include_distances: Literal[False] = ...
    ) -> list[int]: ...
    @overload
    def get_nns_by_vector(
        self, vector: Sequence[float], n: int, search_k: int = ..., include_distances: Literal[True] = ...
    ) -> tuple[list[int], list[float]]: ...

    def get_nns_by_vector(
        self, vector: Sequence[float], n: int, search_k: int = -1, include_distances: bool = False
    ) -> Any:
        """The ``n`` items nearest to ``vector``, nearest first (annoy's ``get_nns_by_vector``).

        ``search_k`` is annoy's: ``-1`` inspects ``n × trees`` candidates; larger is more exact.
        With ``include_distances``, returns ``(ids, distances)``.

        Raises:
            ValueError: ``vector`` has the wrong length or holds NaN.
        """
        ids, distances = self._native.nns_by_vector(vector, n, search_k)
        return (ids, distances) if include_distances else ids

    @overload
    def get_nns_by_item(
        self, i: int, n: int, search_k: int = ..., include_distances: Literal[False] = ...
    ) -> list[int]: ...
    @overload
    def get_nns_by_item(
        self, i: int, n: int, search_k: int = ..., include_distances: Literal[True] = ...
    ) -> tuple[list[int], list[float]]: ...

    def get_nns_by_item(
        self, i: int, n: int, search_k: int = -1, include_distances: bool = False
    ) -> Any:
        """The ``n`` items nearest to item ``i`` (itself first), as annoy's ``get_nns_by_item``.

        Raises:
            IndexError: ``i`` is negative or not below :meth:`get_n_items`.
        """
        ids, distances = self._native.nns_by_item(i, n, search_k)
        return (ids, distances) if include_distances else ids

    def get_item_vector(self, i: int) -> list[float]:
        """The stored vector of item ``i``.

        Raises:
            IndexError: ``i`` is out of range.
        """
        return self._native.item_vector(i)

    def get_n_items(self) -> int:
        """Items in the index: one more than the largest item id."""
        return self._native.n_items()

    def get_n_trees(self) -> int:
        """Trees in the index."""
        return self._native.n_trees()

    def index_bytes(self) -> bytes:
        """The index file's bytes (what pickling stores)."""
        return self._native.index_bytes()

    def __reduce__(self) -> tuple[Any, ...]:
        n = self._native
        return (_unpickle, (n.index_bytes(), n.dims, n.metric))

    def __repr__(self) -> str:
        return (
            f"<scorewell.AnnoyIndex {self.metric} f={self.f} items={self.get_n_items()} "
            f"trees={self.get_n_trees()}>"
        )
