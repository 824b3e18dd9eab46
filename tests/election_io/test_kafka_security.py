"""A secured cluster: a broker that only takes SASL logins, and every client of ours logging in
from the settings alone (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), Spark's Java client included.

The broker is the local stack's own, started with those settings (SASL_PLAINTEXT with PLAIN)
under a tmp STACK_DIR on ports 27130-27131, beside the suite's broker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from election import contract, messages
from election.settings import SettingError
from election_io import ballot_log, clock, topics
from election_io.kafka_config import security_config, spark_kafka_options
from election_io.producers import producer_config
from election_io.publisher import ResultPublisher

ROOT = Path(__file__).resolve().parents[2]
PORT = 27130
BOOTSTRAP = f"localhost:{PORT}"
# a password a JAAS file must quote: a double quote, a backslash and a space
SECURED = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "PLAIN",
    "KAFKA_SASL_USERNAME": "teller",
    "KAFKA_SASL_PASSWORD": 'count "every" \\ ballot',
}


def localstack(stack_dir: Path, command: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **SECURED,
        "STACK_DIR": str(stack_dir),
        "KAFKA_BROKERS": "1",
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
def secured_broker(tmp_path_factory):
    stack_dir = tmp_path_factory.mktemp("secured") / "stack"
    started = localstack(stack_dir, "start-kafka")
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        yield BOOTSTRAP
    finally:
        assert localstack(stack_dir, "stop").returncode == 0


@pytest.fixture
def logged_in(monkeypatch):
    for name, value in SECURED.items():
        monkeypatch.setenv(name, value)


def test_a_client_without_the_login_is_refused(secured_broker):
    admin = AdminClient({"bootstrap.servers": secured_broker, "log_level": 0})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)


def test_every_client_of_ours_logs_in_from_the_settings(secured_broker, logged_in):
    topic = "secured_votes"
    assert topics.ensure_topics(secured_broker, [topic], 2) == [topic]
    producer = Producer(producer_config(secured_broker))
    for k in range(10):
        producer.produce(topic, b"{}", f"voter-{k}".encode())
    assert producer.flush(30) == 0
    ends = ballot_log.log_ends(secured_broker, topic)
    assert sum(end.end for end in ends.values()) == 10
    assert clock.broker_now(secured_broker).tzinfo is not None

    results = "secured_" + contract.VOTES_PER_CANDIDATE_TOPIC
    topics.ensure_topics(secured_broker, [results], 1, config=contract.COMPACTED_CONFIG)
    publisher = ResultPublisher(secured_broker)
    candidate = {"candidate_id": "c1", "candidate_name": "Avery", "party_affiliation": "X"}
    assert publisher.send(
        results, [messages.candidate_result(candidate, 7, "2026-11-03T20:00:00Z")]
    )
    publisher.flush(30)

    from streamlit_app.reader import ResultReader

    names = {contract.VOTES_TOPIC: topic, contract.VOTES_PER_CANDIDATE_TOPIC: results}
    reader = ResultReader(secured_broker, names).start()
    try:
        snapshot = reader.wait_for(lambda s: s.ballots_counted == 7, timeout=30)
    finally:
        reader.stop()
    assert snapshot.ballots_counted == 7 and snapshot.kafka_error is None


@pytest.mark.spark
def test_spark_logs_in_from_the_same_settings(secured_broker, logged_in):
    from spark_jobs import sources
    from spark_jobs.session import build_session

    topic = "secured_spark_votes"
    topics.ensure_topics(secured_broker, [topic], 1)
    producer = Producer(producer_config(secured_broker))
    for k in range(5):
        producer.produce(topic, b"{}", f"voter-{k}".encode())
    assert producer.flush(30) == 0
    spark = build_session("secured-read", master="local[1]", shuffle_partitions=1, ui=False)
    try:
        rows = sources.kafka_batch(spark, secured_broker, topic, {0: (0, 5)}).count()
    finally:
        spark.stop()
    assert rows == 5


def test_the_java_login_quotes_what_it_must():
    login = spark_kafka_options(SECURED)["kafka.sasl.jaas.config"]
    assert login == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="teller" password="count \\"every\\" \\\\ ballot";'
    )
    assert security_config({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}) == {}
    assert security_config(SECURED) == {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "teller",
        "sasl.password": SECURED["KAFKA_SASL_PASSWORD"],
    }


def test_a_sasl_protocol_without_a_login_is_one_clear_line():
    with pytest.raises(SettingError, match="needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        spark_kafka_options({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
