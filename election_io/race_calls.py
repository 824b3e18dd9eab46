"""Race calls: decided from committed totals, recorded in PostgreSQL, published on race_calls.

The one "call, record, publish" step of the live tally (after each batch) and of
certification (the last word, final): the same rows, audit entries and messages either way.
"""

from __future__ import annotations

import json

from election import messages, race_call
from election.schema import RACE_CALLS_UPSERT, race_calls_parameters
from election_io.publisher import ResultPublisher


def record(
    conn, calls: dict, election_id: int | None, actor: str, final: bool = False
) -> dict[str, tuple]:
    """Record a round of race calls in one transaction; {scope: (called_at, updated_at)}.

    A race called for the first time in this round gets an audit_log row, like every change
    of the election's state.
    """
    with conn.transaction():
        rows = conn.execute(RACE_CALLS_UPSERT, race_calls_parameters(calls, final)).fetchall()
        for scope, _called_at, _updated_at, newly_called in rows:
            if newly_called:
                conn.execute(
                    "INSERT INTO audit_log (election_id, actor, action, outcome, detail) "
                    "VALUES (%s, %s, 'race_call', 'called', %s)",
                    (election_id, actor, json.dumps({"scope": scope, **calls[scope].to_dict()})),
                )
    return {scope: (called_at, updated_at) for scope, called_at, updated_at, _ in rows}


def call_record_publish(
    conn,
    publisher: ResultPublisher,
    topic: str,
    per_state: dict[tuple[str, str], int],
    registered: dict[str, int],
    names: dict[str, str | None],
    *,
    polls_open: bool,
    untallied: int,
    election_id: int | None,
    actor: str,
    final: bool = False,
) -> dict:
    """Call every race from the committed totals, record the calls and publish them."""
    calls = race_call.call_nation(per_state, registered, names, polls_open, untallied)
    times = record(conn, calls, election_id, actor, final)
    publisher.send(
        topic,
        (messages.race_call(scope, call, names, *times[scope]) for scope, call in calls.items()),
    )
    publisher.flush()
    return calls
