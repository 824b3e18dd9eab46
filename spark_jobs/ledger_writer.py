"""The ledger writer: one thread that commits each judged batch, then publishes its results.

Commits stay in batch order (one job at a time), so the poll book decides duplicates exactly
as if the batches ran one after the other, while Spark already judges the next batch. The
national results follow every commit; the contest results and race calls go on the detail
publisher's thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from election import contract, messages
from election.contests import Contest, national_contest
from election.settings import setting
from election_io.ballot_log import BallotLog
from election_io.elections import ElectionNow, read_election_now
from election_io.publisher import ResultPublisher
from spark_jobs import contest_ledger, drain, ledger, pending
from spark_jobs.batch_outcome import check_window, counted_ballots, duplicate_rejections
from spark_jobs.detail_publisher import DetailPublisher
from spark_jobs.tally_options import Options


@dataclass
class JudgedBatch:
    """A micro-batch judged in Spark and collected, waiting for the ledger writer: every
    message's outcome, and what the judging thread made of it already (the writer's thread
    is the tally's narrowest part)."""

    batch_id: int
    window: ElectionNow
    outcome: pa.Table
    ranges: dict[int, tuple[int, int]]
    started: float  # time.monotonic() when its judging began
    phases: dict[str, int]
    # None only for a batch republished after a crash, which commits nothing:
    first_ballots: pa.Table | None  # each voter's first valid ballot, as staged
    rejected: pa.Table | None  # the rejected messages, as staged
    # what first_ballots add per contest and district, should the poll book hold none of them
    deltas: contest_ledger.BatchDeltas | None
    recovered: bool = False


def fault_point(where: str, batch_id: int) -> None:
    """Crash tests: LIVE_TALLY_FAULT=before_commit:N or after_commit:N dies there by SIGKILL."""
    if setting("LIVE_TALLY_FAULT") == f"{where}:{batch_id}":
        os.kill(os.getpid(), signal.SIGKILL)


