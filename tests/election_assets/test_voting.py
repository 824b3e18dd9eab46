"""The polls, the vote generator and the voting sensor against the real Kafka and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import time

import dagster as dg
import psycopg
import pytest
from confluent_kafka import Consumer
from dagster import DagsterRun, DagsterRunStatus

from election import ballots, contract, counting, selection_draws, turnout
from election.settings import SettingError, setting
from election_assets import lifecycle, polls, voting
from election_assets.resources import KafkaResource
from election_io import topics, waves
from election_io.definitions import read_definition
from election_io.elections import read_election
from tests.election_assets.conftest import register
from tests.spark_jobs.stack import as_counted

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


def oracle_count(messages, roll: dict, contests, partitions: int) -> counting.Count:
    """The oracle's count of consumed messages (by the broker's stamps, the polls open since
    long before them) for a roll and the election's contests."""
    logged = [as_counted(m) for m in messages]
    opened = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return counting.count(
        logged, roll, None, opened, None, partitions=partitions, contests=contests
    )


def polls_resources(postgres) -> dict:
    """What the polls' jobs use: the database, and the broker whose clock opens and closes them."""
    return {
        "postgres": postgres,
        "kafka": KafkaResource(bootstrap_servers=setting("KAFKA_BOOTSTRAP_SERVERS")),
    }


@pytest.fixture(autouse=True)
def ballot_log(bootstrap_servers, unique_name):
    """The test's own ballot log, made as the votes_topic asset makes it: no broker makes one."""
    topics.ensure_topics(bootstrap_servers, [unique_name], 4)
    yield unique_name
    topics.admin_client(bootstrap_servers).delete_topics([unique_name])


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
    result = polls.open_polls_job.execute_in_process(
        resources=polls_resources(postgres), raise_on_error=False
    )
    assert not result.success


def test_a_seed_shaped_wave_delivers_exactly_the_planned_ballots(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=3000)
    open_election(postgres)
    config = voting.WaveConfig(size=1500, rate=0, selections=False)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert report.sent == 1500
    with postgres.connect() as conn:
        plan = waves.load_plan(conn, config)
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


def test_a_selections_wave_delivers_exactly_the_planned_messages(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=3000)
    open_election(postgres)
    config = voting.WaveConfig(size=1500, rate=0, selections=True, problem_share=0.2)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert report.sent == 1500
    with postgres.connect() as conn:
        plan = waves.load_plan(conn, config).slice(0, 1500)
        definition = read_definition(conn)
        roll = {
            v: (s, c)
            for v, s, c in conn.execute("SELECT voter_id, address_state, county_fips FROM voters")
        }
    messages = read_topic(kafka.bootstrap_servers, unique_name, 1500)
    assert len(messages) == 1500
    sent = {json.loads(m.value())["vote_id"]: m for m in messages}
    for position, vote_id in enumerate(plan.vote_id.tolist()):
        message = sent[vote_id]
        value = json.loads(message.value())
        assert message.key().decode() == value["voter_id"] == plan.voter_id[position]
        # byte for byte the canonical message of the planned selections, at the wave's time
        canonical = ballots.selections_message(
            vote_id,
            value["voter_id"],
            ballots.parse_time(value["voting_time"]),
            plan.selections.ballot(position),
        )
        assert message.value() == json.dumps(canonical, separators=(",", ":")).encode()
    # counted by the oracle with the definition the database holds, as planned
    result = oracle_count(messages, roll, definition.contests, partitions=4)
    truth = turnout.expected_totals(plan)
    assert result.rejected_by_reason() == truth.rejected_by_reason
    assert truth.rejected_by_reason[contract.NOT_ON_BALLOT] > 0
    assert result.results == selection_draws.planned_results(
        plan.selections,
        definition.contests,
        plan.address_state,
        turnout.counted_ballots(plan),
        roll.values(),
    )


def test_the_waves_cast_every_contest_unless_the_setting_says_seed(monkeypatch):
    def selections() -> bool:
        return voting.wave_run_config()["ops"]["cast_votes"]["config"]["selections"]

    monkeypatch.delenv("BALLOT_SHAPE", raising=False)
    assert voting.WaveConfig().selections is True and selections() is True
    monkeypatch.setenv("BALLOT_SHAPE", "seed")
    assert selections() is False
    monkeypatch.setenv("BALLOT_SHAPE", "ranked")
    with pytest.raises(SettingError, match="BALLOT_SHAPE must be seed or selections"):
        selections()


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


# --- the voting day: a scheduled closing, paced waves, the polls closing by themselves -------


