"""The polls, the vote generator and the voting sensor against the real Kafka and PostgreSQL."""

from __future__ import annotations

import json
import logging
import time

import dagster as dg
import psycopg
import pytest
from confluent_kafka import Consumer
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

from election import contract
from election_assets import lifecycle, voting
from tests.election_assets.conftest import register

log = logging.getLogger("test.voting")


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages = []
    deadline = time.time() + timeout
    while len(messages) < expected and time.time() < deadline:
        for message in consumer.consume(10_000, timeout=1):
            if message.error() is None:
                messages.append(message)
    # a short grace period to catch anything beyond what was expected
    for message in consumer.consume(10_000, timeout=2):
        if message.error() is None:
            messages.append(message)
    consumer.close()
    return messages


def open_election(postgres) -> None:
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test")


def test_lifecycle_rules(postgres, scratch_database):
    with (
        postgres.connect() as conn,
        pytest.raises(lifecycle.LifecycleError, match="registration_job"),
    ):
        lifecycle.transition(conn, contract.OPEN, "test")
    register(scratch_database, voters=100)
    with postgres.connect() as conn:
        assert lifecycle.transition(conn, contract.OPEN, "test").status == contract.OPEN
    with postgres.connect() as conn, pytest.raises(lifecycle.LifecycleError, match="is open"):
        lifecycle.transition(conn, contract.OPEN, "test")
    with postgres.connect() as conn:
        closed = lifecycle.transition(conn, contract.CLOSED, "test")
    assert closed.polls_opened_at < closed.polls_closed_at
    with postgres.connect() as conn, pytest.raises(lifecycle.LifecycleError, match="is closed"):
        lifecycle.transition(conn, contract.CLOSED, "test")
    with postgres.connect() as conn:
        audit = conn.execute("SELECT action, outcome FROM audit_log ORDER BY audit_id").fetchall()
    assert ("to_open", "ok") in audit and ("to_open", "refused") in audit
    assert ("to_closed", "refused") in audit


def test_open_polls_job_needs_a_roll(postgres):
    result = voting.open_polls_job.execute_in_process(
        resources={"postgres": postgres}, raise_on_error=False
    )
    assert not result.success


def test_a_wave_delivers_exactly_the_planned_ballots(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=3000)
    open_election(postgres)
    config = voting.WaveConfig(size=1500, rate=0)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert report.sent == 1500
    with postgres.connect() as conn:
        plan = voting.load_plan(conn, config)
    expected = plan.slice(0, 1500)
    messages = read_topic(kafka.bootstrap_servers, unique_name, 1500)
    assert len(messages) == 1500
    values = [json.loads(m.value()) for m in messages]
    # the contract's fields and nothing else: no name, address or other PII
    assert all(set(v) == set(contract.BALLOT_FIELDS) for v in values)
    assert all(m.key().decode() == v["voter_id"] for m, v in zip(messages, values, strict=True))
    sent = {(v["vote_id"], v["voter_id"], v["candidate_id"]) for v in values}
    planned = set(zip(expected.vote_id, expected.voter_id, expected.candidate_id, strict=True))
    assert sent == planned


def test_no_voter_is_cast_twice_across_waves_and_a_restart(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=4000)
    open_election(postgres)
    config = voting.WaveConfig(size=400, rate=0)
    for run in range(3):
        voting.cast_wave(postgres, kafka, config, f"run-{run}", log, topic=unique_name)
    # a restart: new resource objects, nothing kept in memory
    restarted = type(postgres)(database_url=postgres.database_url)
    report = voting.cast_wave(restarted, kafka, config, "run-after-restart", log, topic=unique_name)
    assert report.wave == 4
    messages = read_topic(kafka.bootstrap_servers, unique_name, 1600)
    voter_ids = [json.loads(m.value())["voter_id"] for m in messages]
    assert len(voter_ids) == 1600
    assert len(set(voter_ids)) == 1600


def test_waves_stop_when_the_plan_is_cast(postgres, kafka, scratch_database, unique_name):
    register(scratch_database, voters=300)
    open_election(postgres)
    config = voting.WaveConfig(size=10_000, rate=0)
    first = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert 0 < first.sent < 300 and first.remaining == 0
    second = voting.cast_wave(postgres, kafka, config, "run-2", log, topic=unique_name)
    assert second.sent == 0


def test_paced_wave_keeps_its_rate(postgres, kafka, scratch_database, unique_name):
    register(scratch_database, voters=1000)
    open_election(postgres)
    report = voting.cast_wave(
        postgres, kafka, voting.WaveConfig(size=300, rate=200), "run", log, topic=unique_name
    )
    assert report.seconds >= 1.0  # 300 ballots at 200/s cannot take less than ~1.5 s


def sensor_context(instance, postgres, cursor=None):
    return dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"postgres": postgres}
    )


def test_sensor_skips_while_the_polls_are_closed(postgres, scratch_database):
    register(scratch_database, voters=100)
    with dg.instance_for_test() as instance:
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason)
    assert "not open" in result.skip_message


def test_sensor_skips_while_a_wave_is_running(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_election(postgres)
    with dg.instance_for_test() as instance:
        instance.add_run(
            DagsterRun(
                job_name=contract.CAST_VOTES_JOB, run_id="a" * 36, status=DagsterRunStatus.STARTED
            )
        )
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason)
    assert "still casting" in result.skip_message


def test_sensor_requests_one_wave_with_a_fresh_key(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_election(postgres)
    with dg.instance_for_test() as instance:
        context = sensor_context(instance, postgres, cursor="4")
        request = voting.live_voting_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key.endswith("wave-5")
        assert context.cursor == "5"
        again = voting.live_voting_sensor(sensor_context(instance, postgres, cursor=context.cursor))
        assert again.run_key.endswith("wave-6")


def test_sensor_skips_once_every_planned_ballot_is_cast(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_election(postgres)
    with psycopg.connect(postgres.database_url) as conn:
        conn.execute(
            "INSERT INTO vote_waves (wave, plan_seed, plan_start, plan_stop, plan_size, sent, status) "
            "VALUES (1, 7, 0, 65, 65, 65, 'done')"
        )
    with dg.instance_for_test() as instance:
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason)
    assert "every planned ballot" in result.skip_message
