"""The oracle's durable store: SQLite in WAL mode (stdlib sqlite3). Stages talk only through it,
so any stage can crash and restart and replays from what is committed here.

**Durability.** journal_mode=WAL (readers, e.g. the API, never block the writer) with
synchronous=FULL: every commit fsyncs the WAL. With NORMAL a commit survives a process crash
but not a power loss or kernel panic, which may roll back the last transactions; for an oracle
that can mean forgetting that a report was signed or a transaction sent (a nonce reused, a
conflicting signature given to the committee). FULL costs one fsync per commit, so the hot path
(ingest) commits observations in batches (`record_observations`), which keeps it far above the
audit rate the network needs.

**Exactly-once ingest.** An observation is inserted in the same transaction that moves its
challenge from pending to done (`record_observations`); the update is conditional on
status = 'pending', so a replayed observation of a done challenge is ignored, and a crash
inside the transaction leaves neither. After a restart `pending_challenges` returns exactly the
challenges without an observation. The same pattern holds downstream: verdicts are keyed by
challenge id, node results are written in the transaction that moves the epoch to `scored`,
and a report in the transaction that moves it to `reported`; reports.epoch is the primary key,
so a second report for an epoch is refused (ReportExists) even by a second process.

**Migrations.** PRAGMA user_version is the schema version; MIGRATIONS[i] takes version i to
i + 1, each in one transaction; a database newer than this code is refused.

Epoch states, in order: scheduled -> challenged -> scored -> reported -> submitted -> confirmed
(submitted -> reported again when a transaction is dropped, so the submit stage can resend).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EPOCH_STATES = ("scheduled", "challenged", "scored", "reported", "submitted", "confirmed")
TRANSITIONS = {
    "scheduled": {"challenged"},
    "challenged": {"scored"},
    "scored": {"reported"},
    "reported": {"submitted"},
    "submitted": {"confirmed", "reported"},
    "confirmed": set(),
}

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE epochs (
        epoch       INTEGER PRIMARY KEY,
        seed        BLOB NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('scheduled', 'challenged', 'scored',
                                                   'reported', 'submitted', 'confirmed')),
        created_at  REAL NOT NULL,
        updated_at  REAL NOT NULL
    );
    CREATE TABLE challenges (
        id          TEXT PRIMARY KEY,           -- challenge_id, 0x-hex
        epoch       INTEGER NOT NULL REFERENCES epochs(epoch),
        node        TEXT NOT NULL,              -- lowercase 0x-hex
        kind        TEXT NOT NULL,
        request     TEXT NOT NULL,              -- JSON
        status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
        created_at  REAL NOT NULL
    );
    CREATE INDEX challenges_pending ON challenges(epoch, status);
    CREATE INDEX challenges_node ON challenges(node, epoch);
    CREATE TABLE observations (
        challenge_id TEXT PRIMARY KEY REFERENCES challenges(id),
        response     BLOB,                      -- raw payload bytes as received
        signature    BLOB,
        latency_s    REAL,
        received_at  REAL NOT NULL,
        http_status  INTEGER,
        error        TEXT
    );
    CREATE TABLE verdicts (
        challenge_id TEXT PRIMARY KEY REFERENCES challenges(id),
        passed       INTEGER NOT NULL,
        reason       TEXT NOT NULL,
        detail       TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE node_results (
        epoch          INTEGER NOT NULL REFERENCES epochs(epoch),
        node           TEXT NOT NULL,
        owner          TEXT NOT NULL,
        kind           INTEGER NOT NULL,
        reason         TEXT NOT NULL,
        score_bps      INTEGER NOT NULL,
        reputation_bps INTEGER NOT NULL,
        late_streak    INTEGER NOT NULL DEFAULT 0,
        reward         TEXT NOT NULL,           -- decimal string: may exceed 2^63
        slash_reason   INTEGER NOT NULL DEFAULT 0,
        slash_lease    TEXT NOT NULL DEFAULT '0',
        slash_chunk    INTEGER NOT NULL DEFAULT 0,
        evidence       BLOB,                    -- keccak256 of evidence_json
        evidence_json  BLOB,
        line           BLOB,                    -- the node's canonical results-file line
        PRIMARY KEY (epoch, node)
    );
    CREATE INDEX node_results_node ON node_results(node, epoch);
    CREATE TABLE reports (
        epoch          INTEGER PRIMARY KEY REFERENCES epochs(epoch),
        digest         BLOB NOT NULL UNIQUE,
        report         TEXT NOT NULL,           -- canonical JSON of the EpochReport
        rewards        TEXT NOT NULL,           -- [[account, cumulative], ...]
        results_file   BLOB NOT NULL,
        results_root   BLOB NOT NULL,
        signatures     TEXT NOT NULL DEFAULT '{}',  -- {signer: 0x-signature}
        created_at     REAL NOT NULL
    );
    CREATE TABLE submissions (
        epoch       INTEGER PRIMARY KEY REFERENCES reports(epoch),
        tx_hash     TEXT,
        nonce       INTEGER,
        status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        error       TEXT,
        updated_at  REAL NOT NULL
    );
    """,
    # 2: typed verdicts (what a committee bundle carries, no field parsed back from a string)
    # and the node's answers as the exact bytes received, one row per answer.
    """
    ALTER TABLE verdicts ADD COLUMN latency_us INTEGER;
    ALTER TABLE verdicts ADD COLUMN deadline_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verdicts ADD COLUMN lease_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verdicts ADD COLUMN chunk_index INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verdicts ADD COLUMN coverage_micro INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verdicts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE responses (
        challenge_id TEXT NOT NULL REFERENCES challenges(id),
        seq          INTEGER NOT NULL,
        body         BLOB NOT NULL,
        PRIMARY KEY (challenge_id, seq)
    );
    """,
    # 3: the submit stage's record: the gas price of the transaction in flight (a replacement
    # pays more), 'reverted' as a status, and no tie to a stored report (a committee leader
    # sends before the report is stored: it stores it once the hub has settled it).
    """
    CREATE TABLE submissions_v3 (
        epoch       INTEGER PRIMARY KEY REFERENCES epochs(epoch),
        tx_hash     TEXT,
        nonce       INTEGER,
        gas_price   TEXT,                     -- decimal string: wei may exceed 2^63
        status      TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed',
                                                    'reverted')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        error       TEXT,
        updated_at  REAL NOT NULL
    );
    INSERT INTO submissions_v3 (epoch, tx_hash, nonce, status, attempts, error, updated_at)
        SELECT epoch, tx_hash, nonce, status, attempts, error, updated_at FROM submissions;
    DROP TABLE submissions;
    ALTER TABLE submissions_v3 RENAME TO submissions;
    """,
)


