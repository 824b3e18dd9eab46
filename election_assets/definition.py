"""The election definition: districts, contests and choices, materialized between the
candidates (the national race's choices) and the roll (whose voters live in its districts)."""

import dagster as dg
import psycopg

from election.contests import MEASURE, MEASURE_CHOICES, NATIONAL_CONTEST
from election.default_election import default_election
from election.definition import DefinitionError, contest_counts, with_national_choices
from election.settings import setting
from election_assets import lifecycle
from election_assets.resources import PostgresResource
from election_assets.shared import database_checks
from election_io.definitions import read_definition_file, write_definition

CHECK_CONTEST_DISTRICTS = "every_contest_in_a_known_district"
CHECK_CONTEST_CHOICES = "every_contest_has_its_choices"
CHECK_NATIONAL_CHOICES = "national_choices_are_the_candidates"
CHECK_VOTER_COUNTIES = "every_voter_county_in_their_state"


class DefinitionConfig(dg.Config):
    """Which election: a definition file, or the generated default."""

    path: str = ""  # a YAML file; empty: ELECTION_DEFINITION_PATH, and if that is empty too,
    seed: int = 42  # the generated default election of this seed


@dg.asset(group_name="registration", kinds={"postgres"}, deps=["candidates"])
def election_definition(
    context: dg.AssetExecutionContext, config: DefinitionConfig, postgres: PostgresResource
) -> dg.MaterializeResult:
    """The election definition: districts, contests and their choices."""
    path = config.path or setting("ELECTION_DEFINITION_PATH")
    source = f"file {path}" if path else f"generated default (seed {config.seed})"
    try:
        definition = read_definition_file(path) if path else default_election(config.seed)
    except DefinitionError as exc:
        raise dg.Failure(f"the election definition ({source}) cannot be used:\n{exc}") from None
    postgres.ensure_schema()
    with postgres.connect() as conn:
        election = lifecycle.election_for_registration(conn, context.run.run_id, "General election")
        candidates = conn.execute(
            "SELECT candidate_id, candidate_name, party_affiliation FROM candidates "
            "ORDER BY candidate_name, candidate_id"
        ).fetchall()
        try:
            definition = with_national_choices(definition, candidates)
        except DefinitionError as exc:
            raise dg.Failure(f"the election definition ({source}) cannot be used:\n{exc}") from None
        write_definition(conn, definition)
        counts = contest_counts(definition)
        choices = sum(len(c.choices) for c in definition.contests)
        lifecycle.audit(
            conn,
            election.election_id,
            context.run.run_id,
            "define_election",
            "ok",
            {"source": source, "contests": len(definition.contests), **counts},
        )
    # counts only: who votes where belongs to the roll, never to Dagster's metadata
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "election_id": election.election_id,
            "contests": len(definition.contests),
            "choices": choices,
            **counts,
        }
    )


# --- checks: plain functions of a connection, so tests can run them on any data ----------


def check_contest_districts(conn: psycopg.Connection) -> dg.AssetCheckResult:
    (orphans,) = conn.execute(
        "SELECT count(*) FROM contests c LEFT JOIN districts d USING (district_id) "
        "WHERE d.district_id IS NULL"
    ).fetchone()
    return dg.AssetCheckResult(passed=orphans == 0, metadata={"contests_without_district": orphans})


def check_contest_choices(conn: psycopg.Connection) -> dg.AssetCheckResult:
    empty, bad_measures = conn.execute(
        "SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE kind = %s AND ids <> %s) "
        "FROM (SELECT c.kind, count(x.choice_id) AS n, "
        "      coalesce(array_agg(x.choice_id ORDER BY x.choice_id) "
        "               FILTER (WHERE x.choice_id IS NOT NULL), '{}') AS ids "
        "      FROM contests c LEFT JOIN contest_choices x USING (contest_id) "
        "      GROUP BY c.contest_id, c.kind) per_contest",
        (MEASURE, sorted(MEASURE_CHOICES)),
    ).fetchone()
    return dg.AssetCheckResult(
        passed=empty == 0 and bad_measures == 0,
        metadata={"contests_without_choices": empty, "measures_not_yes_no": bad_measures},
    )


def check_national_choices(conn: psycopg.Connection) -> dg.AssetCheckResult:
    (differ,) = conn.execute(
        "SELECT count(*) FROM (SELECT choice_id FROM contest_choices WHERE contest_id = %s) x "
        "FULL JOIN candidates c ON c.candidate_id = x.choice_id "
        "WHERE x.choice_id IS NULL OR c.candidate_id IS NULL",
        (NATIONAL_CONTEST,),
    ).fetchone()
    return dg.AssetCheckResult(passed=differ == 0, metadata={"choices_not_candidates": differ})


def check_voter_counties(conn: psycopg.Connection) -> dg.AssetCheckResult:
    """A voter's county is a county district of their own state, under its own name."""
    misplaced, without = conn.execute(
        "SELECT count(*) FILTER (WHERE v.county_fips IS NOT NULL AND (c.kind IS DISTINCT FROM "
        "    'county' OR c.name IS DISTINCT FROM v.address_county "
        "    OR s.name IS DISTINCT FROM v.address_state)), "
        "  count(*) FILTER (WHERE v.county_fips IS NULL AND v.address_state IN "
        "    (SELECT name FROM districts WHERE kind = 'state')) "
        "FROM voters v "
        "LEFT JOIN districts c ON c.district_id = 'county:' || v.county_fips "
        "LEFT JOIN districts s ON s.district_id = c.parent_id"
    ).fetchone()
    return dg.AssetCheckResult(
        passed=misplaced == 0 and without == 0,
        metadata={
            "voters_in_a_county_not_of_their_state": misplaced,
            "us_voters_without_county": without,
        },
    )


definition_checks = database_checks(
    "election_definition",
    {
        CHECK_CONTEST_DISTRICTS: check_contest_districts,
        CHECK_CONTEST_CHOICES: check_contest_choices,
        CHECK_NATIONAL_CHOICES: check_national_choices,
    },
    "The definition is sound: every contest in a known district, with its choices.",
)
