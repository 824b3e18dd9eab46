"""An election on the real services for the tally's integration tests: roll, ballots, the truth."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition

from election import contract, counting
from election.schema import TABLES
from election_io import topics
from election_io.producers import producer_config
from election_io.topics import delete_topics  # noqa: F401 (the tests' one way)

ROOT = Path(__file__).resolve().parents[2]
STATES = ("Ohio", "Texas", "Utah", "Maine", "Iowa")
CANDIDATES = ("cand-a", "cand-b", "cand-c")


@dataclass
class Roll:
    voters: dict[str, str]  # voter_id -> address_state
    candidates: tuple[str, ...] = CANDIDATES


def make_roll(n: int, seed: int = 5) -> Roll:
    rng = random.Random(seed)
    return Roll({f"voter-{i:05d}": rng.choice(STATES) for i in range(n)})


def copy_roll(conn: psycopg.Connection, voters: dict[str, str]) -> None:
    """The voters (voter_id -> state) into the voters table, with COPY."""
    with conn.cursor().copy(
        "COPY voters (voter_id, voter_name, date_of_birth, registration_number, address_state) "
        "FROM STDIN"
    ) as copy:
        for i, (voter_id, state) in enumerate(voters.items()):
            copy.write_row((voter_id, f"Voter {i}", "1980-01-01", f"REG-{i:07d}", state))


def register(database_url: str, roll: Roll) -> None:
    """The schema, the roll (COPY) and the candidates in a fresh database; polls not open."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(TABLES)
        copy_roll(conn, roll.voters)
        for c in roll.candidates:
            conn.execute(
                "INSERT INTO candidates (candidate_id, candidate_name, party_affiliation, photo_url) "
                "VALUES (%s, %s, %s, %s)",
                (c, f"Name of {c}", f"Party of {c}", f"https://example.org/{c}.jpg"),
            )
        conn.execute(
            "INSERT INTO elections (name, status, polls_opened_at) "
            "VALUES ('test', 'open', clock_timestamp() - interval '1 hour')"
        )


def close_polls(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE elections SET status = 'closed', polls_closed_at = clock_timestamp() "
            "WHERE election_id = (SELECT max(election_id) FROM elections)"
        )


def polls(database_url: str) -> tuple[datetime, datetime | None]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT polls_opened_at, polls_closed_at FROM elections ORDER BY election_id DESC LIMIT 1"
        ).fetchone()


def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    created = topics.ensure_topics(
        bootstrap, [topic], partitions, config=contract.VOTES_TOPIC_CONFIG
    )
    assert created == [topic], f"{topic} existed already"


