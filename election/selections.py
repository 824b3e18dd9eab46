"""A ballot's selections: their shape, and what each comes to in its contest.

A selection is a list of entries (DESIGN.md, votes_topic): a choice id, or for a ranked contest
null (a skipped rank) or a list of two or more ids (an overvote at that rank). Judged in steps:

- read_selections, from the message alone (election.ballots.parse_ballot, `malformed`): an object
  of non-empty contest ids to lists, each entry a non-empty choice id, null, or a list of 2+
  distinct non-empty ids; no text with a lone surrogate. The detail names the first broken entry
  in the message's order (entries counted from 1), never a choice.
- kind_error (`malformed`, for a contest the definition holds): a plurality contest or a measure
  takes choice ids only (no skipped rank, no rank overvote) and no id twice (a voter marks an oval
  once; an id twice is a producer's error, not a voter's). A ranked contest may repeat an id across
  ranks: what a repeat means is RCTab's to decide in the rounds; it marks no rank past its rules'
  `maxRankingsAllowed` (no ballot form has that rank). A contest the definition lacks is
  the count's `not_on_ballot`, never judged here.
- ContestRule.outcome, within a counted ballot, in votes: a plurality contest's k distinct ids are
  k votes and vote_for - k undervotes when k <= vote_for, else vote_for overvotes (none of them
  counts); a contest left out or an empty list is vote_for undervotes. A ranked contest counts its
  first choice as RCTab's round 1 does: ranks are read in order past skipped ones; a first marked
  rank past the rules' `maxSkippedRanksAllowed` exhausts the ballot (an undervote); an overvote
  at the first marked rank is an overvote, unless the rules' `overvoteRule` is
  `alwaysSkipToNextRank`, which goes on to the next marked rank (`exhaustImmediately`, RCTab's
  usual rule, and `exhaustIfMultipleContinuing`, every candidate continuing in round 1, exhaust
  it). No marked rank is an undervote.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple

from election.contests import RANKED, Contest
from election.json_values import json_type, valid_unicode

ALWAYS_SKIP_TO_NEXT_RANK = "alwaysSkipToNextRank"
# A selection's entries: a choice id, None (a skipped rank) or 2+ ids (a rank's overvote).
Entries = tuple[str | None | tuple[str, ...], ...]
QUOTED_LIMIT = 64  # a contest id longer than this is cut where a detail quotes it


class ShapeError(ValueError):
    """Selections shaped as the contract allows no selection; the message says which and how."""


def read_selections(value: object) -> dict[str, Entries]:
    """The selections field as contest id -> entries; ShapeError names the first broken entry."""
    if not isinstance(value, dict):
        raise ShapeError(f"field 'selections' is not an object but {json_type(value)}")
    found: dict[str, Entries] = {}
    for contest_id, entries in value.items():
        if contest_id == "":
            raise ShapeError("selections: a contest id is empty")
        if not valid_unicode(contest_id):
            raise ShapeError(f"selections: contest id {quoted(contest_id)} is not valid Unicode")
        where = f"selections[{quoted(contest_id)}]"
        if not isinstance(entries, list):
            raise ShapeError(f"{where} is not a list but {json_type(entries)}")
        found[contest_id] = tuple(_entry(e, f"{where} entry {i}") for i, e in enumerate(entries, 1))
    return found


def _entry(entry: object, where: str) -> str | None | tuple[str, ...]:
    if entry is None or (isinstance(entry, str) and _choice_id(entry, where)):
        return entry
    if not isinstance(entry, list):
        raise ShapeError(f"{where} is {json_type(entry)}, not a choice id")
    if len(entry) < 2:
        raise ShapeError(f"{where} lists {len(entry)} choices: a rank's overvote lists 2 or more")
    for choice in entry:
        if not isinstance(choice, str):
            raise ShapeError(f"{where} lists {json_type(choice)}, not a choice id")
        _choice_id(choice, where)
    if len(set(entry)) != len(entry):
        raise ShapeError(f"{where} lists one choice twice")
    return tuple(entry)


def _choice_id(text: str, where: str) -> bool:
    if text == "":
        raise ShapeError(f"{where} is an empty choice id")
    if not valid_unicode(text):
        raise ShapeError(f"{where} is not valid Unicode")
    return True


def quoted(text: str) -> str:
    """A contest id as a detail quotes it: repr, cut to QUOTED_LIMIT characters."""
    return repr(text[:QUOTED_LIMIT] + "…" if len(text) > QUOTED_LIMIT else text)


def kind_error(contest: Contest, entries: Entries) -> str | None:
    """Why a selection is malformed for its contest's kind (see the module), or None."""
    if contest.kind == RANKED:
        limit = max_rankings(contest.rules or {})
        marked = max((i for i, e in enumerate(entries, 1) if e is not None), default=0)
        if limit is not None and marked > limit:
            return (
                f"selections[{quoted(contest.contest_id)}] marks rank {marked}: "
                f"the contest allows {limit} rankings (maxRankingsAllowed)"
            )
        return None
    for i, entry in enumerate(entries, 1):
        if not isinstance(entry, str):
            what = "null" if entry is None else "a list"
            return (
                f"selections[{quoted(contest.contest_id)}] entry {i} is {what}: "
                "only a ranked contest skips or overvotes a rank"
            )
    if len(entries) > 1 and len(set(entries)) != len(entries):
        return f"selections[{quoted(contest.contest_id)}] names one choice twice"
    return None


