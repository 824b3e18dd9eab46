"""An imported election's voting day: the roll, the candidates and the ballots the
waves replay, from what election.cvr read out of a cast vote record report.

A report records ballots, not people: each record is one anonymous synthetic voter, with no
name, address or contact, one birth date for all, and as its home its own district (`nation`
or `precinct:<id>`) where the roll holds a state, which election.contests reads as such. The
candidates are the definition's choices, so the tally and the page can name them. The voting
day casts the records in their order, due along the turnout model's day curve, each with its
record's selections as the contract's `selections`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from election import turnout
from election.candidates import CANDIDATE_COLUMNS
from election.cvr import CvrBallot
from election.definition import Definition
from election.roll import VOTER_SCHEMA
from election.selection_draws import NO_MARK, PlannedSelections, SelectionBook

ANONYMOUS = "Anonymous voter"  # every imported voter's name: a report names nobody
# One adult birth date for all: the roll's checks see adults, its age bands learn nothing.
BIRTH_DATE = dt.date(1970, 1, 1)
NO_PARTY = "Nonpartisan"  # a report's candidates carry no party


def imported_roll(ballots: Sequence[CvrBallot]) -> pa.Table:
    """One voter per record (the roll's columns): its voter id, as registration number too,
    and its district as its home."""
    n = len(ballots)
    ids = [b.voter_id for b in ballots]
    columns = {
        "voter_id": ids,
        "voter_name": [ANONYMOUS] * n,
        "date_of_birth": [BIRTH_DATE] * n,
        "registration_number": ids,
        "address_state": [b.district_id for b in ballots],
    }
    return pa.Table.from_pydict(
        {f.name: columns.get(f.name, [None] * n) for f in VOTER_SCHEMA}, schema=VOTER_SCHEMA
    )


def imported_candidates(definition: Definition) -> pa.Table:
    """Every choice of every contest once (by choice id, the first contest's name), in ballot
    order, as the candidates table holds them: a choice id is its candidate id."""
    found: dict[str, dict] = {}
    for contest in sorted(definition.contests, key=lambda c: c.position):
        for choice in sorted(contest.choices, key=lambda c: c.position):
            found.setdefault(
                choice.choice_id,
                {
                    "candidate_id": choice.choice_id,
                    "candidate_name": choice.name,
                    "party_affiliation": choice.party or NO_PARTY,
                },
            )
    rows = list(found.values())
    return pa.Table.from_pydict(
        {c: [r.get(c) for r in rows] for c in CANDIDATE_COLUMNS},
        schema=pa.schema([(c, pa.string()) for c in CANDIDATE_COLUMNS]),
    )


def selections_text(selections: Mapping[str, list], definition: Definition) -> str:
    """A record's selections as compact JSON, its contests in ballot order."""
    position = {c.contest_id: c.position for c in definition.contests}
    ordered = dict(sorted(selections.items(), key=lambda item: position[item[0]]))
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))


def replay_plan(
    voter_ids: Sequence[str], homes: Sequence[str], texts: Sequence[str], seed: int
) -> turnout.BallotPlan:
    """The imported ballots as the voting day's plan: in the records' order, each due at a
    moment of the day drawn from the turnout model's curve (sorted, so the order holds), with
    the record's selections (texts, selections_text's). Deterministic for a seed."""
    n = len(voter_ids)
    if not len(homes) == len(texts) == n:
        raise ValueError(f"{n} voter ids, {len(homes)} homes and {len(texts)} selections")
    rng = np.random.default_rng([seed, 0xC1F])
    return turnout.BallotPlan(
        vote_id=turnout.vote_ids(seed, n),
        voter_id=np.array(voter_ids, dtype=object).reshape(n),
        candidate_id=np.full(n, None, dtype=object),
        address_state=np.array(homes, dtype=object).reshape(n),
        day_fraction=np.sort(turnout.day_fractions(rng, n)),
        kind=np.full(n, turnout.BALLOT, dtype=object),
        selections=replayed_selections(texts),
    )


def replayed_selections(texts: Sequence[str]) -> PlannedSelections:
    """Each ballot's selections (selections_text's JSON) as a plan's marks: every distinct
    record read once, every distinct (contest, selection) one entry of the book."""
    encoded = pa.array(texts, pa.string()).dictionary_encode()
    patterns = [json.loads(t) for t in encoded.dictionary.to_pylist()]
    book: dict[tuple[str, tuple], int] = {}
    rows = np.full((len(patterns), max(map(len, patterns), default=0)), NO_MARK, dtype=np.int32)
    for row, pattern in enumerate(patterns):
        for slot, (contest_id, entries) in enumerate(pattern.items()):
            key = (contest_id, tuple(tuple(e) if isinstance(e, list) else e for e in entries))
            rows[row, slot] = book.setdefault(key, len(book))
    codes = rows[encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    return PlannedSelections(
        codes, SelectionBook.of(list(book)), np.full(len(texts), None, dtype=object)
    )
