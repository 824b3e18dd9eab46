"""The election's topics: created with the contract's settings, replicated as the cluster allows,
and the ballot log checked against the contract before anything is counted from it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from election import contract
from election_io.kafka_config import client_config

# a topic is replicated to at most this many brokers, and a write waits for this many copies
MAX_REPLICATION = 3
MIN_INSYNC = 2

_quiet = logging.getLogger("election_io.kafka")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class TopicMisconfigured(RuntimeError):
    """A topic's settings break the contract; the message lists every problem, one a line."""


def admin_client(bootstrap: str, **extra) -> AdminClient:
    """An AdminClient for the cluster, quiet unless extra settings say otherwise."""
    return AdminClient(client_config(bootstrap, logger=_quiet, **extra))


def cluster_replication(admin: AdminClient, timeout: float = 10.0) -> int:
    """The replication factor new topics get: min(3, brokers the cluster's metadata lists)."""
    brokers = len(admin.list_topics(timeout=timeout).brokers)
    return max(1, min(MAX_REPLICATION, brokers))


def replicated_config(config: Mapping[str, str], replication: int) -> dict[str, str]:
    """A topic's settings with min.insync.replicas = min(2, RF) once it has copies to wait for."""
    settings = dict(config)
    if replication >= 2:
        settings.setdefault("min.insync.replicas", str(min(MIN_INSYNC, replication)))
    return settings


def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 1,
    prefix: str = "",
    *,
    config: Mapping[str, str] | None = None,
    replication: int | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics `prefix + name` that are missing; returns the names created now.

    Each gets the contract's settings for its name (contract.topic_config) unless `config` is
    given, and the cluster's replication factor unless `replication` is.
    """
    admin = admin_client(bootstrap)
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [prefix + name for name in names if prefix + name not in existing]
    if not wanted:
        return []
    factor = replication or cluster_replication(admin, timeout)
    new = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=factor,
            config=replicated_config(
                contract.topic_config(name, prefix) if config is None else config, factor
            ),
        )
        for name in dict.fromkeys(wanted)
    ]
    created = []
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            # another process made it meanwhile; one being deleted cannot be created yet
            if "TOPIC_ALREADY_EXISTS" not in str(exc) or "marked for deletion" in str(exc):
                raise
    return created


def delete_topics(bootstrap: str, names: Iterable[str], wait: float = 0.0) -> list[str]:
    """Delete the topics that exist; with wait (s), until the broker no longer lists them.

    Returns the names deleted. A topic gone meanwhile is no error.
    """
    admin = admin_client(bootstrap)
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [name for name in dict.fromkeys(names) if name in existing]
    if doomed:
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            try:
                future.result(timeout=30)
            except KafkaException as exc:
                if "UNKNOWN_TOPIC" not in str(exc):
                    raise
    deadline = time.monotonic() + wait
    while doomed and time.monotonic() < deadline:
        if not set(doomed) & set(admin.list_topics(timeout=10).topics):
            break
        time.sleep(0.2)
    return doomed


def provide_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    replication: int | None = None,
    *,
    empty: bool = False,
    timeout: float = 30.0,
) -> list[str]:
    """Make the topics exist with their contract settings; with empty, deleted and made again.

    Returns the names created now. A topic still being deleted cannot be created yet: creating
    is retried until timeout.
    """
    names = list(dict.fromkeys(names))
    if empty:
        delete_topics(bootstrap, names, wait=timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ensure_topics(bootstrap, names, partitions, replication=replication)
        except KafkaException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def describe_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[str, str] | None:
    """A topic's effective settings as the broker reports them; None when it does not exist."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    admin = admin_client(bootstrap)  # held until the answer comes: its end cancels the request
    future = admin.describe_configs([resource], request_timeout=timeout)
    try:
        entries = future[resource].result(timeout=timeout)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise
    return {name: entry.value for name, entry in entries.items()}


def partition_count(bootstrap: str, topic: str, timeout: float = 10.0) -> int:
    """How many partitions a topic has (0 when it does not exist)."""
    info = admin_client(bootstrap).list_topics(topic, timeout=timeout).topics.get(topic)
    return 0 if info is None or info.error is not None else len(info.partitions)


def _alter(topic: str, key: str, value: str) -> str:
    return (
        f"kafka-configs --bootstrap-server <broker> --alter --entity-type topics "
        f"--entity-name {topic} --add-config {key}={value}"
    )


def config_problems(topic: str, settings: Mapping[str, str]) -> list[str]:
    """What in a ballot log's settings breaks the contract, one line each saying how to fix it."""
    problems = []
    stamp = settings.get("message.timestamp.type")
    if stamp != "LogAppendTime":
        problems.append(
            f"{topic} has message.timestamp.type={stamp}: senders would choose their ballots' "
            f"receipt time; recreate it with LogAppendTime "
            f"({_alter(topic, 'message.timestamp.type', 'LogAppendTime')} before any ballot)"
        )
    door = settings.get("max.message.bytes", "")
    if not door.lstrip("-").isdigit() or int(door) > contract.MAX_BALLOT_BYTES:
        problems.append(
            f"{topic} has max.message.bytes={door}: it must refuse batches over "
            f"{contract.MAX_BALLOT_BYTES} bytes at the door "
            f"({_alter(topic, 'max.message.bytes', str(contract.MAX_BALLOT_BYTES))})"
        )
    for key in ("retention.ms", "retention.bytes"):
        if settings.get(key) != "-1":
            problems.append(
                f"{topic} has {key}={settings.get(key)}: the broker would delete ballots before "
                f"the recount; keep them forever ({_alter(topic, key, '-1')})"
            )
    if settings.get("cleanup.policy") != "delete":
        problems.append(
            f"{topic} has cleanup.policy={settings.get('cleanup.policy')}: compaction would drop "
            f"a voter's earlier ballots; recreate it with cleanup.policy=delete "
            f"({_alter(topic, 'cleanup.policy', 'delete')})"
        )
    return problems


def verify_votes_topic(
    bootstrap: str,
    topic: str = contract.VOTES_TOPIC,
    partitions: int | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Problems of an existing ballot log against the contract, one line each; [] when sound.

    With `partitions`, its partition count must be that (ballots sit on murmur2(key) % count).
    """
    settings = describe_topic(bootstrap, topic, timeout)
    if settings is None:
        return [f"{topic} does not exist; create it with the registration job (votes_topic)"]
    problems = config_problems(topic, settings)
    if partitions is not None:
        actual = partition_count(bootstrap, topic, timeout)
        if actual != partitions:
            problems.append(
                f"{topic} has {actual} partitions, expected {partitions}: a ballot's partition "
                f"is murmur2(key) % count, fixed once the polls open; recreate it with "
                f"{partitions} partitions before they open"
            )
    return problems


def require_votes_topic(
    bootstrap: str, topic: str = contract.VOTES_TOPIC, partitions: int | None = None
) -> None:
    """Raise TopicMisconfigured, listing every problem, unless the ballot log is sound."""
    problems = verify_votes_topic(bootstrap, topic, partitions)
    if problems:
        raise TopicMisconfigured("\n".join(problems))


def ensure_tally_topics(
    bootstrap: str, votes_topic: str, partitions: int, prefix: str = ""
) -> list[str]:
    """Create the ballot log and the published topics (names prefixed) when missing.

    Each with its contract settings, replicated as the cluster allows; returns the names created.
    """
    created = ensure_topics(bootstrap, [votes_topic], partitions)
    created += ensure_topics(bootstrap, contract.PUBLISHED_TOPICS, partitions, prefix)
    return created
