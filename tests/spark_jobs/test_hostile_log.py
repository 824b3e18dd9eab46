"""Messages built to stop or bend the count, on the real broker, through the live tally and the
recount: a poison ballot, a time at the calendar's edge, transactions committed, aborted and
left open, and a voter's ballot sent to another partition than its key's."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from election import contract, counting
from election.partitioning import murmur2_partition
from election_io import topics
from spark_jobs import recount, sources
from tests.spark_jobs import stack

pytestmark = [pytest.mark.services, pytest.mark.spark, pytest.mark.slow]

PARTITIONS = 3


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name, tmp_path):
    with stack.small_election(
        scratch_database, bootstrap_servers, unique_name, tmp_path, voters=60, partitions=PARTITIONS
    ) as made:
        yield made


def ballot(vote_id: str, voter: str, candidate: str, **extra) -> tuple[str, bytes]:
    message = {
        "vote_id": vote_id,
        "voter_id": voter,
        "candidate_id": candidate,
        "voting_time": "2024-11-05T12:00:00Z",
        **extra,
    }
    return voter, json.dumps(message).encode()


def with_number(message: tuple[str, bytes], number: bytes) -> tuple[str, bytes]:
    """The ballot with one more field, a JSON number as written (no encoder would write it)."""
    key, value = message
    return key, value[:-1] + b', "padding": ' + number + b"}"


def placed(msg) -> counting.Message:
    received = datetime.fromtimestamp(msg.timestamp()[1] / 1000, UTC)  # LogAppendTime
    return counting.Message(msg.partition(), msg.offset(), msg.key(), msg.value(), received)


def in_transaction(bootstrap: str, topic: str, name: str, messages, commit: bool) -> list:
    """Produce messages in one transaction (on their keys' partitions); what was delivered."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": name,
            "partitioner": "murmur2_random",
        }
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    delivered = []
    for key, value in messages:
        producer.produce(
            topic, value, key.encode(), on_delivery=lambda e, m: delivered.append(placed(m))
        )
    producer.flush(30)
    (producer.commit_transaction if commit else producer.abort_transaction)(30)
    return delivered


