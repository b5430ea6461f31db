"""The shipped example configs (config/*.example.toml) are valid as written: every key they
set or show commented out is one the daemons accept."""

import re

from oracle.agent.config import AgentConfig
from oracle.service.config import OracleConfig
from oracle.tomlconfig import read_toml
from scripts._deploy import ROOT


def uncommented(text: str) -> str:
    """The example with its commented-out key lines and tables enabled."""
    return re.sub(r"^# ((\[|\"?[a-z0-9_]+\"? = ).*)$", r"\1", text, flags=re.M)


def test_the_oracle_example_validates_with_and_without_its_commented_keys(tmp_path):
    example = ROOT / "config" / "oracle.example.toml"
    (tmp_path / "cfg").mkdir()
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "local.json").write_text("{}")
    (tmp_path / "cfg" / "operator.json").write_text("{}")
    for text in (example.read_text(), uncommented(example.read_text())):
        path = tmp_path / "cfg" / "oracle.toml"
        path.write_text(text)
        raw = read_toml(path, ValueError)
        cfg = OracleConfig.model_validate(raw, context={"base": path.parent})
        assert cfg.operator.keystore == "operator.json"
    assert "peers" in uncommented(example.read_text())


def test_the_agent_example_validates_for_every_kind(tmp_path):
    text = uncommented((ROOT / "config" / "agent.example.toml").read_text())
    text = text.replace('marketplace = "0x..."', 'marketplace = "0x' + "12" * 20 + '"')
    text = re.sub(r"oracles = \[.*?\]", 'oracles = ["0x' + "34" * 20 + '"]', text)
    for kind in ("compute", "storage", "wireless"):
        path = tmp_path / "agent.toml"
        path.write_text(text.replace('kind = "compute"', f'kind = "{kind}"'))
        cfg = AgentConfig.model_validate(read_toml(path, ValueError), context={"base": tmp_path})
        assert cfg.agent.kind == kind and cfg.agent.hw_class == 3
