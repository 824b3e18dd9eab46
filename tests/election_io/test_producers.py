"""The project's producer settings put a ballot on the partition Kafka's murmur2 gives its key."""

import uuid

import pytest
from confluent_kafka import Producer
from hypothesis import given, settings
from hypothesis import strategies as st

from election import contract
from election.partitioning import murmur2_partition
from election_io import topics
from election_io.producers import producer_config

PARTITIONS = 7


def test_the_settings_every_producer_shares():
    config = producer_config("localhost:1", **{"linger.ms": 5, "acks": "all"})
    assert config["bootstrap.servers"] == "localhost:1"
    assert config["acks"] == "all" and config["enable.idempotence"] is True
    assert config["partitioner"] == "murmur2_random"
    assert config["batch.size"] == contract.BALLOT_BATCH_BYTES
    assert config["linger.ms"] == 5


@pytest.fixture(scope="module")
def spread_topic(bootstrap_servers):
    topic = f"t_murmur_{uuid.uuid4().hex[:10]}"
    topics.ensure_topics(bootstrap_servers, [topic], PARTITIONS, config={})
    yield bootstrap_servers, topic
    topics.admin_client(bootstrap_servers).delete_topics([topic])


def produce(bootstrap: str, topic: str, keys: list[bytes]) -> list[tuple[bytes, int]]:
    """Each key's partition, as the broker's delivery reports give it."""
    producer = Producer(producer_config(bootstrap, **{"linger.ms": 5}))
    placed: list[tuple[bytes, int]] = []
    errors: list[str] = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            placed.append((msg.key(), msg.partition()))

    for key in keys:
        producer.produce(topic, b"{}", key, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert not errors, errors
    assert len(placed) == len(keys)
    return placed


@settings(max_examples=5, deadline=None)
@given(keys=st.lists(st.binary(min_size=0, max_size=40), min_size=50, max_size=120))
def test_random_keys_land_where_murmur2_says(spread_topic, keys):
    for key, partition in produce(*spread_topic, keys):
        assert partition == murmur2_partition(key or b"", PARTITIONS), key


def test_voter_ids_land_where_murmur2_says(spread_topic):
    voters = [f"voter-{i:06d}".encode() for i in range(300)]
    placed = dict(produce(*spread_topic, voters))
    assert placed == {voter: murmur2_partition(voter, PARTITIONS) for voter in voters}
    assert len(set(placed.values())) == PARTITIONS
