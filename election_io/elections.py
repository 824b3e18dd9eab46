"""The election row: the one way every application reads the current election."""

from __future__ import annotations

from election.contract import ELECTION_COLUMNS, Election

_NEWEST = f"SELECT {', '.join(ELECTION_COLUMNS)} FROM elections ORDER BY election_id DESC LIMIT 1"


def read_election(conn) -> Election | None:
    """The newest election, with its scheduled closing; None before any registration."""
    row = conn.execute(_NEWEST).fetchone()
    return Election(*row) if row else None
