"""Ballots with selections: their shape (well-formed or malformed, and why) and each contest's outcome."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import ballots, contract
from election.contests import MEASURE, NATIONAL_CONTEST, PLURALITY, RANKED, Choice, Contest
from election.selections import ContestRule, kind_error

HEAD = {"vote_id": "v", "voter_id": "a", "voting_time": "2024-11-05T14:03:27Z"}


def parsed(selections, **fields) -> dict:
    return ballots.parse_ballot(json.dumps({**HEAD, "selections": selections, **fields}), b"a")


def malformed(value: bytes | str) -> str:
    with pytest.raises(ballots.BallotError) as caught:
        ballots.parse_ballot(value, b"a")
    assert caught.value.reason == contract.MALFORMED
    assert caught.value.vote_id == "v"
    return caught.value.detail


def test_selections_are_read_as_contest_ids_to_entries():
    ballot = parsed({"national": ["x"], "sen": ["a", "b"], "rcv": [None, ["p", "q"], "q"], "m": []})
    assert ballot["selections"] == {
        "national": ("x",),
        "sen": ("a", "b"),
        "rcv": (None, ("p", "q"), "q"),
        "m": (),
    }
    assert ballot["candidate_id"] == "x"  # the national contest's one choice, for seed readers


@pytest.mark.parametrize("national", [[], ["x", "y"], [None], [["x", "y"]], "absent"], ids=str)
def test_a_selections_ballot_without_one_national_choice_has_no_candidate_id(national):
    selections = {} if national == "absent" else {NATIONAL_CONTEST: national}
    assert parsed(selections)["candidate_id"] is None


def test_a_seed_ballot_is_one_selection_in_the_national_contest():
    ballot = ballots.parse_ballot(json.dumps({**HEAD, "candidate_id": "x"}), b"a")
    assert ballot["candidate_id"] == "x"
    assert ballot["selections"] == {NATIONAL_CONTEST: ("x",)}


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"candidate_id": "x", "selections": {}}, "both 'candidate_id' and 'selections'"),
        ({}, "missing field 'candidate_id' (or 'selections')"),
        ({"candidate_id": None, "selections": None}, "missing field 'candidate_id'"),
        ({"selections": []}, "field 'selections' is not an object but an array"),
        ({"selections": "x"}, "field 'selections' is not an object but a string"),
        ({"selections": {"": ["x"]}}, "selections: a contest id is empty"),
        ({"selections": {"\ud800": ["x"]}}, "contest id '\\ud800' is not valid Unicode"),
        ({"selections": {"sen": "x"}}, "selections['sen'] is not a list but a string"),
        ({"selections": {"sen": {"x": 1}}}, "selections['sen'] is not a list but an object"),
        ({"selections": {"sen": ["a", 7]}}, "selections['sen'] entry 2 is a number"),
        ({"selections": {"sen": [True]}}, "selections['sen'] entry 1 is a boolean"),
        ({"selections": {"sen": [{}]}}, "selections['sen'] entry 1 is an object"),
        ({"selections": {"sen": [""]}}, "selections['sen'] entry 1 is an empty choice id"),
        ({"selections": {"sen": ["\udfff"]}}, "selections['sen'] entry 1 is not valid Unicode"),
        ({"selections": {"r": [[]]}}, "selections['r'] entry 1 lists 0 choices"),
        ({"selections": {"r": [["p"]]}}, "selections['r'] entry 1 lists 1 choices"),
        ({"selections": {"r": [["p", ["q"]]]}}, "selections['r'] entry 1 lists an array"),
        ({"selections": {"r": [["p", None]]}}, "selections['r'] entry 1 lists null"),
        ({"selections": {"r": [["p", ""]]}}, "selections['r'] entry 1 is an empty choice id"),
        (
            {"selections": {"r": ["p", ["q", "q"]]}},
            "selections['r'] entry 2 lists one choice twice",
        ),
        ({"selections": {"ok": [], "bad": [1]}}, "selections['bad'] entry 1"),
    ],
)
def test_misshapen_selections_are_malformed_with_which_contest_and_entry(fields, detail):
    assert detail in malformed(json.dumps({**HEAD, **fields}))


def test_a_contest_id_twice_is_malformed():
    value = b'{"vote_id":"v","voter_id":"a","voting_time":"2024-11-05T14:03:27Z",'
    value += b'"selections":{"sen":["a"],"sen":["b"]}}'
    with pytest.raises(ballots.BallotError, match="name 'sen' twice in an object"):
        ballots.parse_ballot(value, b"a")


def test_a_long_contest_id_is_cut_where_a_detail_quotes_it():
    detail = malformed(json.dumps({**HEAD, "selections": {"k" * 50_000: [1]}}))
    assert len(detail) < 200 and "k" * 64 + "…" in detail


def test_a_huge_selection_is_read_in_linear_time():
    ids = [f"c{i}" for i in range(20_000)]
    assert len(parsed({"sen": ids})["selections"]["sen"]) == 20_000


# --- the kind of a contest: what its selections may hold ------------------------------------

SENATE = Contest("sen", "Senate", "state:OH", PLURALITY, (Choice("a", "A"), Choice("b", "B")), 2)
MEASURE_1 = Contest(
    "m1", "Measure 1", "state:OH", MEASURE, (Choice("yes", "Yes"), Choice("no", "No"))
)
RCV = Contest("rcv", "Mayor", "county:39049", RANKED, (Choice("p", "P"), Choice("q", "Q")))


@pytest.mark.parametrize(
    ("contest", "entries", "detail"),
    [
        (SENATE, ("a", "a"), "selections['sen'] names one choice twice"),
        (MEASURE_1, ("yes", "yes"), "selections['m1'] names one choice twice"),
        (SENATE, ("a", None), "entry 2 is null: only a ranked contest skips or overvotes a rank"),
        (MEASURE_1, (("yes", "no"),), "entry 1 is a list: only a ranked contest"),
        (SENATE, ("a", "b"), None),
        (RCV, ("p", "p", None, ("p", "q")), None),  # a ranked contest's repeats are RCTab's
    ],
)
def test_what_a_contests_kind_allows(contest, entries, detail):
    found = kind_error(contest, entries)
    assert found == detail if detail is None else detail in found


@pytest.mark.parametrize(
    ("contest", "entries", "outcome"),
    [
        (SENATE, None, ((), 0, 2)),  # left out: an undervote per vote
        (SENATE, (), ((), 0, 2)),
        (SENATE, ("a",), (("a",), 0, 1)),
        (SENATE, ("a", "b"), (("a", "b"), 0, 0)),
        (SENATE, ("a", "b", "c"), ((), 2, 0)),  # overvoted: no vote counts
        (MEASURE_1, ("no",), (("no",), 0, 0)),
        (MEASURE_1, ("yes", "no"), ((), 1, 0)),
        (RCV, ("q", "p"), (("q",), 0, 0)),
        (RCV, (None, "p"), (("p",), 0, 0)),
        (RCV, (None, None), ((), 0, 1)),
        (RCV, (("p", "q"), "q"), ((), 1, 0)),  # exhausted at its first marked rank
        (RCV, (None, ("p", "q"), "q"), ((), 1, 0)),
    ],
)
def test_a_selection_comes_to_votes_overvotes_and_undervotes(contest, entries, outcome):
    found = ContestRule(contest).outcome(entries)
    assert (tuple(found.votes), found.overvotes, found.undervotes) == outcome


@pytest.mark.parametrize(
    ("rules", "entries", "first"),
    [
        ({"overvoteRule": "alwaysSkipToNextRank"}, (("p", "q"), "q"), "q"),
        ({"overvoteRule": "alwaysSkipToNextRank"}, (("p", "q"),), None),
        ({"overvoteRule": "exhaustIfMultipleContinuing"}, (("p", "q"), "q"), ("p", "q")),
        ({"maxSkippedRanksAllowed": "1"}, (None, "p"), "p"),
        ({"maxSkippedRanksAllowed": "1"}, (None, None, "p"), None),
        ({"maxSkippedRanksAllowed": 0}, (None, "p"), None),
        ({"maxSkippedRanksAllowed": "unlimited"}, (None,) * 9 + ("p",), "p"),
        (
            {"overvoteRule": "alwaysSkipToNextRank", "maxSkippedRanksAllowed": "0"},
            (("p", "q"), "q"),
            "q",  # an overvoted rank is a marked rank, not a skipped one
        ),
    ],
)
def test_a_ranked_first_choice_follows_the_contests_rctab_rules(rules, entries, first):
    contest = Contest("rcv", "Mayor", "nation", RANKED, RCV.choices, rules=rules)
    assert ContestRule(contest).first_choice(entries) == first


# --- judging stays total with selections ------------------------------------------------------

IDS = st.sampled_from(["national", "sen", "m1", "rcv", "x", "a", "yes", "p", "", "\x00", "é"])
HOSTILE_IDS = IDS | st.text(max_size=6) | st.just("\ud800") | st.just("k" * 300)
ENTRIES = st.recursive(
    st.none() | HOSTILE_IDS | st.integers() | st.floats(allow_nan=False) | st.booleans(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_IDS, inner, max_size=2),
    max_leaves=10,
)
SELECTIONS = st.one_of(
    st.dictionaries(HOSTILE_IDS, st.lists(ENTRIES, max_size=5) | ENTRIES, max_size=4),
    st.dictionaries(IDS, st.lists(IDS | st.lists(IDS, min_size=2, max_size=3), max_size=5)),
    st.builds(lambda n: {"sen": ["a"] * n}, st.integers(0, 5_000)),
    ENTRIES,
)


@st.composite
def selection_messages(draw) -> bytes:
    """Messages near a selections ballot: hostile selections, both shapes, NUL bytes, cut text."""
    fields = {**HEAD, "selections": draw(SELECTIONS)}
    if draw(st.booleans()):
        fields["candidate_id"] = draw(st.none() | IDS)
    value = json.dumps(fields, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    cut = draw(st.sampled_from(["whole", "nul", "cut"]))
    if cut == "nul":
        at = draw(st.integers(0, len(value)))
        return value[:at] + b"\x00" + value[at:]
    if cut == "cut":
        return value[: draw(st.integers(0, len(value)))]
    return value


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=selection_messages())
def test_judging_selections_is_total(value):
    try:
        ballot = ballots.parse_ballot(value, b"a")
    except ballots.BallotError as error:
        assert error.reason == contract.MALFORMED and error.detail
        assert "\n" not in error.detail and len(error.detail) < 400
        return
    assert set(ballot) == {*contract.BALLOT_FIELDS, "selections"}
    for contest_id, entries in ballot["selections"].items():
        assert isinstance(contest_id, str) and contest_id
        for entry in entries:
            assert (
                entry is None
                or (isinstance(entry, str) and entry)
                or (isinstance(entry, tuple) and len(set(entry)) == len(entry) >= 2)
            )
