"""The contest picker and a contest's view, run by Streamlit's AppTest against real topics and a
scratch election database holding the sample definition (benchmarks/_sample_results.py)."""

from __future__ import annotations

import json

import psycopg
import pytest
import streamlit as st

from benchmarks import _sample_results as sample_results
from election import contract
from election.result_status import human_count
from election_io.definitions import write_definition

from .conftest import SAMPLE_STATES, set_election
from .test_dashboard_page import fresh_caches, page, prefix_of, texts  # noqa: F401 (fixture)

pytestmark = pytest.mark.services


def latest(messages, contest_id: str, district_id: str) -> dict:
    """The value the page should show for a contest in a district (the last message wins)."""
    key = contract.contest_key(contest_id, district_id)
    return [value for _, k, value in messages if k == key][-1]


@pytest.fixture
def contest_election(bootstrap_servers, result_topics, election_database):
    """The sample election published: the national race's seed topics and every contest's
    results, with the sample definition in the database."""
    definition = sample_results.sample_definition()
    with psycopg.connect(election_database) as conn:
        write_definition(conn, definition)
    national = sample_results.sample_election(4_000, SAMPLE_STATES, rejected=3)
    contests = sample_results.sample_contest_results(definition)
    sample_results.publish(bootstrap_servers, result_topics, [*national, *contests])
    set_election(election_database, contract.OPEN)
    return national, contests


def plotly_figures(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def titled(app, start: str) -> list[dict]:
    """The page's figures whose title starts so."""
    figures = plotly_figures(app)
    return [f for f in figures if f["layout"].get("title", {}).get("text", "").startswith(start)]


def test_the_national_race_is_picked_first_and_its_page_is_unchanged(
    monkeypatch, bootstrap_servers, result_topics, election_database, contest_election
):
    national, _ = contest_election
    totals = sample_results.candidate_totals(national)
    leader = max(totals, key=totals.get)

    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    picker = app.selectbox(key="contest")
    assert picker.value == "national"
    assert picker.options[0] == "President" and len(picker.options) == 5
    assert f"Leading: {leader}" in texts(app)
    table = app.table[0].value
    assert {name: int(row["Votes"].replace(",", "")) for name, row in table.iterrows()} == totals
    headers = [h.value for h in app.subheader]
    for section in ("Turnout and states", "The count over time", "Rejected ballots", "Race calls"):
        assert section in headers
    # the national race by county on the nation's map, beside the seed's sections
    (by_county,) = titled(app, "Leader by county")
    assert "fitbounds" not in by_county["layout"]["geo"]
    drawn = {fips for trace in by_county["data"] for fips in trace["locations"]}
    assert drawn == set(sample_results.SAMPLE_COUNTIES)


def test_picking_a_contest_shows_its_table_with_over_and_undervotes(
    monkeypatch, bootstrap_servers, result_topics, election_database, contest_election
):
    _, contests = contest_election
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    app.selectbox(key="contest").select("senate-OH").run()

    assert not app.exception
    assert "U.S. Senate, Ohio" in [h.value for h in app.subheader]
    ohio = latest(contests, "senate-OH", "state:OH")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Ballots"] == human_count(ohio["ballots"])
    assert metrics["Overvotes"] == human_count(ohio["overvotes"])
    assert metrics["Undervotes"] == human_count(ohio["undervotes"])
    assert "Leading:" not in texts(app), "the national race's sections are not shown"
    assert "Race calls" not in [h.value for h in app.subheader], "none published: none shown"
    table = app.dataframe[0].value
    assert list(table["Area"]) == [
        "Ohio",
        "Cuyahoga County, OH",
        "Franklin County, OH",
        "Hamilton County, OH",
    ]
    assert list(table.columns) == [
        "Area", "Dana Brooks", "Riley Chen", "Sam Ortiz", "Ballots", "Overvotes", "Undervotes"
    ]  # fmt: skip
    state = table.iloc[0]
    assert state["Dana Brooks"] == ohio["totals"]["sen-oh-1"]
    assert (state["Ballots"], state["Overvotes"], state["Undervotes"]) == (
        ohio["ballots"],
        ohio["overvotes"],
        ohio["undervotes"],
    )
    # every county of Ohio on the map, zoomed to the state: the three with results lead
    (county_map,) = [f for f in plotly_figures(app) if "geo" in f["layout"]]
    drawn = {fips for trace in county_map["data"] for fips in trace["locations"]}
    assert len(drawn) == 88 and {"39035", "39049", "39061"} <= drawn
    assert county_map["layout"]["geo"]["fitbounds"] == "locations"


def test_a_measure_shows_yes_and_no_bars(
    monkeypatch, bootstrap_servers, result_topics, election_database, contest_election
):
    _, contests = contest_election
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))

    app.selectbox(key="contest").select("measure-OH").run()

    (bars,) = titled(app, "Yes and no")
    yes, no = bars["data"]
    assert (yes["name"], no["name"]) == ("Yes", "No")
    ohio = latest(contests, "measure-OH", "state:OH")["totals"]
    # the state on top (plotly draws the first bar at the bottom)
    assert yes["y"][-1] == "Ohio" and yes["customdata"][-1] == ohio["yes"]
    assert yes["x"][-1] == pytest.approx(100 * ohio["yes"] / (ohio["yes"] + ohio["no"]))
    assert [y + n for y, n in zip(yes["x"], no["x"], strict=True)] == pytest.approx([100] * 4)
    table = app.dataframe[0].value
    assert list(table.columns) == ["Area", "Yes", "No", "Ballots", "Overvotes", "Undervotes"]


