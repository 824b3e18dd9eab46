"""Voting: the ballot topic, the vote generator's waves and the voting sensor."""

import contextlib
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
import numpy as np
import psycopg

from election import contract, turnout
from election.settings import setting
from election_assets import lifecycle
from election_assets.registration import candidates, voters
from election_assets.resources import KafkaResource, PostgresResource
from election_assets.shared import checkpoint_root, in_progress_runs
from election_io.ballot_box import DeliveryFailed, send_ballots, send_on_time
from election_io.elections import read_election

WAVE_LOCK = 7_000_001  # advisory lock: one wave at a time, whatever launched it
WAVE_QUEUE_TIMEOUT_S = 300  # how long a paced wave waits for the one before it


class TopicsConfig(dg.Config):
    partitions: int = 4
    # None: as the cluster allows, min(3, brokers), with min.insync.replicas 2 once replicated
    replication: int | None = None


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
        election = read_election(conn)
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


# --- the vote generator ----------------------------------------------------------------------


class WaveConfig(dg.Config):
    """One wave of ballots: how many, and how fast (0 = as fast as possible).

    paced: cast the ballots the turnout model has due by now and, each at its moment, those
    due within a horizon ahead (horizon_s, or default_horizon of the day when unset), at most
    max_share of the whole plan (one and a half horizons' worth if more): the turnout arrives
    over the day in small slices, and a slow launch never leaves the day behind.
    """

    size: int = 20_000
    rate: float = 5_000.0
    seed: int = 7
    turnout: float = turnout.EXPECTED_TURNOUT
    problem_share: float = 0.0
    paced: bool = False
    max_share: float = 0.05
    horizon_s: float | None = None


@dataclass(frozen=True)
class WaveReport:
    wave: int
    sent: int
    seconds: float
    remaining: int

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
    with postgres.connect(autocommit=True) as conn, contextlib.ExitStack() as held:
        if config.paced:
            # the next paced wave is launched while one casts, and starts the moment it ends
            try:
                conn.execute(f"SET lock_timeout = '{WAVE_QUEUE_TIMEOUT_S}s'")
                conn.execute("SELECT pg_advisory_lock(%s)", (WAVE_LOCK,))
            except psycopg.errors.LockNotAvailable:
                raise dg.Failure(
                    f"another wave has been casting for over {WAVE_QUEUE_TIMEOUT_S} s"
                ) from None
        elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (WAVE_LOCK,)).fetchone()[0]:
            raise dg.Failure("another wave is being cast right now; one wave at a time")
        # released at the end, not when the server notices the closed connection: the next
        # wave may be asking for it already
        held.callback(release_wave_lock, conn)
        election = read_election(conn)
        if election is None or election.status != contract.OPEN:
            status = election.status if election else "not registered"
            raise dg.Failure(f"the polls are not open (election {status}): run open_polls_job")
        started = time.perf_counter()
        plan = load_plan(conn, config)
        start = plan_cursor(conn)
        stop = min(len(plan), start + config.size)
        due = None
        if config.paced:
            stop, due = paced_slice(conn, election, plan, start, stop, config)
        (wave,) = conn.execute("SELECT coalesce(max(wave), 0) + 1 FROM vote_waves").fetchone()
        log.info(
            f"wave {wave}: ballots {start:,}..{stop:,} of a {len(plan):,}-ballot plan "
            f"(planned in {time.perf_counter() - started:.1f} s)"
        )
        if start >= stop:  # everything is cast, or (paced) nothing more is due yet
            return WaveReport(wave, 0, 0.0, len(plan) - start)
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
            wave_plan = plan.slice(start, stop)
            if due is None:
                sent = send_ballots(producer, topic, wave_plan, config.rate, confirmed, log)
            else:
                sent = send_on_time(producer, topic, wave_plan, *due, config.rate, confirmed, log)
        except DeliveryFailed as exc:
            conn.execute("UPDATE vote_waves SET status = 'failed' WHERE wave = %s", (wave,))
            raise dg.Failure(f"wave {wave}: {exc}") from exc
        seconds = time.perf_counter() - began
        conn.execute(
            "UPDATE vote_waves SET status = 'done', finished_at = now() WHERE wave = %s", (wave,)
        )
    return WaveReport(wave, sent, seconds, len(plan) - stop)


def release_wave_lock(conn: psycopg.Connection) -> None:
    with contextlib.suppress(psycopg.Error):  # a broken connection releases it anyway
        conn.execute("SELECT pg_advisory_unlock(%s)", (WAVE_LOCK,))


