"""The live tally: the Spark streaming application under Dagster, and its supervisor sensor.

The Spark application runs as its own process (`python -m spark_jobs.live_tally`), one per
run: a crash or a kill of that process never takes Dagster with it, the run's termination
stops the query cleanly (SIGTERM), and the same command runs under spark-submit on a cluster.
"""

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from election import ballots, contract, race_call
from election_assets import lifecycle
from election_assets.registration import candidates, voters
from election_assets.resources import KafkaResource, PostgresResource
from election_assets.voting import checkpoint_root, in_progress_runs, votes_topic

ROOT = Path(__file__).resolve().parent.parent
RACE_CALL_INTERVAL_S = 5.0  # live race calls follow the tally at most this often
STATE_MISMATCH = 3  # the tally's exit code when no restart can help (spark_jobs.live_tally)


class TallyConfig(dg.Config):
    """How the streaming tally runs."""

    trigger_ms: int = 0
    max_offsets_per_trigger: int = 500_000
    query_name: str = "live_tally"


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the tally if the run worker dies, so no orphan keeps counting."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tally_command(config: TallyConfig) -> list[str]:
    return [
        sys.executable,
        "-m",
        "spark_jobs.live_tally",
        "--until-drained",
        "--checkpoint",
        str(checkpoint_root() / config.query_name),
        "--query-name",
        config.query_name,
        "--trigger-ms",
        str(config.trigger_ms),
        "--max-offsets-per-trigger",
        str(config.max_offsets_per_trigger),
    ]


def tallied_and_cast(postgres: PostgresResource, kafka: KafkaResource) -> tuple[int, int]:
    """Messages the tally has committed, and messages on the ballot log."""
    with postgres.connect() as conn:
        (tallied,) = conn.execute("SELECT coalesce(sum(messages), 0) FROM tally_batches").fetchone()
    cast = sum(kafka.end_offsets(contract.VOTES_TOPIC).values())
    return int(tallied), cast


@dg.asset(
    group_name="tally",
    kinds={"spark", "kafka", "postgres"},
    deps=[votes_topic, candidates, voters],
)
def live_results(
    context: dg.AssetExecutionContext,
    config: TallyConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
) -> dg.MaterializeResult:
    """The live tally: counted ballots, the poll book and the aggregated_* result topics."""
    postgres.ensure_schema()
    kafka.check()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = tally_command(config)
    context.log.info("starting the tally: " + " ".join(command[1:]))
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_die_with_parent,
    )
    last_progress: dict = {}
    batches = 0
    last_call = 0.0
    said = ""  # the tally's own last word on stderr ("live_tally: ...")
    try:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if line.startswith("{") and '"event"' in line:
                try:
                    event = json.loads(line)
                except ValueError:
                    context.log.debug(line)
                    continue
                if event.get("event") == "progress":
                    batches += 1
                    last_progress = event
                    if time.monotonic() - last_call > RACE_CALL_INTERVAL_S and event.get("counted"):
                        last_call = time.monotonic()
                        with postgres.connect() as conn:
                            call_races(conn, kafka, context.run.run_id)
                    context.log.info(
                        "batch {batch_id}: {messages} messages, {counted} counted, {rejected} "
                        "rejected, {batch_ms} ms, lag {lag}".format_map(DefaultDict(event))
                    )
                else:
                    context.log.info(line)
            elif line:
                if line.startswith("live_tally: "):
                    said = line.removeprefix("live_tally: ")
                context.log.debug(line)
        code = process.wait()
    except BaseException:
        # the run is being terminated: stop the query cleanly, then let Dagster finish
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        raise
    if code == STATE_MISMATCH:
        # our own message (no voter data): what disagrees and what to do about it
        raise dg.Failure(
            f"the checkpoint and the ledger disagree: {said}",
            metadata={"exit_code": code, "cause": said},
        )
    if code != 0:
        raise dg.Failure(
            f"the tally exited with code {code}; it resumes from its checkpoint",
            metadata={"exit_code": code},
        )
    tallied, cast = tallied_and_cast(postgres, kafka)
    with postgres.connect() as conn:
        call_races(conn, kafka, context.run.run_id)
        counted = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()[0]
        rejected = conn.execute("SELECT count(*) FROM rejected_ballots").fetchone()[0]
    return dg.MaterializeResult(
        metadata={
            "messages_tallied": tallied,
            "messages_on_topic": cast,
            "ballots_counted": counted,
            "ballots_rejected": rejected,
            "batches_this_run": batches,
            "last_batch": dg.MetadataValue.json(last_progress or {}),
        }
    )


