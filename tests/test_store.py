"""oracle.service.store: WAL, migrations, exactly-once ingest across crashes, one report per
epoch."""

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oracle.protocol.hardware import NodeKind
from oracle.service.report import build_epoch
from oracle.service.score import NodeInput, VerdictRecord, score_epoch
from oracle.service.store import (
    MIGRATIONS,
    ChallengeRow,
    InvalidTransition,
    Observation,
    ReportExists,
    Store,
    StoreError,
    Verdict,
)

ROOT = Path(__file__).resolve().parents[1]
EPOCH = 4
SEED = b"\x07" * 32


def cid(i: int) -> str:
    return f"0x{i:064x}"


def node(i: int) -> str:
    return f"0x{i:040x}"


def obs(i: int, latency: float = 0.5) -> Observation:
    return Observation(cid(i), b'{"root":"0x00"}', b"\x01" * 65, latency, 1000.0 + i, 200)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "oracle.db"


@pytest.fixture
def store(path):
    s = Store(path)
    s.schedule_epoch(EPOCH, SEED)
    s.add_challenges(
        ChallengeRow(cid(i), EPOCH, node(i % 3), "storage", {"lease": i}) for i in range(10)
    )
    yield s
    s.close()


def test_wal_mode_synchronous_full_and_schema_version(store, path):
    assert store.pragma("journal_mode") == "wal"
    assert store.pragma("synchronous") == 2  # FULL
    assert store.schema_version == len(MIGRATIONS)
    # a second connection (another stage, the API) sees the same schema, no re-migration
    with Store(path) as other:
        assert other.schema_version == len(MIGRATIONS)
        assert other.challenge_counts(EPOCH) == {"pending": 10, "done": 0}


def test_newer_schema_is_refused(path):
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="schema version"):
        Store(path)


def test_schedule_is_idempotent_and_seed_is_fixed(store):
    assert store.schedule_epoch(EPOCH, SEED) is False
    with pytest.raises(StoreError, match="another seed"):
        store.schedule_epoch(EPOCH, b"\x08" * 32)
    assert store.add_challenges([ChallengeRow(cid(1), EPOCH, node(1), "storage", {})]) == 0


def test_observation_and_done_mark_are_one_transaction(store, monkeypatch):
    def crash(self, db, challenge_id):
        raise RuntimeError("crash between observation and done mark")

    monkeypatch.setattr(Store, "_mark_done", crash)
    with pytest.raises(RuntimeError, match="crash"):
        store.record_observations([obs(1), obs(2)])
    assert store.observation(cid(1)) is None and store.observation(cid(2)) is None
    assert store.challenge_counts(EPOCH) == {"pending": 10, "done": 0}
    monkeypatch.undo()
    assert store.record_observations([obs(1), obs(2)]) == 2
    assert store.observation(cid(1)).latency_s == 0.5


def test_replayed_observation_is_ignored(store):
    assert store.record_observation(obs(3, latency=0.25))
    assert not store.record_observation(obs(3, latency=9.0))  # exactly once: first one wins
    assert store.observation(cid(3)).latency_s == 0.25
    assert not store.record_observation(obs(99))  # unknown challenge


