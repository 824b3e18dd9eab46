"""Registration: the candidates, the election definition and the voter roll, loaded into
PostgreSQL with COPY (candidates -> election_definition -> voters)."""

from datetime import UTC, date, datetime

import dagster as dg
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from election import candidates as candidate_roll
from election import contract, roll
from election.age_bands import AGE_BANDS
from election_assets import lifecycle
from election_assets.definition import (
    CHECK_VOTER_COUNTIES,
    check_voter_counties,
    definition_checks,
    election_definition,
)
from election_assets.resources import PostgresResource
from election_assets.resources.randomuser import RandomUserClient, RandomUserError
from election_assets.shared import database_checks
from election_io.tables import CANDIDATE_KEYS, VOTER_KEYS, replace_table

SOURCES = ("auto", "randomuser", "offline")

CHECK_VOTER_IDS = "voter_ids_unique_and_present"
CHECK_VOTERS_ADULT = "every_voter_adult_on_election_day"
CHECK_VOTER_STATES = "every_voter_has_a_state"
CHECK_CANDIDATE_IDS = "candidate_ids_unique_and_present"
CHECK_TWO_CANDIDATES = "at_least_two_candidates"
CHECK_DISTINCT_PARTIES = "one_candidate_per_party"


class RosterConfig(dg.Config):
    """Who to register, and from where."""

    count: int
    seed: int = 42
    nationality: str = "us"
    source: str = "auto"  # auto: the API, falling back to offline when it cannot be reached


class CandidatesConfig(RosterConfig):
    count: int = 3


class VotersConfig(RosterConfig):
    count: int = 10_000


def fetch_people(
    config: RosterConfig,
    randomuser: RandomUserClient,
    log,
    from_api,
    offline,
) -> tuple[list[dict] | pa.Table, str]:
    """Records from the chosen source; `auto` falls back to offline when the API fails."""
    if config.source not in SOURCES:
        raise dg.Failure(f"source must be one of {', '.join(SOURCES)}, got {config.source!r}")
    if config.count <= 0:
        raise dg.Failure(f"count must be positive, got {config.count}")
    if config.source in ("randomuser", "auto"):
        try:
            people = randomuser.fetch_people(
                config.count, f"election-{config.seed}", config.nationality
            )
            return [from_api(person, i) for i, person in enumerate(people)], "randomuser"
        except (RandomUserError, ValueError) as exc:
            if config.source == "randomuser":
                raise
            log.warning(f"randomuser.me unavailable, registering offline instead: {exc}")
    return offline(), "offline"


def register_roster(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    name: str,
    columns,
    table: pa.Table,
    constraints: dict[str, str],
    source: str,
):
    """Replace the candidates or the roll of the election being registered, and audit it."""
    postgres.ensure_schema()
    with postgres.connect() as conn:
        election = lifecycle.election_for_registration(conn, context.run.run_id, "General election")
        replace_table(conn, name, columns, table, constraints)
        lifecycle.audit(
            conn,
            election.election_id,
            context.run.run_id,
            f"register_{name}",
            "ok",
            {"count": table.num_rows, "source": source},
        )
    return election


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "\n".join(
        "| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows
    )


@dg.asset(group_name="registration", kinds={"postgres"})
def candidates(
    context: dg.AssetExecutionContext,
    config: CandidatesConfig,
    postgres: PostgresResource,
    randomuser: RandomUserClient,
) -> dg.MaterializeResult:
    """The candidates on the ballot, one per party."""
    people, source = fetch_people(
        config,
        randomuser,
        context.log,
        lambda person, i: candidate_roll.candidate_from_randomuser(person, i, config.seed),
        lambda: candidate_roll.generate_candidates(config.count, config.seed, config.nationality),
    )
    table = pa.Table.from_pylist(
        [{c: p.get(c) for c in candidate_roll.CANDIDATE_COLUMNS} for p in people]
        if isinstance(people, list)
        else people.to_pylist()
    )
    election = register_roster(
        context,
        postgres,
        "candidates",
        candidate_roll.CANDIDATE_COLUMNS,
        table,
        CANDIDATE_KEYS,
        source,
    )
    preview = table.select(["candidate_id", "candidate_name", "party_affiliation"]).to_pylist()
    return dg.MaterializeResult(
        metadata={
            "rows": table.num_rows,
            "source": source,
            "election_id": election.election_id,
            "preview": dg.MetadataValue.md(
                markdown_table(preview, ["candidate_id", "candidate_name", "party_affiliation"])
            ),
        }
    )


# After the definition: a voter's county is one of its districts (check_voter_counties).
@dg.asset(group_name="registration", kinds={"postgres"}, deps=[election_definition])
def voters(
    context: dg.AssetExecutionContext,
    config: VotersConfig,
    postgres: PostgresResource,
    randomuser: RandomUserClient,
) -> dg.MaterializeResult:
    """The voter roll: every registered voter, with where they vote."""
    people, source = fetch_people(
        config,
        randomuser,
        context.log,
        lambda person, _i: roll.voter_from_randomuser(person, config.nationality),
        lambda: roll.generate_voters(config.count, config.seed, config.nationality),
    )
    table = (
        pa.Table.from_pylist(people, schema=roll.VOTER_SCHEMA)
        if isinstance(people, list)
        else people
    )
    election = register_roster(
        context,
        postgres,
        "voters",
        roll.VOTER_COLUMNS,
        table,
        VOTER_KEYS,
        source,
    )
    per_state, ages, genders = roll_profile(table)
    # counts and distributions only: Dagster keeps metadata for ever, so no voter appears in it
    return dg.MaterializeResult(
        metadata={
            "rows": table.num_rows,
            "source": source,
            "election_id": election.election_id,
            "states": len(per_state),
            "voters_per_state": dg.MetadataValue.md(
                markdown_table(
                    [{"state": s, "voters": n} for s, n in per_state[:15]], ["state", "voters"]
                )
            ),
            "age_mix": ages,
            "gender_mix": genders,
        }
    )


