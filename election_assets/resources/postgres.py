"""The election database (PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import psycopg

from election_io import migrations


class ServiceUnavailable(Exception):
    """A service the election needs does not answer; the message says how to fix it."""


class PostgresResource(dg.ConfigurableResource):
    """The election database; DATABASE_URL names it."""

    database_url: str

    @contextlib.contextmanager
    def connect(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """A connection; without autocommit, everything inside is one transaction."""
        try:
            conn = psycopg.connect(self.database_url, autocommit=autocommit, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise ServiceUnavailable(
                f"PostgreSQL at {self.safe_url} does not answer ({str(exc).strip().splitlines()[0]});"
                " start it with `make services` or set DATABASE_URL"
            ) from exc
        with conn:
            yield conn

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        head, sep, tail = self.database_url.rpartition("@")
        if not sep:
            return self.database_url
        scheme, _, userinfo = head.partition("://")
        return f"{scheme}://{userinfo.split(':')[0]}:***@{tail}"

    def ensure_schema(self) -> None:
        """Create or upgrade the election's tables (registration's job; DDL only if needed)."""
        with self.connect() as conn:
            migrations.migrate(conn)

    def check_schema(self) -> None:
        """Every other stage's start: one clear line if registration has not set up the tables."""
        with self.connect() as conn:
            try:
                migrations.check_schema(conn)
            except migrations.SchemaMissing as exc:
                raise dg.Failure(str(exc)) from None