def choices_named(entries: Entries) -> Iterator[str]:
    """Every choice id a selection names, inside rank overvotes too."""
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        elif entry is not None:
            yield from entry


class Outcome(NamedTuple):
    """What one contest's selection comes to, in votes: the choices voted, overvotes, undervotes."""

    votes: tuple[str, ...]
    overvotes: int
    undervotes: int


class ContestRule:
    """How one contest turns a selection into an Outcome (see the module)."""

    def __init__(self, contest: Contest):
        self.contest = contest
        self.choice_ids = contest.choice_ids
        self.ranked = contest.kind == RANKED
        rules = contest.rules or {}
        self.skip_overvotes = rules.get("overvoteRule") == ALWAYS_SKIP_TO_NEXT_RANK
        self.max_skipped = max_skipped_ranks(rules)
        self.blank = Outcome((), 0, contest.vote_for)
        self.overvoted = Outcome((), contest.vote_for, 0)

    def outcome(self, entries: Entries | None) -> Outcome:
        if not entries:
            return self.blank
        if self.ranked:
            first = self.first_choice(entries)
            if first is None:
                return self.blank
            return self.overvoted if isinstance(first, tuple) else Outcome((first,), 0, 0)
        vote_for = self.contest.vote_for
        if len(entries) > vote_for:
            return self.overvoted
        return Outcome(entries, 0, vote_for - len(entries))

    def first_choice(self, entries: Entries) -> str | tuple[str, ...] | None:
        """The first choice as RCTab's round 1 reads it: an id, an overvote (a tuple) or None."""
        last = 0
        for rank, entry in enumerate(entries, 1):
            if entry is None:
                continue
            if self.max_skipped is not None and rank - last > self.max_skipped + 1:
                return None  # exhausted by skipped rankings
            last = rank
            if isinstance(entry, str) or not self.skip_overvotes:
                return entry
        return None


def max_rankings(rules: Mapping) -> int | None:
    """The rules' maxRankingsAllowed as a number; None when "max", not given or not a number."""
    return _number(rules, "maxRankingsAllowed")


def max_skipped_ranks(rules: Mapping) -> int | None:
    """The rules' maxSkippedRanksAllowed as a number; None when unlimited or not given."""
    return _number(rules, "maxSkippedRanksAllowed")


def _number(rules: Mapping, name: str) -> int | None:
    """A whole-number rule; None when not given or a word ("max", "unlimited")."""
    value = rules.get(name)
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