def ballot_set(roll: Roll, n_voters: int, seed: int = 11) -> list[tuple[str | None, bytes | None]]:
    """(key, value) messages: first ballots, repeats, every kind of invalid ballot."""
    rng = random.Random(seed)
    now = datetime.now(UTC)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def message(vote_id, voter, candidate, moment) -> bytes:
        return json.dumps(
            {
                "vote_id": vote_id,
                "voter_id": voter,
                "candidate_id": candidate,
                "voting_time": stamp(moment),
            }
        ).encode()

    everyone = sorted(roll.voters)
    voters = rng.sample(everyone, n_voters)
    unvoted = sorted(set(everyone) - set(voters))[:17]
    out: list[tuple[str | None, bytes | None]] = []
    for i, voter in enumerate(voters):
        out.append((voter, message(f"vote-{i}", voter, rng.choice(roll.candidates), now)))
    k = len(out)
    for j in range(max(3, n_voters // 10)):  # repeat attempts, some for another candidate
        voter = rng.choice(voters)
        out.append((voter, message(f"vote-{k + j}", voter, rng.choice(roll.candidates), now)))
    k = len(out)
    problems = [
        ("stranger-1", message(f"vote-{k}", "stranger-1", roll.candidates[0], now)),
        ("stranger-2", message(f"vote-{k + 1}", "stranger-2", "nobody", now)),
        (voters[0], message(f"vote-{k + 2}", voters[0], "cand-unknown", now)),
        (voters[1], message(f"vote-{k + 3}", voters[1], "cand-unknown", now)),
        (
            voters[2],
            message(f"vote-{k + 4}", voters[2], roll.candidates[1], now - timedelta(days=2)),
        ),
        (
            voters[3],
            message(
                f"vote-{k + 5}", voters[3], roll.candidates[1], datetime(2099, 1, 1, tzinfo=UTC)
            ),
        ),
        (voters[4], b"{not json"),
        (voters[5], None),
        (voters[6], json.dumps({"vote_id": f"vote-{k + 6}", "voter_id": voters[6]}).encode()),
        (
            voters[7],
            json.dumps(
                {
                    "vote_id": f"vote-{k + 7}",
                    "voter_id": voters[7],
                    "candidate_id": 3,
                    "voting_time": stamp(now),
                }
            ).encode(),
        ),
        (None, b"[]"),
        # hostile: trailing bytes from voters who have not voted (Spark's JSON reader stops at
        # the first value), keys that are not the voter_id, a clock 40 s ahead, one vote_id
        # shared by two rejected messages, a near-limit ballot
        *[(v, message(f"nul-{v}", v, roll.candidates[0], now) + b"\x00") for v in unvoted[:5]],
        *[(v, message(f"text-{v}", v, roll.candidates[0], now) + b" x") for v in unvoted[5:8]],
        *[
            (w, message(f"key-{v}", v, roll.candidates[0], now))
            for v, w in zip(unvoted[8:12], unvoted[12:16], strict=True)
        ],
        (voters[8], message("skewed", voters[8], roll.candidates[0], now + timedelta(seconds=40))),
        ("stranger-3", message("shared", "stranger-3", roll.candidates[0], now)),
        ("stranger-4", message("shared", "stranger-4", roll.candidates[0], now)),
        (unvoted[16], near_limit(f"big-{k}", unvoted[16], roll.candidates[2], stamp(now))),
    ]
    out += problems
    rng.shuffle(out)
    return out


def near_limit(vote_id: str, voter: str, candidate: str, at: str) -> bytes:
    """A well-formed ballot just under votes_topic's door, padded by an ignored field."""
    head = {"vote_id": vote_id, "voter_id": voter, "candidate_id": candidate, "voting_time": at}
    room = contract.MAX_BALLOT_BYTES - len(json.dumps(head)) - 400  # record and batch framing
    return json.dumps({**head, "padding": "p" * room}).encode()


def produce(bootstrap: str, topic: str, messages, rate: float = 0.0) -> list[counting.Message]:
    """Produce messages in order (rate per second, 0 = as fast as possible), as the broker holds them."""
    producer = Producer(producer_config(bootstrap, **{"linger.ms": 5}))
    placed: list[counting.Message] = []
    errors: list[str] = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            placed.append(as_counted(msg))

    began = time.monotonic()
    for i, (key, value) in enumerate(messages):
        if rate:
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.produce(topic, value, key.encode() if key else None, on_delivery=delivered)
        producer.poll(0)
    producer.flush(30)
    assert not errors, errors
    assert len(placed) == len(messages)
    return placed


def refused(bootstrap: str, topic: str, key: bytes, value: bytes) -> str:
    """Produce one message that the broker should refuse; the delivery error it gave."""
    # the client's own limit is above the topic's, so the broker's door is what refuses it
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "message.max.bytes": 1_000_000}
    )
    errors: list[str] = []
    producer.produce(topic, value, key, on_delivery=lambda err, _msg: errors.append(str(err)))
    producer.flush(30)
    assert errors and errors[0] != "None", "the broker accepted a message over its door"
    return errors[0]


def truth(placed, roll: Roll, database_url: str, partitions: int) -> counting.Count:
    """The oracle's count of what the broker holds; partitions is the ballot topic's count."""
    opened, closed = polls(database_url)
    return counting.count(
        placed, roll.voters, roll.candidates, opened, closed, partitions=partitions
    )


def start_tally(
    database_url: str,
    topic: str,
    prefix: str,
    checkpoint: Path,
    *extra: str,
    fault: str = "",
    submit: bool = False,
) -> subprocess.Popen:
    """live_tally as its own process group (so a crash test can kill Python and JVM at once);
    with submit, under spark-submit through spark_jobs.launch, as on a cluster."""
    env = {
        **os.environ,
        "LIVE_TALLY_FAULT": fault,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "SPARK_DRIVER_MEMORY": "1g",
    }
    launcher = ["spark_jobs.launch", "--master", "local[2]"] if submit else []
    command = [
        sys.executable,
        "-m",
        *launcher,
        "spark_jobs.live_tally",
        "--until-drained",
        "--checkpoint",
        str(checkpoint),
        "--topic",
        topic,
        "--results-prefix",
        prefix,
        *([] if submit else ["--master", "local[2]"]),
        *extra,
    ]
    log = open(checkpoint.parent / f"{checkpoint.name}.log", "a")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def progress_lines(checkpoint: Path) -> list[dict]:
    lines = tally_log(checkpoint).splitlines()
    events = [json.loads(line) for line in lines if line.startswith('{"event":"progress"')]
    return events


