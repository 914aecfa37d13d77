#!/usr/bin/env bash
# Create/refresh the project-local Python venv (.venv) used by the conformance
# generators. Idempotent: skips pip when .venv/.requirements.sha256 matches the
# hash of tests/conformance/requirements.txt.
#
# Usage: bash scripts/setup-python.sh            (env: PYTHON=python3.11 to pick the interpreter)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/tests/conformance/requirements.txt"
VENV="${VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"

hash_file() { sha256sum "$1" | cut -d' ' -f1; }
want="$(hash_file "$REQ")"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    echo "setup-python: $VENV up to date"
    exit 0
fi

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "setup-python: need Python >= 3.10 (got $("$PY" --version 2>&1))" >&2
    exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup-python: creating $VENV"
    if ! "$PY" -m venv "$VENV"; then
        echo "setup-python: 'python3 -m venv' failed; on Debian: apt-get install python3-venv" >&2
        exit 1
    fi
fi

"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"

# LightGBM's wheel links the system OpenMP runtime (libgomp.so.1).
if ! "$VENV/bin/python" -c 'import lightgbm, xgboost' 2>/dev/null; then
    "$VENV/bin/python" -c 'import lightgbm, xgboost' || true
    echo "setup-python: import failed; on Debian you may need: apt-get install libgomp1" >&2
    exit 1
fi

echo "$want" > "$STAMP"
"$VENV/bin/python" - <<'PY'
import lightgbm, numpy, pandas, pyarrow, sklearn, xgboost
print("setup-python: ok  xgboost", xgboost.__version__, " lightgbm", lightgbm.__version__,
      " numpy", numpy.__version__, " pandas", pandas.__version__, " pyarrow", pyarrow.__version__,
      " sklearn", sklearn.__version__)
PY
