"""A contest picked on the real dashboard in headless Chromium: its county map drawn, offline."""

from __future__ import annotations

import psycopg
import pytest

from benchmarks import _sample_results as sample_results
from election import contract
from election_io.definitions import write_definition

from .browser import Network, browser_page, dashboard_server, screenshot, wait_for_results
from .conftest import SAMPLE_STATES, set_election

OHIO_COUNTIES = 88


@pytest.mark.services
def test_a_picked_contest_draws_its_state_by_county(
    chromium, bootstrap_servers, result_topics, election_database
):
    definition = sample_results.sample_definition()
    with psycopg.connect(election_database) as conn:
        write_definition(conn, definition)
    national = sample_results.sample_election(4_000, SAMPLE_STATES)
    contests = sample_results.sample_contest_results(definition)
    sample_results.publish(bootstrap_servers, result_topics, [*national, *contests])
    set_election(election_database, contract.OPEN)
    totals = sample_results.candidate_totals(national)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "DATABASE_URL": election_database,
        "DASHBOARD_TOPIC_PREFIX": result_topics[contract.VOTES_TOPIC].removesuffix(
            contract.VOTES_TOPIC
        ),
    }

    network = Network()
    with dashboard_server(env) as url, browser_page(network=network) as page:
        page.goto(url)
        wait_for_results(page, max(totals, key=totals.get))
        page.get_by_label("Contest").click()  # Streamlit's selectbox opens its list
        page.get_by_role("option", name="Ohio Issue 1: Fund parks and open space").click()
        page.get_by_text("Yes and no").first.wait_for(timeout=30_000)
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .choroplethlayer path').length >= n",
            arg=OHIO_COUNTIES,
            timeout=30_000,
        )
        screenshot(page, "browser-test-contest.png")

        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("Leading:").count() == 0
        assert network.served("/app/static/geo/us-counties.json")[0][1] == 200
        assert network.blocked == []
