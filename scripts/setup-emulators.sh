#!/usr/bin/env bash
# Install the cloud storage emulators the remote-model tests start: Azurite (Azure Blob
# Storage), pinned in tests/emulators/package-lock.json, into tests/emulators/node_modules.
# (SeaweedFS for S3 and fake-gcs-server for GCS come from PyPI with scripts/setup-python.sh.)
# Idempotent: skips npm when the installed lock matches. Needs Node.js and npm (Debian: nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../tests/emulators"

if ! command -v npm >/dev/null; then
    # The test machines run as root without sudo (as scripts/setup-chromium.sh assumes).
    if [[ "$(id -u)" != 0 ]]; then
        echo "setup-emulators: npm is missing and we are not root; run: apt-get install nodejs npm" >&2
        exit 1
    fi
    echo "setup-emulators: installing nodejs and npm with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -x node_modules/.bin/azurite-blob && "$(cat node_modules/.lock.sha256 2>/dev/null)" == "$want" ]]; then
    echo "setup-emulators: up to date"
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > node_modules/.lock.sha256
echo "setup-emulators: azurite $(node_modules/.bin/azurite-blob --version)"
