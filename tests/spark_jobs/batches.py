"""Micro-batches for the tally's part tests: real messages on a real topic, judged by the real rules."""

from __future__ import annotations

import time

from election import contract
from election_io import topics
from election_io.elections import read_election_now
from spark_jobs import batch_judging, sources
from spark_jobs.ledger_writer import LedgerWriter
from spark_jobs.tally_options import Options


def options(database_url: str, bootstrap: str, topic: str, query_name: str = "q") -> Options:
    return Options(
        topic=topic,
        query_name=query_name,
        checkpoint="",
        trigger_ms=0,
        max_offsets_per_trigger=0,
        until_drained=True,
        master="local[2]",
        database_url=database_url,
        bootstrap=bootstrap,
        results_prefix=f"{topic}.",
        shuffle_partitions=None,
        topic_partitions=sources.VOTES_PARTITIONS,
    )


def result_topics(opts: Options) -> list[str]:
    return [opts.result_topic(t) for t in contract.PUBLISHED_TOPICS]


def create_result_topics(opts: Options) -> None:
    topics.ensure_tally_topics(opts.bootstrap, opts.topic, 1, opts.results_prefix)


class Judge:
    """The live tally's judging over the roll and candidates of a database."""

    def __init__(self, spark, database_url: str, partitions: int):
        self.spark = spark
        # partitions: the ballot topic's count, which places every ballot
        self.judging, self.candidates = batch_judging.BatchJudging.read(
            spark, database_url, partitions
        )
        self.contests = self.judging.contests

    def __call__(self, messages, batch_id, window, started):
        return batch_judging.judge(messages, batch_id, window, started, self.judging)

    def batch(self, opts: Options, conn, batch_id: int, offsets: dict[int, tuple[int, int]]):
        """Judge the messages between offsets ({partition: (first, end)}) as micro-batch batch_id."""
        messages = sources.kafka_batch(self.spark, opts.bootstrap, opts.topic, offsets)
        return self(messages, batch_id, read_election_now(conn), time.monotonic())

    def commit_each(self, opts: Options, sent) -> None:
        """Each list of produced messages judged as one micro-batch, in order, and committed and
        published by the live tally's ledger writer, then its contest results that wait sent,
        as the tally sends them before it stops."""
        writer = LedgerWriter(opts, None)
        writer.roll_loaded(self.candidates, self.contests)
        try:
            for batch_id, part in enumerate(sent):
                offsets = split(part, len(part))[0]
                writer.commit_and_publish(self.batch(opts, writer.conn, batch_id, offsets))
            writer.publish_waiting_details(force=True)
        finally:
            writer.close()


def split(placed, at: int) -> tuple[dict, dict]:
    """Offsets of the placed messages before and from the at-th one (produced order)."""
    before: dict[int, list[int]] = {}
    after: dict[int, list[int]] = {}
    for i, (partition, offset, *_) in enumerate(placed):
        (before if i < at else after).setdefault(partition, []).append(offset)

    def ranges(found):
        return {p: (min(o), max(o) + 1) for p, o in found.items()}

    return ranges(before), ranges(after)
