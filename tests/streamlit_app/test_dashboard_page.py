"""The page, run by Streamlit's AppTest against prepared topics and a scratch election database."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from benchmarks import _sample_results as sample_results
from election import contract
from election.contests import NATION, NATIONAL_CONTEST
from election.result_status import human_count

from .conftest import SAMPLE_STATES, set_election

APP = Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py"


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test gets its own reader; readers are stopped when their cache is cleared."""
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def page(monkeypatch, bootstrap_servers: str, database_url: str, prefix: str) -> AppTest:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DASHBOARD_TOPIC_PREFIX", prefix)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(app: AppTest) -> str:
    return "\n".join(
        [e.value for e in app.markdown]
        + [e.value for e in app.caption]
        + [e.value for e in app.info]
        + [e.value for e in app.warning]
        + [e.value for e in app.error]
        + [e.value for e in app.success]
    )


def prefix_of(topic_names: dict[str, str]) -> str:
    return topic_names[contract.VOTES_TOPIC].removesuffix(contract.VOTES_TOPIC)


@pytest.mark.services
def test_shows_the_leader_and_every_total(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(12_345, SAMPLE_STATES, batches=3, rejected=30)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    set_election(election_database, contract.OPEN)
    totals = sample_results.candidate_totals(messages)
    leader = max(totals, key=totals.get)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    shown = texts(app)
    assert "Test election" in shown and "Unofficial · partial" in shown
    assert f"Leading: {leader}" in shown
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Votes"] == human_count(totals[leader])
    runner_up = sorted(totals.values())[-2]
    assert any(
        label.startswith("Margin over") and value == human_count(totals[leader] - runner_up)
        for label, value in metrics.items()
    )
    assert metrics["Rejected ballots"] == human_count(30)
    table = app.table[0].value
    assert {name: int(row["Votes"].replace(",", "")) for name, row in table.iterrows()} == totals
    assert sum(totals.values()) == 12_345


@pytest.mark.services
def test_before_anything_is_registered(
    monkeypatch, bootstrap_servers, topic_names, election_database
):
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(topic_names))

    assert "Nothing is registered yet" in texts(app)
    assert not app.metric


@pytest.mark.services
def test_before_the_polls_open(monkeypatch, bootstrap_servers, result_topics, election_database):
    with psycopg.connect(election_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO candidates (candidate_id, candidate_name, party_affiliation) VALUES"
            " ('c1', 'Avery Johnson', 'Harbor Party'), ('c2', 'Morgan Lee', 'Prairie Alliance')"
        )
        conn.execute(
            "INSERT INTO voters (voter_id, voter_name, date_of_birth, registration_number, address_state)"
            " SELECT 'v' || i, 'x', '1980-01-01', 'r' || i, CASE WHEN i % 2 = 0 THEN 'Ohio' ELSE 'Utah' END"
            " FROM generate_series(1, 1500) AS i"
        )
    set_election(election_database, contract.REGISTRATION)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    shown = texts(app)
    assert "Pre-election" in shown and "The polls are not open yet" in shown
    assert (
        "2 candidates" in shown
        and f"**{human_count(1500)}** registered voters in 2 states" in shown
    )
    assert "Avery Johnson" in shown


@pytest.mark.services
def test_unofficial_complete_once_closed_and_drained(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(500, SAMPLE_STATES, rejected=5)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    votes = result_topics[contract.VOTES_TOPIC]
    sample_results.publish_ballot_log(bootstrap_servers, votes, 505)
    set_election(election_database, contract.CLOSED)
    sample_results.record_tally(election_database, bootstrap_servers, votes, 505)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    assert "Unofficial · complete" in texts(app) and "tally caught up" in texts(app)


@pytest.mark.services
def test_partial_while_the_tally_lags_behind_by_its_ledger(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(500, SAMPLE_STATES)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    votes = result_topics[contract.VOTES_TOPIC]
    sample_results.publish_ballot_log(bootstrap_servers, votes, 700)
    set_election(election_database, contract.CLOSED)
    # The tally's ledger: 300 of the 700 messages on the ballot log judged so far.
    sample_results.record_tally(election_database, bootstrap_servers, votes, 300)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    shown = texts(app)
    assert "Unofficial · partial" in shown and f"tally {human_count(400)} ballots behind" in shown
    assert "the last ballots are being tallied" in shown


@pytest.mark.services
def test_certified_with_the_race_called(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(2_000, SAMPLE_STATES)
    totals = sample_results.candidate_totals(messages)
    winner = max(totals, key=totals.get)
    key = contract.contest_key(NATIONAL_CONTEST, NATION)
    call = {"contest_id": NATIONAL_CONTEST, "district_id": NATION, "race": key, "called": True}
    call.update(candidate_id="cand-1", candidate_name=winner, called_at="2026-11-03T21:00:00Z")
    sample_results.publish(
        bootstrap_servers, result_topics, [*messages, (contract.RACE_CALLS_TOPIC, key, call)]
    )
    set_election(election_database, contract.CERTIFIED)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    shown = texts(app)
    assert "Certified" in shown and f"Race call: {winner} wins the election" in shown
    assert f"Winner: {winner}" in shown


@pytest.mark.services
def test_the_turnout_profile_shows_once_the_asset_has_run(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(1_000, SAMPLE_STATES)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    set_election(election_database, contract.CERTIFIED)
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))
    assert "Turnout by age and gender" not in [h.value for h in app.subheader]

    with psycopg.connect(election_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO turnout_profile VALUES ('Ohio', '18-29', 'female', 40, 10),"
            " ('Utah', '18-29', 'female', 60, 20), ('Ohio', '65+', 'male', 50, 45)"
        )
    st.cache_data.clear()
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))
    assert "Turnout by age and gender" in [h.value for h in app.subheader]
    table = app.dataframe[-1].value
    rows = {
        (r["age band"], r["gender"]): (r["registered"], r["voted"]) for _, r in table.iterrows()
    }
    assert rows == {("18-29", "female"): (100, 30), ("65+", "male"): (50, 45)}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_says_so_when_kafka_and_the_database_are_down(monkeypatch):
    port = closed_port()
    app = page(
        monkeypatch,
        f"127.0.0.1:{port}",
        f"postgresql://postgres:postgres@127.0.0.1:{port}/voting",
        "",
    )

    assert "Live results are unavailable" in " ".join(e.value for e in app.error)
    assert "results status is unknown" in " ".join(e.value for e in app.warning)
    assert not app.metric
