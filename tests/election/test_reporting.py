"""Election-night reporting: counted, share of the roll, expected vote reporting, what the trailer needs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election.reporting import report


def test_a_race_part_way_through_the_count():
    race = report({"x": 300, "y": 200, "z": 20}, registered=1000, expected_turnout=0.65)
    assert race.counted == 520 and race.expected == 650 and race.remaining == 130
    assert race.share_of_roll == pytest.approx(0.52)
    assert race.expected_reporting == pytest.approx(0.8)
    assert (race.leader, race.runner_up, race.margin) == ("x", "y", 100)
    # y needs (130 + 100) / 2 of the 130 remaining to draw level
    assert race.runner_up_needs == pytest.approx(230 / 260)


def test_out_of_reach_is_above_one():
    assert report({"x": 600, "y": 10}, 1000, 0.65).runner_up_needs > 1


def test_a_complete_count_is_all_reporting():
    race = report({"x": 50, "y": 40}, 1000, 0.65, complete=True)
    assert race.expected_reporting == 1.0 and race.runner_up_needs is None


def test_more_counted_than_expected_is_all_reporting():
    assert report({"x": 700, "y": 200}, 1000, 0.65).expected_reporting == 1.0


def test_nothing_counted():
    race = report({"x": 0, "y": 0}, 100, 0.65)
    assert race.leader is None and race.runner_up_needs is None and race.expected_reporting == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="expected turnout"):
        report({"x": 1}, 10, 1.5)
    with pytest.raises(ValueError, match="negative"):
        report({"x": -1}, 10, 0.5)


@given(
    st.dictionaries(st.text(max_size=3), st.integers(0, 10**6), max_size=5), st.integers(0, 10**7)
)
def test_reporting_stays_between_nothing_and_everything(totals, registered):
    race = report(totals, registered, 0.65)
    assert 0.0 <= race.expected_reporting <= 1.0
    if race.runner_up_needs is not None:
        assert race.runner_up_needs >= 0.5  # drawing level takes at least half of what is left
