"""Race calls: only when the runner-up could no longer catch up."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election import contract
from election.contest_totals import ContestTotals, DistrictTotals, voters_by_district
from election.contests import MEASURE, PLURALITY, RANKED, Choice, Contest
from election.race_call import RaceCall, call_contests, call_race, moved, outstanding_votes
from election.rcv import contest_rounds, latest_tallies, rcv_winner


def test_called_when_margin_exceeds_outstanding():
    call = call_race({"x": 60, "y": 40, "z": 10}, outstanding=19)
    assert call == RaceCall("x", "y", 60, 40, 20, 19, True)


def test_not_called_when_margin_equals_outstanding():
    # The runner-up could still tie, and a possible tie is not a call.
    assert not call_race({"x": 60, "y": 40}, outstanding=20).called


def test_not_called_when_margin_is_below_outstanding():
    assert not call_race({"x": 60, "y": 40}, outstanding=21).called


def test_a_tie_is_never_called_even_when_every_vote_is_in():
    call = call_race({"y": 50, "x": 50}, outstanding=0)
    assert not call.called and call.margin == 0
    assert (call.leader, call.runner_up) == ("x", "y")  # ties ordered by id, so stable


def test_every_vote_in_and_a_lead_of_one_is_called():
    assert call_race({"x": 51, "y": 50}, outstanding=0).called


def test_no_votes_or_one_candidate_is_not_called():
    assert call_race({}, 0) == RaceCall(None, None, 0, 0, 0, 0, False)
    assert call_race({"x": 0, "y": 0}, 0).leader is None
    lone = call_race({"x": 10}, 0)
    assert lone.leader == "x" and not lone.called


def test_bad_inputs():
    with pytest.raises(ValueError):
        call_race({"x": 1}, -1)
    with pytest.raises(ValueError):
        call_race({"x": -1, "y": 0}, 0)


def test_to_dict_is_json_safe():
    as_dict = call_race({"x": 3, "y": 1}, 1).to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["called"] is True and as_dict["leader"] == "x"


# --- the outstanding votes, and the calls once the polls are closed -------------------------


def test_outstanding_while_open_is_every_registered_non_voter():
    assert outstanding_votes(100, 60, polls_open=True, untallied=5) == 40


def test_outstanding_once_closed_is_only_the_untallied_ballots():
    assert outstanding_votes(100, 60, polls_open=False, untallied=5) == 5
    assert outstanding_votes(100, 60, polls_open=False, untallied=0) == 0
    # untallied ballots are bounded by those who could still have voted
    assert outstanding_votes(100, 98, polls_open=False, untallied=50) == 2


def test_outstanding_rejects_impossible_counts():
    with pytest.raises(ValueError, match="registered"):
        outstanding_votes(10, 11, polls_open=True)
    with pytest.raises(ValueError, match="negative"):
        outstanding_votes(10, 1, polls_open=False, untallied=-1)


@given(
    st.lists(st.integers(0, 500), min_size=2, max_size=4),
    st.integers(0, 300),
    st.lists(st.integers(0, 3), max_size=300),
)
def test_a_called_race_is_never_lost_by_the_votes_still_outstanding(totals, outstanding, later):
    """Whatever the outstanding votes turn out to be, the called leader stays ahead."""
    names = [f"c{i}" for i in range(len(totals))]
    call = call_race(dict(zip(names, totals, strict=True)), outstanding)
    final = dict(zip(names, totals, strict=True))
    for choice in later[:outstanding]:
        final[names[choice % len(names)]] += 1
    if call.called:
        assert all(
            final[call.leader] > votes for name, votes in final.items() if name != call.leader
        )


# --- contests: several seats, every district, measures and ranked contests --------------


def test_a_vote_for_two_race_is_called_when_the_first_loser_cannot_reach_the_second_seat():
    totals = {"a": 50, "b": 40, "c": 10}
    called = call_race(totals, 29, seats=2)
    assert (called.leader, called.runner_up, called.margin, called.called) == ("a", "c", 30, True)
    assert not call_race(totals, 30, seats=2).called
    # as many candidates as seats: nobody to beat, nothing to call
    assert not call_race({"a": 5, "b": 1}, 0, seats=2).called


@given(
    totals=st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 60), min_size=1),
    outstanding=st.integers(0, 60),
    seats=st.integers(1, 3),
)
def test_a_called_race_keeps_its_winners_whatever_the_outstanding_ballots_do(
    totals, outstanding, seats
):
    call = call_race(totals, outstanding, seats)
    standing = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    winners, losers = standing[:seats], standing[seats:]
    if call.called:
        # even every outstanding ballot for one loser leaves it below the last winner
        assert all(votes + outstanding < winners[-1][1] for _, votes in losers)
    elif losers and winners[0][1] > 0:
        assert max(votes for _, votes in losers) + outstanding >= winners[-1][1]


def test_every_contest_is_called_in_every_district_by_the_same_rule():
    measure = Contest(
        "m-OH", "Issue 1", "state:OH", MEASURE, (Choice("yes", "Yes"), Choice("no", "No"))
    )
    mayor = Contest("rcv", "Mayor", "county:39049", RANKED, (Choice("p", "P"), Choice("q", "Q")))
    totals = ContestTotals([measure, mayor], [("Ohio", "39049"), ("Ohio", "39035")])
    for _ in range(30):
        totals.add(("Ohio", "39049"), {"m-OH": ["yes"], "rcv": ["p"]})
    for _ in range(5):
        totals.add(("Ohio", "39035"), {"m-OH": ["no"]})
    registered = voters_by_district({("Ohio", "39049"): 40, ("Ohio", "39035"): 10})
    assert registered == {"nation": 50, "state:OH": 50, "county:39049": 40, "county:39035": 10}

    calls = call_contests(totals.results, [measure, mayor], registered, polls_open=True)

    # the state: 30 yes to 5 no, 15 voters outstanding; a county: 30 to 0 with 10 outstanding
    assert calls["m-OH|state:OH"].called and calls["m-OH|state:OH"].leader == "yes"
    assert calls["m-OH|county:39049"].called
    assert calls["m-OH|county:39035"].leader == "no"
    assert not calls["m-OH|county:39035"].called  # 5 to 0 with 5 voters still to come
    # a ranked contest: its first choices' leader, 30 of 40 voters (10 outstanding) a majority
    assert calls["rcv|county:39049"].leader == "p" and calls["rcv|county:39049"].called
    closed = call_contests(totals.results, [measure, mayor], registered, polls_open=False)
    assert closed["m-OH|county:39035"].called  # closed and drained: nothing outstanding


NATIONAL = Contest(
    "national", "President", "nation", PLURALITY, (Choice("x", "X"), Choice("y", "Y"))
)


def test_calls_are_keyed_by_contest_and_district_and_name_their_race():
    results = {
        ("national", "nation"): DistrictTotals(9, totals={"x": 6, "y": 3}),
        ("national", "state:OH"): DistrictTotals(9, totals={"x": 6, "y": 3}),
    }
    calls = call_contests(results, [NATIONAL], {"nation": 9, "state:OH": 9}, polls_open=False)

    assert list(calls) == ["national|nation", "national|state:OH"]
    for key, call in calls.items():
        assert key == contract.contest_key(call.contest_id, call.district_id)
        assert call.to_dict()["contest_id"] == "national" and call.called


def test_totals_of_a_contest_the_definition_lacks_are_one_clear_error():
    with pytest.raises(ValueError, match="'gone', a contest the definition lacks"):
        call_contests({("gone", "nation"): DistrictTotals(1, totals={"x": 1})}, [NATIONAL], {})


def test_a_ranked_leader_without_a_majority_of_every_ballot_that_could_count_is_not_called():
    mayor = Contest("rcv", "Mayor", "nation", RANKED, (Choice("p", "P"), Choice("q", "Q")))
    # 5 of 10 ballots is half of them, not a majority: not called, though the runner-up has none
    split = DistrictTotals(10, undervotes=5, totals={"p": 5, "q": 0})
    assert not call_contests({("rcv", "nation"): split}, [mayor], {}, polls_open=False)[
        "rcv|nation"
    ].called
    ahead = DistrictTotals(10, undervotes=4, totals={"p": 6, "q": 0})
    assert call_contests({("rcv", "nation"): ahead}, [mayor], {}, polls_open=False)[
        "rcv|nation"
    ].called


@given(
    first=st.integers(0, 50),
    second=st.integers(0, 50),
    exhausted=st.integers(0, 50),
    outstanding=st.integers(0, 50),
)
def test_a_called_ranked_contest_is_won_in_round_one_whatever_comes(
    first, second, exhausted, outstanding
):
    """Even if every outstanding ballot ranks the runner-up first, a called leader holds more
    than half of round 1's continuing ballots, so wins whatever the later rounds do."""
    mayor = Contest("rcv", "Mayor", "nation", RANKED, (Choice("p", "P"), Choice("q", "Q")))
    ballots = first + second + exhausted
    row = DistrictTotals(ballots, undervotes=exhausted, totals={"p": first, "q": second})
    registered = {"nation": ballots + outstanding}
    call = call_contests({("rcv", "nation"): row}, [mayor], registered)["rcv|nation"]
    if call.called:
        leader, other = (first, second) if call.leader == "p" else (second, first)
        assert 2 * leader > leader + other + outstanding


