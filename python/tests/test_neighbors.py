"""scorewell.AnnoyIndex and nearest-neighbour bundles from Python: annoy's own answers (the
conformance cases in tests/conformance/annoy, and the real annoy when it is installed) for
indexes opened from a path (mapped) and from bytes, pickling, errors, and a bundle whose
lookup feeds its outputs."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

import scorewell
from conftest import ANNOY_CASES, annoy_bundle


def annoy_cases() -> list[Path]:
    return sorted(p for p in ANNOY_CASES.iterdir() if (p / "case.json").is_file())


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-6 * max(abs(a), abs(b))


@pytest.mark.parametrize("case", annoy_cases(), ids=lambda p: p.name)
@pytest.mark.parametrize("source", ["path", "bytes"])
def test_every_case_answers_as_annoy(case: Path, source: str) -> None:
    meta = json.loads((case / "case.json").read_text())
    path = case / "index.ann"
    data = path if source == "path" else path.read_bytes()
    index = scorewell.AnnoyIndex.load(data, dims=meta["dims"], metric=meta["metric"])
    assert (index.get_n_items(), index.get_n_trees()) == (meta["n_items"], meta["n_trees"])
    for item, vector in meta["item_vectors"].items():
        assert index.get_item_vector(int(item)) == pytest.approx(vector, rel=0, abs=0)
    for lookup in meta["lookups"]:
        if "item" in lookup:
            ids, dists = index.get_nns_by_item(
                lookup["item"], lookup["n"], search_k=lookup["search_k"], include_distances=True
            )
        else:
            ids, dists = index.get_nns_by_vector(
                lookup["vector"], lookup["n"], search_k=lookup["search_k"], include_distances=True
            )
        assert ids == lookup["ids"]
        assert all(close(a, b) for a, b in zip(dists, lookup["distances"]))


def test_the_real_annoy_agrees_on_the_same_file() -> None:
    annoy = pytest.importorskip("annoy")
    case = ANNOY_CASES / "angular_300x16"
    theirs = annoy.AnnoyIndex(16, "angular")
    theirs.load(str(case / "index.ann"))
    ours = scorewell.AnnoyIndex.load(case / "index.ann", dims=16)
    for i in range(0, 300, 7):
        v = theirs.get_item_vector(i)
        q = [x * 0.5 + 0.1 for x in v]
        for search_k in (-1, 30, 5000):
            ids, dists = ours.get_nns_by_vector(q, 7, search_k=search_k, include_distances=True)
            want_ids, want_dists = theirs.get_nns_by_vector(q, 7, search_k=search_k, include_distances=True)
            assert ids == want_ids
            assert dists == pytest.approx(want_dists, rel=1e-6)
            assert ours.get_nns_by_item(i, 5, search_k=search_k) == theirs.get_nns_by_item(
                i, 5, search_k=search_k
            )


def test_an_index_pickles_as_its_bytes() -> None:
    path = ANNOY_CASES / "euclidean_300x16" / "index.ann"
    index = scorewell.AnnoyIndex.load(path, dims=16, metric="euclidean")
    copy = pickle.loads(pickle.dumps(index))
    assert copy.index_bytes() == path.read_bytes()
    assert copy.get_nns_by_item(3, 10) == index.get_nns_by_item(3, 10)
    assert "euclidean f=16 items=300" in repr(copy)


def test_bad_files_and_queries_raise_precise_errors() -> None:
    path = ANNOY_CASES / "angular_300x16" / "index.ann"
    with pytest.raises(scorewell.ModelLoadError, match="not a multiple of the 80-byte node"):
        scorewell.AnnoyIndex.load(path, dims=16, metric="euclidean")
    with pytest.raises(scorewell.ModelLoadError, match="not a multiple"):
        scorewell.AnnoyIndex.load(path.read_bytes()[:-3], dims=16)
    with pytest.raises(ValueError, match="unknown annoy metric `cosine`"):
        scorewell.AnnoyIndex.load(path, dims=16, metric="cosine")
    index = scorewell.AnnoyIndex.load(path, dims=16)
    with pytest.raises(ValueError, match="the query has 3 values"):
        index.get_nns_by_vector([1.0, 2.0, 3.0], 5)
    with pytest.raises(ValueError, match="value 2 is NaN"):
        index.get_nns_by_vector([1.0, 1.0, math.nan] + [0.0] * 13, 5)
    with pytest.raises(IndexError, match="out of range"):
        index.get_nns_by_item(300, 5)
    with pytest.raises(IndexError):
        index.get_item_vector(-1)


def test_a_bundle_with_a_lookup_scores_vectors_from_arrow(tmp_path: Path) -> None:
    case = ANNOY_CASES / "angular_300x16"
    bundle = annoy_bundle(tmp_path, "angular_300x16", "angular", 16, 5)
    scorer = scorewell.load(bundle)
    index = scorewell.AnnoyIndex.load(case / "index.ann", dims=16)
    queries = [[math.sin(i * 0.3 + r) for i in range(16)] for r in range(6)]
    table = pa.table({"id": list(range(6)), "emb": pa.array(queries, pa.list_(pa.float32()))})
    scored = scorer.score(table)
    for r, q in enumerate(queries):
        want_ids, want_d = index.get_nns_by_vector([float(x) for x in pa.array(q, pa.float32()).to_pylist()], 5, include_distances=True)
        assert scored.column("neighbors")[r].as_py() == want_ids
        assert scored.column("distances")[r].as_py() == want_d


@pytest.mark.parametrize("metric", ["angular", "euclidean", "manhattan", "dot", "hamming"])
def test_index_build_writes_files_the_real_annoy_loads(tmp_path: Path, metric: str) -> None:
    """`scorewell index build` → annoy loads the file and answers as scorewell does from it;
    the trees are annoy's own for the same seed (same node structure, annoy n_jobs=1)."""
    annoy = pytest.importorskip("annoy")
    import subprocess

    import numpy as np
    import pyarrow.parquet as pq

    from conftest import cli_path

    rng = np.random.default_rng(11)
    x = rng.normal(size=(400, 12)).astype(np.float32)
    if metric == "hamming":
        x = (x > 0).astype(np.float32)
    pq.write_table(pa.table({"v": pa.array(x.tolist(), pa.list_(pa.float32()))}), tmp_path / "v.parquet")
    ann = tmp_path / "x.ann"
    subprocess.run(
        [cli_path(), "index", "build", tmp_path / "v.parquet", "-o", ann, "--metric", metric, "--trees", "6", "--seed", "5"],
        check=True,
        capture_output=True,
    )
    theirs = annoy.AnnoyIndex(12, metric)
    theirs.load(str(ann))
    ours = scorewell.AnnoyIndex.load(ann, dims=12, metric=metric)
    assert (theirs.get_n_items(), theirs.get_n_trees()) == (400, 6)
    for i in range(0, 400, 37):
        assert theirs.get_nns_by_item(i, 8) == ours.get_nns_by_item(i, 8)
        q = (x[i] * 0.9 + 0.05).tolist()
        assert theirs.get_nns_by_vector(q, 8, 200) == ours.get_nns_by_vector(q, 8, 200)
    # annoy's own build from the same seed has the same tree structure (descendant counts and
    # children of every node); only hyperplane floats may differ in their last bits.
    reference = annoy.AnnoyIndex(12, metric)
    reference.set_seed(5)
    for i, v in enumerate(x):
        reference.add_item(i, v.tolist())
    reference.build(6, n_jobs=1)
    reference.save(str(tmp_path / "ref.ann"))
    words = {"angular": 3 + 12, "euclidean": 4 + 12, "manhattan": 4 + 12, "dot": 4 + 12, "hamming": 6}[metric]
    ours_w = np.frombuffer(ann.read_bytes(), dtype=np.int32).reshape(-1, words)
    ref_w = np.frombuffer((tmp_path / "ref.ann").read_bytes(), dtype=np.int32).reshape(-1, words)
    assert ours_w.shape == ref_w.shape
    assert (ours_w[:, 0] == ref_w[:, 0]).all()
    internal = ours_w[:, 0] > 1
    first_child = {"angular": 1, "euclidean": 2, "manhattan": 2, "dot": 1, "hamming": 1}[metric]
    assert (ours_w[internal, first_child : first_child + 2] == ref_w[internal, first_child : first_child + 2]).all()
