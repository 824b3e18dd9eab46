"""Shared by the benchmarks: their own services, a dedicated database, the last-line JSON report.

A benchmark never touches the election a person is running: run as a program it points itself
at the benchmarks' own PostgreSQL and Kafka (BENCH_POSTGRES_PORT, BENCH_KAFKA_PORT, data in
BENCH_STACK_DIR), started as the test suite starts its own, and inside them it uses a database
and topics of its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from election.settings import setting, setting_text

ROOT = Path(__file__).resolve().parent.parent


def bench_stack_dir() -> Path:
    return Path(setting_text("BENCH_STACK_DIR") or ROOT / ".stack" / "bench")


def bench_services_environment() -> dict[str, str]:
    """Where the benchmarks' own services live: their ports, data folder, checkpoints, Dagster."""
    stack = bench_stack_dir()
    pg_port, kafka_port = setting("BENCH_POSTGRES_PORT"), setting("BENCH_KAFKA_PORT")
    return {
        "STACK_DIR": str(stack),
        "DATABASE_URL": f"postgresql://postgres:postgres@localhost:{pg_port}/voting",
        "KAFKA_BOOTSTRAP_SERVERS": f"localhost:{kafka_port}",
        "KAFKA_CONTROLLER_PORT": str(kafka_port + 1),
        "KAFKA_BROKERS": "1",
        "SPARK_CHECKPOINT_DIR": str(stack / "checkpoints"),
        "TALLY_CHECKPOINT": str(stack / "checkpoints" / "live_tally"),
        "DAGSTER_HOME": str(stack / "dagster"),
        "ELECTION_EXPORT_DIR": str(stack / "exports"),
    }


def _stack(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), command],
        capture_output=True,
        text=True,
    )


@contextmanager
def own_services() -> Iterator[dict[str, str]]:
    """Point this process (and all it starts) at the benchmarks' own PostgreSQL and Kafka.

    Starts them when they are down, and then stops them at the end; services already up
    (make bench starts them once for all the benchmarks) are left running.
    """
    environment = bench_services_environment()
    os.environ.update(environment)
    Path(environment["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    home_config = Path(environment["DAGSTER_HOME"]) / "dagster.yaml"
    if not home_config.exists():
        home_config.write_text((ROOT / "stack" / "dagster.yaml").read_text())
    already_up = _stack("status").returncode == 0
    if not already_up:
        started = _stack("start")
        if started.returncode != 0:
            line = (started.stderr.strip() or started.stdout.strip()).splitlines()[-1:]
            raise SystemExit(f"[bench] error: its own services did not start: {' '.join(line)}")
        print(
            f"[bench] own services: PostgreSQL :{setting('BENCH_POSTGRES_PORT')}, "
            f"Kafka :{setting('BENCH_KAFKA_PORT')} (data in {environment['STACK_DIR']})",
            flush=True,
        )
    try:
        yield environment
    finally:
        if not already_up:
            _stack("stop")


def run_alone(main: Callable[[], int | None]) -> int:
    """A benchmark run as a program: main() on the benchmarks' own services; its exit code."""
    with own_services():
        return main() or 0


def bench_database(name: str) -> str:
    """A fresh database on the local PostgreSQL for one benchmark; returns its URL."""
    url = setting("DATABASE_URL")
    base = url.rpartition("/")[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(setting("DATABASE_URL"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, out: dict):
    print(f"  {label} ...", flush=True)
    began = time.perf_counter()
    yield
    out[label] = time.perf_counter() - began
    print(f"  {label}: {out[label]:.2f} s", flush=True)


def report(name: str, **figures) -> None:
    """The benchmark's last line: one JSON object."""
    print(json.dumps({"benchmark": name, **figures}))
