"""Fixtures for the dashboard's tests: fresh result topics and a scratch election database."""

from __future__ import annotations

import importlib.util
import os

import psycopg
import pytest

from benchmarks import _sample_results as sample_results
from election.schema import TABLES
from streamlit_app.reader import topic_names_from_env

from .browser import chromium_path

# Three US states, so the page draws maps; the sample's totals are known exactly.
SAMPLE_STATES = ["Ohio", "Texas", "Utah"]


@pytest.fixture
def topic_names(bootstrap_servers: str, unique_name: str):
    """Contract name -> a fresh topic name; the topics are deleted afterwards."""
    names = topic_names_from_env(f"{unique_name}_")
    yield names
    sample_results.delete_topics(bootstrap_servers, names.values())


@pytest.fixture
def result_topics(bootstrap_servers: str, topic_names: dict[str, str]) -> dict[str, str]:
    """Fresh, empty result topics and ballot log."""
    sample_results.create_topics(bootstrap_servers, topic_names)
    return topic_names


@pytest.fixture
def election_database(scratch_database: str) -> str:
    """A scratch database with the election's tables and no rows."""
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute(TABLES)
    return scratch_database


def set_election(database_url: str, status: str, name: str = "Test election") -> None:
    """Record an election with the given lifecycle status."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM elections")
        conn.execute(
            "INSERT INTO elections (name, status, polls_opened_at) VALUES (%s, %s, now())",
            (name, status),
        )


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium and Playwright; missing ones skip the test, except in CI where they fail it."""
    path = chromium_path()
    missing = [] if path else ["Debian's chromium (apt-get install -y chromium)"]
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
