"""What each batch adds per contest and district (spark_jobs.contest_ledger.BatchTotals), without
services: grouped by pattern in Arrow, it equals adding the batch's ballots one by one, and a
batch never carries an earlier one's ballots."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from election.contest_totals import ContestTotals
from election.contests import ballot_style
from spark_jobs.contest_ledger import BatchTotals
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
    return table, {key: row for key, row in one_by_one.results.items() if row.ballots}


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
        assert totals.of(table).totals == expected


def test_a_batch_whose_outcomes_do_not_fit_leaves_nothing_for_the_next():
    totals = BatchTotals(SELECTIONS_CONTESTS)
    good, expected = staged([("v1", {"national": ["c1"]}), ("v2", {"sen-TX": ["a"]})])
    outcomes = good["outcomes"].to_pylist()
    broken = good.set_column(
        2, "outcomes", pa.array([outcomes[0], '{"national": [["c1"], 0]}'], pa.string())
    )
    with pytest.raises(ValueError):
        totals.of(broken)
    assert totals.of(good).totals == expected
