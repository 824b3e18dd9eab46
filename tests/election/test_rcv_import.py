"""From RCTab's own input files to RCTab's rounds, with no hand reduction: each test set's
original CDF JSON cast vote record report(s) and configuration are imported (election.cvr), the
ranked contest tabulated from its ballots' selections (election.rcv), and the summary compared
with RCTab's round by round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from election.contests import NATION, PLURALITY, RANKED, Choice, Contest
from election.cvr import import_reports
from election.rcv import UNDECLARED_WRITE_INS, patterns, tabulate_contest
from election.rcv_summary import summary

FIXTURES = Path(__file__).parent / "rcv_fixtures"
CDF_SETS = sorted(p.parent.name for p in FIXTURES.glob("*/rctab_config.json"))
# RCTab's outputSettings -> the summary's config fields
OUTPUT_SETTINGS = {
    "contestName": "contest",
    "contestDate": "date",
    "contestJurisdiction": "jurisdiction",
    "contestOffice": "office",
}


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def imported_summary(name: str) -> dict:
    folder = FIXTURES / name
    config = load(folder / "rctab_config.json")
    reports = [(p.name, load(p)) for p in sorted(folder.glob("cvr_cdf*.json"))]
    imported = import_reports(reports, config)
    (contest,) = [c for c in imported.definition.contests if c.kind == RANKED]
    rounds = tabulate_contest(contest, (ballot.selections for ballot in imported.ballots))
    settings = config["outputSettings"]
    return summary(rounds, {field: settings[key] for key, field in OUTPUT_SETTINGS.items()})


def test_every_cdf_test_set_is_here():
    assert CDF_SETS == [
        "aliases_cdf_json",
        "test_set_0_skipped_first_choice",
        "test_set_1_exhaust_at_overvote",
        "test_set_2_overvote_skip_to_next",
        "test_set_3_skipped_choice_exhaust",
        "test_set_4_skipped_choice_next",
        "test_set_5_two_skipped_choice_exhaust",
        "test_set_6_duplicate_exhaust",
        "test_set_7_duplicate_skip_to_next",
        "test_set_8_multi_cdf",
    ]


@pytest.mark.parametrize("name", CDF_SETS)
def test_rctab_cvr_file_imports_and_tabulates_to_rctabs_rounds(name):
    expected = load(FIXTURES / name / "expected_summary.json")
    got = imported_summary(name)
    for round_got, round_expected in zip(got["results"], expected["results"], strict=True):
        assert round_got == round_expected, f"round {round_expected['round']}"
    assert got["summary"] == expected["summary"]
    for field in OUTPUT_SETTINGS.values():
        assert got["config"][field] == expected["config"][field]


# --- the glue: one contest's selections to ranking patterns ---------------------------------

A, B, W = "cand-a", "cand-b", "write-ins"
RANKED_CONTEST = Contest(
    "mayor",
    "Mayor",
    NATION,
    RANKED,
    (Choice(A, "Ann", None, 1), Choice(B, "Bo", None, 2), Choice(W, UNDECLARED_WRITE_INS, None, 3)),
    rules={"tiebreakMode": "useCandidateOrder", "overvoteRule": "alwaysSkipToNextRank"},
)


def test_patterns_count_each_ranking_and_a_ballot_without_the_contest_ranks_no_one():
    ballots = [
        {"mayor": [A, None, [A, B]]},
        {"mayor": [A, None, [A, B]], "other": ["x"]},
        {"other": ["x"]},
        {"mayor": []},
    ]
    assert patterns("mayor", ballots) == {(A, None, (A, B)): 2, (): 2}


selection = st.lists(st.one_of(st.sampled_from((A, B, W)), st.none(), st.just([A, B])), max_size=4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(("mayor", "other")), selection)))
def test_every_ballot_is_in_one_pattern_and_the_contest_tabulates_them_all(ballots):
    found = patterns("mayor", ballots)
    assert sum(found.values()) == len(ballots)
    for r in tabulate_contest(RANKED_CONTEST, ballots):
        assert sum(r.tally.values()) + sum(r.inactive.values()) == len(ballots)


def test_the_write_in_choice_is_rctabs_undeclared_write_ins():
    rounds = tabulate_contest(RANKED_CONTEST, [{"mayor": [W, B]}, {"mayor": [A]}, {"mayor": [B]}])
    assert rounds[0].tally == {"Ann": 1, "Bo": 1, UNDECLARED_WRITE_INS: 1}
    assert rounds[0].eliminated == (UNDECLARED_WRITE_INS,)
    assert rounds[-1].elected == ("Bo",)


def test_a_plurality_contest_is_not_tabulated():
    plurality = Contest("council", "Council", NATION, PLURALITY, (Choice(A, "Ann", None, 1),))
    with pytest.raises(ValueError, match="contest 'council' is plurality, not ranked"):
        tabulate_contest(plurality, [{"council": [A]}])
