"""Turnout by age band and gender per state: Spark through dagster-pyspark, on the real roll."""

from __future__ import annotations

import random

import dagster as dg
import psycopg
import pytest

from election.age_bands import age_band
from election_assets.resources import PostgresResource
from election_assets.resources.spark import ElectionSpark
from election_assets.turnout_profile import turnout_profile
from tests.election_assets.conftest import register


def materialize(database_url: str):
    return dg.materialize(
        [turnout_profile],
        resources={
            "postgres": PostgresResource(database_url=database_url),
            "pyspark": ElectionSpark(spark_config={"spark.master": "local[2]"}),
        },
        raise_on_error=False,
    )


def vote_and_close(database_url: str, share: float, seed: int = 3) -> None:
    with psycopg.connect(database_url) as conn:
        voters = [v for (v,) in conn.execute("SELECT voter_id FROM voters ORDER BY voter_id")]
        voted = random.Random(seed).sample(voters, int(len(voters) * share))
        with conn.cursor().copy("COPY voter_turnout (voter_id, voted_at) FROM STDIN") as copy:
            for voter_id in voted:
                copy.write_row((voter_id, "2026-11-03T12:00:00Z"))
        conn.execute(
            "UPDATE elections SET status = 'closed', polls_opened_at = now() - interval '1 hour', "
            "polls_closed_at = now()"
        )


@pytest.mark.spark
def test_turnout_profile_matches_the_poll_book(scratch_database):
    register(scratch_database, voters=3000)
    vote_and_close(scratch_database, share=0.4)
    result = materialize(scratch_database)
    assert result.success
    with psycopg.connect(scratch_database) as conn:
        stored = {
            (s, b, g): (r, v)
            for s, b, g, r, v in conn.execute(
                "SELECT address_state, age_band, gender, registered_voters, voters_voted "
                "FROM turnout_profile"
            )
        }
        # the oracle: ages by PostgreSQL's own age(), bands by the domain, counted in Python
        expected: dict[tuple, list[int]] = {}
        for state, age, gender, voted in conn.execute(
            "SELECT v.address_state, date_part('year', age(e.polls_opened_at::date, "
            "v.date_of_birth))::int, coalesce(nullif(v.gender, ''), 'unknown'), "
            "t.voter_id IS NOT NULL FROM voters v CROSS JOIN elections e "
            "LEFT JOIN voter_turnout t USING (voter_id)"
        ):
            cell = expected.setdefault((state, age_band(age) or "under 18", gender), [0, 0])
            cell[0] += 1
            cell[1] += int(voted)
    assert stored == {k: tuple(v) for k, v in expected.items()}
    assert sum(v for _, v in stored.values()) == 1200
    metadata = next(iter(result.get_asset_materialization_events())).materialization.metadata
    assert metadata["voters_voted"].value == 1200


@pytest.mark.spark
def test_turnout_profile_waits_for_the_polls_to_close(scratch_database):
    register(scratch_database, voters=200)
    result = materialize(scratch_database)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "needs closed polls; the election is registration" in failure
