"""The election database's schema: set up once by registration, only checked by every other stage.

DDL on `elections` queues behind any open transaction that has read it (a tally's batch), and
every later read queues behind the DDL: so the counting path never runs any, it checks the
version in `schema_version` instead, which locks nothing the election uses.
"""

from __future__ import annotations

import psycopg

from election import schema

SCHEMA_LOCK = 7_000_003  # transaction-level advisory lock: one migration at a time


class SchemaMissing(Exception):
    """The database lacks the election's tables, or holds an older version of them."""


def installed_version(conn: psycopg.Connection) -> int | None:
    """The schema version the database holds; None before any set-up."""
    (table,) = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not table:
        return None
    (version,) = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return version


def check_schema(conn: psycopg.Connection) -> None:
    """Raise SchemaMissing (one line, saying what to run) unless the schema is current."""
    version = installed_version(conn)
    if version is None or version < schema.VERSION:
        found = "no election tables" if version is None else f"schema version {version}"
        raise SchemaMissing(
            f"the election database has {found} (this code needs {schema.VERSION}): "
            "run registration_job (or make run) to set up the database"
        )


def migrate(conn: psycopg.Connection) -> bool:
    """Create or upgrade the election's tables unless they are current; True if it ran DDL."""
    version = installed_version(conn)
    if version is not None and version >= schema.VERSION:
        return False  # nothing to change: no DDL, no lock on the election's tables
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(schema.TABLES)
    return True
