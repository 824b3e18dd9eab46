"""Crashes and restarts of the live tally on a ballot log whose batches skip partitions.

Ballots trickle into some partitions of a four-partition votes_topic, so most micro-batches
leave partitions out; the tally is SIGKILLed at each fault point and restarted; every run ends
exactly equal to the oracle (a restart under a new query name: tests/spark_jobs/test_hostile_log.py).
"""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from election import counting
from election.partitioning import murmur2_partition
from election_io.producers import producer_config
from tests.spark_jobs import stack
from tests.spark_jobs.test_live_tally import assert_matches_the_truth, run_to_the_end

pytestmark = [pytest.mark.services, pytest.mark.spark, pytest.mark.slow]

ARGS = ("--max-offsets-per-trigger", "15")


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name, tmp_path):
    with stack.small_election(
        scratch_database, bootstrap_servers, unique_name, tmp_path, voters=300, partitions=4
    ) as made:
        yield made


def home(voter: str | None) -> int:
    """A voter's one partition (the contract: a voter's ballots share a partition)."""
    return murmur2_partition((voter or "").encode(), 4)


def into_partitions(election, messages, partitions) -> list[counting.Message]:
    """Produce the messages of voters at home in the given partitions; the rest stay empty."""
    producer = Producer(producer_config(election["bootstrap"]))
    placed, errors = [], []

    def delivered(err, msg):
        if err:
            errors.append(err)
            return
        received = datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC)  # LogAppendTime
        placed.append(
            counting.Message(msg.partition(), msg.offset(), msg.key(), msg.value(), received)
        )

    for key, value in messages:
        partition = home(key) if key is not None else partitions[0]
        if partition not in partitions:
            continue
        producer.produce(
            election["topic"],
            value,
            key.encode() if key else None,
            partition=partition,
            on_delivery=delivered,
        )
    producer.flush(30)
    assert not errors, errors
    return placed


def ballots(election, n: int, seed: int) -> list[tuple[str | None, bytes | None]]:
    """n first ballots of voters not used before, their repeats and the problem messages."""
    return stack.ballot_set(election["roll"], n, seed=seed)


def tally(election, *extra, fault=""):
    where = (election["url"], election["topic"], election["prefix"], election["checkpoint"])
    return stack.start_tally(*where, *ARGS, *extra, fault=fault)


def killed_at(election, fault: str, *extra) -> None:
    process = tally(election, *extra, fault=fault)
    code = process.wait(240)
    assert code == -signal.SIGKILL, stack.tally_log(election["checkpoint"])[-4000:]


def test_a_tally_killed_at_each_fault_point_on_sparse_partitions_ends_exact(election):
    # trickling into partition 2 only: batch 1 is pending on one partition of four
    placed = into_partitions(election, ballots(election, 240, seed=31), [2])
    killed_at(election, "before_commit:1")
    pending_batch = json.loads((election["checkpoint"] / "tally_pending" / "1").read_text())
    assert list(pending_batch["ranges"]) == ["2"]  # the batch skipped partitions 0, 1 and 3

    placed += into_partitions(election, ballots(election, 200, seed=32), [0, 2])
    killed_at(election, "after_commit:4")  # the restart recovers batch 1, then dies after 4

    process = tally(election)
    placed += into_partitions(election, ballots(election, 120, seed=33), [3])
    time.sleep(5)
    stack.close_polls(election["url"])
    run_to_the_end(election, process)
    progress = stack.progress_lines(election["checkpoint"])
    assert [e["batch_id"] for e in progress if e["recovered"] and not e["replayed"]] == [1]
    assert 4 in [e["batch_id"] for e in progress if e["replayed"]]
    assert_matches_the_truth(election, placed)
