"""The counting rules as DataFrame -> DataFrame functions, shared by the live tally and the recount.

No I/O here: the callers bring the Kafka rows, the roll and the candidates. A ballot is
checked in the contract's order (malformed, unknown voter, unknown candidate, polls closed),
then a voter's first valid ballot by (partition, offset) counts and later ones are duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from election import contract
from election.ballots import utc_iso

_CORRUPT = "_corrupt_record"
_BALLOT_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in contract.BALLOT_FIELDS]
    + [T.StructField(_CORRUPT, T.StringType())]
)
# ISO-8601 date and time, optional seconds and fraction, optional Z or offset.
_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?$"
# The value of "candidate_id" inside a raw message: a JSON string or a bare token.
_CHOICE_PATTERN = r'("candidate_id"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)'
SECRET = '"<secret>"'
RAW_LIMIT = 16_384  # characters of a rejected message kept for the record

ROLL_JOINS = ("broadcast", "shuffle_hash")


def _is_json_string(raw: Column, field: str) -> Column:
    """True when the message writes `field` as a JSON string (from_json would stringify 5 too).

    The compact form is a plain substring search; only other spacing needs the regex.
    """
    return raw.contains(f'"{field}":"') | raw.rlike(f'"{field}"\\s*:\\s*"')


def storable(text: Column) -> Column:
    """Text PostgreSQL can keep: valid UTF-8, no NUL characters."""
    return F.translate(F.make_valid_utf8(text), "\u0000", "\ufffd")


def parse_ballots(kafka_df: DataFrame) -> DataFrame:
    """Kafka rows -> one row per message with the ballot's fields and parse_error (null if well-formed)."""
    parsed = kafka_df.select(
        F.col("partition"),
        F.col("offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("value").cast("string").alias("raw"),
    )
    raw = F.col("raw")
    parsed = parsed.withColumn(
        "_m", F.from_json(raw, _BALLOT_SCHEMA, {"columnNameOfCorruptRecord": _CORRUPT})
    )
    text = F.col("_m.voting_time")
    # Spark reads "Z" but not "z" as UTC; Python reads both
    utc = F.when(text.endswith("z"), F.regexp_replace(text, "z$", "Z")).otherwise(text)
    parsed = parsed.withColumn("_t", F.when(text.rlike(_TIME_PATTERN), utc.try_cast("timestamp")))
    error = (
        F.when(raw.isNull(), F.lit("message has no value"))
        .when(~F.is_valid_utf8(raw), F.lit("not UTF-8"))
        .when(
            F.col("_m").isNull() | F.col(f"_m.{_CORRUPT}").isNotNull(), F.lit("not a JSON object")
        )
    )
    for field in contract.BALLOT_FIELDS:
        value = F.col(f"_m.{field}")
        error = (
            error.when(value.isNull(), F.lit(f"missing field '{field}'"))
            .when(~_is_json_string(raw, field), F.lit(f"field '{field}' is not a string"))
            .when(value == "", F.lit(f"field '{field}' is empty"))
        )
    error = error.when(
        F.col("_t").isNull(),
        F.concat(F.lit("voting_time '"), text, F.lit("' is not an ISO-8601 time")),
    )
    parsed = parsed.withColumn("parse_error", error)
    well_formed = F.col("parse_error").isNull()
    vote_id = F.col("_m.vote_id")
    usable_vote_id = (vote_id != "") & F.is_valid_utf8(raw) & _is_json_string(raw, "vote_id")
    return parsed.select(
        "partition",
        "offset",
        "kafka_timestamp",
        "raw",
        # a malformed message keeps its vote_id when it has a usable one: it keys the rejection
        F.when(usable_vote_id, vote_id).alias("vote_id"),
        F.when(well_formed, F.col("_m.voter_id")).alias("voter_id"),
        F.when(well_formed, F.col("_m.candidate_id")).alias("candidate_id"),
        F.when(well_formed, F.col("_t")).alias("voting_time"),
        "parse_error",
    )


def prepare_roll(voters_df: DataFrame, partitions: int) -> DataFrame:
    """The roll hash-partitioned by voter_id and cached, so each micro-batch joins it unshuffled."""
    roll = voters_df.select("voter_id", "address_state").repartition(partitions, "voter_id")
    return roll.cache()


def classify(
    parsed: DataFrame,
    voters_df: DataFrame,
    candidates_df: DataFrame,
    polls_opened_at: datetime | None,
    polls_closed_at: datetime | None,
    roll_join: str = "broadcast",
) -> DataFrame:
    """Adds address_state, reason (null = valid so far) and detail, checked in the contract's order.

    roll_join "broadcast" suits one large batch (the recount); "shuffle_hash" suits many small
    micro-batches against a roll from prepare_roll, which is then never re-broadcast.
    """
    if roll_join not in ROLL_JOINS:
        raise ValueError(f"roll_join must be one of {ROLL_JOINS}, not {roll_join!r}")
    roll = voters_df.select("voter_id", F.col("address_state").alias("_state"))
    if roll_join == "broadcast":
        with_state = parsed.join(F.broadcast(roll), "voter_id", "left")
    else:
        with_state = parsed.hint("shuffle_hash").join(roll, "voter_id", "left")
    running = candidates_df.select("candidate_id", F.lit(True).alias("_running"))
    df = with_state.join(F.broadcast(running), "candidate_id", "left")

    voting_time = F.col("voting_time")
    if polls_opened_at is None:
        outside, window = F.lit(True), "the polls have not opened"
    else:
        outside = voting_time < F.lit(polls_opened_at)
        if polls_closed_at is not None:
            outside = outside | (voting_time > F.lit(polls_closed_at))
        window = f"the polls are open from {utc_iso(polls_opened_at)} to " + (
            utc_iso(polls_closed_at) if polls_closed_at is not None else "now"
        )
    reason = (
        F.when(F.col("parse_error").isNotNull(), F.lit(contract.MALFORMED))
        .when(F.col("_state").isNull(), F.lit(contract.UNKNOWN_VOTER))
        .when(F.col("_running").isNull(), F.lit(contract.UNKNOWN_CANDIDATE))
        .when(outside, F.lit(contract.POLLS_CLOSED))
    )
    detail = (
        F.when(F.col("parse_error").isNotNull(), F.col("parse_error"))
        .when(
            F.col("_state").isNull(),
            F.concat(F.lit("voter '"), F.col("voter_id"), F.lit("' is not on the roll")),
        )
        .when(
            F.col("_running").isNull(),
            F.concat(F.lit("candidate '"), F.col("candidate_id"), F.lit("' is not registered")),
        )
        .when(
            outside,
            F.concat(
                F.lit("cast at "),
                F.date_format(voting_time, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"),
                F.lit(f"; {window}"),
            ),
        )
    )
    return df.select(
        "partition",
        "offset",
        "kafka_timestamp",
        "raw",
        "vote_id",
        "voter_id",
        "candidate_id",
        "voting_time",
        F.col("_state").alias("address_state"),
        reason.alias("reason"),
        detail.alias("detail"),
    )


def first_ballot_per_voter(classified: DataFrame) -> DataFrame:
    """Marks later valid ballots of a voter as duplicates: the first by (partition, offset) counts."""
    valid = F.col("reason").isNull()
    # one window by voter_id (the join already partitions by it); valid ballots sort first
    by_voter = Window.partitionBy("voter_id").orderBy(
        valid.desc(), F.col("partition"), F.col("offset")
    )
    ranked = classified.withColumn("_rank", F.row_number().over(by_voter))
    later = valid & (F.col("_rank") > 1)
    return ranked.select(
        *[c for c in classified.columns if c not in ("reason", "detail")],
        F.when(later, F.lit(contract.DUPLICATE)).otherwise(F.col("reason")).alias("reason"),
        F.when(later, F.lit("the voter has already voted"))
        .otherwise(F.col("detail"))
        .alias("detail"),
    )


def counted(judged: DataFrame) -> DataFrame:
    """The ballots that count."""
    return judged.where(F.col("reason").isNull())


def rejections(judged: DataFrame) -> DataFrame:
    """The rejected messages as rejection records, the voter's choice masked (ballot secrecy)."""
    rejected = judged.where(F.col("reason").isNotNull())
    return rejected.select(
        "partition",
        "offset",
        storable(F.col("vote_id")).alias("vote_id"),
        "reason",
        storable(F.col("detail")).alias("detail"),
        secret_raw(F.col("raw"), F.col("reason")).alias("raw"),
    )


def secret_raw(raw: Column, reason: Column) -> Column:
    """The raw message kept for the record, with the candidate masked unless that is the fault."""
    raw = storable(raw)
    masked = F.when(reason == contract.UNKNOWN_CANDIDATE, raw).otherwise(
        F.regexp_replace(raw, _CHOICE_PATTERN, "$1" + SECRET)
    )
    return F.substring(masked, 1, RAW_LIMIT)


def secret_raw_arrow(raw: pa.Array) -> pa.Array:
    """secret_raw for a rejection decided outside Spark (a duplicate found in the poll book).

    A duplicate was a well-formed ballot, so its raw text is already valid UTF-8 without NUL.
    """
    masked = pc.replace_substring_regex(raw, _CHOICE_PATTERN, r"\1" + SECRET)
    return pc.utf8_slice_codeunits(masked, 0, RAW_LIMIT)


@dataclass(frozen=True)
class Tallies:
    """Vote counts of counted ballots: per candidate, per (state, candidate), per state."""

    by_candidate: DataFrame  # candidate_id, total_votes
    by_state_candidate: DataFrame  # address_state, candidate_id, total_votes
    by_state: DataFrame  # address_state, total_votes


def tally(counted_df: DataFrame) -> Tallies:
    """Counts per candidate, per (state, candidate) and per state."""
    by_state_candidate = counted_df.groupBy("address_state", "candidate_id").agg(
        F.count(F.lit(1)).alias("total_votes")
    )
    return Tallies(
        by_candidate=by_state_candidate.groupBy("candidate_id").agg(
            F.sum("total_votes").cast("long").alias("total_votes")
        ),
        by_state_candidate=by_state_candidate,
        by_state=by_state_candidate.groupBy("address_state").agg(
            F.sum("total_votes").cast("long").alias("total_votes")
        ),
    )
