"""The PostgreSQL side of a micro-batch: poll book, anonymous ledger, running totals, rejections.

One transaction per micro-batch, bulk rows by COPY. The poll book (voter_turnout) is the
durable one-vote state across batches and restarts: a voter already in it casts a duplicate.
tally_batches records each committed batch, so a batch replayed after a crash is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from election_io import migrations
from election_io.tables import copy_arrow
from election_io.tally_exit import TALLY_STOPPED
from spark_jobs import contest_ledger

# Advisory lock held by the one live tally writing this database's poll book.
TALLY_LOCK = 7_000_005

STAGED_BALLOT_COLUMNS = (
    "topic_partition",
    "topic_offset",
    "voter_id",
    "candidate_id",
    "address_state",
    "county_fips",
    "outcomes",
    "voting_us",
)
STAGED_REJECTION_COLUMNS = ("topic_partition", "topic_offset", "vote_id", "reason", "detail", "raw")

# Voting times travel as microseconds since the epoch: Arrow writes integers to CSV far
# faster than timestamps, and the conversion back is exact.
_VOTING_TIME = "(timestamptz 'epoch' + voting_us * interval '1 microsecond')"

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staged_ballots (
    topic_partition integer NOT NULL,
    topic_offset    bigint NOT NULL,
    voter_id        text NOT NULL,
    candidate_id    text,
    address_state   text NOT NULL,
    county_fips     text,
    outcomes        text,
    voting_us       bigint NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staged_rejections (
    topic_partition integer NOT NULL,
    topic_offset    bigint NOT NULL,
    vote_id         text,
    reason          text NOT NULL,
    detail          text,
    raw             text
) ON COMMIT DELETE ROWS;
"""


@dataclass(frozen=True)
class BatchRecord:
    """A committed micro-batch: counts and the offsets it covered."""

    messages: int
    counted: int
    rejected: int
    topic: str
    ranges: dict[int, tuple[int, int]]  # partition -> (first offset, last offset)

    def end_offsets_json(self) -> str:
        return json.dumps(
            {
                "topic": self.topic,
                "start": {str(p): first for p, (first, _) in sorted(self.ranges.items())},
                "end": {str(p): last + 1 for p, (_, last) in sorted(self.ranges.items())},
            }
        )

    @classmethod
    def from_row(cls, messages, counted, rejected, end_offsets) -> BatchRecord:
        end_offsets = end_offsets or {}
        start, end = end_offsets.get("start", {}), end_offsets.get("end", {})
        ranges = {int(p): (int(start[p]), int(end[p]) - 1) for p in start}
        return cls(messages, counted, rejected, end_offsets.get("topic", ""), ranges)


@dataclass(frozen=True)
class Touched:
    """The result keys a committed batch changed."""

    candidates: tuple[str, ...]
    states: tuple[str, ...]
    contests: tuple[tuple[str, str], ...] = ()  # (contest_id, district_id)


def connect(database_url: str) -> psycopg.Connection:
    """An autocommit connection in UTC (the ledger truncates times to the minute in UTC)."""
    conn = psycopg.connect(database_url, autocommit=True, connect_timeout=10)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def prepare_session(conn: psycopg.Connection) -> None:
    """Check the election's tables are set up (no DDL on them) and make this session's staging."""
    migrations.check_schema(conn)
    conn.execute(_STAGING)
    conn.execute(contest_ledger.STAGING)


def try_lock_poll_book(conn: psycopg.Connection) -> bool:
    """Take the one-writer lock; False when another live tally holds it."""
    return bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (TALLY_LOCK,)).fetchone()[0])


def committed_batch(conn: psycopg.Connection, query_name: str, batch_id: int) -> BatchRecord | None:
    """The record of a batch committed before, or None."""
    row = conn.execute(
        "SELECT messages, counted, rejected, end_offsets FROM tally_batches "
        "WHERE query_name = %s AND batch_id = %s",
        (query_name, batch_id),
    ).fetchone()
    return BatchRecord.from_row(*row) if row else None


def committed_batches(conn: psycopg.Connection, query_name: str) -> int:
    (n,) = conn.execute(
        "SELECT count(*) FROM tally_batches WHERE query_name = %s", (query_name,)
    ).fetchone()
    return int(n)