class LedgerWriter:
    """Commits and publishes batches on its own thread, connection, producer and consumer."""

    def __init__(self, options: Options, book: pending.PendingBatches | None):
        self.options = options
        self.book = book  # crossed off here once a batch is committed and published
        self.conn = ledger.connect(options.database_url)
        ledger.prepare_session(self.conn)  # the staging tables live in this session
        self.publisher = ResultPublisher(options.bootstrap)
        self.log = BallotLog(options.bootstrap, options.topic)
        self.progress = drain.ProgressLine(options.query_name)
        self.details = DetailPublisher(options)
        self.candidates: dict[str, dict] = {}
        self.registered: dict[str, int] = {}  # voters per state, as the roll names it
        self.contest_totals = contest_ledger.BatchTotals(())
        self.published_all = False
        self.batches = 0  # published in this run
        self.last_progress: dict = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-writer")
        self.in_flight: Future | None = None
        self._handing = threading.Lock()

    def roll_loaded(
        self, candidates: dict[str, dict], contests: tuple[Contest, ...] | None = None
    ) -> None:
        """New candidates and contests (None: the seed's national contest of the candidates),
        and the roll read again: the next publication sends every key again, and the next
        round of race calls calls every race."""
        self.candidates = candidates
        names = {c: row.get("candidate_name") for c, row in candidates.items()}
        contests = contests or (national_contest(candidates, names),)
        homes = self.details.run(lambda: self.details.roll_loaded(contests))
        self.contest_totals = contest_ledger.BatchTotals(contests)
        registered: dict[str, int] = {}
        for (state, _county), n in homes.items():
            registered[state] = registered.get(state, 0) + n
        self.registered = registered
        self.published_all = False

    # --- the thread ---------------------------------------------------------------------------

    def hand_over(self, job) -> None:
        """Queue a job once the previous one is done (commits stay in order); the micro-batch
        thread and the supervising loop both hand jobs over."""
        with self._handing:
            if self.in_flight is not None:
                self.in_flight.result()  # re-raises the writer's failure
            self.in_flight = self._thread.submit(job)

    def wait(self) -> None:
        """Wait for the last job handed over, and the detail publisher's; raise their failure."""
        if self.in_flight is not None:
            self.in_flight.result()
        self.details.wait()

    def raise_failure(self) -> None:
        """Raise the writer's failure, or the detail publisher's, if one has failed."""
        if self.in_flight is not None and self.in_flight.done():
            self.in_flight.result()
        self.details.raise_failure()

    def failed(self) -> bool:
        return self.details.failed() or (
            self.in_flight is not None
            and self.in_flight.done()
            and self.in_flight.exception() is not None
        )

    # --- one batch ----------------------------------------------------------------------------

    def commit_and_publish(self, judged: JudgedBatch) -> None:
        """One transaction for the batch, then its results, then its progress line."""
        fault_point("before_commit", judged.batch_id)
        outcome, first_ballots = judged.outcome, judged.first_ballots
        began = time.monotonic()
        judged.phases["wait_ms"] = round((began - judged.started) * 1000) - sum(
            judged.phases.values()
        )
        with self.conn.transaction():
            now = read_election_now(self.conn, lock=True)
            check_window(judged.window, now, first_ballots)
            rejections = [judged.rejected]
            again = ledger.stage_ballots(self.conn, first_ballots)
            if again:  # voters of an earlier batch: their ballots are duplicates
                duplicates = duplicate_rejections(outcome, again)
                if duplicates.num_rows != len(again):
                    raise RuntimeError(
                        f"found {duplicates.num_rows} of {len(again)} duplicate ballots' messages"
                    )
                rejections.append(duplicates)
            counted = counted_ballots(first_ballots, again)
            # the judging thread added up every first ballot: with duplicates, those counted
            deltas = self.contest_totals.of(counted) if again else judged.deltas
            record, touched = ledger.commit_batch(
                self.conn,
                self.options.query_name,
                judged.batch_id,
                self.options.topic,
                outcome.num_rows,
                rejections,
                judged.ranges,
                deltas,
            )
        judged.phases["ledger_ms"] = drain.ms_since(began)
        fault_point("after_commit", judged.batch_id)
        lag_s = None
        if outcome.num_rows:
            oldest = pc.min(outcome["kafka_timestamp"]).as_py()
            if oldest is not None:
                lag_s = round(time.time() - oldest.timestamp(), 3)
        self.publish_and_report(judged, record, touched, now, lag_s)
        if self.book is not None:  # crossed off only once published too
            self.book.remove(judged.batch_id)

    def republish(self, batch_id, record, window, started, recovered=False) -> None:
        """A batch committed before a crash: publish its results again, change nothing."""
        judged = JudgedBatch(
            batch_id, window, pa.table({}), record.ranges, started, {}, None, None, None, recovered
        )
        self.publish_and_report(judged, record, None, window, None, replayed=True)

    def publish_and_report(self, judged, record, touched, window, lag_s, replayed=False) -> None:
        published = time.monotonic()
        if not self.published_all:
            touched = None  # the first batch of this run: every key, so readers start complete
        sent = self.publish(touched, record.ranges, window)
        self.published_all = True
        if touched is not None:
            self.details.mark(touched.contests)
            self.details.send_when_due(behind_s=lag_s)  # none while the count catches up
        lag = drain.lag(self.log, self.conn)
        finished = time.monotonic()
        judged.phases["publish_ms"] = drain.ms_since(published)
        self.batches += 1
        self.last_progress = self.progress.event(
            judged.batch_id,
            record,
            judged.started,
            finished,
            replayed=replayed,
            recovered=judged.recovered,
            published=sent,
            lag=lag,
            lag_s=lag_s,
            phases=judged.phases,
            at=window.read_at,
        )
        drain.emit(self.last_progress)

    def publish_everything(self) -> None:
        """Every key's current totals and the races' calls, before the first batch: readers
        start complete, and the first batch of the log sends only what it touched."""
        if self.published_all:
            return  # a recovered batch has sent them
        self.publish(None, {}, read_election_now(self.conn))
        self.published_all = True

    def details_due(self) -> bool:
        return self.details.due()

    def publish_waiting_details(self, force: bool = False) -> None:
        """Send the contest results that wait, once due (or now, and wait for them: force).

        The supervising loop hands this over between batches, so a quiet log still gets its
        last results; it is also the last word before the tally stops.
        """
        self.details.send_when_due(force)
        if force:
            self.details.wait()

    def publish(self, touched: ledger.Touched | None, ranges, window: ElectionNow) -> int:
        """Send the current totals of the keys a batch touched (all keys when touched is None):
        the national ones and the batch's rejections; with all keys, every contest result and
        race call too (waiting for them)."""
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
                messages.candidate_result(self._candidate(c), n, at)
                for c, (n, at) in sorted(by_candidate.items())
            ),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.VOTES_PER_STATE_TOPIC),
            (messages.state_result(self._candidate(c), s, n, at) for s, c, n, at in state_rows),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.TURNOUT_BY_LOCATION_TOPIC),
            (
                messages.turnout_result(s, n, self.registered.get(s, 0), at)
                for s, (n, at) in sorted(turnout.items())
            ),
        )
        sent += self.publisher.send(
            opt.result_topic(contract.REJECTED_VOTES_TOPIC),
            (
                messages.rejection(p, o, vote_id, reason, detail, raw, at)
                for p, o, vote_id, reason, detail, raw, at in ledger.rejections_in(conn, ranges)
            ),
        )
        self.publisher.flush()
        if everything:
            sent += self.details.run(lambda: self.details.send_everything(since))
        return sent

    def final_race_calls(self) -> None:
        """The drained count's race calls: the polls closed and nothing left to tally."""
        self.details.run(self.details.final_race_calls)

    def _candidate(self, candidate_id: str) -> dict:
        return self.candidates.get(candidate_id) or {"candidate_id": candidate_id}

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=False)
        self.details.close()
        with contextlib.suppress(Exception):
            self.log.close()
        with contextlib.suppress(Exception):
            self.conn.close()
