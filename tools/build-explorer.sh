#!/usr/bin/env bash
# Builds the explorer (explorer/: index.html, src/*.js, src/app.css) into oracle/explorer/, which
# the oracle's API serves at /explorer/. The libraries (ethers, h3-js) come from node_modules
# (package-lock.json) and are bundled with esbuild: the page fetches nothing from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
out=oracle/explorer
mkdir -p "$out"
start=$(date +%s%N)
esbuild explorer/src/main.js --bundle --minify --format=esm --target=es2022 \
  --sourcemap --legal-comments=none --log-level=warning --outfile="$out/app.js"
cp explorer/index.html "$out/index.html"
cp explorer/src/app.css "$out/app.css"
echo "explorer: built $out/app.js ($(( $(stat -c %s "$out/app.js") / 1024 )) KiB) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
