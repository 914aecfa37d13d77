#!/usr/bin/env bash
# Build legacy-library venvs and generate conformance cases from older producer versions.
# Cases land next to the main ones (names carry the producer version). They are committed;
# CI does not run this script. Each venv is (re)built only when its requirements changed.
#
# Usage: bash scripts/generate-legacy.sh [xgb17|xgb21|lgb3 ...]   (default: all)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GEN="$ROOT/tests/conformance/generate"
PY="${PYTHON:-python3}"

# Which cases each legacy venv produces (exact case suffixes for generate.py --case).
declare -A PRODUCER=([xgb17]=xgboost [xgb21]=xgboost [lgb3]=lightgbm)
declare -A ONLY=(
  [xgb17]="binary_logistic binary_logistic_ubj multi_softprob reg_squarederror dart missing_nan_null inf_inputs categorical_partition base_score_0_3 gblinear"
  [xgb21]="binary_logistic binary_logistic_ubj multi_softprob reg_squarederror dart missing_nan_null inf_inputs categorical_ubj multi_quantile multi_target_tree multi_target_tree_softprob gblinear gblinear_softprob"
  [lgb3]="binary multiclass regression_sqrt rf dart missing_nan_null zero_as_missing inf_inputs categorical linear_tree"
)

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(xgb17 xgb21 lgb3)

for t in "${targets[@]}"; do
  req="$GEN/requirements-legacy-$t.txt"
  venv="$ROOT/.venv-$t"
  stamp="$venv/.requirements.sha256"
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "== building $venv"
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    echo "$want" > "$stamp"
  fi
  args=(--producer "${PRODUCER[$t]}")
  for s in ${ONLY[$t]}; do args+=(--case "$s"); done
  echo "== generating with $t"
  "$venv/bin/python" "$GEN/generate.py" "${args[@]}"
done
