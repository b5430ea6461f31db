"""Oracle settings: validated at start-up, with errors that name the field; keys in keystores."""

import json
import re

import pytest
from eth_account import Account

from oracle.service.config import ConfigError, load_settings


@pytest.fixture
def files(tmp_path):
    acct = Account.create()
    (tmp_path / "key.json").write_text(
        json.dumps(Account.encrypt(acct.key, "s3cret", iterations=2))
    )
    (tmp_path / "pass").write_text("s3cret\n")
    (tmp_path / "deployment.json").write_text("{}")
    return tmp_path, acct


def write(tmp_path, body: str):
    p = tmp_path / "oracle.toml"
    p.write_text(body)
    return p


GOOD = """
[chain]
rpc_url = "http://127.0.0.1:8545"
deployment = "deployment.json"
[operator]
keystore = "key.json"
password_file = "pass"
[store]
path = "oracle.sqlite"
[challenges]
concurrency = 32
timeout_s = 3
"""


def test_load_settings_resolves_paths_and_decrypts_the_key(files):
    tmp, acct = files
    s = load_settings(write(tmp, GOOD))
    assert s.store_path == tmp / "oracle.sqlite"
    assert (s.challenges.concurrency, s.challenges.timeout_s, s.api_port) == (32, 3.0, 8700)
    assert s.load_key().address == acct.address


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.replace('"http://127.0.0.1:8545"', '"ftp://x"'), "chain.rpc_url"),
        (
            lambda b: b.replace('deployment = "deployment.json"', 'deployment = "nope.json"'),
            "chain.deployment",
        ),
        (
            lambda b: b.replace('keystore = "key.json"', 'keystore = "nope.json"'),
            "operator.keystore",
        ),
        (lambda b: b.replace('password_file = "pass"', ""), "exactly one of"),
        (lambda b: b.replace("[operator]", '[operator]\nprivate_key = "0x01"'), "never go in"),
        (lambda b: b.replace("concurrency = 32", "concurrency = 0"), "challenges.concurrency"),
        (lambda b: b.replace("timeout_s = 3", 'timeout_s = "3"'), "challenges.timeout_s"),
        (lambda b: b.replace('path = "oracle.sqlite"', ""), "store.path: required"),
        (lambda b: b + "\n[api]\nport = 70000\n", "api.port"),
        (lambda b: b + "\n[[broken", "not valid TOML"),
    ],
)
def test_load_settings_raises_ConfigError_naming_the_field_when_bad(files, edit, message):
    tmp, _ = files
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp, edit(GOOD)))


def test_load_key_raises_ConfigError_when_password_wrong(files):
    tmp, _ = files
    (tmp / "pass").write_text("wrong")
    with pytest.raises(ConfigError, match="wrong password"):
        load_settings(write(tmp, GOOD)).load_key()


def test_load_key_reads_password_from_env(files, monkeypatch):
    tmp, acct = files
    body = GOOD.replace('password_file = "pass"', 'password_env = "PLINTH_TEST_PW"')
    s = load_settings(write(tmp, body))
    with pytest.raises(ConfigError, match="not set"):
        s.load_key()
    monkeypatch.setenv("PLINTH_TEST_PW", "s3cret")
    assert s.load_key().address == acct.address


PEER = "0x" + "ab" * 20


def test_committee_peers_are_read_and_checksummed(files):
    tmp, _ = files
    s = load_settings(write(tmp, GOOD))
    assert s.committee.peers == {}  # alone by default
    body = (
        GOOD + f'[committee]\nleader_timeout_s = 5\n[committee.peers]\n"{PEER}" = "http://b:8700"\n'
    )
    s = load_settings(write(tmp, body))
    assert s.committee.leader_timeout_s == 5.0
    assert list(s.committee.peers.values()) == ["http://b:8700"]
    assert next(iter(s.committee.peers)).lower() == PEER


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('[committee.peers]\n"nope" = "http://b:8700"\n', "is not an address"),
        (f'[committee.peers]\n"{PEER}" = "b:8700"\n', "an http(s) URL"),
        (f'[committee.peers]\n"{PEER}" = 8700\n', "should be a valid string (got 8700)"),
        ("[committee]\nleader_timeout_s = 0\n", "committee.leader_timeout_s"),
        ("[committee]\npeers = 3\n", "[peers] must be a table"),
    ],
)
def test_bad_committee_settings_name_the_field(files, section, message):
    tmp, _ = files
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(write(tmp, GOOD + section))


def test_unknown_tables_and_keys_are_refused_with_the_nearest_name(files):
    """A misspelled [comittee] used to be ignored: the operator ran alone."""
    tmp, _ = files
    body = GOOD + '[comittee.peers]\n"' + PEER + '" = "http://b:8700"\n'
    with pytest.raises(ConfigError, match=re.escape("unknown table [comittee]; did you mean")):
        load_settings(write(tmp, body))
    with pytest.raises(ConfigError, match=re.escape("unknown key challenges.timeout; did you")):
        load_settings(write(tmp, GOOD.replace("timeout_s = 3", "timeout = 3")))


def test_every_problem_is_listed_at_once_with_where_paths_are_relative_to(files):
    tmp, _ = files
    body = (
        GOOD.replace("concurrency = 32", "concurrency = 0")
        .replace('keystore = "key.json"', 'keystore = "nope.json"')
        .replace('"http://127.0.0.1:8545"', '"ftp://x"')
        + "\n[api]\nport = 70000\nhots = 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp, body))
    message = str(info.value)
    assert "5 problems" in message
    assert f"relative paths are relative to {tmp.resolve()}" in message
    for where in ("chain.rpc_url", "operator.keystore", "challenges.concurrency", "api.port"):
        assert where in message
    assert "unknown key api.hots; did you mean 'host'?" in message
    assert str(tmp / "nope.json") in message


def test_browsers_get_the_rpc_url_only_when_local_or_set(files):
    """/deployment gives the explorer an RPC URL: the chain's own when it and the API are on this
    machine and it has no credentials, never a remote provider's (its URL often carries an API
    key), unless [api] names one."""
    tmp, _ = files
    assert load_settings(write(tmp, GOOD)).public_rpc_url == "http://127.0.0.1:8545"
    remote = GOOD.replace("http://127.0.0.1:8545", "https://eth.example/v2/SECRETKEY")
    assert load_settings(write(tmp, remote)).public_rpc_url is None
    exposed = GOOD + '[api]\nhost = "0.0.0.0"\n'  # a remote visitor's 127.0.0.1 is not ours
    assert load_settings(write(tmp, exposed)).public_rpc_url is None
    secret = GOOD.replace("http://127.0.0.1:8545", "http://user:pw@127.0.0.1:8545")
    assert load_settings(write(tmp, secret)).public_rpc_url is None
    named = remote + '[api]\npublic_rpc_url = "https://rpc.example"\n'
    assert load_settings(write(tmp, named)).public_rpc_url == "https://rpc.example"
    with pytest.raises(ConfigError, match=r"api\.public_rpc_url"):
        load_settings(write(tmp, remote + '[api]\npublic_rpc_url = "ftp://x"\n'))
