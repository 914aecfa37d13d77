"""Annoy queries: scorewell against Spotify's annoy, same index, same queries, same run.

Builds (with annoy, seeded) an angular index of N × D vectors with T trees for each of two
datasets — plain normal vectors, and a clustered set shaped like real embeddings — then times:
- load: `annoy.AnnoyIndex.load` vs `scorewell.AnnoyIndex.load` (both mmap), median of 5;
- queries per second through each Python API, one thread and two threads (both release the
  GIL), at annoy's default search_k and at search_k = 50,000;
- answers: every query's ids must be identical (the run stops otherwise);
- peak RSS (VmHWM) of a fresh process that loads the index and runs 500 queries, per library.
Results (markdown) go to stdout; the ratio quoted is the lower of the two datasets.

Usage: .venv/bin/python bench/annoy/run.py [--items 100000] [--dims 64] [--trees 50] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import annoy
import numpy as np

import scorewell


def datasets(n: int, d: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(64, d)) * 3
    clustered = centers[rng.integers(0, 64, n)] + rng.normal(size=(n, d))
    return {
        "normal": rng.normal(size=(n, d)).astype(np.float32),
        "clustered": clustered.astype(np.float32),
    }


def qps(fn, queries, threads: int) -> float:
    start = time.perf_counter()
    if threads == 1:
        for q in queries:
            fn(q)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, queries, chunksize=64))
    return len(queries) / (time.perf_counter() - start)


RSS_SCRIPT = """
import sys, json
lib, path, dims, search_k, queries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
qs = json.load(open(queries))
if lib == "annoy":
    import annoy
    ix = annoy.AnnoyIndex(dims, "angular"); ix.load(path)
    for q in qs: ix.get_nns_by_vector(q, 10, search_k)
else:
    import scorewell
    ix = scorewell.AnnoyIndex.load(path, dims=dims)
    for q in qs: ix.get_nns_by_vector(q, 10, search_k)
# VmHWM, not ru_maxrss: a spawned child can report its parent's peak in ru_maxrss.
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) // 1024)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--queries", type=int, default=2000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    rows = []
    for name, x in datasets(args.items, args.dims, 42).items():
        path = os.path.join(tmp, f"{name}.ann")
        build = annoy.AnnoyIndex(args.dims, "angular")
        build.set_seed(42)
        for i, v in enumerate(x):
            build.add_item(i, v)
        t = time.perf_counter()
        build.build(args.trees, n_jobs=2)
        build_s = time.perf_counter() - t
        build.save(path)
        rng = np.random.default_rng(7)
        queries = [list(map(float, x[i] + rng.normal(size=args.dims) * 0.1)) for i in rng.integers(0, len(x), args.queries)]
        qfile = os.path.join(tmp, f"{name}-q.json")
        json.dump(queries[:500], open(qfile, "w"))

        def load_annoy():
            ix = annoy.AnnoyIndex(args.dims, "angular")
            ix.load(path)
            return ix

        def load_ours():
            return scorewell.AnnoyIndex.load(path, dims=args.dims)

        loads = {}
        for lib, fn in [("annoy", load_annoy), ("scorewell", load_ours)]:
            times = []
            for _ in range(5):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            loads[lib] = statistics.median(times) * 1e3
        theirs, ours = load_annoy(), load_ours()
        for search_k in (-1, 50_000):
            for q in queries[:300]:
                a = theirs.get_nns_by_vector(q, 10, search_k)
                b = ours.get_nns_by_vector(q, 10, search_k)
                if a != b:
                    sys.exit(f"{name}: answers differ at search_k {search_k}: {a} vs {b}")
            for threads in (1, 2):
                qs = queries if search_k == -1 else queries[: max(200, len(queries) // 10)]
                a = qps(lambda q: theirs.get_nns_by_vector(q, 10, search_k), qs, threads)
                b = qps(lambda q: ours.get_nns_by_vector(q, 10, search_k), qs, threads)
                rows.append((name, search_k, threads, a, b))
        rss = {}
        for lib in ("annoy", "scorewell"):
            out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, lib, path, str(args.dims), "-1", qfile],
                                 capture_output=True, text=True, check=True)
            rss[lib] = int(out.stdout.strip())
        print(f"- {name}: {args.items:,} × {args.dims}, {args.trees} trees, file {os.path.getsize(path) / 2**20:.0f} MiB, "
              f"annoy build {build_s:.1f} s; load {loads['annoy']:.3f} ms (annoy) vs {loads['scorewell']:.3f} ms (scorewell); "
              f"peak RSS after 500 queries {rss['annoy']} MiB (annoy) vs {rss['scorewell']} MiB (scorewell)")
    print()
    print("| dataset | search_k | threads | annoy q/s | scorewell q/s | ratio |")
    print("|---|---|---|---|---|---|")
    for name, sk, th, a, b in rows:
        print(f"| {name} | {sk} | {th} | {a:,.0f} | {b:,.0f} | {b / a:.2f}x |")
    for sk in (-1, 50_000):
        for th in (1, 2):
            worst = min(b / a for name, s, t, a, b in rows if s == sk and t == th)
            print(f"\nlower ratio, search_k {sk}, {th} thread(s): {worst:.2f}x")


if __name__ == "__main__":
    main()
