"""What each batch adds per contest and district (spark_jobs.contest_ledger.BatchTotals), without
services: grouped by pattern in Arrow, it equals adding the batch's ballots one by one, and a
batch never carries an earlier one's ballots."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from election.contest_totals import ContestTotals, DistrictTotals
from election.contests import RANKED, Choice, Contest, ballot_style
from spark_jobs.cell_totals import COLUMNS
from spark_jobs.contest_ledger import BatchDeltas, BatchTotals
from spark_jobs.selections_judging import PatternJudge, selections_text
from tests.spark_jobs.helpers import SELECTIONS_CONTESTS, SELECTIONS_ROLL

JUDGE = PatternJudge(SELECTIONS_CONTESTS)


@st.composite
def counted_ballots(draw) -> tuple[str, dict]:
    """A registered voter and selections valid on their style: votes, over- and undervotes,
    contests left out."""
    voter = draw(st.sampled_from(sorted(SELECTIONS_ROLL)))
    selections = {}
    for contest in ballot_style(SELECTIONS_CONTESTS, *SELECTIONS_ROLL[voter]):
        if draw(st.booleans()):
            ids = sorted(contest.choice_ids)
            chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(ids)))
            selections[contest.contest_id] = chosen
    return voter, selections


def staged(ballots, unjudged: int = 0, by_cells: bool = False) -> tuple[pa.Table, dict]:
    """The batch as staged (the pattern's columns, and cells) and the totals of adding it ballot
    by ballot; by_cells: every other ballot comes as the JVM gives it, as cells only."""
    one_by_one = ContestTotals(SELECTIONS_CONTESTS, ())
    rows = []
    for i, (voter, selections) in enumerate(ballots):
        state, county = SELECTIONS_ROLL[voter]
        reason, _detail, outcomes, _national = JUDGE.verdict(
            state, county, selections_text(selections)
        )
        assert reason is None
        one_by_one.add((state, county), selections)
        cells = None
        if by_cells and i % 2 == 0:
            members = json.loads(outcomes).items()
            outcomes, cells = None, [selections_text({c: o})[1:-1] for c, o in members]
        rows.append((state, county, outcomes, cells))
    rows += [("Ohio", "39049", None, None)] * unjudged  # judged without contests: adds to none
    table = pa.table(
        {
            **{
                name: pa.array([row[i] for row in rows], pa.string())
                for i, name in enumerate(("address_state", "county_fips", "outcomes"))
            },
            "cells": pa.array([row[3] for row in rows], pa.list_(pa.string())),
        }
    )
    return table, {
        key: without_zeros(row) for key, row in one_by_one.results.items() if row.ballots
    }


def rows_of(deltas: BatchDeltas) -> dict[tuple[str, str], DistrictTotals]:
    """A batch's deltas as the domain's rows (choices with votes only)."""
    found: dict[tuple[str, str], DistrictTotals] = {}
    for c, d, choice, ballots, over, under, votes in zip(
        *(deltas.table[name].to_pylist() for name in COLUMNS), strict=True
    ):
        row = found.setdefault((c, d), DistrictTotals())
        if choice is None:
            row.ballots, row.overvotes, row.undervotes = ballots, over, under
        else:
            row.totals[choice] = votes
    return found


def without_zeros(row: DistrictTotals) -> DistrictTotals:
    """A row as the ledger stages it: the choices that gained votes (the table holds no zeros)."""
    votes = {choice: n for choice, n in row.totals.items() if n}
    return DistrictTotals(row.ballots, row.overvotes, row.undervotes, votes)


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(st.lists(counted_ballots(), max_size=20), min_size=1, max_size=3),
    unjudged=st.integers(0, 3),
    by_cells=st.booleans(),
)
def test_each_batchs_patterns_add_up_to_its_own_ballots(batches, unjudged, by_cells):
    totals = BatchTotals(SELECTIONS_CONTESTS)
    for ballots in batches:
        table, expected = staged(ballots, unjudged, by_cells)
        assert rows_of(totals.of(table)) == expected


def test_a_batch_whose_outcomes_do_not_fit_leaves_nothing_for_the_next():
    totals = BatchTotals(SELECTIONS_CONTESTS)
    good, expected = staged([("v1", {"national": ["c1"]}), ("v2", {"sen-TX": ["a"]})])
    outcomes = good["outcomes"].to_pylist()
    broken = good.set_column(
        2, "outcomes", pa.array([outcomes[0], '{"national": [["c1"], 0]}'], pa.string())
    )
    with pytest.raises(ValueError):
        totals.of(broken)
    assert rows_of(totals.of(good)) == expected


RANKED_CONTESTS = (
    *SELECTIONS_CONTESTS,
    Contest("rcv-us", "Ranked", "nation", RANKED, (Choice("x", "X"), Choice("y", "Y")), position=9),
)


def test_a_ranked_contests_cells_are_added_by_the_domain_with_their_rankings():
    judge = PatternJudge(RANKED_CONTESTS)
    one_by_one = ContestTotals(RANKED_CONTESTS, ())
    rows = []
    for voter, ranks in (("v1", ["x", "y"]), ("v2", ["y"]), ("v3", ["x", "y"]), ("v4", [])):
        home = SELECTIONS_ROLL[voter]
        selections = {"national": ["c1"], "rcv-us": ranks}
        _reason, _detail, outcomes, _national = judge.verdict(*home, selections_text(selections))
        one_by_one.add(home, selections)
        cells = [selections_text({c: o})[1:-1] for c, o in json.loads(outcomes).items()]
        rows.append((*home, cells))
    table = pa.table(
        {
            "address_state": pa.array([r[0] for r in rows], pa.string()),
            "county_fips": pa.array([r[1] for r in rows], pa.string()),
            "outcomes": pa.array([None] * len(rows), pa.string()),
            "cells": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        }
    )
    deltas = BatchTotals(RANKED_CONTESTS).of(table)
    expected = {k: without_zeros(row) for k, row in one_by_one.results.items() if row.ballots}
    assert rows_of(deltas) == expected
    assert deltas.rankings == one_by_one.take_rankings()


@pytest.mark.parametrize(
    "cell, error",
    [
        ('"national":[["nobody"],0,0]', KeyError),  # a choice not in the contest
        ('"sen-TX":[["a"],0,0]', KeyError),  # a contest off an Ohio voter's style
        ('"national":[["c1"],0]', ValueError),  # not [votes, overvotes, undervotes]
        ('"national":[["c1"],0,0', ValueError),  # not JSON
    ],
)
def test_a_cell_the_domain_would_refuse_is_refused_and_leaves_nothing_for_the_next(cell, error):
    totals = BatchTotals(SELECTIONS_CONTESTS)
    good, expected = staged(
        [("v1", {"national": ["c1"]}), ("v2", {"sen-TX": ["a"]})], by_cells=True
    )
    cells = good["cells"].to_pylist()
    broken = good.set_column(3, "cells", pa.array([[cell], cells[1]], pa.list_(pa.string())))
    with pytest.raises(error):
        totals.of(broken)
    assert rows_of(totals.of(good)) == expected
