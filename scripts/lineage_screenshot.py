"""A screenshot of the Dagster asset graph for the README: the election's lineage.

    .venv/bin/python scripts/lineage_screenshot.py      (needs Debian's chromium)

Starts a real `dagster dev` on a free loopback port with a throwaway DAGSTER_HOME, opens the
global asset lineage in headless Chromium and saves docs/screenshots/dagster-lineage.png:
registration -> ballots (votes_topic) -> live results -> certified results.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser helpers live with the tests

from tests.election_assets.dagster_dev import running_dagster_dev  # noqa: E402
from tests.streamlit_app.browser import browser_page  # noqa: E402

OUT = ROOT / "docs" / "screenshots" / "dagster-lineage.png"


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as home,
        running_dagster_dev(Path(home)) as url,
        browser_page(width=1800, height=1000) as page,
    ):
        # the upstream lineage of the certified result: every asset, groups expanded
        page.goto(
            f"{url}/assets/certification?view=lineage&lineageScope=upstream&lineageDepth=6",
            wait_until="networkidle",
        )
        page.wait_for_selector("text=certified_results", timeout=60_000)
        # a first visit asks to join the community; say no (if this version asks)
        with contextlib.suppress(Exception):
            page.get_by_role("button", name="Skip").click(timeout=15_000)
        time.sleep(3)  # let the graph lay itself out
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT), full_page=True)
    print(f"saved {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
