#!/usr/bin/env bash
# Render a `scorewell eval` report in headless Chromium and check the screenshot: installs
# Debian's chromium first if it is missing (scripts/setup-chromium.sh), then runs the ignored
# CLI test `eval::report_renders_in_headless_chromium`.
#
# Usage: bash scripts/check-report.sh     (SCOREWELL_REPORT_SHOT=DIR keeps report.png there)
set -euo pipefail
cd "$(dirname "$0")/.."

browser="$(bash scripts/setup-chromium.sh | sed -n 's/^setup-chromium: //p' | tail -n1)"
echo "== report rendering check with $browser"
SCOREWELL_CHROMIUM="$browser" cargo test --locked -q -p scorewell-cli --test cli \
    eval::report_renders_in_headless_chromium -- --ignored --exact
