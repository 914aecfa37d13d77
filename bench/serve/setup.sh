#!/usr/bin/env bash
# Install what bench/serve/run.py needs on top of the project venv: FastAPI and uvicorn for the
# baseline. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$ROOT/scripts/setup-python.sh"
"$ROOT/.venv/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/bench/serve/requirements.txt"
echo "bench/serve: ok"