def elsewhere(bootstrap: str, topic: str, key: str, value: bytes) -> counting.Message:
    """One ballot sent to the partition after its key's: an explicit partition overrides."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    partition = (murmur2_partition(key.encode(), PARTITIONS) + 1) % PARTITIONS
    out = []
    producer.produce(
        topic, value, key.encode(), partition=partition, on_delivery=lambda e, m: out.append(m)
    )
    producer.flush(30)
    return placed(out[0])


def test_poison_transactions_and_misplaced_ballots_neither_stop_nor_bend_the_count(election, spark):
    bootstrap, topic, roll = election["bootstrap"], election["topic"], election["roll"]
    voters = sorted(roll.voters)
    c1, c2 = roll.candidates[0], roll.candidates[1]
    log = stack.produce(
        bootstrap,
        topic,
        [
            ballot("plain-1", voters[0], c1),
            with_number(ballot("poison", voters[1], c1), b"9" * 4_301),  # past int()'s limit
            ballot("edge", voters[2], c1, voting_time="0001-01-01T00:00:00+01:00"),
            with_number(ballot("huge-float", voters[3], c2), b"1e999"),
        ],
    )
    # a misplaced ballot first, then the voter's ballot where it belongs: the second counts
    log.append(elsewhere(bootstrap, topic, voters[4], ballot("away", voters[4], c1)[1]))
    log += stack.produce(bootstrap, topic, [ballot("home", voters[4], c2)])
    log += in_transaction(bootstrap, topic, f"{topic}-c", [ballot("tx", voters[5], c2)], True)
    aborted = in_transaction(bootstrap, topic, f"{topic}-a", [ballot("ab", voters[6], c1)], False)
    assert aborted  # on the log, taking offsets, but never a ballot
    log += stack.produce(bootstrap, topic, [ballot("after", voters[7], c2)])
    stack.close_polls(election["url"])

    process = stack.start_tally(
        election["url"], topic, election["prefix"], election["checkpoint"], "--trigger-ms", "200"
    )
    try:
        code = process.wait(240)
    except subprocess.TimeoutExpired:
        stack.kill_hard(process)
        pytest.fail("the tally did not drain:\n" + stack.tally_log(election["checkpoint"])[-4000:])
    assert code == 0, stack.tally_log(election["checkpoint"])[-4000:]

    truth = stack.truth(log, roll, election["url"], PARTITIONS)
    state = stack.ledger_state(election["url"])
    assert state["per_state"] == truth.per_state
    assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
    assert (truth.per_candidate[c1], truth.per_candidate[c2]) == (2, 4)  # no aborted ballot
    details = {r.vote_id: r.detail for r in truth.rejections}
    assert "murmur2 places its key" in details["away"]
    assert "outside the calendar" in details["edge"]
    assert "poison" not in details and "huge-float" not in details  # numbers are ignored fields

    opened, closed = stack.polls(election["url"])
    result = recount.recount(
        spark,
        bootstrap,
        sources.read_roll(spark, election["url"]),
        sources.read_candidates(spark, election["url"]),
        opened,
        closed,
        topic,
    )
    assert result.per_candidate == truth.per_candidate
    assert result.rejected_by_reason == truth.rejected_by_reason()
    assert result.messages == len(log)  # committed messages only: no marker, no aborted one
    assert result.rejected_by_reason[contract.MALFORMED] == 2


def run_until_counted(election, checkpoint, query_name: str, at_least: int) -> None:
    """A tally under query_name until the ledger holds at_least batches; then SIGINT."""
    process = stack.start_tally(
        election["url"],
        election["topic"],
        election["prefix"],
        checkpoint,
        "--query-name",
        query_name,
        "--max-offsets-per-trigger",
        "20",
    )
    deadline = time.monotonic() + 180
    while stack.committed_batches(election["url"]) < at_least:
        assert time.monotonic() < deadline, stack.tally_log(checkpoint)[-4000:]
        assert process.poll() is None, stack.tally_log(checkpoint)[-4000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(90) == 0, stack.tally_log(checkpoint)[-4000:]


def test_back_to_an_older_query_name_judges_no_counted_ballot_again(election, tmp_path):
    bootstrap, topic, roll = election["bootstrap"], election["topic"], election["roll"]
    first = tmp_path / "live_tally"
    log = stack.produce(bootstrap, topic, stack.ballot_set(roll, 30, seed=3))
    run_until_counted(election, first, "live_tally", 1)
    # a person tries another query name: it goes on from the ledger, past the first checkpoint
    log += stack.produce(bootstrap, topic, stack.ballot_set(roll, 20, seed=4))
    stack.close_polls(election["url"])
    other = tmp_path / "other"
    process = stack.start_tally(
        election["url"], topic, election["prefix"], other, "--query-name", "other"
    )
    assert process.wait(240) == 0, stack.tally_log(other)[-4000:]
    truth = stack.truth(log, roll, election["url"], PARTITIONS)
    state = stack.ledger_state(election["url"])
    assert state["per_state"] == truth.per_state
    assert state["rejections"] == [tuple(r)[:4] for r in truth.rejections]
    # and goes back to the first name, whose checkpoint is now behind the ledger: stopped for
    # good with what to do (exit 3), where it used to judge counted ballots on each relaunch
    process = stack.start_tally(
        election["url"], topic, election["prefix"], first, "--query-name", "live_tally"
    )
    assert process.wait(240) == 3, stack.tally_log(first)[-4000:]
    assert "go on with --query-name other" in stack.tally_log(first)
    assert stack.ledger_state(election["url"]) == state  # nothing judged again


def test_a_ballot_log_whose_senders_choose_the_receipt_time_is_not_counted(election, tmp_path):
    """A pre-made votes_topic with CreateTime: a ballot back-dated after the close would count."""
    topic = f"{election['topic']}_createtime"
    config = {**contract.VOTES_TOPIC_CONFIG, "message.timestamp.type": "CreateTime"}
    topics.ensure_topics(election["bootstrap"], [topic], PARTITIONS, config=config)
    try:
        checkpoint = tmp_path / "createtime"
        process = stack.start_tally(
            election["url"], topic, f"{topic}.", checkpoint, "--trigger-ms", "200"
        )
        assert process.wait(180) == 3, stack.tally_log(checkpoint)[-4000:]
        said = stack.tally_log(checkpoint)
        assert "message.timestamp.type=CreateTime" in said and "LogAppendTime" in said
        assert stack.committed_batches(election["url"]) == 0
    finally:
        stack.delete_topics(
            election["bootstrap"], [topic, *(f"{topic}.{t}" for t in stack.RESULT_TOPICS)]
        )
