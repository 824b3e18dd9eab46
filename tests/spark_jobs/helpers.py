"""Small ballot logs for the tally's tests: Kafka-shaped rows, a roll, candidates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from election import contract, counting
from election.contest_totals import home_of
from election.contests import (
    MEASURE,
    NATIONAL_CONTEST,
    PLURALITY,
    Choice,
    Contest,
    national_contest,
)
from spark_jobs import judging, jvm_judging

OPENED = datetime(2024, 11, 5, 7, 0, tzinfo=UTC)
CLOSED = datetime(2024, 11, 5, 20, 0, tzinfo=UTC)
ROLL = {"v1": "Ohio", "v2": "Texas", "v3": "Ohio", "v4": "Utah", "v5": "Texas"}
CANDIDATES = ("c1", "c2", "c3")
RECEIVED = datetime(2024, 11, 5, 12, 0, 1, tzinfo=UTC)  # when the broker stamped a test ballot


def _choices(*ids: str) -> tuple[Choice, ...]:
    return tuple(Choice(i, i.upper()) for i in ids)


# A small definition for selections ballots: nation + two states + a county, plurality
# vote for 1 and 2, a measure; v1 lives in the county, v4 in a state with no contest.
SELECTIONS_CONTESTS = (
    Contest(NATIONAL_CONTEST, "President", "nation", PLURALITY, _choices(*CANDIDATES)),
    Contest("sen-OH", "Senate", "state:OH", PLURALITY, _choices("a", "b", "c"), vote_for=2),
    Contest("m-OH", "Issue 1", "state:OH", MEASURE, _choices("yes", "no"), position=1),
    Contest("sen-TX", "Senate", "state:TX", PLURALITY, _choices("a", "d"), position=2),
    Contest("cty-39049", "Commissioner", "county:39049", PLURALITY, _choices("e", "f"), position=3),
)
SELECTIONS_ROLL = {
    "v1": ("Ohio", "39049"),
    "v2": ("Texas", "48201"),
    "v3": ("Ohio", "39035"),
    "v4": ("Utah", None),
    "v5": ("Texas", None),
    # more voters, so a log counts more than five ballots
    **{f"w{i}": (("Ohio", "39049"), ("Ohio", None), ("Texas", "48201"))[i % 3] for i in range(15)},
}
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)


def ballot(
    vote_id: str,
    voter_id: str,
    candidate_id: str,
    at: str = "2024-11-05T12:00:00Z",
    compact: bool = False,
) -> bytes:
    """One seed ballot; compact is the generator's own form, otherwise JSON with spaces."""
    fields = {"vote_id": vote_id, "voter_id": voter_id, "candidate_id": candidate_id}
    return _message({**fields, "voting_time": at}, compact)


def selections_ballot(
    vote_id: str, voter_id: str, selections, at: str = "2024-11-05T12:00:00Z", compact=True
) -> bytes:
    """A selections ballot, its fields in the generator's order (compact: its plain form)."""
    fields = {"vote_id": vote_id, "voter_id": voter_id, "voting_time": at}
    return _message({**fields, "selections": selections}, compact)


def _message(fields: dict, compact: bool) -> bytes:
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(fields, separators=separators).encode()


def keyed(messages, received_at: datetime = RECEIVED) -> list[counting.Message]:
    """(partition, offset, value) triples as votes_topic holds them: keyed by the voter_id the
    value names (as the generator keys them), received at one moment; full Messages pass."""
    out = []
    for message in messages:
        if len(message) == 5:
            out.append(counting.Message(*message))
            continue
        partition, offset, value = message
        out.append(counting.Message(partition, offset, _named_voter(value), value, received_at))
    return out


def selections_truth(messages, opened=OPENED, closed=CLOSED, partitions=None) -> counting.Count:
    """The oracle's count of messages (keyed) over SELECTIONS_ROLL and SELECTIONS_CONTESTS."""
    return counting.count(
        keyed(messages),
        SELECTIONS_ROLL,
        None,
        opened,
        closed,
        partitions=partitions,
        contests=SELECTIONS_CONTESTS,
    )


def _named_voter(value) -> bytes | None:
    try:
        voter_id = json.loads(value).get("voter_id")
    except (TypeError, ValueError, AttributeError, RecursionError):
        return None
    return voter_id.encode("utf-8", "surrogatepass") if isinstance(voter_id, str) else None


def kafka_rows(spark, messages):
    """A DataFrame shaped like Spark's Kafka source from Messages or (partition, offset, value)."""
    rows = [
        (
            m.key.encode() if isinstance(m.key, str) else m.key,
            m.value.encode() if isinstance(m.value, str) else m.value,
            contract.VOTES_TOPIC,
            m.partition,
            m.offset,
            m.received_at.astimezone(UTC).replace(tzinfo=None),  # the session is in UTC
            1,  # LogAppendTime
        )
        for m in keyed(messages)
    ]
    return spark.createDataFrame(rows, KAFKA_SCHEMA)


def roll_df(spark, roll=None):
    """The roll {voter_id: state} or {voter_id: (state, county_fips)} as the tally reads it."""
    roll = ROLL if roll is None else roll
    rows = [(voter_id, *home_of(home)) for voter_id, home in sorted(roll.items())]
    return spark.createDataFrame(rows, "voter_id string, address_state string, county_fips string")


