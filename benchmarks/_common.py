"""Shared by the benchmarks: a dedicated database, and the last-line JSON report."""

from __future__ import annotations

import json
import resource
import time
from contextlib import contextmanager

import psycopg

from election.settings import setting


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
