"""A real `dagster dev` (webserver + daemon) on a free loopback port, for tests and scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_dagster_dev(
    home: Path, env: dict[str, str] | None = None, kill: bool = False
) -> Iterator[str]:
    """Start `dagster dev` with DAGSTER_HOME=home; yield its URL once it answers, stop it after
    (with kill, by SIGKILL to all its processes at once, as a crash of the machine would).

    Its output goes to home/dagster.log, whose tail is in the error if it does not start.
    """
    port = free_port()
    (home / "dagster.yaml").write_text((ROOT / "stack" / "dagster.yaml").read_text())
    log_path = home / "dagster.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env={**os.environ, **(env or {}), "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 180
            while True:
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(f"{url}/server_info", timeout=2).ok:
                        break
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError("dagster dev did not start: " + log_path.read_text()[-3000:])
                time.sleep(1)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
