"""When the count has caught up, how far behind it is, and its progress lines."""

from __future__ import annotations

from datetime import UTC, datetime

from spark_jobs import drain, ledger
from tests.spark_jobs import stack

TOPIC = "votes"


def test_not_drained_while_the_polls_are_open_even_with_everything_tallied(
    scratch_database, bootstrap_servers, unique_name
):
    stack.register(scratch_database, stack.make_roll(5))
    stack.create_topic(bootstrap_servers, unique_name, partitions=2)
    watch = drain.DrainWatch(scratch_database, bootstrap_servers, unique_name)
    try:
        assert not watch.drained()  # an empty log, but the polls are open
        stack.close_polls(scratch_database)
        assert watch.drained()
    finally:
        watch.close()
        stack.delete_topics(bootstrap_servers, [unique_name])


def ranges(placed) -> dict[int, tuple[int, int]]:
    """partition -> (first offset, last offset) of placed messages, as a batch records them."""
    found: dict[int, list[int]] = {}
    for m in placed:
        found.setdefault(m.partition, []).append(m.offset)
    return {p: (min(o), max(o)) for p, o in found.items()}


def record(conn, query_name: str, batch_id: int, batch: ledger.BatchRecord) -> None:
    conn.execute(
        "INSERT INTO tally_batches (query_name, batch_id, messages, counted, "
        "rejected, end_offsets) VALUES (%s, %s, %s, 0, %s, %s)",
        (query_name, batch_id, batch.messages, batch.messages, batch.end_offsets_json()),
    )


def test_progress_lines_rate_each_batch_against_the_one_before():
    line = drain.ProgressLine("q")
    record = ledger.BatchRecord(100, 90, 10, TOPIC, {0: (0, 99)})
    at = datetime(2024, 11, 5, 12, tzinfo=UTC)
    common = dict(replayed=False, recovered=False, published=7, lag=0, lag_s=0.5, at=at)
    first = line.event(0, record, 10.0, 10.5, phases={"judge_ms": 3}, **common)
    second = line.event(1, record, 11.0, 12.0, phases={}, **common)
    assert first["processed_rows_per_s"] == 200.0  # alone: its own half second
    assert second["input_rows_per_s"] == 100.0  # one second after the first started
    assert second["processed_rows_per_s"] == round(100 / 1.5, 1)
    assert first["judge_ms"] == 3 and first["at"] == "2024-11-05T12:00:00.000000Z"
    assert (first["messages"], first["counted"], first["rejected"]) == (100, 90, 10)


def test_the_watch_sees_the_real_log_and_ledger(scratch_database, bootstrap_servers, unique_name):
    stack.register(scratch_database, stack.make_roll(5))
    stack.create_topic(bootstrap_servers, unique_name, partitions=2)
    try:
        keys = ["voter-00001", "voter-00002", "voter-00003"]
        placed = stack.produce(bootstrap_servers, unique_name, [(k, b"{}") for k in keys])
        watch = drain.DrainWatch(scratch_database, bootstrap_servers, unique_name)
        try:
            conn = watch.conn
            assert not watch.drained()  # open polls
            stack.close_polls(scratch_database)
            assert not watch.drained()  # nothing tallied yet
            assert drain.lag(watch.log, conn) == 3
            first = ledger.BatchRecord(2, 0, 2, unique_name, ranges(placed[:2]))
            another = ledger.BatchRecord(5, 0, 5, "another_topic", {0: (0, 4)})
            record(conn, "first", 0, first)
            record(conn, "first", 1, another)
            assert not watch.drained()  # another log's batches do not count for this one
            assert drain.lag(watch.log, conn) == 1
            # the rest committed under a new query name: the same count, caught up
            last = ledger.BatchRecord(1, 0, 1, unique_name, ranges(placed[2:]))
            record(conn, "second", 0, last)
            assert watch.drained()
            assert drain.lag(watch.log, conn) == 0
        finally:
            watch.close()
    finally:
        stack.delete_topics(bootstrap_servers, [unique_name])
