"""The ballot message: building, bulk encoding, parsing and rejecting malformed input."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import ballots, contests, contract

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
        selections = {contests.NATIONAL_CONTEST: (candidate_id,)}
        assert parsed == {**expected, "voting_time": AT, "selections": selections}


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
    assert set(parsed) == {*contract.BALLOT_FIELDS, "selections"}
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


# --- Judging is total: whatever a message holds, a verdict -----------------------------------

HUGE_INTEGER = b"9" * 4_301  # past Python's int() limit of 4,300 digits, far under the door


@pytest.mark.parametrize(
    "voting_time",
    [
        "0001-01-01T00:00:00+01:00",  # in UTC, the year 0
        "9999-12-31T23:59:59-01:00",  # in UTC, the year 10000
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999-23:59",
    ],
)
def test_a_voting_time_outside_the_calendar_in_utc_is_malformed(voting_time):
    value = json.dumps({**GOOD, "voting_time": voting_time}).encode()
    with pytest.raises(ballots.BallotError) as caught:
        ballots.parse_ballot(value, b"a")
    assert caught.value.reason == contract.MALFORMED
    assert "outside the calendar" in caught.value.detail
    assert caught.value.vote_id == "v"


@pytest.mark.parametrize(
    "extra",
    [
        HUGE_INTEGER,
        b"-" + HUGE_INTEGER,
        b"[" + HUGE_INTEGER + b"]",
        b"1e999",  # a float past the double's range: JSON allows it
        b"-1e999",
        b"1" + b"0" * 70_000,
        b"0." + b"1" * 5_000 + b"e-99999999999999999999",
    ],
)
def test_huge_numbers_in_extra_fields_leave_a_ballot_well_formed(extra):
    value = WELL_FORMED[:-1] + b',"padding":' + extra + b"}"
    assert ballots.parse_ballot(value, b"a")["voter_id"] == "a"


def test_a_huge_integer_in_a_field_is_a_number_not_a_string():
    value = WELL_FORMED.replace(b'"x"', HUGE_INTEGER)
    with pytest.raises(ballots.BallotError, match="'candidate_id' is not a string"):
        ballots.parse_ballot(value, b"a")


JSON_ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**4200), max_value=10**4200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_ATOMS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
EDGE_TIMES = st.sampled_from(
    [
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999Z",
        "2024-02-29T12:00:00+24:00",
        "2024-11-05T14:03:27+99:99",
        "2024-11-05T14:03:27.1234567Z",
    ]
)


def _number_text(draw) -> bytes:
    digits = draw(st.integers(1, 9_000))
    sign = draw(st.sampled_from([b"", b"-"]))
    exponent = draw(st.sampled_from([b"", b"e999", b"E-999", b"e+99999999999999999999"]))
    fraction = draw(st.sampled_from([b"", b".5", b"." + b"7" * 4_400]))
    return sign + b"9" * digits + fraction + exponent


@st.composite
def hostile_values(draw) -> bytes:
    """Byte strings near a ballot: random bytes, odd JSON, huge numbers, deep arrays, edge times."""
    kind = draw(st.sampled_from(["bytes", "json", "number", "deep", "time", "ballot"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    fields = {**GOOD}
    if kind == "time":
        fields["voting_time"] = draw(EDGE_TIMES)
    value = json.dumps(fields).encode()
    if kind == "number":
        return value[:-1] + b',"n":' + _number_text(draw) + b"}"
    if kind == "deep":
        depth = draw(st.integers(1, 3_000))
        return value[:-1] + b',"d":' + b"[" * depth + b"]" * draw(st.integers(0, depth)) + b"}"
    if kind == "ballot":
        field = draw(st.sampled_from(list(GOOD)))
        fields[field] = draw(JSON_VALUES)
        return json.dumps(fields).encode()
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(hostile_values(), st.none()),
    key=st.one_of(st.none(), st.binary(max_size=8), st.just(b"a")),
)
def test_judging_is_total_every_byte_string_gets_a_verdict(value, key):
    try:
        ballot = ballots.parse_ballot(value, key)
    except ballots.BallotError as error:
        assert error.reason == contract.MALFORMED and error.detail
        return
    assert set(ballot) == {*contract.BALLOT_FIELDS, "selections"}
    assert ballot["voting_time"].tzinfo is not None


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _TEXT,
            _TEXT,
            st.dictionaries(_TEXT, st.lists(_TEXT, max_size=3, unique=True), max_size=4),
        ),
        max_size=6,
    )
)
def test_selection_ballots_encode_as_their_canonical_message(rows):
    """Any ids, hostile ones too (quotes, backslashes, control characters): compact JSON, fields
    in selections_message's order, read back by parse_ballot."""
    fragments = pa.array(
        [json.dumps(s, ensure_ascii=False, separators=(",", ":"))[1:-1] for _, _, s in rows],
        pa.string(),
    )
    encoded = ballots.encode_selection_ballots(
        [r[0] for r in rows], [r[1] for r in rows], fragments, ballots.utc_iso(AT)
    )
    for value, (vote_id, voter_id, selections) in zip(encoded, rows, strict=True):
        canonical = ballots.selections_message(vote_id, voter_id, AT, selections)
        assert value == json.dumps(canonical, ensure_ascii=False, separators=(",", ":")).encode()
        if selections:
            parsed = ballots.parse_ballot(value, voter_id)
            assert parsed["selections"] == {c: tuple(e) for c, e in selections.items()}


def test_selection_ballots_refuse_mismatched_columns():
    with pytest.raises(ValueError, match="one of each"):
        ballots.encode_selection_ballots(["v1", "v2"], ["a"], pa.array(['"c":[]']), "t")
    with pytest.raises(ValueError, match="voting times"):
        ballots.encode_selection_ballots(["v1"], ["a"], pa.array(['"c":[]']), ["t1", "t2"])
    assert ballots.encode_selection_ballots([], [], pa.array([], pa.string()), "t") == []
