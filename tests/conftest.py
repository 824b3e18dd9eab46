"""Shared fixtures: the real local services (started by `make services`)."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from confluent_kafka.admin import AdminClient

from election.settings import setting


def _services_hint(what: str) -> str:
    return f"{what} is not running: start the local services with `make services`"


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
