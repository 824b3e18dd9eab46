"""Registering a million voters: the registration asset vs. row-by-row INSERTs and raw COPY.

python -m benchmarks.registration [--voters 1000000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time

import dagster as dg
import psycopg
import pyarrow.csv as pa_csv

from benchmarks._common import bench_database, drop_database, peak_rss_mb, report, run_alone
from election import roll, schema
from election_assets import registration
from election_assets.resources import PostgresResource
from election_assets.resources.randomuser import RandomUserClient

DATABASE = "voting_bench_registration"


def register(url: str, voters: int) -> float:
    """Seconds for the `voters` asset, end to end: generate, COPY, index, swap, metadata."""
    began = time.perf_counter()
    result = dg.materialize(
        [registration.voters],
        resources={
            "postgres": PostgresResource(database_url=url),
            "randomuser": RandomUserClient(base_url="http://127.0.0.1:9/", retries=0),
        },
        run_config={"ops": {"voters": {"config": {"count": voters, "source": "offline"}}}},
    )
    assert result.success
    return time.perf_counter() - began


def row_by_row(url: str, sample: int) -> float:
    """The seed system's way: one INSERT and one commit per voter; rows per second."""
    rows = roll.generate_voters(sample, seed=9).to_pylist()
    columns = ", ".join(roll.VOTER_COLUMNS)
    marks = ", ".join(["%s"] * len(roll.VOTER_COLUMNS))
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE voters_seed (LIKE voters INCLUDING ALL)")
        conn.commit()
        began = time.perf_counter()
        for row in rows:
            conn.execute(
                f"INSERT INTO voters_seed ({columns}) VALUES ({marks})",
                [row[c] for c in roll.VOTER_COLUMNS],
            )
            conn.commit()
        return sample / (time.perf_counter() - began)


def raw_copy(url: str, voters: int, keyed: bool) -> float:
    """COPY of the same rows from a ready CSV file; rows per second.

    Unkeyed: an empty table without indexes, created in the loading transaction so it skips
    the WAL, the fastest load PostgreSQL does. Keyed: the same table as the roll, with its
    primary key and unique registration number, which is what registration must produce.
    """
    table = roll.generate_voters(voters, seed=42)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer)
    data = buffer.getvalue()
    name = "voters_keyed" if keyed else "voters_raw"
    with psycopg.connect(url) as conn:
        if keyed:
            conn.execute(f"CREATE TABLE {name} (LIKE voters INCLUDING ALL)")
            conn.commit()
        began = time.perf_counter()
        if not keyed:
            conn.execute(f"CREATE TABLE {name} (LIKE voters INCLUDING DEFAULTS)")
        copy_sql = f"COPY {name} ({', '.join(roll.VOTER_COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        with conn.cursor().copy(copy_sql) as copy:
            for start in range(0, len(data), 8 << 20):
                copy.write(data[start : start + (8 << 20)])
        conn.commit()
        return voters / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voters", type=int, default=1_000_000)
    parser.add_argument(
        "--sample", type=int, default=3000, help="rows for the row-by-row reference"
    )
    args = parser.parse_args()

    url = bench_database(DATABASE)
    try:
        with psycopg.connect(url) as conn:
            conn.execute(schema.TABLES)
        print(f"registering {args.voters:,} voters offline through the `voters` asset ...")
        seconds = register(url, args.voters)
        ours = args.voters / seconds
        print(f"  {seconds:.2f} s -> {ours:,.0f} voters/s")
        print(f"row by row (INSERT + commit per row), a sample of {args.sample:,} ...")
        seed_rate = row_by_row(url, args.sample)
        print(f"  {seed_rate:,.0f} rows/s -> {args.voters / seed_rate:,.0f} s for the full roll")
        print(f"raw COPY of {args.voters:,} ready rows into an unindexed table ...")
        copy_rate = raw_copy(url, args.voters, keyed=False)
        print(f"  {copy_rate:,.0f} rows/s")
        print(f"raw COPY of {args.voters:,} ready rows into a table with the roll's keys ...")
        keyed_rate = raw_copy(url, args.voters, keyed=True)
        print(f"  {keyed_rate:,.0f} rows/s")
    finally:
        drop_database(DATABASE)
    report(
        "registration",
        voters=args.voters,
        voters_per_s=round(ours),
        row_by_row_per_s=round(seed_rate),
        copy_per_s=round(copy_rate),
        copy_keyed_per_s=round(keyed_rate),
        baseline=round(copy_rate),
        ratio=round(ours / copy_rate, 3),
        ratio_keyed=round(ours / keyed_rate, 3),
        peak_rss_mb=round(peak_rss_mb()),
    )


if __name__ == "__main__":
    sys.exit(run_alone(main))
