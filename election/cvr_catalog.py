"""A cast vote record report's static part: its units, candidates, contests and their selections.

Each report file is read on its own, as RCTab reads each of its CVR sources: a ContestSelection
id means what its own file says, and a candidate is known by its `Name`, or by the name the
RCTab configuration gives that name as an alias. Files of one election then merge: a contest is
one contest by its `@id` in every file, and within it a candidate is one choice by its name (its
choice id the first `@id` met), which is how RCTab joins the files of one tabulation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from election.contests import NATION, precinct_district
from election.cvr_config import Tabulation
from election.cvr_fields import (
    Place,
    identifier,
    integer,
    items,
    objects,
    quoted,
    reference,
    text,
)
from election.cvr_fields import flag as boolean
from election.rcv import UNDECLARED_WRITE_INS  # RCTab's one candidate for every write-in

WRITE_INS_ID = "undeclared-write-ins"  # its choice id, unless a candidate of that name has one
MOST_VOTES_ALLOWED = 1000


@dataclass
class ReportContest:
    """A contest as the files so far describe it; choices map a name to its choice id."""

    contest_id: str
    name: str
    variation: str | None
    votes_allowed: int | None
    names: set[str] = field(default_factory=set)  # its Name in every file
    choices: dict[str, str] = field(default_factory=dict)  # name -> choice id, ballot order
    ranks_seen: bool = False  # a record ranked it past 1

    def choice(self, name: str, choice_id: str, place: Place) -> str:
        """The id of the choice of that name, adding it (with choice_id) when it is new."""
        if name in self.choices:
            return self.choices[name]
        if choice_id in self.choices.values():
            place.fail(
                f"gives {quoted(choice_id)} a second name {quoted(name)} in contest "
                f"{quoted(self.contest_id)} (an alias in the configuration makes them one)"
            )
        self.choices[name] = choice_id
        return choice_id


@dataclass
class Catalog:
    """The static part of every file read so far."""

    scopes: dict[str, str | None] = field(default_factory=dict)  # scope unit id -> Name
    precincts: dict[str, str] = field(default_factory=dict)  # GpUnit id -> name
    contests: dict[str, ReportContest] = field(default_factory=dict)
    election_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FileCatalog:
    """What one file's ids mean: its elections, units and each contest's selections."""

    elections: frozenset[str]
    units: Mapping[str, str]  # GpUnit id -> the ballot's district id
    selections: Mapping[str, Mapping[str, str]]  # contest id -> ContestSelection id -> choice id


def read_catalog(
    report: Mapping, place: Place, catalog: Catalog, config: Tabulation
) -> FileCatalog:
    """Read one file's static part into the catalog; what its records' ids mean."""
    elections: set[str] = set()
    candidates: dict[str, str] = {}
    selections: dict[str, dict[str, str]] = {}
    pending = []
    for at, election in objects(report, "Election", place):
        _unique(elections, reference(election, "@id", at), at / "@id")
        if "ElectionScopeId" in election:
            catalog.scopes.setdefault(reference(election, "ElectionScopeId", at), None)
        if "Name" in election:
            catalog.election_names.append(text(election, "Name", at))
        for cat, candidate in objects(election, "Candidate", at, required=False):
            candidate_id = identifier(candidate, "@id", cat)
            _unique(candidates, candidate_id, cat / "@id")
            name = text(candidate, "Name", cat, default=candidate_id)
            candidates[candidate_id] = config.names.get(name, name)
        pending += list(objects(election, "Contest", at))
    for at, raw in pending:  # after every Election's candidates, which any contest may name
        contest = _contest(raw, at, catalog, config)
        _unique(selections, contest.contest_id, at / "@id")
        selections[contest.contest_id] = _selections(raw, at, contest, candidates)
    return FileCatalog(frozenset(elections), _units(report, place, catalog), selections)


def write_in_choice(contest: ReportContest, place: Place) -> str:
    return contest.choice(UNDECLARED_WRITE_INS, WRITE_INS_ID, place)


def _unique(seen, key: str, place: Place) -> None:
    if key in seen:
        place.fail(f"{quoted(key)} appears twice in the file")
    if isinstance(seen, set):
        seen.add(key)


def _units(report: Mapping, place: Place, catalog: Catalog) -> dict[str, str]:
    units: dict[str, str] = {}
    for at, unit in objects(report, "GpUnit", place, required=False):
        unit_id = reference(unit, "@id", at)
        _unique(units, unit_id, at / "@id")
        if unit_id in catalog.scopes:
            name = text(unit, "Name", at, default="Election")
            catalog.scopes[unit_id] = catalog.scopes[unit_id] or name
            units[unit_id] = NATION
        else:
            precinct = identifier(unit, "@id", at)
            catalog.precincts.setdefault(precinct, text(unit, "Name", at, default=precinct))
            units[unit_id] = precinct_district(precinct)
    return units


def _contest(raw: Mapping, at: Place, catalog: Catalog, config: Tabulation) -> ReportContest:
    contest_id = identifier(raw, "@id", at)
    name = text(raw, "Name", at, default=contest_id)
    variation = text(raw, "VoteVariation", at) if "VoteVariation" in raw else None
    votes_allowed = integer(raw, "VotesAllowed", at, 1, MOST_VOTES_ALLOWED)
    contest = catalog.contests.setdefault(
        contest_id, ReportContest(contest_id, name, variation, votes_allowed)
    )
    if (contest.variation, contest.votes_allowed) != (variation, votes_allowed):
        at.fail(
            "differs from an earlier file's contest of that @id in VoteVariation or VotesAllowed"
        )
    contest.names.add(name)
    return contest


def _selections(
    raw: Mapping, at: Place, contest: ReportContest, candidates: Mapping[str, str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for sat, selection in objects(raw, "ContestSelection", at):
        selection_id = reference(selection, "@id", sat)
        _unique(found, selection_id, sat / "@id")
        if boolean(selection, "IsWriteIn", sat):
            found[selection_id] = write_in_choice(contest, sat)
        elif "CandidateIds" in selection:
            ids = items(selection, "CandidateIds", sat)
            if not ids:
                (sat / "CandidateIds").fail("is empty")
            first = ids[0]  # RCTab, too, reads the first and only the first
            if not isinstance(first, str) or first not in candidates:
                shown = quoted(first) if isinstance(first, str) else "a non-string"
                (sat / "CandidateIds")[0].fail(f"{shown} names no Candidate")
            found[selection_id] = contest.choice(candidates[first], first, sat)
        else:  # a measure's or party's option: its own id, named by its Selection text
            choice_id = identifier(selection, "@id", sat)
            name = text(selection, "Selection", sat, default=choice_id)
            found[selection_id] = contest.choice(name, choice_id, sat)
    if not found:
        (at / "ContestSelection").fail("is empty")
    return found
