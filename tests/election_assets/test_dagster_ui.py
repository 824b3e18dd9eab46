"""The path the UI's Materialize button takes: `dagster dev`, then a launch over GraphQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dagster_dev(tmp_path, scratch_database):
    """A real `dagster dev` (webserver + daemon) on a free loopback port, on a scratch database."""
    port = free_port()
    (tmp_path / "dagster.yaml").write_text((ROOT / "stack" / "dagster.yaml").read_text())
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "DATABASE_URL": scratch_database,
        "RANDOMUSER_URL": "http://127.0.0.1:9/api/",
    }
    log = open(tmp_path / "dagster.log", "wb")  # noqa: SIM115 -- closed below
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
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, (tmp_path / "dagster.log").read_text()[-3000:]
            time.sleep(1)
        else:
            pytest.fail(
                "dagster dev did not start: " + (tmp_path / "dagster.log").read_text()[-3000:]
            )
        yield port, scratch_database
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
def test_registration_launched_through_the_webserver(dagster_dev):
    port, database_url = dagster_dev
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "registration_job",
        run_config={
            "ops": {
                "candidates": {"config": {"source": "auto"}},
                "voters": {"config": {"source": "offline", "count": 2500, "seed": 3}},
            }
        },
    )
    deadline = time.time() + 240
    status = None
    while time.time() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM voters").fetchone() == (2500,)
        assert conn.execute("SELECT count(*) FROM candidates").fetchone() == (3,)
