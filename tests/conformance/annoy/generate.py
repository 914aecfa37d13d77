"""Generate the Annoy conformance cases: small seeded indexes built by the real annoy, queries,
and annoy's own answers.

Each case is a folder `cases/<name>/` with `index.ann` (written by annoy) and `case.json`:
metric, dims, and a list of lookups — by vector or by item, with n, search_k and annoy's ids
and distances. The Rust runner (crates/scorewell-neighbors/tests/conformance.rs) demands the
same ids in the same order and distances within 1e-6 relative.

Usage: .venv/bin/python tests/conformance/annoy/generate.py [--out DIR]   (default: cases/ here)
"""

import argparse
import json
import os
import shutil

import annoy
import numpy as np


def lookups(index, queries, items, ns, search_ks):
    out = []
    for q in queries:
        for n in ns:
            for sk in search_ks:
                ids, dists = index.get_nns_by_vector(q.tolist(), n, search_k=sk, include_distances=True)
                out.append({"vector": [float(x) for x in q], "n": n, "search_k": sk,
                            "ids": ids, "distances": dists})
    for i in items:
        for sk in search_ks:
            ids, dists = index.get_nns_by_item(i, ns[0], search_k=sk, include_distances=True)
            out.append({"item": i, "n": ns[0], "search_k": sk, "ids": ids, "distances": dists})
    return out


def write_case(out_dir, name, metric, dims, vectors, trees, seed, queries, items,
               ns=(10,), search_ks=(-1, 50, 2000), ids=None):
    index = annoy.AnnoyIndex(dims, metric)
    index.set_seed(seed)
    ids = list(range(len(vectors))) if ids is None else ids
    for i, v in zip(ids, vectors):
        index.add_item(i, v.tolist())
    index.build(trees, n_jobs=1)
    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    index.save(os.path.join(case_dir, "index.ann"))
    case = {
        "producer": f"annoy {annoy.__version__ if hasattr(annoy, '__version__') else '1.17.3'}",
        "metric": metric, "dims": dims, "trees": trees, "seed": seed,
        "n_items": index.get_n_items(), "n_trees": index.get_n_trees(),
        "item_vectors": {str(i): index.get_item_vector(i) for i in items},
        "lookups": lookups(index, queries, items, list(ns), list(search_ks)),
    }
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump(case, f)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "cases"))
    args = ap.parse_args()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    rng = np.random.default_rng(20261205)

    def normal(n, d):
        return rng.normal(size=(n, d)).astype(np.float32)

    # Every metric on the same shape of data.
    for metric in ["angular", "euclidean", "manhattan", "dot"]:
        x = normal(300, 16)
        write_case(args.out, f"{metric}_300x16", metric, 16, x, 8, 42, normal(8, 16), [0, 7, 299])
    bits = (rng.random((300, 70)) > 0.5).astype(np.float32)
    write_case(args.out, "hamming_300x70", "hamming", 70, bits, 8, 42,
               (rng.random((8, 70)) > 0.5).astype(np.float32), [0, 7, 299])
    # Wide vectors (AVX lanes and a tail), short ones (tail only).
    write_case(args.out, "angular_200x67", "angular", 67, normal(200, 67), 5, 7, normal(5, 67), [3])
    write_case(args.out, "euclidean_200x3", "euclidean", 3, normal(200, 3), 5, 7, normal(5, 3), [3])
    # k larger than the item count; an index small enough that its roots are buckets.
    write_case(args.out, "angular_k_over_items", "angular", 8, normal(7, 8), 3, 1, normal(3, 8),
               [0], ns=(20,))
    # Duplicate vectors and exact ties in distance (integer grid points).
    grid = np.array([[i % 3, i % 5, 1] for i in range(60)], dtype=np.float32)
    write_case(args.out, "euclidean_duplicates_ties", "euclidean", 3, grid, 4, 3,
               np.array([[1, 2, 1], [0, 0, 1]], dtype=np.float32), [0, 15], ns=(12,))
    write_case(args.out, "manhattan_duplicates_ties", "manhattan", 3, grid, 4, 3,
               np.array([[1, 2, 1], [0.5, 0.5, 1]], dtype=np.float32), [0], ns=(12,))
    # One tree.
    write_case(args.out, "angular_one_tree", "angular", 16, normal(250, 16), 1, 5, normal(6, 16), [1])
    # Item ids that skip numbers (annoy allows add_item(1000, v) on an empty index).
    sparse_ids = [0, 5, 17, 400, 1000]
    sparse_ids += list(range(1001, 1101))
    write_case(args.out, "euclidean_sparse_ids", "euclidean", 8, normal(len(sparse_ids), 8), 4, 11,
               normal(4, 8), [5, 1000], ids=sparse_ids)


if __name__ == "__main__":
    main()
