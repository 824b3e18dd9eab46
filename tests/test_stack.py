"""The ground is real: the local PostgreSQL, Kafka and Spark answer, and the stack is idempotent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from election_io import topics

ROOT = Path(__file__).resolve().parent.parent


def test_postgres_round_trip(scratch_database):
    with psycopg.connect(scratch_database) as conn:
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY, name text)")
        with conn.cursor().copy("COPY probe (id, name) FROM STDIN") as copy:
            for i in range(1000):
                copy.write_row((i, f"name-{i}"))
        total, names = conn.execute("SELECT sum(id), count(DISTINCT name) FROM probe").fetchone()
    assert total == sum(range(1000))
    assert names == 1000


def test_kafka_produce_consume_round_trip(bootstrap_servers, unique_name):
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    admin.create_topics([NewTopic(unique_name, 2, 1)])[unique_name].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all"})
    sent = {f"key-{i}": f"value-{i}" for i in range(100)}
    for key, value in sent.items():
        producer.produce(unique_name, key=key, value=value)
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": unique_name,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([unique_name])
    received = {}
    deadline = time.time() + 60
    while len(received) < len(sent) and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            received[message.key().decode()] = message.value().decode()
    consumer.close()
    admin.delete_topics([unique_name])
    assert received == sent


@pytest.mark.spark
def test_spark_reads_and_writes_kafka(bootstrap_servers, unique_name):
    """A Spark session reads one topic through the connector and writes another."""
    from pyspark.sql import SparkSession

    from election_io.spark_setup import loopback_conf

    jars = sorted(str(p) for p in (ROOT / ".stack" / "jars" / "spark").glob("*.jar"))
    assert any("spark-sql-kafka" in j for j in jars), "run `make services` to resolve the jars"
    source, sink = f"{unique_name}_in", f"{unique_name}_out"
    topics.ensure_topics(bootstrap_servers, [source, sink], 1, config={})  # none made by accident
    producer = Producer({"bootstrap.servers": bootstrap_servers})
    for i in range(50):
        producer.produce(source, key=str(i), value=str(i * i))
    producer.flush(30)

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("stack-probe")
        .config("spark.jars", ",".join(jars))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config(map=loopback_conf("local[2]"))
        .getOrCreate()
    )
    try:
        frame = (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap_servers)
            .option("subscribe", source)
            .option("startingOffsets", "earliest")
            .load()
        )
        frame.selectExpr("key", "CAST(CAST(value AS STRING) AS INT) + 1 AS v").selectExpr(
            "key", "CAST(v AS STRING) AS value"
        ).write.format("kafka").option("kafka.bootstrap.servers", bootstrap_servers).option(
            "topic", sink
        ).save()
        copied = (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap_servers)
            .option("subscribe", sink)
            .option("startingOffsets", "earliest")
            .load()
            .selectExpr("CAST(key AS STRING) AS k", "CAST(value AS STRING) AS v")
            .collect()
        )
    finally:
        spark.stop()
    assert {row.k: int(row.v) for row in copied} == {str(i): i * i + 1 for i in range(50)}


def test_the_broker_creates_no_topic_by_accident(bootstrap_servers, unique_name):
    """auto.create.topics.enable is off: a write to a topic nobody created fails."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    broker = next(iter(admin.list_topics(timeout=10).brokers.values()))
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker.id))
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    assert config["auto.create.topics.enable"].value == "false"
    producer = Producer({"bootstrap.servers": bootstrap_servers, "message.timeout.ms": 3000})
    errors = []
    producer.produce(unique_name, b"x", on_delivery=lambda err, _m: errors.append(err))
    producer.flush(15)
    assert errors and errors[0] is not None
    assert unique_name not in admin.list_topics(timeout=10).topics


def test_local_logins_need_the_password(database_url):
    """No trust on the socket, and only the server's owner may enter the socket's folder."""
    with psycopg.connect(database_url) as conn:
        methods = conn.execute(
            "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'local'"
        ).fetchall()
        folder = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        socket_mode = conn.execute("SHOW unix_socket_permissions").fetchone()[0]
    assert methods == [("scram-sha-256",)]
    assert Path(folder).name == "socket"
    assert Path(folder).stat().st_mode & 0o777 == 0o700
    assert socket_mode == "0700"


