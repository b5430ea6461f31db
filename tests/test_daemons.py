"""The daemons' command lines: --version, a checked --log-level, clean errors (no traceback)
for a bad config and a busy port."""

import json
import socket

import pytest
from eth_account import Account

from oracle.__main__ import main as oracle_main
from oracle.agent.__main__ import main as agent_main


@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield sock.getsockname()[1]
    sock.close()


def keystore(tmp_path):
    acct = Account.create()
    (tmp_path / "key.json").write_text(json.dumps(Account.encrypt(acct.key, "pw", iterations=2)))
    (tmp_path / "pass").write_text("pw\n")


def oracle_config(tmp_path, port: int):
    keystore(tmp_path)
    (tmp_path / "deployment.json").write_text("{}")
    path = tmp_path / "oracle.toml"
    path.write_text(
        '[chain]\nrpc_url = "http://127.0.0.1:9"\ndeployment = "deployment.json"\n'
        '[operator]\nkeystore = "key.json"\npassword_file = "pass"\n'
        f'[store]\npath = "o.sqlite"\n[api]\nport = {port}\n'
    )
    return path


def agent_config(tmp_path, port: int):
    keystore(tmp_path)
    path = tmp_path / "agent.toml"
    path.write_text(
        '[agent]\nkind = "compute"\nchain_id = 31337\nkeystore = "key.json"\n'
        f'password_file = "pass"\nport = {port}\n'
    )
    return path


@pytest.mark.parametrize(
    ("main", "prog"), [(oracle_main, "plinth-oracle"), (agent_main, "plinth-agent")]
)
def test_version_names_the_program_and_the_package_version(main, prog, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.split()
    assert out[0] == prog and out[1][0].isdigit()


def test_a_bad_log_level_is_a_usage_error_not_a_traceback(tmp_path, capsys):
    for main, argv in (
        (oracle_main, ["run", "--config", "x.toml", "--log-level", "loud"]),
        (agent_main, ["--config", "x.toml", "--log-level", "loud"]),
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "invalid choice: 'LOUD'" in capsys.readouterr().err


def test_a_busy_port_is_one_clear_line_before_anything_starts(tmp_path, busy_port, capsys):
    """The oracle binds its API before it reaches the chain (its RPC here is unreachable)."""
    assert oracle_main(["run", "--config", str(oracle_config(tmp_path, busy_port))]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{busy_port}: the port is in use" in err
    assert "[api] host/port" in err and "Traceback" not in err
    (tmp_path / "agent").mkdir()
    assert agent_main(["--config", str(agent_config(tmp_path / "agent", busy_port))]) == 2
    err = capsys.readouterr().err
    assert "the port is in use" in err and "agent.host/agent.port" in err


def test_a_missing_or_bad_config_is_an_error_message(tmp_path, capsys):
    assert oracle_main(["run", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err
    (tmp_path / "agent.toml").write_text('[agent]\nkind = "compute"\n[comittee]\n')
    assert agent_main(["--config", str(tmp_path / "agent.toml")]) == 2
    err = capsys.readouterr().err
    assert "unknown table [comittee]" in err and "agent.chain_id: required" in err
