"""The full election with faults injected: register, open, vote, tally, close, certify.

    python -m benchmarks.election [--voters 1000000] [--wave-size 200000] [--database NAME]

Every job runs as `dagster job execute -m election_assets -j ...` against a Dagster instance
of its own; the two sensors decide when waves and tallies launch (evaluated here every
second, as the daemon would). While ballots flow it kills the streaming tally with SIGKILL
twice, restarts the Kafka broker once and kills a voting wave mid-way. At the end the
certified result is compared with the truth from the generator's own record of what it sent.
Exits non-zero if any ballot was lost or counted twice. Run as a program it runs on the
benchmarks' own services (benchmarks/_common.py), so the broker it restarts and the topics
its jobs replace are its own, never those of an election someone is running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

from benchmarks._common import bench_database, report, run_alone
from election import contract, turnout
from election.settings import setting
from election_assets import shared, tally, voting
from election_assets.resources import KafkaResource, PostgresResource
from election_io import waves

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Scenario:
    voters: int = 1_000_000
    wave_size: int = 200_000
    wave_rate: float = 0.0
    problem_share: float = 0.02
    faults: bool = True
    database: str = "voting_election"
    timeout_s: float = 3600.0


@dataclass
class Outcome:
    identical: bool
    ballots: int
    votes_per_s: float
    wall_s: float
    peak_lag_s: float
    truth: dict
    certified: dict
    faults: list[str] = field(default_factory=list)


def say(message: str) -> None:
    print(f"[election {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Stage:
    """Runs the election's jobs as CLI processes against one Dagster instance."""

    def __init__(self, env: dict, workdir: Path):
        self.env = env
        self.workdir = workdir
        self.launched = 0

    def start(self, job: str, run_config: dict | None = None, tags: dict | None = None):
        self.launched += 1
        command = [str(BIN / "dagster"), "job", "execute", "-m", "election_assets", "-j", job]
        if run_config:
            config_file = self.workdir / f"{job}-{self.launched}.yaml"
            config_file.write_text(yaml.safe_dump(run_config))
            command += ["-c", str(config_file)]
        if tags:
            command += ["--tags", json.dumps(tags)]
        log = open(self.workdir / f"{job}-{self.launched}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def run(self, job: str, run_config: dict | None = None) -> None:
        process = self.start(job, run_config)
        if process.wait() != 0:
            raise RuntimeError(f"{job} failed; see {self.workdir}/{job}-{self.launched}.log")


def live_tally_pids(checkpoints: Path) -> list[int]:
    """This scenario's streaming tally (the Python driver of spark_jobs.live_tally), by its checkpoint."""
    found = subprocess.run(
        ["pgrep", "-f", f"spark_jobs.live_tally.*{checkpoints}"], capture_output=True, text=True
    )
    return [int(pid) for pid in found.stdout.split()]


def run_scenario(scenario: Scenario) -> Outcome:
    database_url = bench_database(scenario.database)
    bootstrap = setting("KAFKA_BOOTSTRAP_SERVERS")
    workdir = Path(tempfile.mkdtemp(prefix="election-"))
    (workdir / "dagster.yaml").write_text((ROOT / "stack" / "dagster.yaml").read_text())
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DAGSTER_HOME": str(workdir),
        "SPARK_CHECKPOINT_DIR": str(workdir / "checkpoints"),
        "ELECTION_EXPORT_DIR": str(workdir / "exports"),
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "SPARK_CHECKPOINT_DIR")})
    postgres = PostgresResource(database_url=database_url)
    kafka = KafkaResource(bootstrap_servers=bootstrap)
    stage = Stage(env, workdir)
    checkpoints = workdir / "checkpoints"
    wave_config = {
        "size": scenario.wave_size,
        "rate": scenario.wave_rate,
        "problem_share": scenario.problem_share,
    }
    say(f"work folder {workdir}; database {scenario.database}")

    say(f"registering {scenario.voters:,} voters ...")
    stage.run(
        contract.REGISTRATION_JOB,
        {
            "ops": {
                "voters": {"config": {"count": scenario.voters, "source": "offline"}},
                "candidates": {"config": {"source": "offline"}},
            }
        },
    )
    began = time.monotonic()
    # 0: the scenario casts as fast as it can and closes the polls itself
    stage.run(
        contract.OPEN_POLLS_JOB, {"ops": {"open_polls": {"config": {"voting_day_minutes": 0}}}}
    )
    say("polls open")

    faults: list[str] = []
    # in order: a wave killed mid-way, the tally killed, the broker restarted, the tally again
    pending = ["wave", "tally", "kafka", "tally"] if scenario.faults else []
    cursors = {"voting": None, "tally": None}
    running: dict[str, subprocess.Popen | None] = {"voting": None, "tally": None}
    samples: list[tuple[float, int, int]] = []  # (time, on topic, tallied)
    closed = False
    tallied_at_last_fault = 0
    with dg.DagsterInstance.get() as instance:
        while True:
            if time.monotonic() - began > scenario.timeout_s:
                raise RuntimeError("the election did not finish in time")
            tallied, cast = shared.tallied_and_cast(postgres, kafka)
            samples.append((time.monotonic(), cast, tallied))
            with postgres.connect() as conn:
                wave = conn.execute(
                    "SELECT wave, plan_start + sent, plan_size, status FROM vote_waves "
                    "ORDER BY wave DESC LIMIT 1"
                ).fetchone()
            voting_alive = running["voting"] is not None and running["voting"].poll() is None

            # --- faults, each once its moment has come ----------------------------------------
            fault = pending[0] if pending else None
            happened = None
            # progress since the last fault, or everything tallied (a crash then is still a crash)
            moved = tallied > tallied_at_last_fault or 0 < cast == tallied
            if fault == "wave" and voting_alive and wave and wave[0] >= 2 and wave[3] == "running":
                os.killpg(running["voting"].pid, signal.SIGKILL)
                running["voting"].wait()
                for run in instance.get_runs(
                    filters=dg.RunsFilter(
                        job_name=contract.CAST_VOTES_JOB, statuses=shared.IN_PROGRESS
                    )
                ):
                    instance.report_run_failed(run)  # what run monitoring does for a dead worker
                happened = f"SIGKILL to voting wave {wave[0]} mid-way"
            elif fault == "tally" and moved and live_tally_pids(checkpoints):
                for pid in live_tally_pids(checkpoints):
                    os.kill(pid, signal.SIGKILL)
                happened = f"SIGKILL to the streaming tally ({tallied:,} of {cast:,} tallied)"
            elif fault == "kafka" and moved:
                subprocess.run(
                    [sys.executable, str(ROOT / "stack" / "localstack.py"), "restart-kafka"],
                    check=True,
                    env=env,
                )
                happened = f"restarted the Kafka broker ({tallied:,} of {cast:,} tallied)"
            if happened:
                faults.append(happened)
                pending.pop(0)
                tallied_at_last_fault = tallied
                say(happened)

            # --- the sensors decide, as the daemon would ---------------------------------------
            for key, sensor in (
                ("voting", voting.live_voting_sensor),
                ("tally", tally.live_aggregation_sensor),
            ):
                if running[key] is not None and running[key].poll() is None:
                    continue  # the daemon would see this run in the instance already
                context = dg.build_sensor_context(
                    instance=instance,
                    cursor=cursors[key],
                    resources={"postgres": postgres, "kafka": kafka},
                )
                result = sensor(context)
                cursors[key] = context.cursor
                message = getattr(result, "skip_message", "") or ""
                if isinstance(result, dg.RunRequest):
                    job = (
                        contract.CAST_VOTES_JOB
                        if key == "voting"
                        else contract.LIVE_AGGREGATION_JOB
                    )
                    config = (
                        {"ops": {"cast_votes": {"config": wave_config}}}
                        if key == "voting"
                        else None
                    )
                    running[key] = stage.start(job, config, {"dagster/run_key": result.run_key})
                    say(f"{key} sensor launched {result.run_key}")
                elif key == "voting" and "every planned ballot" in message and not closed:
                    if pending and pending[0] == "wave":
                        pending.pop(0)  # the plan ran out before a second wave; nothing to kill
                    if pending:
                        continue  # keep the polls open until the other faults have landed
                    stage.run(contract.CLOSE_POLLS_JOB)
                    closed = True
                    say(f"polls closed: {cast:,} messages on votes_topic")
            tally_alive = running["tally"] is not None and running["tally"].poll() is None
            if closed and not tally_alive and tallied >= cast:
                break
            time.sleep(1)
    drained = time.monotonic()
    say(f"drained: {tallied:,} messages tallied; certifying ...")
    stage.run(contract.CERTIFY_RESULTS_JOB)
    wall = time.monotonic() - began

    truth = truth_from_generator(postgres, wave_config)
    certified = certified_from_database(postgres)
    identical = truth["per_candidate"] == certified["per_candidate"] and (
        truth["per_state"] == certified["per_state"]
    )
    return Outcome(
        identical=identical,
        ballots=cast,
        votes_per_s=cast / (drained - began),
        wall_s=wall,
        peak_lag_s=peak_lag(samples),
        truth=truth,
        certified=certified,
        faults=faults,
    )


