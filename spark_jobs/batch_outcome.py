"""What a judged micro-batch holds once collected, and the shapes the ledger stages it in.

The outcome table carries every message of a batch: ballot fields for the valid, a rejection
record for the rejected; the writer splits it into staged ballots and staged rejections.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from election import contract, counting
from election_io.elections import ElectionNow
from spark_jobs import judging

OUTCOME_COLUMNS = (
    "partition",
    "offset",
    "kafka_timestamp",
    "voter_id",
    "candidate_id",
    "address_state",
    "county_fips",
    "outcomes",
    "cells",
    "vote_id",
    "reason",
    "detail",
    "raw",
)


def collect_outcome(judged):
    """Every message of the batch, to the driver with Arrow (outcome_columns)."""
    return judged.select(*outcome_columns("unjudged" in judged.columns)).toArrow()


def outcome_columns(unjudged: bool) -> tuple:
    """What reaches the driver of every message: ballot fields for the valid, a record for
    the rejected; unjudged: the `unjudged` column of a batch judged in the JVM alone
    (judging.classify's python=False) too.

    Only bounded text reaches the driver (judging.RECORD_BYTES per message beside registered
    ids): the record's vote_id, detail and raw, the raw masked and cut for valid ballots too,
    as the poll book may find one a duplicate. A ballot the JVM judged brings its outcomes as
    cells only (staged_ballots joins them).
    """
    from pyspark.sql import functions as F

    valid = F.col("reason").isNull()
    return (
        *map(F.col, ("partition", "offset", "kafka_timestamp")),
        F.when(valid, F.col("voter_id")).alias("voter_id"),
        F.when(valid, F.col("candidate_id")).alias("candidate_id"),
        F.when(valid, F.col("address_state")).alias("address_state"),
        F.when(valid, F.col("county_fips")).alias("county_fips"),
        F.when(valid & F.col("cells").isNull(), F.col("outcomes")).alias("outcomes"),
        F.when(valid, F.col("cells")).alias("cells"),
        judging.record_vote_id(F.col("vote_id")).alias("vote_id"),
        F.col("reason"),
        judging.record_detail(F.col("detail")).alias("detail"),
        judging.secret_raw(F.col("raw"), F.col("reason"), F.col("form")).alias("raw"),
        *([F.col("unjudged")] if unjudged else []),
    )


PLACE_BITS = 40  # a message's place is partition << PLACE_BITS | offset (offsets stay below)


def places(table: pa.Table, partition: str = "partition", offset: str = "offset"):
    """Each row's place on the topic as one number."""
    return pc.add(pc.shift_left(table[partition].cast(pa.int64()), PLACE_BITS), table[offset])


BALLOT_FIELDS = ("voter_id", "candidate_id", "address_state", "county_fips", "outcomes", "cells")


def first_ballot_per_voter(outcome: pa.Table) -> pa.Table:
    """Marks later valid ballots of a voter as duplicates: the first by (partition, offset) counts.

    The rule of judging.first_ballot_per_voter, on the collected batch (no shuffle in Spark):
    a duplicate keeps its record (vote_id, raw: masked as a valid ballot's is already) and
    loses its ballot fields, as collect_outcome leaves any rejected message.
    """
    valid = pc.is_null(outcome["reason"])
    voters = pc.filter(outcome["voter_id"], valid)
    if pc.count_distinct(voters).as_py() == len(voters):
        return outcome  # nobody voted twice in the batch
    place = places(outcome)
    ballots = pa.table({"voter_id": voters, "place": pc.filter(place, valid)})
    firsts = ballots.group_by("voter_id").aggregate([("place", "min")])["place_min"]
    later = pc.and_(valid, pc.invert(pc.is_in(place, value_set=firsts.combine_chunks())))
    columns = {}
    for name in outcome.column_names:
        column = outcome[name]
        if name in BALLOT_FIELDS:
            column = pc.if_else(later, pa.scalar(None, column.type), column)
        elif name == "reason":
            column = pc.if_else(later, contract.DUPLICATE, column)
        elif name == "detail":
            column = pc.if_else(later, counting.DUPLICATE_DETAIL, column)
        columns[name] = column
    return pa.table(columns)


def staged_ballots(first: pa.Table) -> pa.Table:
    """First valid ballots in the staging table's shape (times as epoch microseconds).

    The ledger's time of a ballot is the broker's receipt, the time the counting rules use;
    the voter's own voting_time is not kept. outcomes is each contest's outcome as judged
    (spark_jobs.selections_judging), null only where nothing judged the contests, joined from
    its cells where the JVM judged it; cells stay for the totals (contest_ledger).
    """
    return pa.table(
        {
            "topic_partition": first["partition"],
            "topic_offset": first["offset"],
            "voter_id": first["voter_id"],
            "candidate_id": first["candidate_id"],
            "address_state": first["address_state"],
            "county_fips": first["county_fips"].cast(pa.string()),
            "outcomes": outcomes_text(first["outcomes"], first["cells"]),
            "voting_us": first["kafka_timestamp"]
            .cast(pa.timestamp("us", tz="UTC"))
            .cast(pa.int64()),
            "cells": first["cells"],  # for the totals (contest_ledger), not staged
        }
    )


def split(outcome: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A judged batch (duplicates within it marked) as the ledger stages it: each voter's first
    valid ballot (staged_ballots), and the rejected messages (as_staged)."""
    valid = pc.is_null(outcome["reason"])
    return staged_ballots(outcome.filter(valid)), as_staged(outcome.filter(pc.invert(valid)))


def outcomes_text(outcomes: pa.ChunkedArray, cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each ballot's outcomes text: as judged, or its cells joined into the JSON object."""
    joined = pc.binary_join_element_wise("{", pc.binary_join(cells, ","), "}", "")
    return pc.coalesce(outcomes.cast(pa.string()), joined.cast(pa.string()))


def as_staged(table: pa.Table) -> pa.Table:
    """A judged table with the staging tables' names for a message's place on the topic."""
    return table.rename_columns(
        [
            "topic_partition" if c == "partition" else "topic_offset" if c == "offset" else c
            for c in table.column_names
        ]
    )


def _at_places(table: pa.Table, partition: str, offset: str, at: list[tuple[int, int]]):
    """A mask of the rows of table at the (partition, offset) places given."""
    wanted = pa.array([(p << PLACE_BITS) + o for p, o in at], pa.int64())
    return pc.is_in(places(table, partition, offset), value_set=wanted)


def counted_ballots(first_ballots: pa.Table, again: list[tuple[int, int]]) -> pa.Table:
    """The staged first ballots that count: without those the poll book found duplicates."""
    if not again:
        return first_ballots
    found = _at_places(first_ballots, "topic_partition", "topic_offset", again)
    return first_ballots.filter(pc.invert(found))


def duplicate_rejections(outcome: pa.Table, places: list[tuple[int, int]]) -> pa.Table:
    """Rejection rows (as staged) for first ballots whose voter voted in an earlier batch."""
    found = outcome.filter(_at_places(outcome, "partition", "offset", places))
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


def check_window(used: ElectionNow, now: ElectionNow, first_ballots: pa.Table):
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


class WindowChanged(RuntimeError):
    """The polls closed while a batch was judged, before ballots it counted: judge it again."""
