"""Crash recovery on the real services: pending batches, and the checkpoint against the ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from election_io import migrations
from election_io.ballot_log import committed_offsets, tallied_messages
from spark_jobs import ledger, pending, recovery, sources
from spark_jobs.ledger_writer import LedgerWriter
from tests.spark_jobs import batches, stack

pytestmark = [pytest.mark.services]


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name):
    roll = stack.make_roll(60)
    stack.register(scratch_database, roll)
    stack.create_topic(bootstrap_servers, unique_name, partitions=4)
    opts = batches.options(scratch_database, bootstrap_servers, unique_name)
    batches.create_result_topics(opts)
    yield roll, opts
    stack.delete_topics(bootstrap_servers, [unique_name, *batches.result_topics(opts)])


def ballots_of(voter: str, candidates) -> list[tuple[str, bytes]]:
    """One voter's ballots: one key, so all on one partition; the first counts, then duplicates."""
    now = datetime.now(UTC).isoformat()
    return [
        (
            voter,
            json.dumps(
                {"vote_id": f"v{i}", "voter_id": voter, "candidate_id": c, "voting_time": now}
            ).encode(),
        )
        for i, c in enumerate(candidates)
    ]


@pytest.mark.spark
def test_a_pending_batch_over_partitions_without_messages_is_committed(election, spark, tmp_path):
    roll, opts = election
    voter = sorted(roll.voters)[0]
    ballots = ballots_of(voter, ["cand-a", "cand-b", "nobody", "cand-a"])
    placed = stack.produce(opts.bootstrap, opts.topic, ballots)
    assert len({m.partition for m in placed}) == 1  # one key, one partition; three are empty
    assert len(committed_offsets(opts.bootstrap, opts.topic)) == 4
    everything, _ = batches.split(placed, len(placed))
    book = pending.PendingBatches(str(tmp_path / "checkpoint"))
    ranges = {p: (first, end - 1) for p, (first, end) in everything.items()}
    book.write(pending.PendingBatch(0, opts.topic, ranges))
    judge = batches.Judge(spark, opts.database_url, partitions=4)
    writer = LedgerWriter(opts, book)
    writer.roll_loaded(judge.candidates)
    try:
        recovery.recover_pending(
            spark, book, writer.conn, opts.query_name, opts.topic, opts.bootstrap, judge, writer
        )
    finally:
        writer.close()
    assert book.all() == []
    truth = stack.truth(placed, roll, opts.database_url, partitions=4)
    state = stack.ledger_state(opts.database_url)
    assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
    assert state["per_state"] == truth.per_state
    assert state["batches"] == (1, len(placed), truth.counted, len(truth.rejections))


def test_a_committed_pending_batch_is_published_again_not_committed_twice(election, tmp_path):
    _, opts = election
    record = ledger.BatchRecord(3, 3, 0, opts.topic, {2: (0, 2)})
    book = pending.PendingBatches(str(tmp_path / "checkpoint"))
    book.write(pending.PendingBatch(0, opts.topic, record.ranges))
    with ledger.connect(opts.database_url) as conn:
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
            "end_offsets) VALUES (%s, 0, 3, 3, 0, %s)",
            (opts.query_name, record.end_offsets_json()),
        )
    writer = LedgerWriter(opts, book)
    try:
        recovery.recover_pending(
            None, book, writer.conn, opts.query_name, opts.topic, opts.bootstrap, None, writer
        )
    finally:
        writer.close()
    assert book.all() == []
    assert stack.ledger_state(opts.database_url)["batches"] == (1, 3, 3, 0)


def test_a_pending_batch_of_another_topic_is_a_state_mismatch(election, tmp_path):
    _, opts = election
    book = pending.PendingBatches(str(tmp_path / "checkpoint"))
    book.write(pending.PendingBatch(0, "another_topic", {0: (0, 1)}))
    with (
        ledger.connect(opts.database_url) as conn,
        pytest.raises(recovery.StateMismatch, match="another_topic"),
    ):
        recovery.recover_pending(
            None, book, conn, opts.query_name, opts.topic, opts.bootstrap, None, None
        )


def checkpoint_with(folder, offsets: int, commits: int) -> str:
    for name, n in (("offsets", offsets), ("commits", commits)):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            (folder / name / str(k)).write_text("v1\n")
    return str(folder)


