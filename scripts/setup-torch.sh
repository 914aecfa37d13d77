#!/usr/bin/env bash
# The PyTorch venv (.venv-torch) that exports the torch_* ONNX conformance cases: torch,
# onnxscript, onnx and ONNX Runtime, pinned in tests/conformance/generate/requirements-torch.txt.
# Only needed to regenerate them; the Rust tests read the committed fixtures.
#
# Usage: bash scripts/setup-torch.sh
#        .venv-torch/bin/python tests/conformance/generate/torch_onnx_cases.py
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-torch/bin/python ]; then
    python3.11 -m venv .venv-torch
fi
.venv-torch/bin/pip install --quiet --disable-pip-version-check -r tests/conformance/generate/requirements-torch.txt