def candidates_df(spark, candidates=CANDIDATES):
    rows = [(c, f"Name {c}", f"Party {c}", f"https://example.org/{c}.jpg") for c in candidates]
    return spark.createDataFrame(
        rows,
        "candidate_id string, candidate_name string, party_affiliation string, photo_url string",
    )


def classify_batch(
    spark, messages, roll=None, closed=CLOSED, partitions=None, contests=None
) -> DataFrame:
    """Messages parsed and classified as one batch of the tally (the duplicate check to come).

    partitions is the topic's partition count; None judges no placement (hand-laid logs).
    contests are the election's; None: the national contest of CANDIDATES. The JVM's verdict
    and the roll's lookup are built as the live tally builds them (BatchJudging.read).
    """
    roll = ROLL if roll is None else roll
    contests = (national_contest(CANDIDATES),) if contests is None else contests
    lookup = jvm_judging.roll_lookup(spark, roll_df(spark, roll))
    return judging.classify(
        judging.parse_ballots(kafka_rows(spark, messages), partitions),
        lookup,
        contests,
        OPENED,
        closed,
        plain=jvm_judging.plain_verdict(spark, contests, lookup.homes),
    )


def judge_batch(
    spark, messages, roll=None, closed=CLOSED, partitions=None, contests=None
) -> DataFrame:
    """Messages judged as one batch in Spark, as the recount judges: classify_batch, then the
    first ballot per voter. The live tally marks the duplicates of the collected batch instead
    (batch_outcome.first_ballot_per_voter); test_batch_outcome holds the two equal."""
    classified = classify_batch(spark, messages, roll, closed, partitions, contests)
    return judging.first_ballot_per_voter(classified)


# --- what the tests count the judged messages with (the recount counts in one pass itself) ---


def counted(judged: DataFrame) -> DataFrame:
    """The ballots that count."""
    return judged.where(F.col("reason").isNull())


def rejections(judged: DataFrame) -> DataFrame:
    """The rejected messages as rejection records: storable, bounded, the choice masked."""
    rejected = judged.where(F.col("reason").isNotNull())
    return rejected.select(
        "partition",
        "offset",
        judging.record_vote_id(F.col("vote_id")).alias("vote_id"),
        "reason",
        judging.record_detail(F.col("detail")).alias("detail"),
        judging.secret_raw(F.col("raw"), F.col("reason"), F.col("form")).alias("raw"),
    )


@dataclass(frozen=True)
class Totals:
    """Vote counts of counted ballots: per candidate, per (state, candidate), per state."""

    by_candidate: DataFrame  # candidate_id, total_votes
    by_state_candidate: DataFrame  # address_state, candidate_id, total_votes
    by_state: DataFrame  # address_state, total_votes


def totals(counted_df: DataFrame) -> Totals:
    """Counts per candidate, per (state, candidate) and per state."""
    by_state_candidate = counted_df.groupBy("address_state", "candidate_id").agg(
        F.count(F.lit(1)).alias("total_votes")
    )
    return Totals(
        by_candidate=by_state_candidate.groupBy("candidate_id").agg(
            F.sum("total_votes").cast("long").alias("total_votes")
        ),
        by_state_candidate=by_state_candidate,
        by_state=by_state_candidate.groupBy("address_state").agg(
            F.sum("total_votes").cast("long").alias("total_votes")
        ),
    )


PLAIN_ID = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters='"\\').filter(
        lambda c: ord(c) >= 0x20
    ),
    min_size=1,
    max_size=12,
)
# a plain time is a real one: the JVM reads these, and refuses the others
PLAIN_TIMES = (
    "2024-11-05T12:00:00Z",
    "2024-02-29T23:59:59.999999Z",
    "2000-02-29T00:00:00.5Z",
    "1000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
)
UNREAL_TIMES = (
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-11-05T24:00:00Z",
    "0999-12-31T23:59:59Z",
    "2024-11-05T12:00:00.1234567Z",
)


@st.composite
def plain_messages(draw, times=None) -> bytes:
    """The generator's plain forms, ids drawn from all a plain id may hold (any character but
    quotes, backslashes and control characters), "selections" and "candidate_id" as ids too."""
    ids = PLAIN_ID | st.sampled_from(["selections", "candidate_id", "<secret>", ":["])
    vote_id, voter_id = draw(ids), draw(ids)
    at = draw(st.sampled_from(PLAIN_TIMES) if times is None else times)
    if draw(st.booleans()):
        fields = {"vote_id": vote_id, "voter_id": voter_id, "candidate_id": draw(ids)}
        fields["voting_time"] = at
    else:
        chosen = draw(st.dictionaries(ids, st.lists(ids, max_size=3), max_size=4))
        fields = {"vote_id": vote_id, "voter_id": voter_id, "voting_time": at, "selections": chosen}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def plain_messages_sample(n: int = 300, times=None) -> list[bytes]:
    """n plain messages drawn once (one Spark query judges them all)."""
    found = []

    @settings(max_examples=n, database=None, deadline=None)
    @given(plain_messages(times))
    def draw(value):
        found.append(value)

    draw()
    return found
