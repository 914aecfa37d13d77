#!/usr/bin/env bash
# `scorewell eval` parity with scikit-learn, made now: generate the metric cases with the pinned
# venv (tests/conformance/requirements.txt) and a new seed into a temporary directory, so the data
# is fresh (other scores, labels and sizes than the committed cases), and run the Rust
# comparison (1e-9) on them, as well as on the committed cases.
#
# Usage: bash scripts/check-eval-conformance.sh     (needs .venv: bash scripts/setup-python.sh)
#        EVAL_SEED=N bash scripts/check-eval-conformance.sh    (replay a run: it prints its seed)
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
seed="${EVAL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
.venv/bin/python tests/conformance/eval/generate.py --out "$fresh" --seed "$seed" >/dev/null
echo "== eval conformance: committed cases"
cargo test --locked -q -p scorewell-eval --test conformance
echo "== eval conformance: cases generated now (EVAL_SEED=$seed) by $(.venv/bin/python -c 'import sklearn; print("scikit-learn", sklearn.__version__)')"
SCOREWELL_EVAL_CONFORMANCE_DIR="$fresh" cargo test --locked -q -p scorewell-eval --test conformance
