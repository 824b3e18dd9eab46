"""The election definition in PostgreSQL (`districts`, `contests`, `contest_choices`) and on disk.

Written whole in the caller's transaction with COPY, so a reader sees the old definition or the
new one, never half of each; read back as the domain's Definition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import psycopg

from election.contests import Choice, Contest, District, national_contest
from election.definition import Definition, DefinitionError, parse_definition

DEFINITION_TABLES = ("contest_choices", "contests", "districts")
# An imported election's ballots are cast on its definition: a new definition retires them.
IMPORTED_BALLOTS = "imported_ballots"


def read_definition_file(path: str | Path) -> Definition:
    """The definition a YAML file holds; DefinitionError (one line per problem) otherwise."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise DefinitionError(
            [f"cannot read the definition file {str(path)!r}: {exc.strerror}"]
        ) from None
    return parse_definition(text)


def write_definition(conn: psycopg.Connection, definition: Definition) -> None:
    """Replace the definition's tables with `definition`, inside the caller's transaction
    (and forget an imported election's ballots: the voting day then follows the model)."""
    conn.execute(f"TRUNCATE {', '.join((*DEFINITION_TABLES, IMPORTED_BALLOTS))}")  # our names
    with conn.cursor().copy(
        "COPY districts (district_id, kind, name, parent_id) FROM STDIN"
    ) as copy:
        for d in definition.districts:
            copy.write_row((d.district_id, d.kind, d.name, d.parent_id))
    with conn.cursor().copy(
        "COPY contests (contest_id, name, district_id, kind, vote_for, rules, position) FROM STDIN"
    ) as copy:
        for c in definition.contests:
            rules = None if c.rules is None else json.dumps(c.rules)
            copy.write_row(
                (c.contest_id, c.name, c.district_id, c.kind, c.vote_for, rules, c.position)
            )
    with conn.cursor().copy(
        "COPY contest_choices (contest_id, choice_id, name, party, position) FROM STDIN"
    ) as copy:
        for c in definition.contests:
            for choice in c.choices:
                copy.write_row(
                    (c.contest_id, choice.choice_id, choice.name, choice.party, choice.position)
                )


def read_definition(conn: psycopg.Connection) -> Definition:
    """The definition the database holds (contests in ballot order; choices in theirs)."""
    districts = tuple(
        District(*row)
        for row in conn.execute(
            "SELECT district_id, kind, name, parent_id FROM districts ORDER BY district_id"
        )
    )
    choices: dict[str, list[Choice]] = {}
    for contest_id, choice_id, name, party, position in conn.execute(
        "SELECT contest_id, choice_id, name, party, position FROM contest_choices "
        "ORDER BY contest_id, position, choice_id"
    ):
        choices.setdefault(contest_id, []).append(Choice(choice_id, name, party, position))
    contests = tuple(
        Contest(cid, name, district, kind, tuple(choices.get(cid, ())), vote_for, position, rules)
        for cid, name, district, kind, vote_for, rules, position in conn.execute(
            "SELECT contest_id, name, district_id, kind, vote_for, rules, position FROM contests "
            "ORDER BY position, contest_id"
        )
    )
    return Definition(contests, districts)


def election_contests(
    conn: psycopg.Connection, candidate_ids: Iterable[str] | None = None
) -> tuple[Contest, ...]:
    """The contests the election counts: its definition's; none there (a database from before
    the contests, or a test that registers none), the seed's national contest of candidate_ids
    (None: the candidates table's), named as that table names them."""
    contests = read_definition(conn).contests
    if contests:
        return contests
    names = dict(conn.execute("SELECT candidate_id, candidate_name FROM candidates ORDER BY 1"))
    return (national_contest(names if candidate_ids is None else candidate_ids, names),)
