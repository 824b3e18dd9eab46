"""The election definition: the generated default, the file format and its one-line problems."""

from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import counties, geography
from election.candidates import PARTIES
from election.contests import MEASURE, NATIONAL_CONTEST, RANKED, ballot_style
from election.default_election import COUNTY_RACE_STATES, default_election
from election.definition import (
    DefinitionError,
    contest_counts,
    definition_document,
    dump_definition,
    parse_definition,
    us_districts,
    with_national_choices,
)
from election.rcv import Rules

NATIONAL = "  - {id: national, name: President, district: nation}\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    lines = str(caught.value).split("\n")
    assert lines[:100] == list(caught.value.problems[:100])  # a long list is cut after 100
    return lines


# --- the districts --------------------------------------------------------------------------


def test_districts_are_the_nation_the_states_and_their_counties():
    districts = us_districts()
    by_id = {d.district_id: d for d in districts}
    assert len(by_id) == len(districts) == 1 + 51 + len(counties.all_counties())
    assert by_id["nation"].parent_id is None
    assert by_id["state:NV"].name == "Nevada" and by_id["state:NV"].parent_id == "nation"
    assert by_id["county:32510"].parent_id == "state:NV"
    assert {d.kind for d in districts} == {"nation", "state", "county"}


# --- the default election -------------------------------------------------------------------


@pytest.fixture(scope="module")
def default():
    return default_election(seed=42)


def test_every_ballot_of_the_default_holds_at_least_four_contests(default):
    for state, found in counties.COUNTIES.items():
        for county in found:
            style = ballot_style(default.contests, state, county.fips)
            assert len(style) >= 4, (state, county)
            assert style[0].contest_id == NATIONAL_CONTEST


def test_the_default_has_its_races(default):
    ids = {c.contest_id for c in default.contests}
    codes = set(geography.US_STATE_CODES.values())
    assert {f"senate-{s}" for s in codes} <= ids
    assert {f"measure-{s}-1" for s in codes} <= ids
    governors = {i for i in ids if i.startswith("governor-")}
    assert 20 < len(governors) < 51 and "governor-DC" not in governors
    for state in COUNTY_RACE_STATES:
        assert {f"commission-{c.fips}" for c in counties.counties(state)} <= ids
    counted = contest_counts(default)
    assert counted["contests_measure"] == 51 and counted["districts_county"] == 3142


def test_the_default_is_sound(default):
    districts = {d.district_id for d in default.districts}
    assert len({c.contest_id for c in default.contests}) == len(default.contests)
    assert [c.position for c in default.contests] == list(range(1, len(default.contests) + 1))
    for contest in default.contests:
        assert contest.district_id in districts
        if contest.contest_id == NATIONAL_CONTEST:
            assert contest.choices == ()  # the registered candidates, at materialization
            continue
        assert len(contest.choice_ids) == len(contest.choices) > contest.vote_for - 1
        if contest.kind == MEASURE:
            assert contest.choice_ids == {"yes", "no"}
        elif contest.vote_for > 1:
            assert len(contest.choices) > contest.vote_for


RANKED_RACES = {  # contest id -> its district, in the default election
    "senate-ME": "state:ME",
    "senate-AK": "state:AK",
    "house-AK": "state:AK",
    "mayor-27053": "county:27053",  # Minneapolis, in Hennepin County
    "mayor-41051": "county:41051",  # Portland, in Multnomah County
    "mayor-06075": "county:06075",  # San Francisco, a city and county
}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16))
def test_the_races_ranked_in_life_are_ranked(seed):
    found = default_election(seed=seed)
    ranked = {c.contest_id: c for c in found.contests if c.kind == RANKED}
    governed = {c.contest_id for c in found.contests} & {"governor-AK"}
    assert set(ranked) == set(RANKED_RACES) | governed
    parties = [p for p in PARTIES[:2] for _ in range(2)]
    for contest_id, contest in ranked.items():
        assert contest.district_id == RANKED_RACES.get(contest_id, "state:AK")
        assert contest.vote_for == 1 and 4 <= len(contest.choices) <= 6
        assert len({c.name for c in contest.choices}) == len(contest.choices)
        # two candidates of each big party: a first round rarely has a majority
        assert sorted(c.party for c in contest.choices[:4]) == sorted(parties)
        rules = Rules.from_rctab(contest.rules)  # rules the tabulator follows
        assert rules.max_rankings is not None and rules.max_rankings >= 3
        assert rules.seed == seed
        assert isinstance(contest.rules["maxRankingsAllowed"], str)  # as RCTab writes them
    assert parse_definition(dump_definition(found)) == found


