"""Patterns judged once in Arrow batches give the oracle's verdicts and totals (no Spark session).

The definition and roll are tests/election/test_contest_counting.py's (a nation, Ohio with a
vote-for-2 senate race, a measure and a county race, Texas with a ranked county race).
"""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import contract, counting
from election.ballots import BallotError, parse_ballot
from election.contest_totals import home_of
from election.contests import NATIONAL_CONTEST
from election.rcv import ranking
from spark_jobs.selections_judging import PatternJudge, selections_text
from tests.election.test_contest_counting import CLOSE, CONTESTS, NOON, OPEN, ROLL
from tests.election.test_selections import selection_messages

VOTERS = [*ROLL, "stranger"]
ON_DEFINITION = st.dictionaries(
    st.sampled_from([c.contest_id for c in CONTESTS] + ["sen-TX", ""]),
    st.lists(
        st.sampled_from(["ch-x", "ch-y", "ch-a", "ch-b", "ch-c", "yes", "no", "ch-d", "ch-p", "zz"])
        | st.none(),
        max_size=4,
    ),
    max_size=5,
)


@st.composite
def ballots(draw):
    voter = draw(st.sampled_from(VOTERS))
    if draw(st.booleans()):
        value = json.dumps(
            {
                "vote_id": "b",
                "voter_id": voter,
                "voting_time": "2024-11-05T12:00:00Z",
                "selections": draw(ON_DEFINITION),
            }
        ).encode()
    else:
        value = draw(selection_messages()).replace(
            b'"voter_id": "a"', f'"voter_id": "{voter}"'.encode()
        )
    return voter, value


def verdicts(judge, log):
    """The judge's verdict on every well-formed message, as Arrow batches hand them over."""
    states, counties, texts = [], [], []
    for voter, value in log:
        try:
            ballot = parse_ballot(value, voter.encode())
        except BallotError:
            ballot = None
        state, county = home_of(ROLL[voter]) if voter in ROLL else (None, None)
        states.append(state)
        counties.append(county)
        texts.append(None if ballot is None else selections_text(ballot["selections"]))
    found = judge.judge(*(pa.array(c, pa.string()) for c in (states, counties, texts)))
    return found.to_pylist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=st.lists(ballots(), min_size=1, max_size=40))
def test_each_pattern_gets_the_oracles_verdict_and_outcomes(log):
    messages = [counting.Message(0, i, v.encode(), value, NOON) for i, (v, value) in enumerate(log)]
    truth = counting.count(messages, ROLL, None, OPEN, CLOSE, partitions=None, contests=CONTESTS)
    rejected = {r.offset: r for r in truth.rejections}
    judge = PatternJudge(CONTESTS)
    found = verdicts(judge, log)
    assert found == verdicts(judge, log)  # remembered verdicts are the same
    sums: dict[str, list] = {}
    rankings = {contest_id: Counter() for contest_id in truth.rankings}
    for offset, verdict in enumerate(found):
        oracle = rejected.get(offset)
        if oracle is not None and oracle.reason == contract.MALFORMED and verdict["reason"] is None:
            assert verdict["outcomes"] is None  # malformed as a message: not a pattern
            continue
        if oracle is not None and oracle.reason in (contract.UNKNOWN_VOTER, contract.DUPLICATE):
            assert verdict["reason"] is None and (verdict["outcomes"] is None) == (
                oracle.reason == contract.UNKNOWN_VOTER
            )
            if oracle.reason == contract.UNKNOWN_VOTER:
                continue
        elif oracle is not None:
            assert (verdict["reason"], verdict["detail"]) == (oracle.reason, oracle.detail)
            continue
        assert verdict["reason"] is None and verdict["detail"] is None
        if oracle is not None:  # a duplicate: judged as a pattern like the first ballot
            continue
        national = None
        for contest_id, (votes, over, under, *ranks) in json.loads(verdict["outcomes"]).items():
            if ranks:  # a ranked contest's whole ranking
                rankings[contest_id][ranking(ranks[0])] += 1
            row = sums.setdefault(contest_id, [0, 0, 0, {}])
            row[0], row[1], row[2] = row[0] + 1, row[1] + over, row[2] + under
            for choice in votes:
                row[3][choice] = row[3].get(choice, 0) + 1
            if contest_id == NATIONAL_CONTEST and len(votes) == 1:
                national = votes[0]
        assert verdict["candidate_id"] == national
    for contest in CONTESTS:
        ballots_, over, under, totals = sums.get(contest.contest_id, [0, 0, 0, {}])
        expected = truth.results[(contest.contest_id, contest.district_id)]
        assert (ballots_, over, under) == (
            expected.ballots,
            expected.overvotes,
            expected.undervotes,
        )
        assert {c: n for c, n in expected.totals.items() if n} == totals
    assert rankings == {c: Counter(found) for c, found in truth.rankings.items()}
