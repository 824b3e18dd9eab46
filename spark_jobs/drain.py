"""How far the live tally is behind the ballot log, when it has caught up, and its progress lines."""

from __future__ import annotations

import json
import time

from election import contract
from election.ballots import utc_iso
from spark_jobs import ledger, reporting, sources

PROGRESS_SUMMARY = (
    "batch {batch_id}: {messages} messages, {counted} counted, {rejected} rejected, "
    "{batch_ms} ms, lag {lag}"
)


def emit(event: dict) -> None:
    """One event of the tally: a JSON line on stdout, and a line in Dagster's log under Pipes."""
    summary = PROGRESS_SUMMARY.format_map(event) if event.get("event") == "progress" else None
    reporting.current().event(event, summary)


def on_log(offsets: dict[int, tuple[int, int]]) -> int:
    """Messages a topic holds, from its {partition: (first offset, end offset)}."""
    return sum(end - first for first, end in offsets.values())


def seen_by_spark(last_progress: dict | None, topic: str) -> dict[int, int]:
    """{partition: end offset} the query's last micro-batch reached, from its lastProgress."""
    if not last_progress or not last_progress.get("sources"):
        return {}
    end = last_progress["sources"][0].get("endOffset") or {}
    if isinstance(end, str):
        end = json.loads(end)
    return {int(p): int(o) for p, o in end.get(topic, {}).items()}


def drained(
    status: str | None,
    offsets: dict[int, tuple[int, int]],
    tallied: int,
    last_progress: dict | None,
    topic: str,
) -> bool:
    """The polls are closed (or certified) and every message on the log is committed."""
    if status not in (contract.CLOSED, contract.CERTIFIED):
        return False
    if tallied >= on_log(offsets):
        return True
    # messages and offsets differ when the log has gaps (transaction markers): ask Spark
    seen = seen_by_spark(last_progress, topic)
    return bool(offsets) and all(seen.get(p, -1) >= e for p, (_, e) in offsets.items())


class DrainWatch:
    """The main thread's view of the election and the log, on its own connection and consumer."""

    def __init__(self, database_url: str, bootstrap: str, topic: str):
        self.topic = topic
        self.conn = ledger.connect(database_url)
        self.offsets = sources.OffsetReader(bootstrap)

    def drained(self, last_progress: dict | None) -> bool:
        window = ledger.read_election(self.conn)
        if window.status not in (contract.CLOSED, contract.CERTIFIED):
            return False
        offsets = self.offsets.read(self.topic)
        tallied = ledger.tallied_messages(self.conn, self.topic)
        return drained(window.status, offsets, tallied, last_progress, self.topic)

    def close(self) -> None:
        self.offsets.close()
        self.conn.close()


def lag(reader: sources.OffsetReader, conn, topic: str) -> int | None:
    """Messages on the ballot log not yet committed; None when the broker does not say."""
    try:
        offsets = reader.read(topic, timeout=5)
    except Exception:  # lag is informative only; never fail a batch for it
        return None
    return max(0, on_log(offsets) - ledger.tallied_messages(conn, topic))


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
