#!/usr/bin/env python3
"""Freeze the format-version-1 compatibility bundle: tests/bundles/v1/fraud/.

    .venv/bin/python tests/bundles/make_v1.py      # after examples/make_example.py

Copies the example bundle (string indexers + XGBoost model + decision, manifest format 1) and
its first 200 transactions, with expected outputs taken from xgboost's own predictions
(examples/fraud/expected.csv) and the decision those probabilities get under the bundle's
rules, computed here independently of scorewell. Run once per manifest version; the copy is
never regenerated afterwards, so the test proves old bundles keep loading and scoring.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent.parent
SRC = ROOT / "examples" / "fraud"
DEST = Path(__file__).resolve().parent / "v1" / "fraud"
ROWS = 200


def main() -> None:
    shutil.rmtree(DEST.parent, ignore_errors=True)
    shutil.copytree(SRC / "bundle", DEST / "bundle")
    manifest = json.loads((DEST / "bundle" / "scorewell.json").read_text())
    assert manifest["format_version"] == 1, manifest["format_version"]
    rows = pd.read_csv(SRC / "transactions.csv", keep_default_na=True).head(ROWS)
    rows.to_csv(DEST / "input.csv", index=False, na_rep="")
    expected = pd.read_csv(SRC / "expected.csv").head(ROWS)
    rules = manifest["decision"]["rules"]

    def decide(p: float) -> str:
        for rule in rules:
            if p >= rule["at_least"]:
                return rule["label"]
        return manifest["decision"]["otherwise"]

    expected["decision"] = expected["prediction"].map(decide)
    expected.rename(columns={"prediction": "fraud_probability"}).to_csv(
        DEST / "expected.csv", index=False, float_format="%.17g")
    print(f"wrote {DEST} ({ROWS} rows)")


if __name__ == "__main__":
    main()
