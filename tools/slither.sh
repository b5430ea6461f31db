#!/usr/bin/env bash
# Static analysis of contracts/ with slither, gated by a baseline: fails when a high- or
# medium-impact finding is not listed in slither-baseline.txt (matched on detector + contract +
# function, not on line numbers). Slither runs from its own virtualenv (.venv-slither, pinned by
# requirements-slither.lock, created here when missing or stale) and compiles through the
# registered solc (tools/register-solc.sh) in one standard-json compilation: nothing is
# downloaded but the PyPI packages. Output: .slither/ (git-ignored).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/node_modules/.bin:$PATH"
PYTHON=${PYTHON:-python3.11}
venv=.venv-slither
stamp=$venv/.lock-installed

if [ ! -x "$venv/bin/slither" ] || ! cmp -s requirements-slither.lock "$stamp"; then
  echo "slither: installing requirements-slither.lock into $venv"
  test -x "$venv/bin/python" || "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-slither.lock
  cp requirements-slither.lock "$stamp"
fi

version=$(node -p "require('./node_modules/solc/package.json').version")
solc="${SOLCX_BINARY_PATH:-$HOME/.solcx}/solc-v$version"
[ -x "$solc" ] || tools/register-solc.sh >/dev/null

mkdir -p .slither
report=.slither/report.json
rm -f "$report"
# Exit status 255 only means "findings"; the gate below decides. A failed compilation leaves
# no report (or success: false), which the gate reports as an error.
"$venv/bin/slither" contracts/ \
  --solc "$solc" \
  --solc-standard-json \
  --solc-remaps "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/" \
  --filter-paths "node_modules|contracts/test/" \
  --exclude-dependencies \
  --json "$report" >.slither/output.txt 2>&1 || true
"$venv/bin/python" tools/slither_gate.py "$report" slither-baseline.txt --log .slither/output.txt