def query_names(conn: psycopg.Connection, topic: str) -> list[str]:
    """The query names that committed batches of a topic, the latest last."""
    rows = conn.execute(
        "SELECT query_name FROM tally_batches WHERE end_offsets->>'topic' = %s "
        "GROUP BY query_name ORDER BY max(committed_at)",
        (topic,),
    ).fetchall()
    return [name for (name,) in rows]


def counted_topics(conn: psycopg.Connection) -> list[str]:
    """The ballot logs this ledger has counted batches of."""
    rows = conn.execute(
        "SELECT DISTINCT end_offsets->>'topic' FROM tally_batches "
        "WHERE end_offsets->>'topic' IS NOT NULL ORDER BY 1"
    ).fetchall()
    return [topic for (topic,) in rows]


def stage_ballots(conn: psycopg.Connection, first_ballots: pa.Table) -> list[tuple[int, int]]:
    """Stage a batch's first ballots and enter their voters in the poll book, inside the
    caller's transaction; return the duplicates found.

    first_ballots: each voter's first valid ballot of the batch (STAGED_BALLOT_COLUMNS). A
    voter the poll book already holds voted in an earlier batch: that ballot is set aside,
    and its (partition, offset) is returned so the caller can record it as a duplicate. Each
    voter is looked up by the poll book's key as it is entered (ON CONFLICT), so a batch costs
    its own voters, never a scan of everyone who has voted.
    """
    voters = first_ballots["voter_id"]
    if pc.count_distinct(voters).as_py() != len(voters):  # the poll book would enter one
        raise RuntimeError("a voter has two first ballots in one batch: nothing is committed")
    copy_arrow(conn, "staged_ballots", STAGED_BALLOT_COLUMNS, first_ballots)
    again = conn.execute(
        "WITH entered AS ("
        f"INSERT INTO voter_turnout (voter_id, voted_at) SELECT voter_id, {_VOTING_TIME} "
        "FROM staged_ballots ON CONFLICT (voter_id) DO NOTHING RETURNING voter_id) "
        "DELETE FROM staged_ballots WHERE voter_id NOT IN (SELECT voter_id FROM entered) "
        "RETURNING topic_partition, topic_offset"
    ).fetchall()
    return sorted((int(p), int(o)) for p, o in again)


def commit_batch(
    conn: psycopg.Connection,
    query_name: str,
    batch_id: int,
    topic: str,
    messages: int,
    rejections: Sequence[pa.Table],
    ranges: dict[int, tuple[int, int]],
    contest_deltas: contest_ledger.BatchDeltas | None = None,
) -> tuple[BatchRecord, Touched]:
    """Count the staged ballots and record the rejections, inside the caller's transaction.

    messages: every message of the batch; rejections: tables of STAGED_REJECTION_COLUMNS,
    the duplicates stage_ballots found among them. Counted + rejected must equal messages.
    contest_deltas: what the counted ballots add per contest and district
    (contest_ledger.BatchTotals); None adds nothing there. The national totals count the
    ballots with one national vote (candidate_id).
    """
    # the staged ballots are the voters stage_ballots entered in the poll book; shuffled, so
    # the ledger's row order does not follow the poll book's (ids are random too)
    counted = conn.execute(
        "INSERT INTO ballots (candidate_id, address_state, county_fips, outcomes, cast_at) "
        "SELECT candidate_id, address_state, county_fips, outcomes::jsonb, "
        f"date_trunc('minute', {_VOTING_TIME}) FROM staged_ballots ORDER BY random()"
    ).rowcount
    candidates = conn.execute(
        "INSERT INTO tally_by_candidate AS t (candidate_id, total_votes, updated_at) "
        "SELECT candidate_id, count(*), now() FROM staged_ballots "
        "WHERE candidate_id IS NOT NULL GROUP BY candidate_id "
        "ON CONFLICT (candidate_id) DO UPDATE "
        "SET total_votes = t.total_votes + excluded.total_votes, updated_at = excluded.updated_at "
        "RETURNING candidate_id"
    ).fetchall()
    states = conn.execute(
        "INSERT INTO tally_by_state AS t (address_state, candidate_id, total_votes, updated_at) "
        "SELECT address_state, candidate_id, count(*), now() FROM staged_ballots "
        "WHERE candidate_id IS NOT NULL GROUP BY address_state, candidate_id "
        "ON CONFLICT (address_state, candidate_id) DO UPDATE "
        "SET total_votes = t.total_votes + excluded.total_votes, updated_at = excluded.updated_at "
        "RETURNING address_state"
    ).fetchall()
    contests = contest_ledger.add_totals(conn, contest_deltas) if contest_deltas else ()
    for rejected in rejections:
        copy_arrow(conn, "staged_rejections", STAGED_REJECTION_COLUMNS, rejected)
    n_rejected = conn.execute(
        "INSERT INTO rejected_ballots "
        "(topic_partition, topic_offset, vote_id, reason, detail, raw, detected_at) "
        "SELECT topic_partition, topic_offset, vote_id, reason, detail, raw, now() "
        "FROM staged_rejections"
    ).rowcount
    if counted + n_rejected != messages:
        raise RuntimeError(
            f"batch {batch_id}: {messages} messages but {counted} counted + {n_rejected} rejected"
        )
    record = BatchRecord(messages, counted, n_rejected, topic, ranges)
    conn.execute(
        "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, end_offsets) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (query_name, batch_id, messages, counted, n_rejected, record.end_offsets_json()),
    )
    touched = Touched(
        candidates=tuple(sorted({c for (c,) in candidates})),
        states=tuple(sorted({s for (s,) in states})),
        contests=contests,
    )
    return record, touched


