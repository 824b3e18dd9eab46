"""The live tally's two passes (the JVM alone, then Python for what it is unsure of) judge a
batch exactly as one pass with Python does, whatever the batch holds.

Batches come from test_judging_agrees' hostile messages (both shapes), placed mostly where
murmur2 puts their keys, with voters who vote twice; each is judged both ways, and taken back
by place or judged whole again (a limit of 0 sends every unsure batch whole).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from election import contract, counting
from election.contests import national_contest
from election.partitioning import murmur2_partition
from election_io.elections import ElectionNow
from spark_jobs import batch_judging, contest_ledger, jvm_judging, warm_up
from tests.spark_jobs import helpers
from tests.spark_jobs.helpers import CANDIDATES, CLOSED, OPENED
from tests.spark_jobs.test_judging_agrees import Shape, messages

pytestmark = pytest.mark.spark

ORDER = [("partition", "ascending"), ("offset", "ascending")]


def judging_of(spark, shape: Shape, partitions: int) -> batch_judging.BatchJudging:
    contests = shape.contests or (national_contest(CANDIDATES),)
    roll = jvm_judging.roll_lookup(spark, helpers.roll_df(spark, shape.roll))
    plain = jvm_judging.plain_verdict(spark, contests, roll.homes)
    totals = contest_ledger.BatchTotals(contests)
    return batch_judging.BatchJudging(roll, contests, plain, partitions, totals)


def window(closed) -> ElectionNow:
    election = contract.Election(1, "e", contract.OPEN, OPENED, closed, None)
    return ElectionNow(election, datetime.now(UTC))


@pytest.mark.parametrize("shape", [Shape(False), Shape(True)], ids=["seed", "selections"])
def test_two_passes_judge_a_batch_as_one_pass_with_python_does(spark, shape, monkeypatch):
    @settings(
        max_examples=3,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        sent=st.lists(messages(selections=shape.selections), min_size=20, max_size=80),
        again=st.lists(st.integers(0, 79), max_size=10),
        partitions=st.integers(1, 3),
        closed=st.sampled_from([CLOSED, None]),
        limit=st.sampled_from([0, 3, batch_judging.PLACES_LIMIT]),
    )
    def agree(sent, again, partitions, closed, limit):
        offsets = [0] * partitions
        log = []
        for key, value, received_at in [*sent, *(sent[i] for i in again if i < len(sent))]:
            partition = murmur2_partition(key, partitions) if key is not None else 0
            log.append(counting.Message(partition, offsets[partition], key, value, received_at))
            offsets[partition] += 1
        by = judging_of(spark, shape, partitions)
        try:
            batch = helpers.kafka_rows(spark, log).cache()
            now = window(closed)
            one = by.collected(batch, now, python=True)
            monkeypatch.setattr(batch_judging, "PLACES_LIMIT", limit)
            two = batch_judging.judged_outcome(batch, now, by)
            assert two.schema == one.schema
            assert two.sort_by(ORDER).to_pylist() == one.sort_by(ORDER).to_pylist()
            judged_by_jvm = by.collected(batch, now, python=False)
            unsure.append(pc.sum(judged_by_jvm["unjudged"]).as_py() or 0)
            batch.unpersist()
        finally:
            by.roll.release()

    unsure: list[int] = []
    agree()
    assert any(unsure), "no batch had a message the JVM was unsure of: the second pass never ran"


def test_the_warm_up_runs_both_passes_on_ballots_that_count_in_its_own_index_only(spark):
    """The warm-up's made-up voters live at the roll's homes and mark every contest of their
    style: in their own index each ballot counts (the JVM's whole verdict runs, and Python
    reads one in SPACED); the roll does not know them."""
    by = judging_of(spark, Shape(True), 3)
    voters = warm_up.made_up_voters(by, 40)
    assert {home for _voter, home, _marks in voters} == set(by.roll.homes)
    own = warm_up.made_up_roll(spark, voters)
    try:
        batch = warm_up.made_up_batch(spark, voters, "votes", 3)
        now = window(None)
        warm = dataclasses.replace(by, roll=own)
        by_jvm = warm.collected(batch, now, python=False)
        assert pc.sum(by_jvm["unjudged"]).as_py() == 40 // warm_up.SPACED
        judged = batch_judging.judged_outcome(batch, now, warm)
        assert judged["reason"].to_pylist() == [None] * 40
        on_the_roll = batch_judging.judged_outcome(batch, now, by)
        assert on_the_roll["reason"].to_pylist() == [contract.UNKNOWN_VOTER] * 40
    finally:
        own.release()
        by.roll.release()


def test_a_batch_is_judged_by_columns_built_once_for_the_polls_times(spark):
    """Every micro-batch reuses the judging's columns (rebuilding them through py4j cost each
    batch up to a second); polls that open or close anew, or another roll, get their own, and a
    second batch through the kept columns is judged as by columns built afresh."""
    by = judging_of(spark, Shape(True), 3)
    voters = warm_up.made_up_voters(by, 30)
    own = warm_up.made_up_roll(spark, voters)
    try:
        batch = warm_up.made_up_batch(spark, voters, "votes", 3)
        now, closing = window(None), window(CLOSED)
        kept = by.stages(spark, now, python=False)
        assert by.stages(spark, now, python=False) is kept
        assert by.stages(spark, closing, python=False) is not kept
        assert by.stages(spark, now, python=True) is not kept
        first = batch_judging.judged_outcome(batch, now, by)
        again = batch_judging.judged_outcome(batch.where("offset < 20"), now, by)
        assert again == first.filter(pc.less(first["offset"], 20))
        warm = dataclasses.replace(by, roll=own)
        assert warm.stages(spark, now, python=False) is not kept
        counted = batch_judging.judged_outcome(batch, now, warm)
        assert counted["reason"].to_pylist() == [None] * 30  # the made-up roll knows them
        afresh = dataclasses.replace(by)
        assert batch_judging.judged_outcome(batch, now, afresh) == first  # all unknown voters
        assert first["reason"].to_pylist() == [contract.UNKNOWN_VOTER] * 30
    finally:
        own.release()
        by.roll.release()
