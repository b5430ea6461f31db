"""Payload formats of the agent's answers, shared by the agent (encode) and the oracle (decode).
Every payload is canonical JSON inside an oracle.protocol.envelope.SignedResponse; bytes are 0x-hex.

compute commit  {"stage": "commit", "root": hex32, "elapsed_s": float, "backend": str,
                 "seed": hex32, "matrix_seed": hex32, "n": int, "rows": int, "streams": int}
compute gave up {"stage": "gave_up", "elapsed_s": float, "detail": str}  (instead of a commit)
compute reveal  {"stage": "reveal", "salt": hex32, "k": int, "rows": [{"index": int,
                 "row": hex(4n), "block": hex(2 x up to compute.BLOCK), "proof": [hex32]}]}
storage upload  (to the node) {"lease_id": int, "data": hex, "signature": hex65}: upload_body
storage audit   oracle.protocol.storage: {"lease_id": int, "chunks": [{"index", "chunk", "proof"}]}
(each answer names the challenge it answers: seed and shape, salt and k, lease_id; so a signed
answer is evidence of exactly what the node did, oracle.committee.evidence)
beacon share    (to the node, with the beacon request) {"member": address, "share": hex32,
                 "signature": hex65}: share_to_wire (oracle.protocol.coverage, "A secret only
                 the air carries")
beacon          {"beacon_hash": hex32, "heard_by": int, "members": [address]} (the members
                 whose shares the transmitted secret holds, ascending)
beacon reveal   {"beacon_hash": hex32, "shares": [share_to_wire, ...]} (ascending member):
                 secret_reveal_payload
witnesses       {"epoch": int, "witnesses": [{"witness": address, "beacon_hash": hex32,
                 "rssi_cdbm": int, "snr_cdb": int, "frequency_hz": int, "received_at_ms": int,
                 "proof": hex32}]} (the fixed-point fields of WitnessReport.witness_message, so
                 what is checked is exactly what was signed)

Decoders raise ValueError (oracle.protocol.strict.DecodeError) on anything malformed, and
check every number's range before any arithmetic on it; the oracle turns that into "malformed".
"""

from __future__ import annotations

from typing import Any

from oracle.protocol import compute
from oracle.protocol.coverage import Beacon, WitnessReport, node_id
from oracle.protocol.eip712 import sign_lease_data
from oracle.protocol.merkle import ChunkTree
from oracle.protocol.strict import DecodeError, integer, items, nat, number, text

# Bounds of the answers' fields: far outside what an honest node sends, tight enough that
# nothing derived from them overflows.
MAX_ELAPSED_S = 86_400.0
MAX_BACKEND_CHARS = 64
MAX_DETAIL_CHARS = 200
MAX_REVEALED_ROWS = 1_024
MAX_PROOF_HASHES = 64
MAX_ROW_INDEX = 2**32 - 1
MAX_WITNESSES = 10_000  # as the simulation's air keeps per node and epoch
RSSI_CDBM = (-30_000, 10_000)  # -300 dBm .. +100 dBm, in hundredths
SNR_CDB = (-10_000, 10_000)  # -100 dB .. +100 dB, in hundredths
MAX_FREQUENCY_HZ = 10**10
MAX_TIME_MS = 2**53  # a JavaScript-safe integer, some 285,000 years after 1970
MAX_EPOCH = 2**63 - 1