def offset_ranges(table: pa.Table) -> dict[int, tuple[int, int]]:
    """partition -> (first offset, last offset) of the messages in an Arrow table."""
    if table.num_rows == 0:
        return {}
    grouped = table.group_by("partition").aggregate([("offset", "min"), ("offset", "max")])
    return {
        int(p): (int(lo), int(hi))
        for p, lo, hi in zip(
            grouped["partition"].to_pylist(),
            grouped["offset_min"].to_pylist(),
            grouped["offset_max"].to_pylist(),
            strict=True,
        )
    }


def rejections_in(conn: psycopg.Connection, ranges: dict[int, tuple[int, int]]) -> list[tuple]:
    """Committed rejections within offset ranges: (partition, offset, vote_id, reason, detail, raw, detected_at)."""
    rows: list[tuple] = []
    for partition, (first, last) in sorted(ranges.items()):
        rows += conn.execute(
            "SELECT topic_partition, topic_offset, vote_id, reason, detail, raw, detected_at "
            "FROM rejected_ballots WHERE topic_partition = %s AND topic_offset BETWEEN %s AND %s "
            "ORDER BY topic_offset",
            (partition, first, last),
        ).fetchall()
    return rows


def candidate_totals(conn: psycopg.Connection, candidate_ids=None) -> list[tuple]:
    """(candidate_id, total_votes, updated_at) from the running totals."""
    sql = "SELECT candidate_id, total_votes, updated_at FROM tally_by_candidate"
    if candidate_ids is None:
        return conn.execute(sql).fetchall()
    return conn.execute(sql + " WHERE candidate_id = ANY(%s)", (list(candidate_ids),)).fetchall()


def state_totals(conn: psycopg.Connection, states=None) -> list[tuple]:
    """(address_state, candidate_id, total_votes, updated_at) from the running totals."""
    sql = "SELECT address_state, candidate_id, total_votes, updated_at FROM tally_by_state"
    if states is None:
        return conn.execute(sql).fetchall()
    return conn.execute(sql + " WHERE address_state = ANY(%s)", (list(states),)).fetchall()


def record_stop(conn: psycopg.Connection, query_name: str, exit_code: int, cause: str) -> None:
    """Write down why the tally stopped for good, for whoever supervises it."""
    conn.execute(
        "INSERT INTO audit_log (election_id, actor, action, outcome, detail) "
        "VALUES ((SELECT max(election_id) FROM elections), %s, %s, 'failed', %s)",
        (
            f"live_tally:{query_name}",
            TALLY_STOPPED,
            json.dumps({"exit_code": exit_code, "cause": cause}),
        ),
    )
