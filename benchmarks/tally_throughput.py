"""Tally throughput: 2,000,000 ballots already on a topic, tallied from scratch on local[2].

    python -m benchmarks.tally_throughput [--ballots N] [--shape selections|seed]
                                          [--max-offsets-per-trigger N]

The ballots are the default election's (--shape selections): each marks every contest of
its voter's ballot style, drawn by the generator (election.selection_draws) with its repeat
attempts and its ballots off the style or naming unknown choices; --shape seed sends the
seed's one-candidate ballots (2% repeat attempts, 1% invalid of four kinds) instead.
References measured in the same run, on the same ballots: the naive tally
(benchmarks/_naive_tally.py: it parses and counts every choice, checks nothing) and a Spark
query that only copies the topic (the ceiling). Each runs as its own process, as the live
tally does; a rate is messages over the time from its query's start to its last batch. The
roll and the ballot topics are kept between runs (in the database voting_bench_tally and one
topic per shape) and only rebuilt when they differ. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from confluent_kafka import Producer

from benchmarks._common import run_alone
from election import ballots, contract, roll, schema, turnout
from election.contests import NATION, NATIONAL_CONTEST
from election.default_election import default_election
from election.definition import Definition, with_national_choices
from election.schema import TABLES
from election.settings import setting
from election_io import topics
from election_io.ballot_log import committed_offsets
from election_io.definitions import write_definition
from election_io.producers import producer_config
from spark_jobs import sources

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "voting_bench_tally"
SHAPES = ("selections", "seed")
RESULTS_PREFIX = "bench_tally."
CANDIDATES = tuple(f"cand-{k}" for k in range(1, 6))
ELECTION_DAY = dt.date(2024, 11, 5)
DEFAULT_BALLOTS = 2_000_000
TURNOUT = 0.8  # of the roll, so a roll of ballots / TURNOUT voters has ballots enough
VOTING_TIME = "2024-11-05T12:00:00.000000Z"
# the broker stamps each ballot when it arrives: polls wide enough for any run of the benchmark
POLLS = ("2024-11-05T07:00:00Z", "2100-01-01T00:00:00Z")


def log(message: str) -> None:
    print(f"[tally_throughput] {message}", flush=True)


def bench_url() -> str:
    base = setting("DATABASE_URL")
    parts = urlsplit(base)
    return parts._replace(path=f"/{BENCH_DB}").geturl()


def ensure_database() -> str:
    base = setting("DATABASE_URL")
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    url = bench_url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES)
    return url


@dataclass(frozen=True)
class BallotLog:
    """What was put on the topic, and the result the rules must give."""

    messages: int
    counted: int
    rejected: int
    selections: int = 0  # contests marked across the messages (a seed ballot's: its one)


def make_roll(n_voters: int, seed: int = 2024) -> pa.Table:
    """The offline roll of n voters (election.roll): ids, states and counties."""
    return roll.generate_voters(n_voters, seed=seed, election_day=ELECTION_DAY).select(
        ["voter_id", "address_state", "address_county", "county_fips"]
    )


def roll_size(n_ballots: int) -> int:
    """Voters enough for n ballots at the plan's turnout, which varies by state."""
    return round(n_ballots / TURNOUT * 1.25)


def bench_definition() -> Definition:
    """The default election, its national contest's choices the benchmark's candidates."""
    return with_national_choices(
        default_election(), [(c, f"Candidate {c}", f"Party {c}") for c in CANDIDATES]
    )


