"""The live tally: votes_topic -> validate -> one vote per voter -> ledger, poll book, result topics.

    python -m spark_jobs.live_tally [--checkpoint DIR] [--until-drained] [--trigger-ms N]
        [--max-offsets-per-trigger N] [--query-name NAME] [--topic NAME] [--master URL]
        [--results-prefix P] [--no-pipeline]

Each micro-batch is judged in Spark by the shared rules (spark_jobs.tally) and collected with
Arrow; a writer thread commits it to PostgreSQL in one transaction and then publishes its
results from the committed state, while Spark already judges the next batch. A batch is
recorded beside the checkpoint before Spark moves past it, so one that was never committed is
judged again at the next start; one committed but perhaps not published is published again.
One JSON progress line per batch goes to stdout.

Exit codes: 0 stopped cleanly (drained, SIGTERM or SIGINT), 1 the query failed (the next
start resumes), 2 a service or the jars are missing, 3 the checkpoint and the ledger disagree.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from election import contract, counting
from election.ballots import utc_iso
from election.settings import setting
from spark_jobs import ledger, pending, results, sources, tally
from spark_jobs.session import ROOT, SetupError, build_session

DEFAULT_CHECKPOINT = ROOT / ".stack" / "checkpoints" / "live_tally"
DEFAULT_MAX_OFFSETS = 200_000
# What one batch may bring to the driver: every message's record is bounded in bytes
# (tally.RECORD_BYTES, plus registered ids and fixed columns), so this bounds the offsets.
DEFAULT_BATCH_BYTES = 1 << 30
MESSAGE_BYTES = tally.RECORD_BYTES + 512
DEFAULT_TRIGGER_MS = 0
DRAIN_CHECK_S = 2.0

OK, FAILED, MISSING_SERVICE, STATE_MISMATCH = 0, 1, 2, 3


class StateMismatch(RuntimeError):
    """The checkpoint and the ledger tell different stories; the message says what to do."""


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
    parser = argparse.ArgumentParser(
        prog="python -m spark_jobs.live_tally", description=__doc__.split("\n")[0]
    )
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
        "--max-batch-bytes",
        type=int,
        default=int(os.environ.get("TALLY_MAX_BATCH_BYTES", DEFAULT_BATCH_BYTES)),
        help="bytes a micro-batch may bring to the driver; caps --max-offsets-per-trigger",
    )
    parser.add_argument("--query-name", default="live_tally")
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
        max_offsets_per_trigger=bounded_offsets(args.max_offsets_per_trigger, args.max_batch_bytes),
        until_drained=args.until_drained,
        master=args.master,
        database_url=setting("DATABASE_URL"),
        bootstrap=setting("KAFKA_BOOTSTRAP_SERVERS"),
        results_prefix=args.results_prefix,
        shuffle_partitions=args.shuffle_partitions,
        topic_partitions=args.topic_partitions,
        pipeline=not args.no_pipeline,
    )


def bounded_offsets(requested: int, batch_bytes: int) -> int:
    """maxOffsetsPerTrigger within the driver's byte budget (0 or less asks for the budget)."""
    budget = max(1, batch_bytes // MESSAGE_BYTES)
    return min(requested, budget) if requested > 0 else budget


_EMIT = threading.Lock()


def emit(event: dict) -> None:
    """One JSON line on stdout (the Dagster job reads these)."""
    line = json.dumps(event, separators=(",", ":"))
    with _EMIT:
        print(line, flush=True)


def checkpoint_batches(checkpoint: str) -> tuple[int | None, int | None]:
    """Micro-batches the checkpoint has planned and finished; None when it is not a local folder."""
    if not pending.PendingBatches.usable(checkpoint):
        return None, None
    folder = Path(checkpoint.removeprefix("file:"))

    def count(name: str) -> int:
        entries = folder / name
        return sum(1 for p in entries.iterdir() if p.name.isdigit()) if entries.is_dir() else 0

    return count("offsets"), count("commits")


def check_window(used: ledger.ElectionWindow, now: ledger.ElectionWindow, first_ballots: pa.Table):
    """Refuse to commit a batch judged under polls that have changed in a way that matters."""
    if now.election_id != used.election_id or now.polls_opened_at != used.polls_opened_at:
        raise WindowChanged(f"the election changed from {used} to {now} during a batch")
    if now.polls_closed_at is not None and used.polls_closed_at is None and first_ballots.num_rows:
        # the broker's receipt time, as staged_ballots carries it
        latest = pc.max(first_ballots["voting_us"]).as_py()
        closed_us = round(now.polls_closed_at.timestamp() * 1_000_000)
        if latest is not None and latest >= closed_us:
            raise WindowChanged(
                "the polls closed while a batch was judged, before ballots it counted; "
                "the batch is judged again on restart"
            )


@dataclass
class JudgedBatch:
    """A micro-batch judged in Spark and collected, waiting for the ledger writer."""

    batch_id: int
    window: ledger.ElectionWindow
    outcome: pa.Table
    ranges: dict[int, tuple[int, int]]
    started: float  # time.monotonic() when its judging began
    phases: dict[str, int]
    recovered: bool = False


class WindowChanged(RuntimeError):
    """The polls closed while a batch was judged, before ballots it counted: judge it again."""


class LiveTally:
    """The streaming query and what each micro-batch does.

    Spark judges batch N+1 while a single writer thread commits batch N to PostgreSQL and
    publishes it; commits stay in batch order, so the poll book decides duplicates exactly
    as if the batches ran one after the other.
    """

    def __init__(self, spark, options: Options):
        self.spark = spark
        self.options = options
        self.conn = ledger.connect(options.database_url)  # the writer's: batches and results
        self.reader = ledger.connect(options.database_url)  # the micro-batch thread's
        self.monitor = ledger.connect(options.database_url)  # the main thread's
        self.publisher = results.ResultPublisher(options.bootstrap)
        self.offsets = sources.OffsetReader(options.bootstrap)  # the writer's
        self.watch = sources.OffsetReader(options.bootstrap)  # the main thread's
        # pending records are always recovered; they are written only when pipelining
        usable = pending.PendingBatches.usable(options.checkpoint)
        self.pending = pending.PendingBatches(options.checkpoint) if usable else None
        self.pipelined = options.pipeline and self.pending is not None
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-writer")
        self.in_flight: Future | None = None
        self.roll = None
        self.roll_key = None
        self.candidates_df = None
        self.candidates: dict[str, dict] = {}
        self.registered: dict[str, int] = {}
        self.published_all = False
        self.previous_start: float | None = None
        self.previous_end: float | None = None
        self.query = None
        self.stop_requested = False

    # --- start ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Schema, the one-writer lock, topics, the roll, then any batch a crash left pending."""
        ledger.ensure_schema(self.conn)
        deadline = time.monotonic() + 30  # a killed predecessor's session takes a moment to end
        while not ledger.try_lock_poll_book(self.conn):
            if time.monotonic() > deadline:
                raise StateMismatch(
                    "another live tally holds the poll book of this database "
                    f"(advisory lock {ledger.TALLY_LOCK}); stop it first"
                )
            time.sleep(1)
        created = results.ensure_topics(
            self.options.bootstrap,
            self.options.topic,
            self.options.topic_partitions,
            self.options.results_prefix,
        )
        if created:
            emit({"event": "topics_created", "topics": created})
        self.load_roll(ledger.read_election(self.reader))
        self.recover_pending()
        self.check_checkpoint()

    def check_checkpoint(self) -> None:
        """The checkpoint and the ledger must tell the same story (same election, same topic)."""
        committed = ledger.committed_batches(self.reader, self.options.query_name)
        planned, done = checkpoint_batches(self.options.checkpoint)
        if planned == 0 and committed:
            raise StateMismatch(
                f"the ledger holds {committed} committed batches of query "
                f"'{self.options.query_name}' but the checkpoint {self.options.checkpoint} is empty: "
                "restore the checkpoint, or use another --query-name for another topic"
            )
        if done and not committed:
            raise StateMismatch(
                f"the checkpoint {self.options.checkpoint} has {done} batches but the "
                f"ledger has none of query '{self.options.query_name}': it belongs to an earlier "
                "election; delete it"
            )

    def recover_pending(self) -> None:
        """Commit the batches Spark finished but the ledger had not when the last run died."""
        if self.pending is None:
            return
        for batch in self.pending.all():
            record = ledger.committed_batch(self.reader, self.options.query_name, batch.batch_id)
            if record is not None:  # committed, perhaps not published: publish it again
                window = ledger.read_election(self.reader)
                self.republish(batch.batch_id, record, window, time.monotonic(), recovered=True)
                self.pending.remove(batch.batch_id)
                continue
            if batch.topic != self.options.topic:
                raise StateMismatch(
                    f"batch {batch.batch_id} pending in {self.options.checkpoint} is of topic "
                    f"{batch.topic}, not {self.options.topic}"
                )
            started = time.monotonic()
            offsets = {p: (first, last + 1) for p, (first, last) in batch.ranges.items()}
            messages = sources.kafka_batch(self.spark, self.options.bootstrap, batch.topic, offsets)
            window = ledger.read_election(self.reader)
            judged = self.judge(messages, batch.batch_id, window, started)
            if judged.ranges != batch.ranges:
                raise StateMismatch(
                    f"pending batch {batch.batch_id} covered {batch.ranges} but reads back as "
                    f"{judged.ranges}"
                )
            self.commit_and_publish(dataclasses.replace(judged, recovered=True))

    def load_roll(self, window: ledger.ElectionWindow) -> None:
        """Read the roll and candidates once; again only if the election changes or opens."""
        if self.roll is not None:
            self.roll.unpersist()
        started = time.monotonic()
        voters = sources.read_roll(self.spark, self.options.database_url, partitions=2)
        partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        self.roll = tally.prepare_roll(voters, partitions)
        registered = self.roll.count()
        rows = sources.read_candidates(self.spark, self.options.database_url).collect()
        self.candidates = {r.candidate_id: r.asDict() for r in rows}
        schema = (
            "candidate_id string, candidate_name string, party_affiliation string, photo_url string"
        )
        self.candidates_df = self.spark.createDataFrame(
            [tuple(c.values()) for c in self.candidates.values()], schema
        ).cache()
        self.registered = ledger.registered_by_state(self.reader)
        self.roll_key = (window.election_id, window.status == contract.REGISTRATION)
        self.published_all = False
        emit(
            {
                "event": "roll_loaded",
                "registered_voters": registered,
                "candidates": len(self.candidates),
                "election_id": window.election_id,
                "status": window.status,
                "seconds": round(time.monotonic() - started, 2),
            }
        )

    def roll_stale(self, window: ledger.ElectionWindow) -> bool:
        """The roll is frozen once the polls open: reload only for a new election or at opening."""
        election_id, registering = self.roll_key
        return window.election_id != election_id or (
            registering and window.status != contract.REGISTRATION
        )

    def start(self):
        """Start the streaming query."""
        stream = sources.kafka_stream(
            self.spark,
            self.options.bootstrap,
            self.options.topic,
            self.options.max_offsets_per_trigger,
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
        self.raise_writer_failure()  # a failed commit stops the query at the next batch
        window = ledger.read_election(self.reader)
        if self.roll_stale(window):
            self.load_roll(window)
        record = ledger.committed_batch(self.reader, self.options.query_name, batch_id)
        if record is not None:
            self.check_replay(batch_df, batch_id, record)
            self.hand_over(lambda: self.republish(batch_id, record, window, started))
        else:
            judged = self.judge(batch_df, batch_id, window, started)
            if self.pipelined:
                self.pending.write(
                    pending.PendingBatch(batch_id, self.options.topic, judged.ranges)
                )
            self.hand_over(lambda: self.commit_and_publish(judged))
        if not self.pipelined:
            self.wait_for_writer()  # without a pending record, Spark must not move on first

    def hand_over(self, job) -> None:
        """Queue a job for the writer once the previous one is done (commits stay in order)."""
        self.wait_for_writer()
        self.in_flight = self.writer.submit(job)

    def wait_for_writer(self) -> None:
        if self.in_flight is not None:
            self.in_flight.result()  # re-raises the writer's failure

    def raise_writer_failure(self) -> None:
        """Raise the writer's failure, if it has failed."""
        if self.in_flight is not None and self.in_flight.done():
            self.in_flight.result()

    def judge(self, batch_df, batch_id: int, window: ledger.ElectionWindow, started: float):
        """Judge a batch in Spark by the shared rules and collect every message with Arrow."""
        judged = tally.first_ballot_per_voter(
            tally.classify(
                tally.parse_ballots(batch_df),
                self.roll,
                self.candidates_df,
                window.polls_opened_at,
                window.polls_closed_at,  # receipt times need no "now": the recount's bound
                roll_join="shuffle_hash",
            )
        )
        outcome = collect_outcome(judged)
        ranges = ledger.offset_ranges(outcome)
        return JudgedBatch(
            batch_id, window, outcome, ranges, started, {"judge_ms": _ms_since(started)}
        )

    def commit_and_publish(self, judged: JudgedBatch) -> None:
        """The writer's job: one transaction for the batch, then its results, then progress."""
        fault_point("before_commit", judged.batch_id)
        outcome = judged.outcome
        valid = pc.is_null(outcome["reason"])
        first_ballots = staged_ballots(outcome.filter(valid))
        rejected = _renamed(outcome.filter(pc.invert(valid)))
        began = time.monotonic()
        judged.phases["wait_ms"] = (
            round((began - judged.started) * 1000) - judged.phases["judge_ms"]
        )
        with self.conn.transaction():
            now = ledger.read_election(self.conn, lock=True)
            check_window(judged.window, now, first_ballots)
            record, touched = ledger.commit_batch(
                self.conn,
                self.options.query_name,
                judged.batch_id,
                self.options.topic,
                first_ballots,
                rejected,
                lambda places: duplicate_rejections(outcome, places),
                judged.ranges,
            )
        judged.phases["ledger_ms"] = _ms_since(began)
        fault_point("after_commit", judged.batch_id)
        lag_s = None
        if outcome.num_rows:
            oldest = pc.min(outcome["kafka_timestamp"]).as_py()
            if oldest is not None:
                lag_s = round(time.time() - oldest.timestamp(), 3)
        self.publish_and_report(judged, record, touched, now, lag_s)
        if self.pending is not None:  # crossed off only once published too
            self.pending.remove(judged.batch_id)

    def republish(self, batch_id, record, window, started, recovered=False) -> None:
        """A batch committed before a crash: publish its results again, change nothing."""
        judged = JudgedBatch(batch_id, window, pa.table({}), record.ranges, started, {}, recovered)
        self.publish_and_report(judged, record, None, window, None, replayed=True)

    def publish_and_report(self, judged, record, touched, window, lag_s, replayed=False) -> None:
        published = time.monotonic()
        if not self.published_all:
            touched = None  # the first batch of this run: every key, so readers start complete
        sent = self.publish(touched, record.ranges, window)
        self.published_all = True
        finished = time.monotonic()
        judged.phases["publish_ms"] = _ms_since(published)
        batch_s = max(finished - judged.started, 1e-6)
        since_start = judged.started - self.previous_start if self.previous_start else batch_s
        since_end = finished - self.previous_end if self.previous_end else batch_s
        self.previous_start, self.previous_end = judged.started, finished
        emit(
            {
                "event": "progress",
                "query_name": self.options.query_name,
                "batch_id": judged.batch_id,
                "messages": record.messages,
                "counted": record.counted,
                "rejected": record.rejected,
                "replayed": replayed,
                "recovered": judged.recovered,
                "published": sent,
                "input_rows_per_s": round(record.messages / max(since_start, 1e-6), 1),
                "processed_rows_per_s": round(record.messages / max(since_end, 1e-6), 1),
                "batch_ms": round(batch_s * 1000),
                "lag": self.lag(),
                "lag_s": lag_s,
                **judged.phases,
                "at": utc_iso(window.read_at),
            }
        )

    def check_replay(self, batch_df, batch_id: int, record: ledger.BatchRecord) -> None:
        """A committed batch comes again after a restart: it must cover the same offsets."""
        from pyspark.sql import functions as F

        rows = batch_df.groupBy("partition").agg(F.min("offset"), F.max("offset")).collect()
        ranges = {int(r[0]): (int(r[1]), int(r[2])) for r in rows}
        if ranges != record.ranges or record.topic != self.options.topic:
            raise StateMismatch(
                f"batch {batch_id} of query '{self.options.query_name}' was committed for "
                f"{record.topic} {record.ranges} but now covers {self.options.topic} {ranges}: "
                "the checkpoint does not belong to this ledger"
            )

    def publish(self, touched: ledger.Touched | None, ranges, window: ledger.ElectionWindow) -> int:
        """Send the current totals of the keys a batch touched (all keys when touched is None)."""
        conn = self.conn
        since = window.polls_opened_at or window.read_at
        everything = touched is None
        candidate_rows = ledger.candidate_totals(conn, None if everything else touched.candidates)
        state_rows = ledger.state_totals(conn, None if everything else touched.states)
        by_candidate = {c: (n, at) for c, n, at in candidate_rows}
        if everything:
            for candidate_id in self.candidates:
                by_candidate.setdefault(candidate_id, (0, since))
        turnout: dict[str, tuple[int, object]] = {}
        if everything:
            turnout = {state: (0, since) for state in self.registered}
        for state, _candidate, n, at in state_rows:
            total, latest = turnout.get(state, (0, at))
            turnout[state] = (total + n, max(latest, at))
        opt = self.options
        sent = self.publisher.send(
            opt.result_topic(contract.VOTES_PER_CANDIDATE_TOPIC),
            (
                (c, results.candidate_message(self._candidate(c), n, at))
                for c, (n, at) in sorted(by_candidate.items())
            ),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.VOTES_PER_STATE_TOPIC),
            (
                (
                    contract.state_result_key(s, c),
                    results.state_message(self._candidate(c), s, n, at),
                )
                for s, c, n, at in state_rows
            ),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.TURNOUT_BY_LOCATION_TOPIC),
            (
                (s, results.turnout_message(s, n, self.registered.get(s, 0), at))
                for s, (n, at) in sorted(turnout.items())
            ),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.REJECTED_VOTES_TOPIC),
            (
                (
                    results.rejection_key(p, o),
                    results.rejection_message(vote_id, p, o, reason, detail, raw, at),
                )
                for p, o, vote_id, reason, detail, raw, at in ledger.rejections_in(conn, ranges)
            ),
        )
        self.publisher.flush()
        return sent

    def _candidate(self, candidate_id: str) -> dict:
        return self.candidates.get(candidate_id) or {"candidate_id": candidate_id}

    # --- supervision -------------------------------------------------------------------------

    def lag(self) -> int | None:
        """Messages on the ballot log not yet committed by this query."""
        try:
            offsets = self.offsets.read(self.options.topic, timeout=5)
        except Exception:  # lag is informative only; never fail a batch for it
            return None
        on_log = sum(end - first for first, end in offsets.values())
        return max(0, on_log - ledger.tallied_messages(self.conn, self.options.query_name))

    def drained(self) -> bool:
        """The polls are closed (or certified) and every message on the log is committed."""
        window = ledger.read_election(self.monitor)
        if window.status not in (contract.CLOSED, contract.CERTIFIED):
            return False
        offsets = self.watch.read(self.options.topic)
        on_log = sum(end - first for first, end in offsets.values())
        if ledger.tallied_messages(self.monitor, self.options.query_name) >= on_log:
            return True
        # messages and offsets differ when the log has gaps (transaction markers): ask Spark
        progress = self.query.lastProgress if self.query is not None else None
        if not progress or not progress.get("sources"):
            return False
        end = progress["sources"][0].get("endOffset") or {}
        if isinstance(end, str):
            end = json.loads(end)
        seen = {int(p): int(o) for p, o in end.get(self.options.topic, {}).items()}
        return bool(offsets) and all(seen.get(p, -1) >= e for p, (_, e) in offsets.items())

    def run(self) -> int:
        """Wait for the query; stop it on a signal or, with --until-drained, once drained."""
        while True:
            if self.query.awaitTermination(DRAIN_CHECK_S):
                self.wait_for_writer()
                return OK  # stopped from elsewhere; a failure raises instead
            if self.in_flight is not None and self.in_flight.done() and self.in_flight.exception():
                self.query.stop()
                self.raise_writer_failure()
            if self.stop_requested:
                emit({"event": "stopping", "why": "signal"})
                break
            if self.options.until_drained and self.drained():
                emit({"event": "stopping", "why": "drained"})
                break
        self.stop_gracefully()
        return OK

    def stop_gracefully(self, wait_s: float = 60.0) -> None:
        """Let a running batch finish (it is transactional either way), then stop the query."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self.query.status.get("isTriggerActive"):
            time.sleep(0.1)
        self.query.stop()
        self.wait_for_writer()  # the last handed-over batch is committed before we exit

    def close(self) -> None:
        self.writer.shutdown(wait=True, cancel_futures=False)
        for reader in (self.offsets, self.watch):
            with contextlib.suppress(Exception):
                reader.close()
        for conn in (self.conn, self.reader, self.monitor):
            with contextlib.suppress(Exception):
                conn.close()


OUTCOME_COLUMNS = (
    "partition",
    "offset",
    "kafka_timestamp",
    "voter_id",
    "candidate_id",
    "address_state",
    "vote_id",
    "reason",
    "detail",
    "raw",
)


def collect_outcome(judged):
    """Every message of the batch, to the driver with Arrow: ballot fields for the valid, a record for the rejected.

    Only bounded text reaches the driver (tally.RECORD_BYTES per message beside registered
    ids): the record's vote_id, detail and raw, the raw masked and cut for valid ballots too,
    as the poll book may find one a duplicate.
    """
    from pyspark.sql import functions as F

    valid = F.col("reason").isNull()
    return judged.select(
        "partition",
        "offset",
        "kafka_timestamp",
        F.when(valid, F.col("voter_id")).alias("voter_id"),
        F.when(valid, F.col("candidate_id")).alias("candidate_id"),
        F.when(valid, F.col("address_state")).alias("address_state"),
        tally.record_vote_id(F.col("vote_id")).alias("vote_id"),
        "reason",
        tally.record_detail(F.col("detail")).alias("detail"),
        tally.secret_raw(F.col("raw"), F.col("reason")).alias("raw"),
    ).toArrow()


def fault_point(where: str, batch_id: int) -> None:
    """Crash tests: LIVE_TALLY_FAULT=before_commit:N or after_commit:N dies there by SIGKILL."""
    if os.environ.get("LIVE_TALLY_FAULT") == f"{where}:{batch_id}":
        os.kill(os.getpid(), signal.SIGKILL)


def _ms_since(moment: float) -> int:
    return round((time.monotonic() - moment) * 1000)


def staged_ballots(first: pa.Table) -> pa.Table:
    """First valid ballots in the staging table's shape (times as epoch microseconds).

    The ledger's time of a ballot is the broker's receipt, the time the counting rules use;
    the voter's own voting_time is not kept.
    """
    return pa.table(
        {
            "topic_partition": first["partition"],
            "topic_offset": first["offset"],
            "voter_id": first["voter_id"],
            "candidate_id": first["candidate_id"],
            "address_state": first["address_state"],
            "voting_us": first["kafka_timestamp"]
            .cast(pa.timestamp("us", tz="UTC"))
            .cast(pa.int64()),
        }
    )


def _renamed(table: pa.Table) -> pa.Table:
    return table.rename_columns(
        [
            "topic_partition" if c == "partition" else "topic_offset" if c == "offset" else c
            for c in table.column_names
        ]
    )


def duplicate_rejections(outcome: pa.Table, places: list[tuple[int, int]]) -> pa.Table:
    """Rejection rows (as staged) for first ballots whose voter voted in an earlier batch."""
    wanted = pa.array([(p << 40) + o for p, o in places], pa.int64())
    place = pc.add(pc.shift_left(outcome["partition"].cast(pa.int64()), 40), outcome["offset"])
    found = outcome.filter(pc.is_in(place, value_set=wanted))
    n = found.num_rows
    return pa.table(
        {
            "topic_partition": found["partition"],
            "topic_offset": found["offset"],
            "vote_id": found["vote_id"],
            "reason": pa.array([contract.DUPLICATE] * n, pa.string()),
            "detail": pa.array([counting.DUPLICATE_DETAIL] * n, pa.string()),
            "raw": found["raw"],  # masked, cut and storable in Spark already
        }
    )


def main(argv=None) -> int:
    options = parse_args(argv)
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
        print(f"live_tally: {exc}", file=sys.stderr)
        return MISSING_SERVICE
    live = LiveTally(spark, options)

    def request_stop(signum, _frame):
        live.stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        live.prepare()
        live.start()
        emit(
            {
                "event": "started",
                "query_name": options.query_name,
                "topic": options.topic,
                "checkpoint": options.checkpoint,
            }
        )
        return live.run()
    except StateMismatch as exc:
        print(f"live_tally: {exc}", file=sys.stderr)
        return STATE_MISMATCH
    except Exception as exc:
        if live.stop_requested:
            return (
                OK  # stopping anyway; every batch is transactional and resumes from the checkpoint
            )
        cause = _cause(exc)
        if isinstance(exc, StateMismatch) or "StateMismatch" in str(exc):
            print(f"live_tally: {cause}", file=sys.stderr)
            return STATE_MISMATCH
        print(f"live_tally: the query failed: {cause}", file=sys.stderr)
        return FAILED
    finally:
        live.close()
        with contextlib.suppress(Exception):
            spark.stop()


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
