#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (a pinned Python venv
# with XGBoost and LightGBM), runs every Rust test (unit, property, CLI, conformance against the
# committed cases), then regenerates the conformance cases with the pinned libraries and runs
# the conformance runner on those too, so parity is checked against models made right now.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== python venv (pinned conformance libraries)"
bash scripts/setup-python.sh

echo "== storage emulators (Azurite, pinned via npm) for the remote-model tests"
bash scripts/setup-emulators.sh

echo "== cargo test (workspace)"
cargo test --workspace --locked

echo "== conformance against freshly generated cases"
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
.venv/bin/python tests/conformance/generate/generate.py --out "$fresh" >/dev/null
SCOREWELL_CONFORMANCE_DIR="$fresh" cargo test --locked -p scorewell-cli --test conformance

echo "== annoy: indexes built just now by the pinned annoy, answered exactly"
fresh_annoy=$(mktemp -d)
trap 'rm -rf "$fresh" "$fresh_annoy"' EXIT
.venv/bin/python tests/conformance/annoy/generate.py --out "$fresh_annoy"
SCOREWELL_ANNOY_CASES="$fresh_annoy" cargo test --locked -p scorewell-neighbors --test conformance
echo "== model routing: per-key models freshly made by XGBoost and LightGBM"
.venv/bin/python tests/routing/generate.py --out "$fresh/routing"
SCOREWELL_ROUTING_DIR="$fresh/routing" cargo test --locked -p scorewell-bundle routing::tests
echo "== scikit-learn: pickle/joblib files made just now by the pinned scikit-learn, scored to its outputs"
sk_fresh=$(mktemp -d)
.venv/bin/python tests/conformance/sklearn/generate.py --out "$sk_fresh" >/dev/null
SCOREWELL_SKLEARN_CASES="$sk_fresh" cargo test --locked -p scorewell-sklearn --test conformance
rm -rf "$sk_fresh"
echo "== keras: parity with Keras 3 (JAX CPU backend) on freshly generated cases"
bash scripts/setup-keras.sh
keras_fresh=$(mktemp -d)
.venv-keras/bin/python tests/conformance/generate/keras_cases.py --out "$keras_fresh" >/dev/null
SCOREWELL_KERAS_CONFORMANCE_DIR="$keras_fresh" cargo test --locked -p scorewell-keras --test conformance
rm -rf "$keras_fresh"

echo "== onnx: the facade's and the CLI's onnx feature (scorewell-onnx's own tests run above)"
# ONNX conformance runs on the committed fixtures only: regenerating needs TensorFlow (.venv-onnx).
cargo test --locked -p scorewell --features onnx --lib onnx_format
cargo test --locked -p scorewell-bundle --features onnx --lib tensor_model
cargo clippy --locked -p scorewell-cli --features onnx -- -D warnings

echo "== python package (release wheel via maturin; pytest incl. a local[2] Spark session)"
bash scripts/setup-python-package.sh
.venv/bin/python -m pytest python/tests -q
echo "== python package on the freshly generated cases (bit-identical to the CLI)"
SCOREWELL_CONFORMANCE_DIR="$fresh" .venv/bin/python -m pytest python/tests/test_scorewell.py -q -k conformance

echo "== eval: parity with scikit-learn on freshly generated cases"
bash scripts/check-eval-conformance.sh

echo "== eval: the HTML report renders in headless Chromium (installs Debian's chromium if missing)"
bash scripts/check-report.sh

echo "== AWS Lambda: the package scripts/package-lambda.sh builds, driven as Lambda runs it"
bash scripts/package-lambda.sh
lambda_fn=$(mktemp -d)
.venv/bin/python -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' target/lambda/scorewell-lambda.zip "$lambda_fn"
chmod +x "$lambda_fn/bootstrap"
SCOREWELL_BOOTSTRAP="$lambda_fn/bootstrap" cargo test --locked -p scorewell-lambda --test runtime
rm -rf "$lambda_fn"

echo "== HTTP API against its own /openapi.json (schemathesis, pinned in tests/api)"
bash scripts/check-api-contract.sh "${CARGO_TARGET_DIR:-target}/debug/scorewell"

echo "== soak harness: 20 s of mixed load under hot reloads (the full soak: bench/soak/run.py)"
python3 bench/soak/run.py --scorewell "${CARGO_TARGET_DIR:-target}/debug/scorewell" --seconds 20 \
    --reload-every 0.5 --broken-every 5 --min-reloads 10 --max-rss-growth 0.5 --no-write

echo "== slim builds (one format each, as a serverless package would)"
cargo check --locked -p scorewell --no-default-features --features xgboost
cargo check --locked -p scorewell --no-default-features --features lightgbm

echo "== docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "all tests passed"
