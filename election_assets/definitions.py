"""The election's Dagster definitions: every stage's assets, checks, jobs and sensors."""

from __future__ import annotations

import os

import dagster as dg

from election.settings import DEFAULTS
from election_assets.resources import KafkaResource, PostgresResource

# The local default works without any configuration; the environment overrides it.
for _name, _value in DEFAULTS.items():
    os.environ.setdefault(_name, _value)


@dg.asset(group_name="registration", kinds={"postgres"})
def election_database(postgres: PostgresResource) -> dg.MaterializeResult:
    """The election database's tables (created if missing)."""
    postgres.ensure_schema()
    return dg.MaterializeResult(metadata={"database": postgres.safe_url})


defs = dg.Definitions(
    assets=[election_database],
    resources={
        "postgres": PostgresResource(database_url=dg.EnvVar("DATABASE_URL")),
        "kafka": KafkaResource(bootstrap_servers=dg.EnvVar("KAFKA_BOOTSTRAP_SERVERS")),
    },
)
