"""The polls open and close by the broker's clock, the clock that stamps the ballots."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from election_io import clock

pytestmark = [pytest.mark.services]


def test_the_broker_stamps_the_probe(bootstrap_servers):
    before = datetime.now(UTC)
    now = clock.broker_now(bootstrap_servers)
    assert now.tzinfo is not None
    assert abs(now - before) < timedelta(seconds=5)


def test_a_broker_that_does_not_answer_is_one_line():
    began = time.monotonic()
    with pytest.raises(clock.ClockUnavailable, match="make services") as missing:
        clock.broker_now("127.0.0.1:1", timeout=2)
    assert "\n" not in str(missing.value)
    assert time.monotonic() - began < 10
