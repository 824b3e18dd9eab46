"""The live tally on a standalone Spark cluster, outside Dagster: spark-submit publishes it all.

    .venv/bin/python scripts/cluster_tally.py [--voters N] [--ballots N]

Starts a Spark master and worker on loopback with pyspark's own `spark-class`, in a Python
environment that has nothing of Dagster but `dagster-pipes` (the `cluster` extra of
pyproject.toml, installed into .stack/cluster/venv). It registers a small election in a
database of its own on the local PostgreSQL, casts ballots to a topic of its own, then
runs the live tally on the cluster with `python -m spark_jobs.launch` (spark-submit, the
domain and the Spark jobs as --py-files: the command Dagster's SparkLauncher runs when
SPARK_SUBMIT=1), on the cluster's Python, and checks that the result topics hold the totals
and the race calls the page needs. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from election import ballots, contract  # noqa: E402
from election.contests import NATION, NATIONAL_CONTEST  # noqa: E402
from election.settings import setting  # noqa: E402
from election_io.producers import producer_config  # noqa: E402
from election_io.topics import delete_topics  # noqa: E402
from spark_jobs.launch import spark_home  # noqa: E402

CLUSTER = ROOT / ".stack" / "cluster"
VENV = CLUSTER / "venv"
MASTER_PORT = 7177  # loopback only; away from a real cluster's 7077


def say(text: str) -> None:
    print(f"[cluster] {text}", flush=True)


def cluster_python() -> Path:
    """A venv with the `cluster` extra only; made once, reused after."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".installed"
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["cluster"]
    if not stamp.exists() or stamp.read_text() != "\n".join(wanted):
        say(f"installing the cluster's Python into {VENV.relative_to(ROOT)}: {', '.join(wanted)}")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *wanted], check=True)
        stamp.write_text("\n".join(wanted))
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    dagster = sorted(n for n in names if n.startswith("dagster"))
    if dagster != ["dagster-pipes"]:
        raise SystemExit(f"the cluster's Python must have only dagster-pipes of Dagster: {dagster}")
    return python


def wait_for_port(port: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"nothing answers on 127.0.0.1:{port} after {seconds:.0f} s")


