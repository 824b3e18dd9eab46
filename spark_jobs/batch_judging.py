"""One micro-batch of the live tally judged and collected: in the JVM first, in Python if need be.

The generator's messages are plain forms, and a plain ballot is judged wholly in the JVM
(jvm_judging); only the rest need the domain's Python (parse_ballot, the pattern judge).
Even given nothing to do, a Python UDF costs every row its trip through Arrow to a worker and
back: a third of the judging. So a batch is judged by the JVM alone first, and the messages it
is unsure of (`unjudged`) are judged again with Python: taken back by their places on the
topic, or, when there are many, the whole batch with Python. The verdict is the same either
way: the rules are one chain (judging.classify), run with or without its Python verdicts, and
the JVM's are used only where the chain would use them. Then the duplicates within the batch
are marked on the collected table (batch_outcome.first_ballot_per_voter).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from election.contests import Contest
from election_io.elections import ElectionNow
from spark_jobs import contest_ledger, drain, judging, jvm_judging, ledger, sources
from spark_jobs.batch_outcome import (
    PLACE_BITS,
    first_ballot_per_voter,
    outcome_columns,
    places,
    split,
)
from spark_jobs.ledger_writer import JudgedBatch

# Unsure messages taken back by place; past this many, the whole batch is judged with Python.
PLACES_LIMIT = 20_000
STAGES_KEPT = 8  # sets of judging columns kept, each for one setting of the polls' times


@dataclass(frozen=True)
class BatchJudging:
    """What judging a micro-batch needs beside its messages, read once with the roll."""

    roll: jvm_judging.RollLookup  # broadcast once: a micro-batch looks up its own voters
    contests: tuple[Contest, ...]  # the election's (sources.read_contests)
    plain: Callable  # the JVM's verdict for the roll's homes (jvm_judging.plain_verdict)
    partitions: int  # votes_topic's partition count, which places every ballot
    totals: contest_ledger.BatchTotals  # what a batch adds per contest, on the judging thread
    # the judging's columns by (polls opened, polls closed, python), built once: a copy made
    # with dataclasses.replace (another roll) starts its own
    _stages: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def read(cls, spark, database_url: str, partitions: int) -> tuple[BatchJudging, dict]:
        """The roll, contests and verdict of a database, and its candidates by id."""
        roll = jvm_judging.roll_lookup(spark, sources.read_roll(spark, database_url, partitions=2))
        rows = sources.read_candidates(spark, database_url).collect()
        candidates = {r.candidate_id: r.asDict() for r in rows}
        contests = sources.read_contests(database_url, candidates)
        plain = jvm_judging.plain_verdict(spark, contests, roll.homes)
        totals = contest_ledger.BatchTotals(contests)
        return cls(roll, contests, plain, partitions, totals), candidates

    def stages(self, spark, window: ElectionNow, python: bool) -> judging.Stages:
        """The shared rules (judging.parse_stages, judging.classify_stages) and what is
        collected of each message (outcome_columns), the duplicate check to come; built once
        for the polls' times (receipt times need no "now": the recount's bound)."""
        key = (window.polls_opened_at, window.polls_closed_at, python)
        found = self._stages.get(key)
        if found is None:
            if len(self._stages) >= STAGES_KEPT:
                self._stages.clear()
            found = self._stages[key] = (
                *judging.parse_stages(spark, self.partitions, python),
                *judging.classify_stages(
                    spark,
                    self.roll,
                    self.contests,
                    window.polls_opened_at,
                    window.polls_closed_at,
                    plain=self.plain,
                    python=python,
                ),
                outcome_columns(unjudged=not python),
            )
        return found

    def collected(self, batch_df: DataFrame, window: ElectionNow, python: bool) -> pa.Table:
        """The batch judged by the shared rules and collected (collect_outcome's columns)."""
        stages = self.stages(batch_df.sparkSession, window, python)
        return judging.applied(batch_df, stages).toArrow()


def judge(
    batch_df, batch_id: int, window: ElectionNow, started: float, by: BatchJudging
) -> JudgedBatch:
    """Judge a batch in Spark by the shared rules and collect every message with Arrow, then
    mark the duplicates within it there (no shuffle: a batch is small, the recount's log is not),
    split it as the ledger stages it, and add up what its first ballots give each contest
    (contest_ledger.BatchTotals): the writer's thread only commits, while this one goes on."""
    outcome = first_ballot_per_voter(judged_outcome(batch_df, window, by))
    phases = {"judge_ms": drain.ms_since(started)}
    totalling = time.monotonic()
    first_ballots, rejected = split(outcome)
    deltas = by.totals.of(first_ballots)
    phases["totals_ms"] = drain.ms_since(totalling)
    return JudgedBatch(
        batch_id,
        window,
        outcome,
        ledger.offset_ranges(outcome),
        started,
        phases,
        first_ballots=first_ballots,
        rejected=rejected,
        deltas=deltas,
    )


def judged_outcome(batch_df: DataFrame, window: ElectionNow, by: BatchJudging) -> pa.Table:
    """Every message's verdict, collected (collect_outcome): the JVM's, the domain's where the
    JVM is unsure. Rows come in (partition, offset) order when some were judged again."""
    fast = by.collected(batch_df, window, python=False)
    unsure = fast["unjudged"]
    fast = fast.drop_columns(["unjudged"])
    count = pc.sum(unsure).as_py() or 0
    if count == 0:
        return fast
    if count > PLACES_LIMIT:
        return by.collected(batch_df, window, python=True)
    place = F.shiftleft(F.col("partition").cast("long"), PLACE_BITS) + F.col("offset")
    again = batch_df.where(place.isin(pc.filter(places(fast), unsure).to_pylist()))
    judged_again = by.collected(again, window, python=True)
    table = pa.concat_tables([fast.filter(pc.invert(unsure)), judged_again])
    return table.sort_by([("partition", "ascending"), ("offset", "ascending")])
