"""Screenshots of the dashboard for the README, from a real short election.

    .venv/bin/python scripts/screenshots.py [--minutes 2] [--voters 20000]
    (after `make services`; needs Debian's chromium)

Starts `dagster dev` on a free loopback port with a throwaway DAGSTER_HOME and a scratch
database, and runs the election through the webserver's GraphQL API as a person would from
the UI: registration, live_aggregation_job (so the tally is warm), open_polls_job with a
voting day of --minutes, both sensors on, the polls closing by themselves,
certify_results_job. The real dashboard (`streamlit run`) is
watched in headless Chromium with every request that leaves the machine blocked, and
docs/screenshots/ gets dashboard-pre-election.png, dashboard-live.png (mid-count),
dashboard-closing.png (the polls just closed) and dashboard-certified.png.

It uses the broker's real topic names: registration replaces an earlier election's topics,
so run it on a broker that holds no election you want to keep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser and `dagster dev` helpers live with the tests

import psycopg  # noqa: E402

from election import contract, turnout  # noqa: E402
from election.settings import setting  # noqa: E402
from election_io.topics import delete_topics  # noqa: E402
from stack.election_night import ElectionNight  # noqa: E402
from tests.election_assets.dagster_dev import running_dagster_dev  # noqa: E402
from tests.streamlit_app.browser import (  # noqa: E402
    Network,
    browser_page,
    closing_line_on_page,
    counted_on_page,
    dashboard_server,
    screenshot,
)


@contextlib.contextmanager
def election_night(
    home: Path, database_url: str, bootstrap_servers: str
) -> Iterator[ElectionNight]:
    """`dagster dev` on a free port for this database and broker, with its own Dagster home;
    the election's topics start empty (what was published there would show on the page)."""
    delete_topics(bootstrap_servers, [contract.VOTES_TOPIC, *contract.PUBLISHED_TOPICS], 30)
    env = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "SPARK_CHECKPOINT_DIR": str(home / "checkpoints"),
        "RANDOMUSER_URL": "http://127.0.0.1:9/api/",  # never the internet
    }
    with running_dagster_dev(home, env) as url:
        yield ElectionNight(url, database_url)


def counted(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        (n,) = conn.execute("SELECT coalesce(sum(counted), 0) FROM tally_batches").fetchone()
    return int(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="the voting day's length")
    parser.add_argument("--voters", type=int, default=20_000, help="the size of the roll")
    args = parser.parse_args()
    database_url, bootstrap = setting("DATABASE_URL"), setting("KAFKA_BOOTSTRAP_SERVERS")
    base, _, _ = database_url.rpartition("/")
    scratch = f"screenshots_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    scratch_url = f"{base}/{scratch}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": scratch_url,
        "DASHBOARD_TOPIC_PREFIX": "",
        "DASHBOARD_REFRESH_SECONDS": "1",
    }
    expected = round(args.voters * turnout.EXPECTED_TURNOUT)
    saved = []
    network = Network()
    try:
        with (
            tempfile.TemporaryDirectory() as home,
            election_night(Path(home), scratch_url, bootstrap) as night,
        ):
            print(f"dagster dev at {night.url}; registering {args.voters:,} voters ...")
            night.register(voters=args.voters)
            with dashboard_server(env) as url, browser_page(network=network) as page:
                page.goto(url)
                page.get_by_text("The polls are not open yet").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1500)
                saved.append(screenshot(page, "dashboard-pre-election.png"))

                print("starting the live tally ...")
                night.start_tally()
                print(f"opening the polls for a {args.minutes:g}-minute voting day ...")
                night.open_polls(args.minutes)
                opened = time.monotonic()

                def watch() -> None:
                    """What a person sees now: the count on the page and the closing line."""
                    print(
                        f"  +{time.monotonic() - opened:5.0f} s  page: "
                        f"{counted_on_page(page) or 0:>7,} ballots counted · "
                        f"{closing_line_on_page(page) or '-'} · election {night.election()[0]}"
                    )

                last_watch = 0.0
                mid_count = False
                while night.election()[0] == contract.OPEN:
                    # mid-count: half the expected vote in, or late in the day with some counted
                    so_far, late = (
                        counted(scratch_url),
                        time.monotonic() - opened > 45 * args.minutes,
                    )
                    if not mid_count and (so_far >= expected // 2 or (late and so_far)):
                        page.wait_for_timeout(2500)  # a refresh or two
                        saved.append(screenshot(page, "dashboard-live.png"))
                        page.set_viewport_size({"width": 1400, "height": 1000})
                        mid_count = True
                    if time.monotonic() - last_watch >= 15:
                        watch()
                        last_watch = time.monotonic()
                    time.sleep(1)
                watch()
                if not mid_count:
                    print("the tally reached half the expected vote only after the closing")
                page.get_by_text(re.compile(r"Polls closed at")).wait_for(timeout=60_000)
                page.wait_for_timeout(2500)
                saved.append(screenshot(page, "dashboard-closing.png"))

                closer = "polls_closing_sensor" if night.closed_by_sensor() else "a person"
                print(f"polls closed by {closer}; waiting for the tally to drain ...")
                deadline = time.time() + 600
                while not night.drained() and time.time() < deadline:
                    time.sleep(2)
                watch()
                print("certifying ...")
                night.certify()
                page.get_by_text("wins the election").first.wait_for(timeout=60_000)
                page.wait_for_timeout(2500)
                watch()
                saved.append(screenshot(page, "dashboard-certified.png"))
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    for path in saved:
        print("saved", path.relative_to(ROOT))
    if network.blocked:
        print(f"blocked requests to outside the machine: {network.blocked[:5]}")
    print(json.dumps({"screenshots": [p.name for p in saved], "blocked": len(network.blocked)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
