"""The forge invariant tests of the contracts (tests/forge, run by tools/forge-invariants.sh) as
one test of this suite, so that `make test` runs them: small locally, 256 runs x depth 100 with
CI=true. On failure the assertion shows forge's summary with the shrunk call sequence."""

import os
import subprocess

from scripts._deploy import ROOT

SCRIPT = ROOT / "tools" / "forge-invariants.sh"
# The CI size took 108 s on 2 cores from a clean build (14 s compiling); the limit is generous.
TIMEOUT_S = 1_200


def test_forge_invariants_hold():
    proc = subprocess.run(
        [str(SCRIPT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=os.environ.copy(),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"forge invariants failed (exit {proc.returncode}):\n{output[-20_000:]}"
    )
    assert "0 failed" in output and "[PASS] invariant_" in output, output[-5_000:]
