#!/usr/bin/env bash
# Regenerate the Spark conformance cases (tests/conformance/spark/cases/spark_<ver>_*) with real
# Spark in local mode: PySpark 4.3.0 from the project venv (scripts/setup-python-package.sh) and
# PySpark 3.5.5, pip-installed on the side into .venv-spark35/ (a plain --target folder that reuses the venv's
# numpy/pyarrow). Needs Java 17. Not part of scripts/test.sh: CI scores the committed cases.
#
# Usage: bash scripts/generate-spark-cases.sh [case ...]      (env: SPARK_VERSIONS="4.3 3.5")
# Wall time on 2 busy cores: about 4-6 min for 4.3, 1.5 min install + 3 min for 3.5.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
GEN="$ROOT/tests/conformance/spark/generate.py"
SIDE="$ROOT/.venv-spark35"

for v in ${SPARK_VERSIONS:-4.3 3.5}; do
    case "$v" in
        4.3)
            "$PY" "$GEN" "$@"
            ;;
        3.5)
            if [[ ! -d "$SIDE/pyspark" ]]; then
                "$PY" -m pip install --disable-pip-version-check -q --target "$SIDE" --no-deps \
                    "pyspark==3.5.5" "py4j==0.10.9.7"
            fi
            PYTHONPATH="$SIDE" SPARK_HOME="$SIDE/pyspark" "$PY" "$GEN" "$@"
            ;;
        *)
            echo "generate-spark-cases: unknown Spark version $v (4.3 or 3.5)" >&2
            exit 2
            ;;
    esac
done
