"""oracle.service.report: determinism, cumulative amounts, results-file proofs, rewards-tree
proofs."""

import json
import random

import pytest
from eth_account import Account
from eth_utils import to_checksum_address

from oracle.protocol.eip712 import report_digest
from oracle.protocol.hardware import NodeKind, SlashReason
from oracle.protocol.merkle import ZERO_HASH, verify_positional_proof, verify_rewards_proof
from oracle.service.report import build_epoch, parse_results_file, result_leaf
from oracle.service.score import NodeInput, VerdictRecord, score_epoch

HUB = "0x" + "11" * 20
CHAIN = 31337


def addr(i: int) -> str:
    return f"0x{i:040x}"


def make_results(seed: int = 1, n: int = 60, budget: int = 10**24):
    rng = random.Random(seed)
    nodes = []
    for i in range(1, n + 1):
        kind = NodeKind(i % 3)
        vs = []
        for _ in range(3):
            cid = f"0x{rng.getrandbits(256):064x}"
            roll = rng.random()
            if roll < 0.1:
                vs.append(VerdictRecord(cid, False, "timeout", None, 4.0))
            elif roll < 0.15:
                reason = ["wrong_row", "bad_chunk", "too_strong"][kind]
                vs.append(VerdictRecord(cid, False, reason, 1.0, 4.0, lease_id=1, chunk_index=2))
            else:
                vs.append(VerdictRecord(cid, True, "ok", rng.uniform(0, 4), 4.0, lease_id=1))
        nodes.append(
            NodeInput(
                addr(0x1000 + i * 7919),
                addr(0xAA00 + i % 7),  # several nodes per owner
                kind,
                tuple(vs),
                prev_reputation_bps=rng.randrange(10_001),
                hw_class=i % 4,
                gpu_count=i % 3,
                leases={1: rng.randrange(1, 1 << 40)},
                coverage_micro=rng.randrange(10**7),
            )
        )
    return score_epoch(9, nodes, budget)


def test_shuffled_inputs_give_identical_bytes_and_roots():
    results = make_results()
    prev = {addr(0xAA01): 5, to_checksum_address(addr(0xBEEF)): 77}
    a = build_epoch(9, 3, results, prev)
    for seed in range(5):
        shuffled = list(results)
        random.Random(seed).shuffle(shuffled)
        prev_shuffled = dict(reversed(list(prev.items())))
        b = build_epoch(9, 3, shuffled, prev_shuffled)
        assert b.results_file == a.results_file
        assert b.report == a.report
        assert b.report_json() == a.report_json()
        assert b.rewards_entries_json() == a.rewards_entries_json()
        assert report_digest(b.report, CHAIN, HUB) == report_digest(a.report, CHAIN, HUB)


def test_no_floats_in_hashed_or_signed_parts():
    build = build_epoch(9, 3, make_results(), {})
    header, lines = parse_results_file(build.results_file)
    for line in lines:
        for value in json.loads(line).values():
            assert not isinstance(value, float)
    assert header["nodes"] == len(lines) and header["results_root"] == "0x" + (
        build.report.results_root.hex()
    )
    assert b"." not in build.report_json()


def test_cumulative_amounts_per_owner():
    results = make_results()
    prev = {addr(0xAA01): 1_000, addr(0xBEEF): 77}
    build = build_epoch(9, 3, results, prev)
    this_epoch: dict[int, int] = {}
    for r in results:
        this_epoch[int(r.owner, 16)] = this_epoch.get(int(r.owner, 16), 0) + r.reward
    for owner, amount in build.cumulative.items():
        base = {int(k, 16): v for k, v in prev.items()}.get(int(owner, 16), 0)
        assert amount == base + this_epoch.get(int(owner, 16), 0)
    assert build.cumulative[to_checksum_address(addr(0xBEEF))] == 77  # kept with no new reward
    assert build.total_rewards == sum(r.reward for r in results) == 10**24
    # the next epoch adds on top of this one's cumulative amounts
    nxt = build_epoch(10, 3, results, build.cumulative)
    for owner, amount in nxt.cumulative.items():
        assert amount == build.cumulative[owner] + this_epoch.get(int(owner, 16), 0)


def test_rewards_tree_proofs_verify():
    build = build_epoch(9, 3, make_results(), {addr(0xBEEF): 77})
    assert build.report.rewards_root == build.rewards_tree.root
    for owner, amount in build.cumulative.items():
        proof = build.rewards_tree.proof(owner)
        assert verify_rewards_proof(build.rewards_tree.sealed_root, owner, amount, proof)
        assert not verify_rewards_proof(build.rewards_tree.sealed_root, owner, amount + 1, proof)


