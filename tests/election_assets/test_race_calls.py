"""The race calls: live ones by the tally's ledger writer, final ones at certification, from
the committed totals, in the real PostgreSQL and Kafka."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator

import dagster as dg
import pytest
from confluent_kafka import Consumer, TopicPartition

from election import contract
from election.contests import NATION, NATIONAL_CONTEST, home_state_district
from election_assets import certification, lifecycle
from election_io.definitions import election_contests
from election_io.elections import read_election_now
from spark_jobs import tally_options
from spark_jobs.ledger_writer import LedgerWriter
from tests.election_assets.conftest import register

pytestmark = pytest.mark.services

WHOLE = contract.contest_key(NATIONAL_CONTEST, NATION)  # the national race in the nation
STORED = "SELECT contest_id || '|' || district_id, {} FROM race_calls"


def in_state(address_state: str) -> str:
    """The race_calls key of the national race in a state, as the roll names the state."""
    return contract.contest_key(NATIONAL_CONTEST, home_state_district(address_state))


def commit_tally(conn, votes_by_state: dict[str, list[int]]) -> dict[str, int]:
    """Add to the national contest's totals as the tally would (in each state and the nation):
    state -> ballots per candidate (in id order); returns voters per state."""
    candidates = [c for (c,) in conn.execute("SELECT candidate_id FROM candidates ORDER BY 1")]
    for state, votes in votes_by_state.items():
        for district in (home_state_district(state), NATION):
            add_totals(conn, NATIONAL_CONTEST, district, dict(zip(candidates, votes, strict=True)))
    return dict(conn.execute("SELECT address_state, count(*) FROM voters GROUP BY 1"))


def add_totals(conn, contest_id: str, district_id: str, votes: dict[str, int]) -> None:
    """Add ballots of one vote each to a contest's totals in a district, as the tally would."""
    conn.execute(ADD_BALLOTS, (contest_id, district_id, sum(votes.values())))
    for choice_id, n in votes.items():
        conn.execute(ADD_VOTES, (contest_id, district_id, choice_id, n))


ADD_BALLOTS = """
INSERT INTO contest_totals AS t (contest_id, district_id, ballots, overvotes, undervotes, updated_at)
VALUES (%s, %s, %s, 0, 0, now())
ON CONFLICT (contest_id, district_id) DO UPDATE SET ballots = t.ballots + excluded.ballots
"""
ADD_VOTES = """
INSERT INTO contest_choice_totals AS t (contest_id, district_id, choice_id, votes)
VALUES (%s, %s, %s, %s)
ON CONFLICT (contest_id, district_id, choice_id) DO UPDATE SET votes = t.votes + excluded.votes
"""


@contextlib.contextmanager
def live_writer(database_url: str, prefix: str) -> Iterator[LedgerWriter]:
    """The tally's ledger writer with the roll and contests loaded, as after its first batch."""
    options = tally_options.parse_args(["--results-prefix", prefix])
    options = dataclasses.replace(options, database_url=database_url)
    writer = LedgerWriter(options, None)
    try:
        names = dict(writer.conn.execute("SELECT candidate_id, candidate_name FROM candidates"))
        candidates = {c: {"candidate_id": c, "candidate_name": n} for c, n in names.items()}
        writer.roll_loaded(candidates, election_contests(writer.conn))
        yield writer
    finally:
        writer.close()


def live_race_calls(database_url: str, prefix: str, lag: int | None = 0) -> dict:
    """One round of the ledger writer's race calls, as the tally makes them after a commit."""
    with live_writer(database_url, prefix) as writer:
        details = writer.details
        published = details.run(lambda: details.call_races(read_election_now(details.conn), lag))
        calls = dict(writer.conn.execute(STORED.format("outstanding")))
    return {"published": published, "outstanding": calls}


def test_while_the_polls_are_open_the_untallied_count_sends_no_call_again(
    postgres, kafka, scratch_database, unique_name
):
    """Outstanding are the non-voters while the polls are open, so the log's untallied ballots
    (they move with every batch) change no call: a race whose numbers moved but not its
    decision waits for the next refresh, whatever the lag, as it would with the lag still."""
    register(scratch_database, voters=200, candidates=3)
    for topic in (contract.RACE_CALLS_TOPIC, contract.CONTEST_RESULTS_TOPIC):
        kafka.ensure_topic(unique_name + topic, 1)
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")
        conn.commit()
        state = next(iter(commit_tally(conn, {})))
        commit_tally(conn, {state: [2, 1, 0]})  # far from a call
        conn.commit()
    with live_writer(scratch_database, unique_name) as writer:
        details = writer.details  # the writer's detail publisher, driven here on its thread
        window = read_election_now(writer.conn)
        details.run(lambda: details.send_results(window.polls_opened_at))
        assert details.run(lambda: details.call_races(window, 0)) > 0  # every race, once
        with postgres.connect() as conn:
            commit_tally(conn, {state: [1, 0, 0]})  # the same leader, still far from a call
            conn.commit()
        details.run(lambda: details.send_results(window.polls_opened_at))  # as after a commit
        assert details.run(lambda: details.call_races(window, 4_000)) == 0
        # not known: the non-voters, as open
        assert details.run(lambda: details.call_races(window, None)) == 0


