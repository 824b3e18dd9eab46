"""The live tally: votes_topic -> validate -> one vote per voter -> ledger, poll book, result topics.

    python -m spark_jobs.live_tally [--checkpoint DIR] [--until-drained] [--trigger-ms N]
        [--max-offsets-per-trigger N] [--query-name NAME] [--topic NAME] [--master URL]
        [--results-prefix P] [--no-pipeline]

This module is the query loop: each micro-batch is judged in Spark by the shared rules
and collected with Arrow (batch_judging), then handed to the ledger
writer's thread (ledger_writer), which commits and publishes it while Spark judges the next.
A batch is recorded beside the checkpoint before Spark moves past it (pending), so a crash
loses nothing (recovery); drain says when the count has caught up. One JSON progress line
per batch goes to stdout.

Exit codes (election_io.tally_exit): 0 stopped cleanly (drained, SIGTERM or SIGINT), 1 the query
failed (the next start resumes), 2 a service, the schema or the jars are missing, 3 the
checkpoint and the ledger disagree, 4 another live tally holds the poll book (it counts; this
one stops).
"""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import time

from election import contract
from election_io import topics
from election_io.elections import ElectionNow, read_election_now
from election_io.tally_exit import BUSY, FAILED, MISSING_SERVICE, OK, STATE_MISMATCH
from spark_jobs import (
    batch_judging,
    drain,
    launch,
    ledger,
    pending,
    pipes,
    recovery,
    sources,
    warm_up,
)
from spark_jobs.batch_judging import BatchJudging
from spark_jobs.ledger_writer import LedgerWriter
from spark_jobs.recovery import StateMismatch
from spark_jobs.session import SetupError, build_session
from spark_jobs.tally_options import Options, parse_args

DRAIN_CHECK_S = 2.0


class PollBookBusy(Exception):
    """Another live tally holds this database's poll book: it is counting, this one stops."""


