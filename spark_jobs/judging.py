"""The counting rules as DataFrame -> DataFrame functions, shared by the live tally and the recount.

No I/O here: the callers bring the Kafka rows, the roll (state and county) and the election's
contests. A ballot is checked in the contract's order (malformed, unknown voter, not on ballot,
unknown candidate, polls closed), then a voter's first valid ballot by (partition, offset)
counts and later ones are duplicates. Well-formedness and placement are judged per message;
what the selections come to, per pattern of (state, county, selections) (selections_judging).
A judged row carries its voter's address_state and county_fips, the national choice
(candidate_id) and the outcome of every contest on its ballot (outcomes) for the ledger.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from election import contract, counting
from election.ballots import BallotError, parse_ballot, utc_iso
from election.contests import Contest
from election.partitioning import MISPLACED_DETAIL, misplaced_detail, murmur2_partitions
from spark_jobs.jvm_judging import (
    SEED_FORM,
    SELECTIONS_FORM,
    RollLookup,
    plain_message,
    plain_verdict,
)
from spark_jobs.selections_judging import (
    VERDICT,
    pattern_verdict,
    seed_selections,
    selections_text,
)

# The vote generator's own plain forms are read in the JVM (jvm_judging.plain_message); every
# other message is judged by election.ballots.parse_ballot itself, in a Python worker, so the
# live tally, the recount and the oracle share one definition.
_VERDICT = T.StructType(
    [
        T.StructField(name, T.StringType())
        for name in ("vote_id", "voter_id", "candidate_id", "selections", "error")
    ]
)
# The value of "candidate_id" or "selections" inside a raw message: a JSON string, a bare
# token, or an array or object with everything after it (a choice may sit at any depth). A key
# with an escape in it may decode to either ("candidate\u005fid"): its value is masked too
# (the possessive runs keep a hostile key's matching linear).
_CHOICE_PATTERN = (
    r'(?s)("(?:candidate_id|selections|[^"\\]*+\\.(?:[^"\\]|\\.)*+)"\s*:\s*)'
    r'("(?:[^"\\]|\\.)*+"|[^,}\]\s\[{][^,}\]\s]*+|[\[{].*)'
)
SECRET = '"<secret>"'
# What a record keeps, in UTF-8 bytes: the driver collects every batch, so each row's text is
# bounded whatever a message carries (votes_topic's door is 64 KiB).
RAW_LIMIT = 1_024
DETAIL_LIMIT = 512
VOTE_ID_LIMIT = 128  # a longer vote_id is unusable for the record (it stays in raw)
# At most this many bytes of text per message reach the driver (a cut character grows by 2).
RECORD_BYTES = RAW_LIMIT + DETAIL_LIMIT + VOTE_ID_LIMIT + 3 * 2


def storable(text: Column) -> Column:
    """Text PostgreSQL can keep: valid UTF-8, no NUL characters."""
    return F.translate(F.make_valid_utf8(text), "\u0000", "\ufffd")


def _judge_in_python(
    slow: pa.Array, keys: pa.Array, values: pa.Array, places: pa.Array, partitions: pa.Array
) -> pa.Array:
    """parse_ballot's verdict and the placement of the messages marked slow (nulls elsewhere).

    A message off its key's murmur2 partition is malformed, unless malformed already.
    """
    n = len(slow)
    columns = {name: [None] * n for name in _VERDICT.fieldNames()}
    count = partitions[0].as_py() if n else None  # None: hand-laid test logs, not placed
    marked = pc.indices_nonzero(pc.fill_null(slow, False))
    for i in marked.to_pylist():
        try:
            ballot = parse_ballot(values[i].as_py(), keys[i].as_py())
        except BallotError as error:
            columns["vote_id"][i] = error.vote_id
            columns["error"][i] = error.detail
            continue
        columns["vote_id"][i] = ballot["vote_id"]
        columns["voter_id"][i] = ballot["voter_id"]
        columns["candidate_id"][i] = ballot["candidate_id"]
        columns["selections"][i] = selections_text(ballot["selections"])
    if count is None or not len(marked):
        return _struct(columns)
    expected = murmur2_partitions(keys.take(marked), count)
    actual = places.take(marked).to_numpy(zero_copy_only=False)
    rows = marked.to_numpy(zero_copy_only=False)
    for j in np.flatnonzero(actual != expected).tolist():
        i = int(rows[j])
        if columns["error"][i] is None:  # a message malformed already keeps its first reason
            columns["error"][i] = misplaced_detail(int(actual[j]), int(expected[j]), count)
    return _struct(columns)


def _struct(columns: dict[str, list]) -> pa.StructArray:
    arrays = [pa.array(values, pa.string()) for values in columns.values()]
    return pa.StructArray.from_arrays(arrays, names=list(columns))


_judge_udf = F.arrow_udf(_judge_in_python, _VERDICT)


Stages = tuple[tuple[Column, ...], ...]  # each the columns of a select, applied in turn


def applied(df: DataFrame, stages: Stages) -> DataFrame:
    """A DataFrame through stages of columns. The columns are unresolved expressions, so one
    set of stages judges every micro-batch: built once, they spare each batch rebuilding
    hundreds of columns through py4j."""
    for columns in stages:
        df = df.select(*columns)
    return df


def parse_ballots(kafka_df: DataFrame, partitions: int | None, python: bool = True) -> DataFrame:
    """Kafka rows -> one row per message (parse_stages)."""
    return applied(kafka_df, parse_stages(kafka_df.sparkSession, partitions, python))


def parse_stages(spark, partitions: int | None, python: bool = True) -> Stages:
    """Kafka rows -> one row per message: ids, selections, parse_error (null if well-formed), time.

    Well-formed is election.ballots.parse_ballot's definition, key included, on the partition
    murmur2 gives the key among votes_topic's `partitions` (None judges no placement: logs a
    test lays out by hand); the JVM reads the generator's plain forms (jvm_judging), and the
    property test holds the two equal. selections is a well-formed ballot's selections_text
    (a seed ballot's: its one selection in the national contest), null for a malformed one;
    form is the message's plain form (SEED_FORM, SELECTIONS_FORM) or 0. python=False leaves
    out the Python worker: a message that is not a plain form (form 0) is then not judged.
    """
    count = F.lit(partitions).cast("int")
    plain = plain_message(spark)(F.col("value"), F.col("key"), count)
    # only what the Python judging needs passes through it: Spark queues every row meanwhile
    flagged = (
        F.col("partition"),
        F.col("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("key"),
        F.col("value"),
        plain.alias("_m"),
    )
    slow = F.col("_m").isNull()
    verdict = (
        _judge_udf(
            slow,
            *(F.when(slow, F.col(name)) for name in ("key", "value", "partition")),
            count,
        )
        if python
        else F.lit(None).cast(_VERDICT)
    )
    parsed = (
        *map(F.col, ("partition", "offset", "kafka_timestamp", "value", "_m")),
        verdict.alias("_v"),
    )
    placed = F.col("_m.placed")
    misplaced = F.when(
        placed != F.col("partition"),
        filled(
            MISPLACED_DETAIL,
            partition=F.col("partition").cast("string"),
            expected=placed.cast("string"),
            partitions=str(partitions),
        ),
    )
    error = F.when(slow, F.col("_v.error")).otherwise(misplaced)
    form = F.coalesce(F.col("_m.form"), F.lit(0))
    selections = (
        F.when(error.isNotNull(), F.lit(None))
        .when(form == SEED_FORM, seed_selections(F.col("_m.candidate_id")))
        .when(form == SELECTIONS_FORM, F.col("_m.selections"))
        .otherwise(F.col("_v.selections"))
    )

    def field(name: str) -> Column:
        return F.when(slow, F.col(f"_v.{name}")).otherwise(F.col(f"_m.{name}")).alias(name)

    return (
        flagged,
        parsed,
        (
            *map(F.col, ("partition", "offset", "kafka_timestamp")),
            F.col("value").cast("string").alias("raw"),
            field("vote_id"),
            field("voter_id"),
            field("candidate_id"),
            selections.alias("selections"),
            error.alias("parse_error"),
            form.alias("form"),
        ),
    )


def classify(
    parsed: DataFrame,
    roll: RollLookup,
    contests: tuple[Contest, ...],
    polls_opened_at: datetime | None,
    polls_closed_at: datetime | None,
    plain: Callable[[Column, Column, Column], Column] | None = None,
    python: bool = True,
) -> DataFrame:
    """parse_ballots' rows judged (classify_stages)."""
    stages = classify_stages(
        parsed.sparkSession, roll, contests, polls_opened_at, polls_closed_at, plain, python
    )
    return applied(parsed, stages)


def classify_stages(
    spark,
    roll: RollLookup,
    contests: tuple[Contest, ...],
    polls_opened_at: datetime | None,
    polls_closed_at: datetime | None,
    plain: Callable[[Column, Column, Column], Column] | None = None,
    python: bool = True,
) -> Stages:
    """Adds address_state, county_fips, reason (null = valid so far), detail, outcomes, cells.

    roll is the roll as the JVM's lookup (jvm_judging.roll_lookup): a ballot costs its own
    lookup, whatever the roll's size. contests are the election's (sources.read_contests). Rules
    are checked in the contract's order; a ballot's selections (not_on_ballot, unknown_candidate,
    outcomes: selections_judging) are judged by plain (the JVM's verdict on a plain ballot,
    plain_verdict; built from the roll's homes when not given) and by the domain's pattern
    judge for every other ballot.
    cells, the outcomes' members one per contest, are set for the JVM's (the ledger totals them
    contest by contest). form (parse_ballots') is carried on for the record's mask (secret_raw).

    python=False judges in the JVM alone: no Python worker runs, and a message the JVM is unsure
    of (not a plain form, or selections the domain's pattern judge would have to judge) is
    marked `unjudged`, its verdict left to a judging with python (spark_jobs.batch_judging).
    """
    every = F.col("*")
    with_state = (
        (every, roll.home(F.col("voter_id")).alias("_home")),
        (
            every,
            F.col("_home.address_state").alias("_state"),
            F.col("_home.county_fips").alias("_county"),
        ),
    )
    if plain is None:
        plain = plain_verdict(spark, tuple(contests), roll.homes)
    clean = (every, plain(F.col("_state"), F.col("_county"), F.col("selections")).alias("_j"))
    unsure = F.col("_j").isNull()  # the domain's pattern judge is handed only these ballots
    verdict = (
        pattern_verdict(tuple(contests))(
            *(F.when(unsure, F.col(name)) for name in ("_state", "_county", "selections"))
        )
        if python
        else F.lit(None).cast(VERDICT)
    )
    judged_plainly = F.struct(
        F.col("_j.reason").alias("reason"),
        F.col("_j.detail").alias("detail"),
        F.col("_j.outcomes").alias("outcomes"),
        F.col("_j.candidate_id").alias("candidate_id"),
    )
    judged_both = (every, F.when(unsure, verdict).otherwise(judged_plainly).alias("_p"))

    # the broker's receipt time decides (LogAppendTime); the voter's voting_time never does
    received = F.col("kafka_timestamp")
    stamp = F.date_format(received, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    if polls_opened_at is None:
        outside = F.lit(True)
        why = F.lit(counting.NOT_OPENED_DETAIL)
    else:
        early = received < F.lit(polls_opened_at)
        late = received >= F.lit(polls_closed_at) if polls_closed_at is not None else F.lit(False)
        outside = early | late
        opened = utc_iso(polls_opened_at)
        why = F.when(early, filled(counting.EARLY_DETAIL, received=stamp, opened=opened))
        if polls_closed_at is not None:
            closed = utc_iso(polls_closed_at)
            why = why.otherwise(filled(counting.LATE_DETAIL, received=stamp, closed=closed))
    judged = F.col("_p.reason")
    # each rule as (broken, detail), checked in the domain's order (the duplicate comes later)
    rules = {
        contract.MALFORMED: (
            F.col("parse_error").isNotNull() | (judged == contract.MALFORMED),
            F.coalesce(F.col("parse_error"), F.col("_p.detail")),
        ),
        contract.UNKNOWN_VOTER: (
            F.col("_state").isNull(),
            filled(counting.UNKNOWN_VOTER_DETAIL, voter_id=F.col("voter_id")),
        ),
        contract.NOT_ON_BALLOT: (judged == contract.NOT_ON_BALLOT, F.col("_p.detail")),
        contract.UNKNOWN_CANDIDATE: (judged == contract.UNKNOWN_CANDIDATE, F.col("_p.detail")),
        contract.POLLS_CLOSED: (outside, why),
    }
    reason, detail = F, F  # F.when starts each chain, Column.when goes on
    for name in counting.CHECK_ORDER[:-1]:
        broken, why_broken = rules[name]
        reason, detail = reason.when(broken, F.lit(name)), detail.when(broken, why_broken)
    judged_all = (
        *map(F.col, ("partition", "offset", "kafka_timestamp", "raw", "vote_id", "voter_id")),
        F.col("form"),
        F.coalesce(F.col("_p.candidate_id"), F.col("candidate_id")).alias("candidate_id"),
        F.col("_state").alias("address_state"),
        F.col("_county").alias("county_fips"),
        reason.alias("reason"),
        detail.alias("detail"),
        F.when(reason.isNull(), F.col("_p.outcomes")).alias("outcomes"),
        F.when(reason.isNull(), F.col("_j.cells")).alias("cells"),
        *([] if python else [((F.col("form") == 0) | unsure).alias("unjudged")]),
    )
    return (*with_state, clean, judged_both, judged_all)


def filled(template: str, **values: Column | str) -> Column:
    """A detail template of election.counting filled with columns (or text), as a column."""
    parts = []
    for text, field, _spec, _conversion in string.Formatter().parse(template):
        if text:
            parts.append(F.lit(text))
        if field is not None:
            value = values[field]
            parts.append(value if isinstance(value, Column) else F.lit(value))
    return F.concat(*parts)


def first_ballot_per_voter(classified: DataFrame) -> DataFrame:
    """Marks later valid ballots of a voter as duplicates: the first by (partition, offset) counts.

    The recount's (a whole log, in Spark); the live tally marks a collected batch the same way
    (batch_outcome.first_ballot_per_voter).
    """
    valid = F.col("reason").isNull()
    # one window by voter_id; valid ballots sort first
    by_voter = Window.partitionBy("voter_id").orderBy(
        valid.desc(), F.col("partition"), F.col("offset")
    )
    ranked = classified.withColumn("_rank", F.row_number().over(by_voter))
    later = valid & (F.col("_rank") > 1)
    return ranked.select(
        *[c for c in classified.columns if c not in ("reason", "detail", "outcomes", "cells")],
        F.when(later, F.lit(contract.DUPLICATE)).otherwise(F.col("reason")).alias("reason"),
        F.when(later, F.lit(counting.DUPLICATE_DETAIL)).otherwise(F.col("detail")).alias("detail"),
        F.when(~later, F.col("outcomes")).alias("outcomes"),
        F.when(~later, F.col("cells")).alias("cells"),
    )


def first_bytes(text: Column, limit: int) -> Column:
    """Storable text cut to at most limit UTF-8 bytes (+2 where a character is cut: U+FFFD)."""
    cut = F.substring(text.cast("binary"), 1, limit).cast("string")
    return F.make_valid_utf8(cut)


def record_vote_id(vote_id: Column) -> Column:
    """The vote_id a record keeps: storable, or null when longer than VOTE_ID_LIMIT bytes."""
    return F.when(F.octet_length(vote_id) <= VOTE_ID_LIMIT, storable(vote_id))


def record_detail(detail: Column) -> Column:
    """A rejection's detail as kept: storable, at most DETAIL_LIMIT bytes."""
    return first_bytes(storable(detail), DETAIL_LIMIT)


def secret_raw(raw: Column, reason: Column, form: Column | None = None) -> Column:
    """The raw message kept for the record: storable, bounded, the choices masked.

    A seed ballot keeps its shape with "<secret>" for the candidate; a selections ballot keeps
    its fields up to "selections", whose value is masked with all that follows it. Only a voter
    who is not on the roll keeps the choices (they are nobody's secret ballot); a valid ballot
    (reason null) is masked too, in case the poll book finds it a duplicate. form (parse_ballots'
    column) lets a plain message be masked by its known layout, as the pattern masks it, without
    running the pattern.
    """
    unregistered = F.coalesce(reason == contract.UNKNOWN_VOTER, F.lit(False))
    masked = F.when(unregistered, storable(raw)).otherwise(
        F.regexp_replace(storable(raw), _CHOICE_PATTERN, "$1" + SECRET)
    )
    if form is not None:  # plain text is storable already: valid UTF-8, no control character
        # in a plain form no id holds a quote: each field's name is met once, where it stands
        candidate, after = '"candidate_id":', ',"voting_time":'
        seed = F.concat(
            F.substring_index(raw, candidate, 1),
            F.lit(candidate + SECRET + after),
            F.substring_index(raw, after, -1),
        )
        field = '"selections":'
        selections = F.concat(F.substring_index(raw, field, 1), F.lit(field + SECRET))
        masked = (
            F.when(unregistered, masked)
            .when(form == SEED_FORM, seed)
            .when(form == SELECTIONS_FORM, selections)
            .otherwise(masked)
        )
    return first_bytes(masked, RAW_LIMIT)  # masked first: a cut value would not match
