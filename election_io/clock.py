"""The broker's clock: the time the ballot box itself would stamp on a ballot received now.

votes_topic is stamped by the broker (LogAppendTime), and the counting rules compare those
stamps with the opening and closing times: so those are read from the same clock, as the
stamp the broker gives a small probe on its own LogAppendTime topic.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from election_io.kafka_config import client_config

CLOCK_TOPIC = "polls_clock"
CLOCK_TOPIC_CONFIG = {
    "message.timestamp.type": "LogAppendTime",
    "cleanup.policy": "delete",
    "retention.ms": str(24 * 3600 * 1000),  # a probe is only ever read back by tests and audits
}

_quiet = logging.getLogger("election.kafka.clock")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class ClockUnavailable(Exception):
    """The broker did not stamp the probe; the message says why and what to do."""


def broker_now(bootstrap: str, timeout: float = 10.0) -> datetime:
    """The broker's LogAppendTime for a probe delivered now (millisecond precision, UTC)."""
    base = client_config(bootstrap, logger=_quiet)
    ensure_clock_topic(AdminClient(base), bootstrap, timeout)
    delivered = []
    producer = Producer(
        {
            **base,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": int(timeout * 1000),
        }
    )
    producer.produce(CLOCK_TOPIC, b"{}", on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(timeout)
    if not delivered or delivered[0][0] is not None:
        why = delivered[0][0] if delivered else f"no answer within {timeout:g} s"
        raise ClockUnavailable(
            f"Kafka at {bootstrap} did not stamp the clock probe ({why}); "
            "start it with `make services` or set KAFKA_BOOTSTRAP_SERVERS"
        )
    kind, millis = delivered[0][1].timestamp()
    if kind != TIMESTAMP_LOG_APPEND_TIME:
        raise ClockUnavailable(
            f"topic {CLOCK_TOPIC} on {bootstrap} is not stamped by the broker; "
            f"delete it (it is recreated with message.timestamp.type=LogAppendTime)"
        )
    return datetime.fromtimestamp(millis / 1000, UTC)


def ensure_clock_topic(admin: AdminClient, bootstrap: str, timeout: float) -> None:
    """Create the probe's topic if it is missing: one partition, stamped by the broker."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ClockUnavailable(
            f"Kafka at {bootstrap} does not answer ({exc.args[0]}); "
            "start it with `make services` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None
    if CLOCK_TOPIC in metadata.topics:
        return
    replicas = min(3, len(metadata.brokers))
    topic = NewTopic(CLOCK_TOPIC, 1, replicas, config=CLOCK_TOPIC_CONFIG)
    try:
        admin.create_topics([topic])[CLOCK_TOPIC].result(timeout=timeout)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise ClockUnavailable(
                f"cannot create topic {CLOCK_TOPIC} on {bootstrap} ({exc.args[0]})"
            ) from None
