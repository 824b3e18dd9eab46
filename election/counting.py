"""The counting rules, as a plain reference implementation: the oracle the tally is tested against.

Each message is checked in this order, and the first rule it breaks is its rejection reason:
malformed, unknown_voter, unknown_candidate, polls_closed; then one voter, one vote: of a
voter's valid ballots, the first in (partition, offset) order counts and the rest are
duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from election import contract
from election.ballots import BallotError, parse_ballot


class Rejection(NamedTuple):
    """A message that does not count, by its place on votes_topic."""

    partition: int
    offset: int
    vote_id: str | None
    reason: str


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
    messages: Iterable[tuple[int, int, bytes | None]],
    registered_voters: Mapping[str, str],
    candidate_ids: Iterable[str],
    polls_opened_at: dt.datetime,
    polls_closed_at: dt.datetime | None,
) -> Count:
    """Count (partition, offset, value) messages of votes_topic for a roll {voter_id: state}.

    A ballot cast exactly at the opening or the closing time is within the polls.
    """
    candidates = list(dict.fromkeys(candidate_ids))
    known_candidates = set(candidates)
    opened = _aware(polls_opened_at)
    closed = _aware(polls_closed_at) if polls_closed_at is not None else None
    result = Count(per_candidate=dict.fromkeys(candidates, 0))
    voted: set[str] = set()
    for partition, offset, value in sorted(messages, key=lambda m: (m[0], m[1])):
        try:
            ballot = parse_ballot(value)
        except BallotError as error:
            result.rejections.append(Rejection(partition, offset, error.vote_id, error.reason))
            continue
        voter_id, candidate_id = ballot["voter_id"], ballot["candidate_id"]
        reason = None
        if voter_id not in registered_voters:
            reason = contract.UNKNOWN_VOTER
        elif candidate_id not in known_candidates:
            reason = contract.UNKNOWN_CANDIDATE
        elif ballot["voting_time"] < opened or (
            closed is not None and ballot["voting_time"] > closed
        ):
            reason = contract.POLLS_CLOSED
        elif voter_id in voted:
            reason = contract.DUPLICATE
        if reason is not None:
            result.rejections.append(Rejection(partition, offset, ballot["vote_id"], reason))
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
