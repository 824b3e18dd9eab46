"""The containers' Spark cluster, checked without a Docker engine.

The master and the workers run the project's image (pyspark's own Spark on the Python of the
Dagster services, the `cluster` extra installed), so a driver in a Dagster container and its
executors share the Python minor version and pyarrow. The last test runs the compose file's
own commands and environments on this host, with the container paths, names and ports mapped
by one table (host_equivalents), and counts a small election exactly through them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from election import ballots
from election.contract import VOTES_PER_CANDIDATE_TOPIC as VOTES_PER_CANDIDATE
from election.settings import setting
from tests.test_compose import (
    DAGSTER_SERVICES,
    ROOT,
    SPARK_SERVICES,
    command_words,
    dockerfile_instructions,
    environment_of,
    load_compose,
)

MASTER, WORKER, DRIVER = "spark-master", "spark-worker", "dagster-daemon"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services as `docker compose up` sees them with no variable set."""
    return load_compose()["services"]


def image_environment() -> dict[str, str]:
    """The ENV of the Dockerfile's last stage: what every container of the app image starts with."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    env: dict[str, str] = {}
    for keyword, arguments in instructions[last_from:]:
        if keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(arguments))
    return env


def requirement_lines() -> tuple[list[str], list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"], project["optional-dependencies"]["cluster"]


# --- the cluster runs the tally's own Python ----------------------------------------------


def test_the_spark_cluster_runs_the_image_of_the_dagster_services(services):
    """One image: the executors' Python is the driver's, minor version and packages alike."""
    for name in SPARK_SERVICES:
        for dagster in DAGSTER_SERVICES:
            assert services[name]["image"] == services[dagster]["image"], name
            assert services[name]["build"] == services[dagster]["build"], name
        assert "apache/spark" not in json.dumps(services[name]), name


def test_the_image_carries_every_package_of_the_cluster_extra():
    """The image installs the project's dependencies; the cluster extra is a subset of them."""
    dependencies, cluster = requirement_lines()
    missing = [line for line in cluster if line not in dependencies]
    assert not missing, f"the cluster extra asks for what the image lacks: {missing}"
    assert any(line.startswith("pyarrow") for line in cluster)


def test_the_cluster_starts_pyspark_own_spark_with_nothing_to_download(services):
    env = image_environment()
    home = env["SPARK_HOME"]
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    # the image links pyspark's folder (its bin/spark-class and jars) to SPARK_HOME
    assert any("ln -s" in run and "pyspark.__file__" in run and home in run for run in runs)
    for name in SPARK_SERVICES:
        words = command_words(services[name])
        assert words[0] == f"{home}/bin/spark-class", name
        assert not {"--packages", "pip", "curl", "wget"} & set(words), name
    assert env["SPARK_EXTRA_JARS"] == "/opt/jars"  # filled at build time from stack/spark/pom.xml


def test_the_workers_keep_their_executors_outside_the_read_only_spark_home(services):
    work = environment_of(services[WORKER])["SPARK_WORKER_DIR"]
    assert not work.startswith(image_environment()["SPARK_HOME"])
    assert work.startswith("/tmp/")  # writable by the image's user


