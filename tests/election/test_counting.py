"""The counting rules' reference implementation: every reason, the order of checks, one vote each."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from election import contract, counting
from election.partitioning import murmur2_partition

OPEN = dt.datetime(2024, 11, 5, 7, tzinfo=dt.UTC)
CLOSE = dt.datetime(2024, 11, 5, 20, tzinfo=dt.UTC)
ROLL = {"alice": "Ohio", "bob": "Ohio", "carol": "Texas"}
CANDIDATES = ["x", "y"]


NOON = dt.datetime(2024, 11, 5, 12, tzinfo=dt.UTC)


def ballot(vote_id, voter_id, candidate_id, at=NOON, claimed="2024-11-05T12:00:00.000000Z"):
    """A ballot keyed by its voter, received by the broker at `at`; `claimed` is its voting_time."""
    value = json.dumps(
        {
            "vote_id": vote_id,
            "voter_id": voter_id,
            "candidate_id": candidate_id,
            "voting_time": claimed,
        }
    ).encode()
    return voter_id.encode(), value, at


def tally(messages, closed=CLOSE):
    """(partition, offset, ballot(...) or a bare value with no key, received at noon)."""
    log = [
        counting.Message(p, o, *sent) if isinstance(sent, tuple) else (p, o, None, sent, NOON)
        for p, o, sent in messages
    ]
    return counting.count(log, ROLL, CANDIDATES, OPEN, closed, partitions=None)


def test_valid_ballots_count_per_candidate_and_state():
    result = tally(
        [
            (0, 0, ballot("1", "alice", "x")),
            (0, 1, ballot("2", "bob", "y")),
            (1, 0, ballot("3", "carol", "x")),
        ]
    )
    assert result.per_candidate == {"x": 2, "y": 1}
    assert result.per_state == {("Ohio", "x"): 1, ("Ohio", "y"): 1, ("Texas", "x"): 1}
    assert result.turnout_by_state == {"Ohio": 2, "Texas": 1}
    assert result.rejections == [] and result.counted == 3


def test_every_reason():
    messages = [
        (0, 0, b"not json"),
        (0, 1, ballot("2", "mallory", "x")),
        (0, 2, ballot("3", "alice", "z")),
        (0, 3, ballot("4", "alice", "x", at=OPEN - dt.timedelta(microseconds=1))),
        (0, 4, ballot("5", "alice", "x", at=CLOSE)),
        (0, 5, ballot("6", "alice", "x")),
        (0, 6, ballot("7", "alice", "y")),
        (0, 7, None),
    ]
    result = tally(messages)
    assert [(r.offset, r.vote_id, r.reason) for r in result.rejections] == [
        (0, None, contract.MALFORMED),
        (1, "2", contract.UNKNOWN_VOTER),
        (2, "3", contract.UNKNOWN_CANDIDATE),
        (3, "4", contract.POLLS_CLOSED),
        (4, "5", contract.POLLS_CLOSED),
        (6, "7", contract.DUPLICATE),
        (7, None, contract.MALFORMED),
    ]
    assert result.per_candidate == {"x": 1, "y": 0}
    assert result.rejected_by_reason() == {
        contract.MALFORMED: 2,
        contract.UNKNOWN_VOTER: 1,
        contract.UNKNOWN_CANDIDATE: 1,
        contract.NOT_ON_BALLOT: 0,
        contract.DUPLICATE: 1,
        contract.POLLS_CLOSED: 2,
    }
    assert result.counted + len(result.rejections) == len(messages)


def test_first_valid_ballot_wins_not_the_first_ballot():
    # Invalid ballots do not use up a vote: the first *valid* one counts.
    result = tally(
        [
            (0, 0, ballot("1", "alice", "nobody")),
            (0, 1, ballot("2", "alice", "x", at=OPEN - dt.timedelta(hours=1))),
            (0, 2, ballot("3", "alice", "y")),
            (0, 3, ballot("4", "alice", "x")),
        ]
    )
    assert result.per_candidate == {"x": 0, "y": 1}
    assert [r.reason for r in result.rejections] == [
        contract.UNKNOWN_CANDIDATE,
        contract.POLLS_CLOSED,
        contract.DUPLICATE,
    ]


def test_order_is_partition_then_offset_whatever_the_input_order():
    messages = [
        (0, 5, ballot("late", "alice", "y")),
        (1, 0, ballot("3", "carol", "x")),
        (0, 2, ballot("early", "alice", "x")),
    ]
    result = tally(messages)
    assert result.per_candidate == {"x": 2, "y": 0}
    assert result.rejections == [
        counting.Rejection(0, 5, "late", contract.DUPLICATE, counting.DUPLICATE_DETAIL)
    ]


def test_checks_run_in_the_contract_order():
    # Unknown voter and unknown candidate and too late: the voter check comes first.
    assert (
        tally([(0, 0, ballot("1", "mallory", "z", at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))])
        .rejections[0]
        .reason
        == contract.UNKNOWN_VOTER
    )
    # Unknown candidate and too late: the candidate check comes first.
    assert (
        tally([(0, 0, ballot("1", "alice", "z", at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))])
        .rejections[0]
        .reason
        == contract.UNKNOWN_CANDIDATE
    )
    # Too late and already voted: polls_closed before duplicate.
    result = tally(
        [
            (0, 0, ballot("1", "alice", "x")),
            (0, 1, ballot("2", "alice", "x", at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))),
        ]
    )
    assert result.rejections[0].reason == contract.POLLS_CLOSED


def test_polls_open_at_opening_and_are_closed_at_closing_and_open_ended_while_open():
    edge = [
        (0, 0, ballot("1", "alice", "x", at=OPEN)),
        (0, 1, ballot("2", "bob", "x", at=CLOSE - dt.timedelta(microseconds=1))),
        (0, 2, ballot("3", "carol", "x", at=CLOSE)),
    ]
    closed = tally(edge)
    assert closed.per_candidate["x"] == 2
    assert closed.rejections == [
        counting.Rejection(
            0,
            2,
            "3",
            contract.POLLS_CLOSED,
            "received at 2024-11-05T20:00:00.000000Z, after the polls closed at "
            "2024-11-05T20:00:00.000000Z",
        )
    ]
    still_open = tally(edge, closed=None)
    assert still_open.per_candidate["x"] == 3 and not still_open.rejections


def test_the_voters_own_voting_time_decides_nothing():
    # stamped years ahead or before the polls, but received while they were open: counts
    ahead = ballot("1", "alice", "x", claimed="2099-01-01T00:00:00Z")
    behind = ballot("2", "bob", "x", claimed="2001-01-01T00:00:00-05:00")
    # stamped inside the polls but received after they closed: does not
    late = ballot("3", "carol", "x", at=CLOSE + dt.timedelta(seconds=1))
    result = tally([(0, 0, ahead), (0, 1, behind), (0, 2, late)])
    assert result.counted == 2
    assert [r.reason for r in result.rejections] == [contract.POLLS_CLOSED]


def test_a_message_keyed_by_another_id_is_malformed():
    key, value, at = ballot("1", "alice", "x")
    result = tally([(0, 0, (b"bob", value, at)), (1, 0, (None, value, at))])
    assert [(r.reason, r.detail) for r in result.rejections] == [
        (contract.MALFORMED, "the message is keyed by another id than its voter_id"),
        (contract.MALFORMED, "the message has no key"),
    ]
    assert result.counted == 0


def test_duplicate_reason_is_kept_whichever_candidate_it_names():
    result = tally(
        [
            (0, 0, ballot("1", "bob", "x")),
            (0, 1, ballot("2", "bob", "x")),
            (0, 2, ballot("3", "bob", "y")),
        ]
    )
    assert result.per_candidate == {"x": 1, "y": 0}
    assert [r.reason for r in result.rejections] == [contract.DUPLICATE, contract.DUPLICATE]


def test_naive_poll_times_are_utc():
    result = counting.count(
        [counting.Message(0, 0, *ballot("1", "alice", "x"))],
        ROLL,
        CANDIDATES,
        OPEN.replace(tzinfo=None),
        None,
        partitions=None,
    )
    assert result.counted == 1


@pytest.mark.parametrize("value", [b"{}", b'{"vote_id": "v"}', b"42"])
def test_malformed_messages_are_rejected_not_raised(value):
    assert tally([(3, 9, value)]).rejections[0][:2] == (3, 9)


def test_a_ballot_off_its_keys_murmur2_partition_is_malformed():
    # "alice" hashes to partition 3 of 4 (election.partitioning, Kafka's own murmur2)
    home = murmur2_partition(b"alice", 4)
    away = (home + 1) % 4
    log = [
        counting.Message(away, 0, *ballot("1", "alice", "x")),
        counting.Message(home, 0, *ballot("2", "alice", "y")),
        counting.Message(away, 1, b"bob", b"not json", NOON),
    ]
    result = counting.count(log, ROLL, CANDIDATES, OPEN, CLOSE, partitions=4)
    assert result.per_candidate == {"x": 0, "y": 1}  # the placed ballot counts, not a duplicate
    misplaced, unreadable = result.rejections
    assert (misplaced.reason, misplaced.vote_id) == (contract.MALFORMED, "1")
    assert misplaced.detail == (
        f"sits on partition {away}, but murmur2 places its key on partition {home} of 4"
    )
    assert unreadable.detail.startswith("not JSON")  # a parse error comes before placement


def test_every_reason_is_checked_once_and_the_duplicate_last():
    assert sorted(counting.CHECK_ORDER) == sorted(contract.REJECTION_REASONS)
    assert counting.CHECK_ORDER[0] == contract.MALFORMED
    assert counting.CHECK_ORDER[-1] == contract.DUPLICATE
