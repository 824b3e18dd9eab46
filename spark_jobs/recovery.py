"""After a crash: the batches left pending, and whether the checkpoint and the ledger agree.

A batch Spark finished but the ledger had not committed is read back from the ballot log
and committed; one committed but perhaps not published is published again. A checkpoint
that tells another story than the ledger is a StateMismatch: no restart can fix it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from election_io.ballot_log import counted_ends
from election_io.elections import read_election_now
from spark_jobs import ledger, pending, sources


class StateMismatch(RuntimeError):
    """The checkpoint and the ledger tell different stories; the message says what to do."""


def checkpoint_batches(checkpoint: str) -> tuple[int | None, int | None]:
    """Micro-batches the checkpoint has planned and finished; None when it is not a local folder."""
    if not pending.PendingBatches.usable(checkpoint):
        return None, None
    folder = Path(checkpoint.removeprefix("file:"))

    def count(name: str) -> int:
        entries = folder / name
        return sum(1 for p in entries.iterdir() if p.name.isdigit()) if entries.is_dir() else 0

    return count("offsets"), count("commits")


def check_checkpoint(conn, query_name: str, checkpoint: str) -> None:
    """The checkpoint and the ledger must tell the same story (same election, same topic)."""
    committed = ledger.committed_batches(conn, query_name)
    planned, done = checkpoint_batches(checkpoint)
    if planned == 0 and committed:
        raise StateMismatch(
            f"the ledger holds {committed} committed batches of query "
            f"'{query_name}' but the checkpoint {checkpoint} is empty: "
            "restore the checkpoint, or use a new --query-name to resume from the ledger"
        )
    if done and not committed:
        raise StateMismatch(
            f"the checkpoint {checkpoint} has {done} batches but the "
            f"ledger has none of query '{query_name}': it belongs to an earlier "
            "election; delete it"
        )


def checkpoint_ends(checkpoint: str, topic: str) -> dict[int, int]:
    """{partition: end offset} of the last batch the checkpoint planned; {} when there is none.

    Spark writes offsets/<batch> as a version line, a metadata line, then one JSON line per
    source: {"topic": {"partition": end offset}}.
    """
    if not pending.PendingBatches.usable(checkpoint):
        return {}
    folder = Path(checkpoint.removeprefix("file:")) / "offsets"
    batches = [int(p.name) for p in folder.iterdir() if p.name.isdigit()] if folder.is_dir() else []
    if not batches:
        return {}
    lines = (folder / str(max(batches))).read_text().splitlines()
    for line in lines[2:]:
        ends = json.loads(line).get(topic)
        if ends:
            return {int(p): int(o) for p, o in ends.items()}
    return {}


def stale_checkpoint(conn, checkpoint: str, topic: str) -> dict[int, tuple[int, int]]:
    """Partitions the ledger has counted past the checkpoint: {partition: (checkpoint, ledger)}.

    A run under another query name counted them; resuming this checkpoint would judge counted
    ballots again.
    """
    ends = checkpoint_ends(checkpoint, topic)
    if not ends:
        return {}
    counted = counted_ends(conn, topic)
    return {p: (ends.get(p, 0), n) for p, n in sorted(counted.items()) if n > ends.get(p, 0)}


def check_not_stale(conn, query_name: str, checkpoint: str, topic: str) -> None:
    """A checkpoint the ledger has counted past (under another query name) is never resumed."""
    behind = stale_checkpoint(conn, checkpoint, topic)
    if behind:
        where = ", ".join(f"partition {p}: {mine} < {n}" for p, (mine, n) in behind.items())
        others = [q for q in ledger.query_names(conn, topic) if q != query_name]
        raise StateMismatch(
            f"the checkpoint {checkpoint} of query '{query_name}' ends before what the ledger "
            f"has counted ({where}): resuming it would judge counted ballots again; go on with "
            f"--query-name {others[-1] if others else 'NAME'}, or delete the checkpoint and use "
            "a new query name"
        )


def check_topic(conn, topic: str) -> None:
    """One ledger counts one ballot log: another topic's batches mean another election."""
    others = [t for t in ledger.counted_topics(conn) if t != topic]
    if others:
        raise StateMismatch(
            f"this ledger counts the ballot log {others[0]}, not {topic}: tally {others[0]}, "
            "or count the other log in a new election's database"
        )


def starting_offsets(conn, topic: str, partitions) -> dict[int, int] | None:
    """Where a new checkpoint starts reading: after what the ledger has counted of the topic.

    A new query name is a new checkpoint over the same ledger, a restart of the same count:
    offsets committed under any name are never judged again. None when nothing is counted.
    """
    ends = counted_ends(conn, topic)
    if not ends:
        return None
    return {p: ends.get(p, sources.EARLIEST) for p in sorted(set(partitions) | set(ends))}


def check_replay(
    batch_id: int, ranges, record: ledger.BatchRecord, topic: str, query_name: str
) -> None:
    """A committed batch comes again after a restart: it must cover the same offsets."""
    if ranges != record.ranges or record.topic != topic:
        raise StateMismatch(
            f"batch {batch_id} of query '{query_name}' was committed for "
            f"{record.topic} {record.ranges} but now covers {topic} {ranges}: "
            "the checkpoint does not belong to this ledger"
        )


def replayed_ranges(batch_df) -> dict[int, tuple[int, int]]:
    """partition -> (first offset, last offset) of a micro-batch, computed in Spark."""
    from pyspark.sql import functions as F

    rows = batch_df.groupBy("partition").agg(F.min("offset"), F.max("offset")).collect()
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def recover_pending(spark, book, conn, query_name, topic, bootstrap, judge, writer) -> None:
    """Commit the batches Spark finished but the ledger had not when the last run died.

    judge(messages, batch_id, window, started) judges a batch read back from the log into a
    JudgedBatch; writer is the LedgerWriter, which commits and publishes it.
    """
    for batch in book.all():
        record = ledger.committed_batch(conn, query_name, batch.batch_id)
        if record is not None:  # committed, perhaps not published: publish it again
            window = read_election_now(conn)
            writer.republish(batch.batch_id, record, window, time.monotonic(), recovered=True)
            book.remove(batch.batch_id)
            continue
        if batch.topic != topic:
            raise StateMismatch(
                f"batch {batch.batch_id} pending in {book.folder.parent} is of topic "
                f"{batch.topic}, not {topic}"
            )
        started = time.monotonic()
        offsets = {p: (first, last + 1) for p, (first, last) in batch.ranges.items()}
        messages = sources.kafka_batch(spark, bootstrap, batch.topic, offsets)
        window = read_election_now(conn)
        judged = judge(messages, batch.batch_id, window, started)
        if judged.ranges != batch.ranges:
            raise StateMismatch(
                f"pending batch {batch.batch_id} covered {batch.ranges} but reads back as "
                f"{judged.ranges}"
            )
        writer.commit_and_publish(dataclasses.replace(judged, recovered=True))
