#!/usr/bin/env bash
# Registers a Solidity compiler where py-solc-x (and so ape-solidity) looks for one:
# $SOLCX_BINARY_PATH, or ~/.solcx by default, as solc-v<version>.
# A native solc of the pinned version on PATH wins; otherwise a wrapper over the solc-js
# adapter (tools/solc.js over npm `solc`, installed by `npm ci`), copied with its packages to
# $dest/solcjs-<version> so that every clone on the machine shares one registration that no
# clone's removal breaks. Idempotent.
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
  # A copy of the adapter and of npm `solc` with what it needs (tools/solc-closure.js), kept
  # in $dest and shared by every clone: deleting or moving a clone breaks no other one.
  home="$dest/solcjs-$version"
  stamp="$version $(sha256sum "$repo/tools/solc.js" | cut -d' ' -f1)"
  if [ "$(cat "$home/.installed" 2>/dev/null)" != "$stamp" ]; then
    fresh=$(mktemp -d "$dest/.solcjs-XXXXXX")
    cp "$repo/tools/solc.js" "$fresh/solc.js"
    while IFS=$'\t' read -r name dir; do
      mkdir -p "$fresh/node_modules/$(dirname "$name")"
      cp -R "$dir" "$fresh/node_modules/$name"
    done < <(node "$repo/tools/solc-closure.js")
    printf '%s\n' "$stamp" > "$fresh/.installed"
    rm -rf "$home.old"
    if [ -d "$home" ]; then mv "$home" "$home.old"; fi
    mv "$fresh" "$home"
    rm -rf "$home.old"
  fi
  want="#!/bin/sh
exec node '$home/solc.js' \"\$@\""
  kind="solc-js adapter (shared copy in $home)"
fi
if [ ! -x "$target" ] || [ "$(cat "$target")" != "$want" ]; then
  printf '%s\n' "$want" > "$target"
  chmod +x "$target"
fi
"$target" --version | grep -q "Version: $version" || { echo "registered solc at $target does not run" >&2; exit 1; }
echo "solc $version: $kind at $target"
