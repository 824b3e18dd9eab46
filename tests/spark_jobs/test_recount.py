"""The recount on the real Kafka and PostgreSQL, including a ballot log with empty partitions."""

from __future__ import annotations

import pytest

from spark_jobs import recount, sources
from tests.spark_jobs import stack
from tests.spark_jobs.test_recovery import ballots_of

pytestmark = [pytest.mark.services, pytest.mark.spark]


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name):
    roll = stack.make_roll(60)
    stack.register(scratch_database, roll)
    stack.create_topic(bootstrap_servers, unique_name, partitions=4)
    yield roll, scratch_database, bootstrap_servers, unique_name
    stack.delete_topics(bootstrap_servers, [unique_name])


def recounted(spark, url, bootstrap, topic):
    opened, closed = stack.polls(url)
    voters = sources.read_roll(spark, url)
    candidates = sources.read_candidates(spark, url)
    return recount.recount(spark, bootstrap, voters, candidates, opened, closed, topic)


def test_a_log_with_empty_partitions_is_recounted_exactly(election, spark):
    roll, url, bootstrap, topic = election
    voters = sorted(roll.voters)
    ballots = ballots_of(voters[0], ["cand-a", "cand-b"]) + ballots_of(voters[1], ["cand-c"])
    placed = stack.produce(bootstrap, topic, ballots)
    assert len({m.partition for m in placed}) < 4  # at least two partitions hold nothing
    result = recounted(spark, url, bootstrap, topic)
    truth = stack.truth(placed, roll, url, partitions=4)
    assert result.per_candidate == truth.per_candidate
    assert result.per_state == truth.per_state
    assert result.rejected_by_reason == truth.rejected_by_reason()
    assert result.messages == len(placed) == 3


def test_an_empty_log_recounts_to_zero(election, spark):
    roll, url, bootstrap, topic = election
    result = recounted(spark, url, bootstrap, topic)
    assert result.messages == result.counted == result.rejected == 0
    assert set(result.per_candidate) == set(roll.candidates)
