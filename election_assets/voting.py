"""Voting: the ballot log and the result topics, the vote generator's waves, the voting sensor."""

import dagster as dg

from election import contract, turnout
from election.settings import setting
from election_assets import lifecycle
from election_assets.cvr_import import imported_election
from election_assets.registration import candidates, voters
from election_assets.resources import KafkaResource, PostgresResource
from election_assets.shared import in_progress_runs
from election_io import topics, waves
from election_io.ballot_box import DeliveryFailed
from election_io.elections import read_election, read_election_now


class TopicsConfig(dg.Config):
    partitions: int = 4
    # None: as the cluster allows, min(3, brokers), with min.insync.replicas 2 once replicated
    replication: int | None = None


# after the roll, registered or imported: a new election's ballot log starts empty
@dg.asset(group_name="voting", kinds={"kafka"}, deps=[voters, candidates, imported_election])
def votes_topic(
    context: dg.AssetExecutionContext,
    config: TopicsConfig,
    kafka: KafkaResource,
    postgres: PostgresResource,
) -> dg.MaterializeResult:
    """The ballot log of record (Kafka `votes_topic`, keyed by voter), empty for a new election.

    Before the polls open the ballot log must be empty: a log an earlier election left is
    replaced by an empty one.
    """
    created, cleared = provide_election_topics(
        context, kafka, postgres, config, [contract.VOTES_TOPIC]
    )
    return dg.MaterializeResult(
        metadata={
            "topic": contract.VOTES_TOPIC,
            "partitions": config.partitions,
            "created_now": bool(created),
            "earlier_ballots_removed": cleared,
        }
    )


@dg.asset(group_name="voting", kinds={"kafka"}, deps=[votes_topic])
def result_topics(
    context: dg.AssetExecutionContext,
    config: TopicsConfig,
    kafka: KafkaResource,
    postgres: PostgresResource,
) -> dg.MaterializeResult:
    """The topics the live tally publishes (results, rejections, race calls), empty for a new
    election: an earlier election's messages are removed before the polls open."""
    names = list(contract.PUBLISHED_TOPICS)
    created, cleared = provide_election_topics(context, kafka, postgres, config, names)
    return dg.MaterializeResult(
        metadata={
            "topics": ", ".join(names),
            "created_now": ", ".join(created) or "none (all existed)",
            "earlier_messages_removed": cleared,
        }
    )


def provide_election_topics(
    context, kafka: KafkaResource, postgres: PostgresResource, config: TopicsConfig, names
) -> tuple[list[str], int]:
    """Create the topics; at registration, empty them of an earlier election's messages first.

    Returns the topics created and how many earlier messages were removed.
    """
    postgres.ensure_schema()
    with postgres.connect() as conn:
        election = read_election(conn)
    kafka.check()
    stale = sum(sum(kafka.end_offsets(name).values()) for name in names)
    clear = election is not None and election.status == contract.REGISTRATION and stale > 0
    if clear:
        context.log.info(
            f"removing {stale} messages of an earlier election from {', '.join(names)}"
        )
    created = topics.provide_topics(
        kafka.bootstrap_servers, names, config.partitions, config.replication, empty=clear
    )
    return created, stale if clear else 0


# --- the vote generator ----------------------------------------------------------------------


class WaveConfig(dg.Config):
    """One wave of ballots: how many, and how fast (0 = as fast as possible).

    paced: cast the ballots the turnout model has due by now and, each at its moment, those
    due within a horizon ahead (horizon_s, or default_horizon of the day when unset), at most
    max_share of the whole plan (one and a half horizons' worth if more): the turnout arrives
    over the day in small slices, and a slow launch never leaves the day behind.

    selections: each ballot marks every contest of its voter's style (the `selections` shape);
    off, the seed's shape (`candidate_id`: one choice in the national contest).

    An imported election (import_cvr_job) casts its records' ballots, in their order, with
    their selections: turnout, problem_share and selections do not apply to it.
    """

    size: int = 20_000
    rate: float = 5_000.0
    seed: int = 7
    turnout: float = turnout.EXPECTED_TURNOUT
    problem_share: float = 0.0
    paced: bool = False
    max_share: float = 0.05
    horizon_s: float | None = None
    selections: bool = True


def cast_wave(
    postgres: PostgresResource,
    kafka: KafkaResource,
    config: WaveConfig,
    run_id: str,
    log,
    topic: str = contract.VOTES_TOPIC,
) -> waves.WaveReport:
    """Cast the next wave of the plan (election_io.waves); a refusal fails the run in its words."""
    with postgres.connect(autocommit=True) as conn:
        try:
            return waves.cast_wave(conn, kafka.producer, config, run_id, log, topic)
        except (waves.WaveRefused, DeliveryFailed) as exc:
            raise dg.Failure(str(exc)) from exc


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
        "selections": setting("BALLOT_SHAPE") == BALLOT_SHAPE_SELECTIONS,
        "paced": paced,
    }
    return {"ops": {"cast_votes": {"config": config}}}


BALLOT_SHAPE_SELECTIONS = "selections"  # BALLOT_SHAPE's value for multi-contest ballots
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
        reading = read_election_now(conn)  # the election, and the database's clock
        election, now = reading.election, reading.read_at
        if (skip := lifecycle.skip_unless_open(election)) is not None:
            return skip
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        last = conn.execute(
            "SELECT plan_size, plan_start + sent FROM vote_waves ORDER BY wave DESC LIMIT 1"
        ).fetchone()
        closes_at = election.polls_close_at
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
