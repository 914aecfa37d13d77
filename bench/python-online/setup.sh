#!/usr/bin/env bash
# Create/refresh .venv-bench-online, a venv of its own for bench/python-online/run.py: the
# project's pinned libraries (tests/conformance/requirements.txt, as scripts/setup-python.sh
# installs into .venv) plus the peers in bench/python-online/requirements.txt (ONNX Runtime,
# onnxmltools, lleaves), then the scorewell wheel from target/wheels/ if one is there.
# Separate from .venv so ONNX/LLVM pins never touch the project's own environment.
#
# Usage: bash bench/python-online/setup.sh     (env: PYTHON=... to pick the base interpreter;
#                                                WHEEL=path/to/scorewell-*.whl to pick the wheel)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-bench-online}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"   # the project venv's interpreter (CPython 3.11)
BASE_REQ="$ROOT/tests/conformance/requirements.txt"
REQ="$ROOT/bench/python-online/requirements.txt"

if [[ ! -x "$PY" ]]; then
    echo "python-online setup: $PY missing; run 'bash scripts/setup-python.sh' first (or set PYTHON)" >&2
    exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "python-online setup: creating $VENV from $PY"
    "$PY" -m venv "$VENV"
fi

pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
pip install -r "$BASE_REQ" -r "$REQ"

# The scorewell package itself: the newest wheel maturin left in target/wheels/. Without one
# run.py still times the peers and the `scorewell bench` CLI, and says scorewell is missing.
WHEEL="${WHEEL:-$(ls -t "$ROOT"/target/wheels/scorewell-*.whl 2>/dev/null | head -n 1 || true)}"
if [[ -n "$WHEEL" ]]; then
    echo "python-online setup: installing $(basename "$WHEEL")"
    pip install --no-deps --force-reinstall "$WHEEL"
else
    echo "python-online setup: no target/wheels/scorewell-*.whl; build one with maturin (see python/README.md)" >&2
fi

"$VENV/bin/python" - <<'PY'
import importlib, importlib.metadata
for name in ("numpy", "pandas", "pyarrow", "xgboost", "lightgbm", "onnx", "onnxruntime",
             "onnxmltools", "llvmlite", "lleaves", "scorewell"):
    try:
        mod = importlib.import_module(name)
        print(f"  {name} {getattr(mod, '__version__', None) or importlib.metadata.version(name)}")
    except Exception as e:  # report every missing piece, not just the first
        print(f"  {name}: NOT importable ({type(e).__name__}: {e})")
PY
echo "python-online setup: ok ($VENV)"
