#!/usr/bin/env bash
# The ONNX conformance venv (.venv-onnx): onnx, ONNX Runtime, and TensorFlow 2.15 (CPU) with
# tf2onnx, pinned. Only needed to regenerate tests/conformance/onnx/; the Rust tests read the
# committed fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-onnx/bin/python ]; then
    python3 -m venv .venv-onnx
fi
.venv-onnx/bin/pip install --quiet --disable-pip-version-check -r tests/conformance/generate/requirements-onnx.txt
