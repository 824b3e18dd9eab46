"""The counting rules, as a plain reference implementation: the oracle the tally is tested against.

Each message is judged from itself alone, in this order, and the first rule it breaks is its
rejection reason: malformed (election.ballots.parse_ballot, key included; off its key's partition), unknown_voter,
unknown_candidate, polls_closed (by the broker's receipt time, never the voter's voting_time);
then one voter, one vote: of a voter's valid ballots, the first in (partition, offset) order
counts and the rest are duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from election import contract
from election.ballots import BallotError, parse_ballot, utc_iso
from election.partitioning import misplaced_detail, murmur2_partition

# The rules past well-formedness, in the order a ballot is checked; the first it breaks is
# its reason (a duplicate is decided last, among a voter's otherwise valid ballots).
CHECK_ORDER = (
    contract.MALFORMED,
    contract.UNKNOWN_VOTER,
    contract.UNKNOWN_CANDIDATE,
    contract.POLLS_CLOSED,
    contract.DUPLICATE,
)
# Their details: templates both executions fill in, this oracle with values and the tally's
# Spark transforms (spark_jobs.judging) with columns. The candidate is not named: the choice
# of a registered voter stays secret, even a wrong one.
UNKNOWN_VOTER_DETAIL = "voter '{voter_id}' is not on the roll"
UNKNOWN_CANDIDATE_DETAIL = "the candidate is not registered"
NOT_OPENED_DETAIL = "received before the polls opened"
EARLY_DETAIL = "received at {received}, before the polls opened at {opened}"
LATE_DETAIL = "received at {received}, after the polls closed at {closed}"
DUPLICATE_DETAIL = "the voter has already voted"


def unknown_voter_detail(voter_id: str) -> str:
    return UNKNOWN_VOTER_DETAIL.format(voter_id=voter_id)


def polls_closed_detail(
    received_at: dt.datetime, opened: dt.datetime | None, closed: dt.datetime | None
) -> str:
    """Why a ballot received at a moment is outside the polls, in the tally's words."""
    if opened is None:
        return NOT_OPENED_DETAIL
    if received_at < opened:
        return EARLY_DETAIL.format(received=utc_iso(received_at), opened=utc_iso(opened))
    return LATE_DETAIL.format(received=utc_iso(received_at), closed=utc_iso(closed))


class Message(NamedTuple):
    """One message of votes_topic as the broker holds it."""

    partition: int
    offset: int
    key: bytes | str | None
    value: bytes | str | None
    received_at: dt.datetime  # the broker's LogAppendTime stamp


class Rejection(NamedTuple):
    """A message that does not count, by its place on votes_topic."""

    partition: int
    offset: int
    vote_id: str | None
    reason: str
    detail: str


@dataclass
class Count:
    """The outcome of counting a ballot log."""

    per_candidate: dict[str, int]  # every registered candidate, zeros included
    per_state: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, candidate)
    turnout_by_state: dict[str, int] = field(default_factory=dict)  # voters counted
    rejections: list[Rejection] = field(default_factory=list)  # in (partition, offset) order

    @property
    def counted(self) -> int:
        return sum(self.per_candidate.values())

    def rejected_by_reason(self) -> dict[str, int]:
        """How many messages each rejection reason caught; every reason, zeros included."""
        found = Counter(r.reason for r in self.rejections)
        return {reason: found[reason] for reason in contract.REJECTION_REASONS}


def count(
    messages: Iterable[Message],
    registered_voters: Mapping[str, str],
    candidate_ids: Iterable[str],
    polls_opened_at: dt.datetime | None,
    polls_closed_at: dt.datetime | None,
    *,
    partitions: int | None,
) -> Count:
    """Count messages of votes_topic (Message or equal tuples) for a roll {voter_id: state}.

    A ballot received exactly at the opening counts; one received at the closing time does not.
    partitions is votes_topic's partition count: a ballot off its key's murmur2 partition is
    malformed. None judges no placement (for logs a test lays out by hand).
    """
    candidates = list(dict.fromkeys(candidate_ids))
    known_candidates = set(candidates)
    opened = _aware(polls_opened_at) if polls_opened_at is not None else None
    closed = _aware(polls_closed_at) if polls_closed_at is not None else None
    result = Count(per_candidate=dict.fromkeys(candidates, 0))
    voted: set[str] = set()
    for partition, offset, key, value, received_at in sorted(messages, key=lambda m: (m[0], m[1])):
        received = _aware(received_at)
        try:
            ballot = parse_ballot(value, key)
        except BallotError as error:
            result.rejections.append(
                Rejection(partition, offset, error.vote_id, error.reason, error.detail)
            )
            continue
        if partitions is not None:
            expected = murmur2_partition(ballot["voter_id"].encode("utf-8"), partitions)
            if partition != expected:
                detail = misplaced_detail(partition, expected, partitions)
                result.rejections.append(
                    Rejection(partition, offset, ballot["vote_id"], contract.MALFORMED, detail)
                )
                continue
        voter_id, candidate_id = ballot["voter_id"], ballot["candidate_id"]
        reason = detail = None
        if voter_id not in registered_voters:
            reason, detail = contract.UNKNOWN_VOTER, unknown_voter_detail(voter_id)
        elif candidate_id not in known_candidates:
            reason, detail = contract.UNKNOWN_CANDIDATE, UNKNOWN_CANDIDATE_DETAIL
        elif opened is None or received < opened or (closed is not None and received >= closed):
            reason, detail = contract.POLLS_CLOSED, polls_closed_detail(received, opened, closed)
        elif voter_id in voted:
            reason, detail = contract.DUPLICATE, DUPLICATE_DETAIL
        if reason is not None:
            result.rejections.append(
                Rejection(partition, offset, ballot["vote_id"], reason, detail)
            )
            continue
        voted.add(voter_id)
        state = registered_voters[voter_id]
        result.per_candidate[candidate_id] += 1
        result.per_state[(state, candidate_id)] = result.per_state.get((state, candidate_id), 0) + 1
        result.turnout_by_state[state] = result.turnout_by_state.get(state, 0) + 1
    return result


def _aware(moment: dt.datetime) -> dt.datetime:
    # The contract's times are UTC; a naive time given here is read the same way.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
