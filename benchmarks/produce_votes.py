"""Casting ballots at full speed: the vote generator vs. Kafka's own ProducerPerformance.

python -m benchmarks.produce_votes [--ballots 2000000]
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from benchmarks._common import bench_database, drop_database, report, run_alone
from election import ballots, contract, turnout
from election.settings import setting
from election_assets import lifecycle, registration, voting
from election_assets.resources import KafkaResource, PostgresResource
from election_io import ballot_box, topics

ROOT = Path(__file__).resolve().parent.parent
KAFKA_JARS = ROOT / ".stack" / "jars" / "kafka"
DATABASE = "voting_bench_produce"


def synthetic_plan(ballots: int) -> turnout.BallotPlan:
    """A plan of `ballots` distinct voters, shaped exactly like the generator's."""
    rng = np.random.default_rng(1)
    voter_ids = np.array([str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, ballots)])
    candidates = np.array(["cand-1", "cand-2", "cand-3"], dtype=object)
    return turnout.BallotPlan(
        vote_id=turnout.vote_ids(3, ballots),
        voter_id=voter_ids,
        candidate_id=candidates[rng.integers(0, 3, ballots)],
        address_state=np.full(ballots, "Ohio", dtype=object),
        day_fraction=np.linspace(0, 1, ballots, endpoint=False),
        kind=np.full(ballots, turnout.BALLOT, dtype=object),
    )


def ours(kafka: KafkaResource, topic: str, plan: turnout.BallotPlan) -> float:
    """The wave's own send loop (chunks, delivery confirmation) at rate 0; ballots per second."""
    producer = kafka.producer()
    began = time.perf_counter()
    sent = ballot_box.send_ballots(producer, topic, plan, 0, lambda _sent: None)
    return sent / (time.perf_counter() - began)


def producer_performance(bootstrap: str, topic: str, records: int, size: int) -> float:
    """Kafka's ProducerPerformance tool with the same acks, batching and compression."""
    java = shutil.which("java")
    result = subprocess.run(
        [
            java,
            "-Xmx1g",
            "-cp",
            f"{KAFKA_JARS}/*",
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "enable.idempotence=true",
            "compression.type=lz4",
            "linger.ms=20",
            f"batch.size={contract.BALLOT_BATCH_BYTES}",  # as ours: under the door
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    final = [line for line in result.stdout.splitlines() if "records sent" in line][-1]
    return float(re.search(r"([\d.]+) records/sec", final).group(1))


def through_dagster(bootstrap: str, ballots: int) -> tuple[float, float]:
    """One wave launched as cast_votes_job: (wave's own rate, ballots per second of the run).

    The job casts into votes_topic itself, which this replaces: run it only on the benchmarks'
    own broker (benchmarks/_common.py own_services), as `python -m benchmarks.produce_votes` does.
    """
    url = bench_database(DATABASE)
    try:
        postgres = PostgresResource(database_url=url)
        postgres.ensure_schema()
        registration.register_offline(url, int(ballots / 0.6))
        with postgres.connect() as conn:
            lifecycle.transition(conn, contract.OPEN, "benchmark")
        kafka = KafkaResource(bootstrap_servers=bootstrap)
        topics.delete_topics(kafka.bootstrap_servers, [contract.VOTES_TOPIC], wait=30)
        kafka.ensure_topic(contract.VOTES_TOPIC, 4, config=contract.VOTES_TOPIC_CONFIG)
        began = time.perf_counter()
        result = voting.cast_votes_job.execute_in_process(
            resources={"postgres": postgres, "kafka": kafka},
            run_config={"ops": {"cast_votes": {"config": {"size": ballots, "rate": 0}}}},
        )
        wall = time.perf_counter() - began
        wave = next(
            e.materialization
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"
        )
        sent = wave.metadata["ballots_sent"].value
        return wave.metadata["rate_per_s"].value, sent / wall
    finally:
        topics.delete_topics(bootstrap, [contract.VOTES_TOPIC], wait=30)
        drop_database(DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ballots", type=int, default=2_000_000)
    parser.add_argument("--dagster-ballots", type=int, default=200_000)
    args = parser.parse_args()
    logging.getLogger("dagster").setLevel(logging.WARNING)

    bootstrap = setting("KAFKA_BOOTSTRAP_SERVERS")
    kafka = KafkaResource(bootstrap_servers=bootstrap)
    ours_topic, tool_topic = (
        f"bench_votes_{uuid.uuid4().hex[:8]}",
        f"bench_perf_{uuid.uuid4().hex[:8]}",
    )
    for topic in (ours_topic, tool_topic):
        kafka.ensure_topic(topic, 4, config=contract.VOTES_TOPIC_CONFIG)
    try:
        print(f"planning {args.ballots:,} ballots ...")
        plan = synthetic_plan(args.ballots)
        size = round(
            np.mean(
                [
                    len(v)
                    for v in ballots.encode_ballots(
                        plan.vote_id[:1000],
                        plan.voter_id[:1000],
                        plan.candidate_id[:1000],
                        "2026-11-03T14:00:00.000000Z",
                    )
                ]
            )
        )
        print(
            f"casting {args.ballots:,} ballots ({size} bytes each) through the wave's send loop ..."
        )
        rate = ours(kafka, ours_topic, plan)
        print(f"  {rate:,.0f} votes/s")
        print("Kafka ProducerPerformance, same records, acks=all, lz4, linger 20 ms ...")
        baseline = producer_performance(bootstrap, tool_topic, args.ballots, size)
        print(f"  {baseline:,.0f} records/s")
    finally:
        topics.delete_topics(kafka.bootstrap_servers, [ours_topic, tool_topic])
    print(f"one wave of {args.dagster_ballots:,} through Dagster (cast_votes_job) ...")
    wave_rate, run_rate = through_dagster(bootstrap, args.dagster_ballots)
    print(f"  wave sends {wave_rate:,.0f}/s; whole run incl. planning {run_rate:,.0f}/s")
    report(
        "produce_votes",
        ballots=args.ballots,
        votes_per_s=round(rate),
        baseline=round(baseline),
        ratio=round(rate / baseline, 3),
        dagster_wave_per_s=round(wave_rate),
        dagster_run_per_s=round(run_rate),
    )


if __name__ == "__main__":
    sys.exit(run_alone(main))
