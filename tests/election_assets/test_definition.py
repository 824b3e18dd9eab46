"""The election definition materialized into the real PostgreSQL: tables, checks, bad files."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from election.contests import NATIONAL_CONTEST
from election.default_election import default_election
from election.definition import with_national_choices
from election_assets import definition, registration
from election_assets.resources import PostgresResource
from election_io import migrations
from election_io.definitions import read_definition
from tests.election_assets.conftest import register

SMALL = """\
contests:
  - {id: national, name: President, district: nation}
  - id: council
    name: Council
    district: county:32510
    vote_for: 2
    choices: [{id: a, name: Ann}, {id: b, name: Bo}, {id: c, name: Cy}]
  - {id: m, name: Measure M, district: state:NV, kind: measure}
"""
BAD = """\
contests:
  - {id: senate, name: Senate, district: state:ZZ, choices: [{id: a, name: A}]}
  - {id: senate, name: Senate, district: state:NV, choices: []}
"""


def define(database_url: str, path: str):
    """Materialize the candidates and the definition of `path`."""
    return dg.materialize(
        [registration.candidates, definition.election_definition, definition.definition_checks],
        resources={
            "postgres": PostgresResource(database_url=database_url),
            "randomuser": registration.RandomUserClient(base_url="http://127.0.0.1:9/", retries=0),
        },
        run_config={
            "ops": {
                "candidates": {"config": {"source": "offline"}},
                "election_definition": {"config": {"path": path}},
            }
        },
        raise_on_error=False,
    )


def counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM districts), (SELECT count(*) FROM contests), "
            "(SELECT count(*) FROM contest_choices)"
        ).fetchone()


def test_registration_defines_the_default_election_before_the_roll(scratch_database):
    result = register(scratch_database, voters=3000)
    default = default_election(seed=42)
    with psycopg.connect(scratch_database) as conn:
        stored = read_definition(conn)
        candidates = conn.execute(
            "SELECT candidate_id, candidate_name, party_affiliation FROM candidates "
            "ORDER BY candidate_name, candidate_id"
        ).fetchall()
        placed = conn.execute(
            "SELECT count(*), count(DISTINCT county_fips) FROM voters WHERE county_fips IS NOT NULL"
        ).fetchone()
    assert stored.contests == with_national_choices(default, candidates).contests
    assert set(stored.districts) == set(default.districts)
    assert len(stored.contest(NATIONAL_CONTEST).choices) == 3
    assert placed[0] == 3000 and placed[1] > 1000
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks[definition.CHECK_VOTER_COUNTIES] and checks[definition.CHECK_NATIONAL_CHOICES]
    assert all(checks.values()), checks
    order = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert order == ["candidates", "election_definition", "voters"]
    meta = next(
        {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "election_definition"
    )
    assert meta["contests_measure"] == 51 and meta["districts_county"] == 3142
    assert meta["source"] == "generated default (seed 42)"


def test_a_definition_file(scratch_database, tmp_path):
    path = tmp_path / "election.yaml"
    path.write_text(SMALL)
    result = define(scratch_database, str(path))
    assert result.success
    assert counts(scratch_database) == (1 + 51 + 3142, 3, 3 + 3 + 2)
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_a_bad_file_fails_with_its_problems_and_keeps_the_definition(scratch_database, tmp_path):
    register(scratch_database, voters=100)
    before = counts(scratch_database)
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = define(scratch_database, str(path))
    assert not result.success
    (failure,) = result.get_step_failure_events()
    said = failure.step_failure_data.user_failure_data.description
    assert said.splitlines() == [
        f"the election definition (file {path}) cannot be used:",
        "contest 1 (senate): unknown district 'state:ZZ'",
        "contest 2 (senate): a contest needs a list of choices, not []",
        "contest 2: duplicate contest id 'senate'",
        "the national contest (id 'national') is missing",
    ]
    assert counts(scratch_database) == before
    missing = define(scratch_database, str(tmp_path / "nowhere.yaml"))
    (failure,) = missing.get_step_failure_events()
    assert (
        "cannot read the definition file" in failure.step_failure_data.user_failure_data.description
    )


@pytest.fixture
def defined(scratch_database):
    register(scratch_database, voters=300)
    return scratch_database


def test_checks_fail_on_a_bad_definition_and_roll(defined):
    with psycopg.connect(defined) as conn:
        assert definition.check_voter_counties(conn).passed
        conn.execute(
            "UPDATE voters SET county_fips = '32510', address_county = 'Carson City' "
            "WHERE voter_id IN (SELECT voter_id FROM voters WHERE address_state <> 'Nevada' LIMIT 2)"
        )
        assert not definition.check_voter_counties(conn).passed
        conn.execute("UPDATE voters SET county_fips = NULL")
        assert (
            definition.check_voter_counties(conn).metadata["us_voters_without_county"].value == 300
        )
        for check in (
            definition.check_contest_districts,
            definition.check_contest_choices,
            definition.check_national_choices,
        ):
            assert check(conn).passed
        conn.execute("UPDATE contests SET district_id = 'state:ZZ' WHERE contest_id = 'senate-NV'")
        assert not definition.check_contest_districts(conn).passed
        conn.execute("DELETE FROM contest_choices WHERE choice_id = 'no'")
        assert not definition.check_contest_choices(conn).passed
        conn.execute(
            "DELETE FROM candidates WHERE candidate_id IN (SELECT candidate_id FROM candidates LIMIT 1)"
        )
        assert not definition.check_national_choices(conn).passed


def test_a_roll_without_counties_is_upgraded_in_place(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        migrations.migrate(conn)
        conn.execute("ALTER TABLE voters DROP COLUMN address_county, DROP COLUMN county_fips")
        conn.execute("DROP TABLE contest_choices, contests, districts")
        conn.execute("UPDATE schema_version SET version = version - 1")
        assert migrations.migrate(conn) is True
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'voters'"
            )
        }
        assert {"address_county", "county_fips"} <= columns
        assert migrations.migrate(conn) is False
    assert counts(scratch_database) == (0, 0, 0)
