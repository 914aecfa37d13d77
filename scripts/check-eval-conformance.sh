#!/usr/bin/env bash
# `scorewell eval` parity with scikit-learn, made now: regenerate the metric cases with the pinned
# venv (tests/conformance/requirements.txt) into a temporary directory and run the Rust
# comparison (1e-9) on them, as well as on the committed cases.
#
# Usage: bash scripts/check-eval-conformance.sh     (needs .venv: bash scripts/setup-python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
.venv/bin/python tests/conformance/eval/generate.py --out "$fresh" >/dev/null
echo "== eval conformance: committed cases"
cargo test --locked -q -p scorewell-eval --test conformance
echo "== eval conformance: cases generated now by $(.venv/bin/python -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"
SCOREWELL_EVAL_CONFORMANCE_DIR="$fresh" cargo test --locked -q -p scorewell-eval --test conformance
