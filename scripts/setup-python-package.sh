#!/usr/bin/env bash
# Build the scorewell Python package into the project venv (.venv) and install what its tests
# need: pinned maturin, pytest and PySpark (python/requirements-dev.txt), and Java 17+ for
# PySpark (Debian's openjdk-17-jre-headless via apt-get when `java` is missing).
#
# The native module is a release build of crates/scorewell-python in the workspace's target/
# (incremental: a no-op rebuild takes seconds), packed as a wheel in target/wheels/ and
# installed, so no build output lands in the source tree.
#
# Usage: bash scripts/setup-python-package.sh     (env: SKIP_JAVA=1 to leave Java alone;
#                                                  SCOREWELL_PY_FEATURES=onnx for ONNX models)
# For a quick edit loop instead: cd python && ../.venv/bin/maturin develop --release
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
REQ="$ROOT/python/requirements-dev.txt"
STAMP="$VENV/.requirements-dev.sha256"

bash "$ROOT/scripts/setup-python.sh"

# Java for PySpark (Spark 4 needs 17 or newer).
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
if [[ "${SKIP_JAVA:-0}" != 1 ]] && { ! command -v java >/dev/null || (( $(java_major) < 17 )); }; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        echo "setup-python-package: installing openjdk-17-jre-headless"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
    else
        echo "setup-python-package: PySpark needs Java 17+; install it (Debian: apt-get install openjdk-17-jre-headless)" >&2
        exit 1
    fi
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
    echo "$want" > "$STAMP"
fi

# Build the wheel (release; reuses target/) and install it over any previous build.
wheels="$ROOT/target/wheels"
rm -f "$wheels"/scorewell-*.whl
# SCOREWELL_PY_FEATURES (comma-separated cargo features of crates/scorewell-python, e.g.
# `onnx`) builds optional model formats into the wheel.
features=()
if [[ -n "${SCOREWELL_PY_FEATURES:-}" ]]; then
    features=(--features "$SCOREWELL_PY_FEATURES")
fi
(cd "$ROOT/python" && VIRTUAL_ENV="$VENV" "$VENV/bin/maturin" build --release --strip --quiet \
    "${features[@]}" --interpreter "$VENV/bin/python" --out "$wheels")
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall "$wheels"/scorewell-*.whl

"$VENV/bin/python" - <<'PY'
import pyspark, scorewell
print("setup-python-package: ok  scorewell", scorewell.__version__, " pyspark", pyspark.__version__)
PY
