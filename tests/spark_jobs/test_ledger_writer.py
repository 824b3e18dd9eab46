"""The ledger writer on the real PostgreSQL, Kafka and Spark: commit, publish, republish."""

from __future__ import annotations

import json

import pytest

from election import contract
from election_io.elections import read_election_now
from spark_jobs import ledger, pending
from spark_jobs.ledger_writer import LedgerWriter
from tests.spark_jobs import batches, stack

pytestmark = [pytest.mark.services, pytest.mark.spark]


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name, spark):
    roll = stack.make_roll(60)
    stack.register(scratch_database, roll)
    stack.create_topic(bootstrap_servers, unique_name, partitions=2)
    opts = batches.options(scratch_database, bootstrap_servers, unique_name)
    batches.create_result_topics(opts)
    yield roll, opts, batches.Judge(spark, scratch_database, partitions=2)
    stack.delete_topics(bootstrap_servers, [unique_name, *batches.result_topics(opts)])


def test_batches_commit_in_order_and_a_later_ballot_of_a_voter_is_a_duplicate(
    election, tmp_path, capsys
):
    roll, opts, judge = election
    messages = stack.ballot_set(roll, 40, seed=3)
    placed = stack.produce(opts.bootstrap, opts.topic, messages)
    first, second = batches.split(placed, len(placed) // 2)
    book = pending.PendingBatches(str(tmp_path / "checkpoint"))
    writer = LedgerWriter(opts, book)
    writer.roll_loaded(judge.candidates)
    try:
        for batch_id, offsets in enumerate((first, second)):
            judged = judge.batch(opts, writer.conn, batch_id, offsets)
            book.write(pending.PendingBatch(batch_id, opts.topic, judged.ranges))
            writer.commit_and_publish(judged)
        assert book.all() == []  # crossed off once committed and published
        stack.close_polls(opts.database_url)  # the oracle judges against the closing time
        truth = stack.truth(placed, roll, opts.database_url, partitions=2)
        state = stack.ledger_state(opts.database_url)
        assert state["per_state"] == state["ledger"] == truth.per_state
        assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
        assert state["poll_book"] == stack.first_ballots(placed, truth)
        assert state["batches"] == (2, len(placed), truth.counted, len(truth.rejections))
        # a voter of batch 0 voting again in batch 1 was found by the poll book, not by Spark
        later = {(p, o) for p, offs in second.items() for o in range(*offs)}
        assert any(
            r.reason == contract.DUPLICATE and (r.partition, r.offset) in later
            for r in truth.rejections
        )

        events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        lines = [e for e in events if e["event"] == "progress"]  # the details' rounds beside
        assert [e["batch_id"] for e in lines] == [0, 1]
        assert sum(e["messages"] for e in lines) == len(placed)
        assert lines[-1]["lag"] == 0
        totals = stack.latest_values(
            opts.bootstrap, opts.result_topic(contract.VOTES_PER_CANDIDATE_TOPIC)
        )
        assert {c: v["total_votes"] for c, v in totals.items()} == truth.per_candidate

        # a replay after a crash between commit and publish changes nothing, sends again
        record = ledger.committed_batch(writer.conn, opts.query_name, 1)
        window = read_election_now(writer.conn)
        writer.republish(1, record, window, 0.0, recovered=True)
        assert stack.ledger_state(opts.database_url) == state
        (replay,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert replay["replayed"] and replay["recovered"] and replay["published"] > 0
    finally:
        writer.close()


def test_a_failed_commit_is_kept_for_the_query_thread_and_nothing_is_written(election):
    roll, opts, judge = election
    placed = stack.produce(opts.bootstrap, opts.topic, stack.ballot_set(roll, 10))
    everything, _ = batches.split(placed, len(placed))
    writer = LedgerWriter(opts, None)
    writer.roll_loaded(judge.candidates, judge.contests)
    try:
        judged = judge.batch(opts, writer.conn, 0, everything)
        writer.hand_over(lambda: writer.commit_and_publish(judged))
        writer.wait()
        again = judge.batch(opts, writer.conn, 0, everything)  # batch 0 once more: refused
        writer.hand_over(lambda: writer.commit_and_publish(again))
        with pytest.raises(Exception, match="duplicate key"):
            writer.wait()
        assert writer.failed()
        with pytest.raises(Exception, match="duplicate key"):
            writer.raise_failure()
        assert stack.ledger_state(opts.database_url)["batches"][0] == 1
    finally:
        writer.close()
