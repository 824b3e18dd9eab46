"""The polls: opening them, closing them (by a person or at the end of the voting day), and
the sensor that closes them on time."""

import time
from datetime import timedelta

import dagster as dg

from election import contract
from election.settings import SettingError, setting
from election_assets import lifecycle
from election_assets.resources import KafkaResource, PostgresResource
from election_assets.shared import in_progress_runs
from election_io.elections import read_election, read_election_now


class PollsConfig(dg.Config):
    """How long the voting day lasts in wall-clock minutes; 0 = until a person closes the polls.

    Unset, it comes from VOTING_DAY_MINUTES (10 when that is unset too). A short day replays a
    whole election day quickly: the turnout curve is squeezed into it.
    """

    voting_day_minutes: float | None = None


def voting_day_minutes(config: PollsConfig) -> float:
    """The voting day's length for this opening, from the run config or the environment."""
    if config.voting_day_minutes is not None:
        minutes, source = config.voting_day_minutes, "voting_day_minutes"
    else:
        try:
            minutes = setting("VOTING_DAY_MINUTES")
        except SettingError as exc:
            raise dg.Failure(f"{exc} (minutes, e.g. 10, or 0 to close the polls by hand)") from None
        source = "VOTING_DAY_MINUTES"
    if not minutes >= 0 or minutes == float("inf"):
        raise dg.Failure(f"{source} must be 0 or a positive number of minutes, not {minutes}")
    return minutes


@dg.op
def open_polls(
    context: dg.OpExecutionContext,
    config: PollsConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
) -> None:
    """Open the polls for a voting day: needs a registered roll and at least two candidates."""
    minutes = voting_day_minutes(config)
    postgres.check_schema()
    with postgres.connect() as conn:
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        (running,) = conn.execute("SELECT count(*) FROM candidates").fetchone()
        if registered == 0 or running < 2:
            raise dg.Failure(
                f"cannot open the polls: {registered} registered voters and {running} candidates "
                "(run registration_job first; at least two candidates are needed)"
            )
        election = lifecycle.transition(
            conn, contract.OPEN, context.run.run_id, clock=kafka.broker_now
        )
        closes_at = lifecycle.schedule_close(conn, election.election_id, minutes)
    context.log.info(
        f"polls open for election {election.election_id} at {election.polls_opened_at}; "
        + (f"they close by themselves at {closes_at}" if closes_at else "a person closes them")
    )


class ClosingConfig(dg.Config):
    """at_scheduled_time: wait for the end of the voting day (what the closing sensor asks);
    otherwise, as a person closing early from the UI or the CLI does, close now."""

    at_scheduled_time: bool = False


# The closing sensor launches its run this early (the run waits for the closing time), so
# that even a slow launch on a busy machine closes on time.
CLOSING_LEAD = timedelta(seconds=120)


@dg.op
def close_polls(
    context: dg.OpExecutionContext,
    config: ClosingConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
) -> None:
    """Close the polls: no ballot the broker receives after now counts."""
    postgres.check_schema()
    if config.at_scheduled_time and not wait_for_closing_time(postgres, context.log):
        return
    with postgres.connect() as conn:
        election = lifecycle.transition(
            conn, contract.CLOSED, context.run.run_id, clock=kafka.broker_now
        )
    context.log.info(
        f"polls closed for election {election.election_id} at {election.polls_closed_at}"
    )


def wait_for_closing_time(postgres: PostgresResource, log) -> bool:
    """Sleep until the scheduled closing; False if the polls were closed (or never opened)."""
    while True:
        with postgres.connect() as conn:
            election = read_election(conn)
            if election is None or election.status != contract.OPEN:
                status = election.status if election else "not registered"
                log.info(f"nothing to close: the election is {status}")
                return False
            closes_at = election.polls_close_at
            (now,) = conn.execute("SELECT clock_timestamp()").fetchone()
        if closes_at is None or now >= closes_at:
            return True
        time.sleep(min(1.0, (closes_at - now).total_seconds()))


@dg.job(name=contract.OPEN_POLLS_JOB, description="Open the polls.")
def open_polls_job():
    open_polls()


@dg.job(name=contract.CLOSE_POLLS_JOB, description="Close the polls.")
def close_polls_job():
    close_polls()


# A closing run that dies (killed, a restarted daemon, a database blip) is replaced, this
# many times at most: past that, something needs a person.
MAX_CLOSING_ATTEMPTS = 5


@dg.sensor(
    name=contract.POLLS_CLOSING_SENSOR,
    job=close_polls_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Close the polls at the end of the voting day (a person may close them earlier), "
    "retrying until they are closed.",
)
def polls_closing_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    with postgres.connect() as conn:
        reading = read_election_now(conn)  # the election, and the database's clock
        election, now = reading.election, reading.read_at
        if (skip := lifecycle.skip_unless_open(election)) is not None:
            return skip
        closes_at = election.polls_close_at
    if closes_at is None:
        return dg.SkipReason("this voting day has no closing time: a person closes the polls")
    if now < closes_at - CLOSING_LEAD:
        left = int((closes_at - now).total_seconds())
        return dg.SkipReason(f"the polls close at {closes_at:%H:%M:%S} UTC, in {left} s")
    running = in_progress_runs(context.instance, contract.CLOSE_POLLS_JOB)
    if running:
        return dg.SkipReason(
            f"closing run {running[0].run_id[:8]} is closing the polls at {closes_at:%H:%M:%S} UTC"
        )
    failed = failed_closings(context.instance, election.election_id)
    if len(failed) >= MAX_CLOSING_ATTEMPTS:
        return dg.SkipReason(
            f"the scheduled closing failed {len(failed)} times (last run {failed[0].run_id[:8]}); "
            "see that run's log, then close the polls by hand: launch "
            f"{contract.CLOSE_POLLS_JOB} from the UI or `dagster job execute -m election_assets "
            f"-j {contract.CLOSE_POLLS_JOB}`"
        )
    # a generation counter: a run key is permanent, so each attempt needs a new one
    generation = int(context.cursor or 0) + 1
    context.update_cursor(str(generation))
    # the run waits for the closing time itself, so a slow launch still closes on time
    # past its closing time plus CLOSING_OVERRUN_SECONDS, run monitoring fails it (its
    # dagster/max_runtime): one left running by a code server that went down never ends itself
    overrun = timedelta(seconds=setting("CLOSING_OVERRUN_SECONDS"))
    max_runtime = max(closes_at - now, timedelta(0)) + overrun
    return dg.RunRequest(
        run_key=f"election-{election.election_id}-close-{generation}",
        run_config={"ops": {"close_polls": {"config": {"at_scheduled_time": True}}}},
        tags={
            "election_id": str(election.election_id),
            "closing_attempt": str(len(failed) + 1),
            "dagster/max_runtime": str(int(max_runtime.total_seconds())),
        },
    )


def failed_closings(instance: dg.DagsterInstance, election_id: int) -> list:
    """This election's closing runs that failed or were canceled, newest first."""
    return list(
        instance.get_runs(
            filters=dg.RunsFilter(
                job_name=contract.CLOSE_POLLS_JOB,
                tags={"election_id": str(election_id)},
                statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
            )
        )
    )