def test_provider_proves_its_line_against_the_results_root():
    results = make_results()
    build = build_epoch(9, 3, results, {})
    header, lines = parse_results_file(build.results_file)
    root = build.report.results_root
    for r in results:
        index, line, proof = build.results_proof(r.node)
        assert lines[index] == line  # the line is literally in the public file
        parsed = json.loads(line)
        assert parsed["node"] == r.node and parsed["reward"] == r.reward
        assert parsed["reason"] == r.reason
        assert verify_positional_proof(root, header["nodes"], index, result_leaf(line), proof)
        forged = line.replace(b'"reward":', b'"reward":1')
        assert not verify_positional_proof(root, header["nodes"], index, result_leaf(forged), proof)


def test_slashes_listed_sorted_and_capped():
    results = make_results(n=90)
    slashed = [r for r in results if r.slash_reason]
    assert len(slashed) > 3
    build = build_epoch(9, 3, results, {}, max_slashes=3)
    assert len(build.report.slashes) == 3
    nodes = [int(s.node, 16) for s in build.report.slashes]
    assert nodes == sorted(nodes)
    fraud = {int(SlashReason.INVALID_COMPUTE), 3, 4}
    assert all(s.reason in fraud for s in build.report.slashes)  # most severe first
    _, lines = parse_results_file(build.results_file)
    listed = [json.loads(x) for x in lines if json.loads(x)["slash_listed"]]
    assert len(listed) == 3
    for s in build.report.slashes:
        r = next(r for r in results if int(r.node, 16) == int(s.node, 16))
        assert (s.reason, s.lease_id, s.chunk_index, s.evidence) == (
            r.slash_reason,
            r.slash_lease,
            r.slash_chunk,
            r.evidence,
        )


def test_report_signs_with_eip712():
    from oracle.protocol.eip712 import pack_signatures, sign_report

    build = build_epoch(9, 3, make_results(), {})
    keys = [Account.create() for _ in range(2)]
    signed = [sign_report(k.key, build.report, CHAIN, HUB) for k in keys]
    assert len(pack_signatures(signed)) == 130
    assert build.digest(CHAIN, HUB) == report_digest(build.report, CHAIN, HUB)


def test_empty_epoch():
    build = build_epoch(9, 3, [], {})
    assert build.report.results_root == ZERO_HASH and build.report.total_rewards == 0
    assert build.report.rewards_root == ZERO_HASH
    header, lines = parse_results_file(build.results_file)
    assert header["nodes"] == 0 and lines == []


def test_duplicate_node_results_refused():
    results = make_results(n=3)
    with pytest.raises(ValueError, match="twice"):
        build_epoch(9, 3, [*results, results[0]], {})


def test_the_report_lists_the_leased_nodes_that_failed_and_what_their_leases_pay():
    """Customers pay only for proven service: a leased node that failed the epoch (slashed, no
    challenge passed, or a pass rate below the minimum) is listed, and its leases' price is
    left out of the epoch's demand; a node not challenged, or not leased, is not."""

    def v(i, passed, reason="ok"):
        return VerdictRecord(f"0x{i:064x}", passed, reason, 1.0, 4.0)

    nodes = [
        NodeInput(addr(1), addr(100), NodeKind.COMPUTE, (v(1, True),), hw_class=1, gpu_count=1),
        NodeInput(
            addr(2),
            addr(100),
            NodeKind.COMPUTE,
            (v(2, False, "timeout"),) * 3,
            hw_class=1,
            gpu_count=1,
        ),
        NodeInput(
            addr(3),
            addr(100),
            NodeKind.COMPUTE,
            (v(3, False, "wrong_row"), v(4, True)),
            hw_class=1,
            gpu_count=1,
        ),
        NodeInput(addr(4), addr(100), NodeKind.COMPUTE, (), hw_class=1, gpu_count=1),
        NodeInput(
            addr(5),
            addr(100),
            NodeKind.COMPUTE,
            (v(5, False, "timeout"),) * 3,
            hw_class=1,
            gpu_count=1,
        ),  # failed, but no lease
    ]
    results = score_epoch(9, nodes, 10**21)
    leased = {addr(i).lower(): 7 * i for i in (1, 2, 3, 4)}
    build = build_epoch(9, 1, results, {}, leased=leased)
    assert build.report.failed_nodes == (to_checksum_address(addr(2)), to_checksum_address(addr(3)))
    assert build.report.failed_demand == 7 * 2 + 7 * 3
    assert json.loads(build.report_json())["failedNodes"] == list(build.report.failed_nodes)
    # Without leases nothing is listed.
    assert build_epoch(9, 1, results, {}).report.failed_nodes == ()
