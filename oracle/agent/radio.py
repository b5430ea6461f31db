"""A wireless agent's radio reached over HTTP: `plinth-radio` (oracle.sim.radio_service), the
local stand-in for the air. `HttpRadio` implements the agent's `Radio` (oracle.agent.app);
`attach` places the node's true radio in the medium at start-up and fails clearly when no
medium answers, so a wireless agent never runs without a radio (it would answer 503 to every
challenge and be slashed Offline)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from oracle.protocol import wire
from oracle.protocol.coverage import Beacon, WitnessReport

TIMEOUT_S = 2.0
MAX_ANSWER = 8 << 20  # the witness reports of one epoch (at most 10,000 of ~300 bytes)


class RadioError(RuntimeError):
    """The radio service cannot be reached or refused a request; the message says which."""


class HttpRadio:
    def __init__(self, url: str, timeout_s: float = TIMEOUT_S):
        self.url, self.timeout_s = url.rstrip("/"), timeout_s

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as r:
                raw = r.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode(errors="replace")
            raise RadioError(f"the radio at {self.url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RadioError(f"no radio medium answers at {self.url}: {reason}") from None
        if len(raw) > MAX_ANSWER:
            raise RadioError(f"the radio at {self.url} sent more than {MAX_ANSWER} bytes")
        try:
            return json.loads(raw)
        except ValueError:
            raise RadioError(f"the radio at {self.url} did not answer JSON") from None

    def attach(self, node: str, lat: float, lon: float, tx_power_dbm: float, gain_dbi: float):
        """Places `node`'s true radio in the medium (once, at start-up)."""
        self._call(
            "PUT",
            f"/radios/{node}",
            {"lat": lat, "lon": lon, "tx_power_dbm": tx_power_dbm, "antenna_gain_dbi": gain_dbi},
        )

    def transmit(self, beacon: Beacon, sender: str, secret: bytes) -> list[str]:
        answer = self._call(
            "POST",
            "/transmit",
            {
                "epoch": beacon.epoch,
                "sender": sender,
                "beacon": wire.beacon_to_wire(beacon),
                "secret": wire.hexb(secret),
            },
        )
        heard = answer.get("heard_by") if isinstance(answer, dict) else None
        if not isinstance(heard, list):
            raise RadioError(f"the radio at {self.url} answered no heard_by list")
        return [str(h) for h in heard[:100_000]]

    def heard(self, node: str, epoch: int) -> list[WitnessReport]:
        _, reports = wire.witnesses_from_payload(self._call("GET", f"/heard/{node}/{epoch}"))
        return reports
