"""The ledger writer: one thread that commits each judged batch, then publishes its results.

Commits stay in batch order (one job at a time), so the poll book decides duplicates exactly
as if the batches ran one after the other, while Spark already judges the next batch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from election import contract, messages
from election.contest_totals import DistrictTotals, voters_by_district
from election.contests import RANKED, Contest, national_contest
from election.race_call import RaceCall
from election.rcv import latest_tallies, ranked_rounds
from election.settings import setting
from election_io import contest_tables, race_calls
from election_io.ballot_log import BallotLog
from election_io.elections import ElectionNow, read_election_now
from election_io.publisher import ResultPublisher
from spark_jobs import contest_ledger, drain, ledger, pending
from spark_jobs.batch_outcome import check_window, counted_ballots, duplicate_rejections
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

    CALL_REFRESH_S = 30.0  # how often a race call's numbers are sent again while they move

    def __init__(self, options: Options, book: pending.PendingBatches | None):
        self.options = options
        self.book = book  # crossed off here once a batch is committed and published
        self.conn = ledger.connect(options.database_url)
        ledger.prepare_session(self.conn)  # the staging tables live in this session
        self.publisher = ResultPublisher(options.bootstrap)
        self.log = BallotLog(options.bootstrap, options.topic)
        self.progress = drain.ProgressLine(options.query_name)
        self.candidates: dict[str, dict] = {}
        self.registered: dict[str, int] = {}  # voters per state, as the roll names it
        self.voters: dict[str, int] = {}  # voters per district
        self.contests: tuple[Contest, ...] = ()
        self.contest_totals = contest_ledger.BatchTotals(())
        # the committed totals of every race, kept from what each publication reads, and the
        # race calls last recorded: a round calls what changed, not every race again
        self.standing: dict[tuple[str, str], DistrictTotals] = {}
        self.calls: dict[str, RaceCall] = {}
        self.called_on: tuple | None = None  # (polls_open, untallied) of the last round
        self.refreshed_at = 0.0  # time.monotonic() of the last round that sent every change
        self.touched: set[tuple[str, str]] = set()  # races whose totals changed since then
        self.published_all = False
        # contest results committed but not sent yet: they go at most every detail_every_ms
        self.unpublished: set[tuple[str, str]] = set()
        self.details_at = 0.0  # time.monotonic() of the last send of contest results
        self.refused: dict[str, str] = {}  # ranked contests the tabulator refused, and why
        self.latest_rounds: dict[str, dict[str, int]] = {}  # ranked contest -> latest round
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
        self.contests = contests or (national_contest(candidates, names),)
        self.contest_totals = contest_ledger.BatchTotals(self.contests)
        homes = contest_tables.registered_homes(self.conn)
        self.registered = {}
        for (state, _county), n in homes.items():
            self.registered[state] = self.registered.get(state, 0) + n
        self.voters = voters_by_district(homes)
        self.standing = contest_tables.every_race(self.conn, self.contests, homes)
        self.calls, self.called_on, self.touched = {}, None, set()
        self.latest_rounds = {}
        self.refreshed_at = 0.0
        self.published_all = False
        self.unpublished = set()

    # --- the thread ---------------------------------------------------------------------------

    def hand_over(self, job) -> None:
        """Queue a job once the previous one is done (commits stay in order); the micro-batch
        thread and the supervising loop both hand jobs over."""
        with self._handing:
            self.wait()
            self.in_flight = self._thread.submit(job)

    def wait(self) -> None:
        if self.in_flight is not None:
            self.in_flight.result()  # re-raises the writer's failure

    def raise_failure(self) -> None:
        """Raise the writer's failure, if it has failed."""
        if self.in_flight is not None and self.in_flight.done():
            self.in_flight.result()

    def failed(self) -> bool:
        return (
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
        if touched is not None:
            self.unpublished.update(touched.contests)
        details = touched is None or self.details_due()
        sent = self.publish(touched, record.ranges, window, details)
        self.published_all = True
        lag = drain.lag(self.log, self.conn)
        if details:  # the races are called from the contest results just sent
            sent += self.call_races(window, lag)
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
        window = read_election_now(self.conn)
        self.publish(None, {}, window)
        self.published_all = True
        self.call_races(window, drain.lag(self.log, self.conn))

    def details_due(self) -> bool:
        """Contest results wait, and whether their turn has come (detail_every_ms)."""
        every_s = max(self.options.detail_every_ms, 0) / 1000
        return bool(self.unpublished) and time.monotonic() >= self.details_at + every_s

    def publish_waiting_details(self, force: bool = False) -> None:
        """Send the contest results that wait, once due (or now: force), and call their races.

        The supervising loop hands this over between batches, so a quiet log still gets its
        last results; it is also the last word before the tally stops.
        """
        if not (self.unpublished and (force or self.details_due())):
            return
        window = read_election_now(self.conn)
        self.publish_details(None)
        self.call_races(window, drain.lag(self.log, self.conn))
        self.publisher.flush()

    def publish(
        self, touched: ledger.Touched | None, ranges, window: ElectionNow, details: bool = True
    ) -> int:
        """Send the current totals of the keys a batch touched (all keys when touched is None):
        the national ones and the batch's rejections always, the contest results (those
        touched since their last send) with details."""
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
        if details:
            sent += self.publish_details(since if everything else None)
        sent += self.publisher.send(
            opt.result_topic(contract.REJECTED_VOTES_TOPIC),
            (
                messages.rejection(p, o, vote_id, reason, detail, raw, at)
                for p, o, vote_id, reason, detail, raw, at in ledger.rejections_in(conn, ranges)
            ),
        )
        self.publisher.flush()
        return sent

    def publish_details(self, since) -> int:
        """Send the contest results and rounds that wait; since (a time): every key instead,
        those without votes dated since."""
        keys = None if since is not None else tuple(sorted(self.unpublished))
        self.unpublished, self.details_at = set(), time.monotonic()
        found = contest_tables.with_every_choice(
            self.contests, contest_tables.read_totals(self.conn, keys)
        )
        self.standing.update((key, row) for key, (row, _at) in found.items())
        self.touched.update(found)
        sent = self.publisher.send(
            self.options.result_topic(contract.CONTEST_RESULTS_TOPIC),
            contest_tables.contest_results(self.contests, found, since),
        )
        return sent + self.publish_rounds(None if keys is None else {c for c, _ in keys})

    def publish_rounds(self, contest_ids: set[str] | None) -> int:
        """Tabulate the ranked contests among contest_ids (all when None) from the committed
        rankings and send their rounds; a contest the tabulator refuses is reported once."""
        ranked = [c for c in self.contests if c.kind == RANKED]
        if contest_ids is not None:
            ranked = [c for c in ranked if c.contest_id in contest_ids]
        if not ranked:
            return 0
        rankings = contest_tables.read_rankings(self.conn, [c.contest_id for c in ranked])
        rounds, failed = ranked_rounds(ranked, rankings)
        for contest_id, why in failed.items():
            if self.refused.get(contest_id) != why:
                drain.emit({"event": "rounds_refused", "contest_id": contest_id, "why": why})
        self.refused.update(failed)
        self.latest_rounds.update(latest_tallies(ranked, rounds))  # what the race calls read
        return self.publisher.send(
            self.options.result_topic(contract.RCV_ROUNDS_TOPIC),
            contest_tables.rcv_rounds(ranked, rounds, datetime.now(UTC)),
        )

    def call_races(self, window: ElectionNow, lag: int | None) -> int:
        """Call the races from the committed totals, record and publish the calls that changed.

        Outstanding are the non-voters while the polls are open, and once they are closed the
        ballots on the log not yet tallied (all non-voters while that is not known). While that
        rule and its count stay as they were, only the races whose totals changed are called
        again, and between refreshes only a changed decision is sent; returns how many calls
        were sent.
        """
        if not self.voters:
            return 0  # no roll loaded yet: there is no race to call
        polls_open = window.status in (None, contract.REGISTRATION, contract.OPEN) or lag is None
        # the untallied count moves with every batch, but counts only once the polls are closed
        basis = (polls_open, 0 if polls_open else lag)
        again = basis == self.called_on
        races = self.touched if again else self.standing
        # while the rule stands, a call's numbers (votes, margin, outstanding) are sent again
        # only every CALL_REFRESH_S; a call that changes its decision is sent at once
        decision_only = again and time.monotonic() - self.refreshed_at < self.CALL_REFRESH_S
        calls = race_calls.call_record_publish(
            self.conn,
            self.publisher,
            self.options.result_topic(contract.RACE_CALLS_TOPIC),
            {key: self.standing[key] for key in races},  # touched races are standing
            self.contests,
            self.voters,
            polls_open=polls_open,
            untallied=lag or 0,
            election_id=window.election_id,
            actor=f"live_tally:{self.options.query_name}",
            previous=self.calls,
            decision_only=decision_only,
            latest_rounds=self.latest_rounds,
        )
        self.calls.update(calls)
        if not decision_only:  # else the touched races are called again at the next refresh
            self.called_on, self.touched, self.refreshed_at = basis, set(), time.monotonic()
        return len(calls)

    def final_race_calls(self) -> None:
        """The drained count's race calls: the polls closed and nothing left to tally."""
        if self.unpublished:
            self.publish_details(None)
        window = read_election_now(self.conn)
        sent = self.call_races(window, drain.lag(self.log, self.conn))
        self.publisher.flush()
        drain.emit({"event": "race_calls", "published": sent, "status": window.status})

    def _candidate(self, candidate_id: str) -> dict:
        return self.candidates.get(candidate_id) or {"candidate_id": candidate_id}

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=False)
        with contextlib.suppress(Exception):
            self.log.close()
        with contextlib.suppress(Exception):
            self.conn.close()
