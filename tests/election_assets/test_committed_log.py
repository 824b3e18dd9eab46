"""Supervision and certification judge the ballot log as a committed read returns it: a
transaction's marker takes an offset but is no ballot, and an open transaction holds the count."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from confluent_kafka import Producer

from election import contract
from election_assets import lifecycle, tally
from election_assets.shared import tally_backlog
from tests.election_assets.conftest import register
from tests.election_assets.test_tally_sensor import sensor_context
from tests.election_assets.test_voting import open_election
from tests.spark_jobs import stack

pytestmark = [pytest.mark.services]


@pytest.fixture
def votes_topic(bootstrap_servers):
    stack.delete_topics(bootstrap_servers, [contract.VOTES_TOPIC], wait=30)
    stack.create_topic(bootstrap_servers, contract.VOTES_TOPIC, partitions=1)
    yield contract.VOTES_TOPIC
    stack.delete_topics(bootstrap_servers, [contract.VOTES_TOPIC])


def one_ballot_in_a_transaction(bootstrap: str, name: str, commit: bool = True) -> Producer:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": name})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(contract.VOTES_TOPIC, b"{}", b"voter-1")
    producer.flush(30)
    if commit:
        producer.commit_transaction(30)  # the ballot at offset 0, its commit marker at 1
    return producer


def counted_first_offset(postgres) -> None:
    with postgres.connect() as conn:
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
            "end_offsets) VALUES ('live_tally', 0, 1, 0, 1, %s)",
            (json.dumps({"topic": contract.VOTES_TOPIC, "start": {"0": 0}, "end": {"0": 1}}),),
        )


def close(postgres) -> None:
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.CLOSED, "test")


def test_a_committed_transaction_leaves_nothing_to_tally(
    postgres, kafka, scratch_database, votes_topic, unique_name
):
    register(scratch_database, voters=20)
    open_election(postgres)
    one_ballot_in_a_transaction(kafka.bootstrap_servers, unique_name)
    counted_first_offset(postgres)
    close(postgres)
    # two offsets on the log, one ballot, tallied: no relaunch, certification may proceed
    assert tally_backlog(postgres, kafka).tallied
    with dg.instance_for_test() as instance:
        skip = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka))
    assert isinstance(skip, dg.SkipReason), skip
    assert "all 1 ballots are tallied" in skip.skip_message


def test_an_open_transaction_keeps_the_tally_running(
    postgres, kafka, scratch_database, votes_topic, unique_name
):
    register(scratch_database, voters=20)
    open_election(postgres)
    producer = one_ballot_in_a_transaction(kafka.bootstrap_servers, unique_name, commit=False)
    close(postgres)
    state = tally_backlog(postgres, kafka)
    assert not state.tallied and state.open_transactions == 1
    with dg.instance_for_test() as instance:
        request = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka))
    assert isinstance(request, dg.RunRequest)
    producer.abort_transaction(30)