def test_ranking_leaves_the_other_races_as_they_were(default):
    """Who runs for every other race is as it was before any race was ranked (pinned here
    from the unranked default of seed 42)."""
    names = {c.contest_id: [x.name for x in c.choices] for c in default.contests}
    assert names["senate-AL"] == ["John Berry", "Noah Turner"]
    assert names["senate-MA"] == ["Frances Knight", "Nicholas Hill", "David Torres"]
    assert names["governor-ME"] == ["Joan Schmidt", "Samantha Gibson"]
    assert names["attorney-general-WY"] == ["Carlos Lopez", "Deborah Turner"]
    assert names["commission-32510"] == [
        "Eric Crawford",
        "Isabella Ward",
        "Eric Hart",
        "Sara Duncan",
    ]
    assert default.contest("measure-WY-1").name.endswith("An independent redistricting commission")
    assert default.contest("governor-ME").kind == "plurality"  # Maine elects governors so
    assert "governor-AK" not in names


def test_the_default_is_the_same_for_a_seed(default):
    assert default_election(seed=42) == default
    assert default_election(seed=43) != default


def test_the_default_file_reads_back_the_same(default):
    text = dump_definition(default)
    assert text.startswith("# ")
    assert parse_definition(text) == default
    assert parse_definition(text.encode()) == default


# --- the file -------------------------------------------------------------------------------


def test_a_small_file():
    text = textwrap.dedent(
        """\
        contests:
          - id: national
            name: President
            district: nation
          - id: mayor-vote
            name: Measure A
            district: county:32510
            kind: measure
          - id: council
            name: Council
            district: state:NV
            vote_for: 2
            choices:
              - {id: a, name: Ann Lee, party: Savior Party}
              - {id: b, name: Bo Ray}
              - {id: 7, name: Cy Moe}
          - id: rcv
            name: Ranked race
            district: state:ME
            kind: ranked
            rules: {tiebreakMode: random, overvoteRule: exhaustImmediately}
            choices: [{id: x, name: X}, {id: y, name: Y}]
        """
    )
    found = parse_definition(text)
    measure, council, ranked = found.contests[1:]
    assert [(c.choice_id, c.name, c.position) for c in measure.choices] == [
        ("yes", "Yes", 1),
        ("no", "No", 2),
    ]
    assert council.vote_for == 2 and council.position == 3
    assert [c.choice_id for c in council.choices] == ["a", "b", "7"]
    assert council.choices[0].party == "Savior Party" and council.choices[1].party is None
    assert ranked.kind == RANKED and ranked.rules["tiebreakMode"] == "random"
    assert [c.contest_id for c in ballot_style(found.contests, "NV", "32510")] == [
        "national",
        "mayor-vote",
        "council",
    ]


def test_yes_and_no_stay_text():
    text = NATIONAL.join(
        [
            "contests:\n",
            "  - {id: m, name: M, district: state:NV, kind: measure, choices: [{id: yes}, {id: no}]}\n",
        ]
    )
    assert parse_definition(text).contest("m").choice_ids == {"yes", "no"}


def test_every_problem_of_a_file_is_one_line():
    text = textwrap.dedent(
        """\
        contests:
          - {id: national, name: President, district: nation, choices: [{id: a, name: A}]}
          - {id: senate, name: Senate, district: state:ZZ, choices: [{id: a, name: A}]}
          - {id: senate, name: Senate again, district: state:NV, choices: [{id: a, name: A}]}
          - {id: gov, name: Governor, district: state:NV, choices: [{id: a, name: A}, {id: a, name: B}]}
          - {id: empty, name: Empty, district: state:NV, choices: []}
          - {id: wide, name: Wide, district: state:NV, vote_for: 2, choices: [{id: a, name: A}, {id: b, name: B}]}
          - {id: zero, name: Zero, district: state:NV, vote_for: 0, choices: [{id: a, name: A}]}
          - {id: m, name: M, district: state:NV, kind: measure, choices: [{id: yes}, {id: maybe}]}
          - {id: odd, name: Odd, district: state:NV, kind: approval, choices: [{id: a, name: A}]}
          - {id: "a|b", name: Piped, district: state:NV, choices: [{id: a, name: A}]}
          - {id: typo, name: Typo, district: state:NV, choises: [{id: a, name: A}]}
          - {id: rules, name: Rules, district: state:NV, rules: {a: 1}, choices: [{id: a, name: A}]}
          - just a string
        """
    )
    assert problems_of(text) == [
        "contest 1 (national): the national contest's choices are the registered candidates: leave them out",
        "contest 2 (senate): unknown district 'state:ZZ'",
        "contest 3: duplicate contest id 'senate'",
        "contest 4 (gov) choice 2: duplicate choice id 'a'",
        "contest 5 (empty): a contest needs a list of choices, not []",
        "contest 6 (wide): vote_for 2 with 2 choices elects every choice",
        "contest 7 (zero): vote_for must be a whole number of at least 1, not 0",
        "contest 8 (m): a measure's choices are 'yes' and 'no'",
        "contest 9 (odd): unknown kind 'approval' (expected plurality, measure, ranked)",
        "contest 10: the id 'a|b' must be letters, digits, '_', '.', ':' or '-' (at most 100)",
        "contest 11 (typo): unknown field 'choises' (expected id, name, district, kind, vote_for, choices, rules)",
        "contest 11 (typo): a contest needs a list of choices, not None",
        "contest 12 (rules): only a ranked contest has rules",
        "contest 13: a contest must be a mapping, not 'just a string'",
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "the definition must be a mapping with 'contests', not empty"),
        ("- a\n- b\n", "the definition must be a mapping with 'contests', not a list"),
        ("contests: 3\n", "'contests' must be a list of contests, not 3"),
        ("contests: []\nextra: 1\n", "unknown field 'extra' (expected contests)"),
        ("contests: []\n", "the national contest (id 'national') is missing"),
        ("contests: [\n", "not YAML: "),
        ("a: b\n---\nc: d\n", "not YAML: "),
        ("contests: *nowhere\n", "not YAML: "),
        ("when: 2024-13-45\n", "not YAML: "),
        ("{[1]: 2}\n", "not YAML: "),
        (
            "contests:\n  - {id: national, name: P, district: state:NV}\n",
            "plurality contest of 'nation'",
        ),
        (
            'contests:\n  - {id: national, name: "two\\nlines", district: nation}\n',
            "one printable line",
        ),
    ],
)
def test_bad_files(text, says):
    lines = problems_of(text)
    assert any(says in line for line in lines), lines


