#!/usr/bin/env bash
# Create/refresh .venv-bench-nn, the environment of bench/nn/run.py: TensorFlow (CPU, Keras 3
# bundled), tf2onnx, onnx and ONNX Runtime, all pinned in bench/nn/requirements.txt. A venv of
# its own so TensorFlow's numpy/protobuf/h5py pins never touch the project's .venv. scorewell's
# Python package is timed from the project's .venv (bash scripts/setup-python-package.sh).
#
# Usage: bash bench/nn/setup.sh      (env: PYTHON=... for another CPython 3.11;
#                                     VENV=... for another venv folder)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-bench-nn}"
PY="${PYTHON:-python3.11}"
REQ="$ROOT/bench/nn/requirements.txt"

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "nn setup: $PY not found; set PYTHON to a CPython 3.11" >&2
    exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "nn setup: creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
pip install -r "$REQ"

# Import each peer, and report every one that fails rather than stopping at the first.
TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" - <<'PY'
import importlib, importlib.metadata
for name, dist in (("numpy", "numpy"), ("pyarrow", "pyarrow"), ("tensorflow", "tensorflow-cpu"),
                   ("keras", "keras"), ("tf2onnx", "tf2onnx"), ("onnx", "onnx"),
                   ("onnxruntime", "onnxruntime")):
    try:
        importlib.import_module(name)
        print(f"  {name} {importlib.metadata.version(dist)}")
    except Exception as e:
        print(f"  {name}: NOT importable ({type(e).__name__}: {e})")
PY
echo "nn setup: ok ($VENV)"
