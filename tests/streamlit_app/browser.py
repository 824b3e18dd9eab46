"""Run the real dashboard server and look at it in headless Chromium (for tests and screenshots)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app" / "app.py"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (`apt-get install chromium`); never a downloaded one."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def dashboard_server(env: Mapping[str, str], timeout: float = 90, app: Path = APP) -> Iterator[str]:
    """`streamlit run` the app (or another page) on a free port with the environment; its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(
                        f"the dashboard did not start:\n{log.read().decode()[-3000:]}"
                    )
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


LOOPBACK = re.compile(r"^(https?|wss?)://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")


class Network:
    """What the page asked for: loopback requests go through, every other one is blocked."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.loaded: list[tuple[str, int]] = []  # (url, status) of loopback responses

    def route(self, route) -> None:
        url = route.request.url
        if LOOPBACK.match(url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")

    def served(self, part: str) -> list[tuple[str, int]]:
        """Loopback responses whose URL contains `part`."""
        return [(url, status) for url, status in self.loaded if part in url]


@contextmanager
def browser_page(width: int = 1400, height: int = 1000, network: Network | None = None):
    """A page in headless Debian Chromium driven by Playwright; with a Network, offline."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            if network is not None:
                page.route("**/*", network.route)
                page.on("response", lambda r: network.loaded.append((r.url, r.status)))
            yield page
        finally:
            browser.close()


def candidate_table(page) -> dict[str, int]:
    """The candidate totals as the page shows them: name -> votes."""
    rows = page.locator('[data-testid="stTable"] table tbody tr')
    shown = {}
    for i in range(rows.count()):
        cells = [text.strip() for text in rows.nth(i).locator("th, td").all_inner_texts()]
        shown[cells[0]] = int(cells[2].replace(",", ""))
    return shown


def wait_for_results(page, leader: str, timeout_ms: int = 60_000) -> None:
    """Wait until the live sections show the leader and the charts have been drawn."""
    page.get_by_text(re.compile(f"^(Leading|Winner): {re.escape(leader)}")).wait_for(
        timeout=timeout_ms
    )
    page.locator('[data-testid="stTable"]').first.wait_for(timeout=timeout_ms)
    page.locator(".js-plotly-plot").first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(1500)  # let Plotly finish drawing before a screenshot


def screenshot(page, name: str) -> Path:
    """Save the whole page (Streamlit scrolls inside its main block) under docs/screenshots/."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], body')]"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 40})
    page.wait_for_timeout(1000)  # charts resize to the new viewport
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def counted_on_page(page) -> int | None:
    """The "Ballots counted" figure the page shows now."""
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Ballots counted")
    if metric.count() == 0:
        return None
    text = metric.first.locator('[data-testid="stMetricValue"]').inner_text()
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else None


def closing_line_on_page(page) -> str:
    """The page's line about the polls closing ("Polls close at ... left"), if it shows one."""
    line = page.get_by_text(re.compile(r"^(Polls close|Polls closed|The polls close)"))
    return line.first.inner_text() if line.count() else ""
