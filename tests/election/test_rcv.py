"""The ranked-choice tabulator reproduces RCTab's own test sets round by round, and its rounds
keep the rules every instant runoff must keep, whatever the ballots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rcvformats.schemas.universaltabulator import SchemaV0

from election.rcv import UNDECLARED_WRITE_INS, Rules, tabulate
from election.rcv_summary import CONFIG_FIELDS, summary

FIXTURES = Path(__file__).parent / "rcv_fixtures"
TEST_SETS = sorted(p.parent.name for p in FIXTURES.glob("*/ballots.json"))  # reduced sets


def entries(ranks: list) -> tuple:
    return tuple(tuple(entry) if isinstance(entry, list) else entry for entry in ranks)


def tabulated(name: str) -> dict:
    contest = json.loads((FIXTURES / name / "contest.json").read_text())
    ballots = json.loads((FIXTURES / name / "ballots.json").read_text())
    patterns = {entries(b["ranks"]): b["count"] for b in ballots}
    candidates = {c: c for c in contest["candidates"]}
    rounds = tabulate(patterns, candidates, Rules.from_rctab(contest["rules"]), contest["write_in"])
    return summary(rounds, contest["config"])


def universal_view(document: dict) -> dict:
    """What rcvformats' universal tabulator schema (v0) admits: it forbids RCTab's extra keys."""
    return {
        "config": {k: v for k, v in document["config"].items() if k in CONFIG_FIELDS},
        "results": [
            {k: r[k] for k in ("round", "tally", "tallyResults")} for r in document["results"]
        ],
    }


@pytest.mark.parametrize("name", TEST_SETS)
def test_rctab_test_set_is_reproduced_round_by_round(name):
    expected = json.loads((FIXTURES / name / "expected_summary.json").read_text())
    got = tabulated(name)
    for round_got, round_expected in zip(got["results"], expected["results"], strict=True):
        assert round_got == round_expected, f"round {round_expected['round']}"
    assert got["summary"] == expected["summary"]
    for field in CONFIG_FIELDS:
        assert got["config"][field] == expected["config"][field]


@pytest.mark.parametrize("name", TEST_SETS)
def test_summary_passes_the_universal_tabulator_schema(name):
    schema = SchemaV0()
    assert schema.validate(universal_view(tabulated(name))), schema.last_error()


CANDIDATES = ("a", "b", "c", "d", "e")
rank_entry = st.one_of(
    st.sampled_from(CANDIDATES),
    st.none(),
    st.lists(st.sampled_from(CANDIDATES), min_size=2, max_size=3, unique=True).map(tuple),
)
patterns_strategy = st.dictionaries(
    st.lists(rank_entry, max_size=4).map(tuple), st.integers(1, 50), min_size=1, max_size=25
)
rules_strategy = st.builds(
    Rules,
    overvote_rule=st.sampled_from(("exhaustImmediately", "alwaysSkipToNextRank")),
    max_skipped=st.sampled_from((None, 0, 1, 2)),
    exhaust_on_duplicate=st.booleans(),
    batch_elimination=st.booleans(),
    continue_until_two=st.booleans(),
    tiebreak_mode=st.sampled_from(("useCandidateOrder", "random", "previousRoundCountsThenRandom")),
    seed=st.integers(0, 2**40),
)


def run(patterns, rules, write_in=None):
    candidates = {c: c.upper() for c in CANDIDATES if c != write_in}
    return tabulate(patterns, candidates, rules, write_in)


@settings(max_examples=150, deadline=None)
@given(patterns_strategy, rules_strategy, st.sampled_from((None, "e")))
def test_every_round_accounts_for_every_ballot_and_the_summary_is_valid(patterns, rules, write_in):
    ballots = sum(patterns.values())
    rounds = run(patterns, rules, write_in)
    for r in rounds:
        assert sum(r.tally.values()) + sum(r.inactive.values()) == ballots
        assert r.threshold == sum(r.tally.values()) // 2 + 1 or rules.continue_until_two
        for name in r.eliminated:  # an eliminated candidate's ballots all go somewhere
            assert sum(r.transfers.get(name, {}).values()) == r.tally[name]
    schema = SchemaV0()
    assert schema.validate(universal_view(summary(rounds, {"contest": "c"}))), schema.last_error()


@settings(max_examples=150, deadline=None)
@given(patterns_strategy, rules_strategy)
def test_a_majority_in_round_one_wins_in_round_one(patterns, rules):
    rounds = run(patterns, rules)
    first = rounds[0].tally
    leader = max(first, key=first.get)
    if first[leader] * 2 > sum(first.values()):
        assert rounds[0].elected == (leader,)
        assert [name for r in rounds for name in r.elected] == [leader]


@settings(max_examples=100, deadline=None)
@given(patterns_strategy, rules_strategy, st.randoms(use_true_random=False))
def test_the_order_of_patterns_does_not_matter(patterns, rules, random):
    items = list(patterns.items())
    random.shuffle(items)
    assert run(dict(items), rules) == run(patterns, rules)


@settings(max_examples=100, deadline=None)
@given(patterns_strategy, rules_strategy)
def test_undeclared_write_ins_never_win_and_go_as_soon_as_they_have_votes(patterns, rules):
    for r in run(patterns, rules, write_in="e"):
        # as in RCTab, only a final 0-0 tie (no ballot continuing) can fall to write-ins
        assert UNDECLARED_WRITE_INS not in r.elected or not any(r.tally.values())
        if r.tally.get(UNDECLARED_WRITE_INS):
            assert r.eliminated == (UNDECLARED_WRITE_INS,)


def test_no_ballots_still_give_rounds_and_a_winner_by_the_tiebreak():
    rounds = run({}, Rules())
    assert [r.elected for r in rounds if r.elected] == [("A",)]
    assert all(not any(r.tally.values()) for r in rounds)


def test_bad_input_gets_one_clear_line():
    rules = Rules()
    with pytest.raises(ValueError, match="choice 'z' at rank 2 is not a candidate"):
        run({("a", "z"): 1}, rules)
    with pytest.raises(ValueError, match="past maxRankingsAllowed 2"):
        run({("a", None, "b"): 1}, Rules(max_rankings=2))
    with pytest.raises(ValueError, match="overvoteRule 'exhaustIfMultipleContinuing'"):
        Rules.from_rctab({"overvoteRule": "exhaustIfMultipleContinuing"})
    with pytest.raises(ValueError, match="ballot count -1 of pattern"):
        run({("a",): -1}, rules)
    with pytest.raises(ValueError, match="at least one declared candidate"):
        tabulate({("w",): 2}, {}, rules, write_in="w")
    with pytest.raises(ValueError, match="numberOfWinners 2 is not 1"):
        Rules.from_rctab({"numberOfWinners": "2"})
    with pytest.raises(ValueError, match="tiebreakMode 'stopCountingAndAsk' is not one of"):
        run({("a",): 1}, Rules(tiebreak_mode="stopCountingAndAsk"))
    with pytest.raises(ValueError, match="needs a randomSeed"):
        run({("a",): 1}, Rules(tiebreak_mode="random"))
