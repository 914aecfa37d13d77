"""Shared fixtures: the repository's paths, the conformance cases and the `scorewell` CLI.

The CLI is the reference surface for the Python package: same engine, same code path, so
results must be bit-identical and error messages equal. It is found through `SCOREWELL_CLI`,
else `target/debug/scorewell`, else `target/release/scorewell` (build it with
`cargo build -p scorewell-cli`).
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(os.environ.get("SCOREWELL_CONFORMANCE_DIR", ROOT / "tests/conformance/cases"))
SPARK_CASES = Path(
    os.environ.get("SCOREWELL_SPARK_CONFORMANCE_DIR", ROOT / "tests/conformance/spark/cases")
)


@dataclass(frozen=True)
class Case:
    """One conformance case folder (see tests/conformance/README.md)."""

    name: str
    dir: Path
    model: Path
    input: Path
    expect_error: str


def conformance_cases(root: Path = CASES) -> list[Case]:
    """The cases under `root`: tests/conformance/cases (model files) by default, or
    `SPARK_CASES` (saved Spark ML folders, whose outputs include vectors and arrays)."""
    cases = []
    for case_toml in sorted(root.glob("*/case.toml")):
        meta = tomllib.loads(case_toml.read_text())
        d = case_toml.parent
        cases.append(
            Case(d.name, d, d / meta["model"], d / meta["input"], meta.get("expect_error", ""))
        )
    return cases


def cli_path() -> Path:
    if env := os.environ.get("SCOREWELL_CLI"):
        return Path(env)
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "scorewell"
        if path.exists():
            return path
    pytest.fail("no scorewell CLI: run `cargo build -p scorewell-cli` or set SCOREWELL_CLI")


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stderr: str

    @property
    def message(self) -> str:
        """The error message without the `scorewell: ` prefix."""
        return self.stderr.strip().removeprefix("scorewell: ")


def run_cli(model: Path, input: Path, output: Path, *, output_margin: bool = False) -> CliRun:
    """`scorewell score model --input input --output output`."""
    args = [str(cli_path()), "score", str(model), "--input", str(input), "--output", str(output), "--quiet"]
    if output_margin:
        args.append("--output-margin")
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return CliRun(done.returncode, done.stderr)


#: The model most tests use: XGBoost 3.2 binary:logistic over f0..f5, 200 rows with nulls.
MODEL_CASE = ROOT / "tests/conformance/cases/xgboost_3_2_missing_nan_null"


@pytest.fixture(scope="session")
def model() -> Path:
    """An XGBoost JSON model reading float columns f0..f5."""
    return MODEL_CASE / "model.json"


@pytest.fixture()
def frame() -> "pd.DataFrame":
    """The model's 200 input rows (NaN where the parquet file has nulls)."""
    import pyarrow.parquet as pq

    return pq.read_table(MODEL_CASE / "input.parquet").to_pandas()


ANNOY_CASES = ROOT / "tests/conformance/annoy/cases"


def annoy_bundle(tmp_path: Path, case: str, metric: str, dims: int, k: int) -> Path:
    """A zipped bundle whose one stage looks `emb` up (k neighbours) in the index of the Annoy
    conformance case `case`, made by `scorewell bundle create`."""
    (tmp_path / "sig.ann").write_bytes((ANNOY_CASES / case / "index.ann").read_bytes())
    (tmp_path / "spec.yaml").write_text(
        "inputs:\n  - {name: emb, type: vector}\nstages:\n  - kind: nearest_neighbors\n"
        f"    name: sig\n    artifact: sig.ann\n    params: {{metric: {metric}, dims: {dims}, input: emb, k: {k}}}\n"
        "outputs: [neighbors, distances]\n"
    )
    bundle = tmp_path / "nn.zip"
    subprocess.run(
        [cli_path(), "bundle", "create", "--transforms", tmp_path / "spec.yaml", "--name", "nn", "-o", bundle],
        check=True,
        capture_output=True,
    )
    return bundle
