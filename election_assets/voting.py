"""Voting: the polls, the ballot topic, the vote generator's waves and the voting sensor."""

import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import psycopg

from election import ballots, contract, turnout
from election_assets import lifecycle
from election_assets.registration import candidates, voters
from election_assets.resources import KafkaResource, PostgresResource

# A wave is sent in chunks, each confirmed delivered before the generator records it, so a
# wave killed mid-way resumes from its last confirmed chunk.
CHUNK = 50_000
WAVE_LOCK = 7_000_001  # advisory lock: one wave at a time, whatever launched it
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class TopicsConfig(dg.Config):
    partitions: int = 4
    replication: int = 1


def checkpoint_root() -> Path:
    """Where the Spark tally keeps its checkpoints (shared with the tally stage)."""
    default = Path(__file__).resolve().parent.parent / ".stack" / "checkpoints"
    return Path(os.environ.get("SPARK_CHECKPOINT_DIR", default))


@dg.asset(group_name="voting", kinds={"kafka"}, deps=[voters, candidates])
def votes_topic(
    context: dg.AssetExecutionContext,
    config: TopicsConfig,
    kafka: KafkaResource,
    postgres: PostgresResource,
) -> dg.MaterializeResult:
    """The ballot log of record (Kafka `votes_topic`, keyed by voter) and the result topics."""
    postgres.ensure_schema()
    with postgres.connect() as conn:
        election = lifecycle.current_election(conn)
    kafka.check()
    stale = sum(kafka.end_offsets(contract.VOTES_TOPIC).values())
    if election is not None and election.status == contract.REGISTRATION and stale:
        # before the polls open the ballot log must be empty: these are an earlier election's
        context.log.info(f"removing {stale} ballots of an earlier election and its tally state")
        kafka.delete_topics([contract.VOTES_TOPIC, *contract.PUBLISHED_TOPICS])
        shutil.rmtree(checkpoint_root(), ignore_errors=True)
    created = []
    # each with its contract settings: the logs of record kept forever, the results compacted
    topics = {
        name: contract.topic_config(name)
        for name in (contract.VOTES_TOPIC, *contract.PUBLISHED_TOPICS)
    }
    for name, topic_config in topics.items():
        for attempt in range(30):  # a topic being deleted cannot be created yet
            try:
                if kafka.ensure_topic(name, config.partitions, config.replication, topic_config):
                    created.append(name)
                break
            except Exception as exc:  # KafkaException while the deletion completes
                if attempt == 29:
                    raise
                context.log.debug(f"waiting to create {name}: {exc}")
                time.sleep(1)
    return dg.MaterializeResult(
        metadata={
            "topic": contract.VOTES_TOPIC,
            "partitions": config.partitions,
            "created_now": ", ".join(created) or "none (all existed)",
        }
    )


# --- the polls -------------------------------------------------------------------------------


@dg.op
def open_polls(context: dg.OpExecutionContext, postgres: PostgresResource) -> None:
    """Open the polls: needs a registered roll and at least two candidates."""
    postgres.ensure_schema()
    with postgres.connect() as conn:
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        (running,) = conn.execute("SELECT count(*) FROM candidates").fetchone()
        if registered == 0 or running < 2:
            raise dg.Failure(
                f"cannot open the polls: {registered} registered voters and {running} candidates "
                "(run registration_job first; at least two candidates are needed)"
            )
        election = lifecycle.transition(conn, contract.OPEN, context.run.run_id)
    context.log.info(
        f"polls open for election {election.election_id} at {election.polls_opened_at}"
    )


@dg.op
def close_polls(context: dg.OpExecutionContext, postgres: PostgresResource) -> None:
    """Close the polls: no ballot cast after now counts."""
    postgres.ensure_schema()
    with postgres.connect() as conn:
        election = lifecycle.transition(conn, contract.CLOSED, context.run.run_id)
    context.log.info(
        f"polls closed for election {election.election_id} at {election.polls_closed_at}"
    )


@dg.job(name=contract.OPEN_POLLS_JOB, description="Open the polls.")
def open_polls_job():
    open_polls()


@dg.job(name=contract.CLOSE_POLLS_JOB, description="Close the polls.")
def close_polls_job():
    close_polls()


# --- the vote generator ----------------------------------------------------------------------


