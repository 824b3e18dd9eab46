"""When the count has caught up, how far behind it is, and its progress lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from election import contract
from spark_jobs import drain, ledger
from tests.spark_jobs import stack

TOPIC = "votes"


def progress(ends: dict[int, int], as_text: bool = False) -> dict:
    end = {TOPIC: {str(p): o for p, o in ends.items()}}
    return {"sources": [{"endOffset": json.dumps(end) if as_text else end}]}


def test_not_drained_while_the_polls_are_open_even_with_everything_tallied():
    offsets = {0: (0, 5)}
    assert not drained_with(contract.OPEN, offsets, tallied=5)
    assert not drained_with(contract.REGISTRATION, offsets, tallied=5)
    assert drained_with(contract.CLOSED, offsets, tallied=5)
    assert drained_with(contract.CERTIFIED, offsets, tallied=5)


def drained_with(status, offsets, tallied, last_progress=None):
    return drain.drained(status, offsets, tallied, last_progress, TOPIC)


def test_a_log_with_gaps_is_drained_once_spark_has_read_to_its_end():
    # transaction markers take offsets: 10 offsets, 8 messages, all tallied
    offsets = {0: (0, 6), 1: (0, 4)}
    assert not drained_with(contract.CLOSED, offsets, tallied=8)
    assert not drained_with(contract.CLOSED, offsets, 8, progress({0: 6, 1: 3}))
    assert drained_with(contract.CLOSED, offsets, 8, progress({0: 6, 1: 4}))
    assert drained_with(contract.CLOSED, offsets, 8, progress({0: 6, 1: 4}, as_text=True))
    assert not drained_with(contract.CLOSED, offsets, 8, {"sources": []})


def test_an_empty_partition_does_not_hold_the_drain():
    offsets = {0: (0, 3), 1: (0, 0), 2: (0, 0)}
    assert drained_with(contract.CLOSED, offsets, tallied=3)


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
        stack.produce(bootstrap_servers, unique_name, [("voter-00001", b"{}")] * 3)
        watch = drain.DrainWatch(scratch_database, bootstrap_servers, unique_name)
        try:
            conn = watch.conn
            assert not watch.drained(None)  # open polls
            stack.close_polls(scratch_database)
            assert not watch.drained(None)  # nothing tallied yet
            assert drain.lag(watch.offsets, conn, unique_name) == 3
            record = ledger.BatchRecord(2, 0, 2, unique_name, {0: (0, 1)})
            another = ledger.BatchRecord(5, 0, 5, "another_topic", {0: (0, 4)})
            for query_name, batch in (("first", record), ("first", another)):
                conn.execute(
                    "INSERT INTO tally_batches (query_name, batch_id, messages, counted, "
                    "rejected, end_offsets) VALUES (%s, %s, %s, 0, %s, %s)",
                    (
                        query_name,
                        batch.messages,
                        batch.messages,
                        batch.messages,
                        batch.end_offsets_json(),
                    ),
                )
            assert not watch.drained(None)  # another log's batches do not count for this one
            assert drain.lag(watch.offsets, conn, unique_name) == 1
            # the rest committed under a new query name: the same count, caught up
            last = ledger.BatchRecord(1, 0, 1, unique_name, {1: (0, 0)})
            conn.execute(
                "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
                "end_offsets) VALUES ('second', 0, 1, 0, 1, %s)",
                (last.end_offsets_json(),),
            )
            assert watch.drained(None)
            assert drain.lag(watch.offsets, conn, unique_name) == 0
        finally:
            watch.close()
    finally:
        stack.delete_topics(bootstrap_servers, [unique_name])
