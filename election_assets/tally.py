"""The live tally: the Spark streaming application under Dagster, and its supervisor sensor.

The Spark application runs as its own process (`python -m spark_jobs.live_tally`), one per
run, launched through Dagster Pipes: its progress reaches the run's log, a crash or a kill of
that process never takes Dagster with it, the run's termination stops the query cleanly, and
the same command runs under spark-submit on a cluster, where it publishes everything itself.
"""

import dagster as dg

from election import contract
from election_assets.registration import candidates, voters
from election_assets.resources import KafkaResource, PostgresResource, SparkLauncher
from election_assets.resources.spark_launcher import ApplicationFailed
from election_assets.shared import (
    in_progress_runs,
    tallied_and_cast,
    tally_backlog,
    tally_checkpoint,
)
from election_assets.voting import result_topics, votes_topic
from election_io.elections import read_election
from election_io.tally_exit import BUSY, STATE_MISMATCH, TALLY_STOPPED


class TallyConfig(dg.Config):
    """How the streaming tally runs; unset, the tally's own defaults (TALLY_TRIGGER_MS,
    TALLY_MAX_OFFSETS in the settings catalogue) apply."""

    trigger_ms: int | None = None
    max_offsets_per_trigger: int | None = None
    query_name: str = "live_tally"


def tally_arguments(config: TallyConfig, election_id: int) -> list[str]:
    arguments = [
        "--until-drained",
        "--checkpoint",
        str(tally_checkpoint(election_id, config.query_name)),
        "--query-name",
        config.query_name,
    ]
    if config.trigger_ms is not None:
        arguments += ["--trigger-ms", str(config.trigger_ms)]
    if config.max_offsets_per_trigger is not None:
        arguments += ["--max-offsets-per-trigger", str(config.max_offsets_per_trigger)]
    return arguments


@dg.asset(
    group_name="tally",
    kinds={"spark", "kafka", "postgres"},
    deps=[votes_topic, result_topics, candidates, voters],
)
def live_results(
    context: dg.AssetExecutionContext,
    config: TallyConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
    spark_launcher: SparkLauncher,
) -> dg.MaterializeResult:
    """The live tally: counted ballots, the poll book, the result topics and the race calls."""
    postgres.check_schema()
    kafka.check()
    with postgres.connect() as conn:
        election = read_election(conn)
    if election is None:
        raise dg.Failure("no election is registered yet: run registration_job first")
    try:
        invocation = spark_launcher.run(
            context,
            "spark_jobs.live_tally",
            tally_arguments(config, election.election_id),
            env={
                "DATABASE_URL": postgres.database_url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            },
            stop_on_termination=True,
        )
    except ApplicationFailed as exc:
        raise tally_failure(postgres, exc.code) from None
    reported = invocation.get_materialize_result().metadata or {}
    tallied, cast = tallied_and_cast(postgres, kafka)
    with postgres.connect() as conn:
        counted = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()[0]
        rejected = conn.execute("SELECT count(*) FROM rejected_ballots").fetchone()[0]
    return dg.MaterializeResult(
        metadata={
            **reported,
            "messages_tallied": tallied,
            "messages_on_topic": cast,
            "ballots_counted": counted,
            "ballots_rejected": rejected,
        }
    )


def tally_failure(postgres: PostgresResource, code: int | None) -> dg.Failure:
    """The failure of a tally run: for good (exit 3, with the tally's own reason), busy (exit 4,
    another tally is counting) or one a restart helps."""
    if code == BUSY:
        return dg.Failure(
            "another tally is running (it holds the poll book): this run stopped without "
            "counting; the running one goes on",
            metadata={"exit_code": code},
        )
    if code == STATE_MISMATCH:
        with postgres.connect() as conn:
            row = conn.execute(
                "SELECT detail->>'cause' FROM audit_log WHERE action = %s "
                "ORDER BY audit_id DESC LIMIT 1",
                (TALLY_STOPPED,),
            ).fetchone()
        said = row[0] if row else "see the run's log"
        # the tally's own message (no voter data): what disagrees and what to do about it
        return dg.Failure(
            f"the checkpoint and the ledger disagree: {said}",
            metadata={"exit_code": code, "cause": said},
        )
    return dg.Failure(
        f"the tally exited with code {code}; it resumes from its checkpoint",
        metadata={"exit_code": code if code is not None else -1},
    )


def permanent_failure(instance: dg.DagsterInstance, election_id: int) -> tuple[str, str] | None:
    """(run id, cause) when this election's latest tally run failed with STATE_MISMATCH."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=contract.LIVE_AGGREGATION_JOB), limit=1)
    if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
        return None
    run = runs[0]
    if run.tags.get("election_id", str(election_id)) != str(election_id):
        return None  # an earlier election's run
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        failure = entry.dagster_event.step_failure_data.user_failure_data
        metadata = failure.metadata if failure is not None else {}
        code = metadata.get("exit_code")
        if code is not None and code.value == STATE_MISMATCH:
            cause = metadata.get("cause")
            return run.run_id, cause.value if cause is not None else failure.description
    return None


live_aggregation_job = dg.define_asset_job(
    contract.LIVE_AGGREGATION_JOB,
    selection=dg.AssetSelection.assets(live_results),
    description="Run the Spark streaming tally until the polls close and every ballot is tallied.",
)


@dg.sensor(
    name=contract.LIVE_AGGREGATION_SENSOR,
    job=live_aggregation_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Keep exactly one live tally running while the polls are open or ballots remain.",
)
def live_aggregation_sensor(
    context: dg.SensorEvaluationContext, postgres: PostgresResource, kafka: KafkaResource
):
    with postgres.connect() as conn:
        election = read_election(conn)
    if election is None or election.status == contract.REGISTRATION:
        return dg.SkipReason("the polls have not opened yet")
    if election.status == contract.CERTIFIED:
        return dg.SkipReason("the election is certified")
    running = in_progress_runs(context.instance, contract.LIVE_AGGREGATION_JOB)
    if running:
        return dg.SkipReason(f"the tally is running (run {running[0].run_id[:8]})")
    stopped = permanent_failure(context.instance, election.election_id)
    if stopped is not None:
        run_id, cause = stopped
        return dg.SkipReason(
            f"the tally stopped for good in run {run_id[:8]} (exit {STATE_MISMATCH}): {cause}. "
            "Relaunching cannot help: do what the message says, then launch "
            f"{contract.LIVE_AGGREGATION_JOB} by hand; this sensor resumes once that run has started"
        )
    if election.status == contract.CLOSED and tally_backlog(postgres, kafka).tallied:
        tallied, _ = tallied_and_cast(postgres, kafka)
        return dg.SkipReason(f"polls closed and all {tallied:,} ballots are tallied")
    # a generation counter: a run key is permanent, so each relaunch needs a new one
    generation = int(context.cursor or 0) + 1
    context.update_cursor(str(generation))
    return dg.RunRequest(
        run_key=f"election-{election.election_id}-tally-{generation}",
        tags={"election_id": str(election.election_id), "tally_generation": str(generation)},
    )