def call_races(conn, kafka: KafkaResource, actor: str, final: bool = False) -> dict:
    """Call the national race ('*') and each state's from the committed totals; record and publish.

    A race is called only when the runner-up could not catch up even if every outstanding vote
    went to them (election.race_call): the non-voters while the polls are open, the ballots
    not yet tallied once they are closed, none at certification (the count is complete).
    """
    names = dict(conn.execute("SELECT candidate_id, candidate_name FROM candidates ORDER BY 1"))
    per_state = {
        (s, c): int(n)
        for s, c, n in conn.execute(
            "SELECT address_state, candidate_id, total_votes FROM tally_by_state"
        )
    }
    registered = {
        s: int(n) for s, n in conn.execute("SELECT address_state, count(*) FROM voters GROUP BY 1")
    }
    election = lifecycle.current_election(conn)
    polls_open = election is not None and election.status == contract.OPEN
    untallied = 0
    if not polls_open and not final:
        (tallied,) = conn.execute("SELECT coalesce(sum(messages), 0) FROM tally_batches").fetchone()
        untallied = max(0, sum(kafka.end_offsets(contract.VOTES_TOPIC).values()) - int(tallied))
    calls = race_call.call_nation(per_state, registered, names, polls_open, untallied)
    previously = {
        scope: called for scope, called in conn.execute("SELECT scope, called FROM race_calls")
    }
    producer = kafka.producer(**{"linger.ms": 5})
    for scope, call in calls.items():
        row = conn.execute(
            "INSERT INTO race_calls AS r (scope, leader, runner_up, leader_votes, runner_up_votes, "
            "outstanding, called, final, called_at, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, CASE WHEN %s THEN now() END, now()) "
            "ON CONFLICT (scope) DO UPDATE SET leader = excluded.leader, "
            "runner_up = excluded.runner_up, leader_votes = excluded.leader_votes, "
            "runner_up_votes = excluded.runner_up_votes, outstanding = excluded.outstanding, "
            "called = excluded.called, final = excluded.final, "
            "called_at = coalesce(r.called_at, excluded.called_at), updated_at = now() "
            "RETURNING called_at, updated_at",
            (
                scope,
                call.leader,
                call.runner_up,
                call.leader_votes,
                call.runner_up_votes,
                call.outstanding,
                call.called,
                final,
                call.called,
            ),
        ).fetchone()
        if call.called and not previously.get(scope):
            lifecycle.audit(
                conn,
                election.election_id if election else None,
                actor,
                "race_call",
                "called",
                {"scope": scope, **call.to_dict()},
            )
        message = race_call.race_call_message(
            scope, call, names, ballots.utc_iso(row[0]) if row[0] else None, ballots.utc_iso(row[1])
        )
        producer.produce(contract.RACE_CALLS_TOPIC, json.dumps(message).encode(), scope.encode())
    producer.flush(30)
    return calls


class DefaultDict(dict):
    def __missing__(self, key):
        return "?"


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
    # one process per run: Spark must not be forked into several step processes
    executor_def=dg.in_process_executor,
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
        election = lifecycle.current_election(conn)
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
    if election.status == contract.CLOSED:
        tallied, cast = tallied_and_cast(postgres, kafka)
        if tallied >= cast:
            return dg.SkipReason(f"polls closed and all {cast:,} ballots are tallied")
    # a generation counter: a run key is permanent, so each relaunch needs a new one
    generation = int(context.cursor or 0) + 1
    context.update_cursor(str(generation))
    return dg.RunRequest(
        run_key=f"election-{election.election_id}-tally-{generation}",
        tags={"election_id": str(election.election_id), "tally_generation": str(generation)},
    )
