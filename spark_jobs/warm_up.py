"""Made-up ballots the live tally judges once, before it reads the log.

A Spark session pays for its first judging: the Python workers of the Arrow UDFs, the plan's
generated code, the JVM's first calls into jvm/. Paid by the first real batch, that cost is a
backlog every ballot behind it waits out. The made-up voters live at the roll's own homes and
mark a choice in every contest of their ballot style, so the JVM's whole verdict runs, but they
are looked up in an index of their own (never the roll's), and nothing is committed or
published: only the time is spent, while the polls are not yet busy.

Judged from a table, the ballots warm the judging but not the log's own road into it: Spark's
Kafka source, its consumers, and the stream's first micro-batch cost the first real batch
another second. So the same made-up ballots then go through a topic of their own
(`<results prefix>tally_warm_up`, an hour's retention; never the ballot log) and a stream read
from it, once, batch by batch as the live tally reads the log.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from datetime import UTC, datetime

import pyarrow as pa
from confluent_kafka import Producer

from election.ballots import encode_selection_ballots, utc_iso
from election.contest_totals import ContestTotals
from election.partitioning import murmur2_partition
from election_io import topics
from election_io.elections import ElectionNow
from election_io.producers import producer_config
from spark_jobs import batch_judging, drain, jvm_judging, sources
from spark_jobs.batch_judging import BatchJudging

ROUNDS = 2  # the second round meets code the first one has compiled
SPACED = 10  # one message in this many is spaced out: not a plain form, judged in Python
VOTER = "warm-up-{}"  # made-up voters, in an index of their own
TOPIC = "tally_warm_up"  # their topic, after the results prefix
TOPIC_CONFIG = {"retention.ms": str(3_600_000), "message.timestamp.type": "LogAppendTime"}
STREAM_BATCHES = 2  # micro-batches of the made-up stream


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


def made_up_messages(voters, partitions: int) -> list[tuple[bytes, bytes, int]]:
    """The made-up voters' ballots (key, value, partition) in the generator's plain form (but
    one in SPACED, which the JVM leaves to Python: its workers start here too), each on its
    key's partition."""
    values = encode_selection_ballots(
        [f"w{i}" for i in range(len(voters))],
        [voter for voter, _home, _marks in voters],
        pa.array([marks for _voter, _home, marks in voters], pa.string()),
        utc_iso(datetime.now(UTC)),
    )
    messages = []
    for i, ((voter, _home, _marks), value) in enumerate(zip(voters, values, strict=True)):
        key = voter.encode()
        value = _spaced(value) if i % SPACED == 0 else value
        messages.append((key, value, murmur2_partition(key, partitions)))
    return messages


def made_up_batch(spark, voters, topic: str, partitions: int):
    """The made-up ballots as Spark's Kafka source would hand them over."""
    received = datetime.now(UTC).replace(tzinfo=None)  # the session is in UTC
    rows = [
        (key, value, topic, partition, i, received, 1)
        for i, (key, value, partition) in enumerate(made_up_messages(voters, partitions))
    ]
    return spark.createDataFrame(rows, sources.KAFKA_SCHEMA)


def made_up_roll(spark, voters) -> jvm_judging.RollLookup:
    """The made-up voters' own index, built as the roll's is (release it after)."""
    index = spark.createDataFrame(
        [(voter, *home) for voter, home, _marks in voters],
        "voter_id string, address_state string, county_fips string",
    )
    return jvm_judging.roll_lookup(spark, index)


def warm_up(
    spark,
    judging: BatchJudging,
    window: ElectionNow,
    topic: str,
    n: int,
    bootstrap: str | None = None,
    prefix: str = "",
) -> None:
    """Judge n made-up ballots ROUNDS times by the live tally's own judging
    (batch_judging.judge), the made-up voters' index in the roll's place (n of 0: no warm-up);
    with bootstrap, then once more as a stream from their own topic (prefix + TOPIC)."""
    if n <= 0:
        return
    started = time.monotonic()
    voters = made_up_voters(judging, n)
    roll = made_up_roll(spark, voters)
    partitions = max(judging.partitions, 1)
    warm = dataclasses.replace(judging, roll=roll)  # with its own columns
    try:
        batch = made_up_batch(spark, voters, topic, partitions)
        for _ in range(ROUNDS):
            batch_judging.judge(batch, -1, window, time.monotonic(), warm)
        if bootstrap is not None:
            try:
                streamed = warm_stream(spark, warm, window, bootstrap, prefix + TOPIC, voters)
            except Exception as error:  # a faster first batch is worth no failed start
                streamed = f"skipped: {type(error).__name__}: {str(error)[:200]}"
    finally:
        roll.release()
    seconds = round(time.monotonic() - started, 2)
    event = {"event": "warmed_up", "seconds": seconds}
    if bootstrap is not None:
        event["streamed"] = streamed
    drain.emit(event)


def warm_stream(spark, warm: BatchJudging, window, bootstrap: str, topic: str, voters) -> int:
    """The made-up ballots sent to their topic and judged from a stream of it, in
    STREAM_BATCHES micro-batches (from where they begin: earlier warm-ups' are left alone);
    returns how many were judged."""
    partitions = max(warm.partitions, 1)
    topics.ensure_topics(bootstrap, [topic], partitions, config=TOPIC_CONFIG)
    partitions = topics.partition_count(bootstrap, topic)  # as made by an earlier count
    firsts: dict[int, int] = {}

    def delivered(err, msg) -> None:
        if err is None:
            firsts[msg.partition()] = min(firsts.get(msg.partition(), msg.offset()), msg.offset())

    producer = Producer(producer_config(bootstrap))
    for key, value, partition in made_up_messages(voters, partitions):
        producer.produce(topic, value, key, partition=partition, on_delivery=delivered)
    if producer.flush(30) or len(firsts) < partitions:
        return 0  # not delivered everywhere: the table's warm-up has to do
    judged = [0]

    def judge(batch_df, batch_id: int) -> None:
        outcome = batch_judging.judge(batch_df, batch_id, window, time.monotonic(), warm)
        judged[0] += outcome.outcome.num_rows

    per_batch = max(1, len(voters) // STREAM_BATCHES)
    stream = sources.kafka_stream(spark, bootstrap, topic, per_batch, starting=firsts)
    with tempfile.TemporaryDirectory(prefix="tally_warm_up_") as checkpoint:
        query = (
            stream.writeStream.option("checkpointLocation", checkpoint)
            .foreachBatch(judge)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination(120)
        query.stop()
    return judged[0]


def _spaced(value: bytes) -> bytes:
    """The same ballot, a space after its first field's name: well-formed, not a plain form."""
    return value.replace(b'":', b'": ', 1)
