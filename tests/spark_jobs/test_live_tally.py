"""The live tally end to end on the real Kafka and PostgreSQL.

A tally killed mid-stream is test_crash_recovery's (at each fault point, then resumed) and the
election scenario's (tests/benchmarks/test_election_scenario.py: killed twice, anywhere, through
Dagster, and certified identical).

Each test has its own database, ballot topic, result topics and checkpoint; live_tally runs
as a subprocess exactly as the Dagster job runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from election import contract
from spark_jobs import recount, sources
from tests.spark_jobs import stack

pytestmark = [pytest.mark.services, pytest.mark.spark, pytest.mark.slow]

RESULT_TOPICS = stack.RESULT_TOPICS


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name, tmp_path):
    """A registered roll with the polls open, an empty ballot topic, a checkpoint folder."""
    with stack.small_election(
        scratch_database, bootstrap_servers, unique_name, tmp_path, voters=400, partitions=3
    ) as made:
        yield made


def run_to_the_end(election, process, timeout=300) -> None:
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        stack.kill_hard(process)
        pytest.fail(
            "live_tally did not drain in time:\n" + stack.tally_log(election["checkpoint"])[-4000:]
        )
    assert code == 0, stack.tally_log(election["checkpoint"])[-4000:]


def assert_matches_the_truth(election, placed) -> None:
    """Ledger, poll book, rejections, running totals and the result topics equal the oracle."""
    truth = stack.truth(placed, election["roll"], election["url"], election["partitions"])
    state = stack.ledger_state(election["url"])
    assert state["per_candidate"] == {c: n for c, n in truth.per_candidate.items() if n}
    assert state["per_state"] == truth.per_state
    assert state["ledger"] == truth.per_state
    assert state["ledger_minutes_only"] is True
    assert state["poll_book"] == stack.first_ballots(placed, truth)
    assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
    batches, messages, counted, rejected = state["batches"]
    assert (messages, counted, rejected) == (len(placed), truth.counted, len(truth.rejections))

    latest = {
        t: stack.latest_values(election["bootstrap"], election["prefix"] + t)
        for t in RESULT_TOPICS[:4]
    }
    per_candidate = latest[contract.VOTES_PER_CANDIDATE_TOPIC]
    assert {c: v["total_votes"] for c, v in per_candidate.items()} == truth.per_candidate
    assert set(per_candidate["cand-a"]) == set(contract.CANDIDATE_RESULT_FIELDS)
    per_state = latest[contract.VOTES_PER_STATE_TOPIC]
    assert {k: v["total_votes"] for k, v in per_state.items()} == {
        contract.state_result_key(s, c): n for (s, c), n in truth.per_state.items()
    }
    turnout = latest[contract.TURNOUT_BY_LOCATION_TOPIC]
    registered = {}
    for state_name in election["roll"].voters.values():
        registered[state_name] = registered.get(state_name, 0) + 1
    assert {
        s: v["total_votes"] for s, v in turnout.items() if v["total_votes"]
    } == truth.turnout_by_state
    assert {s: v["registered_voters"] for s, v in turnout.items()} == registered
    # one message per rejection, keyed by its place: none collapses, even with a shared vote_id
    rejected = latest[contract.REJECTED_VOTES_TOPIC]
    reasons = {contract.rejection_key(r.partition, r.offset): r.reason for r in truth.rejections}
    assert {k: v["reason"] for k, v in rejected.items()} == reasons
    assert all(set(v) == set(contract.REJECTION_FIELDS) for v in rejected.values())
    assert all(k == f"{v['partition']}:{v['offset']}" for k, v in rejected.items())
    assert all("\\u0000" not in json.dumps(v) for v in rejected.values())  # storable


def test_the_live_tally_counts_a_known_ballot_set_exactly(election, spark):
    # over votes_topic's door: the broker refuses it, so it never reaches the count
    oversize = (
        stack.near_limit("huge", "voter-00001", "cand-a", "2024-11-05T12:00:00Z") + b" " * 500
    )
    refused = stack.refused(election["bootstrap"], election["topic"], b"voter-00001", oversize)
    assert "MSG_SIZE_TOO_LARGE" in refused
    placed = stack.produce(
        election["bootstrap"], election["topic"], stack.ballot_set(election["roll"], 300)
    )
    assert max(len(m.value or b"") for m in placed) > contract.MAX_BALLOT_BYTES - 1_000
    where = (election["url"], election["topic"], election["prefix"], election["checkpoint"])
    args = ("--max-offsets-per-trigger", "90", "--warm-up-ballots", "300")
    # first under spark-submit, as on a cluster (SPARK_SUBMIT=1): the launcher ships the code
    # as --py-files and hands a terminated Dagster run's SIGINT to the tally, not the JVM
    process = stack.start_tally(*where, *args, submit=True)
    deadline = time.monotonic() + 180
    while stack.committed_batches(election["url"]) < 1:
        assert time.monotonic() < deadline, stack.tally_log(election["checkpoint"])[-4000:]
        assert process.poll() is None, stack.tally_log(election["checkpoint"])[-4000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    # the tally stopped itself cleanly, exit 0 (the polls are open: it would not drain)
    assert process.wait(90) == 0, stack.tally_log(election["checkpoint"])[-4000:]
    assert '"why":"signal"' in stack.tally_log(election["checkpoint"])
    # it judged made-up ballots before the log (none of them reaches the books: checked below)
    assert '"event":"warmed_up"' in stack.tally_log(election["checkpoint"])
    assert '"streamed":300' in stack.tally_log(election["checkpoint"])  # through Kafka too

    # then as Dagster runs it locally: it resumes from the same checkpoint
    process = stack.start_tally(*where, *args)
    time.sleep(5)
    stack.close_polls(election["url"])
    run_to_the_end(election, process)
    assert_matches_the_truth(election, placed)
    assert stack.committed_batches(election["url"]) >= 3  # duplicates across batches too

    # the recount of the same log, with the same rules, equals the live totals
    url = election["url"]
    opened, closed = stack.polls(url)
    voters = sources.read_roll(spark, url)
    candidates = sources.read_candidates(spark, url)
    result = recount.recount(
        spark, election["bootstrap"], voters, candidates, opened, closed, election["topic"]
    )
    truth = stack.truth(placed, election["roll"], url, election["partitions"])
    assert result.per_candidate == truth.per_candidate
    assert result.per_state == truth.per_state
    assert result.turnout_by_state == truth.turnout_by_state
    assert result.rejected_by_reason == truth.rejected_by_reason()
    assert result.messages == len(placed)
    assert sum(result.registered_by_state.values()) == len(election["roll"].voters)
    per_partition = {}
    for partition, *_ in placed:
        per_partition[partition] = per_partition.get(partition, 0) + 1
    assert result.messages_by_partition == per_partition


def test_a_missing_service_is_one_clear_line_and_exit_2(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres:postgres@localhost:1/voting"}
    done = subprocess.run(
        [sys.executable, "-m", "spark_jobs.live_tally", "--checkpoint", str(tmp_path / "c")],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL" in lines[0] and "DATABASE_URL" in lines[0]
