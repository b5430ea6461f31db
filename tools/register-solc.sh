#!/usr/bin/env bash
# Registers a Solidity compiler where py-solc-x (and so ape-solidity) looks for one:
# $SOLCX_BINARY_PATH, or ~/.solcx by default, as solc-v<version>.
# A native solc of the pinned version on PATH wins; otherwise a wrapper over the solc-js
# adapter in tools/solc.js (npm `solc`, installed by `npm ci`). Idempotent.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p "require('$repo/node_modules/solc/package.json').version")
dest=${SOLCX_BINARY_PATH:-$HOME/.solcx}
target="$dest/solc-v$version"
mkdir -p "$dest"

if native=$(command -v solc 2>/dev/null) && "$native" --version | grep -q "Version: $version+"; then
  want="#!/bin/sh
exec '$native' \"\$@\""
  kind="native solc ($native)"
else
  want="#!/bin/sh
exec node '$repo/tools/solc.js' \"\$@\""
  kind="solc-js adapter"
fi
if [ ! -x "$target" ] || [ "$(cat "$target")" != "$want" ]; then
  printf '%s\n' "$want" > "$target"
  chmod +x "$target"
fi
"$target" --version | grep -q "Version: $version" || { echo "registered solc at $target does not run" >&2; exit 1; }
echo "solc $version: $kind at $target"
