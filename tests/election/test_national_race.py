"""The national race's calls from the seed's totals per state: keyed national|nation and
national|state:XX, by the rule every contest is called by."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from election.contests import NATION, NATIONAL_CONTEST
from election.national_race import national_count
from election.race_call import call_contests

NAMES = {"x": "Ann", "y": "Bo"}


def calls_of(per_state, registered, names=NAMES, polls_open=True, untallied=0):
    return call_contests(*national_count(per_state, registered, names), polls_open, untallied)


def test_every_state_with_voters_is_called_by_its_code_and_the_nation_as_nation():
    per_state = {("Ohio", "x"): 70, ("Ohio", "y"): 20, ("Texas", "x"): 10, ("Texas", "y"): 12}
    calls = calls_of(per_state, {"Ohio": 100, "Texas": 100, "Utah": 5})

    assert set(calls) == {
        "national|nation",
        "national|state:OH",
        "national|state:TX",
        "national|state:UT",
    }
    ohio, texas = calls["national|state:OH"], calls["national|state:TX"]
    utah = calls["national|state:UT"]
    assert ohio.called and ohio.leader == "x" and ohio.outstanding == 10
    assert not texas.called and texas.leader == "y"
    assert not utah.called and utah.leader is None and utah.outstanding == 5
    assert (calls["national|nation"].contest_id, calls["national|nation"].district_id) == (
        NATIONAL_CONTEST,
        NATION,
    )


def test_a_candidate_without_votes_in_a_state_is_still_the_runner_up():
    calls = calls_of({("Ohio", "x"): 10}, {"Ohio": 10}, {"x": "Ann", "w": "Wu"})
    ohio = calls["national|state:OH"]
    assert (ohio.leader, ohio.runner_up, ohio.margin, ohio.called) == ("x", "w", 10, True)


def test_a_place_outside_the_states_keeps_its_own_name():
    calls = calls_of({("Bavaria", "x"): 3}, {"Bavaria": 3}, polls_open=False)
    assert calls["national|state:Bavaria"].called


def test_closed_and_drained_every_untied_race_is_called():
    # 65% turnout: while open the non-voters could still swing every race
    per_state = {("Ohio", "x"): 40, ("Ohio", "y"): 25, ("Utah", "y"): 33, ("Utah", "x"): 32}
    per_state[("Iowa", "x")] = per_state[("Iowa", "y")] = 30
    registered = {"Ohio": 100, "Utah": 100, "Iowa": 100, "Maine": 10}
    assert not any(call.called for call in calls_of(per_state, registered).values())

    final = calls_of(per_state, registered, polls_open=False)
    assert {key for key, call in final.items() if call.called} == {
        "national|nation",
        "national|state:OH",
        "national|state:UT",
    }
    assert all(call.outstanding == 0 for call in final.values())
    assert (final["national|nation"].leader, final["national|nation"].margin) == ("x", 14)


def test_untallied_ballots_may_all_land_in_any_one_state():
    calls = calls_of(
        {("Ohio", "x"): 8, ("Ohio", "y"): 2}, {"Ohio": 20}, polls_open=False, untallied=5
    )
    assert calls["national|state:OH"].outstanding == 5 and calls["national|state:OH"].called
    assert (
        calls_of({("Ohio", "x"): 8}, {"Ohio": 10}, polls_open=False, untallied=5)[
            "national|state:OH"
        ].outstanding
        == 2
    )  # at most its non-voters


states = st.sampled_from(["Ohio", "Utah", "Texas", "Atlantis", ""])


@given(
    st.dictionaries(st.tuples(states, st.sampled_from("xyz")), st.integers(0, 10**6)),
    st.dictionaries(states, st.integers(0, 10**6)),
)
def test_the_nation_is_the_sum_of_its_states(per_state, registered):
    count = national_count(per_state, registered, NAMES)
    nation = count.results[(NATIONAL_CONTEST, NATION)]
    states_rows = [row for (_, d), row in count.results.items() if d != NATION]
    assert nation.ballots == sum(per_state.values())
    # a ballot without a state counts in the nation only
    in_states = {k: v for k, v in per_state.items() if k[0]}
    assert sum(r.ballots for r in states_rows) == sum(in_states.values())
    for choice, votes in nation.totals.items():
        assert votes == sum(r.totals.get(choice, 0) for r in states_rows) + sum(
            v for (s, c), v in per_state.items() if not s and c == choice
        )
    assert count.registered.get(NATION, 0) == sum(registered.values())
    for row in count.results.values():
        assert row.ballots == row.votes and row.overvotes == row.undervotes == 0
