"""A benchmark run beside an open election leaves that election exactly as it was.

The election is the suite's (a registered roll, the polls open, ballots on votes_topic); the
benchmark is run as `make bench` runs it, a program of its own, and brings up its own
PostgreSQL and Kafka for what it measures.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from election import contract
from election.settings import setting
from election_assets import lifecycle, registration, voting
from election_assets.resources import KafkaResource, PostgresResource
from election_io.elections import read_election

ROOT = Path(__file__).resolve().parents[2]
# beside the suite's own ports, so runs of the suite on other ports keep out of each other's way
OFFSET = 5


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def snapshot(postgres: PostgresResource, kafka: KafkaResource) -> dict:
    with postgres.connect() as conn:
        roll = conn.execute("SELECT md5(string_agg(voter_id, ',' ORDER BY voter_id)) FROM voters")
        election = read_election(conn)
        databases = conn.execute("SELECT datname FROM pg_database ORDER BY 1").fetchall()
        waves = conn.execute("SELECT count(*), sum(sent) FROM vote_waves").fetchone()
        roll_digest = roll.fetchone()[0]
    return {
        "roll": roll_digest,
        "status": election.status,
        "opened": election.polls_opened_at,
        "waves": waves,
        "databases": databases,
        "offsets": kafka.end_offsets(contract.VOTES_TOPIC),
        # the broker's own topics (consumer offsets) may appear on first use
        "topics": sorted(t for t in kafka.topics(kafka.admin()) if not t.startswith("__")),
    }


@pytest.mark.slow
def test_a_benchmark_beside_an_open_election_leaves_it_intact(scratch_database, bootstrap_servers):
    postgres = PostgresResource(database_url=scratch_database)
    postgres.ensure_schema()
    kafka = KafkaResource(bootstrap_servers=bootstrap_servers)
    registration.register_offline(scratch_database, 400)
    kafka.ensure_topic(contract.VOTES_TOPIC, 4, config=contract.VOTES_TOPIC_CONFIG)
    with postgres.connect() as conn:
        lifecycle.transition(conn, contract.OPEN, "test", clock=kafka.broker_now)
    report = voting.cast_wave(
        postgres, kafka, voting.WaveConfig(size=150, rate=0), "test", logging.getLogger("test")
    )
    assert report.sent > 0
    before = snapshot(postgres, kafka)
    assert before["status"] == contract.OPEN and sum(before["offsets"].values()) >= report.sent

    bench_pg, bench_kafka = (
        setting("TEST_POSTGRES_PORT") + OFFSET,
        setting("TEST_KAFKA_PORT") + OFFSET,
    )
    env = {
        **os.environ,  # the suite's services stand for the election a person is running
        "DATABASE_URL": scratch_database,
        "BENCH_POSTGRES_PORT": str(bench_pg),
        "BENCH_KAFKA_PORT": str(bench_kafka),
        "BENCH_STACK_DIR": str(ROOT / ".stack" / "test" / "bench"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.produce_votes", "--ballots", "2000"]
        + ["--dagster-ballots", "300"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "produce_votes" and figures["votes_per_s"] > 0
    assert f"Kafka :{bench_kafka}" in done.stdout  # it said where it measured

    assert snapshot(postgres, kafka) == before
    # it stopped the services it started
    assert not port_open(bench_pg) and not port_open(bench_kafka)
