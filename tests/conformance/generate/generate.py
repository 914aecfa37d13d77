#!/usr/bin/env python3
"""Generate the scorewell conformance cases.

    .venv/bin/python tests/conformance/generate/generate.py [--out DIR] [--only SUBSTRING] [--list]

Each case trains a real XGBoost / LightGBM model on small seeded synthetic data,
saves it, reloads the saved file and stores the reloaded model's predictions.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_OUT, REGISTRY, reset_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--only", action="append", default=[], help="only cases whose name contains SUBSTRING (repeatable)")
    ap.add_argument("--case", action="append", default=[],
                    help="only the case with this exact name minus the '<producer>_<major>_<minor>_' prefix (repeatable)")
    ap.add_argument("--producer", choices=["xgboost", "lightgbm"], action="append",
                    help="only cases of this producer (repeatable; default: all installed)")
    ap.add_argument("--keep-going", action="store_true",
                    help="on a failing case, report it, delete its folder and continue (exit status 1)")
    ap.add_argument("--list", action="store_true", help="list case names and exit")
    args = ap.parse_args()

    producers = args.producer or ["xgboost", "lightgbm"]
    for p in producers:
        try:
            __import__(f"{p}_cases")
        except ImportError as e:  # legacy venvs may hold only one of the libraries
            if args.producer:
                raise
            print(f"skipping {p} cases: {e}", file=sys.stderr)

    cases = [c for c in REGISTRY if not args.only or any(s in c.name for s in args.only)]
    if args.case:
        cases = [c for c in cases if c.name.split("_", 3)[3] in args.case]
    names = [c.name for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, f"duplicate case names: {dupes}"
    if args.list:
        print("\n".join(names))
        return 0
    if not cases:
        print("no cases selected", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    failed: list[str] = []
    for c in cases:
        t0 = time.time()
        case_dir = args.out / c.name
        reset_dir(case_dir)
        try:
            info = c.fn(case_dir)
        except Exception as e:  # noqa: BLE001
            if not args.keep_going:
                raise
            print(f"FAILED {c.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
            shutil.rmtree(case_dir)
            failed.append(c.name)
            continue
        size = sum(f.stat().st_size for f in case_dir.iterdir())
        rows.append((c.name, info, size, time.time() - t0))

    if not rows:
        print("no case succeeded", file=sys.stderr)
        return 1
    w = max(len(r[0]) for r in rows)
    print(f"{'case':<{w}}  rows  feat  {'size':>8}  outputs / expect_error")
    total = 0
    for name, info, size, dt in rows:
        total += size
        what = f"ERROR:{info['error']}" if info["error"] else info["outputs"]
        if len(what) > 60:
            what = what[:57] + "..."
        print(f"{name:<{w}}  {info['rows']:>4}  {info['features']:>4}  {size / 1024:>6.1f}KB  {what}")
    print(f"{len(rows)} cases, {total / 1024:.0f} KB written to {args.out}")
    if failed:
        print(f"{len(failed)} FAILED: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