def test_a_flood_of_problems_is_cut_short():
    text = "contests:\n" + "  - {id: x}\n" * 500
    lines = problems_of(text)
    assert len(lines) == 101 and lines[-1].startswith("... and ")


def test_the_national_contest_gets_the_candidates():
    found = parse_definition("contests:\n" + NATIONAL)
    filled = with_national_choices(found, [("c1", "Ann", "Savior Party"), ("c2", "Bo", None)])
    national = filled.contest(NATIONAL_CONTEST)
    assert [(c.choice_id, c.position) for c in national.choices] == [("c1", 1), ("c2", 2)]
    with pytest.raises(DefinitionError, match="register candidates first"):
        with_national_choices(found, [])
    assert "choices" not in definition_document(filled)["contests"][0]


# --- hostile files --------------------------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=30,
)
_NEAR = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["national", "a", "b", "", "x|y", 3, None, True]),
        "name": st.sampled_from(["A", "", None, 1, ["x"]]),
        "district": st.sampled_from(["nation", "state:NV", "county:32510", "county:99999", 5]),
        "kind": st.sampled_from(["plurality", "measure", "ranked", "other", None]),
        "vote_for": st.sampled_from([1, 2, 0, -1, "2", 1.5, True, 10**30]),
        "rules": st.sampled_from([None, {}, {"a": [1]}, [1], "x"]),
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.sampled_from(["yes", "no", "a", "a", "", 0, None, "a b"]),
                    "name": st.sampled_from(["Yes", "A", "", None]),
                    "party": st.sampled_from([None, "P", 3, ""]),
                },
            )
            | _SCALARS,
            max_size=4,
        )
        | _SCALARS,
    },
)


def _judged(text) -> None:
    try:
        found = parse_definition(text)
    except DefinitionError as exc:
        assert exc.problems and all(line and "\n" not in line for line in exc.problems)
    else:
        assert any(c.contest_id == NATIONAL_CONTEST for c in found.contests)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_DOCUMENTS | st.fixed_dictionaries({"contests": st.lists(_NEAR, max_size=5)}))
def test_any_yaml_document_is_a_definition_or_its_problems(document):
    _judged(yaml.safe_dump(document))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200) | st.binary(max_size=200))
def test_any_text_is_a_definition_or_its_problems(text):
    _judged(text)


def test_deep_nesting_is_a_problem_not_a_crash():
    _judged("contests: " + "[" * 100_000)
    _judged("a: &x [1]\nb: &y [*x, *x, *x, *x]\nc: [*y, *y, *y, *y]\ncontests: [*y]\n")


BILLION_LAUGHS = "".join(
    f"l{k}: &l{k} [{', '.join([f'*l{k - 1}' if k else '1'] * 10)}]\n" for k in range(9)
)


@pytest.mark.timeout(20)
def test_a_billion_laughs_is_problems_not_a_hang():
    lines = problems_of(BILLION_LAUGHS + "contests: *l8\n")
    assert lines[0].startswith("unknown field 'l0'") and len(lines) < 30
    ranked = "  - {id: r, name: R, district: nation, kind: ranked, rules: {a: *l8}, choices: [{id: a, name: A}]}\n"
    lines = problems_of(BILLION_LAUGHS + "contests:\n" + NATIONAL + ranked)
    assert any("rules hold more than" in line for line in lines)
    choices = "  - {id: c, name: C, district: nation, choices: *l8}\n"
    assert any(
        len(line) < 300 for line in problems_of(BILLION_LAUGHS + "contests:\n" + NATIONAL + choices)
    )