MAYOR_PQR = Contest(
    "rcv",
    "Mayor",
    "nation",
    RANKED,
    (Choice("p", "Pat"), Choice("q", "Quinn"), Choice("r", "Robin")),
)


def ranked_call(patterns: dict, outstanding: int, district: str = "nation") -> RaceCall:
    """The call of MAYOR_PQR from its ballots' rankings, its first choices as the totals."""
    rounds = contest_rounds(MAYOR_PQR, patterns)
    ballots = sum(patterns.values())
    first = latest_tallies([MAYOR_PQR], {"rcv": rounds[:1]})["rcv"]
    row = DistrictTotals(ballots, undervotes=ballots - sum(first.values()), totals=first)
    registered = {district: ballots + outstanding}
    latest = latest_tallies([MAYOR_PQR], {"rcv": rounds})
    key = f"rcv|{district}"
    return call_contests({("rcv", district): row}, [MAYOR_PQR], registered, True, 0, latest)[key]


def test_a_ranked_contest_is_called_for_the_leader_of_its_latest_round_once_nothing_is_out():
    # Pat leads the first choices 4 to 3 to 2; Robin's two go to Quinn, who wins round 2 5 to 4
    patterns = {("p",): 4, ("q",): 3, ("r", "q"): 2}
    done = ranked_call(patterns, outstanding=0)
    assert (done.leader, done.runner_up, done.margin, done.called) == ("q", "p", 1, True)
    # while a ballot could still come, no majority of every ballot: Quinn leads, not called
    waiting = ranked_call(patterns, outstanding=1)
    assert (waiting.leader, waiting.called) == ("q", False)
    # a first-round majority of every ballot that could count is called at once
    assert ranked_call({("p",): 6, ("q", "p"): 1}, outstanding=2).called
    # and in a district other than its own, the first choices lead
    county = ranked_call(patterns, outstanding=0, district="state:OH")
    assert (county.leader, county.called) == ("p", False)


