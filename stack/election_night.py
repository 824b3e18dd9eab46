"""A real short election driven through the Dagster webserver's GraphQL API, as a person would
through the UI: register, open the polls for a short voting day, switch on the sensors, wait
for the polls to close by themselves and the tally to drain, certify. `make demo`
(scripts/demo.py) runs its election with it; so does scripts/screenshots.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
import requests

from election import contract

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
SENSORS = (contract.LIVE_VOTING_SENSOR, contract.LIVE_AGGREGATION_SENSOR)


@dataclass
class ElectionNight:
    """One `dagster dev` and the election database it runs the election in."""

    url: str
    database_url: str

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def repository(self) -> dict:
        data = self.graphql(
            "{ repositoriesOrError { ... on RepositoryConnection "
            "{ nodes { name location { name } } } } }"
        )
        node = data["repositoriesOrError"]["nodes"][0]
        return {"repositoryName": node["name"], "repositoryLocationName": node["location"]["name"]}

    def launch(self, job: str, run_config: dict | None = None) -> str:
        """Launch a job as the UI's Launch button does; its run id."""
        data = self.graphql(
            """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
                __typename ... on LaunchRunSuccess { run { runId } }
                ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } }
            } }""",
            {
                "p": {
                    "selector": {**self.repository(), "jobName": job},
                    "runConfigData": run_config or {},
                }
            },
        )["launchPipelineExecution"]
        if data["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {job} failed: {data}")
        return data["run"]["runId"]

    def status(self, run_id: str) -> str:
        data = self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id}
        )
        return data["runOrError"]["status"]

    def wait(self, run_id: str, timeout: float = 300) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.status(run_id)
            if status in FINISHED:
                return status
            time.sleep(1)
        raise TimeoutError(f"run {run_id} did not finish in {timeout:.0f} s")

    def failure(self, run_id: str) -> str:
        """Why a run failed, in one line: the first failed step and its error's innermost
        message (the project's own), else the run's failure message."""
        data = self.graphql(
            """query($id: ID!) { runOrError(runId: $id) { ... on Run { eventConnection {
                events { __typename
                    ... on ExecutionStepFailureEvent { stepKey error { message causes { message } } }
                    ... on RunFailureEvent { message } } } } } }""",
            {"id": run_id},
        )
        events = data["runOrError"]["eventConnection"]["events"]
        for event in events:
            if event["__typename"] == "ExecutionStepFailureEvent" and event.get("error"):
                error = event["error"]
                innermost = (error["causes"] or [error])[-1]["message"]
                return f"step {event['stepKey']}: {_one_line(innermost)}"
        runs = [e for e in events if e["__typename"] == "RunFailureEvent"]
        return _one_line(runs[-1]["message"]) if runs else "no failure event was recorded"

    def succeed(self, job: str, run_id: str, timeout: float = 300) -> None:
        """Wait for a run; one line saying why when it did not succeed."""
        status = self.wait(run_id, timeout)
        if status != "SUCCESS":
            why = self.failure(run_id) if status == "FAILURE" else status.lower()
            raise RuntimeError(
                f"{job} run {run_id} failed: {why} (its log: {self.url}/runs/{run_id})"
            )

    def start_sensor(self, name: str) -> None:
        data = self.graphql(
            """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
                __typename ... on Sensor { sensorState { status } } ... on PythonError { message }
            } }""",
            {"s": {**self.repository(), "sensorName": name}},
        )["startSensor"]
        if data["__typename"] != "Sensor":
            raise RuntimeError(f"starting {name} failed: {data}")

    def runs(self, job: str) -> list[dict]:
        """The job's runs, newest first, with their status and tags."""
        data = self.graphql(
            """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs {
                results { runId status tags { key value } } } } }""",
            {"f": {"pipelineName": job}},
        )
        return data["runsOrError"]["results"]

    def election(self) -> tuple[str, bool]:
        """The election's status, and whether every ballot on the log has been tallied."""
        with psycopg.connect(self.database_url) as conn:
            status = conn.execute(
                "SELECT status FROM elections ORDER BY election_id DESC LIMIT 1"
            ).fetchone()
            (tallied,) = conn.execute(
                "SELECT coalesce(sum(messages), 0) FROM tally_batches"
            ).fetchone()
            (cast,) = conn.execute("SELECT coalesce(sum(sent), 0) FROM vote_waves").fetchone()
        return (status[0] if status else "none"), int(tallied) >= int(cast) > 0

    # --- the election, step by step --------------------------------------------------------

    def register(self, voters: int, candidates: int = 3, seed: int = 3) -> None:
        run_id = self.launch(
            contract.REGISTRATION_JOB,
            {
                "ops": {
                    "candidates": {"config": {"source": "offline", "count": candidates}},
                    "voters": {"config": {"source": "offline", "count": voters, "seed": seed}},
                }
            },
        )
        self.succeed(contract.REGISTRATION_JOB, run_id)

    def start_tally(self, timeout: float = 600) -> str:
        """Launch the live tally as a person may before the polls open, so it is warm when they
        do; returns once its query has finished its first (empty) batch, so that the opening
        does not change the election under a batch in flight (the sensor keeps it alive)."""
        run_id = self.launch(contract.LIVE_AGGREGATION_JOB)
        deadline = time.time() + timeout
        while time.time() < deadline:
            data = self.graphql(
                """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
                    events { ... on MessageEvent { message } } } } }""",
                {"id": run_id},
            )
            messages = [e.get("message") or "" for e in data["logsForRun"]["events"]]
            if any(m.startswith("batch 0:") or '"batch_id":0' in m for m in messages):
                return run_id
            if self.status(run_id) in FINISHED:
                raise RuntimeError(
                    f"the live tally run {run_id} ended before it started: {self.failure(run_id)}"
                )
            time.sleep(2)
        raise TimeoutError(f"the live tally did not start in {timeout:.0f} s")

    def open_polls(self, voting_day_minutes: float) -> None:
        config = {"voting_day_minutes": voting_day_minutes}
        run_id = self.launch(contract.OPEN_POLLS_JOB, {"ops": {"open_polls": {"config": config}}})
        self.succeed(contract.OPEN_POLLS_JOB, run_id)
        for sensor in SENSORS:
            self.start_sensor(sensor)

    def drained(self) -> bool:
        """The polls are closed, the tally has counted every ballot and stopped."""
        status, tallied = self.election()
        tally_runs = self.runs(contract.LIVE_AGGREGATION_JOB)
        return (
            status == contract.CLOSED
            and tallied
            and all(run["status"] in FINISHED for run in tally_runs)
        )

    def certify(self) -> None:
        run_id = self.launch(contract.CERTIFY_RESULTS_JOB)
        self.succeed(contract.CERTIFY_RESULTS_JOB, run_id, timeout=600)

    def closed_by_sensor(self) -> bool:
        """The polls were closed by polls_closing_sensor, not by a person."""
        runs = self.runs(contract.CLOSE_POLLS_JOB)
        return bool(runs) and all(
            {"key": "dagster/sensor_name", "value": contract.POLLS_CLOSING_SENSOR} in run["tags"]
            for run in runs
        )


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " ".join(lines)[:500] if lines else "(no message)"
