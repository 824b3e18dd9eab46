"""The detail publisher: contest results, ranked rounds and race calls, on their own thread.

A round reads races and sends as many messages; done between two commits it held back the
next batch's national results by seconds. The ledger writer marks the races each commit
changed, and hands a round over when one is due; every job here runs on this thread, with its
own connection, producer and ballot-log consumer, one job at a time. A round takes the races
that have waited longest, at most SLICE of them: on a two-core machine 15,000 races at once
took the national count's CPU for 2-4 s, a backlog it took half a minute to drain.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from election import contract
from election.contest_totals import DistrictTotals, Home, voters_by_district
from election.contests import RANKED, Contest
from election.race_call import RaceCall
from election.rcv import latest_tallies, ranked_rounds
from election_io import contest_tables, race_calls
from election_io.ballot_log import BallotLog
from election_io.elections import ElectionNow, read_election_now
from election_io.publisher import ResultPublisher
from spark_jobs import drain, ledger
from spark_jobs.tally_options import Options

T = TypeVar("T")


class DetailPublisher:
    """Sends what a round of details holds; `mark`, `due`, `send_when_due` and `hand_over` are
    for any thread, the rest runs on this publisher's thread (through `run` or `hand_over`)."""

    CALL_REFRESH_S = 30.0  # how often a race call's numbers are sent again while they move
    # a round waits at least this many times as long as the last one took: under load the
    # details (every county's results) take at most a tenth of the time, the national
    # results of every batch the rest
    PACE = 9
    # while the national count is behind (its last batch's oldest ballot waited longer than
    # this), a round waits for it to catch up, up to CATCH_UP_WAIT_S since the last round
    BEHIND_S = 5.0
    CATCH_UP_WAIT_S = 60.0
    # the most races a round reads and sends; the rest wait for the next rounds, oldest first
    SLICE = 3_000

    def __init__(self, options: Options):
        self.options = options
        self.conn = ledger.connect(options.database_url)
        self.publisher = ResultPublisher(options.bootstrap)
        self.log = BallotLog(options.bootstrap, options.topic)
        self.contests: tuple[Contest, ...] = ()
        self.voters: dict[str, int] = {}  # voters per district
        # the committed totals of every race, kept from what each round reads, and the race
        # calls last recorded: a round calls what changed, not every race again
        self.standing: dict[tuple[str, str], DistrictTotals] = {}
        self.calls: dict[str, RaceCall] = {}
        self.called_on: tuple | None = None  # (polls_open, untallied) of the last round
        self.refreshed_at = 0.0  # time.monotonic() of the last round that sent every change
        self.touched: set[tuple[str, str]] = set()  # races whose totals changed since then
        # races committed but not sent yet, the longest waiting first (a dict keeps the order
        # races were first marked in): they go at most every detail_every_ms
        self.unpublished: dict[tuple[str, str], None] = {}
        self._marking = threading.Lock()
        self.details_at = 0.0  # time.monotonic() of the last send of contest results
        self.round_s = 0.0  # how long the last round took
        self.refused: dict[str, str] = {}  # ranked contests the tabulator refused, and why
        self.latest_rounds: dict[str, dict[str, int]] = {}  # ranked contest -> latest round
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detail-publisher")
        self.in_flight: Future | None = None
        self._handing = threading.Lock()

    # --- the thread ---------------------------------------------------------------------------

    def hand_over(self, job: Callable[[], T]) -> Future:
        """Queue a job once the previous one is done."""
        with self._handing:
            self.wait()
            self.in_flight = self._thread.submit(job)
            return self.in_flight

    def run(self, job: Callable[[], T]) -> T:
        """Run a job on this thread and wait for its result."""
        return self.hand_over(job).result()

    def wait(self) -> None:
        if self.in_flight is not None:
            self.in_flight.result()  # re-raises the failure

    def busy(self) -> bool:
        return self.in_flight is not None and not self.in_flight.done()

    def raise_failure(self) -> None:
        if self.in_flight is not None and self.in_flight.done():
            self.in_flight.result()

    def failed(self) -> bool:
        return (
            self.in_flight is not None
            and self.in_flight.done()
            and self.in_flight.exception() is not None
        )

    # --- what waits ---------------------------------------------------------------------------

    def mark(self, races: Iterable[tuple[str, str]]) -> None:
        """Races a commit changed: their results go with the next round."""
        with self._marking:
            self.unpublished.update(dict.fromkeys(races))  # a race waiting keeps its place

    def due(self, behind_s: float | None = None) -> bool:
        """Contest results wait, and their turn has come: detail_every_ms after the last round
        began, PACE times as long as it took after it ended, and unless the national count is
        behind_s (its last batch's oldest ballot waited that long) more than BEHIND_S, catching
        up, and CATCH_UP_WAIT_S have not passed."""
        every_s = max(self.options.detail_every_ms, 0) / 1000
        turn = max(self.details_at + every_s, self.details_at + self.round_s * (1 + self.PACE))
        if behind_s is not None and behind_s > self.BEHIND_S:
            turn = max(turn, self.details_at + self.CATCH_UP_WAIT_S)
        return bool(self.unpublished) and time.monotonic() >= turn

    def send_when_due(self, force: bool = False, behind_s: float | None = None) -> None:
        """Hand a round over once one is due, unless one is running; force: now, every race
        that waits. A round that waited for the count to catch up (a minute) sends every race
        too: slices a minute apart would leave a county's results minutes old."""
        if force and self.unpublished:
            self.hand_over(lambda: self.send_waiting(every=True))
        elif self.unpublished and self.due(behind_s) and not self.busy():
            every = behind_s is not None and behind_s > self.BEHIND_S
            self.hand_over(lambda: self.send_waiting(every=every))

    # --- jobs on the thread -------------------------------------------------------------------

    def roll_loaded(self, contests: tuple[Contest, ...]) -> dict[Home, int]:
        """New contests and the roll read again: the next round calls every race; returns the
        registered voters at each home."""
        homes = contest_tables.registered_homes(self.conn)
        self.contests = contests
        self.voters = voters_by_district(homes)
        self.standing = contest_tables.every_race(self.conn, contests, homes)
        self.calls, self.called_on, self.touched = {}, None, set()
        self.latest_rounds = {}
        self.refreshed_at = 0.0
        with self._marking:
            self.unpublished = {}
        return homes

    def send_waiting(self, every: bool = False) -> None:
        """Send the contest results that have waited longest (SLICE of them; every: all), and
        call their races."""
        if not self.unpublished:
            return
        began = time.monotonic()
        sent = self.send_results(None, None if every else self.SLICE)
        calls = self.call_races(read_election_now(self.conn), drain.lag(self.log, self.conn))
        self.publisher.flush()
        self.round_s = time.monotonic() - began
        drain.emit(
            {
                "event": "details",
                "query_name": self.options.query_name,
                "published": sent,
                "calls": calls,
                "round_ms": round(self.round_s * 1000),
            }
        )

    def send_everything(self, since: datetime) -> int:
        """Every race's results and call, those without votes dated since."""
        began = time.monotonic()
        sent = self.send_results(since)
        sent += self.call_races(read_election_now(self.conn), drain.lag(self.log, self.conn))
        self.publisher.flush()
        self.round_s = time.monotonic() - began
        return sent

    def send_results(self, since: datetime | None, limit: int | None = None) -> int:
        """Send the contest results and rounds that wait (at most limit races, the longest
        waiting); since (a time): every key instead, those without votes dated since."""
        with self._marking:
            if since is None and limit is not None and len(self.unpublished) > limit:
                waiting = list(itertools.islice(self.unpublished, limit))
                for race in waiting:
                    del self.unpublished[race]
            else:
                waiting, self.unpublished = list(self.unpublished), {}
        keys = None if since is not None else tuple(sorted(waiting))
        self.details_at = time.monotonic()
        found = contest_tables.with_every_choice(
            self.contests, contest_tables.read_totals(self.conn, keys)
        )
        self.standing.update((key, row) for key, (row, _at) in found.items())
        self.touched.update(found)
        sent = self.publisher.send(
            self.options.result_topic(contract.CONTEST_RESULTS_TOPIC),
            contest_tables.contest_results(self.contests, found, since),
        )
        return sent + self.send_rounds(None if keys is None else {c for c, _ in keys})

    def send_rounds(self, contest_ids: set[str] | None) -> int:
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
            self.send_results(None)
        window = read_election_now(self.conn)
        sent = self.call_races(window, drain.lag(self.log, self.conn))
        self.publisher.flush()
        drain.emit({"event": "race_calls", "published": sent, "status": window.status})

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=False)
        with contextlib.suppress(Exception):
            self.log.close()
        with contextlib.suppress(Exception):
            self.conn.close()
