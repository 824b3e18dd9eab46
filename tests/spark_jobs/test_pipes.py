"""A Spark application's reports: Dagster Pipes when Dagster launched it, JSON lines otherwise."""

import io
import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from spark_jobs.pipes import Reporter

ROOT = Path(__file__).resolve().parents[2]
CHILD = (
    "from spark_jobs.pipes import Reporter\n"
    "r = Reporter.open()\n"
    "r.event({'event': 'progress', 'batch_id': 0}, summary='batch 0 done')\n"
    # as the tally reports its run: a figure and its last batch, a JSON object
    "r.materialize({'ballots_counted': 2, 'last_batch': {'batch_id': 0, 'lag': None}})\n"
    "r.error('recount: something is wrong')\n"
    "r.close()\n"
)


def test_outside_dagster_events_are_json_lines():
    out = io.StringIO()
    reporter = Reporter(stream=out)
    assert not reporter.under_dagster
    reporter.event({"event": "progress", "batch_id": 3, "messages": 10})
    reporter.materialize({"ignored": True})  # nobody to hand it to; the event lines carry it
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"event": "progress", "batch_id": 3, "messages": 10}
    ]


def test_outside_dagster_a_child_prints_and_warns_nothing():
    child = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.splitlines()[0]) == {"event": "progress", "batch_id": 0}
    assert child.stderr.strip() == "recount: something is wrong"


def test_under_dagster_pipes_the_run_gets_logs_and_metadata():
    @dg.asset
    def reported(context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient):
        invocation = pipes.run(context=context, command=[sys.executable, "-c", CHILD])
        return invocation.get_materialize_result()

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [reported],
        resources={"pipes": dg.PipesSubprocessClient(cwd=str(ROOT))},
        instance=instance,
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("reported")
    assert materialization.metadata["ballots_counted"].value == 2
    assert materialization.metadata["last_batch"].value == {"batch_id": 0, "lag": None}
    logs = {(e.level, e.user_message) for e in instance.all_logs(result.run_id)}
    assert any(level >= 40 and "something is wrong" in message for level, message in logs)
    assert any("batch 0 done" in message for _, message in logs)
