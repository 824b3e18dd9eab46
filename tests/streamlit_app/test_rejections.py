"""The page's count of rejections: each place once, in bounded memory, whatever is published."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamlit_app.reader import parse_time
from streamlit_app.rejections import RejectionTally, rejection_place


def test_a_rejection_published_again_counts_once():
    tally = RejectionTally()
    assert tally.add("0:5", "duplicate")
    assert tally.add("1:5", "malformed")
    assert not tally.add("0:5", "duplicate")
    assert dict(tally.by_reason) == {"duplicate": 1, "malformed": 1}


def test_a_flood_of_junk_costs_a_bit_per_offset_not_a_key():
    tally = RejectionTally()
    for offset in range(1_000_000):
        tally.add(f"0:{offset}", "malformed")
    assert tally.by_reason["malformed"] == 1_000_000
    assert tally.memory_bytes() <= 2 * 1_000_000 // 8 + 1  # a dict of keys would take ~100 MB


@given(st.text(max_size=40))
def test_any_key_is_a_place_or_none(key):
    place = rejection_place(key)
    assert place is None or (place[0] >= 0 and 0 <= place[1] < 1 << 40)


def test_keys_that_name_no_place_count_each_time_and_take_no_memory():
    tally = RejectionTally()
    for key in ("v1", "v1", "1:", ":2", "-1:2", "1:99999999999999999999", "१:2"):
        tally.add(key, "malformed")
    assert tally.by_reason["malformed"] == 7 and tally.memory_bytes() == 0


def test_a_time_past_the_calendar_in_utc_is_unreadable_not_an_error():
    assert parse_time("0001-01-01T00:00:00+01:00") is None
    assert parse_time("9999-12-31T23:59:59-01:00") is None
