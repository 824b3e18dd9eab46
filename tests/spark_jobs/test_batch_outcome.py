"""A judged batch collected to the driver, and the shapes the ledger stages it in."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import contract
from spark_jobs import batch_outcome, judging, ledger
from tests.spark_jobs import helpers
from tests.spark_jobs.helpers import (
    RECEIVED,
    ballot,
)

pytestmark = [pytest.mark.spark]


@pytest.fixture
def outcome(spark) -> pa.Table:
    messages = [
        (0, 0, ballot("b1", "v1", "c1", "2024-11-05T12:00:00.123456Z")),
        (0, 1, ballot("b2", "v2", "c2")),
        (1, 0, ballot("b3", "v1", "c3")),  # v1 again: a duplicate within the batch
        (1, 1, ballot("b4", "nobody", "c1")),
    ]
    judged = helpers.judge_batch(spark, messages)
    return batch_outcome.collect_outcome(judged)


def test_every_message_comes_back_and_only_valid_ones_keep_their_ballot(outcome):
    assert outcome.column_names == list(batch_outcome.OUTCOME_COLUMNS)
    rows = {(r["partition"], r["offset"]): r for r in outcome.to_pylist()}
    assert set(rows) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert rows[(0, 0)]["reason"] is None and rows[(0, 0)]["candidate_id"] == "c1"
    for place in ((1, 0), (1, 1)):
        assert rows[place]["reason"] is not None
        assert rows[place]["voter_id"] is None and rows[place]["candidate_id"] is None
    assert rows[(1, 0)]["reason"] == contract.DUPLICATE
    assert "c3" not in rows[(1, 0)]["raw"]  # a rejected ballot's choice stays secret


@st.composite
def batches(draw):
    """Messages at distinct places, their voters few (many vote twice), some not on the roll,
    some malformed, some seed ballots and some with selections."""
    places = draw(
        st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 2**40 - 1)),
            unique=True,
            max_size=25,
        )
    )
    voters = st.sampled_from([*sorted(helpers.ROLL), "nobody"])
    messages = []
    for n, (partition, offset) in enumerate(places):
        voter = draw(voters)
        value = draw(
            st.sampled_from(
                [
                    ballot(f"b{n}", voter, draw(st.sampled_from(helpers.CANDIDATES))),
                    ballot(f"b{n}", voter, "c-unknown"),
                    b"{not json",
                ]
            )
        )
        messages.append((partition, offset, value))
    return messages


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=batches())
def test_the_live_duplicate_check_marks_what_the_recounts_window_marks(spark, messages):
    """The live tally marks duplicates on the collected batch; the recount in Spark: the same
    messages come back the same, whatever the places, voters and verdicts."""
    classified = helpers.classify_batch(spark, messages).cache()
    by_window = batch_outcome.collect_outcome(judging.first_ballot_per_voter(classified))
    live = batch_outcome.first_ballot_per_voter(batch_outcome.collect_outcome(classified))
    order = [("partition", "ascending"), ("offset", "ascending")]
    assert live.sort_by(order).to_pylist() == by_window.sort_by(order).to_pylist()
    assert live.schema == by_window.schema
    classified.unpersist()


def test_staged_ballots_carry_exact_microseconds_and_the_stagings_columns(outcome):
    valid = outcome.filter(pc.is_null(outcome["reason"]))
    staged = batch_outcome.staged_ballots(valid)
    # the staging table's columns, and the cells the totals read (contest_ledger), not staged
    assert tuple(staged.column_names) == (*ledger.STAGED_BALLOT_COLUMNS, "cells")
    by_voter = dict(
        zip(staged["voter_id"].to_pylist(), staged["voting_us"].to_pylist(), strict=True)
    )
    # the ledger keeps the broker's receipt, to the microsecond, not the voter's claim
    assert by_voter["v1"] == round(RECEIVED.timestamp() * 1_000_000)
    renamed = batch_outcome.as_staged(outcome.filter(pc.is_valid(outcome["reason"])))
    assert set(ledger.STAGED_REJECTION_COLUMNS) <= set(renamed.column_names)


def test_duplicates_found_in_the_poll_book_become_masked_rejections(outcome):
    found = batch_outcome.duplicate_rejections(outcome, [(0, 1)])
    assert tuple(found.column_names) == ledger.STAGED_REJECTION_COLUMNS
    (row,) = found.to_pylist()
    assert (row["topic_partition"], row["topic_offset"], row["vote_id"]) == (0, 1, "b2")
    assert row["reason"] == contract.DUPLICATE
    assert "c2" not in row["raw"] and judging.SECRET in row["raw"]
    assert batch_outcome.duplicate_rejections(outcome, []).num_rows == 0


@pytest.mark.parametrize(
    "key",
    [
        rb'"candidate\u005fid"',  # the same key to a JSON parser, not to a plain pattern
        rb'"c\u0061ndidate_id"',
        rb'"\u0063\u0061\u006e\u0064\u0069\u0064\u0061\u0074\u0065\u005f\u0069\u0064"',
    ],
)
def test_a_choice_under_an_escaped_key_stays_secret(spark, key):
    second = (
        b'{"vote_id":"b9","voter_id":"v2",' + key + b':"c3","voting_time":"2024-11-05T12:00:00Z"}'
    )
    messages = [(0, 0, ballot("b1", "v2", "c1")), (0, 1, second)]
    judged = helpers.judge_batch(spark, messages)
    rows = {r["offset"]: r for r in batch_outcome.collect_outcome(judged).to_pylist()}
    assert rows[1]["reason"] == contract.DUPLICATE  # a well-formed ballot: v2's second
    assert "c3" not in rows[1]["raw"] and judging.SECRET in rows[1]["raw"], rows[1]["raw"]