class StoreError(RuntimeError):
    pass


class ReportExists(StoreError):
    """A report for this epoch is already stored; it is never replaced."""


class InvalidTransition(StoreError):
    pass


@dataclass(frozen=True)
class ChallengeRow:
    id: str
    epoch: int
    node: str
    kind: str
    request: dict


# Bounds of a verdict's fields (a committee refuses a bundle with any field outside them).
MAX_MICROS = 10**12  # latency and deadline, about 11.6 days in microseconds
MAX_ID = 2**63 - 1  # lease id, chunk index (SQLite's INTEGER)
MAX_COVERAGE_MICRO = 10**15
MAX_REASON = 64
MAX_DETAIL = 1_024
MAX_ATTEMPTS = 64
KINDS = frozenset({"compute", "storage", "beacon", "coverage", "witness"})


@dataclass(frozen=True)
class Verdict:
    """One challenge's verdict, typed, as the challenge stage wrote it (with the deadline the
    challenge ran with) and as it is read back; `entry()` is its committee bundle entry
    (oracle.committee.rules: integers only). `detail` is display text, never parsed."""

    challenge_id: str  # 0x-hex
    node: str  # lowercase 0x-hex
    kind: str
    passed: bool
    reason: str
    detail: str = ""
    latency_us: int | None = None  # None: no answer
    deadline_us: int = 0
    lease_id: int = 0
    chunk_index: int = 0
    coverage_micro: int = 0
    attempts: int = 1  # tries, each a fresh challenge; an unanswered verdict spans them all

    def entry(self) -> dict:
        return {
            "challenge_id": self.challenge_id,
            "node": self.node,
            "kind": self.kind,
            "passed": self.passed,
            "reason": self.reason,
            "detail": self.detail,
            "latency_us": self.latency_us,
            "deadline_us": self.deadline_us,
            "lease_id": self.lease_id,
            "chunk_index": self.chunk_index,
            "coverage_micro": self.coverage_micro,
            "attempts": self.attempts,
            "evidence": None,  # its digest, which oracle.committee.build.own_bundle fills in
        }


