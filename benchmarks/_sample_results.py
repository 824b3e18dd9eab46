"""A made-up election's result messages, for the dashboard's tests, screenshots and benchmark."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from confluent_kafka import Producer

from election import contract
from election import messages as result_messages
from election.ballots import utc_iso
from election.contests import Contest, county_district
from election.definition import Definition, parse_definition, with_national_choices
from election_io import topics
from election_io.ballot_log import log_ends
from election_io.producers import producer_config
from election_io.topics import delete_topics  # noqa: F401 (re-exported for the callers)
from spark_jobs.ledger import BatchRecord
from streamlit_app.reader import FOLLOWED_TOPICS

Message = tuple[str, str, dict | None]  # (contract topic, key, value or None for a tombstone)


@dataclass(frozen=True)
class SampleCandidate:
    """A candidate of the made-up election, with a relative strength."""

    candidate_id: str
    candidate_name: str
    party_affiliation: str
    strength: float
    color: str

    @property
    def record(self) -> dict:
        """The candidate as the tally knows one (the candidates table's columns)."""
        return {
            "candidate_id": self.candidate_id,
            "candidate_name": self.candidate_name,
            "party_affiliation": self.party_affiliation,
            "photo_url": self.photo_url,
        }

    @property
    def photo_url(self) -> str:
        """A drawn portrait as a data URL, so pages render without the internet."""
        initials = "".join(part[0] for part in self.candidate_name.split()[:2])
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">'
            f'<rect width="120" height="120" rx="60" fill="{self.color}"/>'
            '<text x="60" y="76" font-size="44" font-family="sans-serif" fill="white"'
            f' text-anchor="middle">{initials}</text></svg>'
        )
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


SAMPLE_CANDIDATES = (
    SampleCandidate("cand-1", "Avery Johnson", "Harbor Party", 1.00, "#1f77b4"),
    SampleCandidate("cand-2", "Morgan Lee", "Prairie Alliance", 0.93, "#d62728"),
    SampleCandidate("cand-3", "Jordan Rivera", "Summit Movement", 0.35, "#2ca02c"),
    SampleCandidate("cand-4", "Casey Nguyen", "Independent", 0.12, "#ff7f0e"),
)


