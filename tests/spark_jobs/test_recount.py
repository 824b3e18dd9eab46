"""The recount on the real Kafka and PostgreSQL, including a ballot log with empty partitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest

from election import counting
from election.contest_totals import results_document
from election.contests import (
    NATION,
    NATIONAL_CONTEST,
    PLURALITY,
    Choice,
    Contest,
    District,
    national_contest,
)
from election.definition import Definition
from election_io.definitions import write_definition
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


def test_a_definition_in_the_database_judges_selections_ballots(election, spark):
    """The contests come from the definition's tables (election_io.definitions) with the roll."""
    roll, url, bootstrap, topic = election
    national = national_contest(roll.candidates)
    senate = Contest("sen-OH", "Senate", "state:OH", PLURALITY, (Choice("a", "A"),), position=1)
    districts = (District(NATION, "nation", "Nation", None),)
    districts += (District("state:OH", "state", "Ohio", NATION),)
    with psycopg.connect(url, autocommit=True) as conn:
        # none registered: the national contest of the candidates, named as the table names them
        names = dict(conn.execute("SELECT candidate_id, candidate_name FROM candidates"))
        fallback = national_contest(roll.candidates, names)
        assert sources.read_contests(url, roll.candidates) == (fallback,)
        write_definition(conn, Definition((national, senate), districts))
    contests = sources.read_contests(url, roll.candidates)
    assert [c.contest_id for c in contests] == [NATIONAL_CONTEST, "sen-OH"]
    ohio = sorted(v for v, state in roll.voters.items() if state == "Ohio")
    texas = sorted(v for v, state in roll.voters.items() if state == "Texas")
    now = datetime.now(UTC).isoformat()
    ballots = [
        (
            voter,
            json.dumps(
                {
                    "vote_id": f"b{i}",
                    "voter_id": voter,
                    "voting_time": now,
                    "selections": selections,
                }
            ).encode(),
        )
        for i, (voter, selections) in enumerate(
            [
                (ohio[0], {NATIONAL_CONTEST: ["cand-a"], "sen-OH": ["a"]}),
                (ohio[1], {"sen-OH": ["a", "a"]}),
                (texas[0], {"sen-OH": ["a"]}),
                (texas[1], {NATIONAL_CONTEST: ["cand-b"]}),
            ]
        )
    ]
    placed = stack.produce(bootstrap, topic, ballots)
    opened, closed = stack.polls(url)
    voters = sources.read_roll(spark, url)
    candidates = sources.read_candidates(spark, url)
    result = recount.recount(
        spark, bootstrap, voters, candidates, opened, closed, topic, contests=contests
    )
    truth = counting.count(
        placed, roll.voters, None, opened, closed, partitions=4, contests=contests
    )
    assert result.per_candidate == {**dict.fromkeys(roll.candidates, 0), **truth.per_candidate}
    assert result.rejected_by_reason == truth.rejected_by_reason()
    assert result.rejected_by_reason["malformed"] == result.rejected_by_reason["not_on_ballot"] == 1
    assert result.turnout_by_state == truth.turnout_by_state == {"Ohio": 1, "Texas": 1}
    # every contest and district as the oracle totals it (the ledger's shape)
    assert stack.counted_contests(result.contests) == stack.counted_contests(
        results_document(truth.results)
    )
