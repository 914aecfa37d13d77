#!/usr/bin/env bash
# Install headless Chromium (Debian's `chromium` package) for the report rendering check, if it
# is not already on PATH. Runs apt-get directly (the test machines run as root, without sudo).
#
# Usage: bash scripts/setup-chromium.sh        (prints the browser path on success)
set -euo pipefail

find_chromium() {
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if path="$(find_chromium)"; then
    echo "setup-chromium: $path"
    exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
    echo "setup-chromium: chromium is missing and we are not root; run: apt-get install chromium" >&2
    exit 1
fi

echo "setup-chromium: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

path="$(find_chromium)" || { echo "setup-chromium: chromium still not found after install" >&2; exit 1; }
echo "setup-chromium: $path"