def _split(total: int, weights: list[float]) -> list[int]:
    """Split total into integers proportional to weights, summing exactly to total."""
    scale = sum(weights)
    shares = [total * weight / scale for weight in weights]
    parts = [int(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _iso(moment: datetime) -> str:
    return utc_iso(moment)


def sample_election(
    ballots: int,
    states: list[str],
    *,
    candidates: tuple[SampleCandidate, ...] = SAMPLE_CANDIDATES,
    batches: int = 1,
    through: int | None = None,
    rejected: int = 0,
    start: datetime | None = None,
    seed: int = 7,
) -> list[Message]:
    """The messages a tally would publish after counting `ballots` in `batches` micro-batches.

    Totals per candidate and per state sum to `ballots` once all batches are in (`through`
    stops earlier, mid-count); every batch republishes every key, one minute after the
    previous one, so the topics hold batches x keys messages.
    """
    rng = random.Random(seed)
    start = start or datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=batches)
    per_state = _split(ballots, [rng.uniform(0.2, 3.0) for _ in states])
    counts = {
        state: _split(n, [c.strength * rng.uniform(0.6, 1.4) for c in candidates])
        for state, n in zip(states, per_state, strict=True)
    }
    registered = {
        state: int(n / rng.uniform(0.55, 0.8)) + 1
        for state, n in zip(states, per_state, strict=True)
    }
    # Some candidates' voters are counted early, some late, so the shares move during the night.
    pace = [rng.uniform(0.85, 1.2) for _ in candidates]
    messages: list[Message] = []
    for batch in range(1, (through or batches) + 1):
        moment = _iso(start + timedelta(minutes=batch))
        done = [(batch / batches) ** p for p in pace]
        so_far = {
            state: [int(n * done[i]) for i, n in enumerate(counts[state])] for state in states
        }
        for state in states:
            for candidate, n in zip(candidates, so_far[state], strict=True):
                key, value = result_messages.state_result(candidate.record, state, n, moment)
                messages.append((contract.VOTES_PER_STATE_TOPIC, key, value))
            key, value = result_messages.turnout_result(
                state, sum(so_far[state]), registered[state], moment
            )
            messages.append((contract.TURNOUT_BY_LOCATION_TOPIC, key, value))
        for i, candidate in enumerate(candidates):
            total = sum(so_far[state][i] for state in states)
            key, value = result_messages.candidate_result(candidate.record, total, moment)
            messages.append((contract.VOTES_PER_CANDIDATE_TOPIC, key, value))
    reasons = [
        contract.DUPLICATE,
        contract.UNKNOWN_VOTER,
        contract.MALFORMED,
        contract.UNKNOWN_CANDIDATE,
        contract.POLLS_CLOSED,
    ]
    reason_weights = [50, 20, 15, 10, 5]
    for n in range(rejected):
        key, value = result_messages.rejection(
            n % 4,
            n // 4,
            f"rejected-{seed}-{n}",
            rng.choices(reasons, reason_weights)[0],
            "made up for the dashboard",
            None,
            _iso(start + timedelta(minutes=1 + n * batches // max(1, rejected))),
        )
        messages.append((contract.REJECTED_VOTES_TOPIC, key, value))
    return messages


# The sample election as a user writes it (election/definition.py reads the file), and a few
# large counties of the sample states where its ballots are counted: enough to map and to read.
SAMPLE_DEFINITION = """
contests:
  - {id: national, name: President, district: nation}
  - id: senate-OH
    name: U.S. Senate, Ohio
    district: state:OH
    choices:
      - {id: sen-oh-1, name: Dana Brooks, party: Harbor Party}
      - {id: sen-oh-2, name: Riley Chen, party: Prairie Alliance}
      - {id: sen-oh-3, name: Sam Ortiz}
  - id: measure-OH
    name: "Ohio Issue 1: Fund parks and open space"
    district: state:OH
    kind: measure
    choices: [{id: "yes", name: "Yes"}, {id: "no", name: "No"}]
  - id: governor-UT
    name: Governor, Utah
    district: state:UT
    choices:
      - {id: gov-ut-1, name: Quinn Hale, party: Summit Movement}
      - {id: gov-ut-2, name: Robin Park, party: Harbor Party}
  - id: commission-39035
    name: Cuyahoga County Commission
    district: county:39035
    vote_for: 2
    choices:
      - {id: com-1, name: Alex Kim, party: Harbor Party}
      - {id: com-2, name: Blair Fox}
      - {id: com-3, name: Cameron Diaz, party: Prairie Alliance}
"""
SAMPLE_COUNTIES = ("39035", "39049", "39061", "48201", "48113", "49035")


def sample_definition(candidates: tuple[SampleCandidate, ...] = SAMPLE_CANDIDATES) -> Definition:
    """A small election: the national race (the sample candidates), a senate race and a
    measure in Ohio, a governor in Utah and a county commission (vote for 2) in Cuyahoga."""
    return with_national_choices(
        parse_definition(SAMPLE_DEFINITION),
        [(c.candidate_id, c.candidate_name, c.party_affiliation) for c in candidates],
    )


def _county_count(contest: Contest, ballots: int, rng: random.Random) -> dict:
    """One contest in one county: over- and undervotes (in votes), the rest split over choices."""
    seats = contest.vote_for
    overvoted = int(ballots * rng.uniform(0.0, 0.01))
    blank = int(ballots * rng.uniform(0.005, 0.04) * (1 + contest.position))  # roll-off
    partly = int(ballots * rng.uniform(0.05, 0.15)) if seats > 1 else 0
    blank = min(blank, ballots - overvoted)
    partly = min(partly, ballots - overvoted - blank)
    undervotes = blank * seats + partly * (seats - 1)
    votes = ballots * seats - overvoted * seats - undervotes
    weights = [rng.uniform(0.5, 1.5) / (n + 1) ** 0.3 for n in range(len(contest.choices))]
    split = _split(votes, weights)
    return {
        "ballots": ballots,
        "overvotes": overvoted * seats,
        "undervotes": undervotes,
        "totals": dict(zip((c.choice_id for c in contest.choices), split, strict=True)),
    }


def sample_contest_results(
    definition: Definition, ballots: int = 20_000, *, moment: datetime | None = None, seed: int = 11
) -> list[Message]:
    """contest_results for every contest of `definition` in its district and every district
    inside it, summed up from made-up county counts: ballots x vote_for = votes + overvotes +
    undervotes in every message."""
    rng = random.Random(seed)
    at = _iso(moment or datetime.now(UTC).replace(microsecond=0))
    parents = {d.district_id: d.parent_id for d in definition.districts}
    counties = [county_district(fips) for fips in SAMPLE_COUNTIES]
    sizes = _split(ballots, [rng.uniform(0.3, 3) for _ in counties])
    messages: list[Message] = []
    for contest in definition.contests:
        by_district: dict[str, dict] = {}
        for county, size in zip(counties, sizes, strict=True):
            # the county, its state, the nation: up to the contest's own district, if inside it
            chain = [county, parents[county], parents[parents[county]]]
            if contest.district_id not in chain:
                continue
            count = _county_count(contest, size, rng)
            for district in chain[: chain.index(contest.district_id) + 1]:
                total = by_district.setdefault(
                    district, {"ballots": 0, "overvotes": 0, "undervotes": 0, "totals": {}}
                )
                for field_name in ("ballots", "overvotes", "undervotes"):
                    total[field_name] += count[field_name]
                for choice, votes in count["totals"].items():
                    total["totals"][choice] = total["totals"].get(choice, 0) + votes
        for district, total in by_district.items():
            key, value = result_messages.contest_result(
                contest.contest_id, district, **total, updated_at=at
            )
            messages.append((contract.CONTEST_RESULTS_TOPIC, key, value))
    return messages


def candidate_totals(messages: Iterable[Message]) -> dict[str, int]:
    """The latest total per candidate name in a list of messages."""
    latest: dict[str, int] = {}
    for topic, _, value in messages:
        if topic == contract.VOTES_PER_CANDIDATE_TOPIC and value is not None:
            latest[value["candidate_name"]] = value["total_votes"]
    return latest


def create_topics(
    bootstrap_servers: str, topic_names: Mapping[str, str], partitions: int = 3
) -> None:
    """Create the followed result topics (compacted) and the ballot log under their given names."""
    for name in (*FOLLOWED_TOPICS, contract.VOTES_TOPIC):
        if name in topic_names:
            config = contract.topic_config(name)
            topics.ensure_topics(bootstrap_servers, [topic_names[name]], partitions, config=config)


def publish(
    bootstrap_servers: str, topic_names: Mapping[str, str], messages: Iterable[Message]
) -> int:
    """Produce the messages to their topics (by contract name) and wait until all are written."""
    producer = Producer(
        producer_config(bootstrap_servers, **{"linger.ms": 20, "compression.type": "lz4"})
    )
    sent = 0
    for topic, key, value in messages:
        payload = None if value is None else json.dumps(value).encode()
        while True:
            try:
                producer.produce(topic_names[topic], key=key.encode(), value=payload)
                break
            except BufferError:  # the local queue is full: let it drain
                producer.poll(0.1)
        sent += 1
    if producer.flush(60) != 0:
        raise RuntimeError("not every sample result message was written to Kafka")
    return sent


def publish_ballot_log(bootstrap_servers: str, votes_topic: str, ballots: int) -> None:
    """Put `ballots` placeholder messages on a ballot log, so the tally's lag can be measured."""
    producer = Producer(producer_config(bootstrap_servers, **{"linger.ms": 20}))
    for n in range(ballots):
        while True:
            try:
                producer.produce(votes_topic, key=f"voter-{n}".encode(), value=b"{}")
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def record_tally(database_url: str, bootstrap_servers: str, votes_topic: str, judged: int) -> None:
    """A tally ledger that has judged the first `judged` messages of the ballot log, in one batch."""
    ranges, left = {}, judged
    for partition, end in sorted(log_ends(bootstrap_servers, votes_topic).items()):
        take = min(left, end.end - end.first)
        if take:
            ranges[partition] = (end.first, end.first + take - 1)
        left -= take
    record = BatchRecord(judged, judged, 0, votes_topic, ranges)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected, "
            "end_offsets) VALUES ('live_tally', 0, %s, %s, 0, %s)",
            (judged, judged, record.end_offsets_json()),
        )
