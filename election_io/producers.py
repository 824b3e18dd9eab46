"""The settings every producer of ballots and results uses, in one place."""

from __future__ import annotations

from typing import Any

from election import contract
from election_io.kafka_config import client_config


def producer_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """A producer's settings: every copy acknowledged, idempotent, Kafka's murmur2 partitioner.

    Batches stay under votes_topic's door (contract.BALLOT_BATCH_BYTES); a ballot lands on the
    partition murmur2 gives its key, as the Java client's default does. Pass other librdkafka
    settings as `**{"linger.ms": 20}`; they override these.
    """
    return client_config(
        bootstrap,
        **{
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "batch.size": contract.BALLOT_BATCH_BYTES,
            **extra,
        },
    )
