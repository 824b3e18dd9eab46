"""The tally's supervisor sensor against real failed runs of live_aggregation_job."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest
from dagster import DagsterRun, DagsterRunStatus

from election import contract
from election_assets import tally
from election_assets.resources import SparkLauncher
from election_io import tally_exit
from spark_jobs import ledger
from tests.election_assets.conftest import register
from tests.election_assets.test_voting import open_election

pytestmark = [pytest.mark.services]


def sensor_context(instance, postgres, kafka, cursor=None):
    return dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"postgres": postgres, "kafka": kafka}
    )


def failed_tally_run(instance, postgres, kafka):
    """Run live_aggregation_job for real; the environment decides how the tally ends."""
    job = dg.Definitions(
        assets=[tally.live_results],
        jobs=[tally.live_aggregation_job],
        resources={"postgres": postgres, "kafka": kafka, "spark_launcher": SparkLauncher()},
    ).resolve_job_def(contract.LIVE_AGGREGATION_JOB)
    result = job.execute_in_process(
        instance=instance,
        run_config={"ops": {"live_results": {"config": {"query_name": "sensor_test"}}}},
        raise_on_error=False,
        tags={"election_id": "1"},
    )
    assert not result.success
    return result


@pytest.fixture
def open_polls(postgres, scratch_database, monkeypatch, tmp_path):
    register(scratch_database, voters=50)
    open_election(postgres)
    monkeypatch.setenv("SPARK_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "1g")
    return tmp_path / "checkpoints"


def test_a_tally_that_cannot_start_fails_the_run_and_the_sensor_launches_another(
    postgres, kafka, open_polls, monkeypatch
):
    # the tally cannot start (exit 2, as for a missing service): a restart may help
    monkeypatch.setenv("SPARK_EXTRA_JARS", "/nowhere/spark-jars")
    with dg.instance_for_test() as instance:
        failed_tally_run(instance, postgres, kafka)
        assert tally.permanent_failure(instance, 1) is None
        request = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka, "4"))
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == "election-1-tally-5"


@pytest.mark.spark
def test_a_checkpoint_that_disagrees_with_the_ledger_stops_the_sensor(
    postgres, kafka, open_polls, scratch_database, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    # a checkpoint that has finished batches the ledger never saw: an earlier election's
    commits = open_polls / "election-1" / "sensor_test" / "commits"
    commits.mkdir(parents=True)
    (commits / "0").write_text("v1\n{}\n")
    with dg.instance_for_test() as instance:
        result = failed_tally_run(instance, postgres, kafka)
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert "checkpoint" in failure.step_failure_data.error.message
        skip = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka, "4"))
        assert isinstance(skip, dg.SkipReason)
        assert "stopped for good" in skip.skip_message
        assert "earlier election; delete it" in skip.skip_message  # what to do
        assert contract.LIVE_AGGREGATION_JOB in skip.skip_message

        # once the operator has fixed it and a run is going again, supervision resumes
        (commits / "0").unlink()
        instance.add_run(
            DagsterRun(
                job_name=contract.LIVE_AGGREGATION_JOB,
                run_id="b" * 36,
                status=DagsterRunStatus.SUCCESS,
                tags={"election_id": "1"},
            )
        )
        again = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka, "4"))
    assert isinstance(again, dg.RunRequest)


@pytest.mark.spark
def test_a_second_tally_beside_a_running_one_is_busy_and_the_sensor_keeps_supervising(
    postgres, kafka, open_polls, scratch_database, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", scratch_database)
    with psycopg.connect(scratch_database, autocommit=True) as running:
        # the sensor's tally holds the poll book; a person launches another one beside it
        running.execute("SELECT pg_advisory_lock(%s)", (ledger.TALLY_LOCK,))
        with dg.instance_for_test() as instance:
            result = failed_tally_run(instance, postgres, kafka)
            (failure,) = [e for e in result.all_events if e.is_step_failure]
            said = failure.step_failure_data.user_failure_data
            assert said.metadata["exit_code"].value == tally_exit.BUSY
            assert "another tally is running" in said.description
            assert tally.permanent_failure(instance, 1) is None
            request = tally.live_aggregation_sensor(sensor_context(instance, postgres, kafka, "4"))
    assert isinstance(request, dg.RunRequest)  # not stopped for good
    with postgres.connect() as conn:
        stopped = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = %s", (tally_exit.TALLY_STOPPED,)
        ).fetchone()[0]
    assert stopped == 0  # a busy poll book is no cause to record
