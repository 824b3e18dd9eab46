"""Where the services are: read from the environment (a .env file may supply it)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULTS = {
    "DATABASE_URL": "postgresql://postgres:postgres@localhost:5432/voting",
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "SPARK_MASTER": "local[*]",
    "RANDOMUSER_URL": "https://randomuser.me/api/",
}


def setting(name: str) -> str:
    """The value of a configuration variable, or its documented default."""
    return os.environ.get(name) or DEFAULTS[name]


@dataclass(frozen=True)
class Settings:
    database_url: str
    kafka_bootstrap_servers: str
    spark_master: str
    randomuser_url: str

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=setting("DATABASE_URL"),
            kafka_bootstrap_servers=setting("KAFKA_BOOTSTRAP_SERVERS"),
            spark_master=setting("SPARK_MASTER"),
            randomuser_url=setting("RANDOMUSER_URL"),
        )
