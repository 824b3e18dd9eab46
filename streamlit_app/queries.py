"""The few aggregate queries the dashboard makes of the election database (never a voter's row)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg

from election import contract
from election.contract import Election
from election.definition import Definition
from election_io.ballot_log import counted_ends, offsets_behind
from election_io.definitions import read_definition
from election_io.elections import read_election


@dataclass(frozen=True)
class ElectionBoard:
    """What the page needs from PostgreSQL on each refresh."""

    election: Election | None = None
    # {partition: end offset} of the ballot log the tally has committed; None when unknown
    # (no database, or before registration).
    counted_ends: Mapping[int, int] | None = None
    error: str | None = None

    def tally_lag(self, log_ends: Mapping[int, int]) -> int | None:
        """Messages on the ballot log (its end offsets, as read) the tally has not yet judged."""
        if self.counted_ends is None or not log_ends:
            return None
        return offsets_behind(log_ends, self.counted_ends)


@dataclass(frozen=True)
class Registration:
    """The roll before the polls open: counts only."""

    candidates: list[dict] = field(default_factory=list)  # id, name, party, photo
    voters_by_state: dict[str, int] = field(default_factory=dict)

    @property
    def voters(self) -> int:
        return sum(self.voters_by_state.values())


def _connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url, connect_timeout=3, autocommit=True)


def _describe(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _rows(conn: psycopg.Connection, sql: str) -> list[tuple]:
    """Rows of a query; none when the table does not exist yet (before registration)."""
    try:
        return conn.execute(sql).fetchall()
    except psycopg.errors.UndefinedTable:
        return []


def election_board(database_url: str, votes_topic: str = contract.VOTES_TOPIC) -> ElectionBoard:
    """The newest election's status and the live tally's progress; an error instead of raising."""
    try:
        with _connect(database_url) as conn:
            try:
                election = read_election(conn)
                counted = counted_ends(conn, votes_topic)
            except psycopg.errors.UndefinedTable:  # before registration
                return ElectionBoard()
    except psycopg.Error as exc:
        return ElectionBoard(error=f"election database unreachable: {_describe(exc)}")
    return ElectionBoard(election=election, counted_ends=counted)


def registration(database_url: str) -> Registration:
    """The candidates and how many voters are registered per state (counts, no identities)."""
    try:
        with _connect(database_url) as conn:
            candidates = _rows(
                conn,
                "SELECT candidate_id, candidate_name, party_affiliation, photo_url"
                " FROM candidates ORDER BY candidate_name",
            )
            voters = _rows(
                conn, "SELECT address_state, count(*) FROM voters GROUP BY address_state"
            )
    except psycopg.Error:
        return Registration()
    keys = ("candidate_id", "candidate_name", "party_affiliation", "photo_url")
    return Registration(
        candidates=[dict(zip(keys, row, strict=True)) for row in candidates],
        voters_by_state={state: int(count) for state, count in voters},
    )


def turnout_profile(database_url: str) -> list[dict]:
    """Turnout by age band and gender, nationally (the turnout_profile asset's table, summed
    over states); empty until that asset exists. Counts only, never a choice."""
    try:
        with _connect(database_url) as conn:
            rows = _rows(
                conn,
                "SELECT age_band, gender, sum(registered_voters), sum(voters_voted)"
                " FROM turnout_profile GROUP BY 1, 2 ORDER BY 1, 2",
            )
    except psycopg.Error:
        return []
    return [
        {
            "age band": band,
            "gender": gender,
            "registered": int(registered),
            "voted": int(voted),
            "turnout": round(100.0 * int(voted) / int(registered), 1) if registered else 0.0,
        }
        for band, gender, registered, voted in rows
    ]


def election_definition(database_url: str) -> Definition | None:
    """The contests, their choices and the districts, for the page's labels (names and counts,
    never a voter's row); None before the definition is registered or without a database."""
    try:
        with _connect(database_url) as conn:
            definition = read_definition(conn)
    except psycopg.Error:  # UndefinedTable before registration, or no database
        return None
    return definition if definition.contests else None
