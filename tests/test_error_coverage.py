"""Every custom error declared in interfaces/ and contracts/ is named by at least one test that
expects it (`<contract>.<Error>` in an ape.reverts / reverts_nested, or a selector check).
A guard against adding an error without a test; the tests themselves prove the behaviour."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ERROR = re.compile(r"^\s*error\s+(\w+)\s*\(", re.MULTILINE)


def declared_errors() -> dict[str, str]:
    found = {}
    for folder in ("interfaces", "contracts"):
        for path in (ROOT / folder).rglob("*.sol"):
            if ".cache" in path.parts:
                continue
            for name in ERROR.findall(path.read_text()):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_every_custom_error_is_expected_by_a_test():
    tests = "\n".join(
        p.read_text() for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name
    )
    errors = declared_errors()
    assert len(errors) > 50
    untested = {
        name: where
        for name, where in errors.items()
        if not re.search(rf"\.{name}\b|\"{name}\(|'{name}\(", tests)
    }
    assert not untested, f"custom errors no test expects: {untested}"
