#!/usr/bin/env bash
# The HTTP API against its own contract: schemathesis (pinned, in .venv-api) reads /openapi.json
# from a live `scorewell serve` and sends requests generated from it, valid and invalid, to
# every route. It fails on any 5xx, on a status code the document does not declare for that
# route, on a wrong content type or header, on a body that does not match its declared schema,
# and on an invalid request that is accepted. (positive_data_acceptance is left out: a request
# can match the schema and still name columns the model does not have, which is a 400.)
#
# Usage: bash scripts/check-api-contract.sh [SCOREWELL_BINARY]   (default: target/debug/scorewell,
#        built if missing).  SCOREWELL_API_EXAMPLES=N sets examples per operation (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x .venv-api/bin/st ]]; then
    python3 -m venv .venv-api
fi
.venv-api/bin/pip install --quiet --disable-pip-version-check -r tests/api/requirements.txt

exe="${1:-target/debug/scorewell}"
if [[ ! -x "$exe" ]]; then
    cargo build --locked -q -p scorewell-cli
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="contract-check-token"
log=$(mktemp)
# Two models: the fraud bundle (strings and numbers in, a decision out) and its bare XGBoost
# model (numbers only), so both the transform path and the plain model path are exercised.
SCOREWELL_ADMIN_TOKEN="$token" "$exe" serve \
    fraud=examples/fraud/bundle live=examples/fraud/model.json \
    --port "$port" --poll-interval-ms 0 --log-level warn > "$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 300); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/v2/health/ready" 2> /dev/null; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then cat "$log" >&2; exit 1; fi
    sleep 0.1
done

report=$(mktemp -d)
status=0
# Three passes: model names as generated (mostly unknown: the 404 paths), then each served
# model by name, so the generated bodies reach the scoring routes' own validation.
for model in "" live fraud; do
    config="$report/schemathesis-$model.toml"
    if [[ -n "$model" ]]; then
        printf '[parameters]\n"path.name" = "%s"\n"path.version" = "1"\n' "$model" > "$config"
    else
        : > "$config"
    fi
    echo "check-api-contract: pass with model name ${model:-generated}"
    .venv-api/bin/st --config-file "$config" run "http://127.0.0.1:$port/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth \
        --max-examples "${SCOREWELL_API_EXAMPLES:-40}" --seed 1 --workers 2 \
        -H "Authorization: Bearer $token" \
        --report junit --report-dir "$report" --no-color || status=$?
done
if ! kill -0 "$server" 2>/dev/null; then
    echo "check-api-contract: the server died during the run" >&2
    cat "$log" >&2
    status=1
fi
rm -rf "$report"
exit "$status"
