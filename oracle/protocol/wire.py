"""Payload formats of the agent's answers, shared by the agent (encode) and the oracle (decode).
Every payload is canonical JSON inside an oracle.protocol.envelope.SignedResponse; bytes are 0x-hex.

compute commit  {"stage": "commit", "root": hex32, "elapsed_s": float, "backend": str}
compute reveal  {"stage": "reveal", "rows": [{"index": int, "row": hex(4n), "proof": [hex32]}]}
storage audit   oracle.protocol.storage: {"chunks": [{"index", "chunk", "proof"}]}
beacon          {"beacon_hash": hex32, "heard_by": int}
witnesses       {"epoch": int, "witnesses": [{"witness": address, "beacon_hash": hex32,
                 "rssi_cdbm": int, "snr_cdb": int, "frequency_hz": int, "received_at_ms": int}]}
                (the fixed-point fields of WitnessReport.witness_message, so what is checked is
                exactly what was signed)

Decoders raise ValueError on anything malformed; the oracle turns that into "malformed".
"""

from __future__ import annotations

from typing import Any

from oracle.protocol import compute
from oracle.protocol.coverage import Beacon, WitnessReport, node_id


def hexb(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def unhex(value: Any, size: int | None = None, what: str = "value") -> bytes:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) % 2:
        raise ValueError(f"{what} must be 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise ValueError(f"{what} must be 0x-hex") from None
    if size is not None and len(raw) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer")
    return value


def _object(payload: Any, keys: set[str]) -> dict:
    if not isinstance(payload, dict) or set(payload) != keys:
        raise ValueError(f"payload must be an object with exactly {sorted(keys)}")
    return payload


# --- compute


def commit_payload(root: bytes, elapsed_s: float, backend: str) -> dict:
    return {"stage": "commit", "root": hexb(root), "elapsed_s": elapsed_s, "backend": backend}


def commitment_from_payload(payload: Any) -> compute.Commitment:
    p = _object(payload, {"stage", "root", "elapsed_s", "backend"})
    if p["stage"] != "commit":
        raise ValueError("not a commitment")
    elapsed = p["elapsed_s"]
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        raise ValueError("elapsed_s must be a number")
    return compute.Commitment(root=unhex(p["root"], 32, "root"), elapsed_s=float(elapsed))


def reveal_payload(reveal: compute.Reveal) -> dict:
    return {
        "stage": "reveal",
        "rows": [
            {"index": r.index, "row": hexb(r.row), "proof": [hexb(s) for s in r.proof]}
            for r in reveal.rows
        ],
    }


def reveal_from_payload(payload: Any) -> compute.Reveal:
    p = _object(payload, {"stage", "rows"})
    if p["stage"] != "reveal" or not isinstance(p["rows"], list):
        raise ValueError("not a reveal")
    rows = []
    for item in p["rows"]:
        item = _object(item, {"index", "row", "proof"})
        if not isinstance(item["proof"], list):
            raise ValueError("proof must be a list")
        rows.append(
            compute.RevealedRow(
                index=_int(item["index"], "index"),
                row=unhex(item["row"], None, "row"),
                proof=tuple(unhex(s, 32, "proof hash") for s in item["proof"]),
            )
        )
    return compute.Reveal(rows=tuple(rows))


# --- coverage


def beacon_to_wire(beacon: Beacon) -> dict:
    return {
        "beaconer": node_id(beacon.beaconer),
        "payload": hexb(beacon.payload),
        "frequency_hz": beacon.frequency_hz,
        "tx_time_ms": round(beacon.tx_time * 1000),
    }


def beacon_from_wire(epoch: int, body: Any) -> Beacon:
    b = _object(body, {"beaconer", "payload", "frequency_hz", "tx_time_ms"})
    frequency = _int(b["frequency_hz"], "frequency_hz")
    tx_ms = _int(b["tx_time_ms"], "tx_time_ms")
    if not 0 < frequency <= 10**10 or not 0 < tx_ms < 2**63:
        raise ValueError("frequency_hz or tx_time_ms out of range")
    return Beacon(
        epoch, node_id(b["beaconer"]), unhex(b["payload"], 32, "payload"), frequency, tx_ms / 1000
    )


def witness_to_wire(report: WitnessReport) -> dict:
    witness, beacon_hash, rssi, snr, frequency, received_ms = report.witness_message_fields()
    return {
        "witness": witness,
        "beacon_hash": hexb(beacon_hash),
        "rssi_cdbm": rssi,
        "snr_cdb": snr,
        "frequency_hz": frequency,
        "received_at_ms": received_ms,
    }


def witnesses_payload(epoch: int, reports: list[WitnessReport]) -> dict:
    return {"epoch": epoch, "witnesses": [witness_to_wire(r) for r in reports]}


def witnesses_from_payload(payload: Any) -> tuple[int, list[WitnessReport]]:
    p = _object(payload, {"epoch", "witnesses"})
    if not isinstance(p["witnesses"], list):
        raise ValueError("witnesses must be a list")
    reports = []
    for item in p["witnesses"]:
        w = _object(
            item,
            {"witness", "beacon_hash", "rssi_cdbm", "snr_cdb", "frequency_hz", "received_at_ms"},
        )
        fields = (
            node_id(w["witness"]),
            unhex(w["beacon_hash"], 32, "beacon_hash"),
            _int(w["rssi_cdbm"], "rssi_cdbm"),
            _int(w["snr_cdb"], "snr_cdb"),
            _int(w["frequency_hz"], "frequency_hz"),
            _int(w["received_at_ms"], "received_at_ms"),
        )
        reports.append(WitnessReport.from_message_fields(fields))
    return _int(p["epoch"], "epoch"), reports
