"""Type checks: the native module's stub (`scorewell/_scorewell.pyi`) matches the compiled
module (mypy's stubtest), and the package type-checks with `Scorer.score`'s overloads giving a
DataFrame for a DataFrame, a Table for a Table and a RecordBatch for a RecordBatch.

mypy, pandas-stubs and pyarrow-stubs are pinned in python/requirements-dev.txt. `MYPYPATH`
points mypy at the source tree, so the stub checked is the one in the repository, against the
native module installed by scripts/setup-python-package.sh.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "python"


def run_mypy(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MYPYPATH": str(PACKAGE)}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=280
    )


def test_the_stub_matches_the_native_module(tmp_path: Path) -> None:
    done = run_mypy(["mypy.stubtest", "scorewell._scorewell"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_score_keeps_the_input_type_for_a_type_checker(tmp_path: Path) -> None:
    use = tmp_path / "use_scorewell.py"
    use.write_text(
        textwrap.dedent(
            """
            from typing import Any, assert_type

            import pandas as pd
            import pyarrow as pa

            import scorewell

            def check(scorer: scorewell.Scorer, stream: Any) -> None:
                assert_type(scorer.score(pd.DataFrame({"f0": [1.0]})), pd.DataFrame)
                table = pa.table({"f0": [1.0]})
                assert_type(scorer.score(table), pa.Table)
                assert_type(scorer.score(table.to_batches()[0]), pa.RecordBatch)
                assert_type(scorer.score(stream), Any)
            """
        )
    )
    # Checks the snippet and, through MYPYPATH, the package source it imports.
    done = run_mypy(["mypy", "--cache-dir", str(tmp_path / "cache"), str(use)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
