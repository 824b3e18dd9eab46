"""Shared fixtures: the suite's own PostgreSQL and Kafka, started and stopped by the suite.

The tests never touch the election a person is running with `make run`: they get their own
services on their own ports (TEST_POSTGRES_PORT, TEST_KAFKA_PORT) with data under .stack/test/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from confluent_kafka.admin import AdminClient

from election.settings import SettingError, setting

ROOT = Path(__file__).resolve().parent.parent
TEST_STACK = ROOT / ".stack" / "test"
SESSIONS = TEST_STACK / "sessions"  # one file per test run using the services, by its pid


def suite_services_environment() -> dict[str, str]:
    """Where the suite's own services live: their ports, data folder and checkpoints.

    The ports' defaults sit below Linux's ephemeral range (32768-60999), where an outgoing
    connection could hold them at the moment the suite starts.
    """
    try:
        pg_port, kafka_port = setting("TEST_POSTGRES_PORT"), setting("TEST_KAFKA_PORT")
    except SettingError as exc:
        raise pytest.UsageError(str(exc)) from None
    return {
        "STACK_DIR": str(TEST_STACK),
        "DATABASE_URL": f"postgresql://postgres:postgres@localhost:{pg_port}/voting",
        "KAFKA_BOOTSTRAP_SERVERS": f"localhost:{kafka_port}",
        "KAFKA_CONTROLLER_PORT": str(kafka_port + 1),
        "SPARK_CHECKPOINT_DIR": str(TEST_STACK / "checkpoints"),
        "TALLY_CHECKPOINT": str(TEST_STACK / "checkpoints" / "live_tally"),
        "DAGSTER_HOME": str(TEST_STACK / "dagster"),
        # the suite starts tallies dozens of times: none warms up but test_live_tally's, which
        # asks for it as a deployment's default does
        "TALLY_WARM_UP_BALLOTS": "0",
    }


_STARTED = pytest.StashKey[bool]()


def _stack(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), command],
        capture_output=True,
        text=True,
    )


def pytest_configure(config):
    """Point every test (and every process it starts) at the suite's own services, and start them."""
    os.environ.update(suite_services_environment())
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # the instance `make run` uses (run monitoring on), for whatever runs against this home
    shutil.copy(ROOT / "stack" / "dagster.yaml", home / "dagster.yaml")
    started = _stack("start")
    if started.returncode != 0:
        raise pytest.UsageError(
            "the test services did not start: " + (started.stderr.strip() or started.stdout)
        )
    config.stash[_STARTED] = True  # this run uses them: the last run to end stops them
    SESSIONS.mkdir(parents=True, exist_ok=True)
    (SESSIONS / str(os.getpid())).touch()


def other_sessions() -> list[int]:
    """Test runs still alive beside this one on the same services (a second terminal's)."""
    alive = []
    for entry in SESSIONS.glob("*"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError, OverflowError):
            entry.unlink(missing_ok=True)  # ended without saying so
            continue
        alive.append(pid)
    return alive


def pytest_unconfigure(config):
    if not config.stash.get(_STARTED, False):
        return  # the environment was never pointed at the suite's stack: stop nothing
    (SESSIONS / str(os.getpid())).unlink(missing_ok=True)
    if other_sessions():
        return  # another run still counts on the services; the last one stops them
    if "pyspark" in sys.modules:  # the JVM's cached Kafka producers would retry a stopped broker
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        if gateway is not None and getattr(gateway, "proc", None) is not None:
            gateway.proc.terminate()
            gateway.proc.wait(timeout=30)
    _stack("stop")


def _services_hint(what: str) -> str:
    return f"{what} is not running: the suite starts it itself (see {TEST_STACK}/)"


@pytest.fixture(scope="session")
def database_url() -> str:
    url = setting("DATABASE_URL")
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.fail(_services_hint(f"PostgreSQL at {url}") + f" ({exc})")
    return url


@pytest.fixture(scope="session")
def bootstrap_servers() -> str:
    servers = setting("KAFKA_BOOTSTRAP_SERVERS")
    admin = AdminClient({"bootstrap.servers": servers})
    try:
        admin.list_topics(timeout=10)
    except Exception as exc:  # librdkafka raises KafkaException when the broker is down
        pytest.fail(_services_hint(f"Kafka at {servers}") + f" ({exc})")
    return servers


@pytest.fixture
def unique_name() -> str:
    """A fresh name for a topic or database, so tests never see each other's data."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def scratch_database(database_url: str, unique_name: str):
    """A throwaway database on the real PostgreSQL; yields its URL and drops it after."""
    base, _, _ = database_url.rpartition("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{unique_name}"')
    url = f"{base}/{unique_name}"
    yield url
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{unique_name}" WITH (FORCE)')


def pytest_report_header(config):
    return [
        f"DATABASE_URL={setting('DATABASE_URL')}",
        f"KAFKA_BOOTSTRAP_SERVERS={setting('KAFKA_BOOTSTRAP_SERVERS')}",
        f"CI={os.environ.get('CI', '')}",
    ]
