"""The counting rules, as a plain reference implementation: the oracle the tally is tested against.

Each message is judged from itself alone (with the election's definition and roll), in this
order, and the first rule it breaks is its rejection reason:
- malformed: election.ballots.parse_ballot (key included), then off its key's partition, then a
  selection the kind of its contest does not allow (election.selections.kind_error: a plurality
  contest or a measure naming one id twice, skipping or overvoting a rank), in the message's order;
- unknown_voter; not_on_ballot (a contest not on the voter's ballot style, whether the
  definition holds it or not); unknown_candidate (a choice not in its contest); each names the
  lowest such contest id (by code point, as a UTF-8 byte sort orders it), never a choice;
- polls_closed (by the broker's receipt time, never the voter's voting_time);
then one voter, one vote: of a voter's valid ballots, the first in (partition, offset) order
counts and the rest are duplicates. A rejected ballot counts in no contest; a counted one counts
in every contest of its voter's style (election.contest_totals).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from election import contract
from election.ballots import SELECTIONS, BallotError, parse_ballot, utc_iso
from election.contest_totals import ContestTotals, DistrictTotals, Home, home_of
from election.contests import NATIONAL_CONTEST, Contest, home_state_district, national_contest
from election.partitioning import misplaced_detail, murmur2_partition
from election.selections import Entries, choices_named, kind_error

# The rules past well-formedness, in the order a ballot is checked; the first it breaks is
# its reason (a duplicate is decided last, among a voter's otherwise valid ballots).
CHECK_ORDER = (
    contract.MALFORMED,
    contract.UNKNOWN_VOTER,
    contract.NOT_ON_BALLOT,
    contract.UNKNOWN_CANDIDATE,
    contract.POLLS_CLOSED,
    contract.DUPLICATE,
)
# Their details: templates both executions fill in, this oracle with values and the tally's
# Spark transforms (spark_jobs.judging) with columns. No choice is named: the choice of a
# registered voter stays secret, even a wrong one.
UNKNOWN_VOTER_DETAIL = "voter '{voter_id}' is not on the roll"
NOT_ON_BALLOT_DETAIL = "contest '{contest_id}' is not on the voter's ballot"
UNKNOWN_CANDIDATE_DETAIL = "a choice in contest '{contest_id}' is not one of its choices"
NOT_OPENED_DETAIL = "received before the polls opened"
EARLY_DETAIL = "received at {received}, before the polls opened at {opened}"
LATE_DETAIL = "received at {received}, after the polls closed at {closed}"
DUPLICATE_DETAIL = "the voter has already voted"


def unknown_voter_detail(voter_id: str) -> str:
    return UNKNOWN_VOTER_DETAIL.format(voter_id=voter_id)


def not_on_ballot_detail(contest_id: str) -> str:
    return NOT_ON_BALLOT_DETAIL.format(contest_id=contest_id)


def unknown_candidate_detail(contest_id: str) -> str:
    return UNKNOWN_CANDIDATE_DETAIL.format(contest_id=contest_id)


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

    per_candidate: dict[str, int]  # the national contest's choices, zeros included
    per_state: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, candidate)
    turnout_by_state: dict[str, int] = field(default_factory=dict)  # ballots counted
    rejections: list[Rejection] = field(default_factory=list)  # in (partition, offset) order
    # (contest_id, district_id) -> its totals (election.contest_totals)
    results: dict[tuple[str, str], DistrictTotals] = field(default_factory=dict)
    # a ranked contest -> its counted ballots per ranking pattern (what its rounds are of)
    rankings: dict[str, Counter[Entries]] = field(default_factory=dict)
    counted: int = 0  # ballots counted

    def rejected_by_reason(self) -> dict[str, int]:
        """How many messages each rejection reason caught; every reason, zeros included."""
        found = Counter(r.reason for r in self.rejections)
        return {reason: found[reason] for reason in contract.REJECTION_REASONS}


def count(
    messages: Iterable[Message],
    registered_voters: Mapping[str, str | tuple[str | None, str | None]],
    candidate_ids: Iterable[str] | None,
    polls_opened_at: dt.datetime | None,
    polls_closed_at: dt.datetime | None,
    *,
    partitions: int | None,
    contests: Iterable[Contest] | None = None,
) -> Count:
    """Count messages of votes_topic (Message or equal tuples) for a roll of voters.

    The roll is {voter_id: state} or {voter_id: (state, county_fips)}, the state as the
    districts name it (`state:<state>`). contests are the election's; without them, the seed's
    one national contest of candidate_ids (give one or the other). per_candidate, per_state and
    turnout_by_state are the seed's view: the national contest in the nation and by state, and
    the ballots counted by state.

    A ballot received exactly at the opening counts; one received at the closing time does not.
    partitions is votes_topic's partition count: a ballot off its key's murmur2 partition is
    malformed. None judges no placement (for logs a test lays out by hand).
    """
    if (contests is None) == (candidate_ids is None):
        raise ValueError("count takes candidate_ids or contests, one of the two")
    contests = (national_contest(candidate_ids),) if contests is None else tuple(contests)
    homes = {voter_id: home_of(entry) for voter_id, entry in registered_voters.items()}
    totals = ContestTotals(contests, homes.values())
    opened = _aware(polls_opened_at) if polls_opened_at is not None else None
    closed = _aware(polls_closed_at) if polls_closed_at is not None else None
    result = Count(per_candidate={}, results=totals.results, rankings=totals.rankings)
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
        voter_id, home = ballot["voter_id"], homes.get(ballot["voter_id"])
        reason, detail = _judged(ballot, partition, partitions, home, totals)
        if reason is None and (
            opened is None or received < opened or (closed is not None and received >= closed)
        ):
            reason, detail = contract.POLLS_CLOSED, polls_closed_detail(received, opened, closed)
        elif reason is None and voter_id in voted:
            reason, detail = contract.DUPLICATE, DUPLICATE_DETAIL
        if reason is not None:
            result.rejections.append(
                Rejection(partition, offset, ballot["vote_id"], reason, detail)
            )
            continue
        voted.add(voter_id)
        totals.add(home, ballot[SELECTIONS])
        result.counted += 1
        state = home[0]
        result.turnout_by_state[state] = result.turnout_by_state.get(state, 0) + 1
    _national_view(result, contests, {state for state, _county in homes.values()})
    return result


def _national_view(result: Count, contests: tuple[Contest, ...], states: set) -> None:
    """The seed's totals: the national contest in its district and in each state, votes > 0."""
    national = next((c for c in contests if c.contest_id == NATIONAL_CONTEST), None)
    if national is None:
        return
    result.per_candidate = dict(result.results[(NATIONAL_CONTEST, national.district_id)].totals)
    for state in states:
        row = result.results.get((NATIONAL_CONTEST, home_state_district(state)))
        if row is not None:
            result.per_state.update(((state, c), n) for c, n in row.totals.items() if n)


