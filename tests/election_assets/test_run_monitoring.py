"""A run worker killed under a real `dagster dev`: the run is marked failed, and the closing
sensor launches another that closes the polls."""

from __future__ import annotations

import os
import signal
import time

import dagster as dg
import pytest

from election import contract
from election_io.elections import read_election
from tests.election_assets.conftest import register
from tests.election_assets.dagster_dev import ROOT, running_dagster_dev
from tests.election_assets.test_voting import open_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_until(what: str, condition, seconds: float, every: float = 0.5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"waited {seconds:g} s for {what}")


def closing_runs(instance: dg.DagsterInstance) -> list:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=contract.CLOSE_POLLS_JOB)))


def succeeded(instance: dg.DagsterInstance) -> list | None:
    """The closing runs, newest first, once the newest has succeeded."""
    runs = closing_runs(instance)
    return runs if runs and runs[0].status == dg.DagsterRunStatus.SUCCESS else None


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's process id, once its step has started (it runs in that process)."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
        return entry.dagster_event.pid
    return None


def status(postgres) -> str:
    with postgres.connect() as conn:
        return read_election(conn).status


def test_a_killed_closing_run_fails_and_the_polls_still_close(tmp_path, postgres, scratch_database):
    register(scratch_database, voters=100)
    # the day ends in 100 s: within the closing sensor's lead, so it launches a run at once
    election, _ = open_for(postgres, 2, started_ago_s=20)
    with (
        running_dagster_dev(tmp_path, {"DATABASE_URL": scratch_database}),
        dg.DagsterInstance.from_config(str(tmp_path)) as instance,
    ):
        (first,) = wait_until("the first closing run", lambda: closing_runs(instance), 60)
        pid = wait_until(
            "its worker to start waiting",
            lambda: (
                worker_pid(instance, first.run_id)
                if instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.STARTED
                else None
            ),
            60,
        )
        os.kill(pid, signal.SIGKILL)  # killed while it waits for the closing time
        wait_until(
            "the killed run to be marked failed",
            lambda: instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.FAILURE,
            60,
        )
        with postgres.connect() as conn:  # no need to wait out the day
            conn.execute("UPDATE elections SET polls_close_at = clock_timestamp()")
        wait_until(
            "the polls to close",
            lambda: status(postgres) == contract.CLOSED,
            60,
        )
        # the polls close inside the run; the run's own status follows a moment later
        runs = wait_until("the retried run to succeed", lambda: succeeded(instance), 60)
    assert len(runs) == 2 and runs[0].run_id != first.run_id
    assert runs[0].tags["election_id"] == str(election.election_id)


def test_a_closing_run_left_behind_by_a_dagster_restart_is_failed_and_retried(
    tmp_path, postgres, scratch_database
):
    register(scratch_database, voters=100)
    open_for(postgres, 0.5, started_ago_s=5)  # the day ends in 25 s
    # run monitoring fails the orphaned run 10 s past the closing time, not the default 60
    env = {"DATABASE_URL": scratch_database, "CLOSING_OVERRUN_SECONDS": "10"}
    (tmp_path / "dagster.yaml").write_text((ROOT / "stack" / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        with running_dagster_dev(tmp_path, env, kill=True):
            (first,) = wait_until("the first closing run", lambda: closing_runs(instance), 60)
            wait_until(
                "its worker to start waiting", lambda: worker_pid(instance, first.run_id), 60
            )
        # everything went down at once (SIGKILL): nothing is left to say the run ended
        assert instance.get_run_by_id(first.run_id).status == dg.DagsterRunStatus.STARTED
        assert status(postgres) == contract.OPEN
        with running_dagster_dev(tmp_path, env):
            # run monitoring fails it once past its max runtime, and the sensor closes the polls
            wait_until("the polls to close", lambda: status(postgres) == contract.CLOSED, 150, 1)
            runs = wait_until("the retried run to succeed", lambda: succeeded(instance), 60)
    assert instance.get_run_by_id(first.run_id).status != dg.DagsterRunStatus.STARTED
    assert len(runs) == 2
