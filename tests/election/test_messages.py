"""Every result message comes from election.messages, with exactly the contract's fields."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from election import contract, messages
from election.race_call import call_race

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


def test_race_call():
    called = call_race({"x": 3, "y": 1}, 0)
    key, value = messages.race_call("Ohio", called, {"x": "Ann"}, AT, AT)
    assert key == "Ohio" and tuple(value) == contract.RACE_CALL_FIELDS
    assert value["candidate_name"] == "Ann" and value["called_at"] == "2026-11-03T20:00:00.000000Z"
    _, uncalled = messages.race_call("Ohio", call_race({"x": 3, "y": 1}, 5), {}, AT, AT)
    assert uncalled["called"] is False and uncalled["called_at"] is None
    assert messages.race_call("*", call_race({}, 5), {}, None, AT)[1]["candidate_id"] is None


@given(partition=st.integers(0, 10_000), offset=st.integers(0, 2**62))
def test_no_two_places_share_a_rejection_key(partition, offset):
    key = messages.rejection(partition, offset, "same-vote-id", "duplicate", None, None, AT)[0]
    assert (
        key
        != messages.rejection(partition, offset + 1, "same-vote-id", "duplicate", None, None, AT)[0]
    )
    assert key.split(":") == [str(partition), str(offset)]