def _judged(ballot: dict, partition: int, partitions: int | None, home, totals: ContestTotals):
    """The first rule a parsed ballot breaks before the polls' times: (reason, detail) or Nones."""
    if partitions is not None:
        expected = murmur2_partition(ballot["voter_id"].encode("utf-8"), partitions)
        if partition != expected:
            return contract.MALFORMED, misplaced_detail(partition, expected, partitions)
    selections = ballot[SELECTIONS]
    if (why := kind_problem(totals, selections)) is not None:
        return contract.MALFORMED, why
    if home is None:
        return contract.UNKNOWN_VOTER, unknown_voter_detail(ballot["voter_id"])
    return style_problem(totals, home, selections) or (None, None)


def kind_problem(totals: ContestTotals, selections: Mapping[str, Entries]) -> str | None:
    """The malformed detail of the first selection (in the message's order) its contest's kind
    does not allow (election.selections.kind_error), or None; unknown contests are not judged."""
    for contest_id, entries in selections.items():
        rule = totals.rules.get(contest_id)
        if rule is not None and (why := kind_error(rule.contest, entries)) is not None:
            return why
    return None


def style_problem(
    totals: ContestTotals, home: Home, selections: Mapping[str, Entries]
) -> tuple[str, str] | None:
    """not_on_ballot or unknown_candidate, with its detail, for a registered voter's ballot."""
    on_style = totals.style(home).by_contest
    if off_style := [c for c in selections if c not in on_style]:
        return contract.NOT_ON_BALLOT, not_on_ballot_detail(min(off_style))
    if unknown := [
        c
        for c, entries in selections.items()
        if not totals.rules[c].choice_ids.issuperset(choices_named(entries))
    ]:
        return contract.UNKNOWN_CANDIDATE, unknown_candidate_detail(min(unknown))
    return None


def _aware(moment: dt.datetime) -> dt.datetime:
    # The contract's times are UTC; a naive time given here is read the same way.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
