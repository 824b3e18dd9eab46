"""Race calls: decided from committed totals, recorded in PostgreSQL, published on race_calls.

The one "call, record, publish" step of the live tally (after each batch) and of
certification (the last word, final): the same rows, audit entries and messages either way,
for every contest in every district, keyed contest|district (contract.contest_key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from election import messages, race_call
from election.contest_totals import DistrictTotals
from election.contests import Contest
from election.race_call import RaceCall
from election.schema import RACE_CALLS_UPSERT, race_calls_parameters
from election_io.publisher import ResultPublisher


def record(
    conn, calls: Mapping[str, RaceCall], election_id: int | None, actor: str, final: bool = False
) -> dict[str, tuple]:
    """Record a round of race calls in one transaction; {contest|district: (called_at,
    updated_at)}, for calls keyed as race_call.call_contests keys them.

    A race called for the first time in this round gets an audit_log row, like every change
    of the election's state.
    """
    by_race = {(call.contest_id, call.district_id): key for key, call in calls.items()}
    times = {}
    with conn.transaction():
        rows = conn.execute(RACE_CALLS_UPSERT, race_calls_parameters(calls.values(), final))
        for contest_id, district_id, called_at, updated_at, newly_called in rows.fetchall():
            key = by_race[(contest_id, district_id)]
            times[key] = (called_at, updated_at)
            if newly_called:
                conn.execute(
                    "INSERT INTO audit_log (election_id, actor, action, outcome, detail) "
                    "VALUES (%s, %s, 'race_call', 'called', %s)",
                    (election_id, actor, json.dumps(calls[key].to_dict())),
                )
    return times


def call_record_publish(
    conn,
    publisher: ResultPublisher,
    topic: str,
    results: Mapping[tuple[str, str], DistrictTotals],
    contests: Iterable[Contest],
    registered: Mapping[str, int],
    *,
    polls_open: bool,
    untallied: int,
    election_id: int | None,
    actor: str,
    final: bool = False,
    previous: Mapping[str, RaceCall] | None = None,
    decision_only: bool = False,
    latest_rounds: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, RaceCall]:
    """Call every contest in every district of its totals, record the calls and publish them.

    results: (contest_id, district_id) -> totals; registered: voters per district. Returns the
    calls recorded and sent, by contest|district. A message names the leader as its contest's
    choices do. Given the `previous` calls (as last recorded), only a call that moved from its
    previous one is recorded and sent (race_call.moved: any change, or with decision_only its
    decision). latest_rounds: each ranked contest's latest round (race_call.call_contests).
    """
    contests = tuple(contests)
    calls = race_call.call_contests(
        results, contests, registered, polls_open, untallied, latest_rounds
    )
    if previous is not None:
        calls = {
            key: call
            for key, call in calls.items()
            if race_call.moved(previous.get(key), call, decision_only)
        }
    if not calls:
        return calls
    names = {c.contest_id: {x.choice_id: x.name for x in c.choices} for c in contests}
    times = record(conn, calls, election_id, actor, final)
    publisher.send(
        topic,
        (
            messages.race_call(call, names[call.contest_id], *times[key])
            for key, call in calls.items()
        ),
    )
    publisher.flush()
    return calls
