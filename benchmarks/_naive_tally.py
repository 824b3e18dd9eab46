"""The benchmark's references: the seed system's naive tally, and a plain copy of the ballot log.

    python -m benchmarks._naive_tally tally --topic NAME [--max-offsets-per-trigger N] [--trigger-ms N]
    python -m benchmarks._naive_tally copy --topic NAME [--max-offsets-per-trigger N] [--trigger-ms N]

The naive tally parses ballots and keeps running counts of every choice per (state, contest,
choice) - no validation, no one-vote rule, no ledger - as a built-in streaming aggregation to
Kafka. The
copy only moves the messages to another topic: the ceiling for this machine. Both stop once
they have read the topic up to its end at start, and print JSON progress lines like the tally.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from election import contract
from election.contests import NATIONAL_CONTEST
from election.settings import setting
from election_io import topics
from election_io.ballot_log import committed_offsets
from spark_jobs import sources
from spark_jobs.session import SetupError, build_session

_SCHEMA = T.StructType(
    [
        *[T.StructField(n, T.StringType()) for n in contract.BALLOT_FIELDS],
        T.StructField("selections", T.MapType(T.StringType(), T.ArrayType(T.StringType()))),
    ]
)


def naive_tally(kafka_df: DataFrame, roll: DataFrame) -> DataFrame:
    """Every choice counted as it comes: (address_state, contest_id, choice_id, total_votes).

    Nothing is checked: no well-formedness, ballot style, choice, polls or one-vote rule, no
    over- or undervote, no ledger. A seed ballot's choice counts in the national contest; a
    ranked contest's marks all count (a nested overvote reads as null and is dropped).
    """
    ballots = kafka_df.select(
        F.from_json(F.col("value").cast("string"), _SCHEMA).alias("b")
    ).select(
        "b.voter_id",
        F.coalesce(
            F.col("b.selections"),
            F.create_map(F.lit(NATIONAL_CONTEST), F.array(F.col("b.candidate_id"))),
        ).alias("selections"),
    )
    # the roll joined as a plain Spark program joins it: hash-partitioned by voter_id, cached
    # (the baseline of stop 29 unchanged; the live tally looks its voters up in a broadcast index)
    located = ballots.hint("shuffle_hash").join(roll, "voter_id")
    marks = located.select(
        "address_state", F.explode("selections").alias("contest_id", "choices")
    ).select("address_state", "contest_id", F.explode("choices").alias("choice_id"))
    return marks.groupBy("address_state", "contest_id", "choice_id").agg(
        F.count(F.lit(1)).alias("total_votes")
    )


def as_kafka_records(totals: DataFrame) -> DataFrame:
    return totals.select(
        F.concat_ws("|", "address_state", "contest_id", "choice_id").alias("key"),
        F.to_json(F.struct("address_state", "contest_id", "choice_id", "total_votes")).alias(
            "value"
        ),
    )


def _end_reached(query, topic: str, ends: dict[int, int]) -> bool:
    progress = query.lastProgress
    if not progress or not progress.get("sources"):
        return False
    end = progress["sources"][0].get("endOffset") or {}
    if isinstance(end, str):
        end = json.loads(end)
    seen = {int(p): int(o) for p, o in end.get(topic, {}).items()}
    return all(seen.get(p, -1) >= e for p, e in ends.items())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks._naive_tally", description=__doc__.split("\n")[0]
    )
    parser.add_argument("what", choices=["tally", "copy"])
    parser.add_argument("--topic", required=True)
    parser.add_argument("--out-topic", help="where the results (or the copy) go")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=500_000)
    parser.add_argument("--trigger-ms", type=int, default=0)
    parser.add_argument("--master", help="default: SPARK_MASTER (or spark-submit's)")
    args = parser.parse_args(argv)
    database_url, bootstrap = setting("DATABASE_URL"), setting("KAFKA_BOOTSTRAP_SERVERS")
    try:
        sources.check_kafka(bootstrap)
        if args.what == "tally":
            sources.check_postgres(database_url)
        spark = build_session(f"naive_{args.what}", master=args.master)
    except (sources.ServiceMissing, SetupError) as exc:
        print(f"naive: {exc}", file=sys.stderr)
        return 2
    out_topic = args.out_topic or f"{args.topic}.{args.what}"
    # the brokers create no topic by accident: the results (or the copy) get theirs here
    partitions = len(committed_offsets(bootstrap, args.topic)) or 1
    compacted = {"cleanup.policy": "compact"} if args.what == "tally" else {}
    topics.ensure_topics(bootstrap, [out_topic], partitions, config=compacted)
    checkpoint = tempfile.mkdtemp(prefix=f"naive_{args.what}_")
    try:
        ends = {p: end for p, (_, end) in committed_offsets(bootstrap, args.topic).items()}
        stream = sources.kafka_stream(spark, bootstrap, args.topic, args.max_offsets_per_trigger)
        if args.what == "tally":
            partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
            voters = sources.read_roll(spark, database_url)  # voter_id, state, county
            roll = voters.repartition(partitions, "voter_id").cache()
            roll.count()
            records = as_kafka_records(naive_tally(stream, roll))
            mode = "update"
        else:
            records = stream.select("key", "value")
            mode = "append"
        query = (
            records.writeStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("topic", out_topic)
            .option("checkpointLocation", checkpoint)
            .outputMode(mode)
            .trigger(processingTime=f"{args.trigger_ms} milliseconds")
            .start()
        )
        print(
            json.dumps({"event": "started", "what": args.what, "messages": sum(ends.values())}),
            flush=True,
        )
        last_batch = -1
        while not _end_reached(query, args.topic, ends):
            time.sleep(0.05)
            progress = query.lastProgress
            if progress and progress["batchId"] != last_batch:
                last_batch = progress["batchId"]
                print(
                    json.dumps(
                        {
                            "event": "progress",
                            "batch_id": last_batch,
                            "messages": progress["numInputRows"],
                            "batch_ms": progress["durationMs"].get("triggerExecution"),
                        }
                    ),
                    flush=True,
                )
        print(json.dumps({"event": "drained", "what": args.what}), flush=True)
        query.stop()
        return 0
    finally:
        spark.stop()
        shutil.rmtree(checkpoint, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
