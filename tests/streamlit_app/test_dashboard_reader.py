"""The shared result reader against the real Kafka: latest value per key, incremental, late topics."""

from __future__ import annotations

import socket

import pytest

from benchmarks import _sample_results as sample_results
from election import contract
from streamlit_app.reader import ResultReader, ResultSnapshot, parse_time, topic_names_from_env

from .ranked_contest import MAJORITY, TRANSFER, rounds_message

CANDIDATES = contract.VOTES_PER_CANDIDATE_TOPIC
REJECTED = contract.REJECTED_VOTES_TOPIC
ROUNDS = contract.RCV_ROUNDS_TOPIC


def candidate(candidate_id: str, votes: int, minute: int = 0) -> tuple[str, str, dict]:
    value = {
        "candidate_id": candidate_id,
        "candidate_name": f"Name {candidate_id}",
        "party_affiliation": "Party",
        "photo_url": None,
        "total_votes": votes,
        "updated_at": f"2026-11-03T20:{minute:02d}:30Z",
    }
    return (CANDIDATES, candidate_id, value)


@pytest.fixture
def reader_for(bootstrap_servers: str):
    """Start readers on given topics; stop them all afterwards."""
    readers: list[ResultReader] = []

    def start(names: dict[str, str], **options) -> ResultReader:
        reader = ResultReader(bootstrap_servers, names, **options).start()
        readers.append(reader)
        return reader

    yield start
    for reader in readers:
        reader.stop()


@pytest.mark.services
def test_keeps_the_latest_value_per_key_and_forgets_tombstones(
    bootstrap_servers, result_topics, reader_for
):
    sample_results.publish(
        bootstrap_servers,
        result_topics,
        [
            candidate("a", 10),
            candidate("b", 5),
            candidate("a", 25, minute=1),
            candidate("gone", 3),
            (CANDIDATES, "gone", None),
            (REJECTED, "0:5", {"vote_id": "v1", "reason": "duplicate", "raw": '{"voter_id": "x"}'}),
            (REJECTED, "1:7", {"vote_id": "v2", "reason": "malformed", "raw": "garbage"}),
            # the same rejection published again (a batch re-published after a crash)
            (REJECTED, "1:7", {"vote_id": "v2", "reason": "malformed", "raw": "garbage"}),
        ],
    )
    reader = reader_for(result_topics)
    assert reader.wait_for_first_read(timeout=20)
    snapshot = reader.wait_for(lambda s: s.messages_read >= 8, timeout=10)

    assert {key: value["total_votes"] for key, value in snapshot.candidates.items()} == {
        "a": 25,
        "b": 5,
    }
    assert snapshot.ballots_counted == 30
    # Only the reason of a rejection is kept; its raw ballot never reaches the page.
    assert dict(snapshot.rejected_by_reason) == {"duplicate": 1, "malformed": 1}
    assert snapshot.caught_up and snapshot.connected and snapshot.kafka_error is None
    assert snapshot.newest_result_at == parse_time("2026-11-03T20:01:30Z")
    # The count over time: one point per minute of tally time, totals carried forward.
    assert [dict(totals) for _, totals in snapshot.history] == [
        {"a": 10, "b": 5},
        {"a": 25, "b": 5},
    ]


@pytest.mark.services
def test_reads_new_messages_incrementally(bootstrap_servers, result_topics, reader_for):
    sample_results.publish(bootstrap_servers, result_topics, [candidate("a", 1), candidate("b", 2)])
    reader = reader_for(result_topics)
    first = reader.wait_for(lambda s: s.messages_read == 2, timeout=20)
    assert first.ballots_counted == 3

    sample_results.publish(bootstrap_servers, result_topics, [candidate("a", 7, minute=2)])
    second = reader.wait_for(lambda s: s.ballots_counted == 9, timeout=20)

    assert second.ballots_counted == 9
    # Only the new message was read: the reader never starts over from the beginning.
    assert second.messages_read == 3
    assert first.ballots_counted == 3, "a snapshot never changes once taken"


@pytest.mark.services
def test_keeps_each_races_latest_call_by_contest_and_district_and_skips_misnamed_ones(
    bootstrap_servers, result_topics, reader_for, caplog
):
    definition = sample_results.sample_definition()
    earlier = sample_results.sample_contest_results(definition, 1_000, seed=1)
    later = sample_results.sample_contest_results(definition, 2_000, seed=2)
    senate = {"contest_id": "senate-OH", "district_id": "state:OH", "called": True}
    whole = {"contest_id": "national", "district_id": "nation", "called": False}
    hostile = [
        ("*", {"race": "*", "called": True}),  # the seed's keys, from before contests
        ("Ohio", {"address_state": "Ohio", "called": True}),
        ("national|state:OH", senate),  # another race's key
        ("senate-OH|state:UT", {"contest_id": "senate-OH"}),  # no district
    ]
    sample_results.publish(
        bootstrap_servers,
        result_topics,
        [
            *earlier,
            *later,
            (contract.RACE_CALLS_TOPIC, "national|nation", whole),
            *((contract.RACE_CALLS_TOPIC, key, value) for key, value in hostile),
            (contract.RACE_CALLS_TOPIC, "senate-OH|state:OH", senate),
        ],
    )
    reader = reader_for(result_topics)
    assert reader.wait_for_first_read(timeout=20)
    snapshot = reader.wait_for(lambda s: len(s.race_calls) == 2 and s.caught_up, timeout=20)

    assert dict(snapshot.contest_results) == {key: value for _, key, value in later}
    assert dict(snapshot.race_calls) == {"national|nation": whole, "senate-OH|state:OH": senate}
    assert snapshot.calls_in("senate-OH") == {"state:OH": senate}
    skipped = [r.getMessage() for r in caplog.records if "skipping a race call" in r.getMessage()]
    assert len(skipped) == len(hostile) and all("\n" not in line for line in skipped)


