"""The path the UI's Materialize button takes: `dagster dev`, then a launch over GraphQL."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from dagster_graphql import DagsterGraphQLClient

from stack.election_night import ElectionNight
from tests.election_assets.dagster_dev import running_dagster_dev

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dagster_dev(tmp_path, scratch_database):
    """A real `dagster dev` (webserver + daemon) on a free loopback port, on a scratch database."""
    env = {"DATABASE_URL": scratch_database, "RANDOMUSER_URL": "http://127.0.0.1:9/api/"}
    with running_dagster_dev(tmp_path, env) as url:
        yield int(url.rpartition(":")[2]), scratch_database


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

    # a run that fails says why in one line: the step and the project's own message
    night = ElectionNight(f"http://127.0.0.1:{port}", database_url)
    config = {"ops": {"voters": {"config": {"source": "offline", "count": 0}}}}
    failed = night.launch("registration_job", config)
    with pytest.raises(RuntimeError) as raised:
        night.succeed("registration_job", failed)
    line = str(raised.value)
    assert "\n" not in line
    assert "step voters" in line and "count must be positive, got 0" in line, line
    assert f"/runs/{failed}" in line