def open_for(postgres, minutes: float, started_ago_s: float = 0.0):
    """Open the polls with a voting day of `minutes`, as if opened `started_ago_s` ago."""
    result = polls.open_polls_job.execute_in_process(
        run_config={"ops": {"open_polls": {"config": {"voting_day_minutes": minutes}}}},
        resources=polls_resources(postgres),
    )
    assert result.success
    with postgres.connect() as conn:
        conn.execute(
            "UPDATE elections SET polls_opened_at = polls_opened_at - make_interval(secs => %s), "
            "polls_close_at = polls_close_at - make_interval(secs => %s)",
            (started_ago_s, started_ago_s),
        )
        election = read_election(conn)
        return election, election.polls_close_at


def test_open_polls_schedules_the_closing(postgres, scratch_database):
    register(scratch_database, voters=100)
    election, closes_at = open_for(postgres, 3)
    assert (closes_at - election.polls_opened_at).total_seconds() == pytest.approx(180)


def test_a_voting_day_of_zero_leaves_the_closing_to_a_person(postgres, scratch_database):
    register(scratch_database, voters=100)
    _, closes_at = open_for(postgres, 0)
    assert closes_at is None
    with dg.instance_for_test() as instance:
        result = polls.polls_closing_sensor(sensor_context(instance, postgres))
    assert "a person closes the polls" in result.skip_message


def test_the_voting_day_defaults_to_the_environment(monkeypatch):
    monkeypatch.delenv("VOTING_DAY_MINUTES", raising=False)
    assert polls.voting_day_minutes(polls.PollsConfig()) == 10
    monkeypatch.setenv("VOTING_DAY_MINUTES", "2.5")
    assert polls.voting_day_minutes(polls.PollsConfig()) == 2.5
    assert polls.voting_day_minutes(polls.PollsConfig(voting_day_minutes=1)) == 1


@pytest.mark.parametrize("text", ["ten", "-1", "nan", "inf", "1e999", "10 minutes"])
def test_a_bad_voting_day_is_one_line_naming_the_setting(monkeypatch, text):
    monkeypatch.setenv("VOTING_DAY_MINUTES", text)
    with pytest.raises(dg.Failure, match="VOTING_DAY_MINUTES") as failure:
        polls.voting_day_minutes(polls.PollsConfig())
    assert "\n" not in str(failure.value.description)


def test_paced_waves_cast_only_what_the_day_has_due(postgres, kafka, scratch_database, unique_name):
    register(scratch_database, voters=2000)
    open_for(postgres, 10, started_ago_s=150)  # a quarter into the day: the morning rush
    config = voting.WaveConfig(size=100_000, rate=0, paced=True, max_share=1.0, horizon_s=0)
    with postgres.connect() as conn:
        plan = waves.load_plan(conn, config)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    low = turnout.ballots_due(plan, 0.25)
    high = turnout.ballots_due(plan, 0.26)  # the wave started a moment later
    assert 0 < low <= report.sent <= high < len(plan)
    again = voting.cast_wave(postgres, kafka, config, "run-2", log, topic=unique_name)
    assert again.sent <= high - report.sent  # only what became due in between


def test_a_paced_wave_looks_ahead_at_most_a_small_slice_of_the_day(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=2000)
    open_for(postgres, 1)
    # the morning rush brings 17% of the day's ballots in its first tenth; a wave looking that
    # far ahead still casts at most one and a half tenths' worth at an even pace: 15%
    config = voting.WaveConfig(size=100_000, rate=0, paced=True, horizon_s=6, max_share=0.01)
    began = time.monotonic()
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert report.sent == int(0.15 * (report.sent + report.remaining))
    assert time.monotonic() - began >= 3  # each at its moment


def test_a_late_paced_wave_catches_up_with_the_day(postgres, kafka, scratch_database, unique_name):
    register(scratch_database, voters=2000)
    open_for(postgres, 10, started_ago_s=300)  # the waves could not start for half the day
    config = voting.WaveConfig(size=100_000, rate=0, paced=True, horizon_s=0)
    with postgres.connect() as conn:
        plan = waves.load_plan(conn, config)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert turnout.ballots_due(plan, 0.5) <= report.sent <= turnout.ballots_due(plan, 0.51)


def test_the_voting_sensor_paces_waves_when_the_polls_close_by_themselves(
    postgres, scratch_database
):
    register(scratch_database, voters=100)
    open_for(postgres, 10)
    with dg.instance_for_test() as instance:
        request = voting.live_voting_sensor(sensor_context(instance, postgres))
        assert request.run_config["ops"]["cast_votes"]["config"]["paced"] is True
        with postgres.connect() as conn:  # a first wave cast what was due
            conn.execute(
                "INSERT INTO vote_waves (wave, plan_seed, plan_start, plan_stop, plan_size, sent,"
                " status) VALUES (1, 7, 0, 1, 65, 1, 'done')"
            )
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason) and "due shortly" in result.skip_message


