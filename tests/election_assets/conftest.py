"""Fixtures for the Dagster code location: a registered roll in a scratch database."""

from __future__ import annotations

import pytest

from election_assets import registration
from election_assets.resources import KafkaResource, PostgresResource

OFFLINE = {"source": "offline"}


def register(database_url: str, voters: int = 2000, candidates: int = 3, seed: int = 42):
    """Materialize the candidates and the roll (with their checks), offline."""
    return registration.register_offline(database_url, voters, candidates, seed)


@pytest.fixture
def postgres(scratch_database) -> PostgresResource:
    resource = PostgresResource(database_url=scratch_database)
    resource.ensure_schema()
    return resource


@pytest.fixture
def kafka(bootstrap_servers) -> KafkaResource:
    return KafkaResource(bootstrap_servers=bootstrap_servers)
