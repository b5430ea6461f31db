"""NatSpec coverage of the Solidity sources (pure text, no chain).

- Every `error` and `event` declared in interfaces/*.sol and contracts/**/*.sol is immediately
  preceded by a NatSpec comment (`///` lines or a `/** ... */` block) saying when it is
  raised or emitted.
- Every privileged function (the `onlyOwner` modifier, a body that calls `_only(...)`, the
  wired-contract check of Governed, or one that checks `msg.sender` against a stored role such
  as the guardian or the minter) has NatSpec, in the contract or in the interface declaration
  it inherits with `@inheritdoc`, that says what its caller can do: "It has the power to ...".
"""

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POWER = "It has the power to"

# Comments and string literals, which the code scan must not read (keywords, braces).
_NOISE = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
_DECL = re.compile(r"^[ \t]*(error|event)\s+(\w+)\s*\(", re.MULTILINE)
_UNIT = re.compile(r"\b(?:abstract\s+contract|contract|interface|library)\s+(\w+)[^{;]*\{")
_FUNCTION = re.compile(r"\bfunction\s+(\w+)\s*\(")


def sources() -> list[Path]:
    paths = sorted((ROOT / "interfaces").glob("*.sol"))
    paths += sorted(p for p in (ROOT / "contracts").rglob("*.sol") if ".cache" not in p.parts)
    return paths


def blank(text: str) -> str:
    """`text` with comments and strings replaced by spaces (newlines and offsets kept)."""
    return _NOISE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def natspec_above(lines: list[str], index: int) -> str:
    """The NatSpec block ending on the line just above line `index` ('' if none)."""
    i = index - 1
    if i >= 0 and lines[i].strip().startswith("///"):
        start = i
        while start > 0 and lines[start - 1].strip().startswith("///"):
            start -= 1
        return "\n".join(line.strip()[3:].strip() for line in lines[start:index])
    if i >= 0 and lines[i].strip().endswith("*/"):
        start = i
        while start >= 0 and "/*" not in lines[start]:
            start -= 1
        if start >= 0 and "/**" in lines[start]:
            return "\n".join(lines[start:index])
    return ""


def matching_brace(code: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(code)):
        if code[i] == "{":
            depth += 1
        elif code[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


@dataclass
class Function:
    where: str
    unit: str
    name: str
    header: str
    body: str
    doc: str


def parse(path: Path, root: Path = ROOT) -> tuple[list[tuple[str, str, str]], list[Function]]:
    """(error and event declarations as (where, kind, name) with no NatSpec, functions)."""
    text = path.read_text()
    code = blank(text)
    lines = text.splitlines()
    rel = path.relative_to(root)

    def line_of(offset: int) -> int:
        return code.count("\n", 0, offset)

    undocumented = []
    for m in _DECL.finditer(code):
        line = line_of(m.start())
        if not natspec_above(lines, line):
            undocumented.append((f"{rel}:{line + 1}", m.group(1), m.group(2)))

    functions = []
    for unit in _UNIT.finditer(code):
        end = matching_brace(code, unit.end() - 1)
        for m in _FUNCTION.finditer(code, unit.end(), end):
            stop = min(
                (i for i in (code.find("{", m.end()), code.find(";", m.end())) if i != -1),
                default=len(code),
            )
            body = code[stop : matching_brace(code, stop) + 1] if code[stop] == "{" else ""
            line = line_of(m.start())
            functions.append(
                Function(
                    where=f"{rel}:{line + 1}",
                    unit=unit.group(1),
                    name=m.group(1),
                    header=" ".join(code[m.start() : stop].split()),
                    body=body,
                    doc=natspec_above(lines, line),
                )
            )
    return undocumented, functions


def parse_all() -> tuple[list[tuple[str, str, str]], list[Function]]:
    undocumented, functions = [], []
    for path in sources():
        u, f = parse(path)
        undocumented += u
        functions += f
    return undocumented, functions


def is_privileged(f: Function) -> bool:
    """Owner only (or owner and deployer: `onlyWiring`), a wired contract only (`_only`), or a
    stored role only (guardian, minter, the timelock itself)."""
    if re.search(r"\b(?:internal|private)\b", f.header):
        return False
    return bool(
        re.search(r"\bonly(?:Owner|Wiring)\b", f.header)
        or re.search(r"\b_only\s*\(", f.body)
        or re.search(r"\bmsg\.sender\s*!=\s*(?:_\w+|address\(this\))", f.body)
    )


def full_doc(f: Function, by_unit: dict[tuple[str, str], list[Function]]) -> str:
    """The function's NatSpec plus, through `@inheritdoc`, its base declaration's."""
    doc = f.doc
    base = re.search(r"@inheritdoc\s+(\w+)", doc)
    if base:
        for declared in by_unit.get((base.group(1), f.name), []):
            doc += "\n" + full_doc(declared, by_unit)
    return doc


def test_every_error_and_event_has_natspec():
    undocumented, _ = parse_all()
    declared = sum(len(_DECL.findall(blank(p.read_text()))) for p in sources())
    assert declared > 100, "the parser found too few error and event declarations"
    listing = "\n".join(f"  {where}: {kind} {name}" for where, kind, name in undocumented)
    assert not undocumented, f"{len(undocumented)} declarations without NatSpec:\n{listing}"


def test_every_privileged_function_says_its_power():
    _, functions = parse_all()
    by_unit: dict[tuple[str, str], list[Function]] = {}
    for f in functions:
        by_unit.setdefault((f.unit, f.name), []).append(f)
    privileged = [f for f in functions if is_privileged(f)]
    assert len(privileged) > 20, "the parser found too few privileged functions"
    missing = [f for f in privileged if POWER not in " ".join(full_doc(f, by_unit).split())]
    listing = "\n".join(f"  {f.where}: {f.unit}.{f.name}" for f in missing)
    assert not missing, f"{len(missing)} privileged functions without '{POWER}':\n{listing}"


def test_parser_reads_multiline_declarations_and_inheritdoc(tmp_path):
    sol = tmp_path / "X.sol"
    sol.write_text(
        "interface I {\n"
        "    /// @notice Raised when.\n"
        "    error A(uint256 a);\n"
        "    event B(\n"
        "        uint256 b\n"
        "    );\n"
        "    /// @notice Sets. It has the power to set.\n"
        "    function f() external;\n"
        "}\n"
        "contract C is I {\n"
        '    string s = "{ event D(";\n'
        "    /// @inheritdoc I\n"
        "    function f()\n"
        "        external\n"
        "        onlyOwner\n"
        "    {}\n"
        "    function g() external { _only(x); }\n"
        "}\n"
    )
    undocumented, functions = parse(sol, root=tmp_path)
    assert [(kind, name) for _, kind, name in undocumented] == [("event", "B")]
    by_unit = {}
    for f in functions:
        by_unit.setdefault((f.unit, f.name), []).append(f)
    privileged = {f.name: POWER in full_doc(f, by_unit) for f in functions if is_privileged(f)}
    assert privileged == {"f": True, "g": False}
