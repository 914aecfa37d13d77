#!/usr/bin/env bash
# Create/refresh .venv-bench-compiled, the environment of bench/compiled/run.py: the model makers
# at the project's versions plus the compiled peers (lleaves, treelite + tl2cgen, skl2onnx +
# ONNX Runtime), all pinned in bench/compiled/requirements.txt. A venv of its own so the LLVM and
# ONNX pins never touch the project's .venv. tl2cgen builds C with gcc, which must be installed.
#
# Usage: bash bench/compiled/setup.sh      (env: PYTHON=... for another CPython 3.11;
#                                           VENV=... for another venv folder)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-bench-compiled}"
PY="${PYTHON:-python3.11}"
REQ="$ROOT/bench/compiled/requirements.txt"

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "compiled setup: $PY not found; set PYTHON to a CPython 3.11" >&2
    exit 1
fi
if ! command -v gcc >/dev/null 2>&1; then
    echo "compiled setup: gcc not found: tl2cgen needs it to build its C (apt-get install gcc)" >&2
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "compiled setup: creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
pip install -r "$REQ"

# Import each peer, and report every one that fails rather than stopping at the first.
"$VENV/bin/python" - <<'PY'
import importlib, importlib.metadata
for name, dist in (("numpy", "numpy"), ("pyarrow", "pyarrow"), ("xgboost", "xgboost-cpu"),
                   ("lightgbm", "lightgbm"), ("sklearn", "scikit-learn"), ("lleaves", "lleaves"),
                   ("llvmlite", "llvmlite"), ("treelite", "treelite"), ("tl2cgen", "tl2cgen"),
                   ("skl2onnx", "skl2onnx"), ("onnxruntime", "onnxruntime")):
    try:
        importlib.import_module(name)
        print(f"  {name} {importlib.metadata.version(dist)}")
    except Exception as e:
        print(f"  {name}: NOT importable ({type(e).__name__}: {e})")
PY
echo "compiled setup: ok ($VENV)"
