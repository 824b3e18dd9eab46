"""Counting by contest: the reasons of a many-contest ballot, and totals per contest and district."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import contract, counting
from election.ballots import parse_ballot
from election.contest_totals import ContestTotals
from election.contests import (
    MEASURE,
    NATIONAL_CONTEST,
    PLURALITY,
    RANKED,
    Choice,
    Contest,
    ballot_style,
    national_contest,
    voter_districts,
)
from tests.election.test_selections import selection_messages

OPEN = dt.datetime(2024, 11, 5, 7, tzinfo=dt.UTC)
CLOSE = dt.datetime(2024, 11, 5, 20, tzinfo=dt.UTC)
NOON = dt.datetime(2024, 11, 5, 12, tzinfo=dt.UTC)


def choices(*ids: str) -> tuple[Choice, ...]:
    return tuple(Choice(i, i.upper()) for i in ids)


NATIONAL = Contest(NATIONAL_CONTEST, "President", "nation", PLURALITY, choices("ch-x", "ch-y"))
SENATE = Contest("sen-OH", "Senate", "state:OH", PLURALITY, choices("ch-a", "ch-b", "ch-c"), 2)
MEASURE_OH = Contest("m-OH", "Issue 1", "state:OH", MEASURE, choices("yes", "no"))
COUNTY = Contest("cty-39049", "Commissioner", "county:39049", PLURALITY, choices("ch-d", "ch-e"))
MAYOR = Contest("rcv-48201", "Mayor", "county:48201", RANKED, choices("ch-p", "ch-q", "ch-r"))
CONTESTS = (NATIONAL, SENATE, MEASURE_OH, COUNTY, MAYOR)
ROLL = {"alice": ("OH", "39049"), "bob": ("OH", "39035"), "carol": ("TX", "48201"), "dan": "TX"}


def ballot(offset, voter, selections=None, at=NOON, candidate_id=None, partition=0):
    fields = {"vote_id": f"b{offset}", "voter_id": voter, "voting_time": "2024-11-05T12:00:00Z"}
    fields.update(
        {"selections": selections} if candidate_id is None else {"candidate_id": candidate_id}
    )
    return counting.Message(partition, offset, voter.encode(), json.dumps(fields).encode(), at)


def tally(log, contests=CONTESTS, roll=ROLL):
    return counting.count(log, roll, None, OPEN, CLOSE, partitions=None, contests=contests)


def row(result, contest_id, district_id):
    found = result.results[(contest_id, district_id)]
    return found.ballots, found.overvotes, found.undervotes, found.totals


def test_each_contest_counts_in_its_district_and_every_district_inside_it():
    result = tally(
        [
            ballot(0, "alice", {NATIONAL_CONTEST: ["ch-x"], "sen-OH": ["ch-a", "ch-b"]}),
            ballot(1, "bob", {NATIONAL_CONTEST: ["ch-y"], "m-OH": ["yes"]}),
            ballot(2, "carol", {"rcv-48201": [None, "ch-q", "ch-p"]}),
        ]
    )
    assert row(result, NATIONAL_CONTEST, "nation") == (3, 0, 1, {"ch-x": 1, "ch-y": 1})
    assert row(result, NATIONAL_CONTEST, "county:39035") == (1, 0, 0, {"ch-x": 0, "ch-y": 1})
    assert row(result, "sen-OH", "state:OH") == (2, 0, 2, {"ch-a": 1, "ch-b": 1, "ch-c": 0})
    assert row(result, "sen-OH", "county:39035") == (1, 0, 2, {"ch-a": 0, "ch-b": 0, "ch-c": 0})
    assert row(result, "m-OH", "state:OH") == (2, 0, 1, {"yes": 1, "no": 0})
    assert row(result, "cty-39049", "county:39049") == (1, 0, 1, {"ch-d": 0, "ch-e": 0})
    assert row(result, "rcv-48201", "county:48201") == (1, 0, 0, {"ch-p": 0, "ch-q": 1, "ch-r": 0})
    # dan lives in Texas, in no county the roll names: his state's rows wait for him with zeros
    assert row(result, NATIONAL_CONTEST, "state:TX") == (1, 0, 1, {"ch-x": 0, "ch-y": 0})
    assert ("sen-OH", "nation") not in result.results  # nothing above a contest's own district
    assert {d for c, d in result.results if c == "cty-39049"} == {"county:39049"}
    assert result.counted == 3 and result.turnout_by_state == {"OH": 2, "TX": 1}
    assert result.per_candidate == {"ch-x": 1, "ch-y": 1}
    assert result.per_state == {("OH", "ch-x"): 1, ("OH", "ch-y"): 1}


def test_over_and_undervotes_are_counted_in_votes_as_offices_report_them():
    result = tally(
        [
            ballot(0, "alice", {"sen-OH": []}),  # blank vote-for-2: 2 undervotes
            ballot(1, "bob", {"sen-OH": ["ch-a", "ch-b", "ch-c"]}),  # overvoted: 2 overvotes
            ballot(0, "carol", {}, partition=1),
        ]
    )
    assert row(result, "sen-OH", "state:OH") == (2, 2, 2, {"ch-a": 0, "ch-b": 0, "ch-c": 0})
    assert row(result, NATIONAL_CONTEST, "nation") == (3, 0, 3, {"ch-x": 0, "ch-y": 0})
    assert row(result, "rcv-48201", "county:48201")[:3] == (1, 0, 1)


@pytest.mark.parametrize(
    ("voter", "selections", "reason", "detail"),
    [
        # a kind's shape is judged before the roll: a stranger's ballot is malformed first
        ("mallory", {"sen-OH": ["ch-a", "ch-a"]}, contract.MALFORMED, "names one choice twice"),
        ("alice", {"sen-OH": [None]}, contract.MALFORMED, "entry 1 is null"),
        (
            "mallory",
            {"nope": ["ch-x"]},
            contract.UNKNOWN_VOTER,
            "voter 'mallory' is not on the roll",
        ),
        ("alice", {"nope": [None, 5]}, contract.MALFORMED, "entry 2 is a number"),
        (
            "alice",
            {"nope": [None]},
            contract.NOT_ON_BALLOT,
            "contest 'nope' is not on the voter's ballot",
        ),
        ("bob", {"cty-39049": ["ch-d"], "sen-OH": ["zz"]}, contract.NOT_ON_BALLOT, "'cty-39049'"),
        ("dan", {"zz": [], "m-OH": []}, contract.NOT_ON_BALLOT, "contest 'm-OH'"),  # lowest id
        ("alice", {"sen-OH": ["zz"], "m-OH": ["zz"]}, contract.UNKNOWN_CANDIDATE, "contest 'm-OH'"),
        ("carol", {"rcv-48201": [["ch-p", "zz"]]}, contract.UNKNOWN_CANDIDATE, "'rcv-48201'"),
    ],
)
def test_a_many_contest_ballot_breaks_the_rules_in_their_order(voter, selections, reason, detail):
    result = tally([ballot(0, voter, selections)])
    (rejection,) = result.rejections
    assert (rejection.reason, rejection.vote_id) == (reason, "b0")
    assert detail in rejection.detail
    assert "zz" not in rejection.detail and "ch-" not in rejection.detail  # the choice is secret
    assert result.counted == 0 and all(r.ballots == 0 for r in result.results.values())


def test_unknown_candidate_comes_before_polls_closed_and_a_rejected_ballot_is_no_vote():
    late = CLOSE + dt.timedelta(seconds=1)
    result = tally(
        [
            ballot(0, "alice", {"sen-OH": ["zz"]}, at=late),
            ballot(1, "alice", {"sen-OH": ["ch-a"], "cty-39049": ["zz"]}),
            ballot(2, "alice", {"sen-OH": ["ch-b"]}),
            ballot(3, "alice", {"sen-OH": ["ch-c"]}),
        ]
    )
    assert [r.reason for r in result.rejections] == [
        contract.UNKNOWN_CANDIDATE,
        contract.UNKNOWN_CANDIDATE,
        contract.DUPLICATE,
    ]
    assert row(result, "sen-OH", "state:OH") == (1, 0, 1, {"ch-a": 0, "ch-b": 1, "ch-c": 0})


def test_a_roll_of_states_alone_puts_no_county_contest_on_a_ballot():
    result = tally([ballot(0, "alice", {"cty-39049": ["ch-d"]})], roll={"alice": "OH"})
    assert result.rejections[0].reason == contract.NOT_ON_BALLOT


def test_count_takes_candidate_ids_or_contests():
    with pytest.raises(ValueError, match="one of the two"):
        counting.count([], ROLL, ["ch-x"], OPEN, CLOSE, partitions=None, contests=CONTESTS)
    with pytest.raises(ValueError, match="one of the two"):
        counting.count([], ROLL, None, OPEN, CLOSE, partitions=None)


# --- properties, for every ballot log -----------------------------------------------------------

VOTERS = [*ROLL, "mallory"]
CONTEST_IDS = [c.contest_id for c in CONTESTS] + ["nope"]
BY_ID = {c.contest_id: c for c in CONTESTS}
RULES = st.sampled_from(
    [
        None,
        {"overvoteRule": "alwaysSkipToNextRank"},
        {"overvoteRule": "exhaustImmediately", "maxSkippedRanksAllowed": "1"},
        {"maxSkippedRanksAllowed": 0},
    ]
)


@st.composite
def elections(draw) -> tuple[Contest, ...]:
    """The test election with drawn vote_for and ranked-contest rules."""
    senate = dataclasses.replace(SENATE, vote_for=draw(st.integers(1, 3)))
    national = dataclasses.replace(NATIONAL, vote_for=draw(st.integers(1, 2)))
    mayor = dataclasses.replace(MAYOR, rules=draw(RULES))
    return (national, senate, MEASURE_OH, COUNTY, mayor)


def _entries(draw, contest_id: str) -> list:
    contest = BY_ID.get(contest_id)
    ids = [c.choice_id for c in contest.choices] if contest else ["ch-x"]
    ids = ids + ["zz"] if draw(st.integers(0, 9)) == 0 else ids
    if contest is not None and contest.kind == RANKED:
        rank = (
            st.none()
            | st.sampled_from(ids)
            | st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True)
        )
        return draw(st.lists(rank, max_size=4))
    entries = draw(st.lists(st.sampled_from(ids), max_size=4, unique=draw(st.integers(0, 19)) > 0))
    return entries + [None] if draw(st.integers(0, 29)) == 0 else entries


@st.composite
def ballot_logs(draw) -> list[counting.Message]:
    log, offsets = [], [0, 0]
    for _ in range(draw(st.integers(0, 25))):
        voter = draw(st.sampled_from(VOTERS))
        partition = VOTERS.index(voter) % 2
        at = NOON if draw(st.integers(0, 9)) else CLOSE
        if draw(st.integers(0, 5)) == 0:
            message = ballot(
                offsets[partition],
                voter,
                at=at,
                partition=partition,
                candidate_id=draw(st.sampled_from(["ch-x", "ch-y", "zz"])),
            )
        else:
            home = counting.home_of(ROLL.get(voter))
            on_style = [c.contest_id for c in ballot_style(CONTESTS, *home)] or CONTEST_IDS
            pool = on_style if draw(st.integers(0, 3)) else CONTEST_IDS
            named = draw(st.lists(st.sampled_from(pool), unique=True, max_size=5))
            selections = {c: _entries(draw, c) for c in named}
            message = ballot(offsets[partition], voter, selections, at=at, partition=partition)
        log.append(message)
        offsets[partition] += 1
    return log


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(contests=elections(), log=ballot_logs())
def test_every_contest_and_district_reconciles(contests, log):
    result = tally(log, contests)
    assert result.counted + len(result.rejections) == len(log)
    rejected = {(r.partition, r.offset) for r in result.rejections}
    homes = [
        counting.home_of(ROLL[json.loads(m.value)["voter_id"]])
        for m in log
        if (m.partition, m.offset) not in rejected
    ]
    by_id = {c.contest_id: c for c in contests}
    for (contest_id, district_id), found in result.results.items():
        contest = by_id[contest_id]
        # ballots x vote_for = votes + overvotes + undervotes
        assert found.ballots * contest.vote_for == found.votes + found.overvotes + found.undervotes
        # the ballots are those counted whose voter lives in the district and sees the contest
        assert found.ballots == sum(
            {district_id, contest.district_id} <= set(voter_districts(*home)) for home in homes
        )


@PROPERTY
@given(contests=elections(), log=ballot_logs(), pick=st.integers(0, 10**6))
def test_a_rejected_ballot_counts_nothing_in_any_contest(contests, log, pick):
    result = tally(log, contests)
    if not result.rejections:
        return
    rejection = result.rejections[pick % len(result.rejections)]
    if rejection.reason != contract.DUPLICATE:  # a duplicate's removal is no different
        assert "ch-" not in rejection.detail or rejection.reason == contract.UNKNOWN_VOTER
    without = [m for m in log if (m.partition, m.offset) != rejection[:2]]
    again = tally(without, contests)
    assert again.results == result.results and again.counted == result.counted


@PROPERTY
@given(
    log=st.lists(
        st.tuples(
            st.sampled_from(VOTERS),
            st.sampled_from(["ch-x", "ch-y", "zz", "é"]),
            st.sampled_from([NOON, CLOSE, OPEN - dt.timedelta(microseconds=1)]),
        ),
        max_size=20,
    )
)
def test_a_seed_ballot_counts_exactly_as_its_one_national_selection(log):
    roll = {voter: home[0] if isinstance(home, tuple) else home for voter, home in ROLL.items()}
    seed = [ballot(i, v, at=at, candidate_id=c) for i, (v, c, at) in enumerate(log)]
    shaped = [ballot(i, v, {NATIONAL_CONTEST: [c]}, at=at) for i, (v, c, at) in enumerate(log)]
    candidates = ["ch-x", "ch-y"]
    expected = counting.count(seed, roll, candidates, OPEN, CLOSE, partitions=None)
    for found in (
        counting.count(shaped, roll, candidates, OPEN, CLOSE, partitions=None),
        tally(seed, (national_contest(candidates),), roll),
    ):
        assert found == expected


@PROPERTY
@given(values=st.lists(selection_messages(), max_size=8), voter=st.sampled_from(VOTERS))
def test_counting_hostile_selections_is_total(values, voter):
    log = [counting.Message(0, i, b"a", v, NOON) for i, v in enumerate(values)]
    result = tally(log, roll={"a": ("OH", "39049"), voter: ("TX", "48201")})
    assert result.counted + len(result.rejections) == len(log)
    assert all(r.reason in contract.REJECTION_REASONS and r.detail for r in result.rejections)


@PROPERTY
@given(contests=elections(), log=ballot_logs())
def test_totals_of_judged_patterns_equal_totals_of_the_ballots(contests, log):
    """The ledger's way: counted ballots grouped by (home, outcomes) with a count, each pattern
    added once as judged, give the oracle's totals to the vote."""
    result = tally(log, contests)
    rejected = {(r.partition, r.offset) for r in result.rejections}
    judged = ContestTotals(contests, ())
    patterns: dict[tuple, int] = {}
    for message in log:
        if (message.partition, message.offset) in rejected:
            continue
        ballot = parse_ballot(message.value, message.key)
        home = counting.home_of(ROLL[ballot["voter_id"]])
        selections = ballot["selections"]
        outcomes = []
        for rule, _rows in judged.style(home).adds:
            entries = selections.get(rule.contest.contest_id)
            o = rule.outcome(entries)
            ranking = [list(entries or ())] if rule.ranked else []  # a ranked one's whole ranking
            outcomes.append((rule.contest.contest_id, [list(o.votes), o.overvotes, o.undervotes]))
            outcomes[-1][1].extend(ranking)
        key = (home, json.dumps(outcomes))
        patterns[key] = patterns.get(key, 0) + 1
    for (home, text), ballots in patterns.items():
        judged.add_judged(home, dict(json.loads(text)), ballots)
    assert judged.rankings == result.rankings  # every ranked contest's rankings, to the ballot
    for key, found in result.results.items():
        mine = judged.results.get(key)
        if found.ballots == 0:
            assert mine is None or mine.ballots == 0
            continue
        assert (mine.ballots, mine.overvotes, mine.undervotes, mine.totals) == (
            found.ballots,
            found.overvotes,
            found.undervotes,
            found.totals,
        )