def test_a_county_contest_and_its_race_calls(
    monkeypatch, bootstrap_servers, result_topics, election_database, contest_election
):
    call = {
        "contest_id": "commission-39035",
        "district_id": "county:39035",
        "race": "commission-39035|county:39035",
        "called": True,
        "candidate_id": "com-2",
        "candidate_name": "Blair Fox",
        "margin": 321,
        "outstanding": 12,
        "called_at": "2026-11-03T21:04:05Z",
        "updated_at": "2026-11-03T21:04:05Z",
    }
    key = contract.contest_key("commission-39035", "county:39035")
    sample_results.publish(
        bootstrap_servers, result_topics, [(contract.RACE_CALLS_TOPIC, key, call)]
    )
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))
    assert "No race called yet" in texts(app), "a contest's call is not the national race's"

    app.selectbox(key="contest").select("commission-39035").run()

    assert "vote for 2" in texts(app) and "ballots × 2" in texts(app)
    (county_map,) = titled(app, "Leader by county")
    drawn = {fips for trace in county_map["data"] for fips in trace["locations"]}
    assert len(drawn) == 88, "a county's contest is drawn in its state"
    calls = app.dataframe[-1].value
    assert calls.to_dict("records") == [
        {
            "Area": "Cuyahoga County, OH",
            "Called for": "Blair Fox",
            "Margin": "321",
            "Votes outstanding": "12",
            "Called at": "21:04:05 UTC",
        }
    ]


def test_a_picked_contest_gone_from_the_definition_falls_back_to_the_national_race(
    monkeypatch, bootstrap_servers, result_topics, election_database, contest_election
):
    app = page(monkeypatch, bootstrap_servers, election_database, prefix_of(result_topics))
    app.selectbox(key="contest").select("governor-UT").run()
    assert "Governor, Utah" in [h.value for h in app.subheader]

    with psycopg.connect(election_database, autocommit=True) as conn:
        conn.execute("DELETE FROM contest_choices WHERE contest_id = 'governor-UT'")
        conn.execute("DELETE FROM contests WHERE contest_id = 'governor-UT'")
    st.cache_data.clear()
    app.run()

    assert not app.exception, [e.value for e in app.exception]
    assert "Governor, Utah" not in [h.value for h in app.subheader]
    assert "Leading:" in texts(app)
