"""Made-up ballots the live tally judges once, before it reads the log.

A Spark session pays for its first judging: the Python workers of the Arrow UDFs, the plan's
generated code, the JVM's first calls into jvm/. Paid by the first real batch, that cost is a
backlog every ballot behind it waits out. The made-up voters are on no roll, and nothing is
committed or published: only the time is spent, while the polls are not yet busy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from election.ballots import encode_selection_ballots, utc_iso
from election.contests import Contest
from election.partitioning import murmur2_partition
from spark_jobs import drain, sources

ROUNDS = 2  # the second round meets code the first one has compiled
SPACED = 10  # one message in this many is spaced out: not a plain form
VOTER = "warm-up-{}"  # made-up voters: whoever a roll holds, nothing judged here is kept


def made_up_batch(spark, contests: tuple[Contest, ...], topic: str, partitions: int, n: int):
    """n selections ballots in the generator's plain form (but one in SPACED, which the JVM
    leaves to Python: its workers start here too), each on its key's partition, as Spark's
    Kafka source would hand them over."""
    voters = [VOTER.format(i) for i in range(n)]
    marked = [c for c in contests if c.choices][:6]
    fragments = [
        ",".join(
            f"{json.dumps(c.contest_id)}:[{json.dumps(c.choices[i % len(c.choices)].choice_id)}]"
            for c in marked
        )
        for i in range(n)
    ]
    now = datetime.now(UTC)
    values = encode_selection_ballots(
        [f"w{i}" for i in range(n)], voters, pa.array(fragments, pa.string()), utc_iso(now)
    )
    received = now.replace(tzinfo=None)  # the session is in UTC
    rows = [
        (key, _spaced(value) if i % SPACED == 0 else value, topic)
        + (murmur2_partition(key, partitions), i, received, 1)
        for i, (key, value) in enumerate(zip((v.encode() for v in voters), values, strict=True))
    ]
    return spark.createDataFrame(rows, sources.KAFKA_SCHEMA)


def warm_up(spark, contests, topic: str, partitions: int, n: int, judge: Callable) -> None:
    """Judge a made-up batch of n ballots ROUNDS times with judge(batch_df), the live tally's
    own judging (n of 0: no warm-up)."""
    if n <= 0:
        return
    started = time.monotonic()
    batch = made_up_batch(spark, contests, topic, max(partitions, 1), n)
    for _ in range(ROUNDS):
        judge(batch)
    drain.emit({"event": "warmed_up", "seconds": round(time.monotonic() - started, 2)})


def _spaced(value: bytes) -> bytes:
    """The same ballot, a space after its first field's name: well-formed, not a plain form."""
    return value.replace(b'":', b'": ', 1)
