"""The election's topics as registration makes them: empty for a new election, kept once open."""

from __future__ import annotations

import dagster as dg
import pytest
from confluent_kafka import Producer

from election import contract
from election_assets import voting
from election_io import topics
from election_io.ballot_log import log_ends
from tests.election_assets.conftest import register
from tests.election_assets.test_voting import open_election
from tests.spark_jobs import stack

pytestmark = [pytest.mark.services]
ELECTION_TOPICS = [contract.VOTES_TOPIC, *contract.PUBLISHED_TOPICS]


@pytest.fixture(autouse=True)
def no_topics(bootstrap_servers):
    stack.delete_topics(bootstrap_servers, ELECTION_TOPICS, wait=30)
    yield
    stack.delete_topics(bootstrap_servers, ELECTION_TOPICS, wait=30)


def put(bootstrap: str, topic: str, n: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for k in range(n):
        producer.produce(topic, b"{}", f"key-{k}".encode())
    assert producer.flush(30) == 0


def messages(bootstrap: str, topic: str) -> int:
    return sum(end.end - end.first for end in log_ends(bootstrap, topic).values())


def materialize_topics(postgres, kafka) -> dict[str, dict]:
    result = dg.materialize(
        [voting.votes_topic, voting.result_topics],
        resources={"postgres": postgres, "kafka": kafka},
        run_config={"ops": {"votes_topic": {"config": {"partitions": 2}}}},
    )
    assert result.success
    return {
        m.asset_key.path[-1]: {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node("votes_topic")
        + result.asset_materializations_for_node("result_topics")
    }


def test_registration_makes_every_topic_with_its_contract_settings(
    postgres, kafka, scratch_database, bootstrap_servers
):
    register(scratch_database, voters=20)
    said = materialize_topics(postgres, kafka)
    assert said["votes_topic"]["created_now"] is True
    assert said["result_topics"]["earlier_messages_removed"] == 0
    for name in ELECTION_TOPICS:
        assert (
            topics.describe_topic(bootstrap_servers, name)["cleanup.policy"]
            == (contract.topic_config(name)["cleanup.policy"])
        )


def test_a_new_election_starts_from_empty_topics_and_an_open_one_keeps_them(
    postgres, kafka, scratch_database, bootstrap_servers
):
    register(scratch_database, voters=20)
    materialize_topics(postgres, kafka)
    # an earlier election's ballots and results, still on the topics at registration
    put(bootstrap_servers, contract.VOTES_TOPIC, 3)
    put(bootstrap_servers, contract.RACE_CALLS_TOPIC, 2)

    said = materialize_topics(postgres, kafka)

    assert said["votes_topic"]["earlier_ballots_removed"] == 3
    assert said["result_topics"]["earlier_messages_removed"] == 2
    assert all(messages(bootstrap_servers, name) == 0 for name in ELECTION_TOPICS)

    # once the polls are open, the same assets create nothing and remove nothing
    open_election(postgres)
    put(bootstrap_servers, contract.VOTES_TOPIC, 4)
    said = materialize_topics(postgres, kafka)
    assert said["votes_topic"]["earlier_ballots_removed"] == 0
    assert messages(bootstrap_servers, contract.VOTES_TOPIC) == 4
