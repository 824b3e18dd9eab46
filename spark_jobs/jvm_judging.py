"""The generator's plain messages judged in the JVM: the classes of jvm/ (io.realtimevoting.judging).

Nearly every message of an election is one of the vote generator's two plain forms, and nearly
every ballot is clean: every contest on the voter's style, every choice in its contest, no choice
twice. For those the JVM does what a Python worker would, without handing each message over:

- plain_message reads a plain form (PlainMessage): ids, selections and where Kafka's own
  partitioner places the key; judging.parse_ballots hands every other message to
  election.ballots.parse_ballot;
- plain_verdict gives a clean ballot's outcomes (PlainVerdict), the text
  selections_judging.PatternJudge gives; judging.classify hands every other ballot to it. The
  JVM is given the election (spec): each contest with its choices and rules, and each home on the
  roll with its style as the domain computes it (election.contest_totals.ContestTotals.style), so
  no rule of the count is written twice. It answers null for anything it is unsure of;
- roll_lookup finds each ballot's voter on the roll (RollIndex, RollHome): the roll is read
  once into an index broadcast to every executor, so a micro-batch costs its own ballots, not a
  join with the whole roll.

The judging property tests hold both paths equal to the domain's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import NamedTuple

from pyspark.sql import Column, DataFrame
from pyspark.sql import types as T
from pyspark.sql.classic.column import Column as ClassicColumn
from pyspark.sql.classic.column import _to_java_column, _to_seq

from election import contract, counting
from election.contest_totals import ContestTotals, Home
from election.contests import Contest
from election.selections import max_rankings, max_skipped_ranks
from election_io.spark_setup import SetupError

PACKAGE = "io.realtimevoting.judging"
VERDICT_CLASS, MESSAGE_CLASS = "PlainVerdict", "PlainMessage"
INDEX_CLASS, HOME_CLASS, UDFS_CLASS = "RollIndex", "RollHome", "Udfs"
HOME = T.StructType(
    [T.StructField("address_state", T.StringType()), T.StructField("county_fips", T.StringType())]
)
VERDICT = T.StructType(
    [
        T.StructField("outcomes", T.StringType()),
        T.StructField("cells", T.ArrayType(T.StringType())),  # the outcomes' members
        T.StructField("candidate_id", T.StringType()),
        T.StructField("reason", T.StringType()),  # not_on_ballot, unknown_candidate or null
        T.StructField("detail", T.StringType()),
    ]
)
MESSAGE = T.StructType(
    [
        T.StructField("form", T.IntegerType()),
        *(
            T.StructField(name, T.StringType())
            for name in ("vote_id", "voter_id", "candidate_id", "selections")
        ),
        T.StructField("placed", T.IntegerType()),
    ]
)
SEED_FORM, SELECTIONS_FORM = 1, 2  # PlainMessage's forms; 0 (no plain form): parse_ballot's
# a contest's kind as the JVM reads it: its rules, or the domain's for any selection in it
PLURALITY_RULES, RANKED_RULES, DOMAIN_RULES = 0, 1, 2
JAR_HINT = "the tally's jar is missing: run `make services` (it builds jvm/ into .stack/jars/spark)"


def _class(spark, class_name: str):
    """A class of jvm/ (py4j: a package, which raises TypeError when called, if it is not)."""
    return functools.reduce(getattr, f"{PACKAGE}.{class_name}".split("."), spark._jvm)


def _java_udf(spark, class_name: str, returns: T.DataType, *args) -> Callable:
    """A UDF of jvm/ built with args, as a column function of no catalog: a streaming query
    judges in its own clone of the session, which a name registered later would not reach."""
    try:
        made = _class(spark, class_name)(*args)
    except TypeError:  # py4j: no such class on the classpath
        raise SetupError(JAR_HINT) from None
    returned = spark._jsparkSession.parseDataType(returns.json())
    udf = _class(spark, UDFS_CLASS).typed(made, returned)

    def call(*columns: Column) -> Column:
        java = udf.apply(_to_seq(spark.sparkContext, columns, _to_java_column))
        return ClassicColumn(java)

    return call


def plain_message(spark) -> Callable[[Column, Column, Column], Column]:
    """(value, key, partitions) -> MESSAGE, or null: not a plain form (PlainMessage)."""
    return _java_udf(spark, MESSAGE_CLASS, MESSAGE)


class RollLookup(NamedTuple):
    """A roll read into the JVM and broadcast: its voters' homes by voter_id."""

    home: Callable[[Column], Column]  # voter_id -> HOME, or null: not on the roll
    homes: list[Home]  # the distinct (state, county_fips) homes of the roll
    registered: int  # voters on the roll
    shared: object  # the broadcast (py4j), released by release()

    def release(self) -> None:
        """Free the broadcast index (a roll read again replaces it)."""
        self.shared.destroy()


