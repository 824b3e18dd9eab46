"""The containers' Kafka, checked without a Docker engine: one broker, or the kafka3 quorum."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_compose import (
    APP_ENVIRONMENT,
    APP_SERVICES,
    DOCKER_DIR,
    PUBLISHED_PORTS,
    compose_spec_validator,
    environment_of,
    load_compose,
    mount_target,
    published_ports,
)

KAFKA3_ENV = DOCKER_DIR / "kafka3.env"
BROKERS = ("kafka", "kafka-2", "kafka-3")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services as `docker compose up` sees them with no variable set."""
    return load_compose()["services"]


def test_kafka_is_a_single_kraft_node_reachable_as_kafka_9092(services):
    env = environment_of(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    node_id = env["KAFKA_NODE_ID"]
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert voters == [f"{node_id}@kafka:9093"]
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(listeners) <= set(protocols)
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    internal = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    assert advertised[internal] == APP_ENVIRONMENT["KAFKA_BOOTSTRAP_SERVERS"]
    host_listener = next(name for name, address in advertised.items() if "localhost" in address)
    host_port = int(listeners[host_listener].rpartition(":")[2])
    assert host_port == PUBLISHED_PORTS["kafka"]
    factors = {key: value for key, value in env.items() if "REPLICATION_FACTOR" in key}
    assert "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR" in factors
    assert "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR" in factors
    assert set(factors.values()) == {"1"}
    assert env["CLUSTER_ID"]


def kafka3_environment() -> dict[str, str]:
    """docker/kafka3.env, read as `docker compose --env-file` reads it."""
    lines = [line.strip() for line in KAFKA3_ENV.read_text().splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_by_default_one_broker_runs(services):
    profiled = {
        name: service["profiles"] for name, service in services.items() if "profiles" in service
    }
    assert profiled == {"kafka-2": ["kafka3"], "kafka-3": ["kafka3"]}
    assert "profiles" not in services["kafka"]


def test_no_broker_creates_a_topic_by_accident(services):
    for name in BROKERS:
        env = environment_of(services[name])
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", name
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false", name


def test_the_kafka3_profile_is_one_quorum_of_three_brokers():
    """Under docker/kafka3.env: three voters, RF 3, min.insync 2, and the apps know every broker."""
    variables = kafka3_environment()
    assert variables["COMPOSE_PROFILES"] == "kafka3"
    quorum = load_compose(variables)
    errors = list(compose_spec_validator().iter_errors(quorum))
    assert not errors, errors[0].message
    brokers_and_apps = quorum["services"]
    brokers = {name: environment_of(brokers_and_apps[name]) for name in BROKERS}
    ids = {name: env["KAFKA_NODE_ID"] for name, env in brokers.items()}
    assert sorted(ids.values()) == ["1", "2", "3"]
    voters = sorted(f"{ids[name]}@{name}:9093" for name in BROKERS)
    internal = []
    for name, env in brokers.items():
        assert sorted(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters, name
        assert env["CLUSTER_ID"] == brokers["kafka"]["CLUSTER_ID"]
        for key, value in env.items():
            if "REPLICATION_FACTOR" in key:
                assert value == "3", f"{name}: {key}={value}"
            if key.endswith("MIN_ISR") or key == "KAFKA_MIN_INSYNC_REPLICAS":
                assert value == "2", f"{name}: {key}={value}"
        advertised = dict(i.split("://") for i in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
        assert advertised["INTERNAL"] == f"{name}:9092"
        internal.append(advertised["INTERNAL"])
        assert mount_target(brokers_and_apps[name], f"{name}-data") == env["KAFKA_LOG_DIRS"]
    for name in APP_SERVICES:
        assert environment_of(brokers_and_apps[name])["KAFKA_BOOTSTRAP_SERVERS"] == ",".join(
            internal
        )
    host_ports = [p for name in BROKERS for _, p, _ in published_ports(brokers_and_apps[name])]
    assert len(set(host_ports)) == 3, host_ports
