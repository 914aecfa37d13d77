#!/usr/bin/env bash
# The tf-keras (Keras 2) fixture venv (.venv-tfkeras): TensorFlow CPU + tf-keras, pinned. Only for
# regenerating the committed Keras 2 conformance fixtures; the test suite never needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-tfkeras/bin/python ]; then
    python3 -m venv .venv-tfkeras
fi
.venv-tfkeras/bin/pip install --quiet --disable-pip-version-check -r tests/conformance/generate/requirements-tfkeras.txt
# tf-keras requires `tensorflow`, which tensorflow-cpu provides under another distribution name.
.venv-tfkeras/bin/pip install --quiet --disable-pip-version-check --no-deps tf-keras==2.21.0