class WaveConfig(dg.Config):
    """One wave of ballots: how many, and how fast (0 = as fast as possible)."""

    size: int = 20_000
    rate: float = 5_000.0
    seed: int = 7
    turnout: float = 0.65
    problem_share: float = 0.0


@dataclass(frozen=True)
class WaveReport:
    wave: int
    sent: int
    seconds: float
    remaining: int
    failures: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def load_plan(conn: psycopg.Connection, config: WaveConfig) -> turnout.BallotPlan:
    """The election's ballot plan, the same for every wave: the roll is frozen while open."""
    rows = conn.execute("SELECT voter_id, address_state FROM voters ORDER BY voter_id").fetchall()
    candidate_ids = [r[0] for r in conn.execute("SELECT candidate_id FROM candidates ORDER BY 1")]
    voter_ids = np.array([r[0] for r in rows], dtype=object)
    states = np.array([r[1] for r in rows], dtype=object)
    return turnout.plan_election(
        voter_ids,
        states,
        candidate_ids,
        seed=config.seed,
        turnout=config.turnout,
        problem_share=config.problem_share,
    )


def plan_cursor(conn: psycopg.Connection) -> int:
    """How much of the plan is confirmed sent: where the next wave starts."""
    (cursor,) = conn.execute(
        "SELECT coalesce(max(plan_start + sent), 0) FROM vote_waves"
    ).fetchone()
    return int(cursor)


def cast_wave(
    postgres: PostgresResource,
    kafka: KafkaResource,
    config: WaveConfig,
    run_id: str,
    log,
    topic: str = contract.VOTES_TOPIC,
) -> WaveReport:
    """Send the next slice of the plan to Kafka, recording each confirmed chunk."""
    with postgres.connect(autocommit=True) as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (WAVE_LOCK,)).fetchone()[0]:
            raise dg.Failure("another wave is being cast right now; one wave at a time")
        election = lifecycle.current_election(conn)
        if election is None or election.status != contract.OPEN:
            status = election.status if election else "not registered"
            raise dg.Failure(f"the polls are not open (election {status}): run open_polls_job")
        started = time.perf_counter()
        plan = load_plan(conn, config)
        start = plan_cursor(conn)
        stop = min(len(plan), start + config.size)
        (wave,) = conn.execute("SELECT coalesce(max(wave), 0) + 1 FROM vote_waves").fetchone()
        log.info(
            f"wave {wave}: ballots {start:,}..{stop:,} of a {len(plan):,}-ballot plan "
            f"(planned in {time.perf_counter() - started:.1f} s)"
        )
        if start >= stop:
            return WaveReport(wave, 0, 0.0, 0, 0)
        conn.execute(
            "INSERT INTO vote_waves (wave, run_id, plan_seed, plan_start, plan_stop, plan_size, "
            "status, target_rate) VALUES (%s, %s, %s, %s, %s, %s, 'running', %s)",
            (wave, run_id, config.seed, start, stop, len(plan), config.rate),
        )
        producer = kafka.producer()

        def confirmed(sent_in_wave: int) -> None:
            conn.execute("UPDATE vote_waves SET sent = %s WHERE wave = %s", (sent_in_wave, wave))

        began = time.perf_counter()
        try:
            sent = send_ballots(
                producer, topic, plan.slice(start, stop), config.rate, confirmed, log
            )
        except DeliveryFailed as exc:
            conn.execute("UPDATE vote_waves SET status = 'failed' WHERE wave = %s", (wave,))
            raise dg.Failure(f"wave {wave}: {exc}") from exc
        seconds = time.perf_counter() - began
        conn.execute(
            "UPDATE vote_waves SET status = 'done', finished_at = now() WHERE wave = %s", (wave,)
        )
    return WaveReport(wave, sent, seconds, len(plan) - stop, 0)


class DeliveryFailed(Exception):
    """Kafka did not confirm some ballots; nothing after the last confirmed chunk is recorded."""


def send_ballots(producer, topic: str, plan, rate: float, confirmed, log=None) -> int:
    """Send a slice of the plan in chunks; after each chunk is delivered, call confirmed(sent)."""
    failures: list[str] = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(str(err))

    sent = 0
    began = last_log = time.perf_counter()
    for chunk_start in range(0, len(plan), CHUNK):
        chunk = plan.slice(chunk_start, min(len(plan), chunk_start + CHUNK))
        sent += send_chunk(producer, topic, chunk, rate, began, sent, delivered)
        if producer.flush(120) != 0 or failures:
            raise DeliveryFailed(
                f"{len(failures)} ballots were not delivered ({failures[:1]}); "
                f"{chunk_start:,} confirmed before"
            )
        confirmed(sent)
        now = time.perf_counter()
        if log is not None and now - last_log > 5:
            log.info(f"{sent:,} ballots sent, {sent / (now - began):,.0f}/s")
            last_log = now
    return sent