def roll_lookup(spark, voters_df: DataFrame) -> RollLookup:
    """The roll (voter_id, address_state, county_fips) as a broadcast lookup (RollIndex).

    The rows stream from Spark to the driver's JVM, never through Python; each executor gets
    the index once, however many micro-batches it judges.
    """
    rows = voters_df.select("voter_id", "address_state", "county_fips")._jdf.toLocalIterator()
    try:
        index = _class(spark, INDEX_CLASS).of(rows)
    except TypeError:  # py4j: no such class on the classpath
        raise SetupError(JAR_HINT) from None
    shared = spark.sparkContext._jsc.broadcast(index)
    home = _java_udf(spark, HOME_CLASS, HOME, shared)
    return RollLookup(home, _homes(index.homes()), index.size(), shared)


def _homes(text: str) -> list[Home]:
    """RollIndex.homes(): each field "length:text" ("-1:" for none; a length in code points),
    a state then its county."""
    fields: list[str | None] = []
    at = 0
    while at < len(text):
        colon = text.index(":", at)
        length = int(text[at:colon])
        at = colon + 1 + max(length, 0)
        fields.append(text[colon + 1 : at] if length >= 0 else None)
    return list(zip(fields[::2], fields[1::2], strict=True))


def spec(contests: tuple[Contest, ...], homes: Iterable[Home]) -> str:
    """The election as PlainVerdict reads it: each field "length:text", in its order.

    The rejections it gives (not_on_ballot, then unknown_candidate: the reason, its detail's
    text before and after the contest id), the contests (id, id as JSON, vote_for, kind,
    maxRankingsAllowed or -1, choices), then each home (state, county, each as 1 and the text
    or 0 for none; its style's contest numbers). A length counts UTF-16 units, as Java's
    strings do.
    """
    totals = ContestTotals(contests, ())
    number = {c.contest_id: i for i, c in enumerate(totals.contests)}
    fields: list[object] = []
    for reason, template in (
        (contract.NOT_ON_BALLOT, counting.NOT_ON_BALLOT_DETAIL),
        (contract.UNKNOWN_CANDIDATE, counting.UNKNOWN_CANDIDATE_DETAIL),
    ):
        before, after = template.split("{contest_id}")
        fields += [reason, before, after]
    fields.append(len(totals.contests))
    for contest in totals.contests:
        rules = contest.rules or {}
        limit, skips = max_rankings(rules), max_skipped_ranks(rules)
        if totals.rules[contest.contest_id].ranked:
            odd = (limit is not None and limit < 0) or (skips is not None and skips < 0)
            kind = DOMAIN_RULES if odd else RANKED_RULES
        else:
            kind = PLURALITY_RULES
        fields += [contest.contest_id, json.dumps(contest.contest_id, ensure_ascii=False)]
        fields += [contest.vote_for, kind, -1 if limit is None else limit]
        fields += [len(contest.choice_ids), *sorted(contest.choice_ids)]
    for home in sorted(set(homes), key=repr):
        for part in home:
            fields += [0] if part is None else [1, part]
        adds = totals.style(home).adds
        fields += [len(adds), *(number[rule.contest.contest_id] for rule, _rows in adds)]
    return "".join(f"{_java_length(text)}:{text}" for text in map(str, fields))


def _java_length(text: str) -> int:
    """A text's length as Java counts it: in UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def plain_verdict(
    spark, contests: tuple[Contest, ...], homes: Iterable[Home]
) -> Callable[[Column, Column, Column], Column]:
    """(state, county_fips, selections) -> VERDICT (outcomes, cells, candidate_id, reason,
    detail), or null: unsure. cells are the outcomes text's members, one per contest
    ('"id":[...]'); reason is not_on_ballot or unknown_candidate for a ballot that does not
    count, null for one that does (outcomes null: its voter is on no roll)."""
    text = spec(contests, homes)
    return _java_udf(spark, VERDICT_CLASS, VERDICT, text)
