"""tools/register-solc.sh registers a compiler that no clone owns: a second clone, or the
removal of the first, leaves every registration working."""

import os
import subprocess

from scripts._deploy import ROOT


def register(dest):
    env = {**os.environ, "SOLCX_BINARY_PATH": str(dest), "PATH": os.environ["PATH"]}
    # A native solc on PATH would win; this test is about the adapter.
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if not os.path.isfile(f"{p}/solc"))
    return subprocess.run(
        [str(ROOT / "tools" / "register-solc.sh")], env=env, capture_output=True, text=True
    )


def test_the_registered_adapter_is_a_shared_copy_that_runs_outside_any_clone(tmp_path):
    proc = register(tmp_path)
    assert proc.returncode == 0, proc.stderr
    [wrapper] = tmp_path.glob("solc-v*")
    text = wrapper.read_text()
    assert str(ROOT) not in text and str(tmp_path / "solcjs-") in text
    run = subprocess.run([str(wrapper), "--version"], cwd="/", capture_output=True, text=True)
    assert run.returncode == 0 and "Version: 0.8." in run.stdout
    stamp = next(tmp_path.glob("solcjs-*/.installed"))
    before = stamp.stat().st_mtime_ns
    assert register(tmp_path).returncode == 0  # idempotent: nothing copied again
    assert stamp.stat().st_mtime_ns == before