def paced_slice(
    conn: psycopg.Connection, election, plan: turnout.BallotPlan, start: int, stop: int, config
) -> tuple[int, tuple[np.ndarray, float] | None]:
    """Where a paced wave stops, when each of its ballots is due and when the polls close
    (on time.monotonic()).

    Without a scheduled closing the day has no clock: the wave is not paced.
    """
    closes_at = election.polls_close_at
    if closes_at is None:
        return stop, None
    (now,) = conn.execute("SELECT clock_timestamp()").fetchone()
    if now >= closes_at:  # the day is over: whoever has not voted by now does not
        return start, (np.zeros(0), 0.0)
    opened = election.polls_opened_at
    day_s = (closes_at - opened).total_seconds()
    horizon_s = max(
        0.0, config.horizon_s if config.horizon_s is not None else default_horizon(day_s)
    )
    ahead = now + timedelta(seconds=horizon_s)
    cap = max(config.max_share, 1.5 * horizon_s / day_s)
    # what is due by now is always cast (a slow launch must not make the day fall behind);
    # what comes due within the horizon, up to a small slice of the plan
    due_now = turnout.ballots_due(plan, turnout.elapsed_day_fraction(opened, closes_at, now))
    due_ahead = turnout.ballots_due(plan, turnout.elapsed_day_fraction(opened, closes_at, ahead))
    stop = min(stop, max(due_now, min(due_ahead, start + max(1, int(cap * len(plan))))))
    stop = max(start, stop)
    # the database's clock decides the day; the wave keeps time with its own monotonic clock
    since_opening = (now - opened).total_seconds()
    due = time.monotonic() + plan.day_fraction[start:stop] * day_s - since_opening
    return stop, (due, time.monotonic() + (closes_at - now).total_seconds())


def default_horizon(day_s: float) -> float:
    """How far ahead a paced wave casts: a twentieth of the day, and at least half a minute,
    about what launching the next wave takes on a busy machine, so the waves leave no gap."""
    return max(day_s / 20, MIN_HORIZON_S)


MIN_HORIZON_S = 30.0


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
                "remaining_in_plan": report.remaining,
            },
        )
    )


@dg.job(
    name=contract.CAST_VOTES_JOB,
    description="Cast one wave of votes (size and rate as config).",
    # one small step: a process of its own would only delay the wave
    executor_def=dg.in_process_executor,
)
def cast_votes_job():
    cast_votes()


# --- the voting sensor -------------------------------------------------------------------------


def wave_run_config(paced: bool = False) -> dict:
    """Wave size and rate for the sensor's runs; the environment may change them."""
    config = {
        "size": setting("VOTING_WAVE_SIZE"),
        "rate": setting("VOTING_WAVE_RATE"),
        "problem_share": setting("VOTING_PROBLEM_SHARE"),
        "paced": paced,
    }
    return {"ops": {"cast_votes": {"config": config}}}


# A paced wave is launched once the day has at least this share of the plan newly due.
MIN_DUE_SHARE = 0.002


@dg.sensor(
    name=contract.LIVE_VOTING_SENSOR,
    job=cast_votes_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="While the polls are open and voters remain, launch the next wave of votes "
    "(paced along the voting day's turnout curve when the polls close by themselves).",
)
def live_voting_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource):
    with postgres.connect() as conn:
        election = read_election(conn)
        if (skip := lifecycle.skip_unless_open(election)) is not None:
            return skip
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        last = conn.execute(
            "SELECT plan_size, plan_start + sent FROM vote_waves ORDER BY wave DESC LIMIT 1"
        ).fetchone()
        closes_at = election.polls_close_at
        (now,) = conn.execute("SELECT clock_timestamp()").fetchone()
    if registered == 0:
        return dg.SkipReason("no registered voters")
    if last is not None and last[1] >= last[0]:
        return dg.SkipReason(f"every planned ballot has been cast ({last[0]:,})")
    running = in_progress_runs(context.instance, contract.CAST_VOTES_JOB)
    # a paced day keeps the next wave launched and waiting, so no launch delay leaves a gap
    if running and (closes_at is None or len(running) >= 2):
        return dg.SkipReason(f"wave run {running[0].run_id[:8]} is still casting")
    if closes_at is not None and now >= closes_at:
        return dg.SkipReason(
            f"the voting day ended at {closes_at:%H:%M:%S} UTC; the polls are closing"
        )
    if closes_at is not None and last is not None:
        fraction = turnout.elapsed_day_fraction(election.polls_opened_at, closes_at, now)
        due = turnout.day_share_by(fraction) * last[0]
        if fraction < 1.0 and due - last[1] < MIN_DUE_SHARE * last[0]:
            return dg.SkipReason(
                f"{last[1]:,} of {last[0]:,} planned ballots cast, as due "
                f"{fraction:.0%} into the voting day; the next are due shortly"
            )
    generation = int(context.cursor or 0) + 1
    context.update_cursor(str(generation))
    return dg.RunRequest(
        run_key=f"election-{election.election_id}-wave-{generation}",
        run_config=wave_run_config(paced=closes_at is not None),
        tags={"election_id": str(election.election_id), "wave_generation": str(generation)},
    )
