"""The polls' supervision: the scheduled closing is retried until the polls are closed."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import UTC, datetime

import dagster as dg
import pytest
from confluent_kafka import Producer
from dagster import DagsterRun, DagsterRunStatus

from election import contract
from election_assets import lifecycle, polls
from election_assets.resources import PostgresResource
from election_io import clock
from election_io.elections import read_election
from tests.election_assets.conftest import register
from tests.election_assets.test_voting import open_for, polls_resources, read_topic, sensor_context

pytestmark = [pytest.mark.services]

NOWHERE = "postgresql://postgres:postgres@127.0.0.1:1/voting"  # a database that never answers


def closing_run(instance, request: dg.RunRequest, status: DagsterRunStatus, run_id: str) -> None:
    instance.add_run(
        DagsterRun(
            job_name=contract.CLOSE_POLLS_JOB,
            run_id=run_id,
            status=status,
            tags=request.tags,
        )
    )


def test_a_closing_run_that_died_is_retried_with_a_new_key(postgres, scratch_database):
    register(scratch_database, voters=100)
    election, _ = open_for(postgres, 1, started_ago_s=61)  # the day is over
    with dg.instance_for_test() as instance:
        context = sensor_context(instance, postgres)
        first = polls.polls_closing_sensor(context)
        assert isinstance(first, dg.RunRequest)
        # the first closing run dies: its database stops answering while it waits
        died = polls.close_polls_job.execute_in_process(
            run_config=first.run_config,
            resources={
                **polls_resources(postgres),
                "postgres": PostgresResource(database_url=NOWHERE),
            },
            instance=instance,
            tags=first.tags,
            raise_on_error=False,
        )
        assert not died.success
        second = polls.polls_closing_sensor(sensor_context(instance, postgres, context.cursor))
    assert isinstance(second, dg.RunRequest)
    assert second.run_key != first.run_key
    assert second.run_key.startswith(f"election-{election.election_id}-close-")
    # the retry closes the polls
    assert polls.close_polls_job.execute_in_process(
        run_config=second.run_config, resources=polls_resources(postgres)
    ).success


def test_no_second_closing_run_while_one_is_waiting(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_for(postgres, 1, started_ago_s=61)
    with dg.instance_for_test() as instance:
        first = polls.polls_closing_sensor(sensor_context(instance, postgres))
        closing_run(instance, first, DagsterRunStatus.STARTED, "a" * 36)
        result = polls.polls_closing_sensor(sensor_context(instance, postgres, "1"))
    assert isinstance(result, dg.SkipReason)
    assert "closing run aaaaaaaa" in result.skip_message


def test_the_closing_gives_up_after_a_few_attempts_and_says_what_to_do(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_for(postgres, 1, started_ago_s=61)
    with dg.instance_for_test() as instance:
        request = polls.polls_closing_sensor(sensor_context(instance, postgres))
        for attempt in range(polls.MAX_CLOSING_ATTEMPTS):
            closing_run(instance, request, DagsterRunStatus.FAILURE, f"{attempt:036d}")
        result = polls.polls_closing_sensor(sensor_context(instance, postgres, "9"))
    assert isinstance(result, dg.SkipReason)
    assert f"failed {polls.MAX_CLOSING_ATTEMPTS} times" in result.skip_message
    assert contract.CLOSE_POLLS_JOB in result.skip_message  # what to do


def test_a_registration_beside_the_opening_waits_and_then_refuses(postgres, scratch_database):
    register(scratch_database, voters=100)
    with postgres.connect() as opening:
        lifecycle.transition(opening, contract.OPEN, "opening")  # not committed yet
        with concurrent.futures.ThreadPoolExecutor(1) as pool, postgres.connect() as registering:
            waiting = pool.submit(
                lifecycle.election_for_registration, registering, "registering", "General election"
            )
            time.sleep(1.5)
            assert not waiting.done()  # it waits for the opening to finish
            opening.commit()
            with pytest.raises(lifecycle.LifecycleError, match="is open"):
                waiting.result(timeout=10)


# --- the polls open and close by the broker's clock, the clock that stamps the ballots ------


def stamp_one_ballot(bootstrap: str, topic: str, key: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, b"{}", key.encode())
    assert producer.flush(10) == 0


def test_the_polls_close_at_a_broker_stamp_between_the_ballots_before_and_after(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=100)
    kafka.ensure_topic(unique_name, 1, 1, contract.topic_config(contract.VOTES_TOPIC))
    resources = {"postgres": postgres, "kafka": kafka}
    assert polls.open_polls_job.execute_in_process(resources=resources).success
    stamp_one_ballot(kafka.bootstrap_servers, unique_name, "before")
    time.sleep(0.01)  # the broker stamps milliseconds: keep the three apart
    assert polls.close_polls_job.execute_in_process(resources=resources).success
    time.sleep(0.01)
    stamp_one_ballot(kafka.bootstrap_servers, unique_name, "after")
    with postgres.connect() as conn:
        election = read_election(conn)
    stamps = {
        m.key().decode(): datetime.fromtimestamp(m.timestamp()[1] / 1000, UTC)
        for m in read_topic(kafka.bootstrap_servers, unique_name, 2)
    }
    assert stamps["before"] < election.polls_closed_at <= stamps["after"]
    # both times are stamps the broker gave its clock probes
    probes = {
        datetime.fromtimestamp(m.timestamp()[1] / 1000, UTC)
        for m in read_topic(kafka.bootstrap_servers, clock.CLOCK_TOPIC, 1)
    }
    assert {election.polls_opened_at, election.polls_closed_at} <= probes
