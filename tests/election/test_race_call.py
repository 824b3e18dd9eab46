"""Race calls: only when the runner-up could no longer catch up."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election.contest_totals import ContestTotals, voters_by_district
from election.contests import MEASURE, RANKED, Choice, Contest
from election.race_call import (
    NATION,
    RaceCall,
    call_contests,
    call_nation,
    call_race,
    call_states,
    outstanding_votes,
)


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


def test_call_states():
    per_state = {("Ohio", "x"): 70, ("Ohio", "y"): 20, ("Texas", "x"): 10, ("Texas", "y"): 12}
    calls = call_states(
        per_state, {"Ohio": 100, "Texas": 100, "Utah": 5}, {"Ohio": 90, "Texas": 22}
    )
    assert set(calls) == {"Ohio", "Texas", "Utah"}
    assert calls["Ohio"].called and calls["Ohio"].leader == "x" and calls["Ohio"].outstanding == 10
    assert not calls["Texas"].called and calls["Texas"].leader == "y"
    assert (
        not calls["Utah"].called and calls["Utah"].leader is None and calls["Utah"].outstanding == 5
    )


def test_a_candidate_without_votes_in_a_state_is_still_the_runner_up():
    calls = call_states(
        {("Ohio", "x"): 10, ("Texas", "y"): 1}, {"Ohio": 10, "Texas": 10}, {"Ohio": 10, "Texas": 1}
    )
    assert calls["Ohio"] == RaceCall("x", "y", 10, 0, 10, 0, True)
    explicit = call_states({("Ohio", "x"): 10}, {"Ohio": 10}, {"Ohio": 10}, candidates=["x", "w"])
    assert explicit["Ohio"].runner_up == "w" and explicit["Ohio"].called


def test_more_voted_than_registered_is_an_error():
    with pytest.raises(ValueError, match="Ohio"):
        call_states({("Ohio", "x"): 11}, {"Ohio": 10}, {"Ohio": 11})


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


def test_closed_and_drained_every_untied_race_is_called():
    # 65% turnout: while open the non-voters could still swing every race
    per_state = {("Ohio", "x"): 40, ("Ohio", "y"): 25, ("Utah", "y"): 33, ("Utah", "x"): 32}
    per_state[("Iowa", "x")] = per_state[("Iowa", "y")] = 30
    registered = {"Ohio": 100, "Utah": 100, "Iowa": 100, "Maine": 10}
    live = call_nation(per_state, registered, ["x", "y"], polls_open=True)
    assert not any(call.called for call in live.values())
    final = call_nation(per_state, registered, ["x", "y"], polls_open=False, untallied=0)
    assert {race for race, call in final.items() if call.called} == {NATION, "Ohio", "Utah"}
    assert all(call.outstanding == 0 for call in final.values())
    assert (final[NATION].leader, final[NATION].margin) == ("x", 14)
    assert not final["Iowa"].called and not final["Maine"].called  # a tie, and no votes


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
    assert calls[("m-OH", "state:OH")].called and calls[("m-OH", "state:OH")].leader == "yes"
    assert calls[("m-OH", "county:39049")].called
    assert calls[("m-OH", "county:39035")].leader == "no"
    assert not calls[("m-OH", "county:39035")].called  # 5 to 0 with 5 voters still to come
    # a ranked contest is decided by its rounds: its first-choice leader is never called here
    assert (
        calls[("rcv", "county:39049")].leader == "p" and not calls[("rcv", "county:39049")].called
    )
    closed = call_contests(totals.results, [measure, mayor], registered, polls_open=False)
    assert closed[("m-OH", "county:39035")].called  # closed and drained: nothing outstanding
