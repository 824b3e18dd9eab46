"""Schema set-up runs once, at registration; every other stage only checks the version."""

from __future__ import annotations

import concurrent.futures

import dagster as dg
import psycopg
import pytest

from election import schema
from election_assets.resources import PostgresResource
from election_io import migrations
from spark_jobs import ledger, sources

pytestmark = [pytest.mark.services]


def start_of_the_counting_stages(database_url: str) -> None:
    """What the tally, voting, closing and certification do first with the database."""
    PostgresResource(database_url=database_url).check_schema()  # the Dagster side
    sources.check_postgres(database_url)  # the tally's own check
    with ledger.connect(database_url) as conn:
        ledger.prepare_session(conn)  # the tally's writer
        assert migrations.migrate(conn) is False  # registration again: nothing left to do


def test_a_stage_starts_beside_an_open_transaction_on_elections(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        assert migrations.migrate(conn) is True
    with psycopg.connect(scratch_database) as batch:
        # a transaction that has read the election and is still open (a tally batch's)
        batch.execute("SELECT * FROM elections FOR SHARE")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = pool.submit(start_of_the_counting_stages, scratch_database)
            try:
                started.result(timeout=5)  # DDL would queue behind the batch until it ends
            finally:
                batch.rollback()
            started.result()


def test_a_database_without_the_schema_is_one_line_saying_what_to_run(scratch_database):
    with pytest.raises(dg.Failure) as missing:  # a stage fails with this line, no stack trace
        PostgresResource(database_url=scratch_database).check_schema()
    message = missing.value.description
    assert "run registration_job (or make run) to set up the database" in message
    assert "\n" not in message
    with pytest.raises(sources.ServiceMissing, match="run registration_job"):
        sources.check_postgres(scratch_database)
    # a benchmark, which makes its own database, only asks that PostgreSQL answers
    sources.check_postgres(scratch_database, election_tables=False)


def test_an_older_schema_is_upgraded_by_registration_only(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        migrations.migrate(conn)
        conn.execute("UPDATE schema_version SET version = version - 1")
        with pytest.raises(migrations.SchemaMissing, match=f"needs {schema.VERSION}"):
            migrations.check_schema(conn)
        assert migrations.migrate(conn) is True
        migrations.check_schema(conn)