# --- the compose file's commands, run on this host ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def java_home() -> str:
    """This host's Java, as the image finds its own (JAVA_HOME, else the `java` on PATH)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    assert java, "no Java on this host"
    return str(Path(java).resolve().parent.parent)


def host_equivalents(scratch: Path) -> dict[str, str]:
    """THE table: what a name, path or port of the containers is on this host.

    Everything else in the commands and environments runs as the compose file writes it.
    The Python of every container is the image's; here it is this interpreter (sys.executable),
    which is what SparkLauncher and spark_jobs.launch pick when SPARK_SUBMIT_PYTHON is blank.
    """
    from election_io.spark_setup import JARS_DIR
    from spark_jobs.launch import spark_home

    return {
        # a compose service's name on the network: this host, on loopback
        "spark-master": "127.0.0.1",
        # the image's folders
        "/opt/spark": str(spark_home(sys.executable)),  # the image links pyspark's folder here
        "/opt/java": java_home(),
        "/opt/jars": str(JARS_DIR),  # the same pom.xml, resolved by the suite's stack
        "/opt/app": str(ROOT),
        "/opt/dagster": str(scratch / "dagster"),
        # the shared checkpoint volume and the worker's scratch folder
        "/opt/spark-checkpoints": str(scratch / "checkpoints"),
        "/tmp/spark-work": str(scratch / "work"),
        # container ports: free loopback ports here (the master's RPC, its UI, a worker's UI)
        "7077": str(free_port()),
        "8080": str(free_port()),
        "8081": str(free_port()),
    }


# each container has its own address; on one host every process is told loopback, so no
# listener of the test leaves 127.0.0.1 (the web UIs bind SPARK_LOCAL_IP too)
HOST_ONLY = {"SPARK_LOCAL_IP": "127.0.0.1"}


def on_host(text: str, table: Mapping[str, str]) -> str:
    """`text` with every whole container name, path or port replaced by its host equivalent."""
    for container, host in table.items():
        text = re.sub(rf"(?<![\w.-]){re.escape(container)}(?![\w-])", host, text)
    return text


def host_environment(service: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, str]:
    """What the service's process sees: the image's ENV, then the service's, both mapped."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(ROOT)),
    }
    env.update({key: on_host(value, table) for key, value in image_environment().items()})
    env.update({key: on_host(value, table) for key, value in environment_of(service).items()})
    return {**env, **HOST_ONLY}


