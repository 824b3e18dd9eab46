"""The real dashboard server in headless Chromium shows exactly what the result topics hold."""

from __future__ import annotations

import pytest

from benchmarks import _sample_results as sample_results
from election import contract

from .browser import (
    Network,
    browser_page,
    candidate_table,
    dashboard_server,
    screenshot,
    wait_for_results,
)
from .conftest import SAMPLE_STATES, set_election


@pytest.mark.services
def test_the_page_shows_the_leader_and_totals_in_the_topics(
    chromium, bootstrap_servers, result_topics, election_database
):
    messages = sample_results.sample_election(48_213, SAMPLE_STATES, batches=4, rejected=120)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    set_election(election_database, contract.OPEN, name="Browser test election")
    totals = sample_results.candidate_totals(messages)
    leader = max(totals, key=totals.get)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "DATABASE_URL": election_database,
        "DASHBOARD_TOPIC_PREFIX": result_topics[contract.VOTES_TOPIC].removesuffix(
            contract.VOTES_TOPIC
        ),
        "DASHBOARD_REFRESH_SECONDS": "1",
    }

    network = Network()
    with dashboard_server(env) as url, browser_page(network=network) as page:
        page.goto(url)
        wait_for_results(page, leader)
        wait_for_maps(page, len(SAMPLE_STATES))
        shown = candidate_table(page)
        screenshot(page, "browser-test.png")

        assert shown == totals
        assert page.get_by_text("Browser test election").count() >= 1
        assert page.locator('[data-testid="stException"]').count() == 0
        # the outlines came from the app itself, with every outside request blocked
        assert network.served("/app/static/topojson/usa_110m.json")[0][1] == 200
        assert not [u for u in network.blocked if "topojson" in u or "cdn.plot.ly" in u]
        assert page.get_by_text("CDN").count() == 0

        # A new result reaches the open page by itself, without a reload.
        runner_up = sorted(totals, key=totals.get)[-2]
        overtaking = {**latest_result(messages, runner_up), "total_votes": totals[leader] + 1}
        sample_results.publish(
            bootstrap_servers,
            result_topics,
            [(contract.VOTES_PER_CANDIDATE_TOPIC, overtaking["candidate_id"], overtaking)],
        )
        wait_for_results(page, runner_up, timeout_ms=30_000)
        assert candidate_table(page) == {**totals, runner_up: totals[leader] + 1}


def wait_for_maps(page, states: int, timeout_ms: int = 30_000) -> None:
    """Both maps have drawn their states' outlines (Plotly paints one path per state and map)."""
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .choroplethlayer path').length >= n",
        arg=2 * states,
        timeout=timeout_ms,
    )


def latest_result(messages: list, candidate_name: str) -> dict:
    """The last message about a candidate on aggregated_votes_per_candidate."""
    return [
        value
        for topic, _, value in messages
        if topic == contract.VOTES_PER_CANDIDATE_TOPIC and value["candidate_name"] == candidate_name
    ][-1]