def race_call_messages(
    bootstrap: str, start: dict[int, int], timeout: float = 20, topic=contract.RACE_CALLS_TOPIC
) -> dict:
    """The race_calls messages written since `start` (end offsets before), latest per key."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "race-call-test"})
    consumer.assign(
        [TopicPartition(topic, p, o) for p, o in sorted(start.items())]
        or [TopicPartition(topic, 0, 0)]
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
    postgres, kafka, scratch_database, bootstrap_servers, unique_name
):
    register(scratch_database, voters=400, candidates=3)
    kafka.ensure_topic(contract.RACE_CALLS_TOPIC, 1, config={"cleanup.policy": "compact"})
    live_topic = unique_name + contract.RACE_CALLS_TOPIC
    kafka.ensure_topic(live_topic, 1, config={"cleanup.policy": "compact"})
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")
        registered = commit_tally(conn, {})
        big, small, *_ = sorted(registered, key=lambda s: -registered[s])
        # `big` is led by 3 votes, `small` is tied; everyone else has not voted yet
        commit_tally(conn, {big: [5, 2, 0], small: [1, 1, 0]})
        # every contest is called by the same rule: a measure of `big`, led 6 to 1
        big_state = home_state_district(big)
        measure = f"measure-{big_state.removeprefix('state:')}-1"
        add_totals(conn, measure, big_state, {"yes": 6, "no": 1})
        conn.commit()
    live = live_race_calls(scratch_database, unique_name, lag=0)
    measure_key = contract.contest_key(measure, big_state)
    assert live["outstanding"][measure_key] == registered[big] - 7
    assert live["outstanding"][in_state(big)] == registered[big] - 7
    assert live["outstanding"][WHOLE] == sum(registered.values()) - 9
    published_live = race_call_messages(bootstrap_servers, {}, topic=live_topic)
    # every race of every contest, with or without ballots yet, once
    assert live["published"] == len(published_live) == len(live["outstanding"])
    assert {in_state(state) for state in registered} | {WHOLE} <= set(published_live)
    assert not any(message["called"] for message in published_live.values())

    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.CLOSED, "test")
        before = kafka.end_offsets(contract.RACE_CALLS_TOPIC)
        final = certification.final_race_calls(conn, kafka, "test")
        conn.commit()
        stored = dict(conn.execute(STORED.format("called")))
    assert all(call.outstanding == 0 for call in final.values())
    assert final[WHOLE].called and final[in_state(big)].called
    assert not final[in_state(small)].called  # a tie is never called
    assert final[measure_key].called and final[measure_key].leader == "yes"
    assert {s for s, called in stored.items() if called} == {WHOLE, in_state(big), measure_key}

    published = race_call_messages(bootstrap_servers, before)
    assert set(published) >= {WHOLE, in_state(big), in_state(small), measure_key}
    assert published[measure_key]["candidate_name"] == "Yes"
    for message in published.values():
        assert tuple(message) == contract.RACE_CALL_FIELDS
    leader = published[WHOLE]
    assert leader["called"] and leader["outstanding"] == 0 and leader["called_at"]
    with postgres.connect() as conn:
        (name,) = conn.execute(
            "SELECT candidate_name FROM candidates WHERE candidate_id = %s",
            (leader["candidate_id"],),
        ).fetchone()
    assert leader["candidate_name"] == name and leader["margin"] == 3
    tied = published[in_state(small)]
    assert tied["called"] is False and tied["called_at"] is None


def test_the_tally_calls_races_once_the_polls_close_and_the_count_drains(
    postgres, scratch_database, bootstrap_servers, unique_name, kafka
):
    register(scratch_database, voters=300, candidates=3)
    kafka.ensure_topic(
        unique_name + contract.RACE_CALLS_TOPIC, 1, config={"cleanup.policy": "compact"}
    )
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")
        registered = commit_tally(conn, {})
        state = max(registered, key=lambda s: registered[s])
        commit_tally(conn, {state: [4, 1, 0]})
        lifecycle.transition(conn, contract.CLOSED, "test")
        conn.commit()
    unknown = live_race_calls(scratch_database, unique_name, lag=None)
    assert (
        unknown["outstanding"][in_state(state)] == registered[state] - 5
    )  # the broker did not say
    drained = live_race_calls(scratch_database, unique_name, lag=0)
    assert set(drained["outstanding"].values()) == {0}
    with postgres.connect() as conn:
        called = dict(conn.execute(STORED.format("called_at IS NOT NULL")))
        audits = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'race_call' AND actor LIKE 'live_tally:%'"
        ).fetchone()[0]
    assert called[in_state(state)] and called[WHOLE]
    assert audits == sum(called.values())  # each race is audited once, when it is first called


def test_certification_names_the_national_winner_and_the_states_called(
    postgres, kafka, scratch_database, bootstrap_servers
):
    register(scratch_database, voters=300, candidates=3)
    kafka.ensure_topic(contract.RACE_CALLS_TOPIC, 1, config={"cleanup.policy": "compact"})
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")
        registered = commit_tally(conn, {})
        big, small, *_ = sorted(registered, key=lambda s: -registered[s])
        commit_tally(conn, {big: [2, 5, 0], small: [1, 1, 0]})  # the second candidate leads
        lifecycle.transition(conn, contract.CLOSED, "test")
        conn.commit()
        second = conn.execute("SELECT candidate_id FROM candidates ORDER BY 1").fetchall()[1][0]

    result = dg.materialize(
        [certification.certification], resources={"postgres": postgres, "kafka": kafka}
    )

    (certified,) = result.asset_materializations_for_node("certification")
    metadata = {name: value.value for name, value in certified.metadata.items()}
    assert metadata["winner"] == second
    assert metadata["winners"] == {"national": second}  # no other contest has a ballot
    assert metadata["states_called"] == 1  # the tie in `small` is not called
    assert metadata["races_called"] == 2  # that state and the whole election