@dataclass(frozen=True)
class Observation:
    challenge_id: str
    response: bytes | None
    signature: bytes | None
    latency_s: float | None
    received_at: float
    http_status: int | None = None
    error: str | None = None


class _Rows:
    """A statement's result, fetched while the connection's lock was held."""

    def __init__(self, cursor: sqlite3.Cursor):
        self.rows = cursor.fetchall()
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list:
        return self.rows

    def __iter__(self):
        return iter(self.rows)


class _Connection:
    """The Store's connection behind one lock: every statement runs and is fetched under it,
    a transaction holds it throughout, and `close` takes it, so a thread still finishing a
    pipeline pass (after its task was cancelled at shutdown) never meets a closed connection
    mid-statement (a crash in sqlite3); it gets StoreError instead."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self.lock = threading.RLock()
        self.closed = False

    def _check(self) -> None:
        if self.closed:
            raise StoreError("the store is closed")

    def execute(self, sql: str, params=()) -> _Rows:
        with self.lock:
            self._check()
            return _Rows(self._conn.execute(sql, params))

    def executemany(self, sql: str, seq) -> _Rows:
        with self.lock:
            self._check()
            return _Rows(self._conn.executemany(sql, seq))

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self._conn.close()


class Store:
    """One connection per Store, shared by the pipeline's threads and the API's event loop,
    every statement under one lock (_Connection)."""

    def __init__(self, path: str | Path, *, clock=time.time):
        self.path = str(path)
        self._clock = clock
        # One connection shared by the pipeline's worker thread and the API's event loop:
        # SQLite is built serialized here (sqlite3.threadsafety == 3), the pipeline is the only
        # writer and runs one stage at a time, and the API only reads.
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=30.0, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        self._db = _Connection(conn)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal" and self.path != ":memory:":
            raise StoreError(f"could not enable WAL on {self.path} (journal_mode={mode})")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # ------------------------------------------------------------ plumbing
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """BEGIN IMMEDIATE ... COMMIT, holding the connection's lock throughout; rolls back on
        any exception (then re-raises it)."""
        with self._db.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if not self._db.closed:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def pragma(self, name: str) -> Any:
        return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    @property
    def schema_version(self) -> int:
        return self.pragma("user_version")

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} has schema version {version}; this oracle knows {len(MIGRATIONS)}"
            )
        for i in range(version, len(MIGRATIONS)):
            with self.transaction() as db:
                for statement in MIGRATIONS[i].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {i + 1}")

    # ------------------------------------------------------------ epochs
    def schedule_epoch(self, epoch: int, seed: bytes) -> bool:
        """Adds the epoch as scheduled; False if it was already there with the same seed."""
        now = self._clock()
        with self.transaction() as db:
            row = db.execute("SELECT seed FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
            if row is not None:
                if bytes(row["seed"]) != seed:
                    raise StoreError(f"epoch {epoch} already scheduled with another seed")
                return False
            db.execute(
                "INSERT INTO epochs (epoch, seed, state, created_at, updated_at) "
                "VALUES (?, ?, 'scheduled', ?, ?)",
                (epoch, seed, now, now),
            )
            return True

    def epoch(self, epoch: int) -> dict | None:
        row = self._db.execute("SELECT * FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
        return None if row is None else dict(row)

    def epochs_in_state(self, state: str) -> list[int]:
        rows = self._db.execute(
            "SELECT epoch FROM epochs WHERE state = ? ORDER BY epoch", (state,)
        ).fetchall()
        return [r[0] for r in rows]

    def catch_up_from(self) -> int | None:
        """The first epoch after the latest confirmed one (the earliest known epoch if none is
        confirmed); None for an empty store. Reports build on the one before, so epochs are
        adopted in order from here."""
        row = self._db.execute("SELECT MAX(epoch) FROM epochs WHERE state = 'confirmed'").fetchone()
        if row[0] is not None:
            return row[0] + 1
        return self._db.execute("SELECT MIN(epoch) FROM epochs").fetchone()[0]

    def latest_epoch(self) -> int | None:
        return self._db.execute("SELECT MAX(epoch) FROM epochs").fetchone()[0]

    def epochs(self, limit: int, before: int | None = None) -> list[dict]:
        """The latest `limit` epochs (below `before`), newest first."""
        rows = self._db.execute(
            "SELECT * FROM epochs WHERE (?1 IS NULL OR epoch < ?1) ORDER BY epoch DESC LIMIT ?2",
            (before, limit),
        )
        return [dict(r) for r in rows]

    def latest_report_epoch(self) -> int | None:
        """The latest epoch with a report (built, adopted or settled)."""
        return self._db.execute("SELECT MAX(epoch) FROM reports").fetchone()[0]

    def _advance(self, db: _Connection, epoch: int, from_state: str, to_state: str) -> None:
        if to_state not in TRANSITIONS.get(from_state, ()):
            raise InvalidTransition(f"epoch state {from_state} -> {to_state} is not allowed")
        cur = db.execute(
            "UPDATE epochs SET state = ?, updated_at = ? WHERE epoch = ? AND state = ?",
            (to_state, self._clock(), epoch, from_state),
        )
        if cur.rowcount != 1:
            row = db.execute("SELECT state FROM epochs WHERE epoch = ?", (epoch,)).fetchone()
            now = "absent" if row is None else row[0]
            raise InvalidTransition(f"epoch {epoch} is {now}, not {from_state}")

    def advance_epoch(self, epoch: int, from_state: str, to_state: str) -> None:
        """Compare-and-set of the epoch state; InvalidTransition if it is not `from_state`."""
        with self.transaction() as db:
            self._advance(db, epoch, from_state, to_state)

    # ------------------------------------------------------------ challenges (ingest)
    def add_challenges(self, challenges: Iterable[ChallengeRow]) -> int:
        """Inserts challenges (idempotent: a replayed schedule adds nothing); returns new rows."""
        now = self._clock()
        added = 0
        with self.transaction() as db:
            for c in challenges:
                cur = db.execute(
                    "INSERT OR IGNORE INTO challenges (id, epoch, node, kind, request, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (c.id, c.epoch, c.node.lower(), c.kind, _json(c.request), now),
                )
                added += cur.rowcount
        return added

    def pending_challenges(self, epoch: int, limit: int | None = None) -> list[ChallengeRow]:
        sql = "SELECT * FROM challenges WHERE epoch = ? AND status = 'pending' ORDER BY id"
        args: tuple = (epoch,)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [_challenge(r) for r in self._db.execute(sql, args)]

    def challenge_counts(self, epoch: int) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, COUNT(*) FROM challenges WHERE epoch = ? GROUP BY status", (epoch,)
        )
        counts = {"pending": 0, "done": 0}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def _insert_observation(self, db: _Connection, o: Observation) -> None:
        db.execute(
            "INSERT INTO observations (challenge_id, response, signature, latency_s, received_at,"
            " http_status, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (o.challenge_id, o.response, o.signature, o.latency_s, o.received_at,
             o.http_status, o.error),
        )  # fmt: skip

    def _mark_done(self, db: _Connection, challenge_id: str) -> None:
        db.execute("UPDATE challenges SET status = 'done' WHERE id = ?", (challenge_id,))

    def record_observations(self, observations: Sequence[Observation]) -> int:
        """Stores each observation and marks its challenge done, all in one transaction.
        Observations of challenges already done (or unknown) are skipped; returns how many
        were recorded."""
        recorded = 0
        with self.transaction() as db:
            for o in observations:
                row = db.execute(
                    "SELECT status FROM challenges WHERE id = ?", (o.challenge_id,)
                ).fetchone()
                if row is None or row[0] != "pending":
                    continue
                self._insert_observation(db, o)
                self._mark_done(db, o.challenge_id)
                recorded += 1
        return recorded

    def record_observation(self, observation: Observation) -> bool:
        return self.record_observations([observation]) == 1

    def observation(self, challenge_id: str) -> Observation | None:
        r = self._db.execute(
            "SELECT * FROM observations WHERE challenge_id = ?", (challenge_id,)
        ).fetchone()
        return None if r is None else _observation(r)

    # ------------------------------------------------------------ verdicts (verify)
    def unverified(self, epoch: int) -> list[tuple[ChallengeRow, Observation]]:
        """Done challenges of the epoch without a verdict, with their observations."""
        rows = self._db.execute(
            "SELECT c.*, o.response, o.signature, o.latency_s, o.received_at, o.http_status,"
            " o.error, o.challenge_id FROM challenges c JOIN observations o ON o.challenge_id ="
            " c.id LEFT JOIN verdicts v ON v.challenge_id = c.id"
            " WHERE c.epoch = ? AND v.challenge_id IS NULL ORDER BY c.id",
            (epoch,),
        )
        return [(_challenge(r), _observation(r)) for r in rows]

    def record_verdicts(self, verdicts: Iterable[Verdict]) -> int:
        """Writes each verdict (of a known challenge) once, never replaced (verification is a
        pure function: a replay computes the same one); returns how many were added."""
        added = 0
        with self.transaction() as db:
            for v in verdicts:
                added += self._insert_verdict(db, v)
        return added

    @staticmethod
    def _insert_verdict(db: _Connection, v: Verdict) -> int:
        return db.execute(
            "INSERT OR IGNORE INTO verdicts (challenge_id, passed, reason, detail, latency_us,"
            " deadline_us, lease_id, chunk_index, coverage_micro, attempts) VALUES (?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?)",
            (v.challenge_id, int(bool(v.passed)), v.reason, v.detail, v.latency_us,
             v.deadline_us, v.lease_id, v.chunk_index, v.coverage_micro, v.attempts),
        ).rowcount  # fmt: skip

    def verdicts_of(self, epoch: int) -> list[Verdict]:
        """Every verdict of the epoch, with its challenge's node and kind, by node and id."""
        rows = self._db.execute(
            "SELECT c.id, c.node, c.kind, v.passed, v.reason, v.detail, v.latency_us,"
            " v.deadline_us, v.lease_id, v.chunk_index, v.coverage_micro, v.attempts"
            " FROM challenges c JOIN verdicts v ON v.challenge_id = c.id WHERE c.epoch = ?"
            " ORDER BY c.node, c.id",
            (epoch,),
        )
        return [Verdict(*r[:3], bool(r[3]), *r[4:]) for r in rows]

    def record_outcomes(
        self, outcomes: Sequence[tuple[ChallengeRow, Observation, Sequence[bytes], Verdict]]
    ) -> int:
        """Each challenge with what came of it (its observation, the node's answers as exact
        bytes, its verdict), all in one transaction: a crash leaves a challenge either fully
        recorded or absent. A challenge already done is skipped; returns how many were new."""
        recorded = 0
        now = self._clock()
        with self.transaction() as db:
            for row, o, bodies, v in outcomes:
                db.execute(
                    "INSERT OR IGNORE INTO challenges (id, epoch, node, kind, request, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row.id, row.epoch, row.node.lower(), row.kind, _json(row.request), now),
                )
                status = db.execute("SELECT status FROM challenges WHERE id = ?", (row.id,))
                if status.fetchone()[0] != "pending":
                    continue
                db.executemany(
                    "INSERT OR IGNORE INTO responses (challenge_id, seq, body) VALUES (?, ?, ?)",
                    [(row.id, i, bytes(b)) for i, b in enumerate(bodies)],
                )
                self._insert_observation(db, o)
                self._mark_done(db, row.id)
                self._insert_verdict(db, v)
                recorded += 1
        return recorded

    def exchanges(self, epoch: int) -> dict[str, tuple[dict, list[bytes]]]:
        """challenge id -> (the request as sent, the node's answers as exact bytes), for every
        challenge of the epoch: what the committee's evidence objects are made of."""
        out: dict[str, tuple[dict, list[bytes]]] = {
            cid: (json.loads(request), [])
            for cid, request in self._db.execute(
                "SELECT id, request FROM challenges WHERE epoch = ?", (epoch,)
            )
        }
        for cid, body in self._db.execute(
            "SELECT r.challenge_id, r.body FROM responses r JOIN challenges c"
            " ON c.id = r.challenge_id WHERE c.epoch = ? ORDER BY r.challenge_id, r.seq",
            (epoch,),
        ):
            out[cid][1].append(bytes(body))
        return out

    def exchange(self, challenge_id: str) -> tuple[dict, list[bytes]] | None:
        """(the request as sent, the node's answers as exact bytes) of one challenge."""
        row = self._db.execute(
            "SELECT request FROM challenges WHERE id = ?", (challenge_id,)
        ).fetchone()
        return None if row is None else (json.loads(row[0]), self.responses(challenge_id))

    def responses(self, challenge_id: str) -> list[bytes]:
        rows = self._db.execute(
            "SELECT body FROM responses WHERE challenge_id = ? ORDER BY seq", (challenge_id,)
        )
        return [bytes(r[0]) for r in rows]

    # ------------------------------------------------------------ node results (score)
    def save_scores(
        self, epoch: int, results: Iterable[Any], lines: dict[str, bytes] | None = None
    ):
        """Writes the epoch's node results (oracle.service.score.NodeResult) and moves the epoch
        from challenged to scored, in one transaction."""
        lines = lines or {}
        with self.transaction() as db:
            self._advance(db, epoch, "challenged", "scored")
            for r in results:
                db.execute(
                    "INSERT INTO node_results (epoch, node, owner, kind, reason, score_bps,"
                    " reputation_bps, late_streak, reward, slash_reason, slash_lease,"
                    " slash_chunk, evidence, evidence_json, line)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (epoch, r.node.lower(), r.owner.lower(), int(r.kind), r.reason, r.score_bps,
                     r.reputation_bps, r.late_streak, str(r.reward), r.slash_reason,
                     str(r.slash_lease), r.slash_chunk, r.evidence, r.evidence_json,
                     lines.get(r.node.lower())),
                )  # fmt: skip

    def node_results(self, epoch: int) -> list[dict]:
        rows = self._db.execute(
            "SELECT * FROM node_results WHERE epoch = ? ORDER BY node", (epoch,)
        )
        return [_node_result(r) for r in rows]

    def node_history(self, node: str, limit: int = 100) -> list[dict]:
        rows = self._db.execute(
            "SELECT * FROM node_results WHERE node = ? ORDER BY epoch DESC LIMIT ?",
            (node.lower(), limit),
        )
        return [_node_result(r) for r in rows]

    def latest_results(
        self,
        kind: int | None = None,
        reason: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Each node's latest result, by address (lowercase), those after `after` only; `kind`
        and `reason` filter (on the latest result)."""
        rows = self._db.execute(
            "SELECT n.* FROM node_results n JOIN"
            " (SELECT node, MAX(epoch) AS e FROM node_results GROUP BY node) m"
            " ON n.node = m.node AND n.epoch = m.e"
            " WHERE (?1 IS NULL OR n.kind = ?1) AND (?2 IS NULL OR n.reason = ?2)"
            " AND (?3 IS NULL OR n.node > ?3) ORDER BY n.node LIMIT ?4",
            (kind, reason, after, -1 if limit is None else limit),
        )
        return [_node_result(r) for r in rows]

    def reputations(self, before_epoch: int) -> dict[str, tuple[int, int]]:
        """node -> (reputation_bps, late_streak) from each node's latest result before
        `before_epoch`; nodes never scored are absent (they start at the prior)."""
        rows = self._db.execute(
            "SELECT n.node, n.reputation_bps, n.late_streak FROM node_results n JOIN"
            " (SELECT node, MAX(epoch) AS e FROM node_results WHERE epoch < ? GROUP BY node) m"
            " ON n.node = m.node AND n.epoch = m.e",
            (before_epoch,),
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    # ------------------------------------------------------------ reports (report)
    def create_report(
        self,
        epoch: int,
        digest: bytes,
        report_json: bytes | str,
        rewards_json: bytes | str,
        results_file: bytes,
        results_root: bytes,
        signatures: dict[str, bytes] | None = None,
    ) -> None:
        """Stores the epoch's report and moves the epoch from scored to reported, atomically.
        ReportExists if the epoch already has one (never replaced)."""
        sigs = {k: "0x" + v.hex() for k, v in (signatures or {}).items()}
        try:
            with self.transaction() as db:
                if db.execute("SELECT 1 FROM reports WHERE epoch = ?", (epoch,)).fetchone():
                    raise ReportExists(f"epoch {epoch} already has a report")
                db.execute(
                    "INSERT INTO reports (epoch, digest, report, rewards, results_file,"
                    " results_root, signatures, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (epoch, digest, _text(report_json), _text(rewards_json), results_file,
                     results_root, json.dumps(sigs, sort_keys=True), self._clock()),
                )  # fmt: skip
                self._advance(db, epoch, "scored", "reported")
        except sqlite3.IntegrityError as exc:  # a concurrent writer got there first
            raise ReportExists(f"epoch {epoch} already has a report: {exc}") from None

    def report_for(self, epoch: int) -> dict | None:
        row = self._db.execute("SELECT * FROM reports WHERE epoch = ?", (epoch,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["digest"] = bytes(out["digest"])
        out["results_root"] = bytes(out["results_root"])
        out["results_file"] = bytes(out["results_file"])
        out["report"] = json.loads(out["report"])
        out["rewards"] = json.loads(out["rewards"])
        out["signatures"] = {
            k: bytes.fromhex(v[2:]) for k, v in json.loads(out["signatures"]).items()
        }
        return out

    def add_signature(self, epoch: int, signer: str, signature: bytes) -> None:
        with self.transaction() as db:
            row = db.execute("SELECT signatures FROM reports WHERE epoch = ?", (epoch,)).fetchone()
            if row is None:
                raise StoreError(f"no report for epoch {epoch}")
            sigs = json.loads(row[0])
            sigs[signer.lower()] = "0x" + signature.hex()
            db.execute(
                "UPDATE reports SET signatures = ? WHERE epoch = ?",
                (json.dumps(sigs, sort_keys=True), epoch),
            )

    def previous_report(self, epoch: int) -> tuple[bytes, dict[str, int]]:
        """(digest, cumulative rewards) of the latest report before `epoch` (zero and empty if
        none): the parent the next report names and the base it adds to."""
        row = self._db.execute(
            "SELECT digest, rewards FROM reports WHERE epoch < ? ORDER BY epoch DESC LIMIT 1",
            (epoch,),
        ).fetchone()
        if row is None:
            return bytes(32), {}
        return bytes(row[0]), {a: int(v) for a, v in json.loads(row[1])}

    # ------------------------------------------------------------ submissions (submit)
    def record_submission(
        self, epoch: int, tx_hash: str, nonce: int | None, gas_price: int | None
    ) -> int:
        """Persists the transaction about to be broadcast for `epoch` (status 'sent'),
        replacing the record of an earlier one; returns the attempt count."""
        price = None if gas_price is None else str(gas_price)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO submissions (epoch, tx_hash, nonce, gas_price, status, attempts,"
                " updated_at) VALUES (?, ?, ?, ?, 'sent', 1, ?) ON CONFLICT(epoch) DO UPDATE SET"
                " tx_hash = excluded.tx_hash, nonce = excluded.nonce, gas_price ="
                " excluded.gas_price, status = 'sent', error = NULL, attempts = attempts + 1,"
                " updated_at = excluded.updated_at",
                (epoch, tx_hash, nonce, price, self._clock()),
            )
            return db.execute(
                "SELECT attempts FROM submissions WHERE epoch = ?", (epoch,)
            ).fetchone()[0]

    def set_submission_status(self, epoch: int, status: str, error: str | None = None) -> None:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE submissions SET status = ?, error = ?, updated_at = ? WHERE epoch = ?",
                (status, error, self._clock(), epoch),
            )
            if cur.rowcount != 1:
                raise StoreError(f"no submission for epoch {epoch}")

    def submission_for(self, epoch: int) -> dict | None:
        row = self._db.execute("SELECT * FROM submissions WHERE epoch = ?", (epoch,)).fetchone()
        return None if row is None else dict(row)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _challenge(r: sqlite3.Row) -> ChallengeRow:
    return ChallengeRow(r["id"], r["epoch"], r["node"], r["kind"], json.loads(r["request"]))


def _observation(r: sqlite3.Row) -> Observation:
    def _b(v):
        return None if v is None else bytes(v)

    return Observation(
        challenge_id=r["challenge_id"],
        response=_b(r["response"]),
        signature=_b(r["signature"]),
        latency_s=r["latency_s"],
        received_at=r["received_at"],
        http_status=r["http_status"],
        error=r["error"],
    )


def _node_result(r: sqlite3.Row) -> dict:
    out = dict(r)
    out["reward"] = int(out["reward"])
    out["slash_lease"] = int(out["slash_lease"])
    for key in ("evidence", "evidence_json", "line"):
        if out[key] is not None:
            out[key] = bytes(out[key])
    return out