def test_process_crash_mid_transaction_then_restart_resumes_pending_only(store, path):
    store.record_observations([obs(0), obs(1), obs(2)])
    store.close()
    # A real process dies (os._exit, no cleanup) after inserting observations 3 and 4 but
    # before their done marks commit.
    code = textwrap.dedent(
        f"""
        import os
        from oracle.service.store import Observation, Store
        s = Store({str(path)!r})
        def die(self, db, challenge_id):
            if challenge_id.endswith("4"):
                os._exit(9)
            Store._real_mark_done(self, db, challenge_id)
        Store._real_mark_done = Store._mark_done
        Store._mark_done = die
        s.record_observations([
            Observation({cid(3)!r}, b"x", b"s", 0.1, 1.0),
            Observation({cid(4)!r}, b"y", b"s", 0.1, 1.0),
        ])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert proc.returncode == 9, proc.stderr.decode()
    with Store(path) as restarted:
        pending = [c.id for c in restarted.pending_challenges(EPOCH)]
        assert pending == [cid(i) for i in range(3, 10)]
        assert restarted.observation(cid(3)) is None and restarted.observation(cid(4)) is None
        assert restarted.observation(cid(2)) is not None
        # the resumed ingest finishes the epoch; nothing is written twice
        assert restarted.record_observations([obs(i) for i in range(10)]) == 7
        assert restarted.pending_challenges(EPOCH) == []
        assert len(restarted.unverified(EPOCH)) == 10


def test_epoch_state_is_compare_and_set(store):
    store.advance_epoch(EPOCH, "scheduled", "challenged")
    with pytest.raises(InvalidTransition, match="is challenged, not scheduled"):
        store.advance_epoch(EPOCH, "scheduled", "challenged")
    with pytest.raises(InvalidTransition, match="not allowed"):
        store.advance_epoch(EPOCH, "challenged", "submitted")
    assert store.epochs_in_state("challenged") == [EPOCH]


def _score_and_report(store):
    store.record_observations([obs(i) for i in range(10)])
    store.record_verdicts(
        Verdict(c.id, c.node, c.kind, True, "ok", latency_us=round(o.latency_s * 1e6),
                deadline_us=4_000_000, lease_id=c.request["lease"])
        for c, o in store.unverified(EPOCH)
    )  # fmt: skip
    store.advance_epoch(EPOCH, "scheduled", "challenged")
    by_node: dict[str, list[VerdictRecord]] = {}
    for v in store.verdicts_of(EPOCH):
        by_node.setdefault(v.node, []).append(
            VerdictRecord(v.challenge_id, v.passed, v.reason, v.latency_us / 1e6,
                          v.deadline_us / 1e6, lease_id=v.lease_id)
        )  # fmt: skip
    reps = store.reputations(EPOCH)
    inputs = [
        NodeInput(n, "0x" + "ab" * 20, NodeKind.STORAGE, tuple(vs), reps.get(n, (None, 0))[0],
                  leases={i: 10**18 for i in range(10)})
        for n, vs in by_node.items()
    ]  # fmt: skip
    results = score_epoch(EPOCH, inputs, 10**18)
    parent, cumulative = store.previous_report(EPOCH)
    build = build_epoch(EPOCH, 1, results, cumulative, parent=parent)
    store.save_scores(EPOCH, results, {n: build.node_lines[i] for n, i in build.index.items()})
    return build


def test_a_second_report_for_an_epoch_is_refused(store, path):
    build = _score_and_report(store)
    args = (
        EPOCH,
        build.digest(31337, "0x" + "11" * 20),
        build.report_json(),
        build.rewards_entries_json(),
        build.results_file,
        build.report.results_root,
    )
    store.create_report(*args)
    assert store.epoch(EPOCH)["state"] == "reported"
    with pytest.raises(ReportExists):
        store.create_report(*args)
    # also from another process/connection, and with different contents
    with Store(path) as other, pytest.raises(ReportExists):
        other.create_report(EPOCH, b"\x01" * 32, "{}", "[]", b"", b"\x00" * 32)
    stored = store.report_for(EPOCH)
    assert stored["results_file"] == build.results_file
    assert stored["report"]["totalRewards"] == 10**18
    assert {a: int(v) for a, v in stored["rewards"]} == build.cumulative
    digest = build.digest(31337, "0x" + "11" * 20)
    assert store.previous_report(EPOCH + 1) == (digest, build.cumulative)
    assert store.previous_report(EPOCH) == (bytes(32), {})
    store.add_signature(EPOCH, "0x" + "cd" * 20, b"\x02" * 65)
    assert store.report_for(EPOCH)["signatures"] == {"0x" + "cd" * 20: b"\x02" * 65}


def test_scores_saved_with_state_change_and_reputation_carried(store):
    build = _score_and_report(store)
    assert store.epoch(EPOCH)["state"] == "scored"
    rows = store.node_results(EPOCH)
    assert len(rows) == 3 and all(r["reason"] == "ok" for r in rows)
    assert sum(r["reward"] for r in rows) == 10**18
    assert rows[0]["line"] == build.node_lines[build.index[rows[0]["node"]]]
    reps = store.reputations(EPOCH + 1)
    assert set(reps) == {node(0), node(1), node(2)} and all(r[0] > 5_000 for r in reps.values())
    with pytest.raises(InvalidTransition):  # scoring twice is refused, nothing re-written
        store.save_scores(EPOCH, [], {})


def test_submissions_track_attempts(store):
    build = _score_and_report(store)
    store.create_report(
        EPOCH, b"\x05" * 32, build.report_json(), build.rewards_entries_json(),
        build.results_file, build.report.results_root,
    )  # fmt: skip
    assert store.record_submission(EPOCH, "0xaa", 7, 10**9) == 1
    assert store.record_submission(EPOCH, "0xbb", 7, 2 * 10**19) == 2  # a replacement
    assert store.submission_for(EPOCH)["gas_price"] == str(2 * 10**19)  # beyond 2^63 wei
    store.set_submission_status(EPOCH, "confirmed")
    sub = store.submission_for(EPOCH)
    assert (sub["tx_hash"], sub["nonce"], sub["status"], sub["attempts"]) == (
        "0xbb",
        7,
        "confirmed",
        2,
    )


def test_verdicts_are_typed_and_read_back_unchanged(store):
    """No field is parsed back from display text: a node's error body that looks like an
    index stays text, and the chunk index is a column."""
    store.record_observations([obs(0)])
    v = Verdict(cid(0), node(0), "storage", False, "bad_chunk", "HTTP 500: b'busy [index 7]'",
                latency_us=1_250_000, deadline_us=2_000_000, lease_id=9, chunk_index=3)  # fmt: skip
    assert store.record_verdicts([v]) == 1
    assert store.record_verdicts([v]) == 0  # written once
    assert store.verdicts_of(EPOCH) == [v]
    assert v.entry()["chunk_index"] == 3 and v.entry()["detail"].endswith("[index 7]'")


def test_an_outcome_is_recorded_whole_once_with_the_exact_bytes_received(store):
    answers = [b'{"challenge_id":"0x00"}', b"\xff\xfe not even utf-8 [index 7]"]
    row = ChallengeRow(cid(20), EPOCH, node(1), "compute", {"n": 64})
    v = Verdict(cid(20), node(1), "compute", True, "ok", latency_us=10, deadline_us=20)
    outcome = (row, obs(20), answers, v)
    assert store.record_outcomes([outcome]) == 1
    assert store.record_outcomes([outcome]) == 0  # a replay adds nothing
    assert store.responses(cid(20)) == answers
    assert store.observation(cid(20)).latency_s == 0.5
    assert cid(20) in [x.challenge_id for x in store.verdicts_of(EPOCH)]
    assert store.challenge_counts(EPOCH)["pending"] == 10  # the fixture's, untouched
