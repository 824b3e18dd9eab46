"""Three brokers (KAFKA_BROKERS=3): a broker killed mid-election loses no acknowledged ballot.

A quorum of its own under a tmp STACK_DIR, on ports 27110-27115, beside the suite's broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource

from election import contract
from election.partitioning import murmur2_partition
from election_io import ballot_log, topics
from election_io.producers import producer_config

ROOT = Path(__file__).resolve().parents[2]
PORT = 27110
BOOTSTRAP = f"localhost:{PORT},localhost:{PORT + 2},localhost:{PORT + 4}"
PARTITIONS = 3


def localstack(stack_dir: Path, command: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "STACK_DIR": str(stack_dir),
        "KAFKA_BROKERS": "3",
        "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
        "KAFKA_CONTROLLER_PORT": str(PORT + 1),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def quorum(tmp_path_factory):
    stack_dir = tmp_path_factory.mktemp("quorum") / "stack"
    started = localstack(stack_dir, "start-kafka")
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        assert "3 brokers" in started.stdout
        yield stack_dir
    finally:
        stopped = localstack(stack_dir, "stop")
        assert stopped.returncode == 0, stopped.stderr


def partitions_of(admin, topic: str) -> dict:
    """The topic's partitions once every broker's metadata has them (creation propagates)."""
    deadline = time.monotonic() + 30
    while True:
        meta = admin.list_topics(topic, timeout=10).topics.get(topic)
        found = {} if meta is None or meta.error else meta.partitions
        if len(found) == PARTITIONS and all(p.leader >= 0 for p in found.values()):
            return found
        assert time.monotonic() < deadline, f"{topic} has no leaders yet: {found}"
        time.sleep(0.2)


def broker_config(admin, broker: int) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
    entries = admin.describe_configs([resource])[resource].result(timeout=10)
    return {name: entry.value for name, entry in entries.items()}


def test_three_brokers_replicate_three_times(quorum):
    admin = topics.admin_client(BOOTSTRAP)
    assert sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3]
    assert (quorum / "kafka" / "broker-3" / "data" / "meta.properties").exists()
    config = broker_config(admin, 2)
    assert config["auto.create.topics.enable"] == "false"
    assert config["offsets.topic.replication.factor"] == "3"
    assert config["transaction.state.log.min.isr"] == "2"
    assert config["min.insync.replicas"] == "2"
    created = topics.ensure_topics(BOOTSTRAP, [contract.VOTES_TOPIC], PARTITIONS, "q1.")
    assert created == ["q1.votes_topic"]
    partitions = partitions_of(admin, "q1.votes_topic")
    assert [len(p.replicas) for p in partitions.values()] == [3] * PARTITIONS
    settings = topics.describe_topic(BOOTSTRAP, "q1.votes_topic")
    assert settings["min.insync.replicas"] == "2"
    assert topics.verify_votes_topic(BOOTSTRAP, "q1.votes_topic", PARTITIONS) == []


def read_committed(topic: str) -> list[tuple[int, bytes, bytes]]:
    """Every message of the topic, as a read_committed consumer reads it: (partition, key, value)."""
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"check-{topic}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        seen, position = [], dict.fromkeys(ends, 0)
        deadline = time.monotonic() + 60
        while any(position[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            seen.append((msg.partition(), msg.key(), msg.value()))
            position[msg.partition()] = msg.offset() + 1
        return seen
    finally:
        consumer.close()


@pytest.mark.slow
def test_a_killed_broker_loses_no_acknowledged_ballot(quorum):
    topic = "q2.votes_topic"
    topics.ensure_topics(BOOTSTRAP, [contract.VOTES_TOPIC], PARTITIONS, "q2.")
    admin = topics.admin_client(BOOTSTRAP)
    leader = partitions_of(admin, topic)[0].leader
    producer = Producer(producer_config(BOOTSTRAP, **{"linger.ms": 5}))
    acknowledged: dict[bytes, tuple[int, bytes]] = {}
    errors: list[str] = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acknowledged[msg.value()] = (msg.partition(), msg.key())

    stop = threading.Event()
    sent = 0

    def cast() -> None:  # ~500 ballots a second until told to stop
        nonlocal sent
        while not stop.is_set():
            for _ in range(25):
                voter = f"voter-{sent % 997:05d}".encode()
                producer.produce(topic, b"ballot-%d" % sent, voter, on_delivery=delivered)
                sent += 1
            producer.poll(0.05)

    caster = threading.Thread(target=cast)
    caster.start()
    try:
        time.sleep(3)
        before = len(acknowledged)
        pid = int((quorum / "kafka" / f"broker-{leader}" / "kafka.pid").read_text())
        os.killpg(pid, signal.SIGKILL)  # the leader of partition 0, mid-stream
        # with the broker still down, acknowledgements resume once a new leader is elected
        deadline = time.monotonic() + 60
        while len(acknowledged) <= before and time.monotonic() < deadline:
            time.sleep(0.5)
        during = len(acknowledged)
        restarted = localstack(quorum, "start-kafka")
        assert restarted.returncode == 0, restarted.stderr + restarted.stdout
        assert "Kafka started (3 brokers)" in restarted.stdout
        time.sleep(3)
    finally:
        stop.set()
        caster.join()
    assert producer.flush(60) == 0
    assert not errors, errors[:3]
    assert before > 0 and during > before  # it kept producing with a broker down
    assert len(acknowledged) == sent
    assert sorted(topics.admin_client(BOOTSTRAP).list_topics(timeout=10).brokers) == [1, 2, 3]

    stored = read_committed(topic)
    values = [value for _, _, value in stored]
    assert len(values) == len(set(values)), "a ballot is on the log twice"
    assert set(values) == set(acknowledged), "an acknowledged ballot is missing"
    for partition, key, value in stored:
        assert acknowledged[value] == (partition, key)
        assert partition == murmur2_partition(key, PARTITIONS)


@pytest.mark.slow
@pytest.mark.spark
def test_an_election_through_a_killed_broker_is_counted_exactly(
    quorum, scratch_database, unique_name, tmp_path, monkeypatch
):
    """Ballots cast while a broker dies and comes back: the live tally equals the oracle."""
    from tests.spark_jobs import stack
    from tests.spark_jobs.test_live_tally import assert_matches_the_truth, run_to_the_end

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", BOOTSTRAP)  # the tally's cluster: the quorum
    with stack.small_election(
        scratch_database, BOOTSTRAP, unique_name, tmp_path, voters=400, partitions=PARTITIONS
    ) as election:
        admin = topics.admin_client(BOOTSTRAP)
        replicas = [len(p.replicas) for p in partitions_of(admin, unique_name).values()]
        assert replicas == [3] * PARTITIONS
        ballots = stack.ballot_set(election["roll"], 300, seed=29)
        placed: list = []
        caster = threading.Thread(
            target=lambda: placed.extend(stack.produce(BOOTSTRAP, unique_name, ballots, rate=40))
        )
        where = (election["url"], unique_name, election["prefix"], election["checkpoint"])
        tally = stack.start_tally(*where, "--max-offsets-per-trigger", "40")
        try:
            # ballots are cast, and the broker dies, once the tally reads the log (a tally still
            # starting up when its broker dies stops with one line; its supervisor restarts it)
            stack.wait_until_started(tally, election["checkpoint"])
            caster.start()
            time.sleep(3)
            leader = partitions_of(admin, unique_name)[1].leader
            pid = int((quorum / "kafka" / f"broker-{leader}" / "kafka.pid").read_text())
            os.killpg(pid, signal.SIGKILL)  # mid-election, with the tally reading
            time.sleep(6)
            restarted = localstack(quorum, "start-kafka")
            assert restarted.returncode == 0, restarted.stderr + restarted.stdout
            caster.join(120)
            assert not caster.is_alive()
            stack.close_polls(election["url"])
            run_to_the_end(election, tally)
        finally:
            if tally.poll() is None:
                stack.kill_hard(tally)
        assert len(placed) == len(ballots)
        # through the broker's death some deliveries come back without their offset: the truth
        # is what the broker holds
        held = stack.held(BOOTSTRAP, unique_name)
        assert Counter(m.value for m in held) == Counter(m.value for m in placed)
        assert_matches_the_truth(election, held)
        assert_certifiable(election, held)


def assert_certifiable(election, placed) -> None:
    """What certification asks: the committed log drained, and the recount equal to the oracle."""
    from spark_jobs import recount, sources
    from spark_jobs.session import build_session
    from tests.spark_jobs import stack

    url, topic = election["url"], election["topic"]
    with psycopg.connect(url) as conn:
        assert ballot_log.backlog(conn, BOOTSTRAP, topic).tallied
    spark = build_session("quorum-recount", master="local[2]", shuffle_partitions=4, ui=False)
    try:
        opened, closed = stack.polls(url)
        voters, candidates = sources.read_roll(spark, url), sources.read_candidates(spark, url)
        result = recount.recount(spark, BOOTSTRAP, voters, candidates, opened, closed, topic)
    finally:
        spark.stop()
    truth = stack.truth(placed, election["roll"], url, PARTITIONS)
    assert result.per_candidate == truth.per_candidate
    assert result.per_state == truth.per_state
    assert result.rejected_by_reason == truth.rejected_by_reason()
    assert result.messages == len(placed)