def send_chunk(
    producer, topic, chunk, rate: float, began: float, sent_before: int, delivered
) -> int:
    """Produce one chunk, pacing to `rate` ballots per second (0 = no pacing)."""
    voting_time = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    step = len(chunk) if rate <= 0 else max(1, int(rate / 20))
    produced = 0
    for part_start in range(0, len(chunk), step):
        part = chunk.slice(part_start, min(len(chunk), part_start + step))
        if rate > 0:
            voting_time = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            # wait until this part is due, so the wave keeps its target rate
            due = began + (sent_before + produced) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        values = ballots.encode_ballots(part.vote_id, part.voter_id, part.candidate_id, voting_time)
        for value, key in zip(values, part.voter_id, strict=True):
            while True:
                try:
                    producer.produce(topic, value, key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
        producer.poll(0)
        produced += len(part)
    return produced


@dg.op(out=dg.Out(dg.Nothing))
def cast_votes(
    context: dg.OpExecutionContext,
    config: WaveConfig,
    postgres: PostgresResource,
    kafka: KafkaResource,
):
    """Cast one wave of ballots into votes_topic."""
    report = cast_wave(postgres, kafka, config, context.run.run_id, context.log)
    context.log.info(
        f"wave {report.wave}: {report.sent:,} ballots in {report.seconds:.1f} s "
        f"({report.rate:,.0f}/s); {report.remaining:,} planned ballots remain"
    )
    context.log_event(
        dg.AssetMaterialization(
            asset_key=dg.AssetKey(contract.VOTES_TOPIC),
            description=f"wave {report.wave}",
            metadata={
                "wave": report.wave,
                "ballots_sent": report.sent,
                "rate_per_s": round(report.rate, 1),
                "delivery_failures": report.failures,
                "remaining_in_plan": report.remaining,
            },
        )
    )


@dg.job(
    name=contract.CAST_VOTES_JOB, description="Cast one wave of votes (size and rate as config)."
)
def cast_votes_job():
    cast_votes()


# --- the voting sensor -------------------------------------------------------------------------


def in_progress_runs(instance: dg.DagsterInstance, job_name: str) -> list:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS)))


def wave_run_config() -> dict:
    """Wave size and rate for the sensor's runs; the environment may change them."""
    config = {
        "size": int(os.environ.get("VOTING_WAVE_SIZE", "20000")),
        "rate": float(os.environ.get("VOTING_WAVE_RATE", "5000")),
        "problem_share": float(os.environ.get("VOTING_PROBLEM_SHARE", "0")),
    }
    return {"ops": {"cast_votes": {"config": config}}}


@dg.sensor(
    name=contract.LIVE_VOTING_SENSOR,
    job=cast_votes_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="While the polls are open and voters remain, launch the next wave of votes.",
)
def live_voting_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    with postgres.connect() as conn:
        election = lifecycle.current_election(conn)
        if election is None or election.status != contract.OPEN:
            status = election.status if election else "nothing registered"
            return dg.SkipReason(f"the polls are not open ({status})")
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        last = conn.execute(
            "SELECT plan_size, plan_start + sent FROM vote_waves ORDER BY wave DESC LIMIT 1"
        ).fetchone()
    if registered == 0:
        return dg.SkipReason("no registered voters")
    if last is not None and last[1] >= last[0]:
        return dg.SkipReason(f"every planned ballot has been cast ({last[0]:,})")
    running = in_progress_runs(context.instance, contract.CAST_VOTES_JOB)
    if running:
        return dg.SkipReason(f"wave run {running[0].run_id[:8]} is still casting")
    generation = int(context.cursor or 0) + 1
    context.update_cursor(str(generation))
    return dg.RunRequest(
        run_key=f"election-{election.election_id}-wave-{generation}",
        run_config=wave_run_config(),
        tags={"election_id": str(election.election_id), "wave_generation": str(generation)},
    )
