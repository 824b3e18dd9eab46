"""A contest's frames from a snapshot: the sample election's, and hostile messages that a page
must show without a stack trace."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import given
from hypothesis import strategies as st

from benchmarks import _sample_results as sample_results
from election.contests import Choice, Contest
from streamlit_app import contest_tables
from streamlit_app.reader import ResultSnapshot

DEFINITION = sample_results.sample_definition()
RESULTS = sample_results.sample_contest_results(DEFINITION)


def snapshot(messages=RESULTS, calls=None) -> ResultSnapshot:
    return ResultSnapshot(
        contest_results=MappingProxyType({key: value for _, key, value in messages}),
        race_calls=MappingProxyType(calls or {}),
    )


def test_the_sample_results_add_up_in_every_area():
    for contest in DEFINITION.contests:
        for area in contest_tables.areas(snapshot(), contest, DEFINITION):
            votes = sum(area.totals.values())
            assert area.ballots * contest.vote_for == votes + area.overvotes + area.undervotes


def test_a_state_contest_by_area_its_state_first_then_its_counties():
    senate = DEFINITION.contest("senate-OH")
    found = contest_tables.areas(snapshot(), senate, DEFINITION)
    table = contest_tables.area_table(senate, found)

    assert list(table["Area"]) == [
        "Ohio",
        "Cuyahoga County, OH",
        "Franklin County, OH",
        "Hamilton County, OH",
    ]
    counties = table.iloc[1:]
    for column in ("Dana Brooks", "Riley Chen", "Sam Ortiz", "Ballots", "Overvotes", "Undervotes"):
        assert counties[column].sum() == table.iloc[0][column]


def test_a_county_leads_only_when_ahead_and_is_called_only_by_its_call():
    contest = Contest("c", "C", "state:OH", "plurality", (Choice("a", "A"), Choice("b", "B")))
    messages = [
        ("contest_results", "c|county:39035", {"ballots": 5, "totals": {"a": 3, "b": 2}}),
        ("contest_results", "c|county:39049", {"ballots": 4, "totals": {"a": 2, "b": 2}}),
    ]
    call = {"called": True, "candidate_id": "a", "candidate_name": "A"}
    calls = {"c|county:39035": {"contest_id": "c", "district_id": "county:39035", **call}}
    found = contest_tables.areas(snapshot(messages), contest, DEFINITION)

    leaders = contest_tables.county_leaders(found, snapshot(messages, calls).calls_in("c"))

    assert leaders[["fips", "candidate_id", "margin_votes", "called_for"]].values.tolist() == [
        ["39035", "a", 1, "A"],
        ["39049", "", 0, ""],
    ]
    assert contest_tables.contest_calls(snapshot(messages, calls), contest, DEFINITION)[
        "Called for"
    ].tolist() == ["A"]


def test_choices_of_one_name_keep_their_own_columns():
    contest = Contest(
        "c",
        "C",
        "nation",
        "plurality",
        (Choice("x", "Pat"), Choice("y", "Pat"), Choice("z", "Ballots")),
    )
    labels = contest_tables.choice_labels(contest, [])
    assert labels == {"x": "Pat", "y": "Pat (y)", "z": "Ballots (z)"}


hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
hostile_results = st.dictionaries(
    st.sampled_from(["ballots", "overvotes", "undervotes", "totals", "updated_at", "x"]),
    st.one_of(hostile_values, st.dictionaries(st.text(max_size=6), hostile_values, max_size=4)),
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["county:39035", "state:OH", "nation", "county:99999", "", "|"]),
            hostile_results,
        ),
        max_size=6,
    ),
    st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=8), hostile_values)),
)
def test_hostile_messages_become_counts_never_errors(entries, calls):
    contest = DEFINITION.contest("measure-OH")
    messages = [("contest_results", f"measure-OH|{district}", value) for district, value in entries]
    race = {"contest_id": "measure-OH"}
    shown = snapshot(
        messages,
        {f"measure-OH|{key}": {**call, **race, "district_id": key} for key, call in calls.items()},
    )

    found = contest_tables.areas(shown, contest, DEFINITION)
    table = contest_tables.area_table(contest, found)
    contest_tables.county_yes_shares(found)
    contest_tables.yes_and_no(found)
    contest_tables.contest_calls(shown, contest, DEFINITION)
    contest_tables.county_leaders(found, shown.calls_in(contest.contest_id))

    assert len(table) == len({district for district, _ in entries})
    numbers = table.drop(columns="Area")
    assert numbers.empty or all(dtype.kind == "i" for dtype in numbers.dtypes)
    assert (numbers >= 0).all().all()