def truth_from_generator(postgres: PostgresResource, wave_config: dict) -> dict:
    """What should count: the plan up to the generator's confirmed cursor, by the rules."""
    config = voting.WaveConfig(**wave_config)
    with postgres.connect() as conn:
        plan = waves.load_plan(conn, config)
        cursor = waves.plan_cursor(conn)
    truth = turnout.expected_totals(plan.slice(0, cursor))
    return {
        "per_candidate": {c: n for c, n in truth.per_candidate.items() if n},
        "per_state": {
            contract.state_result_key(s, c): n for (s, c), n in truth.per_state.items() if n
        },
        "rejected_by_reason": {r: n for r, n in truth.rejected_by_reason.items() if n},
        "ballots_sent": cursor,
    }


def certified_from_database(postgres: PostgresResource) -> dict:
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT address_state, candidate_id, total_votes FROM certified_results"
        ).fetchall()
        rejected = dict(conn.execute("SELECT reason, count(*) FROM rejected_ballots GROUP BY 1"))
        status = conn.execute(
            "SELECT status FROM elections ORDER BY election_id DESC LIMIT 1"
        ).fetchone()
    return {
        "per_candidate": {c: n for s, c, n in rows if s == "*" and n},
        "per_state": {contract.state_result_key(s, c): n for s, c, n in rows if s != "*" and n},
        "rejected_by_reason": rejected,
        "status": status[0] if status else None,
    }


