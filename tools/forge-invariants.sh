#!/usr/bin/env bash
# The forge invariant tests of the contracts (tests/forge): the real suite driven by a handler
# with a ghost model. Small by default (a quick local check); with CI=true, 256 runs x depth 100.
# Override with FOUNDRY_INVARIANT_RUNS / FOUNDRY_INVARIANT_DEPTH; extra arguments go to
# `forge test` (e.g. --match-test invariant_demand_final -vvv).
# Settings: tools/forge.toml (no foundry.toml at the root: it would break Ape's project loading).
# Output: .forge-out and .forge-cache (git-ignored). The compiler is the registered solc
# (tools/register-solc.sh), nothing is downloaded.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/node_modules/.bin:$PATH"
version=$(node -p "require('./node_modules/solc/package.json').version")
solc="${SOLCX_BINARY_PATH:-$HOME/.solcx}/solc-v$version"
[ -x "$solc" ] || tools/register-solc.sh >/dev/null

export FOUNDRY_CONFIG="$repo/tools/forge.toml"
export FOUNDRY_PROFILE=default
if [ "${CI:-}" = "true" ]; then
  export FOUNDRY_INVARIANT_RUNS="${FOUNDRY_INVARIANT_RUNS:-256}"
  export FOUNDRY_INVARIANT_DEPTH="${FOUNDRY_INVARIANT_DEPTH:-100}"
else
  export FOUNDRY_INVARIANT_RUNS="${FOUNDRY_INVARIANT_RUNS:-32}"
  export FOUNDRY_INVARIANT_DEPTH="${FOUNDRY_INVARIANT_DEPTH:-40}"
fi
echo "forge invariants: ${FOUNDRY_INVARIANT_RUNS} runs x depth ${FOUNDRY_INVARIANT_DEPTH}"
exec forge test --use "$solc" "$@"