@pytest.mark.services
def test_keeps_each_ranked_contest_s_latest_rounds_and_skips_misnamed_ones(
    bootstrap_servers, result_topics, reader_for, caplog
):
    def rounds(rankings: dict, district_id: str = "state:OH") -> tuple[str, str, dict]:
        return (ROUNDS, *rounds_message(rankings, district_id))

    _, _, good = rounds(MAJORITY)
    hostile = [
        ("mayor-OH|state:OH", [good]),  # not an object
        ("mayor-OH|state:OH", {**good, "results": {"round": 1}}),  # no list of rounds
        ("mayor-OH|state:OH", {key: v for key, v in good.items() if key != "results"}),
        ("mayor-OH|state:UT", good),  # another district's key
        ("mayor-OH|state:OH", {**good, "district_id": None}),
    ]
    sample_results.publish(
        bootstrap_servers,
        result_topics,
        [
            rounds(TRANSFER),
            rounds(MAJORITY),  # the latest rounds replace the earlier ones
            rounds(TRANSFER, "county:39035"),
            (ROUNDS, "mayor-OH|county:39035", None),  # and a tombstone deletes them
            *((ROUNDS, key, value) for key, value in hostile),
        ],
    )
    reader = reader_for(result_topics)
    count = 4 + len(hostile)
    snapshot = reader.wait_for(lambda s: s.messages_read >= count and s.caught_up, timeout=20)

    assert dict(snapshot.rcv_rounds) == {"mayor-OH|state:OH": good}
    assert snapshot.has_results
    skipped = [r.getMessage() for r in caplog.records if "skipping a rounds" in r.getMessage()]
    assert len(skipped) == len(hostile) - 1, "a value that is no object is dropped quietly"


@pytest.mark.services
def test_follows_a_topic_that_appears_later(bootstrap_servers, topic_names, reader_for):
    reader = reader_for(topic_names, metadata_interval_s=0.3)
    assert reader.wait_for_first_read(timeout=20)
    assert set(reader.snapshot().missing_topics) == {
        topic_names[name] for name in (CANDIDATES, REJECTED)
    } | {
        topic_names[contract.TURNOUT_BY_LOCATION_TOPIC],
        topic_names[contract.VOTES_PER_STATE_TOPIC],
        topic_names[contract.RACE_CALLS_TOPIC],
        topic_names[contract.CONTEST_RESULTS_TOPIC],
        topic_names[contract.RCV_ROUNDS_TOPIC],
    }
    assert not reader.snapshot().has_results

    sample_results.create_topics(bootstrap_servers, topic_names)
    sample_results.publish(bootstrap_servers, topic_names, [candidate("late", 42)])
    snapshot = reader.wait_for(lambda s: s.ballots_counted == 42, timeout=20)

    assert snapshot.ballots_counted == 42
    assert snapshot.missing_topics == ()


@pytest.mark.services
def test_reads_the_ballot_log_ends(bootstrap_servers, result_topics, reader_for):
    messages = sample_results.sample_election(900, ["Ohio", "Utah"], batches=2, rejected=40)
    sample_results.publish(bootstrap_servers, result_topics, messages)
    sample_results.publish_ballot_log(bootstrap_servers, result_topics[contract.VOTES_TOPIC], 1000)
    reader = reader_for(result_topics)

    snapshot = reader.wait_for(
        lambda s: s.ballots_received == 1000 and s.ballots_counted == 900, timeout=20
    )

    assert snapshot.ballots_rejected == 40
    assert sum(snapshot.ballot_log_end_offsets.values()) == 1000


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_says_when_kafka_is_down():
    reader = ResultReader(f"127.0.0.1:{closed_port()}", topic_names_from_env("")).start()
    try:
        assert reader.wait_for_first_read(timeout=15)
        snapshot = reader.wait_for(lambda s: s.kafka_error is not None, timeout=10)
    finally:
        reader.stop()
    assert snapshot.kafka_error and not snapshot.connected
    assert not snapshot.has_results and not snapshot.ballot_log_end_offsets


def test_an_empty_snapshot_knows_nothing():
    snapshot = ResultSnapshot()
    assert (snapshot.ballots_counted, snapshot.ballots_rejected, snapshot.has_results) == (
        0,
        0,
        False,
    )
    assert snapshot.ballots_received is None


def test_topic_names_move_with_a_prefix(monkeypatch):
    monkeypatch.setenv("DASHBOARD_TOPIC_PREFIX", "night_")
    assert (
        topic_names_from_env()[contract.VOTES_PER_STATE_TOPIC] == "night_aggregated_votes_per_state"
    )
    assert topic_names_from_env("")[contract.VOTES_TOPIC] == "votes_topic"
