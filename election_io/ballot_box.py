"""The ballot box: sending a slice of the ballot plan to votes_topic, paced, confirmed by chunk.

A wave is sent in chunks, each confirmed delivered before the generator records it, so a
wave killed mid-way resumes from its last confirmed chunk.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np

from election import ballots

CHUNK = 50_000


def send_on_time(
    producer, topic: str, plan, due: np.ndarray, closing: float, rate: float, confirmed, log
) -> int:
    """Send each ballot of the slice at its moment of the day, half a second at a time, and
    nothing once the polls close (`closing`, like `due`, on time.monotonic())."""
    ticks = np.floor((due - due[0]) * 2) if len(due) else due
    bounds = [0, *(np.flatnonzero(np.diff(ticks)) + 1).tolist(), len(plan)]
    sent = 0
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        delay = due[a] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif time.monotonic() > closing:
            break  # the polls are closing: these voters came too late
        sent += send_ballots(
            producer, topic, plan.slice(a, b), rate, lambda n, before=sent: confirmed(before + n)
        )
    if log is not None:
        log.info(f"{sent:,} ballots sent on time over {max(0.0, due[-1] - due[0]):.1f} s")
    return sent


class DeliveryFailed(Exception):
    """Kafka did not confirm some ballots; nothing after the last confirmed chunk is recorded."""


def send_ballots(producer, topic: str, plan, rate: float, confirmed, log=None) -> int:
    """Send a slice of the plan in chunks; after each chunk is delivered, call confirmed(sent)."""
    failures: list[str] = []

    def delivered(err, _msg):
        if err is not None:
            failures.append(str(err))

    sent = 0
    began = last_log = time.perf_counter()
    for chunk_start in range(0, len(plan), CHUNK):
        chunk = plan.slice(chunk_start, min(len(plan), chunk_start + CHUNK))
        sent += send_chunk(producer, topic, chunk, rate, began, sent, delivered)
        if producer.flush(120) != 0 or failures:
            raise DeliveryFailed(
                f"{len(failures)} ballots were not delivered ({failures[:1]}); "
                f"{chunk_start:,} confirmed before"
            )
        confirmed(sent)
        now = time.perf_counter()
        if log is not None and now - last_log > 5:
            log.info(f"{sent:,} ballots sent, {sent / (now - began):,.0f}/s")
            last_log = now
    return sent


def encode(plan, voting_time: str) -> list[bytes]:
    """A slice of the plan as message values: its selections, or the seed's one candidate."""
    if plan.selections is not None:
        return ballots.encode_selection_ballots(
            plan.vote_id, plan.voter_id, plan.selections.fragments(), voting_time
        )
    return ballots.encode_ballots(plan.vote_id, plan.voter_id, plan.candidate_id, voting_time)


def send_chunk(
    producer, topic, chunk, rate: float, began: float, sent_before: int, delivered
) -> int:
    """Produce one chunk, pacing to `rate` ballots per second (0 = no pacing)."""
    voting_time = ballots.utc_iso(datetime.now(UTC))
    step = len(chunk) if rate <= 0 else max(1, int(rate / 20))
    produced = 0
    for part_start in range(0, len(chunk), step):
        part = chunk.slice(part_start, min(len(chunk), part_start + step))
        if rate > 0:
            voting_time = ballots.utc_iso(datetime.now(UTC))
            # wait until this part is due, so the wave keeps its target rate
            due = began + (sent_before + produced) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        values = encode(part, voting_time)
        for value, key in zip(values, part.voter_id, strict=True):
            while True:
                try:
                    producer.produce(topic, value, key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
        producer.poll(0)
        produced += len(part)
    return produced