class LiveTally:
    """The streaming query and what each micro-batch does before the writer takes it."""

    def __init__(self, spark, options: Options):
        self.spark = spark
        self.options = options
        self.reader = ledger.connect(options.database_url)  # the micro-batch thread's
        # pending records are always recovered; they are written only when pipelining
        usable = pending.PendingBatches.usable(options.checkpoint)
        self.pending = pending.PendingBatches(options.checkpoint) if usable else None
        self.pipelined = options.pipeline and self.pending is not None
        self.writer = LedgerWriter(options, self.pending)
        self.watch = drain.DrainWatch(options.database_url, options.bootstrap, options.topic)
        self.partitions = 0  # votes_topic's partition count, fixed once the polls open
        self.judging: BatchJudging | None = None  # read with the roll (load_roll)
        self.roll_key = None
        self.query = None
        self.stop_requested = False

    # --- start ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Schema, the one-writer lock, topics, the roll, then any batch a crash left pending."""
        conn = self.writer.conn
        deadline = time.monotonic() + 30  # a killed predecessor's session takes a moment to end
        while not ledger.try_lock_poll_book(conn):
            if time.monotonic() > deadline:
                raise PollBookBusy(
                    "another live tally is running: it holds the poll book of this database "
                    f"(advisory lock {ledger.TALLY_LOCK}); this one stops and counts nothing"
                )
            time.sleep(1)
        created = topics.ensure_tally_topics(
            self.options.bootstrap,
            self.options.topic,
            self.options.topic_partitions,
            self.options.results_prefix,
        )
        if created:
            drain.emit({"event": "topics_created", "topics": created})
        recovery.check_topic(self.reader, self.options.topic)
        problems = topics.verify_votes_topic(self.options.bootstrap, self.options.topic)
        if problems:  # e.g. CreateTime: a sender would choose when the ballot box got it
            raise StateMismatch("; ".join(problems))
        recovery.check_not_stale(
            self.reader, self.options.query_name, self.options.checkpoint, self.options.topic
        )
        self.partitions = len(self.watch.log.partitions())
        self.load_roll(read_election_now(self.reader))
        if self.pending is not None:
            recovery.recover_pending(
                self.spark,
                self.pending,
                self.reader,
                self.options.query_name,
                self.options.topic,
                self.options.bootstrap,
                self.judge,
                self.writer,
            )
        recovery.check_checkpoint(self.reader, self.options.query_name, self.options.checkpoint)
        warm_up.warm_up(  # made-up ballots, so the log's first batch runs warm
            self.spark,
            self.judging,
            read_election_now(self.reader),
            self.options.topic,
            self.options.warm_up_ballots,
            self.options.bootstrap,  # then through Spark's Kafka source, from their own topic
            self.options.results_prefix,
        )
        self.writer.hand_over(self.writer.publish_everything)
        self.writer.wait()

    def load_roll(self, window: ElectionNow) -> None:
        """Read the roll, candidates and contests once; again if the election changes or opens."""
        if self.judging is not None:
            self.judging.roll.release()
        started = time.monotonic()
        self.judging, candidates = BatchJudging.read(
            self.spark, self.options.database_url, self.partitions
        )
        registered = self.judging.roll.registered
        self.writer.roll_loaded(candidates, self.judging.contests)
        self.roll_key = (window.election_id, window.status == contract.REGISTRATION)
        drain.emit(
            {
                "event": "roll_loaded",
                "registered_voters": registered,
                "candidates": len(candidates),
                "contests": len(self.judging.contests),
                "election_id": window.election_id,
                "status": window.status,
                "seconds": round(time.monotonic() - started, 2),
            }
        )

    def roll_stale(self, window: ElectionNow) -> bool:
        """The roll is frozen once the polls open: reload only for a new election or at opening."""
        election_id, registering = self.roll_key
        return window.election_id != election_id or (
            registering and window.status != contract.REGISTRATION
        )

    def start(self):
        """Start the streaming query."""
        partitions = self.watch.log.partitions()
        starting = recovery.starting_offsets(self.reader, self.options.topic, partitions)
        stream = sources.kafka_stream(
            self.spark,
            self.options.bootstrap,
            self.options.topic,
            self.options.max_offsets_per_trigger,
            starting,
        )
        writer = (
            stream.writeStream.queryName(self.options.query_name)
            .option("checkpointLocation", self.options.checkpoint)
            .foreachBatch(self.process_batch)
            .trigger(processingTime=f"{self.options.trigger_ms} milliseconds")
        )
        self.query = writer.start()
        return self.query

    # --- one micro-batch ---------------------------------------------------------------------

    def process_batch(self, batch_df, batch_id: int) -> None:
        """Judge one micro-batch and hand it to the ledger writer (a replay is only re-published)."""
        started = time.monotonic()
        self.writer.raise_failure()  # a failed commit stops the query at the next batch
        window = read_election_now(self.reader)
        if self.roll_stale(window):
            self.load_roll(window)
        record = ledger.committed_batch(self.reader, self.options.query_name, batch_id)
        if record is not None:
            ranges = recovery.replayed_ranges(batch_df)
            recovery.check_replay(
                batch_id, ranges, record, self.options.topic, self.options.query_name
            )
            self.writer.hand_over(lambda: self.writer.republish(batch_id, record, window, started))
        else:
            judged = self.judge(batch_df, batch_id, window, started)
            if self.pipelined:
                self.pending.write(
                    pending.PendingBatch(batch_id, self.options.topic, judged.ranges)
                )
            self.writer.hand_over(lambda: self.writer.commit_and_publish(judged))
        if not self.pipelined:
            self.writer.wait()  # without a pending record, Spark must not move on first

    def judge(self, batch_df, batch_id: int, window: ElectionNow, started: float):
        return batch_judging.judge(batch_df, batch_id, window, started, self.judging)

    # --- supervision -------------------------------------------------------------------------

    def run(self) -> int:
        """Wait for the query; stop it on a signal or, with --until-drained, once drained."""
        while True:
            if self.query.awaitTermination(DRAIN_CHECK_S):
                self.writer.wait()
                return OK  # stopped from elsewhere; a failure raises instead
            if self.writer.failed():
                self.query.stop()
                self.writer.raise_failure()
            if self.stop_requested:
                drain.emit({"event": "stopping", "why": "signal"})
                break
            self.check_partitions()
            if self.writer.details_due() and not self.query.status.get("isTriggerActive"):
                # a quiet log's last contest results (a busy one's go with its next batch)
                self.writer.hand_over(self.writer.publish_waiting_details)
            if self.options.until_drained and self.watch.drained():
                # no batch follows the last one: call the races once more, the count complete
                self.writer.hand_over(self.writer.final_race_calls)
                self.writer.wait()
                drain.emit({"event": "stopping", "why": "drained"})
                break
        self.stop_gracefully()
        return OK

    def check_partitions(self) -> None:
        """Ballots are judged by votes_topic's partition count: it may not change mid-count."""
        now = len(self.watch.log.partitions())
        if now and now != self.partitions:
            self.query.stop()
            raise StateMismatch(
                f"{self.options.topic} went from {self.partitions} to {now} partitions during "
                "the count: a ballot's partition is fixed by that count once the polls open; "
                "certify what was counted and hold the next election on a new topic"
            )

    def stop_gracefully(self, wait_s: float = 60.0) -> None:
        """Let a running batch finish (it is transactional either way), then stop the query."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self.query.status.get("isTriggerActive"):
            time.sleep(0.1)
        self.query.stop()
        # the last handed-over batch is committed, and every contest result sent, before we exit
        self.writer.hand_over(lambda: self.writer.publish_waiting_details(force=True))
        self.writer.wait()

    def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            self.watch.close()
        with contextlib.suppress(Exception):
            self.reader.close()


def main(argv=None) -> int:
    options = parse_args(argv)
    reporter = pipes.use_pipes_if_launched()
    launch.die_with_parent()  # SIGTERM when the launcher dies: no orphan keeps counting
    try:
        return run_tally(options, reporter)
    finally:
        reporter.close()


def run_tally(options, reporter: pipes.Reporter) -> int:
    try:
        sources.check_postgres(options.database_url)
        sources.check_kafka(options.bootstrap)
        spark = build_session(
            f"live_tally:{options.query_name}",
            master=options.master,
            shuffle_partitions=options.shuffle_partitions,
            # micro-batches are planned every time: adaptive re-planning costs more than it saves
            extra_conf={
                "spark.sql.adaptive.enabled": "false",
                # messages judged in Python travel in Arrow batches bounded in bytes, not rows
                "spark.sql.execution.arrow.maxBytesPerBatch": str(64 << 20),
            },
        )
    except (sources.ServiceMissing, SetupError) as exc:
        reporter.error(f"live_tally: {exc}")
        return MISSING_SERVICE
    live = LiveTally(spark, options)

    def request_stop(signum, _frame):
        live.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        live.prepare()
        live.start()
        drain.emit(
            {
                "event": "started",
                "query_name": options.query_name,
                "topic": options.topic,
                "checkpoint": options.checkpoint,
            }
        )
        code = live.run()
        reporter.materialize(
            {"batches_this_run": live.writer.batches, "last_batch": live.writer.last_progress}
        )
        return code
    except PollBookBusy as exc:
        reporter.error(f"live_tally: {exc}")  # nothing is wrong: no cause to record
        return BUSY
    except StateMismatch as exc:
        return stopped_for_good(live, str(exc), reporter)
    except Exception as exc:
        if live.stop_requested:
            return (
                OK  # stopping anyway; every batch is transactional and resumes from the checkpoint
            )
        cause = _cause(exc)
        if isinstance(exc, StateMismatch) or "StateMismatch" in str(exc):
            return stopped_for_good(live, cause, reporter)
        reporter.error(f"live_tally: the query failed: {cause}")
        return FAILED
    finally:
        live.close()
        with contextlib.suppress(Exception):
            spark.stop()


def stopped_for_good(live: LiveTally, cause: str, reporter: pipes.Reporter) -> int:
    """No restart can help: say why, and write it down where the supervisor will look."""
    reporter.error(f"live_tally: {cause}")
    with contextlib.suppress(Exception):  # the cause is on stderr either way
        ledger.record_stop(live.reader, live.options.query_name, STATE_MISMATCH, cause)
    return STATE_MISMATCH


def _cause(exc: BaseException) -> str:
    """The innermost error's line (Spark wraps a batch's Python error in its own message)."""
    text = str(exc).strip()
    for line in text.splitlines():
        if "StateMismatch:" in line:
            return line.split("StateMismatch:", 1)[1].strip()
    raised = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^\s*[\w.]+(Error|Exception|Changed|Mismatch): ", line)
    ]
    if raised:
        return raised[-1]
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
