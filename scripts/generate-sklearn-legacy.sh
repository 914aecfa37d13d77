#!/usr/bin/env bash
# Write the legacy scikit-learn fixtures (tests/conformance/sklearn/cases/legacy_1_2_*):
# models fitted, saved and scored by scikit-learn 1.2.2 in its own venv (.venv-sklearn12,
# pinned by tests/conformance/sklearn/requirements-legacy.txt). Touches no other case.
#
# Usage: bash scripts/generate-sklearn-legacy.sh [generate.py options, e.g. --out DIR]
#        (env: PYTHON=python3.11 to pick the interpreter; VENV=... for another venv path)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/tests/conformance/sklearn/requirements-legacy.txt"
VENV="${VENV:-$ROOT/.venv-sklearn12}"
PY="${PYTHON:-python3.11}"   # scikit-learn 1.2.2 / numpy 1.26 have no wheels past CPython 3.12
STAMP="$VENV/.requirements.sha256"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "generate-sklearn-legacy: creating $VENV ($("$PY" --version 2>&1))"
        "$PY" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
    echo "$want" > "$STAMP"
fi

"$VENV/bin/python" -c 'import sklearn, numpy; print("generate-sklearn-legacy: scikit-learn",
    sklearn.__version__, " numpy", numpy.__version__)'
exec "$VENV/bin/python" "$ROOT/tests/conformance/sklearn/generate.py" --legacy "$@"
