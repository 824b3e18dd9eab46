"""The ballot log as a committed reader sees it: where it ends, and what is still untallied.

Ballots are what a `read_committed` consumer reads. Transaction markers and the messages of
aborted transactions take offsets but are not ballots, so "tallied = offsets on the log" is
no test of a drained tally: the log is tallied when no committed message lies past what the
ledger has counted and no transaction is still open (it could yet commit ballots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from election_io.kafka_config import client_config


@dataclass(frozen=True)
class PartitionEnd:
    """One partition's offsets: the first kept, the stable end a committed read stops at, the end."""

    first: int
    stable: int  # the last stable offset: an open transaction's first offset, else the end
    end: int


@dataclass(frozen=True)
class Backlog:
    """How far the count is behind the committed log."""

    behind: int  # offsets of committed messages past the ledger (markers may inflate it)
    open_transactions: int  # partitions whose end is held back by a transaction still open

    @property
    def tallied(self) -> bool:
        """Every committed message is judged, and no open transaction can add one."""
        return self.behind == 0 and self.open_transactions == 0


def offsets_behind(
    ends: Mapping[int, int], counted: Mapping[int, int], firsts: Mapping[int, int] | None = None
) -> int:
    """Offsets of the log past what the ledger counted: the tally's lag, every reader's measure.

    ends and counted are {partition: end offset}; firsts, where given, the first offsets kept.
    Transaction markers and aborted messages take offsets too, so this bounds the ballots left.
    """
    firsts = firsts or {}
    return sum(max(0, end - max(counted.get(p, 0), firsts.get(p, 0))) for p, end in ends.items())


def tallied_messages(conn, topic: str) -> int:
    """Messages of a topic the ledger has committed (counted or rejected), under any query name."""
    (n,) = conn.execute(
        "SELECT coalesce(sum(messages), 0) FROM tally_batches WHERE end_offsets->>'topic' = %s",
        (topic,),
    ).fetchone()
    return int(n)


def counted_ends(conn, topic: str) -> dict[int, int]:
    """{partition: end offset} the ledger has committed of a topic, under any query name.

    Batches commit in order, each from where the last ended, so this is the counted prefix.
    """
    rows = conn.execute(
        "SELECT e.key::int, max(e.value::bigint) FROM tally_batches, "
        "jsonb_each_text(end_offsets->'end') AS e WHERE end_offsets->>'topic' = %s GROUP BY 1",
        (topic,),
    ).fetchall()
    return {int(p): int(end) for p, end in rows}


class BallotLog:
    """A topic's committed view, on two long-lived consumers (no group offsets, no commits)."""

    def __init__(self, bootstrap: str, topic: str):
        self.topic = topic
        common = client_config(
            bootstrap,
            **{
                "group.id": "ballot-log",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "log_level": 0,
            },
        )
        self._committed = Consumer({**common, "isolation.level": "read_committed"})
        self._everything = Consumer({**common, "isolation.level": "read_uncommitted"})

    def partitions(self, timeout: float = 10.0) -> list[int]:
        """The topic's partitions; empty when the topic does not exist."""
        found = self._committed.list_topics(self.topic, timeout=timeout).topics.get(self.topic)
        if found is None or found.error is not None:
            return []
        return sorted(found.partitions)

    def ends(self, timeout: float = 10.0) -> dict[int, PartitionEnd]:
        """Every partition's first offset, stable end and end, as the broker has them now."""
        out = {}
        for p in self.partitions(timeout):
            place = TopicPartition(self.topic, p)
            first, stable = self._committed.get_watermark_offsets(place, timeout, cached=False)
            _, end = self._everything.get_watermark_offsets(place, timeout, cached=False)
            out[p] = PartitionEnd(first, stable, max(end, stable))
        return out

    def committed_after(self, counted: dict[int, int], timeout: float = 10.0) -> bool:
        """Whether a committed message sits at or past the counted end of any partition.

        Reads from each counted end to the stable end with read_committed: markers and aborted
        messages are skipped by the broker's client, so only a ballot stops the scan early.
        """
        ends = self.ends(timeout)
        places = [
            TopicPartition(self.topic, p, max(counted.get(p, OFFSET_BEGINNING), e.first))
            for p, e in ends.items()
            if e.stable > max(counted.get(p, 0), e.first)
        ]
        if not places:
            return False
        self._committed.assign(places)
        try:
            waiting = {tp.partition for tp in places}
            while waiting:
                message = self._committed.poll(timeout)
                if message is None:
                    raise TimeoutError(f"{self.topic} did not answer within {timeout} s")
                error = message.error()
                if error is None:
                    return True
                if error.code() == KafkaError._PARTITION_EOF:
                    waiting.discard(message.partition())
                elif error.fatal() or not error.retriable():
                    raise RuntimeError(f"reading {self.topic}: {error.str()}")
            return False
        finally:
            self._committed.unassign()

    def backlog(
        self, counted: dict[int, int], timeout: float = 10.0, scan_below: int | None = None
    ) -> Backlog:
        """How far the count (the ledger's counted ends) is behind the committed log.

        A gap of offsets is read through to tell ballots from markers; scan_below skips that
        read for a gap as wide as it or wider (a lag shown in progress lines need not be exact).
        """
        ends = self.ends(timeout)
        stable = {p: e.stable for p, e in ends.items()}
        behind = offsets_behind(stable, counted, {p: e.first for p, e in ends.items()})
        exact = scan_below is None or behind < scan_below
        if behind and exact and not self.committed_after(counted, timeout):
            behind = 0  # only markers and aborted messages remain
        held = sum(1 for e in ends.values() if e.stable < e.end)
        return Backlog(behind, held)

    def close(self) -> None:
        self._committed.close()
        self._everything.close()


def log_ends(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, PartitionEnd]:
    """Every partition's first offset, stable end and end, read once ({} for no topic)."""
    log = BallotLog(bootstrap, topic)
    try:
        return log.ends(timeout)
    finally:
        log.close()


def committed_offsets(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, tuple]:
    """{partition: (first offset, stable end)}: what a committed read of the topic covers now."""
    return {p: (e.first, e.stable) for p, e in log_ends(bootstrap, topic, timeout).items()}


def backlog(conn, bootstrap: str, topic: str, timeout: float = 10.0) -> Backlog:
    """How far the ledger on conn is behind the committed ballot log, read once."""
    log = BallotLog(bootstrap, topic)
    try:
        return log.backlog(counted_ends(conn, topic), timeout)
    finally:
        log.close()
