"""A real election from its cast vote records: NIST SP 1500-103 reports in their JSON form.

The report is the one RCTab reads and writes (`CVR.CastVoteRecordReport`); an import reads one
file or several (in the order given) with an RCTab configuration (election.cvr_config), and
gives the election definition and one ballot per record, or one CvrError whose message names
the record and the field. Nothing half-read is returned.

- Districts: the election's scope is `nation`; every other GpUnit is `precinct:<@id>`, and a
  record's `BallotStyleUnitId` places its ballot there. Every contest belongs to the nation.
- A contest is `ranked` when its VoteVariation is `rcv`, when the configuration tabulates it
  (its `cvrFileSources[].contestId` is the contest's Name), or, with no VoteVariation, when a
  record ranks it past 1; a ranked contest carries the configuration's `rules`. Any other
  contest is `plurality` with its VotesAllowed.
- A record is read from its current snapshot (`CurrentSnapshotId`), as RCTab reads it. A mark
  counts unless it has no indication (`HasIndication` no), is not allocable (`IsAllocable` no)
  or carries no vote (`NumberVotes` 0); its rank is the SelectionPosition's `Rank`, else its
  CVRContestSelection's. A mark with a `CVRWriteIn`, or on a write-in selection, is RCTab's one
  undeclared write-in candidate.
- A ranked selection has one entry per rank up to the last marked one: the choice, null for a
  skipped rank, or the 2+ choices of an overvoted rank; a plurality selection lists the choices
  marked (DESIGN.md, "A selection is a list of choice ids").
- A voter id is a UUID named by the record's UniqueId, or by its file's place in the order
  and its own place in the file: the same report imports to the same voters.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from election.contests import (
    NATION,
    NATION_KIND,
    PLURALITY,
    PRECINCT_KIND,
    RANKED,
    Choice,
    Contest,
    District,
    precinct_district,
)
from election.cvr_catalog import Catalog, FileCatalog, ReportContest, read_catalog, write_in_choice
from election.cvr_config import Tabulation, read_config
from election.cvr_fields import (
    CvrError,
    Place,
    integer,
    items,
    obj,
    objects,
    quoted,
    reference,
    status,
    text,
)
from election.definition import Definition

__all__ = ["CvrBallot", "CvrError", "ImportedElection", "import_report", "import_reports"]

MOST_RANKS = 100  # real ballots rank 3 to 10; a bound keeps a hostile rank from building a list
_VOTER_IDS = uuid.UUID("0b5f0b4e-9d59-4a4c-9a51-6c1e1f3c7d21")  # the namespace of imported voters
_Marks = dict[str, list[tuple[int | None, str, Place | None]]]  # contest -> (rank, choice, where)


@dataclass(frozen=True)
class CvrBallot:
    voter_id: str
    district_id: str
    selections: Mapping[str, list]  # contest id -> the selection, as votes_topic carries it


@dataclass(frozen=True)
class ImportedElection:
    definition: Definition
    ballots: tuple[CvrBallot, ...]


def import_report(document: Any, config: Any = None) -> ImportedElection:
    """One parsed report (and a parsed RCTab configuration, or None)."""
    return import_reports([("", document)], config)


def import_reports(reports: Sequence[tuple[str, Any]], config: Any = None) -> ImportedElection:
    """Several parsed reports of one election, each with the name a message calls it by."""
    tabulation = read_config(config)
    catalog = Catalog()
    records: list[tuple[str, str, _Marks]] = []
    voters: set[str] = set()
    for file_index, (name, document) in enumerate(reports):
        place = Place(name)
        report = obj(document, place)
        files = read_catalog(report, place, catalog, tabulation)
        for index, raw in enumerate(items(report, "CVR", place, required=False)):
            records.append(_record(raw, (name, file_index, index), files, catalog, voters))
    contests = {c.contest_id: c for c in _contests(catalog, tabulation)}
    ballots = tuple(
        CvrBallot(voter, district, {cid: _selection(m, contests[cid]) for cid, m in marks.items()})
        for voter, district, marks in records
    )
    return ImportedElection(Definition(tuple(contests.values()), _districts(catalog)), ballots)


def _record(
    raw: Any, at: tuple[str, int, int], files: FileCatalog, catalog: Catalog, voters: set[str]
) -> tuple[str, str, _Marks]:
    name, file_index, index = at
    record = obj(raw, Place(name, f"CVR[{index}]"))
    label = f"{name}: CVR[{index}]" if name else f"CVR[{index}]"
    if "UniqueId" in record:
        unique = text(record, "UniqueId", Place(name, f"CVR[{index}]"))
        place, key = Place(f"{label} (UniqueId {quoted(unique)})"), f"UniqueId\0{unique}"
    else:
        place, key = Place(label), f"position\0{file_index}\0{index}"
    voter_id = str(uuid.uuid5(_VOTER_IDS, key))
    if voter_id in voters:
        (place / "UniqueId").fail("is also an earlier record's")
    voters.add(voter_id)
    if "ElectionId" in record:
        election = reference(record, "ElectionId", place)
        if election not in files.elections:
            (place / "ElectionId").fail(f"{quoted(election)} names no Election of the file")
    district = NATION
    if "BallotStyleUnitId" in record:
        unit = reference(record, "BallotStyleUnitId", place)
        if unit not in files.units:
            (place / "BallotStyleUnitId").fail(f"{quoted(unit)} names no GpUnit of the file")
        district = files.units[unit]
    snapshot_at, snapshot = _current_snapshot(record, place)
    return voter_id, district, _marks(snapshot, snapshot_at, files, catalog)


def _current_snapshot(record: Mapping, place: Place) -> tuple[Place, Mapping]:
    snapshots = list(objects(record, "CVRSnapshot", place))
    if "CurrentSnapshotId" not in record:
        if len(snapshots) != 1:
            (place / "CurrentSnapshotId").fail(f"is missing, with {len(snapshots)} snapshots")
        return snapshots[0]
    current = reference(record, "CurrentSnapshotId", place)
    found = [(at, s) for at, s in snapshots if reference(s, "@id", at) == current]
    if len(found) != 1:
        many = "more than one CVRSnapshot" if found else "no CVRSnapshot"
        (place / "CurrentSnapshotId").fail(f"{quoted(current)} names {many}")
    return found[0]


def _marks(snapshot: Mapping, at: Place, files: FileCatalog, catalog: Catalog) -> _Marks:
    marks: _Marks = {}
    for cat, cvr_contest in objects(snapshot, "CVRContest", at, required=False):
        contest_id = reference(cvr_contest, "ContestId", cat)
        if contest_id not in files.selections:
            (cat / "ContestId").fail(f"{quoted(contest_id)} names no Contest of the file")
        if contest_id in marks:
            (cat / "ContestId").fail(f"{quoted(contest_id)} appears twice in the snapshot")
        contest, choices = catalog.contests[contest_id], files.selections[contest_id]
        found = marks[contest_id] = []
        for sat, selection in objects(cvr_contest, "CVRContestSelection", cat, required=False):
            selection_id = reference(selection, "ContestSelectionId", sat)
            if selection_id not in choices:
                (sat / "ContestSelectionId").fail(
                    f"{quoted(selection_id)} names no ContestSelection of contest "
                    f"{quoted(contest_id)}"
                )
            choice = choices[selection_id]
            rank = integer(selection, "Rank", sat, 1, MOST_RANKS)
            positions = list(objects(selection, "SelectionPosition", sat, rank is None))
            if not positions:  # RCTab reads a rank given on the selection itself
                if rank is None:
                    (sat / "SelectionPosition").fail("is empty, and the selection has no Rank")
                found.append((rank, choice, None))
            for pat, position in positions:
                mark = _mark(position, pat, rank, choice, contest)
                if mark is not None:
                    found.append(mark)
        contest.ranks_seen = contest.ranks_seen or any((r or 0) > 1 for r, _, _ in found)
    return marks


def _mark(position: Mapping, at: Place, rank: int | None, choice: str, contest: ReportContest):
    """(rank, choice, where a missing rank would be reported) of a mark that counts, or None."""
    indication = status(position, "HasIndication", at)
    allocable = status(position, "IsAllocable", at)
    votes = integer(position, "NumberVotes", at, 0, 1)
    own = integer(position, "Rank", at, 1, MOST_RANKS)
    if "CVRWriteIn" in position:
        obj(position["CVRWriteIn"], at / "CVRWriteIn")
        choice = write_in_choice(contest, at / "CVRWriteIn")
    if indication == "no" or allocable == "no" or votes == 0:
        return None
    rank = own if own is not None else rank
    return rank, choice, at / "Rank" if rank is None else None


def _contests(catalog: Catalog, tabulation: Tabulation) -> list[Contest]:
    found = []
    for position, report in enumerate(catalog.contests.values(), start=1):
        ranked = (
            report.variation == "rcv"
            or bool(report.names & tabulation.ranked_contests)
            or (report.variation is None and report.ranks_seen)
        )
        choices = tuple(
            Choice(choice_id, name, None, number)
            for number, (name, choice_id) in enumerate(report.choices.items(), start=1)
        )
        found.append(
            Contest(
                report.contest_id,
                report.name,
                NATION,
                RANKED if ranked else PLURALITY,
                choices,
                1 if ranked else report.votes_allowed or 1,
                position,
                rules=tabulation.rules if ranked else None,
            )
        )
    return found


def _selection(marks: list[tuple[int | None, str, Place | None]], contest: Contest) -> list:
    if contest.kind != RANKED:
        return list(dict.fromkeys(choice for _, choice, _ in marks))
    ranks: dict[int, dict[str, None]] = {}
    for rank, choice, missing in marks:
        if rank is None:
            missing.fail(f"is missing in ranked contest {quoted(contest.contest_id)}")
        ranks.setdefault(rank, {})[choice] = None
    entries: list = []
    for rank in range(1, max(ranks, default=0) + 1):
        chosen = list(ranks.get(rank, ()))
        entries.append(None if not chosen else chosen[0] if len(chosen) == 1 else chosen)
    return entries


def _districts(catalog: Catalog) -> tuple[District, ...]:
    named = [n for n in catalog.scopes.values() if n] + catalog.election_names
    nation = District(NATION, NATION_KIND, named[0] if named else "Imported election", None)
    return (
        nation,
        *(
            District(precinct_district(unit), PRECINCT_KIND, name, NATION)
            for unit, name in catalog.precincts.items()
        ),
    )
