"""The live tally's command line and environment, read once into Options."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from election import contract
from election.settings import setting
from election_io.spark_setup import ROOT
from spark_jobs import judging, sources

PROG = "python -m spark_jobs.live_tally"
DESCRIPTION = (
    "The live tally: votes_topic -> validate -> one vote per voter -> ledger, poll book, "
    "result topics."
)
DEFAULT_CHECKPOINT = ROOT / ".stack" / "checkpoints" / "live_tally"
# What one batch may bring to the driver: every message's record is bounded in bytes
# (judging.RECORD_BYTES, plus registered ids and fixed columns), so this bounds the offsets.
MESSAGE_BYTES = judging.RECORD_BYTES + 512


@dataclass(frozen=True)
class Options:
    topic: str
    query_name: str
    checkpoint: str
    trigger_ms: int
    max_offsets_per_trigger: int
    until_drained: bool
    master: str
    database_url: str
    bootstrap: str
    results_prefix: str
    shuffle_partitions: int | None
    topic_partitions: int
    pipeline: bool = True
    detail_every_ms: int = 0  # least time between two sends of the contest results
    warm_up_ballots: int = 0  # made-up ballots judged before the log is read

    def result_topic(self, name: str) -> str:
        return self.results_prefix + name


def parse_args(argv=None) -> Options:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    parser.add_argument(
        "--checkpoint", default=setting("TALLY_CHECKPOINT") or str(DEFAULT_CHECKPOINT)
    )
    parser.add_argument(
        "--until-drained",
        action="store_true",
        help="stop once the polls are closed and every ballot is tallied",
    )
    parser.add_argument(
        "--trigger-ms",
        type=int,
        default=setting("TALLY_TRIGGER_MS"),
    )
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=setting("TALLY_MAX_OFFSETS"),
    )
    parser.add_argument(
        "--max-batch-bytes",
        type=int,
        default=setting("TALLY_MAX_BATCH_BYTES"),
        help="bytes a micro-batch may bring to the driver; caps --max-offsets-per-trigger",
    )
    parser.add_argument(
        "--query-name",
        default="live_tally",
        help="names this checkpoint's run of the count; a new name resumes where the ledger stands",
    )
    parser.add_argument("--topic", default=setting("TALLY_VOTES_TOPIC") or contract.VOTES_TOPIC)
    parser.add_argument(
        "--results-prefix",
        default=setting("TALLY_RESULTS_PREFIX"),
        help="prefix of the result topics' names (tests)",
    )
    parser.add_argument("--master", help="default: SPARK_MASTER (or spark-submit's)")
    parser.add_argument(
        "--shuffle-partitions", type=int, help="default: SPARK_SHUFFLE_PARTITIONS or one per core"
    )
    parser.add_argument(
        "--topic-partitions",
        type=int,
        default=sources.VOTES_PARTITIONS,
        help="partitions of votes_topic if the tally creates it",
    )
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        default=not setting("TALLY_PIPELINE"),
        help="commit each batch before Spark judges the next (slower; no pending records)",
    )
    parser.add_argument(
        "--detail-every-ms",
        type=int,
        default=setting("TALLY_DETAIL_EVERY_MS"),
        help="least time between two sends of the contest results and race calls "
        "(the national results follow every batch)",
    )
    parser.add_argument(
        "--warm-up-ballots",
        type=int,
        default=setting("TALLY_WARM_UP_BALLOTS"),
        help="made-up ballots judged before the log is read, so the first batch runs warm",
    )
    args = parser.parse_args(argv)
    return Options(
        topic=args.topic,
        query_name=args.query_name,
        checkpoint=args.checkpoint,
        trigger_ms=args.trigger_ms,
        max_offsets_per_trigger=bounded_offsets(args.max_offsets_per_trigger, args.max_batch_bytes),
        until_drained=args.until_drained,
        master=args.master,
        database_url=setting("DATABASE_URL"),
        bootstrap=setting("KAFKA_BOOTSTRAP_SERVERS"),
        results_prefix=args.results_prefix,
        shuffle_partitions=args.shuffle_partitions,
        topic_partitions=args.topic_partitions,
        pipeline=not args.no_pipeline,
        detail_every_ms=args.detail_every_ms,
        warm_up_ballots=args.warm_up_ballots,
    )


def bounded_offsets(requested: int, batch_bytes: int) -> int:
    """maxOffsetsPerTrigger within the driver's byte budget (0 or less asks for the budget)."""
    budget = max(1, batch_bytes // MESSAGE_BYTES)
    return min(requested, budget) if requested > 0 else budget
