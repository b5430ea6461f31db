"""Hostile inputs at the oracle's boundaries: bytes from a node (the challenge stage and the wire
decoders), from a peer member (bundles, proposals) and from an API client. Each decoder either
returns a value or refuses with a ValueError that names the problem; nothing else escapes, and
one node's answer only ever costs that node its verdict. `CI=true` raises the example counts."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys

import aiohttp
import pytest
from aiohttp import web
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.committee import evidence as ev
from oracle.committee.member import _parse_proposal
from oracle.committee.rules import Bundle, CommitteeError
from oracle.protocol import wire
from oracle.protocol.compute import Params
from oracle.protocol.envelope import challenge_id, sign_response
from oracle.protocol.strict import DecodeError, JsonLimits, decode_json
from oracle.service.challenge import Limits, challenge_all, challenge_compute

TINY = Params(device_s=1e-6, max_n=64)  # compute challenges of 64 rows of 64 (CPU class)

CI = os.environ.get("CI") == "true"
EXAMPLES = settings(
    max_examples=2_000 if CI else 200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CHAIN = 31337

# JSON-like values with the numbers an attacker picks: huge integers, non-finite floats, deep
# nesting, long strings, every type where another is expected.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**60, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.sampled_from(["0x", "0x" + "00" * 32, "0x" + "zz" * 32, "compute", "commit", "reveal"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=40,
)


def _with_keys(keys: list[str]):
    """Objects with exactly the expected keys but hostile values (so decoders get past the key
    check and meet the values)."""
    return st.fixed_dictionaries({k: values for k in keys})


# ------------------------------------------------------------------------- the strict decoder


@EXAMPLES
@given(st.binary(max_size=4096))
def test_decode_json_on_any_bytes_returns_a_value_or_refuses(raw):
    with contextlib.suppress(DecodeError):
        decode_json(raw, JsonLimits(max_bytes=2048))


@EXAMPLES
@given(
    st.lists(st.sampled_from(['[', ']', '{', '}', '"', '\\', ',', ':', '1', 'e9', '"a"', '-']),
             max_size=400)
)  # fmt: skip
def test_decode_json_on_bracket_and_quote_soup_returns_a_value_or_refuses(tokens):
    with contextlib.suppress(DecodeError):
        decode_json("".join(tokens).encode())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000, "unbalanced"),
        (b"[" * 50_000 + b"]" * 50_000, "nested deeper"),
        (b"[[]" * 20 + b"]" * 20, "nested deeper"),
        (b'{"a":' * 20 + b"1" + b"}" * 20, "nested deeper"),
        (b"[" + b"9" * 400 + b"]", "256-bit range"),
        (b"[" + b"9" * 5000 + b"]", "not JSON"),
        (b"[NaN]", "NaN"),
        (b"[-Infinity]", "-Infinity"),
        (b'{"k":1,"k":2}', "duplicate key"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x" * 5000, "exceeds"),
    ],
)
def test_decode_json_refuses_each_hostile_shape_with_its_reason(raw, message):
    with pytest.raises(DecodeError, match=message):
        decode_json(raw, JsonLimits(max_bytes=4096 if raw == b"x" * 5000 else 1 << 20))


def test_decode_json_keeps_strings_that_look_like_nesting():
    text = json.dumps({"a": "[" * 1000, "b": ["{", '\\"[[']}).encode()
    assert decode_json(text)["a"] == "[" * 1000


def test_a_nested_answer_cannot_crash_a_process_whose_recursion_limit_py_ecc_raised():
    """py-ecc (and py-evm) set the recursion limit to 100,000 at import, past the C stack: the
    parser's own guard no longer protects it. The decoder refuses before the parser recurses."""
    code = (
        "import sys, py_ecc; assert sys.getrecursionlimit() >= 100000\n"
        "from oracle.protocol.strict import decode_json, DecodeError\n"
        "try:\n    decode_json(b'[' * 100000 + b']' * 100000)\nexcept DecodeError as e:\n"
        "    print('refused:', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-500:]
    assert "refused: nested deeper than 16 levels" in out.stdout


def test_importing_the_bls_module_restores_the_recursion_limit():
    code = (
        "import sys; before = sys.getrecursionlimit()\n"
        "import oracle.protocol.bls\nprint(before, sys.getrecursionlimit())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    before, after = out.stdout.split()
    assert before == after, out.stderr[-500:]


# ------------------------------------------------------------------------- the wire decoders

DECODERS = {
    "commit": (
        wire.commitment_from_payload,
        ["stage", "root", "elapsed_s", "backend", "seed", "n"],
    ),
    "reveal": (wire.reveal_from_payload, ["stage", "salt", "k", "rows"]),
    "witnesses": (wire.witnesses_from_payload, ["epoch", "witnesses"]),
    "beacon": (
        lambda b: wire.beacon_from_wire(1, b),
        ["beaconer", "payload", "frequency_hz", "tx_time_ms"],
    ),
    # The storage verifier reads the audit payload itself and never raises: a verdict always.
    "storage audit": (lambda p: _storage_verdict(p), ["lease_id", "chunks"]),
}


def _storage_verdict(payload):
    from oracle.protocol import storage

    challenge = storage.Challenge(
        nonce=b"\x01" * 32, node=HONEST.address, lease_id=1, n_chunks=16, root=b"\x02" * 32
    )
    verdict = storage.verify(challenge, payload, 0.1, 2.0)
    assert not verdict.passed  # nothing random proves a chunk of that root
    return verdict


@pytest.mark.parametrize("name", sorted(DECODERS))
@EXAMPLES
@given(data=st.data())
def test_wire_decoders_return_a_value_or_refuse(name, data):
    decoder, keys = DECODERS[name]
    payload = data.draw(st.one_of(values, _with_keys(keys)))
    with contextlib.suppress(ValueError):
        decoder(payload)


HASH = "0x" + "00" * 32
COMMIT = {"stage": "commit", "root": HASH, "elapsed_s": 1.0, "backend": "x", "seed": HASH,
          "matrix_seed": HASH, "n": 64, "rows": 64, "streams": 1}  # fmt: skip
REVEAL = {"stage": "reveal", "salt": HASH, "k": 44, "rows": []}
WITNESS = {
    "witness": Account.create().address,
    "beacon_hash": "0x" + "11" * 32,
    "rssi_cdbm": -9000,
    "snr_cdb": 500,
    "frequency_hz": 868_100_000,
    "received_at_ms": 1_700_000_000_000,
}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {**COMMIT, "elapsed_s": 10**70},
            "elapsed_s must be a number in",
        ),
        (
            {**COMMIT, "backend": "x" * 65},
            "backend",
        ),
        ({"epoch": 1, "witnesses": [{**WITNESS, "rssi_cdbm": 10**70}]}, "rssi_cdbm"),
        ({"epoch": 1, "witnesses": [{**WITNESS, "snr_cdb": -(10**9)}]}, "snr_cdb"),
        ({"epoch": 1, "witnesses": [{**WITNESS, "received_at_ms": 2**60}]}, "received_at_ms"),
        ({"epoch": 2**64, "witnesses": []}, "epoch"),
        ({"epoch": 1, "witnesses": [WITNESS] * 10_001}, "at most 10000"),
        ({**REVEAL, "rows": [{"index": 2**40, "row": "0x", "block": "0x", "proof": []}]},
         "index"),
        ({**REVEAL, "rows": [{"index": 1, "row": "0x", "block": "0x", "proof": [HASH] * 65}]},
         "proof"),
        ({**REVEAL, "k": 2**40}, "k"),
        ({**COMMIT, "root": "0x" + "00 " * 21}, "root"),
        ({**COMMIT, "n": 10**70}, "n"),
        ({**COMMIT, "rows": 2**70}, "rows"),
        ({**COMMIT, "streams": -1}, "streams"),
        ({"stage": "gave_up", "elapsed_s": 10**70, "detail": ""}, "elapsed_s"),
        ({**COMMIT, "seed": "0x12"}, "seed"),
    ],
)  # fmt: skip
def test_wire_decoders_check_ranges_before_arithmetic(payload, message):
    decoder = {
        "commit": wire.commitment_from_payload,
        "reveal": wire.reveal_from_payload,
        "gave_up": wire.gave_up_from_payload,
    }.get(payload.get("stage"), wire.witnesses_from_payload)
    with pytest.raises(DecodeError, match=message):
        decoder(payload)


