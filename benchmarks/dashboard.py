"""How long the dashboard's live sections take to refresh, at 10,000 and 1,000,000 ballots counted.

`python -m benchmarks.dashboard` against the local services. Each refresh runs the live
sections' code inside a real Streamlit script run (AppTest): snapshot, election status query,
standings, every figure and element. The baseline is the naive approach: a new consumer that
reads the result topics from the earliest offset on every refresh.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid

import psycopg
from streamlit.testing.v1 import AppTest

from benchmarks import _sample_results as sample_results
from benchmarks._common import run_alone
from election import contract
from election.geography import US_STATE_CODES
from election.schema import TABLES
from election.settings import setting
from streamlit_app.reader import ResultReader, topic_names_from_env

STATES = [name for name in US_STATE_CODES if name != "District of Columbia"][:50]
BALLOTS_PER_TALLY_BATCH = 10_000  # one micro-batch republishes every key
REJECTED_SHARE = 0.01
REFRESHES = setting("BENCH_DASHBOARD_REFRESHES")
BASELINE_REFRESHES = setting("BENCH_DASHBOARD_BASELINE_REFRESHES")

# Filled by the script that AppTest runs in this same process (always this module's import,
# also when it runs as __main__).
timings_ms: list[float] = []


def refresh_live_sections(naive: bool) -> None:
    """One refresh of the live sections, timed; run inside AppTest (see _refresh_script)."""
    from streamlit_app import app

    config = app.DashboardConfig.from_env()
    started = time.perf_counter()
    if naive:
        reader = ResultReader(
            config.bootstrap_servers, topic_names_from_env(config.topic_prefix)
        ).start()
        reader.wait_for_first_read(timeout=120)
        snapshot = reader.snapshot()
        reader.stop()
    else:
        snapshot = app.result_reader(config.bootstrap_servers, config.topic_prefix).snapshot()
    votes_topic = topic_names_from_env(config.topic_prefix)[contract.VOTES_TOPIC]
    app.render_live_sections(config, snapshot, app.load_board(config.database_url, votes_topic))
    timings_ms.append((time.perf_counter() - started) * 1000)


def _refresh_script() -> None:
    # AppTest runs this function's source alone: it imports what it uses
    from benchmarks.dashboard import refresh_live_sections
    from election.settings import setting

    refresh_live_sections(naive=setting("BENCH_DASHBOARD_NAIVE"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(refreshes: int, naive: bool) -> list[float]:
    """Time `refreshes` refreshes of the live sections after one warm-up."""
    from benchmarks.dashboard import timings_ms

    os.environ["BENCH_DASHBOARD_NAIVE"] = "1" if naive else "0"
    page = AppTest.from_function(_refresh_script, default_timeout=300)
    page.run()  # warm-up: the shared reader's first read, imports, caches
    if page.exception:
        raise RuntimeError(page.exception[0].value)
    timings_ms.clear()
    for _ in range(refreshes):
        page.run()
    return list(timings_ms)


def prepare(bootstrap: str, ballots: int, prefix: str) -> int:
    """Fresh topics holding a tally's results for `ballots` counted ballots in 50 states."""
    names = topic_names_from_env(prefix)
    sample_results.create_topics(bootstrap, names)
    batches = max(1, ballots // BALLOTS_PER_TALLY_BATCH)
    messages = sample_results.sample_election(
        ballots, STATES, batches=batches, rejected=int(ballots * REJECTED_SHARE)
    )
    assert sum(sample_results.candidate_totals(messages).values()) == ballots
    return sample_results.publish(bootstrap, names, messages)


def main() -> None:
    bootstrap, database_url = setting("KAFKA_BOOTSTRAP_SERVERS"), setting("DATABASE_URL")
    run = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    base, _, _ = database_url.rpartition("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{run}"')
    scratch_url = f"{base}/{run}"
    prefixes = {10_000: f"{run}_10k_", 1_000_000: f"{run}_1m_"}
    figures: dict[int, dict[str, float]] = {}
    try:
        with psycopg.connect(scratch_url, autocommit=True) as conn:
            conn.execute(TABLES)
            conn.execute(
                "INSERT INTO elections (name, status) VALUES ('Benchmark election', 'open')"
            )
        os.environ.update({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": scratch_url})
        for ballots, prefix in prefixes.items():
            started = time.perf_counter()
            messages = prepare(bootstrap, ballots, prefix)
            print(
                f"{ballots:,} ballots counted: {messages:,} result messages in the topics "
                f"({time.perf_counter() - started:.1f} s to publish)",
                flush=True,
            )
            os.environ["DASHBOARD_TOPIC_PREFIX"] = prefix
            shared = measure(REFRESHES, naive=False)
            figures[ballots] = {"p50": statistics.median(shared), "p95": percentile(shared, 0.95)}
            print(
                f"  shared reader: p50 {figures[ballots]['p50']:.1f} ms, "
                f"p95 {figures[ballots]['p95']:.1f} ms over {len(shared)} refreshes",
                flush=True,
            )
        naive = measure(BASELINE_REFRESHES, naive=True)
        baseline = statistics.median(naive)
        print(
            f"  naive (new consumer from earliest per refresh), 1,000,000 ballots: p50 {baseline:.1f} ms, "
            f"p95 {percentile(naive, 0.95):.1f} ms over {len(naive)} refreshes",
            flush=True,
        )
    finally:
        from streamlit import cache_resource

        cache_resource.clear()  # stops the shared readers
        for prefix in prefixes.values():
            sample_results.delete_topics(bootstrap, topic_names_from_env(prefix).values())
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
    big, small = figures[1_000_000], figures[10_000]
    print(
        json.dumps(
            {
                "benchmark": "dashboard",
                "p50_ms": round(big["p50"], 1),
                "p95_ms": round(big["p95"], 1),
                "p50_ms_10k": round(small["p50"], 1),
                "p95_ms_10k": round(small["p95"], 1),
                "baseline": round(baseline, 1),
                "baseline_p95_ms": round(percentile(naive, 0.95), 1),
                "ratio": round(baseline / big["p50"], 1),
                "baseline_is": "p50 ms of the naive refresh at 1,000,000 ballots; ratio = baseline / p50_ms",
                "states": len(STATES),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(run_alone(main))
