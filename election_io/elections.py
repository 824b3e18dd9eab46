"""The election row: the one way every application reads the current election."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from election.contract import ELECTION_COLUMNS, Election

_NEWEST = (
    f"SELECT {', '.join(ELECTION_COLUMNS)}, clock_timestamp() FROM elections "
    "ORDER BY election_id DESC LIMIT 1"
)


@dataclass(frozen=True)
class ElectionNow:
    """The newest election (None before any registration), read at read_at by the database's clock.

    The tally judges a batch against this reading, and checks it again under lock before it
    commits, so the polls cannot close between the two unnoticed.
    """

    election: Election | None
    read_at: datetime

    @property
    def election_id(self) -> int | None:
        return self.election.election_id if self.election else None

    @property
    def status(self) -> str | None:
        return self.election.status if self.election else None

    @property
    def polls_opened_at(self) -> datetime | None:
        return self.election.polls_opened_at if self.election else None

    @property
    def polls_closed_at(self) -> datetime | None:
        return self.election.polls_closed_at if self.election else None


def read_election_now(conn, lock: bool = False) -> ElectionNow:
    """The newest election and the database's time; with lock, held FOR SHARE (no closing meanwhile)."""
    row = conn.execute(_NEWEST + (" FOR SHARE" if lock else "")).fetchone()
    if row is None:
        (now,) = conn.execute("SELECT clock_timestamp()").fetchone()
        return ElectionNow(None, now)
    return ElectionNow(Election(*row[:-1]), row[-1])


def read_election(conn) -> Election | None:
    """The newest election, with its scheduled closing; None before any registration."""
    return read_election_now(conn).election
