"""The live tally's totals per contest and district: what a batch adds, in the batch's transaction.

A batch's counted ballots are grouped in Arrow: a ballot the JVM judged by its cells, one per
contest, grouped by (state, county, cell), and added up with index arrays (cell_totals), each
cell read once by the domain's rule; any other ballot, and a ranked contest's cells, by its
pattern, each group added once by the domain (election.contest_totals: a contest rolls up to
every district inside its own, by ballot styles kept from batch to batch). The deltas go in with
one COPY and one upsert per table; a ranked contest's ballots per ranking pattern go into
rcv_rankings the same way, what its rounds are tabulated from after the commit."""

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
from election_io.tables import copy_arrow
from spark_jobs import cell_totals

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
    """What a batch adds: totals per contest and district as staged_contest_totals' rows
    (cell_totals.COLUMNS, one per key: no choice without votes), ranked contests' rankings."""

    table: pa.Table = field(default_factory=cell_totals.empty)
    rankings: Rankings = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.table.num_rows) or bool(self.rankings)

    @classmethod
    def of_rows(cls, totals: Deltas, rankings: Rankings | None = None) -> BatchDeltas:
        """Deltas given as the domain's rows (ContestTotals.take_counted)."""
        return cls(_rows_table(totals), rankings or {})


def _rows_table(totals: Deltas) -> pa.Table:
    """The domain's rows as staged_contest_totals' rows (choices with votes only)."""
    rows = []
    for (contest_id, district_id), row in totals.items():
        rows.append((contest_id, district_id, None, row.ballots, row.overvotes, row.undervotes, 0))
        rows += [(contest_id, district_id, c, 0, 0, 0, n) for c, n in row.totals.items() if n]
    return pa.Table.from_pylist(
        [dict(zip(cell_totals.COLUMNS, row, strict=True)) for row in rows],
        schema=cell_totals.SCHEMA,
    )


def ranking_text(pattern: Entries) -> str:
    """A ranking pattern as rcv_rankings keys it: compact JSON, ids as they are."""
    return json.dumps(pattern, ensure_ascii=False, separators=(",", ":"))


class BatchTotals:
    """What each batch adds per contest and district, for one election's contests."""

    def __init__(self, contests: tuple[Contest, ...]):
        self._totals = ContestTotals(contests, ())
        self._cells = cell_totals.CellTotals(self._totals)

    def of(self, counted: pa.Table) -> BatchDeltas:
        """What a batch's counted ballots (as staged: outcomes, and cells where the JVM judged)
        add, each group once; a ballot without outcomes (nothing judged its contests) adds to
        none. Cells are added up by cell_totals; the rest (a ranked contest's cells, whole
        patterns) by the domain."""
        by_cells = pc.is_valid(counted["cells"])
        by_pattern = pc.and_(pc.invert(by_cells), pc.is_valid(counted["outcomes"]))
        try:
            groups = _grouped(_cells(counted.filter(by_cells)))
            added, left = self._cells.add(groups)
            self._totals.add_patterns(_rows(_wrapped(groups.filter(pa.array(left)))), whole=False)
            self._totals.add_patterns(_rows(_grouped(counted.filter(by_pattern))))
        finally:  # a batch that fails leaves nothing behind for the next
            counted_rows = self._totals.take_counted()
            rankings = self._totals.take_rankings()
        if counted_rows:
            both = pa.concat_tables([added, _rows_table(counted_rows)])
            added = _summed(both)
        return BatchDeltas(added, rankings)


def _summed(table: pa.Table) -> pa.Table:
    """One row per key: the same contest, district and choice added up."""
    keys = ["contest_id", "district_id", "choice_id"]
    counts = [name for name in cell_totals.COLUMNS if name not in keys]
    summed = table.group_by(keys, use_threads=False).aggregate([(c, "sum") for c in counts])
    return summed.rename_columns([*keys, *counts]).select(list(cell_totals.COLUMNS))


def _cells(ballots: pa.Table) -> pa.Table:
    """One row per ballot and contest: (state, county, cell) in PATTERN_COLUMNS' names."""
    cells = ballots["cells"].combine_chunks()
    owner = pc.list_parent_indices(cells)
    return pa.table(
        {
            "address_state": ballots["address_state"].take(owner),
            "county_fips": ballots["county_fips"].take(owner),
            "outcomes": pc.list_flatten(cells),
        }
    )


def _grouped(table: pa.Table) -> pa.Table:
    """(state, county, outcomes, count_all) of each distinct row."""
    grouped = table.select(list(PATTERN_COLUMNS)).group_by(list(PATTERN_COLUMNS))
    return grouped.aggregate([([], "count_all")])


def _wrapped(groups: pa.Table) -> pa.Table:
    """Groups of cells as groups of patterns: each cell is a JSON object's member."""
    cells = groups["outcomes"]
    wrapped = pc.binary_join_element_wise("{", cells, "}", "")
    return groups.set_column(groups.column_names.index("outcomes"), "outcomes", wrapped)


def _rows(groups: pa.Table) -> Iterator[tuple]:
    """Each group as the domain adds it: (state, county, outcomes, ballots)."""
    return zip(*(groups[name].to_pylist() for name in (*PATTERN_COLUMNS, "count_all")), strict=True)


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
    if not deltas.table.num_rows:
        return ()
    copy_arrow(conn, "staged_contest_totals", cell_totals.COLUMNS, deltas.table)
    touched = conn.execute(_ADD_TOTALS).fetchall()
    conn.execute(_ADD_CHOICES)
    return tuple(sorted((c, d) for c, d in touched))
