"""Signed node responses: binding to chain, challenge, node and payload; strict parsing."""

import os

import pytest
from eth_account import Account

from oracle.protocol.envelope import (
    EnvelopeError,
    SignedResponse,
    canonical_json,
    challenge_id,
    sign_response,
    verify_response,
)

CHAIN = 31337


@pytest.fixture
def key():
    return Account.create()


def cid_for(node: str, epoch: int = 3, kind: str = "storage") -> bytes:
    return challenge_id(CHAIN, node, epoch, kind, b"\x07" * 32)


def test_verify_response_returns_payload_when_signed_by_node(key):
    cid = cid_for(key.address)
    wire = sign_response(key.key, CHAIN, cid, {"root": b"\x01" * 32, "n": 5}).to_wire()
    payload = verify_response(SignedResponse.from_wire(wire), CHAIN, cid, key.address)
    assert payload == {"n": 5, "root": "0x" + "01" * 32}


@pytest.mark.parametrize(
    "change",
    ["other_epoch", "other_node", "other_kind", "other_chain", "other_signer", "altered"],
)
def test_verify_response_raises_when_replayed_forged_or_altered(key, change):
    other = Account.create()
    cid = cid_for(key.address)
    response = sign_response(key.key, CHAIN, cid, {"x": 1})
    expected_cid, chain, node = cid, CHAIN, key.address
    if change == "other_epoch":
        expected_cid = cid_for(key.address, epoch=4)
    elif change == "other_node":
        expected_cid, node = cid_for(other.address), other.address
    elif change == "other_kind":
        expected_cid = cid_for(key.address, kind="compute")
    elif change == "other_chain":
        chain = 1
    elif change == "other_signer":
        response = sign_response(other.key, CHAIN, cid, {"x": 1})
    else:
        response = SignedResponse(response.challenge_id, b'{"x":2}', response.signature)
    with pytest.raises(EnvelopeError):
        verify_response(response, chain, expected_cid, node)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"challenge_id": "0x00", "payload": "{}", "signature": "0x" + "00" * 65},
        {"challenge_id": "0x" + "00" * 32, "payload": 5, "signature": "0x" + "00" * 65},
        {"challenge_id": "0x" + "zz" * 32, "payload": "{}", "signature": "0x" + "00" * 65},
        {"challenge_id": "0x" + "00" * 32, "payload": "{}", "signature": "0x" + "00" * 64},
        {
            "challenge_id": "0x" + "00" * 32,
            "payload": "x" * (9 << 20),
            "signature": "0x" + "00" * 65,
        },
    ],
)
def test_from_wire_raises_EnvelopeError_when_malformed(body):
    with pytest.raises(EnvelopeError):
        SignedResponse.from_wire(body)


def test_verify_response_raises_when_signature_garbage(key):
    cid = cid_for(key.address)
    response = SignedResponse(cid, b"{}", b"\xff" * 65)
    with pytest.raises(EnvelopeError):
        verify_response(response, CHAIN, cid, key.address)


def test_canonical_json_is_order_independent_and_rejects_nan():
    assert canonical_json({"b": 1, "a": [b"\x00"]}) == canonical_json({"a": [b"\x00"], "b": 1})
    assert canonical_json({"b": 1, "a": 2}) == b'{"a":2,"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_challenge_id_requires_a_32_byte_nonce(key):
    with pytest.raises(ValueError):
        challenge_id(CHAIN, key.address, 1, "compute", os.urandom(16))
