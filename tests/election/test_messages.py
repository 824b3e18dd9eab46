"""Every result message comes from election.messages, with exactly the contract's fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election import contract, messages
from election.contest_totals import DistrictTotals
from election.contests import PLURALITY, Choice, Contest
from election.race_call import call_contests, call_race

AT = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)
CANDIDATE = {
    "candidate_id": "c1",
    "candidate_name": "Ann",
    "party_affiliation": "P",
    "photo_url": "u",
}


def test_candidate_result():
    key, value = messages.candidate_result(CANDIDATE, 7, AT)
    assert key == "c1" and tuple(value) == contract.CANDIDATE_RESULT_FIELDS
    assert value["total_votes"] == 7 and value["updated_at"] == "2026-11-03T20:00:00.000000Z"


def test_state_result():
    key, value = messages.state_result(CANDIDATE, "Ohio", 3, AT)
    assert key == contract.state_result_key("Ohio", "c1") == "Ohio|c1"
    assert tuple(value) == contract.STATE_RESULT_FIELDS


def test_turnout_result():
    key, value = messages.turnout_result("Ohio", 25, 200, AT)
    assert key == "Ohio" and tuple(value) == contract.TURNOUT_RESULT_FIELDS
    assert value["turnout_pct"] == 12.5
    assert messages.turnout_result("Utah", 0, 0, AT)[1]["turnout_pct"] == 0.0


def test_rejection_is_keyed_by_its_place_on_the_ballot_log():
    key, value = messages.rejection(2, 41, None, contract.MALFORMED, "not JSON", "x", AT)
    assert key == "2:41" and tuple(value) == contract.REJECTION_FIELDS
    assert (value["partition"], value["offset"], value["vote_id"]) == (2, 41, None)


def test_race_call_is_keyed_by_its_contest_and_district():
    called = call_contests(
        {("senate-OH", "state:OH"): DistrictTotals(4, totals={"x": 3, "y": 1})},
        [Contest("senate-OH", "Senate", "state:OH", PLURALITY, (Choice("x", "Ann"),))],
        {"state:OH": 4},
    )["senate-OH|state:OH"]
    key, value = messages.race_call(called, {"x": "Ann"}, AT, AT)
    assert key == contract.contest_key("senate-OH", "state:OH") == "senate-OH|state:OH"
    assert tuple(value) == contract.RACE_CALL_FIELDS
    assert (value["contest_id"], value["district_id"], value["race"]) == (
        "senate-OH",
        "state:OH",
        key,
    )
    assert value["candidate_name"] == "Ann" and value["called_at"] == "2026-11-03T20:00:00.000000Z"
    uncalled = replace(called, called=False)
    assert messages.race_call(uncalled, {}, AT, AT)[1]["called_at"] is None
    nobody = replace(call_race({}, 5), contest_id="national", district_id="nation")
    assert messages.race_call(nobody, {}, None, AT)[1]["candidate_id"] is None


def test_a_race_call_without_its_race_is_refused():
    with pytest.raises(ValueError, match="names its contest and district"):
        messages.race_call(call_race({"x": 3}, 0), {}, AT, AT)


@given(partition=st.integers(0, 10_000), offset=st.integers(0, 2**62))
def test_no_two_places_share_a_rejection_key(partition, offset):
    key = messages.rejection(partition, offset, "same-vote-id", "duplicate", None, None, AT)[0]
    assert (
        key
        != messages.rejection(partition, offset + 1, "same-vote-id", "duplicate", None, None, AT)[0]
    )
    assert key.split(":") == [str(partition), str(offset)]


def test_a_message_keyed_other_than_by_its_contest_and_district_is_one_line():
    call = {"contest_id": "senate-OH", "district_id": "state:OH"}
    assert contract.contest_key_problem("senate-OH|state:OH", call) is None
    for key, value in [
        ("*", {"race": "*", "called": True}),  # the seed's national key
        ("Ohio", {"address_state": "Ohio"}),  # the seed's state key
        ("national|nation", call),  # another race's key
        ("senate-OH|state:OH", {"contest_id": "senate-OH"}),
        ("senate-OH|state:OH", {"contest_id": ["senate-OH"], "district_id": "state:OH"}),
        ("|", {"contest_id": "", "district_id": ""}),
        ("x\n" * 100, {"contest_id": "x", "district_id": None}),
    ]:
        problem = contract.contest_key_problem(key, value)
        assert problem and "\n" not in problem and len(problem) < 250


@given(st.text(min_size=1), st.text(min_size=1), st.text())
def test_only_its_own_key_fits_a_race(contest_id, district_id, key):
    value = {"contest_id": contest_id, "district_id": district_id}
    assert (
        contract.contest_key_problem(contract.contest_key(contest_id, district_id), value) is None
    )
    if key != contract.contest_key(contest_id, district_id):
        assert "\n" not in contract.contest_key_problem(key, value)
