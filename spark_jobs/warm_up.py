"""Made-up ballots the live tally judges once, before it reads the log.

A Spark session pays for its first judging: the Python workers of the Arrow UDFs, the plan's
generated code, the JVM's first calls into jvm/. Paid by the first real batch, that cost is a
backlog every ballot behind it waits out. The made-up voters live at the roll's own homes and
mark a choice in every contest of their ballot style, so the JVM's whole verdict runs, but they
are looked up in an index of their own (never the roll's), and nothing is committed or
published: only the time is spent, while the polls are not yet busy.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pyarrow as pa

from election.ballots import encode_selection_ballots, utc_iso
from election.contest_totals import ContestTotals
from election.partitioning import murmur2_partition
from election_io.elections import ElectionNow
from spark_jobs import batch_judging, drain, jvm_judging, sources
from spark_jobs.batch_judging import BatchJudging

ROUNDS = 2  # the second round meets code the first one has compiled
SPACED = 10  # one message in this many is spaced out: not a plain form, judged in Python
VOTER = "warm-up-{}"  # made-up voters, in an index of their own


def made_up_voters(judging: BatchJudging, n: int) -> list[tuple[str, tuple, str]]:
    """n made-up voters, in turn at each of the roll's homes (on no roll when it has none), each
    with a selections fragment marking a choice in every contest of the home's style."""
    homes = sorted(judging.roll.homes, key=repr) or [(None, None)]
    totals = ContestTotals(judging.contests, ())
    marks = {}
    for home in homes:
        style = totals.style(home).adds if home[0] is not None else ()
        marks[home] = ",".join(
            f"{json.dumps(rule.contest.contest_id)}:[{json.dumps(rule.contest.choices[0].choice_id)}]"
            for rule, _rows in style
            if rule.contest.choices
        )
    return [
        (VOTER.format(i), homes[i % len(homes)], marks[homes[i % len(homes)]]) for i in range(n)
    ]


def made_up_batch(spark, voters, topic: str, partitions: int):
    """The made-up voters' ballots in the generator's plain form (but one in SPACED, which the
    JVM leaves to Python: its workers start here too), each on its key's partition, as Spark's
    Kafka source would hand them over."""
    now = datetime.now(UTC)
    values = encode_selection_ballots(
        [f"w{i}" for i in range(len(voters))],
        [voter for voter, _home, _marks in voters],
        pa.array([marks for _voter, _home, marks in voters], pa.string()),
        utc_iso(now),
    )
    received = now.replace(tzinfo=None)  # the session is in UTC
    rows = []
    for i, ((voter, _home, _marks), value) in enumerate(zip(voters, values, strict=True)):
        key = voter.encode()
        value = _spaced(value) if i % SPACED == 0 else value
        rows.append((key, value, topic, murmur2_partition(key, partitions), i, received, 1))
    return spark.createDataFrame(rows, sources.KAFKA_SCHEMA)


def made_up_roll(spark, voters) -> jvm_judging.RollLookup:
    """The made-up voters' own index, built as the roll's is (release it after)."""
    index = spark.createDataFrame(
        [(voter, *home) for voter, home, _marks in voters],
        "voter_id string, address_state string, county_fips string",
    )
    return jvm_judging.roll_lookup(spark, index)


def warm_up(spark, judging: BatchJudging, window: ElectionNow, topic: str, n: int) -> None:
    """Judge n made-up ballots ROUNDS times by the live tally's own judging
    (batch_judging.judge), the made-up voters' index in the roll's place (n of 0: no warm-up)."""
    if n <= 0:
        return
    started = time.monotonic()
    voters = made_up_voters(judging, n)
    roll = made_up_roll(spark, voters)
    try:
        batch = made_up_batch(spark, voters, topic, max(judging.partitions, 1))
        for _ in range(ROUNDS):
            batch_judging.judge(batch, -1, window, time.monotonic(), judging._replace(roll=roll))
    finally:
        roll.release()
    drain.emit({"event": "warmed_up", "seconds": round(time.monotonic() - started, 2)})


def _spaced(value: bytes) -> bytes:
    """The same ballot, a space after its first field's name: well-formed, not a plain form."""
    return value.replace(b'":', b'": ', 1)
