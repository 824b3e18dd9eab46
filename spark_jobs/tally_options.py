"""The live tally's command line and environment, read once into Options."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from election import contract
from election.settings import setting
from spark_jobs import sources
from spark_jobs.session import ROOT

PROG = "python -m spark_jobs.live_tally"
DESCRIPTION = (
    "The live tally: votes_topic -> validate -> one vote per voter -> ledger, poll book, "
    "result topics."
)
DEFAULT_CHECKPOINT = ROOT / ".stack" / "checkpoints" / "live_tally"
DEFAULT_MAX_OFFSETS = 200_000
DEFAULT_TRIGGER_MS = 0


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

    def result_topic(self, name: str) -> str:
        return self.results_prefix + name


def parse_args(argv=None) -> Options:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    parser.add_argument(
        "--checkpoint", default=os.environ.get("TALLY_CHECKPOINT", str(DEFAULT_CHECKPOINT))
    )
    parser.add_argument(
        "--until-drained",
        action="store_true",
        help="stop once the polls are closed and every ballot is tallied",
    )
    parser.add_argument(
        "--trigger-ms",
        type=int,
        default=int(os.environ.get("TALLY_TRIGGER_MS", DEFAULT_TRIGGER_MS)),
    )
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=int(os.environ.get("TALLY_MAX_OFFSETS", DEFAULT_MAX_OFFSETS)),
    )
    parser.add_argument(
        "--query-name",
        default="live_tally",
        help="names this checkpoint's run of the count; a new name resumes where the ledger stands",
    )
    parser.add_argument(
        "--topic", default=os.environ.get("TALLY_VOTES_TOPIC", contract.VOTES_TOPIC)
    )
    parser.add_argument(
        "--results-prefix",
        default=os.environ.get("TALLY_RESULTS_PREFIX", ""),
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
        default=os.environ.get("TALLY_PIPELINE", "1") == "0",
        help="commit each batch before Spark judges the next (slower; no pending records)",
    )
    args = parser.parse_args(argv)
    return Options(
        topic=args.topic,
        query_name=args.query_name,
        checkpoint=args.checkpoint,
        trigger_ms=args.trigger_ms,
        max_offsets_per_trigger=args.max_offsets_per_trigger,
        until_drained=args.until_drained,
        master=args.master,
        database_url=setting("DATABASE_URL"),
        bootstrap=setting("KAFKA_BOOTSTRAP_SERVERS"),
        results_prefix=args.results_prefix,
        shuffle_partitions=args.shuffle_partitions,
        topic_partitions=args.topic_partitions,
        pipeline=not args.no_pipeline,
    )