def roll_profile(table: pa.Table) -> tuple[list[tuple[str, int]], dict, dict]:
    """Voters per state (largest first), age mix and gender mix, computed in Arrow."""
    states = pc.value_counts(table["address_state"]).to_pylist()
    per_state = sorted(((s["values"], s["counts"]) for s in states), key=lambda x: -x[1])
    today = pa.scalar(election_day(), pa.date32())
    years = pc.years_between(table["date_of_birth"], today)
    ages = {
        band: pc.sum(pc.and_(pc.greater_equal(years, low), pc.less(years, high or 1000))).as_py()
        or 0
        for band, low, high in AGE_BANDS
    }
    genders = {g["values"]: g["counts"] for g in pc.value_counts(table["gender"]).to_pylist()}
    return per_state, ages, genders


# --- checks: plain functions of a connection, so tests can run them on any data ----------


def check_voter_ids(conn: psycopg.Connection) -> dg.AssetCheckResult:
    rows, distinct, missing = conn.execute(
        "SELECT count(*), count(DISTINCT voter_id), count(*) FILTER "
        "(WHERE voter_id IS NULL OR voter_id = '') FROM voters"
    ).fetchone()
    return dg.AssetCheckResult(
        passed=rows == distinct and missing == 0 and rows > 0,
        metadata={"rows": rows, "distinct_ids": distinct, "missing_ids": missing},
    )


def check_voters_adult(conn: psycopg.Connection, election_day: date) -> dg.AssetCheckResult:
    minors, youngest = conn.execute(
        "SELECT count(*) FILTER (WHERE date_of_birth > (%s::date - interval '18 years')), "
        "max(date_of_birth) FROM voters",
        (election_day,),
    ).fetchone()
    return dg.AssetCheckResult(
        passed=minors == 0,
        metadata={
            "under_18": minors,
            "youngest_born": str(youngest),
            "election_day": str(election_day),
        },
    )


def check_voter_states(conn: psycopg.Connection) -> dg.AssetCheckResult:
    (empty,) = conn.execute(
        "SELECT count(*) FROM voters WHERE address_state IS NULL OR btrim(address_state) = ''"
    ).fetchone()
    return dg.AssetCheckResult(passed=empty == 0, metadata={"voters_without_state": empty})


def check_candidate_ids(conn: psycopg.Connection) -> dg.AssetCheckResult:
    rows, distinct, missing = conn.execute(
        "SELECT count(*), count(DISTINCT candidate_id), count(*) FILTER "
        "(WHERE candidate_id IS NULL OR candidate_id = '') FROM candidates"
    ).fetchone()
    return dg.AssetCheckResult(
        passed=rows == distinct and missing == 0,
        metadata={"rows": rows, "distinct_ids": distinct, "missing_ids": missing},
    )


def check_two_candidates(conn: psycopg.Connection) -> dg.AssetCheckResult:
    (count,) = conn.execute("SELECT count(*) FROM candidates").fetchone()
    return dg.AssetCheckResult(passed=count >= 2, metadata={"candidates": count})


def check_distinct_parties(conn: psycopg.Connection) -> dg.AssetCheckResult:
    shared = conn.execute(
        "SELECT party_affiliation, count(*) FROM candidates GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not shared,
        metadata={"parties_with_several_candidates": ", ".join(p for p, _ in shared) or "none"},
    )


def election_day() -> date:
    """Election day is today (UTC): the polls open in real time."""
    return datetime.now(UTC).date()


voter_roll_checks = database_checks(
    "voters",
    {
        CHECK_VOTER_IDS: check_voter_ids,
        CHECK_VOTERS_ADULT: lambda conn: check_voters_adult(conn, election_day()),
        CHECK_VOTER_STATES: check_voter_states,
        CHECK_VOTER_COUNTIES: check_voter_counties,
    },
    "The voter roll is sound: unique ids, adults only, every voter in a state and a county of it.",
)
candidate_checks = database_checks(
    "candidates",
    {
        CHECK_CANDIDATE_IDS: check_candidate_ids,
        CHECK_TWO_CANDIDATES: check_two_candidates,
        CHECK_DISTINCT_PARTIES: check_distinct_parties,
    },
    "The ballot is sound: unique ids, at least two candidates, one per party.",
)


registration_job = dg.define_asset_job(
    contract.REGISTRATION_JOB,
    selection=dg.AssetSelection.groups("registration")
    | dg.AssetSelection.assets("votes_topic", "result_topics"),
    description="Register the candidates, the election definition and the voter roll "
    "(size, seed, nationality, source, definition file as config), and make the election's "
    "topics, empty.",
)


def register_offline(database_url: str, voter_count: int, candidate_count: int = 3, seed: int = 42):
    """Register an offline roll and its checks into `database_url` (scripts, benchmarks, tests)."""
    result = dg.materialize(
        [
            candidates,
            election_definition,
            voters,
            voter_roll_checks,
            candidate_checks,
            definition_checks,
        ],
        resources={
            "postgres": PostgresResource(database_url=database_url),
            "randomuser": RandomUserClient(base_url="http://127.0.0.1:9/", retries=0),
        },
        run_config={
            "ops": {
                "candidates": {
                    "config": {"source": "offline", "count": candidate_count, "seed": seed}
                },
                "voters": {"config": {"source": "offline", "count": voter_count, "seed": seed}},
            }
        },
    )
    if not result.success:
        raise RuntimeError("offline registration failed")
    return result
