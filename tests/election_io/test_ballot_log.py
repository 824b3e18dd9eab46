"""The committed view of the ballot log on the real broker: transactions, markers, open ones."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from election_io import migrations
from election_io.ballot_log import BallotLog, backlog, counted_ends


@pytest.fixture
def topic(bootstrap_servers, unique_name):
    name = f"log_{unique_name}"
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    admin.create_topics([NewTopic(name, 2, 1)])[name].result(timeout=30)
    return name


def transactional(bootstrap: str, unique: str) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"tx-{unique}"})
    producer.init_transactions(30)
    return producer


def send(producer: Producer, topic: str, partition: int, n: int) -> None:
    for k in range(n):
        producer.produce(topic, b"ballot %d" % k, b"voter", partition=partition)
    producer.flush(30)  # on the broker before the transaction ends (an abort drops the queue)


def settled(log: BallotLog):
    for _ in range(100):
        state = log.backlog({})
        if not state.open_transactions:
            return state
        time.sleep(0.1)
    raise AssertionError("the committed transaction still holds the log after 10 s")


def test_markers_and_aborted_messages_are_not_ballots(bootstrap_servers, topic, unique_name):
    producer = transactional(bootstrap_servers, unique_name)
    producer.begin_transaction()
    send(producer, topic, 0, 2)
    producer.commit_transaction(30)  # offsets 0, 1 and a commit marker at 2
    producer.begin_transaction()
    send(producer, topic, 1, 3)
    producer.abort_transaction(30)  # offsets 0-2 aborted, an abort marker at 3
    log = BallotLog(bootstrap_servers, topic)
    try:
        ends = log.ends()
        assert (ends[0].stable, ends[0].end) == (3, 3)
        assert (ends[1].stable, ends[1].end) == (4, 4)
        # the two committed ballots counted: only markers and aborted messages remain
        assert log.backlog({0: 2}).tallied
        assert not log.committed_after({0: 2})
        # one committed ballot still to count
        assert log.committed_after({0: 1})
        behind = log.backlog({0: 1})
        assert not behind.tallied and behind.behind > 0
        assert not log.backlog({}).tallied  # nothing counted yet
    finally:
        log.close()


def test_an_open_transaction_holds_the_log_untallied(bootstrap_servers, topic, unique_name):
    producer = transactional(bootstrap_servers, unique_name)
    producer.begin_transaction()
    send(producer, topic, 0, 1)
    log = BallotLog(bootstrap_servers, topic)
    try:
        state = log.backlog({})
        assert state.open_transactions == 1 and state.behind == 0
        assert not state.tallied  # the transaction could still commit a ballot
        producer.commit_transaction(30)
        state = settled(log)  # the broker writes the commit marker just after it answers
        assert state.behind > 0 and state.open_transactions == 0
        assert log.backlog({0: 1}).tallied
    finally:
        log.close()


def test_a_missing_topic_has_no_partitions(bootstrap_servers, unique_name):
    log = BallotLog(bootstrap_servers, f"missing_{unique_name}")
    try:
        assert log.ends(timeout=5) == {}
        assert log.backlog({}, timeout=5).tallied
    finally:
        log.close()


def test_counted_ends_read_the_ledger(scratch_database, bootstrap_servers, topic):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        migrations.migrate(conn)
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
            "end_offsets) VALUES ('q', 0, 2, 2, 0, %s)",
            (json.dumps({"topic": topic, "start": {"0": 0}, "end": {"0": 2}}),),
        )
        assert counted_ends(conn, topic) == {0: 2}
        assert backlog(conn, bootstrap_servers, topic).tallied
