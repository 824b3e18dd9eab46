"""A ranked contest's rounds on the page, run by Streamlit's AppTest against real topics and a
scratch election database holding an election with a ranked contest."""

from __future__ import annotations

import time

import psycopg
import pytest

from benchmarks import _sample_results as sample_results
from election import contract, messages
from election.definition import Definition
from election_io.definitions import write_definition

from .conftest import set_election
from .ranked_contest import AT, DEFINITION, MAYOR, TRANSFER, rounds_message
from .test_contest_page import titled
from .test_dashboard_page import fresh_caches, page, prefix_of, texts  # noqa: F401 (fixture)

pytestmark = pytest.mark.services


def rerun_until(app, condition, timeout: float = 15.0):
    """Rerun the page until condition(app) holds: the shared reader reads new messages by itself."""
    deadline = time.monotonic() + timeout
    while not condition(app) and time.monotonic() < deadline:
        time.sleep(0.2)
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_a_ranked_contest_shows_its_rounds_once_they_are_published(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    with psycopg.connect(election_database) as conn:
        write_definition(conn, DEFINITION)
    first_choices = {"m-1": 5, "m-2": 4, "m-3": 3}  # TRANSFER's first round
    counted = messages.contest_result("mayor-OH", "state:OH", 13, 0, 1, first_choices, AT)
    results = [(contract.CONTEST_RESULTS_TOPIC, *counted)]
    sample_results.publish(bootstrap_servers, result_topics, results)
    set_election(election_database, contract.OPEN)
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    assert "Instant-runoff rounds" not in [h.value for h in app.subheader], "the national race"

    app.selectbox(key="contest").select("mayor-OH").run()

    assert "Instant-runoff rounds" in [h.value for h in app.subheader]
    assert "The rounds appear once ballots in this contest are counted." in texts(app)
    assert not titled(app, "Votes per round")

    rounds = [(contract.RCV_ROUNDS_TOPIC, *rounds_message(TRANSFER))]
    sample_results.publish(bootstrap_servers, result_topics, rounds)
    rerun_until(app, lambda app: titled(app, "Votes per round"))

    shown = texts(app)
    assert "Tabulated from the 13 ballots counted so far, as of 21:04:05 UTC" in shown
    assert "not final until certified" in shown
    assert "On the ballots counted so far, **Ben Bell** wins in round 2." in shown
    (bars,) = titled(app, "Votes per round")
    traces = {trace["name"]: trace for trace in bars["data"]}
    assert [traces["Cal Cole"]["y"], traces["Threshold"]["y"]] == [[3, None], [7, 6]]
    # a candidate keeps its colour from the first choices to the rounds
    (first,) = titled(app, "Votes per candidate")
    first_colors = dict(
        zip(first["data"][0]["y"], first["data"][0]["marker"]["color"], strict=True)
    )
    assert traces["Ann Ames"]["marker"]["color"] == first_colors["Ann Ames (Harbor Party)"]
    (table,) = [t.value for t in app.dataframe if "Threshold" in t.value.columns]
    assert table[["Round", "Threshold", "Inactive ballots", "Elected", "Eliminated"]].to_dict(
        "records"
    ) == [
        {
            "Round": 1,
            "Threshold": 7,
            "Inactive ballots": 0,
            "Elected": "",
            "Eliminated": "Cal Cole",
        },
        {
            "Round": 2,
            "Threshold": 6,
            "Inactive ballots": 1,
            "Elected": "Ben Bell",
            "Eliminated": "",
        },
    ]
    (sankey,) = titled(app, "Where each eliminated candidate's ballots went")
    assert sankey["data"][0]["type"] == "sankey"


def test_an_election_of_one_ranked_contest_shows_it_and_its_rounds_without_a_picker(
    monkeypatch, bootstrap_servers, result_topics, election_database
):
    """An imported election (one contest, no national race): its page is that contest."""
    alone = Definition((MAYOR,), DEFINITION.districts)
    with psycopg.connect(election_database) as conn:
        write_definition(conn, alone)
    rounds = [(contract.RCV_ROUNDS_TOPIC, *rounds_message(TRANSFER))]
    sample_results.publish(bootstrap_servers, result_topics, rounds)
    set_election(election_database, contract.OPEN)
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))
    rerun_until(app, lambda app: titled(app, "Votes per round"))
    assert not app.selectbox  # nothing to pick
    assert "Mayor of Ohio" in [h.value for h in app.subheader]
    assert "On the ballots counted so far, **Ben Bell** wins in round 2." in texts(app)
    # certified: the same rounds, said to be final
    set_election(election_database, contract.CERTIFIED)
    final = "Tabulated from all 13 ballots counted; certified."
    rerun_until(app, lambda app: final in texts(app), timeout=30)
    assert "**Ben Bell** wins in round 2." in texts(app)