def start_cluster(home: Path, python: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": str(python),
    }
    logs = CLUSTER / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    spark_class = str(home / "bin" / "spark-class")
    master = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(MASTER_PORT), "--webui-port", "8190"],
        env=env, stdout=open(logs / "master.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    wait_for_port(MASTER_PORT, 60)
    worker = subprocess.Popen(
        [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
         "--cores", "2", "--memory", "2g", "--webui-port", "8191",
         f"spark://127.0.0.1:{MASTER_PORT}"],
        env=env, stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    say(f"master spark://127.0.0.1:{MASTER_PORT} and one worker started (logs in {logs})")
    return [worker, master]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def prepare_election(
    database_url: str, bootstrap: str, topic: str, prefix: str, voters: int, cast: int
):
    """A registered roll, open polls, `cast` valid ballots on `topic`; the count per candidate."""
    from election_assets import lifecycle  # the setup side has Dagster; the cluster has not
    from election_assets.registration import register_offline
    from election_io.topics import ensure_tally_topics as ensure_topics

    logging.getLogger("dagster").setLevel(logging.WARNING)  # the setup's own run is not news
    register_offline(database_url, voters, 3)
    with psycopg.connect(database_url, autocommit=True) as conn:
        lifecycle.transition(conn, contract.OPEN, "cluster_tally")
        roll = [v for (v,) in conn.execute("SELECT voter_id FROM voters")]
        running = [c for (c,) in conn.execute("SELECT candidate_id FROM candidates ORDER BY 1")]
    ensure_topics(bootstrap, topic, 3, prefix)  # the ballot log and the result topics
    rng = random.Random(5)
    chosen = {voter: rng.choice(running) for voter in rng.sample(roll, cast)}
    producer = Producer(producer_config(bootstrap))
    when = ballots.utc_iso(datetime.now(UTC))
    values = ballots.encode_ballots(
        [uuid.uuid4().hex for _ in chosen], list(chosen), list(chosen.values()), when
    )
    for voter, value in zip(chosen, values, strict=True):
        producer.produce(topic, value, voter.encode())
    producer.flush(30)
    with psycopg.connect(database_url, autocommit=True) as conn:
        lifecycle.transition(conn, contract.CLOSED, "cluster_tally")
    per_candidate = dict.fromkeys(running, 0)
    for candidate in chosen.values():
        per_candidate[candidate] += 1
    return per_candidate


def latest(bootstrap: str, topic: str) -> dict[str, dict]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    parts = [TopicPartition(topic, p, 0) for p in metadata.partitions]
    ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
    consumer.assign(parts)
    values: dict[str, dict] = {}
    deadline = time.time() + 30
    while time.time() < deadline and any(
        consumer.position([TopicPartition(topic, p)])[0].offset < end for p, end in ends.items()
    ):
        message = consumer.poll(1.0)
        if message is not None and message.error() is None and message.value() is not None:
            values[message.key().decode()] = json.loads(message.value())
    consumer.close()
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voters", type=int, default=2000)
    parser.add_argument("--ballots", type=int, default=1200)
    args = parser.parse_args(argv)
    bootstrap, base_url = setting("KAFKA_BOOTSTRAP_SERVERS"), setting("DATABASE_URL")
    name = f"cluster_{uuid.uuid4().hex[:8]}"
    database_url = f"{base_url.rpartition('/')[0]}/{name}"
    topic, prefix = f"{name}_votes", f"{name}_"
    CLUSTER.mkdir(parents=True, exist_ok=True)
    python = cluster_python()
    home = spark_home(str(python))
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    processes = []
    try:
        expected = prepare_election(
            database_url, bootstrap, topic, prefix, args.voters, args.ballots
        )
        say(f"{args.ballots:,} ballots cast on {topic}; polls closed")
        processes = start_cluster(home, python)
        checkpoint = CLUSTER / "checkpoints" / name
        began = time.monotonic()
        # the command Dagster's SparkLauncher runs with SPARK_SUBMIT=1, on the cluster's Python
        submitted = subprocess.run(
            [str(python), "-m", "spark_jobs.launch", "--master", f"spark://127.0.0.1:{MASTER_PORT}",
             "--python", str(python), "spark_jobs.live_tally", "--until-drained",
             "--topic", topic, "--results-prefix", prefix, "--checkpoint", str(checkpoint)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url, "SPARK_LOCAL_IP": "127.0.0.1",
                 "SPARK_DRIVER_MEMORY": "1g", "SPARK_SHUFFLE_PARTITIONS": "4",
                 "SPARK_CONF": "spark.executor.memory=1g", "PYTHONPATH": ""},
            capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        seconds = time.monotonic() - began
        (CLUSTER / "logs" / f"{name}.log").write_text(submitted.stdout + submitted.stderr)
        if submitted.returncode != 0:
            tail = (submitted.stderr.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"spark-submit exited with {submitted.returncode}: {tail}")
        totals = latest(bootstrap, prefix + contract.VOTES_PER_CANDIDATE_TOPIC)
        calls = latest(bootstrap, prefix + contract.RACE_CALLS_TOPIC)
        turnout = latest(bootstrap, prefix + contract.TURNOUT_BY_LOCATION_TOPIC)
        published = {c: v["total_votes"] for c, v in totals.items()}
        national = calls.get(contract.contest_key(NATIONAL_CONTEST, NATION), {})
        ok = published == expected and bool(national) and len(calls) == len(turnout) + 1
        say(f"published totals {published}; expected {expected}")
        say(f"race calls: {len(calls)} (nation: {national.get('candidate_id')}, "
            f"called {national.get('called')})")  # fmt: skip
        print(
            json.dumps(
                {
                    "script": "cluster_tally",
                    "ok": ok,
                    "ballots": args.ballots,
                    "tally_seconds": round(seconds, 1),
                    "race_calls": len(calls),
                    "states": len(turnout),
                    "national_called": national.get("called"),
                }
            )
        )
        return 0 if ok else 1
    finally:
        stop(processes)
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        delete_topics(bootstrap, [topic, *(prefix + t for t in contract.PUBLISHED_TOPICS)])
        shutil.rmtree(CLUSTER / "checkpoints" / name, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
