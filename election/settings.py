"""Where the services are: read from the environment (a .env file may supply it)."""

from __future__ import annotations

import os

DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres:postgres@localhost:5432/voting",
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "SPARK_MASTER": "local[*]",
    "RANDOMUSER_URL": "https://randomuser.me/api/",
}


def setting(name: str) -> str:
    """The value of a configuration variable, or its documented default."""
    return os.environ.get(name) or DEFAULTS[name]