def hexb(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


def unhex(value: Any, size: int | None = None, what: str = "value") -> bytes:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) % 2:
        raise DecodeError(f"{what} must be 0x-hex")
    if size is not None and len(value) != 2 + 2 * size:
        raise DecodeError(f"{what} must be {size} bytes, got {len(value) // 2 - 1}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise DecodeError(f"{what} must be 0x-hex") from None
    if 2 * len(raw) != len(value) - 2:  # fromhex skips whitespace
        raise DecodeError(f"{what} must be 0x-hex")
    return raw


def _object(payload: Any, keys: set[str]) -> dict:
    if not isinstance(payload, dict) or set(payload) != keys:
        raise DecodeError(f"payload must be an object with exactly {sorted(keys)}")
    return payload


# --- compute


def commit_payload(commitment: compute.Commitment, backend: str) -> dict:
    return {
        "stage": "commit",
        "root": hexb(commitment.root),
        "elapsed_s": commitment.elapsed_s,
        "backend": backend,
        "seed": hexb(commitment.seed),
        "matrix_seed": hexb(commitment.matrix_seed),
        "n": commitment.n,
        "rows": commitment.rows,
        "streams": commitment.streams,
    }


def gave_up_payload(elapsed_s: float, detail: str) -> dict:
    return {"stage": "gave_up", "elapsed_s": elapsed_s, "detail": detail[:MAX_DETAIL_CHARS]}


def gave_up_from_payload(payload: Any) -> str | None:
    """The node's reason when `payload` is its signed "gave up" (it could not finish before its
    deadline), else None."""
    if not isinstance(payload, dict) or payload.get("stage") != "gave_up":
        return None
    p = _object(payload, {"stage", "elapsed_s", "detail"})
    elapsed = number(p["elapsed_s"], "elapsed_s", 0.0, MAX_ELAPSED_S)
    return f"gave up after {elapsed:.2f} s: " + text(p["detail"], "detail", MAX_DETAIL_CHARS)


_COMMIT_KEYS = {"stage", "root", "elapsed_s", "backend", "seed", "matrix_seed", "n", "rows",
                "streams"}  # fmt: skip


def commitment_from_payload(payload: Any) -> compute.Commitment:
    p = _object(payload, _COMMIT_KEYS)
    if p["stage"] != "commit":
        raise DecodeError("not a commitment")
    elapsed = number(p["elapsed_s"], "elapsed_s", 0.0, MAX_ELAPSED_S)
    text(p["backend"], "backend", MAX_BACKEND_CHARS)
    return compute.Commitment(
        root=unhex(p["root"], 32, "root"),
        elapsed_s=elapsed,
        seed=unhex(p["seed"], 32, "seed"),
        matrix_seed=unhex(p["matrix_seed"], 32, "matrix_seed"),
        n=integer(p["n"], "n", 1, compute.MAX_N),
        rows=integer(p["rows"], "rows", 1, compute.MAX_ROWS),
        streams=integer(p["streams"], "streams", 1, compute.MAX_STREAMS),
    )


def reveal_payload(reveal: compute.Reveal) -> dict:
    return {
        "stage": "reveal",
        "salt": hexb(reveal.salt),
        "k": reveal.k,
        "rows": [
            {
                "index": r.index,
                "row": hexb(r.row),
                "block": hexb(r.block),
                "proof": [hexb(s) for s in r.proof],
            }
            for r in reveal.rows
        ],
    }


def reveal_from_payload(payload: Any) -> compute.Reveal:
    p = _object(payload, {"stage", "salt", "k", "rows"})
    if p["stage"] != "reveal":
        raise DecodeError("not a reveal")
    salt = unhex(p["salt"], 32, "salt")
    k = integer(p["k"], "k", 1, MAX_REVEALED_ROWS)
    rows = []
    for item in items(p["rows"], "rows", MAX_REVEALED_ROWS):
        item = _object(item, {"index", "row", "block", "proof"})
        rows.append(
            compute.RevealedRow(
                index=nat(item["index"], "index", MAX_ROW_INDEX),
                row=unhex(item["row"], None, "row"),
                block=unhex(item["block"], None, "block"),
                proof=tuple(
                    unhex(s, 32, "proof hash")
                    for s in items(item["proof"], "proof", MAX_PROOF_HASHES)
                ),
            )
        )
    return compute.Reveal(rows=tuple(rows), salt=salt, k=k)


# --- storage


def upload_body(customer_key, lease_id: int, node: str, data: bytes, chain_id: int,
                marketplace: str) -> dict:  # fmt: skip
    """A customer's POST /storage/data body: the lease's data and the customer's LeaseData
    signature over the lease, the node and the data's root and size (oracle.protocol.eip712)."""
    tree = ChunkTree.from_data(data)
    signature = sign_lease_data(customer_key, lease_id, node, tree.root, len(data), chain_id,
                                marketplace)  # fmt: skip
    return {"lease_id": lease_id, "data": hexb(data), "signature": hexb(signature)}


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
    frequency = integer(b["frequency_hz"], "frequency_hz", 1, MAX_FREQUENCY_HZ)
    tx_ms = integer(b["tx_time_ms"], "tx_time_ms", 1, MAX_TIME_MS)
    return Beacon(
        epoch, node_id(b["beaconer"]), unhex(b["payload"], 32, "payload"), frequency, tx_ms / 1000
    )


MAX_SHARES = 64  # members whose shares one beacon can carry


def share_to_wire(member: str, share: bytes, signature: bytes) -> dict:
    return {"member": node_id(member), "share": hexb(share), "signature": hexb(signature)}


def share_from_wire(body: Any) -> tuple[str, bytes, bytes]:
    b = _object(body, {"member", "share", "signature"})
    return (
        node_id(text(b["member"], "member", 42)),
        unhex(b["share"], 32, "share"),
        unhex(b["signature"], 65, "signature"),
    )


def beacon_answer_from_payload(payload: Any) -> tuple[bytes, list[str]]:
    """(beacon hash, members whose shares the secret holds) of a beacon answer."""
    p = _object(payload, {"beacon_hash", "heard_by", "members"})
    nat(p["heard_by"], "heard_by", MAX_WITNESSES * 100)
    members = [node_id(text(m, "member", 42)) for m in items(p["members"], "members", MAX_SHARES)]
    return unhex(p["beacon_hash"], 32, "beacon_hash"), members


def secret_reveal_payload(beacon_hash: bytes, shares: list[tuple[str, bytes, bytes]]) -> dict:
    ordered = sorted(shares, key=lambda s: int(s[0], 16))
    return {"beacon_hash": hexb(beacon_hash), "shares": [share_to_wire(*s) for s in ordered]}


def secret_reveal_from_payload(payload: Any) -> tuple[bytes, list[tuple[str, bytes, bytes]]]:
    p = _object(payload, {"beacon_hash", "shares"})
    shares = [share_from_wire(s) for s in items(p["shares"], "shares", MAX_SHARES)]
    if len({m for m, _, _ in shares}) != len(shares):
        raise DecodeError("a member's share appears twice")
    return unhex(p["beacon_hash"], 32, "beacon_hash"), shares


def witness_to_wire(report: WitnessReport) -> dict:
    witness, beacon_hash, rssi, snr, frequency, received_ms, proof = report.witness_message_fields()
    return {
        "witness": witness,
        "beacon_hash": hexb(beacon_hash),
        "rssi_cdbm": rssi,
        "snr_cdb": snr,
        "frequency_hz": frequency,
        "received_at_ms": received_ms,
        "proof": hexb(proof),
    }


def witnesses_payload(epoch: int, reports: list[WitnessReport]) -> dict:
    return {"epoch": epoch, "witnesses": [witness_to_wire(r) for r in reports]}


def witnesses_from_payload(payload: Any) -> tuple[int, list[WitnessReport]]:
    p = _object(payload, {"epoch", "witnesses"})
    reports = []
    for item in items(p["witnesses"], "witnesses", MAX_WITNESSES):
        w = _object(
            item,
            {"witness", "beacon_hash", "rssi_cdbm", "snr_cdb", "frequency_hz", "received_at_ms",
             "proof"},
        )  # fmt: skip
        fields = (
            node_id(w["witness"]),
            unhex(w["beacon_hash"], 32, "beacon_hash"),
            integer(w["rssi_cdbm"], "rssi_cdbm", *RSSI_CDBM),
            integer(w["snr_cdb"], "snr_cdb", *SNR_CDB),
            integer(w["frequency_hz"], "frequency_hz", 1, MAX_FREQUENCY_HZ),
            nat(w["received_at_ms"], "received_at_ms", MAX_TIME_MS),
            unhex(w["proof"], 32, "proof"),
        )
        reports.append(WitnessReport.from_message_fields(fields))
    return nat(p["epoch"], "epoch", MAX_EPOCH), reports
