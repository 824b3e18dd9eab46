"""The ballot message: building, bulk encoding, parsing and rejecting malformed input."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest

from election import ballots, contract

AT = dt.datetime(2024, 11, 5, 14, 3, 27, 123456, tzinfo=dt.UTC)


def test_ballot_message_has_exactly_the_contract_fields():
    message = ballots.ballot_message("v1", "voter-1", "cand-1", AT)
    assert tuple(message) == contract.BALLOT_FIELDS
    assert message["voting_time"] == "2024-11-05T14:03:27.123456Z"


def test_times_are_written_in_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    assert (
        ballots.utc_iso(dt.datetime(2024, 11, 5, 15, 0, tzinfo=paris))
        == "2024-11-05T14:00:00.000000Z"
    )
    assert ballots.utc_iso(dt.datetime(2024, 11, 5, 15, 0)) == "2024-11-05T15:00:00.000000Z"


def test_many_times_are_written_like_one():
    moments = [
        AT,
        AT + dt.timedelta(hours=12, microseconds=1),
        dt.datetime(2000, 2, 29, tzinfo=dt.UTC),
    ]
    as_numpy = np.array([m.replace(tzinfo=None) for m in moments], dtype="datetime64[us]")
    assert ballots.utc_iso_many(as_numpy).tolist() == [ballots.utc_iso(m) for m in moments]
    assert len(ballots.utc_iso_many(np.array([], dtype="datetime64[us]"))) == 0


def test_encode_matches_json_dumps_and_round_trips():
    vote_ids = np.array(["v1", "v2", "v3"])
    voter_ids = pa.array(["a", "b", "c"])
    candidate_ids = ["x", "y", "x"]
    encoded = ballots.encode_ballots(vote_ids, voter_ids, candidate_ids, ballots.utc_iso(AT))
    assert all(isinstance(value, bytes) for value in encoded)
    for value, vote_id, voter_id, candidate_id in zip(
        encoded, vote_ids, voter_ids.to_pylist(), candidate_ids, strict=True
    ):
        expected = ballots.ballot_message(str(vote_id), voter_id, candidate_id, AT)
        assert json.loads(value) == expected
        assert tuple(json.loads(value)) == contract.BALLOT_FIELDS
        parsed = ballots.parse_ballot(value, voter_id)
        assert parsed == {**expected, "voting_time": AT}


def test_encode_with_one_time_per_ballot():
    times = [ballots.utc_iso(AT + dt.timedelta(seconds=k)) for k in range(3)]
    encoded = ballots.encode_ballots(["v1", "v2", "v3"], ["a", "b", "c"], ["x", "y", "z"], times)
    assert [json.loads(v)["voting_time"] for v in encoded] == times
    with pytest.raises(ValueError, match="voting times"):
        ballots.encode_ballots(["v1"], ["a"], ["x"], times)


def test_encode_escapes_what_json_must_escape():
    awkward = ['say "hi"', "back\\slash", "tab\there", "Zoë ✓"]
    encoded = ballots.encode_ballots(awkward, ["a"] * 4, ["x"] * 4, ballots.utc_iso(AT))
    assert [json.loads(v)["vote_id"] for v in encoded] == awkward
    clean = ballots.encode_ballots(["Zoë ✓"], ["a"], ["x"], ballots.utc_iso(AT))
    assert json.loads(clean[0])["vote_id"] == "Zoë ✓"


def test_encode_refuses_mismatched_columns_and_non_text():
    with pytest.raises(ValueError, match="one of each"):
        ballots.encode_ballots(["v1", "v2"], ["a"], ["x"], ballots.utc_iso(AT))
    with pytest.raises(TypeError):
        ballots.encode_ballots(["v1"], [None], ["x"], ballots.utc_iso(AT))


def test_encode_nothing():
    assert ballots.encode_ballots([], [], [], ballots.utc_iso(AT)) == []


def test_extra_fields_are_ignored_and_offsets_understood():
    raw = json.dumps(
        {
            "vote_id": "v",
            "voter_id": "a",
            "candidate_id": "x",
            "voting_time": "2024-11-05T15:03:27+01:00",
            "name": "Jo",
        }
    )
    parsed = ballots.parse_ballot(raw.encode(), b"a")
    assert set(parsed) == set(contract.BALLOT_FIELDS)
    assert parsed["voting_time"] == dt.datetime(2024, 11, 5, 14, 3, 27, tzinfo=dt.UTC)
    naive = ballots.parse_ballot(raw.replace("+01:00", "").encode(), b"a")
    assert naive["voting_time"] == dt.datetime(2024, 11, 5, 15, 3, 27, tzinfo=dt.UTC)


GOOD = {"vote_id": "v", "voter_id": "a", "candidate_id": "x", "voting_time": "2024-11-05T14:03:27Z"}


@pytest.mark.parametrize(
    ("raw", "detail", "vote_id"),
    [
        (None, "no value", None),
        (b"", "not JSON", None),
        (b"{not json", "not JSON", None),
        (b"\xff\xfe\x00garbage", "not UTF-8", None),
        (b"[1, 2]", "not a JSON object", None),
        (b'"just a string"', "not a JSON object", None),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "voter_id"}).encode(),
            "missing field 'voter_id'",
            "v",
        ),
        (json.dumps({**GOOD, "candidate_id": ""}).encode(), "'candidate_id' is empty", "v"),
        (json.dumps({**GOOD, "candidate_id": None}).encode(), "missing field 'candidate_id'", "v"),
        (json.dumps({**GOOD, "voter_id": 42}).encode(), "'voter_id' is not a string", "v"),
        (json.dumps({**GOOD, "voting_time": "yesterday"}).encode(), "not an ISO-8601 time", "v"),
        (json.dumps({**GOOD, "vote_id": ""}).encode(), "'vote_id' is empty", None),
    ],
)
def test_malformed_ballots(raw, detail, vote_id):
    with pytest.raises(ballots.BallotError, match=detail) as caught:
        ballots.parse_ballot(raw, b"a")
    assert caught.value.reason == contract.MALFORMED
    assert detail in caught.value.detail
    assert caught.value.vote_id == vote_id


def test_parse_accepts_text_as_well_as_bytes():
    assert ballots.parse_ballot(json.dumps(GOOD), "a")["vote_id"] == "v"


WELL_FORMED = json.dumps(GOOD, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("value", "key", "detail"),
    [
        # Spark's JSON reader stops at the first value; the definition reads the whole message
        (WELL_FORMED + b"\x00", b"a", "not JSON: Extra data"),
        (WELL_FORMED + b" trailing text", b"a", "not JSON: Extra data"),
        (WELL_FORMED + WELL_FORMED, b"a", "not JSON: Extra data"),
        (b"\xef\xbb\xbf" + WELL_FORMED, b"a", "starts with a byte order mark"),
        (WELL_FORMED[:-1] + b',"x":NaN}', b"a", "not JSON: NaN is not a JSON value"),
        (WELL_FORMED[:-1] + b',"x":-Infinity}', b"a", "not JSON: -Infinity is not a JSON value"),
        (WELL_FORMED[:-1] + b',"voter_id":"b"}', b"b", "name 'voter_id' twice in an object"),
        (WELL_FORMED[:-1] + b',"x":{"k":1,"k":2}}', b"a", "name 'k' twice in an object"),
        (WELL_FORMED[:-1] + b',"x":' + b"[" * 64 + b"]" * 64 + b"}", b"a", "nested deeper than 64"),
        (WELL_FORMED[:-1] + b',"x":' + b"[" * 99999 + b"}", b"a", "nested deeper than 64"),
        (
            b'{"vote_id":"v","voter_id":"\\ud800","candidate_id":"x","voting_time":"2024-11-05T14:03:27Z"}',
            b"a",
            "field 'voter_id' is not valid Unicode",
        ),
        (b"\xed\xa0\x80", b"a", "not UTF-8 (byte 0)"),
        (
            b'{"vote_id":"v","voter_id":"a","candidate_id":"x","voting_time":"2024-11-05T14:03:27Z\xc0"}',
            b"a",
            "not UTF-8",
        ),
        (WELL_FORMED, None, "the message has no key"),
        (WELL_FORMED, b"b", "keyed by another id than its voter_id"),
        (WELL_FORMED, b"a\x00", "keyed by another id than its voter_id"),
        (json.dumps({**GOOD, "voting_time": "2024-11-05"}).encode(), b"a", "not an ISO-8601 time"),
        (
            json.dumps({**GOOD, "voting_time": "2024-11-05T14:03:27Z\n"}).encode(),
            b"a",
            "not an ISO-8601 time",
        ),
        (
            json.dumps({**GOOD, "voting_time": "٢٠٢٤-11-05T14:03:27Z"}).encode(),
            b"a",
            "not an ISO-8601 time",
        ),
        (
            json.dumps({**GOOD, "candidate_id": ["x"]}).encode(),
            b"a",
            "'candidate_id' is not a string",
        ),
        (b"null", b"a", "not a JSON object but null"),
    ],
)
def test_hostile_messages_are_malformed_with_what_is_wrong(value, key, detail):
    with pytest.raises(ballots.BallotError) as caught:
        ballots.parse_ballot(value, key)
    assert caught.value.reason == contract.MALFORMED
    assert detail in caught.value.detail


def test_escaped_nul_and_whitespace_after_the_object_are_well_formed():
    # "\u0000" is a JSON string's escape, not a NUL byte: the ballot is well-formed (and its
    # voter cannot be on the roll); JSON whitespace may follow the object
    value = json.dumps({**GOOD, "vote_id": "v\u0000"}).encode() + b" \t\r\n"
    assert ballots.parse_ballot(value, b"a")["vote_id"] == "v\x00"
