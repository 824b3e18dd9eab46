"""Registration into the real PostgreSQL: sources, COPY loads, metadata and checks."""

from __future__ import annotations

from datetime import date

import dagster as dg
import psycopg
import pytest

from election_assets import definition, registration
from election_assets.resources import PostgresResource
from election_assets.resources.randomuser import RandomUserClient
from tests.election_assets.conftest import register
from tests.election_assets.fake_randomuser import FakeRandomUser


def materialize(database_url: str, api_url: str, source: str, voters: int = 50):
    return dg.materialize(
        [
            registration.candidates,
            definition.election_definition,
            registration.voters,
            registration.voter_roll_checks,
            registration.candidate_checks,
        ],
        resources={
            "postgres": PostgresResource(database_url=database_url),
            "randomuser": RandomUserClient(base_url=api_url, retries=0, backoff_s=0.01),
        },
        run_config={
            "ops": {
                "candidates": {"config": {"source": source}},
                "voters": {"config": {"source": source, "count": voters}},
            }
        },
        raise_on_error=False,
    )


def metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def test_offline_registration_loads_the_roll(scratch_database):
    result = register(scratch_database, voters=5000)
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM voters").fetchone() == (5000,)
        assert conn.execute(
            "SELECT count(DISTINCT party_affiliation) FROM candidates"
        ).fetchone() == (3,)
        status = conn.execute("SELECT status FROM elections").fetchall()
    assert status == [("registration",)]
    meta = metadata(result, "voters")
    assert meta["rows"] == 5000 and meta["source"] == "offline" and meta["states"] > 10
    assert sum(meta["gender_mix"].values()) == 5000
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)


def test_no_voter_identity_reaches_dagster(scratch_database):
    """Dagster keeps metadata and logs in its event log: counts and distributions only."""
    result = register(scratch_database, voters=2000)
    with psycopg.connect(scratch_database) as conn:
        identities = {
            value
            for row in conn.execute(
                "SELECT voter_id, voter_name, email, registration_number, address_street "
                "FROM voters"
            )
            for value in row
            if value
        }
    recorded = [str(event.message) for event in result.all_events]
    for event in result.get_asset_materialization_events():
        recorded += [str(v.value) for v in event.materialization.metadata.values()]
    for check in result.get_asset_check_evaluations():
        recorded += [str(v.value) for v in check.metadata.values()]
    text = "\n".join(recorded)
    leaked = sorted(value for value in identities if value in text)
    assert not leaked, f"voter identity in Dagster's event log: {leaked[:5]}"


def test_reregistering_replaces_the_roll(scratch_database):
    register(scratch_database, voters=3000, seed=1)
    register(scratch_database, voters=1000, seed=2)
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM voters").fetchone() == (1000,)
        assert conn.execute("SELECT count(*) FROM elections").fetchone() == (1,)


def test_failed_load_keeps_the_previous_roll(scratch_database):
    register(scratch_database, voters=500)
    with FakeRandomUser() as api:
        api.mode = "wrong_shape"
        result = materialize(scratch_database, api.url, "randomuser")
    assert not result.success
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM voters").fetchone() == (500,)


def test_randomuser_source(scratch_database):
    with FakeRandomUser() as api:
        result = materialize(scratch_database, api.url, "randomuser", voters=40)
    assert result.success
    assert metadata(result, "voters")["source"] == "randomuser"
    with psycopg.connect(scratch_database) as conn:
        states = {s for (s,) in conn.execute("SELECT DISTINCT address_state FROM voters")}
        assert conn.execute("SELECT count(*) FROM voters").fetchone() == (40,)
    assert states == {"California", "Texas", "Ohio", "Vermont"}


def test_auto_falls_back_to_offline_when_the_api_fails(scratch_database):
    with FakeRandomUser() as api:
        api.mode = "error500"
        result = materialize(scratch_database, api.url, "auto", voters=30)
    assert result.success
    assert metadata(result, "voters")["source"] == "offline"
    assert metadata(result, "candidates")["source"] == "offline"


def test_roll_is_frozen_while_the_polls_are_open(scratch_database):
    register(scratch_database, voters=100)
    with psycopg.connect(scratch_database) as conn:
        conn.execute("UPDATE elections SET status = 'open'")
    with FakeRandomUser() as api:
        result = materialize(scratch_database, api.url, "offline")
    assert not result.success


@pytest.fixture
def bad_roll(scratch_database):
    register(scratch_database, voters=200)
    with psycopg.connect(scratch_database) as conn:
        conn.execute("ALTER TABLE voters DROP CONSTRAINT voters_pkey")
        conn.execute("ALTER TABLE voters DROP CONSTRAINT voters_registration_number_key")
        conn.execute("ALTER TABLE candidates DROP CONSTRAINT candidates_pkey")
    return scratch_database


def test_checks_fail_on_bad_voters(bad_roll):
    with psycopg.connect(bad_roll) as conn:
        assert registration.check_voter_ids(conn).passed
        conn.execute("INSERT INTO voters SELECT * FROM voters LIMIT 1")
        assert not registration.check_voter_ids(conn).passed
        conn.execute(
            "UPDATE voters SET date_of_birth = %s WHERE voter_id IN "
            "(SELECT voter_id FROM voters LIMIT 3)",
            (date(2015, 1, 1),),
        )
        assert not registration.check_voters_adult(conn, date(2026, 11, 3)).passed
        conn.execute(
            "UPDATE voters SET address_state = '' WHERE voter_id IN "
            "(SELECT voter_id FROM voters LIMIT 1)"
        )
        assert not registration.check_voter_states(conn).passed


def test_checks_fail_on_bad_candidates(bad_roll):
    with psycopg.connect(bad_roll) as conn:
        assert registration.check_distinct_parties(conn).passed
        conn.execute("UPDATE candidates SET party_affiliation = 'Same Party'")
        assert not registration.check_distinct_parties(conn).passed
        conn.execute("INSERT INTO candidates SELECT * FROM candidates LIMIT 1")
        assert not registration.check_candidate_ids(conn).passed
        conn.execute(
            "DELETE FROM candidates WHERE candidate_id IN "
            "(SELECT candidate_id FROM candidates LIMIT 3)"
        )
        assert not registration.check_two_candidates(conn).passed