# ------------------------------------------------------------------------- peer members


@EXAMPLES
@given(body=st.one_of(values, _with_keys(["chain_id", "hub", "epoch", "member", "verdicts",
                                          "signature"])))  # fmt: skip
def test_bundle_decoder_returns_a_bundle_or_refuses(body):
    with contextlib.suppress(CommitteeError):
        Bundle.from_json(body)


@EXAMPLES
@given(st.one_of(st.binary(max_size=2048), values.map(lambda v: json.dumps(v).encode())))
def test_proposal_decoder_returns_a_proposal_or_refuses(raw):
    with contextlib.suppress(ValueError):
        _parse_proposal(raw, members=5)


@EXAMPLES
@given(body=_with_keys(["attempt", "digest", "bundles", "evidence"]))
def test_a_proposal_with_hostile_fields_is_refused_or_parsed(body):
    """Past the key check: the attempt, digest, bundles and evidence digests are each checked."""
    try:
        raw = json.dumps(body).encode()
    except (ValueError, OverflowError):
        return
    with contextlib.suppress(ValueError):
        digest, bundles, digests = _parse_proposal(raw, members=5)
        assert len(digest) == 32 and len(bundles) <= 5
        assert all(isinstance(d, str) and len(d) == 66 for d in digests)


EVIDENCE_ENTRY = {
    "challenge_id": "0x" + "01" * 32, "node": "0x" + "0a" * 20, "kind": "compute",
    "passed": True, "reason": "ok", "detail": "", "latency_us": 1, "deadline_us": 2,
    "lease_id": 0, "chunk_index": 0, "coverage_micro": 0, "attempts": 1,
}  # fmt: skip
EVIDENCE_FACTS = ev.Facts(CHAIN, 5, lambda node: (0, 1), TINY, b"\x01" * 32, lambda lease: None)


