"""The ballot stream and the result topics (Apache Kafka)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import dagster as dg
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from election_assets.resources.postgres import ServiceUnavailable
from election_io import clock, topics
from election_io.ballot_log import log_ends
from election_io.kafka_config import client_config
from election_io.producers import producer_config

_quiet = logging.getLogger("election.kafka.client")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class KafkaResource(dg.ConfigurableResource):
    """The Kafka cluster; KAFKA_BOOTSTRAP_SERVERS names it."""

    bootstrap_servers: str

    def _base(self) -> dict:
        return client_config(self.bootstrap_servers, logger=_quiet)

    def admin(self) -> AdminClient:
        return AdminClient(self._base())

    def producer(self, **overrides) -> Producer:
        """The project's producer (election_io.producer_config), lz4 and lingering for throughput."""
        config = producer_config(
            self.bootstrap_servers,
            logger=_quiet,
            **{
                "compression.type": "lz4",
                "linger.ms": 20,
                "queue.buffering.max.messages": 2_000_000,
                "queue.buffering.max.kbytes": 2_097_151,
            },
        )
        config.update(overrides)
        return Producer(config)

    def consumer(self, **overrides) -> Consumer:
        config = {
            **self._base(),
            "group.id": "election-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        config.update(overrides)
        return Consumer(config)

    def broker_now(self, timeout: float = 10.0) -> datetime:
        """The broker's clock, the one that stamps the ballots; one clear line if it is down."""
        try:
            return clock.broker_now(self.bootstrap_servers, timeout)
        except clock.ClockUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from None

    def check(self, timeout: float = 5.0) -> None:
        """Raise one clear line if the broker does not answer."""
        self.topics(self.admin(), timeout)

    def topics(self, admin: AdminClient, timeout: float = 10.0) -> set[str]:
        """The topics the broker has; one clear line if it does not answer."""
        try:
            return set(admin.list_topics(timeout=timeout).topics)
        except KafkaException as exc:
            raise ServiceUnavailable(
                f"Kafka at {self.bootstrap_servers} does not answer ({exc.args[0]}); "
                "start it with `make services` or set KAFKA_BOOTSTRAP_SERVERS"
            ) from exc

    def ensure_topic(
        self,
        name: str,
        partitions: int = 1,
        replication: int | None = None,
        config: dict[str, str] | None = None,
    ) -> bool:
        """Create a topic if missing (election_io.topics); True when it was created now.

        Its settings are the contract's for its name unless `config` is given; its replication
        follows the cluster (min(3, brokers)) unless `replication` is given.
        """
        self.topics(self.admin())  # one clear line when the broker does not answer
        created = topics.ensure_topics(
            self.bootstrap_servers, [name], partitions, config=config, replication=replication
        )
        return name in created

    def end_offsets(self, topic: str, attempts: int = 10) -> dict[int, int]:
        """The next offset to be written, per partition (empty if the topic is missing).

        Retried for a while: right after a broker restart, leadership is still moving.
        """
        for attempt in range(attempts):
            try:
                return self._end_offsets(topic)
            except KafkaException:
                if attempt == attempts - 1:
                    raise
                time.sleep(1)
        return {}

    def _end_offsets(self, topic: str) -> dict[int, int]:
        return {p: e.end for p, e in log_ends(self.bootstrap_servers, topic).items()}
