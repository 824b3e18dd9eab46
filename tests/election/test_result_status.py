"""Results status as published, and numbers as people read them."""

from __future__ import annotations

import pytest

from election import contract, result_status


@pytest.mark.parametrize(
    ("status", "drained", "expected"),
    [
        (None, False, "pre-election"),
        (contract.REGISTRATION, True, "pre-election"),
        (contract.OPEN, False, "unofficial-partial"),
        (contract.OPEN, True, "unofficial-partial"),
        (contract.CLOSED, False, "unofficial-partial"),
        (contract.CLOSED, True, "unofficial-complete"),
        (contract.CERTIFIED, False, "certified"),
    ],
)
def test_results_status(status, drained, expected):
    assert result_status.results_status(status, drained) == expected
    assert result_status.status_label(expected)


def test_unknown_statuses_are_errors():
    with pytest.raises(ValueError, match="unknown election status"):
        result_status.results_status("counting", True)
    with pytest.raises(ValueError, match="unknown results status"):
        result_status.status_label("final")


@pytest.mark.parametrize(
    ("n", "long", "short"),
    [
        (0, "0", "0"),
        (999, "999", "999"),
        (1500, "1,500", "1.5K"),
        (999_999, "999,999", "1.0M"),
        (1_234_567, "1,234,567", "1.2M"),
        (2_500_000_000, "2,500,000,000", "2.5B"),
    ],
)
def test_human_count(n, long, short):
    assert result_status.human_count(n) == long
    assert result_status.human_count(n, short=True) == short


def test_share_and_percent():
    assert result_status.share(1, 4) == 0.25
    assert result_status.share(5, 0) == 0.0
    assert result_status.percent(523, 1000) == "52.3%"
    assert result_status.percent(0, 0) == "0.0%"