@EXAMPLES
@given(
    obj=st.one_of(values, _with_keys(["challenge_id", "request", "responses"])),
    kind=st.sampled_from(sorted(ev.CHECKED_KINDS)),
)
def test_the_evidence_check_backs_nothing_hostile_and_never_raises(obj, kind):
    """Evidence a member serves (or a leader puts in a proposal) is checked, never trusted: no
    hostile object is backed (it carries no node signature), and none raises."""
    try:
        digest = ev.digest(obj)
    except (TypeError, ValueError):
        digest = "0x" + "00" * 32
    entry = {**EVIDENCE_ENTRY, "kind": kind, "evidence": digest}
    got = ev.check(entry, obj, EVIDENCE_FACTS, "0x" + "0b" * 20)
    assert not got.backed


def test_a_deeply_nested_proposal_is_refused_not_parsed():
    with pytest.raises(DecodeError, match="nested deeper"):
        _parse_proposal(b'{"bundles":' + b"[" * 100_000 + b"]" * 100_000 + b"}", members=5)


# ------------------------------------------------------------------------- a hostile node


HONEST, HOSTILE = Account.create(), Account.create()


def _compute_node(key, answers: list) -> web.Application:
    """A compute node whose commit answers cycle through `answers` (a callable of the challenge
    id returning (status, body bytes))."""
    count = 0

    async def commit(request: web.Request) -> web.Response:
        nonlocal count
        body = await request.json()
        cid = challenge_id(CHAIN, key.address, body["epoch"], "compute",
                           bytes.fromhex(body["nonce"][2:]))  # fmt: skip
        status, raw = answers[count % len(answers)](cid)
        count += 1
        return web.Response(status=status, body=raw, content_type="application/json")

    app = web.Application()
    app.router.add_post("/compute/commit", commit)
    return app


def _signed(key, payload):
    return lambda cid: (200, json.dumps(sign_response(key.key, CHAIN, cid, payload).to_wire()))


HOSTILE_ANSWERS = [
    lambda cid: (200, b"[" * 100_000),
    lambda cid: (200, b'{"a":' + b"9" * 300 + b"}"),
    _signed(HOSTILE, {**COMMIT, "elapsed_s": 10**70}),
    _signed(HOSTILE, {**COMMIT, "elapsed_s": float("1e308")}),
    _signed(HOSTILE, {**COMMIT, "n": 2**200}),
    lambda cid: (500, b"busy [index 7]"),
    lambda cid: (200, b"\xff\xfe garbage"),
]


