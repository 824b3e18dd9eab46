"""The ledger's totals per contest and district as PostgreSQL holds them (contest_totals,
contest_choice_totals): read by the live tally's publisher and by certification."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import psycopg

from election import messages
from election.contest_totals import ContestTotals, DistrictTotals, Home, JudgedPattern
from election.contests import Contest
from election.rcv import Round, ranking
from election.selections import Entries

Key = tuple[str, str]  # (contest_id, district_id)

_TOTALS = """
SELECT t.contest_id, t.district_id, t.ballots, t.overvotes, t.undervotes, t.updated_at,
       c.choice_id, c.votes
FROM contest_totals t
LEFT JOIN contest_choice_totals c ON c.contest_id = t.contest_id AND c.district_id = t.district_id
"""
_WANTED = " WHERE (t.contest_id, t.district_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
# PostgreSQL's estimate of the rows of contest_totals (-1: not estimated yet)
_ROWS = "SELECT reltuples FROM pg_class WHERE oid = 'contest_totals'::regclass"


def read_totals(
    conn: psycopg.Connection, keys: Iterable[Key] | None = None
) -> dict[Key, tuple[DistrictTotals, datetime]]:
    """(contest_id, district_id) -> its totals and when they last changed (all keys when None).

    The totals name only the choices that have votes.
    """
    wanted = None if keys is None else set(keys)
    if wanted is not None and not wanted:
        return {}
    if wanted is None or _most_rows(conn, len(wanted)):
        rows = conn.execute(_TOTALS + " ORDER BY 1, 2, 7")
    else:
        pairs = ([c for c, _ in wanted], [d for _, d in wanted])
        rows = conn.execute(_TOTALS + _WANTED + " ORDER BY 1, 2, 7", pairs)
    found: dict[Key, tuple[DistrictTotals, datetime]] = {}
    for contest_id, district_id, ballots, overvotes, undervotes, at, choice_id, votes in rows:
        key = (contest_id, district_id)
        if wanted is not None and key not in wanted:
            continue
        if key not in found:
            found[key] = (DistrictTotals(int(ballots), int(overvotes), int(undervotes)), at)
        if choice_id is not None:
            found[key][0].totals[choice_id] = int(votes)
    return found


def _most_rows(conn: psycopg.Connection, keys: int) -> bool:
    """More than half the rows wanted: reading every row then costs less than looking up each
    (14k keys of 14k rows: 150 ms against 300 ms, most of it in passing the keys)."""
    (rows,) = conn.execute(_ROWS).fetchone()
    return 0 < rows < 2 * keys


def ledger_patterns(conn: psycopg.Connection) -> list[JudgedPattern]:
    """The ballots ledger by pattern: (address_state, county_fips, outcomes, ballots)."""
    return conn.execute(
        "SELECT address_state, county_fips, outcomes::text, count(*) FROM ballots "
        "WHERE outcomes IS NOT NULL GROUP BY address_state, county_fips, outcomes"
    ).fetchall()


def read_rankings(
    conn: psycopg.Connection, contest_ids: Iterable[str] | None = None
) -> dict[str, dict[Entries, int]]:
    """Ranked contests' counted ballots per ranking pattern (rcv_rankings; all when None)."""
    sql = "SELECT contest_id, ranking, ballots FROM rcv_rankings"
    if contest_ids is None:
        rows = conn.execute(sql)
    else:
        rows = conn.execute(sql + " WHERE contest_id = ANY(%s)", (list(contest_ids),))
    found: dict[str, dict[Entries, int]] = {}
    for contest_id, text, ballots in rows:
        found.setdefault(contest_id, {})[ranking(json.loads(text))] = int(ballots)
    return found


def registered_homes(conn: psycopg.Connection) -> dict[Home, int]:
    """Registered voters at each home (state, county FIPS) of the roll
    (election.contest_totals.voters_by_district turns them into voters per district)."""
    rows = conn.execute("SELECT address_state, county_fips, count(*) FROM voters GROUP BY 1, 2")
    return {(state, county): int(n) for state, county, n in rows}


def with_every_choice(
    contests: Iterable[Contest], found: dict[Key, tuple[DistrictTotals, datetime]]
) -> dict[Key, tuple[DistrictTotals, datetime]]:
    """read_totals' rows with every choice of their contest named, zeros too (in place)."""
    choices = {c.contest_id: c.choices for c in contests}
    for (contest_id, _district_id), (row, _at) in found.items():
        votes = row.totals
        row.totals = {c.choice_id: votes.get(c.choice_id, 0) for c in choices.get(contest_id, ())}
        row.totals.update(votes)  # a choice the definition lost still shows its votes
    return found


def every_race(
    conn: psycopg.Connection, contests: Iterable[Contest], homes: Iterable[Home]
) -> dict[Key, DistrictTotals]:
    """The committed totals of every contest in every district of it that a voter at `homes`
    lives in, every choice named; zeros for a race no ballot has reached yet."""
    contests = tuple(contests)
    races = ContestTotals(contests, homes).results
    found = with_every_choice(contests, read_totals(conn))
    races.update((key, row) for key, (row, _at) in found.items())
    return races


def contest_results(
    contests: Iterable[Contest],
    found: dict[Key, tuple[DistrictTotals, datetime]],
    since: datetime | None = None,
) -> list[messages.Keyed]:
    """contest_results messages of read_totals' rows with every choice named (with_every_choice).

    since given: each contest's own district too, before any ballot (updated at `since`), so a
    reader of every key starts complete.
    """
    found = dict(found)
    if since is not None:
        for contest in contests:
            zeros = DistrictTotals(totals={c.choice_id: 0 for c in contest.choices})
            found.setdefault((contest.contest_id, contest.district_id), (zeros, since))
    out = []
    for (contest_id, district_id), (row, at) in sorted(found.items()):
        out.append(
            messages.contest_result(
                contest_id, district_id, row.ballots, row.overvotes, row.undervotes, row.totals, at
            )
        )
    return out


def rcv_rounds(
    contests: Iterable[Contest], rounds: dict[str, list[Round]], updated_at: datetime
) -> list[messages.Keyed]:
    """rcv_rounds messages of the ranked contests tabulated (election.rcv.ranked_rounds), each
    over its own district."""
    by_id = {c.contest_id: c for c in contests}
    return [
        messages.rcv_rounds(
            contest_id,
            by_id[contest_id].district_id,
            found,
            {"contest": by_id[contest_id].name},
            updated_at,
        )
        for contest_id, found in sorted(rounds.items())
    ]