def test_the_checkpoint_must_tell_the_ledgers_story(election, tmp_path):
    _, opts = election
    with ledger.connect(opts.database_url) as conn:
        fresh = checkpoint_with(tmp_path / "fresh", 0, 0)
        recovery.check_checkpoint(conn, "q", fresh)  # a new count: fine
        earlier = checkpoint_with(tmp_path / "earlier", 3, 3)
        with pytest.raises(recovery.StateMismatch, match="earlier election"):
            recovery.check_checkpoint(conn, "q", earlier)
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected) "
            "VALUES ('q', 0, 1, 1, 0)"
        )
        with pytest.raises(recovery.StateMismatch, match="restore the checkpoint"):
            recovery.check_checkpoint(conn, "q", fresh)
        recovery.check_checkpoint(conn, "q", checkpoint_with(tmp_path / "ours", 2, 1))
        recovery.check_checkpoint(conn, "q", "hdfs://cluster/checkpoint")  # cannot be read
    assert recovery.checkpoint_batches(earlier) == (3, 3)
    assert recovery.checkpoint_batches("s3a://bucket/checkpoint") == (None, None)


def test_a_replayed_batch_must_cover_what_was_committed():
    record = ledger.BatchRecord(4, 4, 0, "votes", {0: (0, 3)})
    recovery.check_replay(0, {0: (0, 3)}, record, "votes", "q")
    with pytest.raises(recovery.StateMismatch, match="does not belong"):
        recovery.check_replay(0, {0: (0, 4)}, record, "votes", "q")
    with pytest.raises(recovery.StateMismatch, match="does not belong"):
        recovery.check_replay(0, {0: (0, 3)}, record, "other", "q")


def record_batch(conn, query_name: str, batch_id: int, record: ledger.BatchRecord) -> None:
    conn.execute(
        "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
        "end_offsets) VALUES (%s, %s, %s, %s, %s, %s)",
        (
            query_name,
            batch_id,
            record.messages,
            record.counted,
            record.rejected,
            record.end_offsets_json(),
        ),
    )


def test_a_new_checkpoint_starts_where_the_ledger_stands_under_any_query_name(scratch_database):
    with ledger.connect(scratch_database) as conn:
        migrations.migrate(conn)
        assert recovery.starting_offsets(conn, "votes", [0, 1, 2]) is None  # from the start
        record_batch(conn, "first", 0, ledger.BatchRecord(5, 5, 0, "votes", {0: (0, 2), 2: (0, 1)}))
        record_batch(conn, "first", 1, ledger.BatchRecord(3, 3, 0, "votes", {0: (3, 5)}))
        record_batch(conn, "second", 0, ledger.BatchRecord(2, 2, 0, "votes", {2: (2, 3)}))
        # partition 1 has nothing counted yet: from its first offset
        assert recovery.starting_offsets(conn, "votes", [0, 1, 2]) == {
            0: 6,
            1: sources.EARLIEST,
            2: 4,
        }
        assert tallied_messages(conn, "votes") == 10
        recovery.check_topic(conn, "votes")
        with pytest.raises(recovery.StateMismatch, match="counts the ballot log votes, not other"):
            recovery.check_topic(conn, "other")


def write_offsets(checkpoint, batch_id: int, topic: str, ends: dict[int, int]) -> None:
    """An offsets file as Spark writes it: version, metadata, one line per source."""
    folder = checkpoint / "offsets"
    folder.mkdir(parents=True, exist_ok=True)
    source = json.dumps({topic: {str(p): o for p, o in ends.items()}})
    (folder / str(batch_id)).write_text(f'v1\n{{"batchWatermarkMs":0}}\n{source}')


def test_a_checkpoint_another_query_name_counted_past_is_never_resumed(scratch_database, tmp_path):
    checkpoint = tmp_path / "live_tally"
    write_offsets(checkpoint, 0, "votes", {0: 2, 1: 1})
    write_offsets(checkpoint, 1, "votes", {0: 4, 1: 1})
    (checkpoint / "tally_pending").mkdir()
    with ledger.connect(scratch_database) as conn:
        migrations.migrate(conn)
        record_batch(conn, "live_tally", 0, ledger.BatchRecord(5, 5, 0, "votes", {0: (0, 3)}))
        assert recovery.stale_checkpoint(conn, str(checkpoint), "votes") == {}
        # a run under another name went on from the ledger: this checkpoint is now behind it
        record_batch(conn, "other", 0, ledger.BatchRecord(3, 3, 0, "votes", {0: (4, 5), 1: (1, 1)}))
        assert recovery.stale_checkpoint(conn, str(checkpoint), "votes") == {0: (4, 6), 1: (1, 2)}
        assert recovery.stale_checkpoint(conn, str(checkpoint), "another_log") == {}
        with pytest.raises(recovery.StateMismatch, match="go on with --query-name other"):
            recovery.check_not_stale(conn, "live_tally", str(checkpoint), "votes")


def test_no_checkpoint_is_never_stale(scratch_database, tmp_path):
    with ledger.connect(scratch_database) as conn:
        migrations.migrate(conn)
        record_batch(conn, "other", 0, ledger.BatchRecord(3, 3, 0, "votes", {0: (0, 2)}))
        assert recovery.stale_checkpoint(conn, str(tmp_path / "none"), "votes") == {}
