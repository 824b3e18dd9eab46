"""The live and final race calls made from the committed tally, in the real PostgreSQL and Kafka."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from election import contract
from election.race_call import NATION
from election_assets import lifecycle, tally
from tests.election_assets.conftest import register

pytestmark = pytest.mark.services


def commit_tally(conn, votes_by_state: dict[str, list[int]]) -> dict[str, int]:
    """Write running totals as the tally would: state -> votes per candidate (in id order)."""
    candidates = [c for (c,) in conn.execute("SELECT candidate_id FROM candidates ORDER BY 1")]
    for state, votes in votes_by_state.items():
        for candidate, n in zip(candidates, votes, strict=True):
            conn.execute(
                "INSERT INTO tally_by_state VALUES (%s, %s, %s, now())", (state, candidate, n)
            )
    return dict(conn.execute("SELECT address_state, count(*) FROM voters GROUP BY 1"))


def race_call_messages(bootstrap: str, start: dict[int, int], timeout: float = 20) -> dict:
    """The race_calls messages written since `start` (end offsets before), latest per key."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "race-call-test"})
    consumer.assign(
        [TopicPartition(contract.RACE_CALLS_TOPIC, p, o) for p, o in sorted(start.items())]
        or [TopicPartition(contract.RACE_CALLS_TOPIC, 0, 0)]
    )
    latest: dict[str, dict] = {}
    deadline = time.time() + timeout
    quiet = 0
    while time.time() < deadline and quiet < 3:
        batch = [m for m in consumer.consume(1000, timeout=1) if m.error() is None]
        quiet = 0 if batch else quiet + 1
        for message in batch:
            latest[message.key().decode()] = json.loads(message.value())
    consumer.close()
    return latest


def test_live_calls_count_the_non_voters_and_final_calls_call_every_untied_race(
    postgres, kafka, scratch_database, bootstrap_servers
):
    register(scratch_database, voters=400, candidates=3)
    kafka.ensure_topic(contract.RACE_CALLS_TOPIC, 1, 1, {"cleanup.policy": "compact"})
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")
        registered = commit_tally(conn, {})
        big, small, *_ = sorted(registered, key=lambda s: -registered[s])
        # `big` is led by 3 votes, `small` is tied; everyone else has not voted yet
        commit_tally(conn, {big: [5, 2, 0], small: [1, 1, 0]})
        live = tally.call_races(conn, kafka, "test")
        conn.commit()
    assert live[big].outstanding == registered[big] - 7
    assert live[NATION].outstanding == sum(registered.values()) - 9
    assert not any(call.called for call in live.values())

    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.CLOSED, "test")
        before = kafka.end_offsets(contract.RACE_CALLS_TOPIC)
        final = tally.call_races(conn, kafka, "test", final=True)
        conn.commit()
        stored = dict(conn.execute("SELECT scope, called FROM race_calls"))
    assert all(call.outstanding == 0 for call in final.values())
    assert final[NATION].called and final[big].called
    assert not final[small].called  # a tie is never called
    assert {s for s, called in stored.items() if called} == {NATION, big}

    published = race_call_messages(bootstrap_servers, before)
    assert set(published) >= {NATION, big, small}
    for message in published.values():
        assert tuple(message) == contract.RACE_CALL_FIELDS
    leader = published[NATION]
    assert leader["called"] and leader["outstanding"] == 0 and leader["called_at"]
    with postgres.connect() as conn:
        (name,) = conn.execute(
            "SELECT candidate_name FROM candidates WHERE candidate_id = %s",
            (leader["candidate_id"],),
        ).fetchone()
    assert leader["candidate_name"] == name and leader["margin"] == 3
    assert published[small]["called"] is False and published[small]["called_at"] is None
