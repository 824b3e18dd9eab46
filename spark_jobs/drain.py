"""When the live tally has caught up with the committed ballot log, its lag, and its progress lines."""

from __future__ import annotations

import time

from election import contract
from election.ballots import utc_iso
from election_io.ballot_log import BallotLog, counted_ends
from election_io.elections import read_election_now
from spark_jobs import ledger, pipes

PROGRESS_SUMMARY = (
    "batch {batch_id}: {messages} messages, {counted} counted, {rejected} rejected, "
    "{batch_ms} ms, lag {lag}"
)


def emit(event: dict) -> None:
    """One event of the tally: a JSON line on stdout, and a line in Dagster's log under Pipes."""
    summary = PROGRESS_SUMMARY.format_map(event) if event.get("event") == "progress" else None
    pipes.current().event(event, summary)


class DrainWatch:
    """The main thread's view of the election and the committed log, on its own connections."""

    def __init__(self, database_url: str, bootstrap: str, topic: str):
        self.topic = topic
        self.conn = ledger.connect(database_url)
        self.log = BallotLog(bootstrap, topic)

    def drained(self) -> bool:
        """The polls are closed (or certified) and every committed ballot is judged."""
        window = read_election_now(self.conn)
        if window.status not in (contract.CLOSED, contract.CERTIFIED):
            return False
        return self.log.backlog(counted_ends(self.conn, self.topic)).tallied

    def close(self) -> None:
        self.log.close()
        self.conn.close()


def lag(log: BallotLog, conn) -> int | None:
    """Committed messages on the ballot log not yet judged; None when the broker does not say."""
    try:
        return log.backlog(counted_ends(conn, log.topic), timeout=5, scan_below=1_000).behind
    except Exception:  # lag is informative only; never fail a batch for it
        return None


class ProgressLine:
    """The rates between consecutive batches, for one progress line per committed batch."""

    def __init__(self, query_name: str):
        self.query_name = query_name
        self.previous_start: float | None = None
        self.previous_end: float | None = None

    def event(
        self,
        batch_id: int,
        record: ledger.BatchRecord,
        started: float,
        finished: float,
        *,
        replayed: bool,
        recovered: bool,
        published: int,
        lag: int | None,
        lag_s: float | None,
        phases: dict[str, int],
        at,
    ) -> dict:
        batch_s = max(finished - started, 1e-6)
        since_start = started - self.previous_start if self.previous_start else batch_s
        since_end = finished - self.previous_end if self.previous_end else batch_s
        self.previous_start, self.previous_end = started, finished
        return {
            "event": "progress",
            "query_name": self.query_name,
            "batch_id": batch_id,
            "messages": record.messages,
            "counted": record.counted,
            "rejected": record.rejected,
            "replayed": replayed,
            "recovered": recovered,
            "published": published,
            "input_rows_per_s": round(record.messages / max(since_start, 1e-6), 1),
            "processed_rows_per_s": round(record.messages / max(since_end, 1e-6), 1),
            "batch_ms": round(batch_s * 1000),
            "lag": lag,
            "lag_s": lag_s,
            **phases,
            "at": utc_iso(at),
        }


def ms_since(moment: float) -> int:
    return round((time.monotonic() - moment) * 1000)