@pytest.mark.asyncio
async def test_a_hostile_compute_node_costs_only_its_own_verdicts(aiohttp_server):
    hostile = await aiohttp_server(_compute_node(HOSTILE, HOSTILE_ANSWERS))
    limits = Limits(timeout_s=2.0, max_response_bytes=1 << 20)

    async with aiohttp.ClientSession() as http:

        def job(server, key):
            return lambda: challenge_compute(
                http, str(server.make_url("")).rstrip("/"), chain_id=CHAIN, node=key.address,
                epoch=4, epoch_seed=b"\x03" * 32, hw_class=0, gpu_count=1, limits=limits,
                params=TINY,
            )  # fmt: skip

        outcomes = await challenge_all([job(hostile, HOSTILE)] * len(HOSTILE_ANSWERS), 4)
    assert len(outcomes) == len(HOSTILE_ANSWERS)  # every answer became a verdict
    assert all(not o.passed and o.node == HOSTILE.address for o in outcomes)
    assert sorted({o.reason for o in outcomes}) == ["malformed", "offline"], [
        (o.reason, o.detail) for o in outcomes
    ]


@pytest.mark.asyncio
async def test_a_job_that_raises_leaves_the_other_nodes_their_verdicts():
    async def boom():
        raise OverflowError("int too large to convert to float")

    async def fine():
        await asyncio.sleep(0)
        return "outcome"

    assert await challenge_all([boom, fine, boom, fine], 2) == ["outcome", "outcome"]


# ------------------------------------------------------------------------- typed verdicts


def test_an_error_body_that_looks_like_an_index_still_yields_a_bundle(tmp_path):
    """The review's reproduction: a node answering `500 busy [index 7]` made every member's
    bundle raise (the index was parsed back out of the detail text), so no epoch settled."""
    from oracle.committee.rules import sign_bundle
    from oracle.service.challenge import Outcome
    from oracle.service.pipeline import OracleService, PipelineSettings
    from oracle.service.store import Store

    store = Store(tmp_path / "o.sqlite")
    store.schedule_epoch(5, b"\x02" * 32)
    operator = Account.create()
    service = OracleService(None, store, operator, PipelineSettings(compute=TINY))
    hostile = Outcome(
        HOSTILE.address, "compute", b"\x01" * 32, False, "offline",
        "HTTP 500: b'busy [index 7]'", request={"hw_class": 99},
        responses=[b"busy [index 7]"], latency_s=0.01, deadline_s=2.5,
    )  # fmt: skip
    failed_row = Outcome(
        HONEST.address, "compute", b"\x03" * 32, False, "wrong_row", "row 12 differs",
        index=12, latency_s=0.5, deadline_s=2.5, responses=[b"{}", b"{}"],
    )  # fmt: skip
    service._record(5, [hostile, failed_row])
    entries = {e["node"]: e for e in (v.entry() for v in store.verdicts_of(5))}
    assert entries[HOSTILE.address.lower()]["detail"] == "HTTP 500: b'busy [index 7]'"
    assert entries[HOSTILE.address.lower()]["chunk_index"] == 0
    assert entries[HONEST.address.lower()]["chunk_index"] == 12
    assert entries[HONEST.address.lower()]["deadline_us"] == 2_500_000  # as the challenge ran
    assert store.responses("0x" + "01" * 32) == [b"busy [index 7]"]
    bundle = sign_bundle(operator, CHAIN, "0x" + "22" * 20, 5, list(entries.values()))
    assert Bundle.from_json(bundle.to_json()) == bundle
    store.close()


# A member's reply to a proposal (its signature) is read by the leader: any shape is dropped,
# none raises (one hostile member must not stall a round it is asked to sign).
REPLY_KEYS = ["member", "scheme", "signature", "pk2"]


@EXAMPLES
@given(replies=st.lists(st.one_of(values, _with_keys(REPLY_KEYS)), max_size=4),
       scheme=st.sampled_from(["ecdsa", "bls"]))  # fmt: skip
def test_the_leader_drops_hostile_signature_replies_without_raising(replies, scheme):
    import types

    from oracle.committee.member import Member, View

    members = [Account.create().address for _ in range(4)]
    view = View(1, 3, members, scheme)
    leader = types.SimpleNamespace(
        chain=types.SimpleNamespace(committee_bls_keys=lambda: [(1, 2)] * len(members))
    )
    leader._bls_post = lambda *a: Member._bls_post(leader, *a)
    replies = [r if isinstance(r, dict) else {"signature": r} for r in replies]
    assert Member._post(leader, view, b"\x01" * 32, replies) is None  # nothing valid: no post
