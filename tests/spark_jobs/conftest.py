"""A small local Spark session for the tally's tests (2 cores are shared: keep it small)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from spark_jobs.session import build_session

    session = build_session("tests", master="local[2]", shuffle_partitions=4, ui=False)
    yield session
    session.stop()
