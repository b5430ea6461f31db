"""Signed messages between oracles and node agents. Pure: no I/O, no clock reads.

Every answer a node agent gives is signed by its node key (the address registered in
NodeRegistry), over a digest that binds the chain, the challenge and the exact payload bytes:

    challenge_id = keccak256("plinth-challenge-v1" || uint256(chain_id) || node || uint64(epoch)
                             || kind || nonce)
    digest       = keccak256("plinth-response-v1" || uint256(chain_id) || challenge_id
                             || keccak256(payload))
    signature    = EIP-191 personal_sign of the 32-byte digest by the node key (65 bytes r|s|v)

`payload` is the canonical JSON of the answer (sorted keys, no spaces, bytes as 0x-hex), so the
oracle stores the raw bytes it received and anyone can re-check the signature later. A
response replayed from another epoch, node, challenge or chain has another challenge_id and
fails; a response whose payload was altered fails. The personal_sign prefix keeps a node key
from ever signing something that is also a valid transaction or typed message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address

from oracle.protocol.strict import DecodeError, JsonLimits, decode_json

CHALLENGE_TAG = b"plinth-challenge-v1"
NONCE_TAG = b"plinth-nonce-v1"
RESPONSE_TAG = b"plinth-response-v1"
MAX_PAYLOAD = 8 * 1024 * 1024
PAYLOAD_LIMITS = JsonLimits(max_bytes=MAX_PAYLOAD)


class EnvelopeError(ValueError):
    """A response that cannot be accepted, with the reason."""


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot encode {type(value).__name__} in a payload")


def canonical_json(payload: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, bytes as 0x-hex."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=False
    ).encode()


def challenge_id(chain_id: int, node: str, epoch: int, kind: str, nonce: bytes) -> bytes:
    if len(nonce) != 32:
        raise ValueError("a challenge nonce is 32 bytes")
    return keccak(
        CHALLENGE_TAG
        + chain_id.to_bytes(32, "big")
        + bytes.fromhex(to_checksum_address(node)[2:])
        + epoch.to_bytes(8, "big")
        + kind.encode()
        + nonce
    )


def member_nonce(member: str, r: bytes) -> bytes:
    """The nonce of a challenge sent by committee member `member`: keccak256(NONCE_TAG ||
    member || r). It ties the challenge to the member, so no other member can show it (and the
    node's answer to it) as its own; `r` is the member's fresh randomness."""
    return keccak(NONCE_TAG + bytes.fromhex(to_checksum_address(member)[2:]) + r)


def response_digest(chain_id: int, cid: bytes, payload: bytes) -> bytes:
    return keccak(RESPONSE_TAG + chain_id.to_bytes(32, "big") + cid + keccak(payload))


@dataclass(frozen=True)
class SignedResponse:
    """What a node agent returns: the raw payload bytes and the node key's signature."""

    challenge_id: bytes
    payload: bytes
    signature: bytes

    def to_wire(self) -> dict:
        return {
            "challenge_id": "0x" + self.challenge_id.hex(),
            "payload": self.payload.decode(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_wire(cls, body: Any) -> SignedResponse:
        """Parses a response body strictly; raises EnvelopeError on anything malformed."""
        if not isinstance(body, dict):
            raise EnvelopeError("response is not a JSON object")
        try:
            cid = _hex(body["challenge_id"], 32)
            sig = _hex(body["signature"], 65)
            payload = body["payload"]
        except KeyError as exc:
            raise EnvelopeError(f"response lacks {exc.args[0]}") from None
        if not isinstance(payload, str):
            raise EnvelopeError("payload is not a string")
        raw = payload.encode()
        if len(raw) > MAX_PAYLOAD:
            raise EnvelopeError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD}")
        return cls(cid, raw, sig)

    def decoded(self) -> Any:
        """The payload's JSON value, decoded strictly (oracle.protocol.strict)."""
        try:
            return decode_json(self.payload, PAYLOAD_LIMITS)
        except DecodeError as exc:
            raise EnvelopeError(f"payload: {exc}") from None


def _hex(value: Any, size: int) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise EnvelopeError(f"expected 0x-hex of {size} bytes, got {value!r:.80}")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise EnvelopeError(f"not hex: {value!r:.80}") from None
    if len(raw) != size:
        raise EnvelopeError(f"expected {size} bytes, got {len(raw)}")
    return raw


def sign_response(node_key, chain_id: int, cid: bytes, payload: Any) -> SignedResponse:
    """Signs `payload` (a JSON-able value) for challenge `cid` with the node key."""
    raw = canonical_json(payload)
    message = encode_defunct(primitive=response_digest(chain_id, cid, raw))
    return SignedResponse(cid, raw, bytes(Account.sign_message(message, node_key).signature))


def verify_response(response: SignedResponse, chain_id: int, expected_cid: bytes, node: str) -> Any:
    """The decoded payload if `response` answers `expected_cid` and is signed by `node`;
    EnvelopeError otherwise (replayed, forged, altered or malformed)."""
    if response.challenge_id != expected_cid:
        raise EnvelopeError("response answers another challenge (replayed or misrouted)")
    message = encode_defunct(primitive=response_digest(chain_id, expected_cid, response.payload))
    try:
        signer = Account.recover_message(message, signature=response.signature)
    except Exception as exc:  # eth-keys raises several types for bad signatures
        raise EnvelopeError(f"signature does not recover: {exc}") from None
    if int(signer, 16) != int(node, 16):
        raise EnvelopeError(f"signed by {signer}, not by the node {to_checksum_address(node)}")
    return response.decoded()
