"""The ledger's side of a batch on the real PostgreSQL: duplicates found, counts, ballot secrecy."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from election import contract
from election_io import contest_tables, migrations
from spark_jobs import ledger

pytestmark = [pytest.mark.services]

BASE = datetime(2024, 11, 5, 8, tzinfo=UTC)
NO_REJECTIONS = pa.table({c: pa.array([], pa.string()) for c in ledger.STAGED_REJECTION_COLUMNS})


def first_ballots(voters, start: int = 0, candidate: str = "c1", state: str = "Ohio") -> pa.Table:
    """First ballots in poll-book order, each cast in its own minute (which identifies it here)."""
    n = len(voters)
    micros = [round(BASE.timestamp() * 1e6) + (start + i) * 60_000_000 for i in range(n)]
    return pa.table(
        {
            "topic_partition": pa.array([0] * n, pa.int32()),
            "topic_offset": pa.array(range(start, start + n), pa.int64()),
            "voter_id": voters,
            "candidate_id": [candidate] * n,
            "address_state": [state] * n,
            "county_fips": pa.nulls(n, pa.string()),
            "outcomes": pa.nulls(n, pa.string()),
            "cells": pa.nulls(n, pa.list_(pa.string())),  # as a batch judged without contests
            "voting_us": pa.array(micros, pa.int64()),
        }
    )


@pytest.fixture
def conn(scratch_database):
    connection = ledger.connect(scratch_database)
    migrations.migrate(connection)
    ledger.prepare_session(connection)
    yield connection
    connection.close()


def commit(conn, batch_id: int, ballots: pa.Table, rejections=(NO_REJECTIONS,)):
    with conn.transaction():
        again = ledger.stage_ballots(conn, ballots)
        extra = [duplicates_of(ballots, again)] if again else []
        record, touched = ledger.commit_batch(
            conn, "q", batch_id, "votes", ballots.num_rows, [*rejections, *extra], {}
        )
    return again, record, touched


def duplicates_of(ballots: pa.Table, places) -> pa.Table:
    n = len(places)
    return pa.table(
        {
            "topic_partition": [p for p, _ in places],
            "topic_offset": [o for _, o in places],
            "vote_id": [None] * n,
            "reason": [contract.DUPLICATE] * n,
            "detail": ["the voter has already voted"] * n,
            "raw": [None] * n,
        }
    )


def test_staging_returns_the_ballots_of_voters_already_in_the_poll_book(conn):
    again, record, touched = commit(conn, 0, first_ballots(["a", "b"]))
    assert again == [] and (record.messages, record.counted, record.rejected) == (2, 2, 0)
    assert touched == ledger.Touched(candidates=("c1",), states=("Ohio",))
    again, record, _ = commit(conn, 1, first_ballots(["b", "c", "a"], start=2))
    assert again == [(0, 2), (0, 4)]  # b and a voted in batch 0
    assert (record.counted, record.rejected) == (1, 2)
    rejected = conn.execute("SELECT topic_offset, reason FROM rejected_ballots ORDER BY 1")
    assert rejected.fetchall() == [(2, contract.DUPLICATE), (4, contract.DUPLICATE)]


def test_the_duplicate_check_reads_the_poll_book_by_voter_never_whole(conn):
    # A hash join with the whole poll book cost every batch a scan of everyone who had voted:
    # 0.4 s at 700,000 voters, growing all day. Each staged voter is looked up by its key.
    voters = [f"voter-{i:05d}" for i in range(20_000)]
    commit(conn, 0, first_ballots(voters[:15_000]))
    conn.execute("ANALYZE voter_turnout")
    scans = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'voter_turnout'"
    with conn.transaction():
        (before,) = conn.execute(scans).fetchone()  # with this session's counts not yet sent
        again = ledger.stage_ballots(conn, first_ballots(voters[10_000:], start=15_000))
        (after,) = conn.execute(scans).fetchone()
        record, _ = ledger.commit_batch(
            conn, "q", 1, "votes", 10_000, [NO_REJECTIONS, duplicates_of(None, again)], {}
        )
    assert after == before
    assert again == [(0, offset) for offset in range(15_000, 20_000)]  # voted in batch 0
    assert (record.counted, record.rejected) == (5_000, 5_000)
    (polled,) = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()
    assert polled == 20_000


def test_a_voter_with_two_first_ballots_in_a_batch_refuses_it(conn):
    with pytest.raises(RuntimeError, match="two first ballots"), conn.transaction():
        ledger.stage_ballots(conn, first_ballots(["a", "b", "a"]))
    assert conn.execute("SELECT count(*) FROM voter_turnout").fetchone()[0] == 0


def test_counts_that_do_not_add_up_refuse_the_whole_batch(conn):
    with pytest.raises(RuntimeError, match="3 messages but 2 counted"), conn.transaction():
        ledger.stage_ballots(conn, first_ballots(["a", "b"]))
        ledger.commit_batch(conn, "q", 0, "votes", 3, [NO_REJECTIONS], {})
    assert conn.execute("SELECT count(*) FROM voter_turnout").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM tally_batches").fetchone()[0] == 0


def rank_correlation(a, b) -> float:
    ranks_a = np.argsort(np.argsort(a))
    ranks_b = np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def test_neither_ballot_ids_nor_row_order_follow_the_poll_book(conn):
    n = 300
    voters = [f"voter-{i:04d}" for i in range(n)]
    commit(conn, 0, first_ballots(voters[: n // 2]))
    commit(conn, 1, first_ballots(voters[n // 2 :], start=n // 2))
    # the test knows each ballot's minute, hence its voter; an observer of the ledger does not
    position = {
        voter_id: i
        for i, (voter_id,) in enumerate(
            conn.execute("SELECT voter_id FROM voter_turnout ORDER BY ctid")
        )
    }
    assert list(position) == voters  # the poll book is in offset order
    minute = {round(BASE.timestamp() / 60) + i: i for i in range(n)}

    def voter_positions(order_by: str) -> list[int]:
        rows = conn.execute(f"SELECT extract(epoch FROM cast_at) FROM ballots ORDER BY {order_by}")
        return [minute[round(float(t) / 60)] for (t,) in rows]

    by_id, physical = voter_positions("ballot_id"), voter_positions("ctid")
    assert sorted(by_id) == list(range(n))
    assert abs(rank_correlation(by_id, range(n))) < 0.25
    # rows are appended batch by batch (the residual link of the commit); within one, shuffled
    for batch in (range(n // 2), range(n // 2, n)):
        rows = [i for i in physical if i in batch]
        assert abs(rank_correlation(rows, batch)) < 0.3
    # nor do the ids tell the batches apart: the second batch's are not all above the first's
    ids = {
        i: ballot_id
        for i, ballot_id in zip(
            by_id,
            [r[0] for r in conn.execute("SELECT ballot_id FROM ballots ORDER BY ballot_id")],
            strict=True,
        )
    }
    assert max(ids[i] for i in range(n // 2)) > min(ids[i] for i in range(n // 2, n))


def test_a_ledger_with_sequential_ids_gets_random_ones(scratch_database):
    with ledger.connect(scratch_database) as conn:
        conn.execute(
            "CREATE TABLE ballots (ballot_id bigserial PRIMARY KEY, candidate_id text NOT NULL, "
            "address_state text NOT NULL, cast_at timestamptz NOT NULL)"
        )
        conn.execute(
            "INSERT INTO ballots (candidate_id, address_state, cast_at) "
            "SELECT 'c1', 'Ohio', now() FROM generate_series(1, 5)"
        )
        migrations.migrate(conn)
        ledger.prepare_session(conn)  # and the tally's start: nothing left to change
        (kind,) = conn.execute("SELECT pg_typeof(ballot_id)::text FROM ballots LIMIT 1").fetchone()
        assert kind == "uuid"
        assert conn.execute("SELECT count(DISTINCT ballot_id) FROM ballots").fetchone()[0] == 5
        conn.execute(
            "INSERT INTO ballots (candidate_id, address_state, cast_at) VALUES ('c2', 'Utah', now())"
        )
        assert conn.execute("SELECT count(*) FROM ballots").fetchone()[0] == 6


def test_a_ledger_row_keeps_only_the_minute_of_its_ballot(conn):
    ballots = first_ballots(["a", "b"])
    late = pa.array([round(BASE.timestamp() * 1e6) + 59_999_999, 0], pa.int64())  # and 1970
    ballots = ballots.set_column(ballots.schema.get_field_index("voting_us"), "voting_us", late)
    commit(conn, 0, ballots)
    cast = conn.execute("SELECT cast_at FROM ballots ORDER BY cast_at").fetchall()
    assert [at for (at,) in cast] == [datetime(1970, 1, 1, tzinfo=UTC), BASE]
    voted = conn.execute("SELECT voted_at FROM voter_turnout ORDER BY voter_id").fetchall()
    assert voted[0][0] == BASE.replace(second=59, microsecond=999_999)  # the poll book's is exact


def test_the_publisher_reads_the_same_totals_by_key_or_by_reading_every_row(conn):
    """Many keys wanted are read with every row (contest_tables._most_rows), few one by one."""
    keys = [(f"contest-{i % 4}", f"county:{i:05d}") for i in range(40)]
    for n, (contest_id, district_id) in enumerate(keys):
        conn.execute(
            "INSERT INTO contest_totals VALUES (%s, %s, %s, 0, %s, now())",
            (contest_id, district_id, n + 1, n % 3),
        )
        for choice in ("yes", "no")[: n % 3]:
            conn.execute(
                "INSERT INTO contest_choice_totals VALUES (%s, %s, %s, %s)",
                (contest_id, district_id, choice, n),
            )
    conn.execute("ANALYZE contest_totals")
    every = contest_tables.read_totals(conn)
    assert len(every) == 40 and every[keys[5]][0].totals == {"no": 5, "yes": 5}
    for wanted in (keys[:3], keys[5:35], [*keys[:25], ("contest-9", "nation")], []):
        assert contest_tables._most_rows(conn, len(wanted)) == (len(wanted) > 20)
        assert contest_tables.read_totals(conn, wanted) == {
            k: every[k] for k in wanted if k in every
        }
