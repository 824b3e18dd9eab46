"""Sending result messages: keyed JSON, acknowledged by every replica, idempotent.

Values come from the committed PostgreSQL state, so a replayed batch re-sends the same
values, and totals on the compacted topics never go down.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from confluent_kafka import Producer

from election_io.producers import producer_config


class ResultPublisher:
    """Sends result messages from the driver: acks=all, idempotent, flushed per batch."""

    def __init__(self, bootstrap: str):
        self._producer = Producer(
            producer_config(bootstrap, **{"linger.ms": 2, "compression.type": "lz4"})
        )
        self._errors: list[str] = []

    def _delivered(self, err, _msg) -> None:
        if err is not None:
            self._errors.append(str(err))

    def send(self, topic: str, messages: Iterable[tuple[str, dict]]) -> int:
        """Queue keyed JSON messages; returns how many."""
        n = 0
        for key, value in messages:
            payload = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
            while True:
                try:
                    self._producer.produce(
                        topic, payload, key.encode(), on_delivery=self._delivered
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    self._producer.poll(0.05)
            n += 1
        self._producer.poll(0)
        return n

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until every queued message is acknowledged, or raise."""
        left = self._producer.flush(timeout)
        if left or self._errors:
            errors, self._errors = self._errors[:3], []
            raise RuntimeError(f"{left} result messages undelivered; errors: {errors}")
