"""The shared reader of the result topics: one consumer per server, the latest value per key."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from election import ballots, contract
from election.settings import setting
from election_io.ballot_log import BallotLog
from election_io.kafka_config import client_config
from streamlit_app.rejections import RejectionTally

log = logging.getLogger(__name__)

# The topics the reader follows, by their contract names.
FOLLOWED_TOPICS = (
    contract.VOTES_PER_CANDIDATE_TOPIC,
    contract.TURNOUT_BY_LOCATION_TOPIC,
    contract.VOTES_PER_STATE_TOPIC,
    contract.REJECTED_VOTES_TOPIC,
    contract.RACE_CALLS_TOPIC,
    contract.CONTEST_RESULTS_TOPIC,
    contract.RCV_ROUNDS_TOPIC,
)
# Topics keyed by contest and district, what one of their messages is called in the log.
_CONTEST_KEYED = {contract.RACE_CALLS_TOPIC: "race call", contract.RCV_ROUNDS_TOPIC: "rounds"}
EMPTY = MappingProxyType({})


def _empty():
    return field(default_factory=lambda: EMPTY)


def topic_names_from_env(prefix: str | None = None) -> dict[str, str]:
    """Contract topic name -> topic actually read; DASHBOARD_TOPIC_PREFIX moves them all."""
    prefix = setting("DASHBOARD_TOPIC_PREFIX") if prefix is None else prefix
    return {name: prefix + name for name in (contract.VOTES_TOPIC, *FOLLOWED_TOPICS)}


def parse_time(text: object) -> datetime | None:
    """An ISO-8601 time from a message, as an aware UTC datetime; None when unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return ballots.parse_time(text)
    except (ValueError, OverflowError):  # OverflowError: a time the calendar ends before, in UTC
        return None


def _contest_problem(kind: str, key: str, value: Mapping) -> str | None:
    """Why a message of a topic keyed by contest and district is skipped, in a line; None to
    keep it. Rounds hold a list of them besides."""
    problem = contract.contest_key_problem(key, value)
    rounds = value.get("results")
    if problem is None and kind == contract.RCV_ROUNDS_TOPIC and not isinstance(rounds, list):
        problem = f"keyed {key[:80]!r} without a results list"
    return problem


def _second(moment: datetime) -> datetime:
    # a second is fine enough for a voting day of minutes; the page buckets it to the span
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class ResultSnapshot:
    """An immutable view of the result topics at one moment."""

    candidates: Mapping[str, Mapping] = _empty()  # candidate_id -> latest result
    turnout: Mapping[str, Mapping] = _empty()  # address_state -> latest turnout
    states: Mapping[str, Mapping] = _empty()  # "state|candidate_id" -> latest result
    race_calls: Mapping[str, Mapping] = _empty()  # "contest_id|district_id" -> latest call
    contest_results: Mapping[str, Mapping] = _empty()  # "contest_id|district_id" -> latest
    # a ranked contest's rounds so far (RCTab's summary JSON): "contest_id|district_id" -> latest
    rcv_rounds: Mapping[str, Mapping] = _empty()
    rejected_by_reason: Mapping[str, int] = _empty()
    # Per second of tally time, every candidate's running total (carried forward).
    history: tuple[tuple[datetime, Mapping[str, int]], ...] = ()
    newest_result_at: datetime | None = None
    last_message_at: datetime | None = None
    # votes_topic end offsets per partition, and how many messages it holds.
    ballot_log_end_offsets: Mapping[int, int] = _empty()
    ballots_received: int | None = None
    caught_up: bool = False
    connected: bool = False
    kafka_error: str | None = None
    missing_topics: tuple[str, ...] = ()
    messages_read: int = 0  # since the reader started; grows by new messages only
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ballots_counted(self) -> int:
        """Ballots counted for any candidate."""
        return sum(int(result.get("total_votes") or 0) for result in self.candidates.values())

    @property
    def ballots_rejected(self) -> int:
        """Ballots rejected, for any reason."""
        return sum(self.rejected_by_reason.values())

    def calls_in(self, contest_id: str) -> dict[str, Mapping]:
        """district_id -> a contest's latest race call there."""
        return {
            str(call.get("district_id")): call
            for call in self.race_calls.values()
            if call.get("contest_id") == contest_id
        }

    @property
    def has_results(self) -> bool:
        """Whether any result message has been read."""
        results = (
            self.candidates,
            self.turnout,
            self.states,
            self.contest_results,
            self.rcv_rounds,
        )
        return any(results) or bool(self.rejected_by_reason)