rankings = st.dictionaries(
    st.lists(st.sampled_from("pqr"), max_size=3, unique=True).map(tuple),
    st.integers(1, 30),
    min_size=1,
    max_size=8,
)


@given(patterns=rankings, outstanding=st.integers(0, 5))
def test_a_called_ranked_contest_is_called_for_the_winner_of_its_rounds(patterns, outstanding):
    rounds = contest_rounds(MAYOR_PQR, patterns)
    call = ranked_call(patterns, outstanding)
    if call.called:
        assert call.leader == rcv_winner(MAYOR_PQR, rounds)
    final = sorted(rounds[-1].tally.values(), reverse=True)
    if outstanding == 0 and final[0] > 0 and (len(final) == 1 or final[0] > final[1]):
        assert call.called and call.leader == rcv_winner(MAYOR_PQR, rounds)


calls = st.builds(
    RaceCall,
    leader=st.sampled_from([None, "x", "y"]),
    runner_up=st.sampled_from([None, "x", "y"]),
    leader_votes=st.integers(0, 5),
    runner_up_votes=st.integers(0, 5),
    margin=st.integers(0, 5),
    outstanding=st.integers(0, 5),
    called=st.booleans(),
)


@given(calls, calls)
def test_a_changed_decision_is_a_change_and_numbers_alone_are_not_a_decision(before, after):
    assert moved(None, after) and moved(None, after, decision_only=True)
    assert moved(before, after) == (before != after)
    if moved(before, after, decision_only=True):
        assert moved(before, after)
    same_decision = replace(
        after, leader=before.leader, runner_up=before.runner_up, called=before.called
    )
    assert not moved(before, same_decision, decision_only=True)