def start(
    name: str, words: list[str], env: dict[str, str], logs: Path, cwd: Path | None = None
) -> subprocess.Popen:
    """A host process in its own process group, its output in logs/<name>.log."""
    log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        words, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(processes: list[subprocess.Popen]) -> None:
    """Each process group (a worker's executors and Python workers with it), TERM then KILL."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def master_state(ui_port: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as answer:
        return json.loads(answer.read())


def wait_until(what: str, ready, seconds: float, logs: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.5)
    tails = {p.name: p.read_text()[-2000:] for p in logs.glob("*.log")}
    pytest.fail(f"{what} not within {seconds:.0f} s: {tails}")


@pytest.fixture
def cluster(services, tmp_path) -> Iterator[dict]:
    """spark-master and one spark-worker, from the compose file's commands, as host processes."""
    table = host_equivalents(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []
    try:
        for name in (MASTER, WORKER):
            words = [on_host(word, table) for word in command_words(services[name])]
            processes.append(start(name, words, host_environment(services[name], table), logs))
            if name == MASTER:
                wait_until("the master's UI", lambda: master_state(table["8080"]), 60, logs)
        wait_until(
            "a worker registered with the master",
            lambda: master_state(table["8080"])["aliveworkers"] >= 1,
            60,
            logs,
        )
        yield {"table": table, "logs": logs}
    finally:
        stop(processes)


def cast(roll) -> tuple[list, set[str], set[str]]:
    """Ballots of every kind in json.dumps's spaced form (stack.ballot_set: the Python judging),
    and the vote generator's compact form (judged in the JVM) from voters that set leaves alone;
    with the voters of each form."""
    from tests.spark_jobs import stack

    spaced = stack.ballot_set(roll, 60)
    named = b"".join((key or "").encode() + b" " + (value or b"") for key, value in spaced)
    untouched = [v for v in sorted(roll.voters) if f'"{v}"'.encode() not in named]
    untouched = [v for v in untouched if v.encode() not in named][:30]
    compact = ballots.encode_ballots(
        [f"compact-{i}" for i in range(len(untouched))],
        untouched,
        [roll.candidates[i % len(roll.candidates)] for i in range(len(untouched))],
        ballots.utc_iso(datetime.now(UTC)),
    )
    spaced_voters = set()
    for _, value in spaced:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            spaced_voters.add(json.loads(value)["voter_id"])
    return spaced + list(zip(untouched, compact, strict=True)), spaced_voters, set(untouched)


@pytest.mark.services
@pytest.mark.spark
@pytest.mark.slow
def test_the_compose_cluster_counts_an_election_exactly_on_this_host(
    services, cluster, scratch_database, bootstrap_servers, unique_name, tmp_path, monkeypatch
):
    """The master and a worker as compose starts them, and the tally as the Dagster daemon
    submits it (SPARK_SUBMIT=1, SPARK_MASTER, its other variables), mapped to this host."""
    from election_assets.resources import SparkLauncher
    from election_assets.tally import TallyConfig, tally_arguments
    from spark_jobs.launch import ROOT as LAUNCH_ROOT
    from tests.spark_jobs import stack

    table, logs = cluster["table"], cluster["logs"]
    driver_env = host_environment(services[DRIVER], table)
    assert setting("SPARK_SUBMIT", driver_env) is True
    assert driver_env["SPARK_MASTER"] == f"spark://127.0.0.1:{table['7077']}"
    with stack.small_election(
        scratch_database, bootstrap_servers, unique_name, tmp_path, voters=300, partitions=3
    ) as election:
        messages, spaced_voters, compact_voters = cast(election["roll"])
        placed = stack.produce(bootstrap_servers, election["topic"], messages)
        stack.close_polls(scratch_database)

        # what live_results runs: SparkLauncher as definitions.py builds it, the tally's
        # arguments, the variables the asset passes; only this election's names are added
        launcher = SparkLauncher(
            submit=setting("SPARK_SUBMIT", driver_env),
            python=setting("SPARK_SUBMIT_PYTHON", driver_env),
        )
        monkeypatch.setenv("SPARK_CHECKPOINT_DIR", driver_env["SPARK_CHECKPOINT_DIR"])
        command = launcher.command("spark_jobs.live_tally", tally_arguments(TallyConfig(), 1))
        assert command[1:3] == ["-m", "spark_jobs.launch"]
        run_env = {
            **driver_env,
            "DATABASE_URL": scratch_database,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "TALLY_VOTES_TOPIC": election["topic"],
            "TALLY_RESULTS_PREFIX": election["prefix"],
            "SPARK_DRIVER_MEMORY": "1g",  # a small election on a small machine
            "PYTHONUNBUFFERED": "1",
        }
        tally = start("tally", command, run_env, logs, cwd=LAUNCH_ROOT)  # SparkLauncher's cwd
        try:
            code = tally.wait(240)
        except subprocess.TimeoutExpired:
            stop([tally])
            pytest.fail("the tally did not drain: " + (logs / "tally.log").read_text()[-4000:])
        finally:
            stop([tally])
        log = (logs / "tally.log").read_text()
        assert code == 0, log[-4000:]

        # it ran on the cluster: the master completed it, the worker's executors ran it
        wait_until(
            "the app completed", lambda: master_state(table["8080"])["completedapps"], 30, logs
        )
        finished = master_state(table["8080"])["completedapps"]
        assert len(finished) == 1, finished
        assert list(Path(table["/tmp/spark-work"]).glob(f"{finished[0]['id']}/*/stderr"))

        truth = stack.truth(placed, election["roll"], scratch_database, election["partitions"])
        state = stack.ledger_state(scratch_database)
        assert state["per_candidate"] == {c: n for c, n in truth.per_candidate.items() if n}
        assert state["per_state"] == truth.per_state
        assert state["ledger"] == truth.per_state
        assert state["poll_book"] == stack.first_ballots(placed, truth)
        assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
        assert state["batches"][1:] == (len(placed), truth.counted, len(truth.rejections))
        # both ways of judging counted ballots: the JVM's and the Python worker's
        assert compact_voters <= set(state["poll_book"])
        assert spaced_voters & set(state["poll_book"])
        totals = stack.latest_values(bootstrap_servers, election["prefix"] + VOTES_PER_CANDIDATE)
        assert {c: v["total_votes"] for c, v in totals.items()} == truth.per_candidate