def test_the_polls_close_by_themselves_at_the_end_of_the_day(postgres, scratch_database):
    register(scratch_database, voters=100)
    election, _ = open_for(postgres, 10)
    with dg.instance_for_test() as instance:
        early = polls.polls_closing_sensor(sensor_context(instance, postgres))
        assert isinstance(early, dg.SkipReason) and "the polls close at" in early.skip_message
        with postgres.connect() as conn:  # the day ends in 3 s: within the launch lead
            conn.execute("UPDATE elections SET polls_close_at = now() + interval '3 seconds'")
            closes_at = read_election(conn).polls_close_at
        request = polls.polls_closing_sensor(sensor_context(instance, postgres))
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"election-{election.election_id}-close-1"
    assert polls.polls_closing_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # the sensor's run waits for the closing time, then closes
    result = polls.close_polls_job.execute_in_process(
        run_config=request.run_config, resources=polls_resources(postgres)
    )
    assert result.success
    with postgres.connect() as conn:
        closed = read_election(conn)
    assert closed.status == contract.CLOSED
    assert closes_at <= closed.polls_closed_at < closes_at + dt.timedelta(seconds=3)
    with dg.instance_for_test() as instance:
        after = polls.polls_closing_sensor(sensor_context(instance, postgres))
    assert "not open (closed)" in after.skip_message
    # a closing run that finds the polls already closed has nothing to do
    again = polls.close_polls_job.execute_in_process(
        run_config=request.run_config, resources=polls_resources(postgres)
    )
    assert again.success


def test_paced_days_keep_the_next_wave_waiting(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_for(postgres, 10)
    with dg.instance_for_test() as instance:
        instance.add_run(
            DagsterRun(
                job_name=contract.CAST_VOTES_JOB, run_id="a" * 36, status=DagsterRunStatus.STARTED
            )
        )
        assert isinstance(
            voting.live_voting_sensor(sensor_context(instance, postgres)), dg.RunRequest
        )
        instance.add_run(
            DagsterRun(
                job_name=contract.CAST_VOTES_JOB, run_id="b" * 36, status=DagsterRunStatus.STARTING
            )
        )
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason) and "still casting" in result.skip_message


def test_a_person_can_close_the_polls_before_the_scheduled_time(postgres, scratch_database):
    register(scratch_database, voters=100)
    _, closes_at = open_for(postgres, 10)
    assert polls.close_polls_job.execute_in_process(resources=polls_resources(postgres)).success
    with postgres.connect() as conn:
        closed = read_election(conn)
    assert closed.status == contract.CLOSED and closed.polls_closed_at < closes_at


def test_a_paced_wave_casts_each_ballot_at_its_moment(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=3000)
    open_for(postgres, 1)  # a one-minute day: about 33 ballots a second
    config = voting.WaveConfig(size=100_000, rate=0, paced=True, horizon_s=3)
    began = time.monotonic()
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    took = time.monotonic() - began
    assert report.sent > 0
    # the wave ran for (about) its horizon, not all at once
    assert 2.0 <= took <= 8.0
    messages = read_topic(kafka.bootstrap_servers, unique_name, report.sent)
    stamps = sorted(m.timestamp()[1] for m in messages)
    # spread over seconds (all at once would be milliseconds); a loaded machine starts it late
    assert (stamps[-1] - stamps[0]) / 1000 >= 1.0


def test_no_wave_is_launched_after_the_voting_day_ends(postgres, scratch_database):
    register(scratch_database, voters=100)
    open_for(postgres, 1, started_ago_s=61)
    with dg.instance_for_test() as instance:
        result = voting.live_voting_sensor(sensor_context(instance, postgres))
    assert isinstance(result, dg.SkipReason) and "voting day ended" in result.skip_message


def test_a_paced_wave_waits_for_the_wave_before_it(postgres, kafka, scratch_database, unique_name):
    register(scratch_database, voters=1000)
    open_for(postgres, 10, started_ago_s=60)
    config = voting.WaveConfig(rate=0, paced=True, horizon_s=0)
    with psycopg.connect(postgres.database_url, autocommit=True) as casting:
        casting.execute("SELECT pg_advisory_lock(%s)", (waves.WAVE_LOCK,))
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(
                voting.cast_wave, postgres, kafka, config, "next", log, unique_name
            )
            time.sleep(2)
            assert not waiting.done()  # still waiting for the wave before it
            casting.execute("SELECT pg_advisory_unlock(%s)", (waves.WAVE_LOCK,))
            report = waiting.result(timeout=60)
    assert report.sent > 0 and time.monotonic() - began >= 2


def test_a_paced_wave_after_the_closing_time_casts_nothing(
    postgres, kafka, scratch_database, unique_name
):
    register(scratch_database, voters=500)
    open_for(postgres, 1, started_ago_s=61)  # the day is over, the closing run not yet done
    config = voting.WaveConfig(rate=0, paced=True)
    report = voting.cast_wave(postgres, kafka, config, "late", log, topic=unique_name)
    assert report.sent == 0 and report.remaining > 0
