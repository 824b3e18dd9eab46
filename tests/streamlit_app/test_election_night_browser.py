"""`make demo`, end to end, as a person sees it: scripts/demo.py starts `dagster dev` and the
dashboard, registers, starts the tally, opens a short voting day with both sensors on, lets the
closing sensor close the polls and certifies, all through the webserver's GraphQL API; its
dashboard is watched in Debian Chromium with every request that leaves the machine blocked.
(`make demo` is `make services` and then this program; here it runs on the suite's services.)"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from election import contract
from election_io.topics import delete_topics
from stack.election_night import ElectionNight
from tests.election_assets.dagster_dev import free_port

from .browser import Network, browser_page, counted_on_page

ROOT = Path(__file__).resolve().parents[2]
# A whole voting day in 40 seconds, the turnout curve squeezed into it; the demo starts the
# tally first, so it counts while the ballots come in.
VOTING_DAY_MINUTES = 0.67
VOTERS = 2000


class Demo:
    """scripts/demo.py running, its terminal read line by line (the live line's \r too)."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,  # universal newlines: each \r of the live line ends a line
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            self._new.put(line.rstrip())

    def said(self, prefix: str) -> str | None:
        return next((line for line in self.lines if line.startswith(prefix)), None)

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (line := self.said(prefix)) is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                tail = "\n".join(self.lines[-30:])
                raise AssertionError(f"the demo never said {prefix!r}:\n{tail}")
            time.sleep(0.3)
        return line


@contextlib.contextmanager
def running_demo(env: dict[str, str]) -> Iterator[Demo]:
    demo = Demo(env)
    try:
        yield demo
    finally:
        if demo.process.poll() is None:
            demo.process.send_signal(signal.SIGTERM)  # as the terminal's Ctrl-C would stop it
        try:
            demo.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.process.pid, signal.SIGKILL)


@pytest.mark.services
@pytest.mark.slow
def test_make_demo_runs_a_short_election_to_certification_offline(
    chromium,
    tmp_path,
    scratch_database,
    bootstrap_servers,
):
    # the election's topics on the suite's broker start empty: what an earlier test published
    # there (candidates, totals) would show on this night's page
    delete_topics(bootstrap_servers, [contract.VOTES_TOPIC, *contract.PUBLISHED_TOPICS], 30)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "DATABASE_URL": scratch_database,
        "STACK_DIR": str(tmp_path),  # the demo's logs and Dagster home
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "SPARK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "DAGSTER_PORT": str(free_port()),
        "STREAMLIT_PORT": str(free_port()),
        "RANDOMUSER_URL": "http://127.0.0.1:9/api/",  # never the internet
        "DEMO_MINUTES": str(VOTING_DAY_MINUTES),
        "DEMO_VOTERS": str(VOTERS),
        "DASHBOARD_TOPIC_PREFIX": "",
        "DASHBOARD_REFRESH_SECONDS": "1",
    }
    network = Network()
    with running_demo(env) as demo:
        # the URLs come first, before the election starts
        dagster_url = demo.wait_for("[demo] Dagster UI:", 240).split()[-1]
        url = demo.wait_for("[demo] Dashboard:", 10).split()[-1]
        registering = demo.wait_for("[demo] registering", 60)
        assert demo.lines.index(registering) > demo.lines.index(demo.said("[demo] Dashboard:"))
        night = ElectionNight(dagster_url, scratch_database)
        with browser_page(network=network) as page:
            page.goto(url)
            page.get_by_text(re.compile(r"Polls close at \d\d:\d\d:\d\d UTC · .* left")).wait_for(
                timeout=240_000
            )

            # the count rises step by step while the day unfolds, until the polls close
            seen: list[int] = []
            deadline = time.time() + 240
            while time.time() < deadline and demo.said("[demo] polls closed by") is None:
                counted = counted_on_page(page)
                if counted and (not seen or counted != seen[-1]):
                    seen.append(counted)
                page.wait_for_timeout(700)
            assert demo.wait_for("[demo] polls closed by", 10).endswith(
                "polls_closing_sensor; the tally drains ..."
            )
            assert night.closed_by_sensor(), "the polls were not closed by polls_closing_sensor"
            assert len(seen) >= 3, f"the count came in {len(seen)} steps: {seen}"
            assert seen == sorted(seen)
            page.get_by_text(re.compile(r"Polls closed at \d\d:\d\d:\d\d UTC")).wait_for(
                timeout=30_000
            )

            certified = demo.wait_for("[demo] certified:", 600)
            demo.wait_for("[demo] done; Dagster and the dashboard keep running", 30)
            status, every_ballot_tallied = night.election()
            assert (status, every_ballot_tallied) == (contract.CERTIFIED, True)
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
            # the terminal names the page's winner; Dagster still answers, to explore the runs
            assert f"winner {winner} (" in certified
            assert requests.get(f"{dagster_url}/server_info", timeout=10).ok
    # Ctrl-C (here SIGTERM) stops Dagster and the dashboard and ends the demo cleanly
    assert demo.process.returncode == 0, "\n".join(demo.lines[-20:])

    # the outlines come from the app itself (a map drawn again may fetch them again)
    outlines = [status for _, status in network.served("/app/static/topojson/")]
    assert outlines and set(outlines) == {200}
    avatars = network.served("/app/static/avatars/")
    assert avatars and all(status == 200 for _, status in avatars)
    assert network.blocked == [], f"the page reached outside the machine: {network.blocked[:5]}"
