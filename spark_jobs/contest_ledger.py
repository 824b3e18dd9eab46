"""The live tally's totals per contest and district: what a batch adds, in the batch's transaction.

A batch's counted ballots are grouped in Arrow, and each group is added once by the domain
(election.contest_totals: a contest rolls up to every district inside its own, by ballot styles
kept from batch to batch): a ballot the JVM judged by its cells, one per contest, grouped by
(state, county, cell), far fewer than whole patterns; any other by its pattern (state, county,
outcomes). The deltas go in with one COPY and one upsert per table; a ranked contest's ballots
per ranking pattern go into rcv_rankings the same way, what its rounds are tabulated from after
the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from election.contest_totals import ContestTotals, DistrictTotals
from election.contests import Contest
from election.selections import Entries

PATTERN_COLUMNS = ("address_state", "county_fips", "outcomes")

STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staged_contest_totals (
    contest_id  text NOT NULL,
    district_id text NOT NULL,
    choice_id   text,          -- null: the row of ballots, overvotes and undervotes
    ballots     bigint NOT NULL,
    overvotes   bigint NOT NULL,
    undervotes  bigint NOT NULL,
    votes       bigint NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staged_rcv_rankings (
    contest_id text NOT NULL,
    ranking    text NOT NULL,
    ballots    bigint NOT NULL
) ON COMMIT DELETE ROWS;
"""
_STAGED_COLUMNS = "contest_id, district_id, choice_id, ballots, overvotes, undervotes, votes"

_ADD_TOTALS = """
INSERT INTO contest_totals AS t
    (contest_id, district_id, ballots, overvotes, undervotes, updated_at)
SELECT contest_id, district_id, ballots, overvotes, undervotes, now()
FROM staged_contest_totals WHERE choice_id IS NULL
ON CONFLICT (contest_id, district_id) DO UPDATE
SET ballots = t.ballots + excluded.ballots, overvotes = t.overvotes + excluded.overvotes,
    undervotes = t.undervotes + excluded.undervotes, updated_at = excluded.updated_at
RETURNING contest_id, district_id
"""
_ADD_CHOICES = """
INSERT INTO contest_choice_totals AS t (contest_id, district_id, choice_id, votes)
SELECT contest_id, district_id, choice_id, votes
FROM staged_contest_totals WHERE choice_id IS NOT NULL
ON CONFLICT (contest_id, district_id, choice_id) DO UPDATE SET votes = t.votes + excluded.votes
"""
_ADD_RANKINGS = """
INSERT INTO rcv_rankings AS t (contest_id, ranking, ballots)
SELECT contest_id, ranking, ballots FROM staged_rcv_rankings
ON CONFLICT (contest_id, ranking) DO UPDATE SET ballots = t.ballots + excluded.ballots
"""

Deltas = Mapping[tuple[str, str], DistrictTotals]  # (contest_id, district_id) -> what it gains
Rankings = Mapping[str, Mapping[Entries, int]]  # ranked contest -> ballots per ranking pattern


@dataclass(frozen=True)
class BatchDeltas:
    """What a batch adds: totals per contest and district, ranked contests' rankings."""

    totals: Deltas = field(default_factory=dict)
    rankings: Rankings = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.totals) or bool(self.rankings)


def ranking_text(pattern: Entries) -> str:
    """A ranking pattern as rcv_rankings keys it: compact JSON, ids as they are."""
    return json.dumps(pattern, ensure_ascii=False, separators=(",", ":"))


class BatchTotals:
    """What each batch adds per contest and district, for one election's contests."""

    def __init__(self, contests: tuple[Contest, ...]):
        self._totals = ContestTotals(contests, ())

    def of(self, counted: pa.Table) -> BatchDeltas:
        """What a batch's counted ballots (as staged: outcomes, and cells where the JVM judged)
        add, each group once; a ballot without outcomes (nothing judged its contests) adds to
        none."""
        by_cells = pc.is_valid(counted["cells"])
        by_pattern = pc.and_(pc.invert(by_cells), pc.is_valid(counted["outcomes"]))
        try:
            self._totals.add_patterns(_groups(_cells(counted.filter(by_cells))), whole=False)
            self._totals.add_patterns(_groups(counted.filter(by_pattern)))
        finally:  # a batch that fails leaves nothing behind for the next
            deltas = BatchDeltas(self._totals.take_counted(), self._totals.take_rankings())
        return deltas


def _cells(ballots: pa.Table) -> pa.Table:
    """One row per ballot and contest: (state, county, {cell}) in PATTERN_COLUMNS' names."""
    cells = ballots["cells"].combine_chunks()
    owner = pc.list_parent_indices(cells)
    wrapped = pc.binary_join_element_wise("{", pc.list_flatten(cells), "}", "")
    return pa.table(
        {
            "address_state": ballots["address_state"].take(owner),
            "county_fips": ballots["county_fips"].take(owner),
            "outcomes": wrapped,
        }
    )


def _groups(table: pa.Table) -> Iterator[tuple]:
    """(state, county, outcomes, ballots) of each distinct row."""
    if not table.num_rows:
        return iter(())
    grouped = table.select(list(PATTERN_COLUMNS)).group_by(list(PATTERN_COLUMNS))
    found = grouped.aggregate([([], "count_all")])
    return zip(*(found[name].to_pylist() for name in (*PATTERN_COLUMNS, "count_all")), strict=True)


def add_totals(conn: psycopg.Connection, deltas: BatchDeltas) -> tuple[tuple[str, str], ...]:
    """Add a batch's deltas inside the caller's transaction; the (contest, district) keys touched.

    A choice's row is staged only when it gained votes: the contest_choice_totals table holds
    no zeros (the publisher fills them in from the definition).
    """
    if deltas.rankings:
        with conn.cursor().copy("COPY staged_rcv_rankings FROM STDIN") as copy:
            for contest_id, found in deltas.rankings.items():
                for pattern, ballots in found.items():
                    copy.write_row((contest_id, ranking_text(pattern), ballots))
        conn.execute(_ADD_RANKINGS)
    if not deltas.totals:
        return ()
    with conn.cursor().copy(f"COPY staged_contest_totals ({_STAGED_COLUMNS}) FROM STDIN") as copy:
        for (contest_id, district_id), row in deltas.totals.items():
            copy.write_row(
                (contest_id, district_id, None, row.ballots, row.overvotes, row.undervotes, 0)
            )
            for choice_id, votes in row.totals.items():
                if votes:
                    copy.write_row((contest_id, district_id, choice_id, 0, 0, 0, votes))
    touched = conn.execute(_ADD_TOTALS).fetchall()
    conn.execute(_ADD_CHOICES)
    return tuple(sorted((c, d) for c, d in touched))
