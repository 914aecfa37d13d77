#!/usr/bin/env bash
# The Keras conformance venv (.venv-keras): Keras 3 on the JAX CPU backend, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-keras/bin/python ]; then
    python3 -m venv .venv-keras
fi
.venv-keras/bin/pip install --quiet --disable-pip-version-check -r tests/conformance/generate/requirements-keras.txt
