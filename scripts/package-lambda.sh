#!/usr/bin/env bash
# Build the AWS Lambda package: target/lambda/scorewell-lambda.zip holding one executable,
# `bootstrap`, for the provided.al2023 runtime (x86_64). Checks that the binary needs no
# glibc newer than Amazon Linux 2023's 2.34, and prints the zipped and unzipped sizes.
#
# Usage: bash scripts/package-lambda.sh           (env: CARGO_TARGET_DIR to reuse a build)
# Deploy: see docs/DEPLOY.md (Runtime: provided.al2023, Handler: bootstrap,
#         env SCOREWELL_MODEL=s3://bucket/model.zip [SCOREWELL_MODEL_SHA256=<hex>]).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
out="$PWD/target/lambda"
max_glibc="2.34"

echo "package-lambda: building bootstrap (profile lambda)"
cargo build --locked --profile lambda -p scorewell-lambda --bin bootstrap
bin="$target/lambda/bootstrap"

# The newest GLIBC_x.y symbol version the binary asks for must be available on AL2023.
needed=$(python3 - "$bin" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
versions = {tuple(int(p) for p in m.group(1).decode().split("."))
            for m in re.finditer(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)\x00", data)}
print(".".join(map(str, max(versions))) if versions else "none")
PY
)
if [[ "$needed" != "none" ]] && [[ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ]]; then
    echo "package-lambda: bootstrap needs GLIBC_$needed; provided.al2023 has $max_glibc" >&2
    exit 1
fi

mkdir -p "$out"
python3 - "$bin" "$out/scorewell-lambda.zip" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
tmp = dst + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16   # a regular, executable file
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(src, "rb") as f:
        z.writestr(info, f.read(), compresslevel=9)
os.replace(tmp, dst)
PY
unzipped=$(stat -c %s "$bin")
zipped=$(stat -c %s "$out/scorewell-lambda.zip")
echo "package-lambda: $out/scorewell-lambda.zip: ${zipped} bytes zipped, ${unzipped} bytes unzipped (bootstrap), needs GLIBC_${needed}"