def test_a_bad_number_of_brokers_is_one_clear_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), "start"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "STACK_DIR": str(tmp_path / "stack"), "KAFKA_BROKERS": "2"},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "[stack] error: KAFKA_BROKERS must be 1 or 3, got '2'"


def test_services_twice_is_harmless(database_url, bootstrap_servers):
    """Starting the running stack again changes nothing and succeeds quickly."""
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(ROOT / "stack" / "localstack.py"), "start"],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr
        assert "already running" in result.stdout
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_suite_runs_on_its_own_services(database_url, bootstrap_servers):
    """`make test` beside `make run`: the suite's PostgreSQL and Kafka keep their data under
    .stack/test/, on ports of their own, so a running election's database and ballot log are
    never touched (asked of the servers themselves, not of our settings)."""
    test_stack = (ROOT / ".stack" / "test").resolve()
    with psycopg.connect(database_url) as conn:
        data_directory = Path(conn.execute("SHOW data_directory").fetchone()[0]).resolve()
    assert data_directory == test_stack / "postgres" / "data"

    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    broker = next(iter(admin.list_topics(timeout=10).brokers.values()))
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker.id))
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    assert Path(config["log.dirs"].value).resolve() == test_stack / "kafka" / "data"

    from election.settings import DEFAULTS

    assert database_url != DEFAULTS["DATABASE_URL"]
    assert bootstrap_servers != DEFAULTS["KAFKA_BOOTSTRAP_SERVERS"]


def test_a_misconfigured_suite_stops_no_running_services(database_url, bootstrap_servers):
    """A bad TEST_KAFKA_PORT is one line, and the services already running keep running."""
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/election"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TEST_KAFKA_PORT": "not-a-port"},
    )
    assert inner.returncode != 0
    assert "TEST_KAFKA_PORT must be a whole number, got 'not-a-port'" in inner.stderr
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(timeout=10).brokers


def test_taken_port_is_one_clear_line(tmp_path):
    """A port in use is named, with the variable that moves it; no stack trace."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "stack" / "localstack.py"), "start"],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                "STACK_DIR": str(tmp_path / "stack"),
                "DATABASE_URL": f"postgresql://postgres:postgres@localhost:{port}/voting",
            },
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_config_value_is_one_clear_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), "start"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "STACK_DIR": str(tmp_path / "stack"),
            "KAFKA_BOOTSTRAP_SERVERS": "no-port-here",
        },
    )
    assert result.returncode == 1
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stderr
    assert "Traceback" not in result.stderr


def test_definitions_load():
    from election_assets.definitions import defs

    repository = defs.get_repository_def()
    assert repository.get_all_jobs() is not None


def test_workspace_validates():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_service_elsewhere_is_checked_not_started(tmp_path):
    """DATABASE_URL on another host is the user's PostgreSQL: nothing local starts for it, and
    one line says it does not answer (192.0.2.1 is TEST-NET-1: it never answers)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "stack" / "localstack.py"), "start"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "STACK_DIR": str(tmp_path / "stack"),
            "DATABASE_URL": "postgresql://teller:secret@192.0.2.1:5432/voting",
        },
    )
    assert result.returncode == 1
    said = result.stderr.strip()
    assert len(said.splitlines()) == 1 and "Traceback" not in said
    assert "PostgreSQL at 192.0.2.1:5432 (DATABASE_URL) does not answer" in said
    assert "secret" not in said  # the password stays out of the message
    assert not (tmp_path / "stack" / "postgres").exists()


def test_a_project_maven_cannot_build_is_one_clear_line(tmp_path):
    """A broken pom of ours (jvm/) stops the services with what Maven said, not a stack."""
    from stack.stack_common import StackError, build_jar

    project = tmp_path / "broken"
    (project / "src").mkdir(parents=True)
    (project / "pom.xml").write_text("<project><modelVersion>4.0.0</modelVersion></project>")
    jar = tmp_path / "jars" / "broken.jar"
    with pytest.raises(StackError) as raised:
        build_jar(str(project / "pom.xml"), jar)
    (line,) = str(raised.value).splitlines()
    assert line.startswith(f"Maven could not build {project / 'pom.xml'}: ")
    assert "ERROR" in line and not jar.exists()