class ResultReader:
    """Follows the result topics in a background thread and serves immutable snapshots.

    One consumer, partitions assigned explicitly from the beginning and then read
    incrementally; topics that appear later are picked up on the next metadata check.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic_names: Mapping[str, str] | None = None,
        *,
        metadata_interval_s: float = 2.0,
        ballot_log_interval_s: float = 1.0,
        publish_interval_s: float = 0.2,
        poll_timeout_s: float = 0.25,
    ) -> None:
        names = {**topic_names_from_env(""), **(topic_names or {})}
        self.bootstrap_servers = bootstrap_servers
        self.votes_topic = names[contract.VOTES_TOPIC]
        self._topic_of = {contract_name: names[contract_name] for contract_name in FOLLOWED_TOPICS}
        self._kind_of = {topic: kind for kind, topic in self._topic_of.items()}
        self._metadata_interval_s = metadata_interval_s
        self._ballot_log_interval_s = ballot_log_interval_s
        self._publish_interval_s = publish_interval_s
        self._poll_timeout_s = poll_timeout_s

        self._latest: dict[str, dict[str, Mapping]] = {kind: {} for kind in FOLLOWED_TOPICS}
        self._rejections = RejectionTally()
        self._totals_by_second: dict[datetime, dict[str, int]] = {}
        self._history: tuple[tuple[datetime, Mapping[str, int]], ...] = ()
        self._history_dirty = False
        self._newest_result_at: datetime | None = None
        self._last_message_at: datetime | None = None
        self._ballot_log_end_offsets: dict[int, int] = {}
        self._ballots_received: int | None = None
        self._assigned: set[tuple[str, int]] = set()
        self._at_end: set[tuple[str, int]] = set()
        self._missing: tuple[str, ...] = tuple(self._topic_of.values())
        self._metadata_seen = False
        self._connected = False
        self._kafka_error: str | None = None
        self._messages_read = 0
        self._dirty = True

        self._lock = threading.Lock()
        self._snapshot = ResultSnapshot()
        self._first_read = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="result-reader", daemon=True)

    # --- the page's side ------------------------------------------------------------------

    def start(self) -> ResultReader:
        """Start following the topics; returns self."""
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def snapshot(self) -> ResultSnapshot:
        """The latest immutable snapshot; cheap, never touches Kafka."""
        with self._lock:
            return self._snapshot

    def wait_for_first_read(self, timeout: float) -> bool:
        """Block until the topics were read to their ends once (or Kafka failed)."""
        return self._first_read.wait(timeout)

    def wait_for(self, condition, timeout: float) -> ResultSnapshot:
        """Wait until condition(snapshot) holds; returns the last snapshot either way."""
        deadline = time.monotonic() + timeout
        snapshot = self.snapshot()
        while not condition(snapshot) and time.monotonic() < deadline:
            time.sleep(0.05)
            snapshot = self.snapshot()
        return snapshot

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close the consumer."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the thread's side ----------------------------------------------------------------

    def _new_consumer(self) -> Consumer:
        return Consumer(
            client_config(
                self.bootstrap_servers,
                **{
                    # Offsets are assigned explicitly and never committed; the group is a formality.
                    "group.id": f"election-dashboard-{uuid.uuid4()}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "auto.offset.reset": "earliest",
                    "enable.partition.eof": True,
                    "allow.auto.create.topics": False,
                    "isolation.level": "read_committed",
                    "socket.connection.setup.timeout.ms": 3000,
                    "reconnect.backoff.max.ms": 2000,
                    "error_cb": self._on_error,
                    "logger": log,
                },
            )
        )

    def _on_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT) or error.fatal():
            self._connected = False
            self._kafka_error = f"Kafka at {self.bootstrap_servers} unreachable: {error.str()}"
            self._dirty = True

    def _run(self) -> None:
        consumer: Consumer | None = None
        log: BallotLog | None = None
        next_metadata = next_ballot_log = last_publish = 0.0
        while not self._stopping.is_set():
            try:
                if consumer is None:
                    consumer = self._new_consumer()
                now = time.monotonic()
                if now >= next_metadata:
                    next_metadata = now + self._metadata_interval_s
                    self._follow_new_partitions(consumer)
                if now >= next_ballot_log:
                    next_ballot_log = now + self._ballot_log_interval_s
                    log = log or BallotLog(self.bootstrap_servers, self.votes_topic)
                    self._read_ballot_log_ends(log)
                for message in consumer.consume(num_messages=5000, timeout=self._poll_timeout_s):
                    self._apply(message)
                # Until the first full read, publish at once: the page is waiting for it.
                first = not self._first_read.is_set() and (self._caught_up() or self._kafka_error)
                if first or (
                    self._dirty and time.monotonic() - last_publish >= self._publish_interval_s
                ):
                    self._publish()
                    last_publish = time.monotonic()
                if first:
                    self._first_read.set()
            except Exception as exc:  # Kafka down or a broken message: say so, keep going
                self._connected = False
                self._kafka_error = f"Kafka at {self.bootstrap_servers}: {exc}"
                self._publish()
                self._first_read.set()
                self._stopping.wait(1.0)
        if consumer is not None:
            consumer.close()
        if log is not None:
            log.close()

    def _follow_new_partitions(self, consumer: Consumer) -> None:
        metadata = consumer.list_topics(timeout=3)
        self._connected, self._kafka_error, self._metadata_seen = True, None, True
        new: list[TopicPartition] = []
        missing = []
        for topic in self._topic_of.values():
            topic_metadata = metadata.topics.get(topic)
            if topic_metadata is None or topic_metadata.error is not None:
                missing.append(topic)
                continue
            for partition in topic_metadata.partitions:
                if (topic, partition) not in self._assigned:
                    new.append(TopicPartition(topic, partition, OFFSET_BEGINNING))
        if new:
            consumer.incremental_assign(new)
            self._assigned.update((tp.topic, tp.partition) for tp in new)
        if tuple(missing) != self._missing:
            self._missing = tuple(missing)
        self._dirty = True

    def _read_ballot_log_ends(self, log: BallotLog) -> None:
        found = log.ends(timeout=3)  # {} while votes_topic does not exist
        ends = {p: e.end for p, e in found.items()}
        received = sum(max(0, e.end - e.first) for e in found.values()) if found else None
        if ends != self._ballot_log_end_offsets or received != self._ballots_received:
            self._ballot_log_end_offsets, self._ballots_received = ends, received
            self._dirty = True

    def _caught_up(self) -> bool:
        return self._metadata_seen and self._at_end >= self._assigned

    def _apply(self, message) -> None:
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                self._at_end.add((message.topic(), message.partition()))
                self._dirty = True
            elif error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                log.warning("result topics: %s", error.str())
            return
        kind = self._kind_of.get(message.topic())
        if kind is None:
            return
        raw_key = message.key()
        key = raw_key.decode("utf-8", "replace") if raw_key else None
        if key is None:  # unkeyed messages cannot be replaced; keep each one
            key = f"{message.partition()}@{message.offset()}"
        self._last_message_at = datetime.now(UTC)
        self._messages_read += 1
        self._dirty = True
        raw_value = message.value()
        if raw_value is None:  # a tombstone deletes the key
            self._forget(kind, key)
            return
        try:
            value = json.loads(raw_value)
        except ValueError:
            log.warning(
                "skipping unreadable message on %s at %s", message.topic(), message.offset()
            )
            return
        if not isinstance(value, dict):
            return
        self._remember(kind, key, value)

    def _forget(self, kind: str, key: str) -> None:
        if kind == contract.REJECTED_VOTES_TOPIC:
            return  # a log of record: nothing on it is ever withdrawn
        removed = self._latest[kind].pop(key, None)
        if kind == contract.VOTES_PER_CANDIDATE_TOPIC and removed is not None:
            # A withdrawn candidate leaves the count's history too.
            candidate_id = str(removed.get("candidate_id") or key)
            for totals in self._totals_by_second.values():
                totals.pop(candidate_id, None)
            self._history_dirty = True

    def _remember(self, kind: str, key: str, value: dict) -> None:
        if kind == contract.REJECTED_VOTES_TOPIC:
            # Only the reason is kept: `raw` carries the ballot, which must not reach the page.
            self._rejections.add(key, str(value.get("reason") or "unknown"))
            moment = parse_time(value.get("detected_at"))
        elif kind in _CONTEST_KEYED and (problem := _contest_problem(kind, key, value)):
            what = _CONTEST_KEYED[kind]
            log.warning("skipping a %s message on %s: %s", what, self._topic_of[kind], problem)
            return
        else:
            self._latest[kind][key] = MappingProxyType(value)
            moment = parse_time(value.get("updated_at") or value.get("called_at"))
        if moment is not None and (
            self._newest_result_at is None or moment > self._newest_result_at
        ):
            self._newest_result_at = moment
        if kind == contract.VOTES_PER_CANDIDATE_TOPIC:
            moment = moment or datetime.now(UTC)
            totals = self._totals_by_second.setdefault(_second(moment), {})
            candidate_id = str(value.get("candidate_id") or key)
            totals[candidate_id] = max(
                totals.get(candidate_id, 0), int(value.get("total_votes") or 0)
            )
            self._history_dirty = True

    def _build_history(self) -> tuple[tuple[datetime, Mapping[str, int]], ...]:
        if self._history_dirty:
            running: dict[str, int] = {}
            history = []
            for second in sorted(self._totals_by_second):
                running = {**running, **self._totals_by_second[second]}
                history.append((second, MappingProxyType(running)))
            self._history, self._history_dirty = tuple(history), False
        return self._history

    def _publish(self) -> None:
        latest = self._latest
        snapshot = ResultSnapshot(
            candidates=MappingProxyType(dict(latest[contract.VOTES_PER_CANDIDATE_TOPIC])),
            turnout=MappingProxyType(dict(latest[contract.TURNOUT_BY_LOCATION_TOPIC])),
            states=MappingProxyType(dict(latest[contract.VOTES_PER_STATE_TOPIC])),
            race_calls=MappingProxyType(dict(latest[contract.RACE_CALLS_TOPIC])),
            contest_results=MappingProxyType(dict(latest[contract.CONTEST_RESULTS_TOPIC])),
            rcv_rounds=MappingProxyType(dict(latest[contract.RCV_ROUNDS_TOPIC])),
            rejected_by_reason=MappingProxyType(dict(self._rejections.by_reason)),
            history=self._build_history(),
            newest_result_at=self._newest_result_at,
            last_message_at=self._last_message_at,
            ballot_log_end_offsets=MappingProxyType(dict(self._ballot_log_end_offsets)),
            ballots_received=self._ballots_received,
            caught_up=self._caught_up(),
            connected=self._connected,
            kafka_error=self._kafka_error,
            missing_topics=self._missing,
            messages_read=self._messages_read,
        )
        with self._lock:
            self._snapshot = snapshot
        self._dirty = False