def wait_until_started(process: subprocess.Popen, checkpoint: Path, timeout: float = 120) -> None:
    """Wait until the tally says it has started: its checks are done and its query reads."""
    deadline = time.monotonic() + timeout
    while '{"event":"started"' not in tally_log(checkpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("the tally never started:\n" + tally_log(checkpoint)[-4000:])
        time.sleep(0.5)


def tally_log(checkpoint: Path) -> str:
    path = checkpoint.parent / f"{checkpoint.name}.log"
    return path.read_text() if path.exists() else ""


def kill_hard(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def committed_batches(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM tally_batches").fetchone()[0]


def read_log(bootstrap: str, topic: str, timeout: float = 30.0) -> list:
    """Every message of a topic from its beginning to its end, as the broker holds it."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"check-{topic}", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        read = []
        position = dict.fromkeys(ends, 0)
        deadline = time.monotonic() + timeout
        while any(position[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            read.append(msg)
            position[msg.partition()] = msg.offset() + 1
        return read
    finally:
        consumer.close()


def latest_values(bootstrap: str, topic: str, timeout: float = 30.0) -> dict[str, dict]:
    """The latest value per key of a (compacted) topic, read from its beginning to its end."""
    return {m.key().decode(): json.loads(m.value()) for m in read_log(bootstrap, topic, timeout)}


def held(bootstrap: str, topic: str) -> list[counting.Message]:
    """The ballots a topic holds, placed and stamped by the broker: the truth's input when a
    producer's delivery reports cannot say where each landed (a retried batch the broker already
    had is reported without its offset)."""
    return [as_counted(m) for m in read_log(bootstrap, topic)]


def as_counted(message) -> counting.Message:
    """A Kafka message (confluent_kafka) as the oracle counts it, stamped by the broker
    (LogAppendTime)."""
    received = datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC)
    return counting.Message(
        message.partition(), message.offset(), message.key(), message.value(), received
    )


def ledger_state(database_url: str) -> dict:
    """What the tally wrote, in the shapes of the oracle's Count."""
    with psycopg.connect(database_url) as conn:
        q = conn.execute
        return {
            "per_candidate": dict(
                q("SELECT candidate_id, total_votes FROM tally_by_candidate").fetchall()
            ),
            "per_state": {
                (s, c): n
                for s, c, n in q(
                    "SELECT address_state, candidate_id, total_votes FROM tally_by_state"
                ).fetchall()
            },
            "ledger": {
                (s, c): n
                for s, c, n in q(
                    "SELECT address_state, candidate_id, count(*) FROM ballots GROUP BY 1, 2"
                ).fetchall()
            },
            "ledger_minutes_only": q(
                "SELECT bool_and(cast_at = date_trunc('minute', cast_at)) FROM ballots"
            ).fetchone()[0],
            "poll_book": dict(q("SELECT voter_id, voted_at FROM voter_turnout").fetchall()),
            "rejections": sorted(
                q(
                    "SELECT topic_partition, topic_offset, vote_id, reason FROM rejected_ballots"
                ).fetchall()
            ),
            "batches": q(
                "SELECT count(*), coalesce(sum(messages), 0), coalesce(sum(counted), 0), "
                "coalesce(sum(rejected), 0) FROM tally_batches"
            ).fetchone(),
        }


def counted_contests(document: dict[str, dict]) -> dict[str, dict]:
    """The rows of a results document (election.contest_totals.results_document) some ballot
    counted in: a contest and district nobody voted in has no row in the ledger."""
    return {key: row for key, row in document.items() if row["ballots"]}


def first_ballots(placed, result: counting.Count) -> dict[str, datetime]:
    """voter_id -> broker receipt of the ballot that counted (what the poll book must hold)."""
    rejected = {(r.partition, r.offset) for r in result.rejections}
    poll_book: dict[str, datetime] = {}
    for message in placed:
        if (message.partition, message.offset) in rejected:
            continue
        poll_book[json.loads(message.value)["voter_id"]] = message.received_at
    return poll_book


RESULT_TOPICS = (
    contract.VOTES_PER_CANDIDATE_TOPIC,
    contract.VOTES_PER_STATE_TOPIC,
    contract.TURNOUT_BY_LOCATION_TOPIC,
    contract.REJECTED_VOTES_TOPIC,
    contract.RACE_CALLS_TOPIC,
    contract.CONTEST_RESULTS_TOPIC,
)


@contextlib.contextmanager
def small_election(
    database_url: str, bootstrap: str, name: str, folder: Path, voters: int, partitions: int
) -> Iterator[dict]:
    """A registered roll with the polls open, an empty ballot topic `name`, its result topics
    prefixed `name.`, and a checkpoint folder; the topics are deleted afterwards."""
    roll = make_roll(voters)
    register(database_url, roll)
    create_topic(bootstrap, name, partitions=partitions)
    try:
        yield {
            "url": database_url,
            "bootstrap": bootstrap,
            "topic": name,
            "prefix": f"{name}.",
            "checkpoint": folder / "checkpoint",
            "roll": roll,
            "partitions": partitions,
        }
    finally:
        delete_topics(bootstrap, [name, *(f"{name}.{t}" for t in RESULT_TOPICS)])