def register(url: str, roll: pa.Table, definition: Definition | None) -> None:
    """The roll (COPY) unless already there, the candidates, the definition, a closed election."""
    with psycopg.connect(url, autocommit=True) as conn:
        (registered,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        if registered != roll.num_rows:
            log(f"registering {roll.num_rows:,} voters")
            conn.execute("TRUNCATE voters, candidates, elections")
            n = roll.num_rows
            table = pa.table(
                {
                    "voter_id": roll["voter_id"],
                    "voter_name": pa.array(["Bench Voter"] * n),
                    "date_of_birth": pa.array(["1980-01-01"] * n),
                    "registration_number": pa.array([f"BR{i:09d}" for i in range(n)]),
                    "address_state": roll["address_state"],
                    "address_county": roll["address_county"],
                    "county_fips": roll["county_fips"],
                }
            )
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
            columns = ", ".join(table.column_names)
            with conn.cursor().copy(f"COPY voters ({columns}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
        conn.execute("DELETE FROM candidates")
        for c in CANDIDATES:
            conn.execute(
                "INSERT INTO candidates (candidate_id, candidate_name, party_affiliation) "
                "VALUES (%s, %s, %s)",
                (c, f"Candidate {c}", f"Party {c}"),
            )
        conn.execute("DELETE FROM elections")
        if definition is not None:
            write_definition(conn, definition)
        else:
            conn.execute("TRUNCATE contest_choices, contests, districts CASCADE")
        conn.execute(
            "INSERT INTO elections (name, status, polls_opened_at, polls_closed_at) "
            "VALUES ('benchmark', 'closed', %s, %s)",
            POLLS,
        )
        conn.execute("ANALYZE voters")


def expected_log(n: int) -> BallotLog:
    """The counts ballot_messages(n) produces: every first ballot counts, the rest are rejected."""
    first = n - round(n * 0.02) - round(n * 0.01)
    return BallotLog(messages=n, counted=first, rejected=n - first, selections=n)


def ballot_messages(roll: pa.Table, n: int, seed: int = 7) -> tuple[list, list, BallotLog]:
    """Keys and values of n ballots: 2% repeat attempts, 1% invalid, the rest first ballots."""
    rng = np.random.default_rng(seed)
    duplicates, invalid = round(n * 0.02), round(n * 0.01)
    first = n - duplicates - invalid
    if first > roll.num_rows:
        raise ValueError(f"{first:,} first ballots need a roll of at least that many voters")
    voters = np.array(roll["voter_id"].to_pylist(), dtype=object)
    chosen = voters[rng.permutation(len(voters))[:first]]
    again = chosen[rng.integers(0, first, duplicates)]
    candidates = np.array(CANDIDATES, dtype=object)
    keys = list(chosen) + list(again)
    choice = candidates[rng.integers(0, len(CANDIDATES), first + duplicates)]
    values = [
        b'{"vote_id":"v%d","voter_id":"%s","candidate_id":"%s","voting_time":"%s"}'
        % (i, k.encode(), c.encode(), VOTING_TIME.encode())
        for i, (k, c) in enumerate(zip(keys, choice, strict=True))
    ]
    quarter = invalid // 4
    for j in range(invalid):  # unknown voter, unknown candidate, polls closed, malformed
        kind = min(j // max(quarter, 1), 3)
        voter = f"stranger-{j}" if kind == 0 else str(chosen[j])
        candidate = "cand-unknown" if kind == 1 else CANDIDATES[0]
        moment = "2024-11-04T12:00:00Z" if kind == 2 else VOTING_TIME
        value = (
            b"{broken ballot %d" % j
            if kind == 3
            else json.dumps(
                {
                    "vote_id": f"x{j}",
                    "voter_id": voter,
                    "candidate_id": candidate,
                    "voting_time": moment,
                }
            ).encode()
        )
        keys.append(voter)
        values.append(value)
    order = rng.permutation(len(keys))
    keys = [keys[i] for i in order]
    values = [values[i] for i in order]
    return keys, values, expected_log(n)


def selections_messages(roll: pa.Table, n: int, seed: int = 7) -> tuple[list, list, BallotLog]:
    """The first n ballots of the default election's voting day for the roll, as sent.

    The generator's plan (election.turnout) with 3% problem ballots: repeat attempts (the
    poll book's duplicates), choices the contest does not hold, contests off the voter's style.
    """
    plan = turnout.plan_election(
        roll["voter_id"].to_numpy(zero_copy_only=False),
        roll["address_state"].to_numpy(zero_copy_only=False),
        CANDIDATES,
        seed=seed,
        turnout=TURNOUT,
        problem_share=0.03,
        contests=bench_definition().contests,
        voter_counties=roll["county_fips"].to_numpy(zero_copy_only=False),
    )
    if len(plan) < n:
        raise ValueError(f"{n:,} ballots need a larger roll than {roll.num_rows:,} voters")
    plan = plan.slice(0, n)  # in time order: a repeat attempt comes after the ballot it repeats
    values = ballots.encode_selection_ballots(
        plan.vote_id, plan.voter_id, plan.selections.fragments(), VOTING_TIME
    )
    counted = int((plan.kind == turnout.BALLOT).sum())
    marked = int((plan.selections.codes >= 0).sum())
    return list(plan.voter_id), values, BallotLog(n, counted, n - counted, marked)


def topic_size(bootstrap: str, topic: str) -> int:
    return sum(end - first for first, end in committed_offsets(bootstrap, topic).values())


def ballot_topic(shape: str, n_voters: int) -> str:
    """The topic a shape's ballots for a roll of n voters are kept in between runs."""
    return f"bench_tally_{shape}_{n_voters}"


def fill_topic(bootstrap: str, keys: list, values: list, topic: str) -> None:
    topics.provide_topics(bootstrap, [topic], 4, empty=True, timeout=60)  # a ballot log's settings
    producer = Producer(
        producer_config(
            bootstrap,
            **{
                "linger.ms": 50,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 2_000_000,
            },
        )
    )
    for key, value in zip(keys, values, strict=True):
        while True:
            try:
                producer.produce(topic, value, key.encode())
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(120):
        raise RuntimeError("ballots not delivered")


def prepare(n_ballots: int, shape: str) -> tuple[str, str, BallotLog]:
    """The bench database and the shape's ballot topic, rebuilt only when they do not match.

    Returns the database's URL, the topic and what the rules must make of the ballots.
    """
    bootstrap = setting("KAFKA_BOOTSTRAP_SERVERS")
    url = ensure_database()
    voters = make_roll(roll_size(n_ballots))
    register(url, voters, bench_definition() if shape == "selections" else None)
    make = selections_messages if shape == "selections" else ballot_messages
    topic = ballot_topic(shape, voters.num_rows)
    if topic_size(bootstrap, topic) != n_ballots:
        log(f"producing {n_ballots:,} {shape} ballots to {topic}")
        keys, values, expected = make(voters, n_ballots)
        fill_topic(bootstrap, keys, values, topic)
        return url, topic, expected
    if shape == "selections":
        return url, topic, make(voters, n_ballots)[2]
    return url, topic, expected_log(n_ballots)


def live_tally_command(
    topic: str, results_prefix: str, checkpoint: str, query_name: str, extra: list[str]
) -> list[str]:
    """The live tally as the benchmarks run it: on its own topic, results and checkpoint."""
    return [
        sys.executable,
        "-m",
        "spark_jobs.live_tally",
        "--until-drained",
        "--topic",
        topic,
        "--results-prefix",
        results_prefix,
        "--checkpoint",
        checkpoint,
        "--query-name",
        query_name,
        *extra,
    ]


def truncate_ledger(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(schema.TALLY_TABLES))


@dataclass
class Run:
    messages: int
    seconds: float
    batches: int
    wall_s: float
    code: int

    @property
    def per_s(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def run_timed(command: list[str], env: dict, expected_messages: int, label: str) -> Run:
    """Run a Spark application; time from its "started" line to its last batch line."""
    began = time.monotonic()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started = last = None
    messages = batches = 0
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        now = time.monotonic()
        tail = (tail + [line.rstrip()])[-30:]
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        kind = event.get("event")
        if kind == "started":
            started = now
        elif kind == "progress":
            batches += 1
            messages += int(event.get("messages") or 0)
            last = now
            phases = ", ".join(f"{k} {v}" for k, v in event.items() if k.endswith("_ms"))
            log(f"{label}: batch {event['batch_id']}, {messages:,} messages so far; {phases}")
        elif kind == "drained":
            last = now
    code = process.wait()
    if code != 0 or started is None or last is None:
        print("\n".join(tail), flush=True)
        raise RuntimeError(f"{label} exited with {code}")
    return Run(messages, last - started, batches, time.monotonic() - began, code)


def check_ledger(url: str, expected: BallotLog) -> bool:
    with psycopg.connect(url) as conn:
        counted = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()[0]
        ledger = conn.execute("SELECT count(*) FROM ballots").fetchone()[0]
        rejected = conn.execute("SELECT count(*) FROM rejected_ballots").fetchone()[0]
        # every counted ballot is one in the national contest's totals (a blank or overvoted
        # national contest too: the seed's totals per candidate leave those out)
        totals = conn.execute(
            "SELECT coalesce(sum(ballots), 0) FROM contest_totals "
            "WHERE contest_id = %s AND district_id = %s",
            (NATIONAL_CONTEST, NATION),
        ).fetchone()[0]
    ok = counted == ledger == totals == expected.counted and rejected == expected.rejected
    log(
        f"ledger check: {counted:,} in the poll book, {ledger:,} ballots, {totals:,} in the "
        "national contest's totals, "
        f"{rejected:,} rejected (expected {expected.counted:,} and {expected.rejected:,}): "
        + ("exact" if ok else "WRONG")
    )
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Tally throughput benchmark")
    parser.add_argument("--ballots", type=int, default=DEFAULT_BALLOTS)
    parser.add_argument("--shape", choices=SHAPES, default="selections")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=500_000)
    parser.add_argument("--skip-references", action="store_true")
    args = parser.parse_args(argv)
    bootstrap = setting("KAFKA_BOOTSTRAP_SERVERS")
    sources.check_postgres(setting("DATABASE_URL"), election_tables=False)  # it makes its own
    sources.check_kafka(bootstrap)
    url, topic, expected = prepare(args.ballots, args.shape)
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "SPARK_MASTER": "local[2]"}
    per_trigger = ["--max-offsets-per-trigger", str(args.max_offsets_per_trigger)]
    references = {}
    if not args.skip_references:
        for what in ("copy", "tally"):
            topics.delete_topics(bootstrap, wait=30, names=[f"{topic}.{what}"])
            command = [
                sys.executable,
                "-m",
                "benchmarks._naive_tally",
                what,
                "--topic",
                topic,
                *per_trigger,
            ]
            run = run_timed(command, env, args.ballots, f"naive {what}")
            topics.delete_topics(
                bootstrap, wait=30, names=[f"{topic}.{what}"]
            )  # a copy is as large as the log
            references[what] = run
            log(
                f"naive {what}: {run.messages:,} messages in {run.seconds:.1f} s = {run.per_s:,.0f}/s"
            )
    truncate_ledger(url)
    topics.delete_topics(
        bootstrap, wait=30, names=[RESULTS_PREFIX + t for t in contract.PUBLISHED_TOPICS]
    )
    with tempfile.TemporaryDirectory(prefix="bench_tally_") as checkpoint:
        command = live_tally_command(topic, RESULTS_PREFIX, checkpoint, "bench_tally", per_trigger)
        ours = run_timed(command, env, args.ballots, "live tally")
    log(f"live tally: {ours.messages:,} messages in {ours.seconds:.1f} s = {ours.per_s:,.0f}/s")
    exact = check_ledger(url, expected)
    naive_per_s = references["tally"].per_s if references else None
    result = {
        "benchmark": "tally_throughput",
        "ballots": args.ballots,
        "shape": args.shape,
        "selections": expected.selections,
        "selections_per_s": round(expected.selections / ours.seconds) if ours.seconds else None,
        "votes_per_s": round(ours.per_s),
        "naive_per_s": round(naive_per_s) if naive_per_s else None,
        "copy_per_s": round(references["copy"].per_s) if references else None,
        "baseline": round(naive_per_s) if naive_per_s else None,
        "ratio": round(ours.per_s / naive_per_s, 3) if naive_per_s else None,
        "batches": ours.batches,
        "max_offsets_per_trigger": args.max_offsets_per_trigger,
        "tally_s": round(ours.seconds, 1),
        "tally_wall_s": round(ours.wall_s, 1),
        "exact": exact,
    }
    print(json.dumps(result), flush=True)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(run_alone(main))
