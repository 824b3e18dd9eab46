"""The election's lifecycle in the `elections` table, with every change in the audit log.

registration -> open -> closed -> certified, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import dagster as dg
import psycopg

from election import contract, schema
from election.contract import Election
from election_io.elections import read_election

# Transaction-level advisory lock: registration and the lifecycle's steps take turns, so a
# roll cannot be replaced while the polls open (nor an election started while one opens).
LIFECYCLE_LOCK = 7_000_002


def lock_lifecycle(conn: psycopg.Connection) -> None:
    """Wait for any other registration or lifecycle step; held until this transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LIFECYCLE_LOCK,))


class LifecycleError(dg.Failure):
    """A lifecycle change that the rules do not allow; the message says why.

    A Dagster Failure, so a job that attempts it fails with this message and no stack trace.
    """


def audit(
    conn: psycopg.Connection,
    election_id: int | None,
    actor: str,
    action: str,
    outcome: str,
    detail: dict | None = None,
) -> None:
    """Record who did what to the election, and how it went."""
    conn.execute(
        "INSERT INTO audit_log (election_id, actor, action, outcome, detail) "
        "VALUES (%s, %s, %s, %s, %s)",
        (election_id, actor, action, outcome, json.dumps(detail or {}, default=str)),
    )


def election_for_registration(conn: psycopg.Connection, actor: str, name: str) -> Election:
    """The election whose roll may be (re)registered; starts a new one after a certified one.

    Held until the caller's transaction ends: an opening waits for the roll, and the other way.
    """
    lock_lifecycle(conn)
    election = read_election(conn)
    if election is not None and election.status == contract.REGISTRATION:
        return election
    if election is not None and election.status in (contract.OPEN, contract.CLOSED):
        raise LifecycleError(
            f"election {election.election_id} is {election.status}: the roll is frozen until "
            "it is certified (run close_polls_job and certify_results_job first)"
        )
    for table in schema.ELECTION_TABLES:
        conn.execute(f"TRUNCATE {table}")  # table names are our own constants
    row = conn.execute(
        "INSERT INTO elections (name, status) VALUES (%s, %s) RETURNING election_id",
        (name, contract.REGISTRATION),
    ).fetchone()
    audit(conn, row[0], actor, "start_election", "ok", {"name": name})
    return read_election(conn)


def transition(
    conn: psycopg.Connection,
    to_status: str,
    actor: str,
    clock: Callable[[], datetime] | None = None,
) -> Election:
    """Move the current election one step along its lifecycle, or raise LifecycleError.

    clock: what time it is, asked once the election row is locked; the polls' jobs pass the
    broker's (election_io.clock.broker_now), the clock that stamps the ballots. Without it,
    the database's wall clock.
    """
    lock_lifecycle(conn)
    election = read_election(conn)
    if election is None:
        raise LifecycleError("no election is registered yet: run registration_job first")
    # lock the row so two jobs cannot both open (or close) the same election
    conn.execute(
        "SELECT 1 FROM elections WHERE election_id = %s FOR UPDATE", (election.election_id,)
    )
    election = read_election(conn)
    expected = contract.NEXT_STATUS.get(election.status)
    if expected != to_status:
        audit(
            conn,
            election.election_id,
            actor,
            f"to_{to_status}",
            "refused",
            {"status": election.status},
        )
        conn.commit()
        raise LifecycleError(
            f"election {election.election_id} is {election.status}; it cannot become "
            f"{to_status} (the lifecycle is registration -> open -> closed -> certified)"
        )
    column = {
        contract.OPEN: "polls_opened_at",
        contract.CLOSED: "polls_closed_at",
        contract.CERTIFIED: "certified_at",
    }[to_status]
    # the time now, once the lock is held, not the transaction's start: a ballot received
    # while this transaction waited for the row lock must not be counted live and then
    # rejected by the recount
    at = clock() if clock is not None else None
    conn.execute(
        f"UPDATE elections SET status = %s, {column} = coalesce(%s, clock_timestamp()) "
        "WHERE election_id = %s",
        (to_status, at, election.election_id),
    )
    audit(conn, election.election_id, actor, f"to_{to_status}", "ok", {"from": election.status})
    return read_election(conn)


def schedule_close(conn: psycopg.Connection, election_id: int, minutes: float) -> datetime | None:
    """Set when the polls close: `minutes` after they opened; 0 leaves the closing to a person."""
    if minutes < 0:
        raise LifecycleError(f"a voting day cannot be negative ({minutes} minutes)")
    (closes_at,) = conn.execute(
        "UPDATE elections SET polls_close_at = CASE WHEN %s > 0 "
        "THEN polls_opened_at + make_interval(secs => %s) END "
        "WHERE election_id = %s RETURNING polls_close_at",
        (minutes, minutes * 60.0, election_id),
    ).fetchone()
    return closes_at


def skip_unless_open(election: Election | None) -> dg.SkipReason | None:
    """A sensor's skip, saying where the election stands, unless the polls are open."""
    if election is not None and election.status == contract.OPEN:
        return None
    status = election.status if election else "nothing registered"
    return dg.SkipReason(f"the polls are not open ({status})")
