"""plinth-radio, the local air for standalone wireless agents: it refuses malformed input with
the reason, and a wireless agent refuses to start without it (rather than answering 503 to
every challenge and being slashed Offline)."""

import json
import socket

import pytest
from eth_account import Account
from plinth_testlib import serving

from oracle.agent.__main__ import main as agent_main
from oracle.agent.radio import HttpRadio, RadioError
from oracle.protocol.coverage import schedule_beacons
from oracle.sim.radio_service import create_radio_app

A, B = Account.create().address, Account.create().address


@pytest.fixture
def air():
    with serving(create_radio_app(seed=3)) as url:
        yield url


def test_a_beacon_is_heard_by_a_radio_in_range_and_not_by_one_far_away(air):
    radio = HttpRadio(air)
    far = Account.create().address
    radio.attach(A, 37.7749, -122.4194, 27.0, 3.0)
    radio.attach(B, 37.7749 + 300 / 111_195, -122.4194, 27.0, 3.0)  # 300 m north
    radio.attach(far, 40.0, -100.0, 27.0, 3.0)  # hundreds of km away
    (beacon,) = schedule_beacons(b"\x01" * 32, 5, [A], 1.7e9)
    heard_by = radio.transmit(beacon, A, b"\x02" * 32)
    assert [h.lower() for h in heard_by] == [B.lower()]
    [report] = radio.heard(B, 5)
    assert report.beacon_hash == beacon.hash
    assert radio.heard(far, 5) == [] and radio.heard(B, 6) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("PUT", f"/radios/{A}", {"lat": 91, "lon": 0}, "lat must be a number"),
        ("PUT", f"/radios/{A}", {"lat": 1, "lon": 2, "power": 3}, "unknown keys"),
        ("PUT", "/radios/0x12", {"lat": 1, "lon": 2}, "not an address"),
        ("PUT", f"/radios/{A}", [1, 2], "must be a JSON object"),
        ("POST", "/transmit", {"epoch": -1}, "epoch"),
        ("POST", "/transmit", {"epoch": 1, "beacon": "x", "secret": "0x00"}, "payload"),
        ("GET", f"/heard/{A}/x", None, "epoch must be a natural number"),
    ],
)
def test_malformed_requests_get_400_with_the_reason(air, method, path, body, message):
    radio = HttpRadio(air)
    with pytest.raises(RadioError, match="answered 400") as info:
        radio._call(method, path, body)
    assert message in str(info.value)


def test_a_node_transmits_only_its_own_beacons_and_only_once_placed(air):
    radio = HttpRadio(air)
    (beacon,) = schedule_beacons(b"\x01" * 32, 5, [A], 1.7e9)
    with pytest.raises(RadioError, match="has no radio here"):
        radio.transmit(beacon, A, b"\x02" * 32)
    radio.attach(A, 1.0, 2.0, 27.0, 3.0)
    radio.attach(B, 1.0, 2.0, 27.0, 3.0)
    with pytest.raises(RadioError, match="transmits its own beacons only"):
        radio.transmit(beacon, B, b"\x02" * 32)


def test_a_wireless_agent_refuses_to_start_without_a_radio(tmp_path, capsys):
    acct = Account.create()
    (tmp_path / "key.json").write_text(json.dumps(Account.encrypt(acct.key, "pw", iterations=2)))
    (tmp_path / "pass").write_text("pw\n")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    config = tmp_path / "agent.toml"
    base = '[agent]\nkind = "wireless"\nchain_id = 31337\nkeystore = "key.json"\n'
    config.write_text(base + 'password_file = "pass"\n')
    assert agent_main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    for key in ("agent.radio_url", "agent.lat", "agent.lon"):
        assert f"{key}: required for a wireless agent" in err
    config.write_text(
        base + f'password_file = "pass"\nradio_url = "http://127.0.0.1:{port}"\n'
        "lat = 37.7\nlon = -122.4\n"
    )
    assert agent_main(["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no radio medium answers" in err and "make radio" in err
