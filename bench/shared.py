"""What the Python-client benchmarks (bench/python-online, bench/triton) share: bench/run.py's
data generator and trainers as a module, and the options that describe the model and where
results go, so "the project's data" and "the 500-tree model" mean the same thing in each."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent


def load_core() -> ModuleType:
    """bench/run.py as a module (loaded by path: every benchmark script is called run.py)."""
    spec = importlib.util.spec_from_file_location("bench_core", BENCH / "run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def add_model_and_output_args(ap: argparse.ArgumentParser, cache: Path) -> None:
    """--train-rows/--trees/--depth/--seed (the main benchmark's model) and --out, --results,
    --no-write."""
    ap.add_argument("--train-rows", type=int, default=30_000)
    ap.add_argument("--trees", type=int, default=500)
    ap.add_argument("--depth", type=int, default=6, help="XGBoost max_depth")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=cache, help=f"cache dir (default {cache.relative_to(BENCH.parent)})")
    ap.add_argument("--results", type=Path, default=BENCH / "results", help="results dir (default bench/results)")
    ap.add_argument("--no-write", action="store_true", help="print the report only")
