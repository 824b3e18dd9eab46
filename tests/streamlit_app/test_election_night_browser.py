"""Election night end to end, as a person sees it: a short voting day run through `dagster dev`
(the UI's own GraphQL API, both sensors on), watched in Debian Chromium with every request
that leaves the machine blocked."""

from __future__ import annotations

import re
import time

import psycopg
import pytest

from .browser import Network, browser_page, counted_on_page, dashboard_server
from .election_night import election_night

# A whole voting day in 40 seconds, the turnout curve squeezed into it; the tally is started
# first, so it counts while the ballots come in.
VOTING_DAY_MINUTES = 0.67
VOTERS = 2000


@pytest.mark.services
@pytest.mark.slow
def test_a_short_voting_day_end_to_end_offline(
    chromium,
    tmp_path,
    scratch_database,
    bootstrap_servers,
):
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "DATABASE_URL": scratch_database,
        "DASHBOARD_TOPIC_PREFIX": "",
        "DASHBOARD_REFRESH_SECONDS": "1",
    }
    network = Network()
    with election_night(tmp_path, scratch_database, bootstrap_servers) as night:
        night.register(voters=VOTERS)
        night.start_tally()
        with dashboard_server(env) as url, browser_page(network=network) as page:
            page.goto(url)
            night.open_polls(VOTING_DAY_MINUTES)
            page.get_by_text(re.compile(r"Polls close at \d\d:\d\d:\d\d UTC · .* left")).wait_for(
                timeout=60_000
            )

            # the count rises step by step while the day unfolds, until the polls close
            seen: list[int] = []
            deadline = time.time() + 240
            while time.time() < deadline and not night.drained():
                counted = counted_on_page(page)
                if counted and (not seen or counted != seen[-1]):
                    seen.append(counted)
                page.wait_for_timeout(700)
            assert night.drained(), "the polls did not close, or the tally did not drain"
            assert night.closed_by_sensor(), "the polls were not closed by polls_closing_sensor"
            assert len(seen) >= 3, f"the count came in {len(seen)} steps: {seen}"
            assert seen == sorted(seen)
            page.get_by_text(re.compile(r"Polls closed at \d\d:\d\d:\d\d UTC")).wait_for(
                timeout=30_000
            )

            night.certify()
            with psycopg.connect(scratch_database) as conn:
                (winner,) = conn.execute(
                    "SELECT c.candidate_name FROM race_calls r JOIN candidates c "
                    "ON c.candidate_id = r.leader "
                    "WHERE (r.contest_id, r.district_id) = ('national', 'nation') AND r.called"
                ).fetchone()
                races = conn.execute(
                    "SELECT r.contest_id, r.district_id, r.called, "
                    "r.leader_votes = r.runner_up_votes FROM race_calls r "
                    "JOIN contests c USING (contest_id) WHERE c.vote_for = 1"
                ).fetchall()
            # every single-seat race of every contest that is not tied is called once the
            # count is complete
            assert {contest for contest, *_ in races} > {"national"}
            assert all(called != tied for *_, called, tied in races)
            # the page counts the national race's calls in the nation and the states
            called = sum(
                1
                for contest, district, c, _ in races
                if c and contest == "national" and not district.startswith("county:")
            )

            page.get_by_text(f"Winner: {winner}").wait_for(timeout=60_000)
            page.get_by_text(f"Race call: {winner} wins the election.").wait_for(timeout=30_000)
            page.get_by_text(re.compile(rf"^{called} races called")).wait_for(timeout=30_000)
            # both maps draw every state with its outlines from the app, and the photo shows
            page.wait_for_function(
                "() => document.querySelectorAll('.js-plotly-plot .choroplethlayer path')"
                ".length >= 80",
                timeout=30_000,
            )
            portrait = page.locator(".candidate-portrait").first
            assert portrait.is_visible()
            assert page.locator('[data-testid="stException"]').count() == 0

    # the outlines come from the app itself (a map drawn again may fetch them again)
    outlines = [status for _, status in network.served("/app/static/topojson/")]
    assert outlines and set(outlines) == {200}
    avatars = network.served("/app/static/avatars/")
    assert avatars and all(status == 200 for _, status in avatars)
    assert network.blocked == [], f"the page reached outside the machine: {network.blocked[:5]}"