def peak_lag(samples: list[tuple[float, int, int]]) -> float:
    """The longest time a ballot waited: now minus when the newest tallied message arrived."""
    peak = 0.0
    for now, _cast, tallied in samples:
        arrived = next((t for t, cast, _ in samples if cast >= tallied), now)
        peak = max(peak, now - arrived)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voters", type=int, default=1_000_000)
    parser.add_argument("--wave-size", type=int, default=200_000)
    parser.add_argument("--wave-rate", type=float, default=0.0, help="0 = full speed")
    parser.add_argument("--problem-share", type=float, default=0.02)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--database", default="voting_election")
    args = parser.parse_args()
    outcome = run_scenario(
        Scenario(
            voters=args.voters,
            wave_size=args.wave_size,
            wave_rate=args.wave_rate,
            problem_share=args.problem_share,
            faults=not args.no_faults,
            database=args.database,
        )
    )
    say("truth (the generator's record): " + json.dumps(outcome.truth["per_candidate"]))
    say("certified:                      " + json.dumps(outcome.certified["per_candidate"]))
    say(f"states identical: {outcome.truth['per_state'] == outcome.certified['per_state']}")
    say(f"rejections (certified): {json.dumps(outcome.certified['rejected_by_reason'])}")
    for fault in outcome.faults:
        say(f"fault: {fault}")
    report(
        "election",
        identical=outcome.identical,
        ballots=outcome.ballots,
        votes_per_s=round(outcome.votes_per_s),
        wall_s=round(outcome.wall_s, 1),
        peak_lag_s=round(outcome.peak_lag_s, 1),
        faults=len(outcome.faults),
        baseline=outcome.truth["ballots_sent"],
        ratio=1.0 if outcome.identical else 0.0,
    )
    return 0 if outcome.identical else 1


if __name__ == "__main__":
    sys.exit(run_alone(main))
