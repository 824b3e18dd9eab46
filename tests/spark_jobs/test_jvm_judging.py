"""The JVM reads a plain message as parse_ballot does; its verdict on a plain ballot is the domain's, and it is unsure of nothing plain.

Every row the JVM judges (PlainVerdict answers non-null) must get exactly the pattern judge's
verdict: the same reason and detail, the same outcomes text, the same national choice. Every
plain ballot must be judged by it (else the fast path would be a slow path in disguise): clean
or naming a contest off its style or a choice not in its contest, of a home it was given or of
a voter on no roll; but for one with an escaped id or in a contest whose rules it leaves to
the domain.
The definition adds to tests/election/test_contest_counting.py's a ranked contest with a
ranking limit, one with rules the JVM leaves to the domain, and ids JSON would escape or
that Java keeps as two UTF-16 units.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from election.ballots import BallotError, parse_ballot
from election.contests import RANKED, Contest
from election.partitioning import murmur2_partition
from election_io.spark_setup import SetupError
from spark_jobs.jvm_judging import plain_message, plain_verdict, roll_lookup, spec
from spark_jobs.selections_judging import PatternJudge, selections_text
from tests.election.test_contest_counting import CONTESTS, choices
from tests.spark_jobs.helpers import PLAIN_TIMES, UNREAL_TIMES, plain_messages_sample

pytestmark = pytest.mark.spark

ODD = ("ch-😀", "Zoë", "ch\u2028", "ch\x7f")
DEFINITION = (
    *CONTESTS,
    Contest(
        "rcv-OH",
        "Judge",
        "state:OH",
        RANKED,
        choices("ch-p", "ch-q", *ODD),
        position=5,
        rules={"maxRankingsAllowed": "2", "maxSkippedRanksAllowed": "0"},
    ),
    Contest(
        "rcv-odd",
        "Clerk",
        "county:39035",
        RANKED,
        choices("ch-p", "ch-q"),
        position=6,
        rules={"maxSkippedRanksAllowed": "-1"},
    ),
    Contest('q"uote\\😀', "Odd", "state:OH", "plurality", choices(*ODD), position=7),
)
HOMES = [("OH", "39049"), ("OH", "39035"), ("TX", "48201"), ("TX", None), ("OH", "")]
OTHER_HOMES = [("UT", None), (None, None), (None, "39049")]  # not given to the JVM
STYLES = {home: PatternJudge(DEFINITION).totals.style(home).adds for home in HOMES}
ALL_CHOICES = sorted({c for contest in DEFINITION for c in contest.choice_ids} | {"zz", ""})


@st.composite
def clean_ballots(draw):
    """A ballot of a given home naming contests on its style with their own choices."""
    home = draw(st.sampled_from(HOMES))
    selections = {}
    for rule, _rows in STYLES[home]:
        contest = rule.contest
        if draw(st.booleans()):
            continue
        ids = sorted(contest.choice_ids)
        most = 2 if contest.contest_id == "rcv-OH" else contest.vote_for + 1
        picked = draw(st.lists(st.sampled_from(ids), unique=True, max_size=min(most, len(ids))))
        selections[contest.contest_id] = picked
    order = draw(st.permutations(list(selections)))
    return home, selections_text({c: selections[c] for c in order})


@st.composite
def stray_ballots(draw):
    """A plain ballot that does not count: a contest off its home's style or a choice not in
    its contest (each selection well-formed for its kind), or any plain ballot of a voter on
    no roll."""
    home = draw(st.sampled_from([*HOMES, (None, None), (None, "39049")]))
    selections = {}
    for contest in draw(
        st.lists(st.sampled_from(DEFINITION), unique_by=lambda c: c.contest_id, max_size=4)
    ):
        ids = [*sorted(contest.choice_ids), "zz", "ch-😀x"]
        most = 2 if contest.contest_id == "rcv-OH" else 3
        selections[contest.contest_id] = draw(
            st.lists(st.sampled_from(ids), unique=True, max_size=most)
        )
    if draw(st.booleans()):
        selections[draw(st.sampled_from(["sen-TX", "zz", "😀", "\uffff", "a"]))] = []
    return home, selections_text(selections)


ANY_SELECTIONS = st.dictionaries(
    st.sampled_from([c.contest_id for c in DEFINITION] + ["sen-TX", "", "zz"]),
    st.lists(st.sampled_from(ALL_CHOICES) | st.none(), max_size=4),
    max_size=5,
)
TEXTS = (
    ANY_SELECTIONS.map(selections_text)
    | st.sampled_from(
        [
            '{"national":["ch-x"],"national":["ch-y"]}',  # a contest twice: last wins in Python
            '{"national":["ch-x"]} ',
            '{"national":["ch-x"]}}',
            '{"national":["ch-\\u0078"]}',
            '{"national":["ch-x",]}',
            '{"national":[["ch-x","ch-y"]]}',
            '{"national":["ch-x"],}',
            "{}",
            "{",
            "",
            '{"":[]}',
        ]
    )
    | st.text(alphabet='{}[]",:\\ch-xyab', max_size=30)
)


@st.composite
def any_rows(draw):
    home = draw(st.sampled_from(HOMES + OTHER_HOMES))
    return home, draw(TEXTS)


def judged_in_spark(spark, rows):
    verdict = plain_verdict(spark, DEFINITION, HOMES)
    frame = spark.createDataFrame(
        [(i, state, county, text) for i, ((state, county), text) in enumerate(rows)],
        "i int, state string, county string, text string",
    )
    found = frame.select("i", verdict(F.col("state"), F.col("county"), F.col("text")).alias("v"))
    return {r.i: r.v for r in found.collect()}


def domain_verdict(judge, home, text):
    try:
        json.loads(text)
    except ValueError:
        return None  # not a selections text: the JVM must be unsure of it
    try:
        return judge.verdict(*home, text)
    except Exception:  # noqa: BLE001 - a shape read_selections refuses is malformed, not clean
        return None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clean=st.lists(clean_ballots(), min_size=1, max_size=60),
    stray=st.lists(stray_ballots(), max_size=40),
    other=st.lists(any_rows(), max_size=60),
)
def test_the_jvm_gives_the_domains_verdict_and_judges_every_plain_ballot(
    spark, clean, stray, other
):
    rows = clean + stray + other
    found = judged_in_spark(spark, rows)
    judge = PatternJudge(DEFINITION)
    for i, (home, text) in enumerate(rows):
        truth = domain_verdict(judge, home, text)
        if found[i] is not None:
            verdict = (found[i].reason, found[i].detail, found[i].outcomes, found[i].candidate_id)
            assert verdict == truth, (home, text)
            if found[i].outcomes is not None:
                assert "{" + ",".join(found[i].cells) + "}" == found[i].outcomes  # its members
        elif i < len(clean) + len(stray) and '"rcv-odd"' not in text and "\\" not in text:
            # an escape (an id JSON escapes) and a contest with odd rules are the domain's
            raise AssertionError(f"a plain ballot was left to the domain: {home} {text}")


def test_every_plain_message_is_read_in_the_jvm_as_parse_ballot_reads_it(spark):
    real = plain_messages_sample(300)
    unreal = plain_messages_sample(60, st.sampled_from(UNREAL_TIMES))
    near = [  # one byte away from a plain form
        *(value + b" " for value in real[:20]),
        *(value.replace(b'"}', b'" }') for value in real[:20]),
        *(value[:-1] for value in real[:20]),
        *(value.replace(b"Z", b"z", 1) for value in real[:20]),
        b'{"vote_id":"a","voter_id":"k","voting_time":"2024-11-05T12:00:00Z","selections":'
        b'{"c":["x"],"c":[]}}',  # a contest twice
        b'{"vote_id":"a","voter_id":"k","voting_time":"2024-11-05T12:00:00Z","selections":'
        b'{"c":["x",]}}',
        b'{"vote_id":"a","voter_id":"k","candidate_id":"\xff","voting_time":"'
        + PLAIN_TIMES[0].encode()
        + b'"}',
        b'{"vote_id":"a","voter_id":"k","candidate_id":"\xed\xa0\x80","voting_time":"'
        + PLAIN_TIMES[0].encode()
        + b'"}',  # an encoded surrogate is not UTF-8
    ]
    values = real + unreal + near
    keys = [
        json.loads(v)["voter_id"].encode() if i < len(real) else b"k" for i, v in enumerate(values)
    ]
    keys[len(real) + len(unreal) :] = [b"k"] * len(near)
    keys[0] = b"someone else"  # the key must be the voter's
    frame = spark.createDataFrame(
        [(i, v, k) for i, (v, k) in enumerate(zip(values, keys, strict=True))],
        "i int, value binary, key binary",
    )
    read = plain_message(spark)(F.col("value"), F.col("key"), F.lit(7))
    found = {r.i: r.m for r in frame.select("i", read.alias("m")).collect()}
    for i, (value, key) in enumerate(zip(values, keys, strict=True)):
        try:
            ballot = parse_ballot(value, key)
        except BallotError:
            ballot = None
        if found[i] is None:
            assert not (0 < i < len(real)), value  # every plain message is read so
            continue
        assert ballot is not None, value
        seed = found[i].form == 1
        assert (found[i].vote_id, found[i].voter_id) == (ballot["vote_id"], ballot["voter_id"])
        assert found[i].candidate_id == (ballot["candidate_id"] if seed else None)
        if not seed:
            assert json.loads(found[i].selections) == {
                c: list(entries) for c, entries in ballot["selections"].items()
            }
        assert found[i].placed == murmur2_partition(key, 7)
    assert found[0] is None and all(found[i] is None for i in range(len(real), len(values)))


UUIDS = st.uuids().map(str)
VOTER_IDS = (
    UUIDS  # the generator's and randomuser.me's shape: kept as 128 bits
    | UUIDS.map(str.upper)  # not canonical: kept as text, never equal to the lowercase one
    | UUIDS.map(lambda u: u[:-1] + "g")  # a near-UUID: a non-hex digit
    | UUIDS.map(lambda u: u.replace("-", "", 1) + "0")  # a near-UUID: a dash moved
    | st.text(max_size=40)  # astral, NUL, empty
)
ROLL_HOMES = st.tuples(
    st.none() | st.sampled_from(["OH", "TX", "😀", "", "a:b"]),
    st.none() | st.sampled_from(["39049", "48201", "", "-1:", "𝔘"]),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    roll=st.dictionaries(VOTER_IDS, ROLL_HOMES, max_size=40),
    strangers=st.lists(VOTER_IDS, max_size=10),
)
def test_the_roll_lookup_finds_each_voters_home_as_a_dict_would(spark, roll, strangers):
    """RollIndex keeps UUIDs as bits and other ids as text: every id finds exactly its home."""
    voters = spark.createDataFrame(
        [(voter_id, *home) for voter_id, home in roll.items()],
        "voter_id string, address_state string, county_fips string",
    )
    lookup = roll_lookup(spark, voters)
    try:
        asked = [*roll, *strangers, None]
        frame = spark.createDataFrame(list(enumerate(asked)), "i int, voter_id string")
        found = {
            r.i: None if r.home is None else (r.home.address_state, r.home.county_fips)
            for r in frame.select("i", lookup.home(F.col("voter_id")).alias("home")).collect()
        }
        assert found == {i: roll.get(voter_id) for i, voter_id in enumerate(asked)}
        assert sorted(lookup.homes, key=repr) == sorted(set(roll.values()), key=repr)
        assert lookup.registered == len(roll)
    finally:
        lookup.release()


def test_a_contest_id_is_measured_in_utf16_units_as_java_counts():
    contest = dataclasses.replace(CONTESTS[0], contest_id="😀")
    assert "2:😀" in spec((contest,), [("OH", None)])


def test_a_session_without_the_jar_gets_one_line_saying_how_to_build_it(spark, monkeypatch):
    monkeypatch.setattr("spark_jobs.jvm_judging.VERDICT_CLASS", "Missing")
    with pytest.raises(SetupError, match="make services"):
        plain_verdict(spark, (dataclasses.replace(CONTESTS[0], name="other"),), HOMES)


def test_a_lookup_and_a_verdict_built_mid_run_serve_the_streaming_querys_own_session(spark):
    """A running query judges in its own clone of the session: a roll read again at the polls'
    opening (or a new election's verdict) must serve it, not only the session it was built in."""
    running = spark.newSession()  # as a streaming query's micro-batches see the catalog
    voters = spark.createDataFrame(
        [("v1", "OH", "39049")], "voter_id string, address_state string, county_fips string"
    )
    lookup = roll_lookup(spark, voters)
    verdict = plain_verdict(spark, DEFINITION, [("TX", "48201")])  # homes no other test has
    try:
        batch = running.createDataFrame([("v1",), ("v2",)], "voter_id string")
        found = batch.select(
            lookup.home(F.col("voter_id")).alias("home"),
            verdict(F.lit("TX"), F.lit("48201"), F.lit("{}")).alias("v"),
        ).collect()
        assert [r.home and r.home.county_fips for r in found] == ["39049", None]
    finally:
        lookup.release()
