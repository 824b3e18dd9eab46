"""A small NIST SP 1500-103 (JSON) cast vote record writer, for tests: an election and its
ballots as a report that the NIST schema accepts and election.cvr reads back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from election.contests import RANKED
from election.cvr_catalog import WRITE_INS_ID
from election.definition import Definition

PRECINCT = "precinct:"


def cdf_report(
    definition: Definition, ballots: Iterable[tuple[str, str, Mapping[str, list]]]
) -> dict:
    """The report of (UniqueId, district id, selections) ballots in a definition's contests."""
    nation = next(d for d in definition.districts if d.parent_id is None)
    units = [{"@id": "scope", "@type": "CVR.GpUnit", "Name": nation.name, "Type": "other"}]
    units += [
        {"@id": d.district_id[len(PRECINCT) :], "@type": "CVR.GpUnit", "Name": d.name}
        | {"Type": "precinct"}
        for d in definition.districts
        if d.district_id.startswith(PRECINCT)
    ]
    candidates = {
        c.choice_id: {"@id": c.choice_id, "@type": "CVR.Candidate", "Name": c.name}
        for contest in definition.contests
        for c in contest.choices
        if c.choice_id != WRITE_INS_ID
    }
    election = {
        "@id": "election",
        "@type": "CVR.Election",
        "ElectionScopeId": "scope",
        "Candidate": list(candidates.values()),
        "Contest": [_contest(c) for c in definition.contests],
    }
    return {
        "@type": "CVR.CastVoteRecordReport",
        "Version": "1.0.0",
        "GeneratedDate": "2026-01-01T00:00:00Z",
        "ReportGeneratingDeviceIds": ["device"],
        "ReportingDevice": [{"@id": "device", "@type": "CVR.ReportingDevice"}],
        "GpUnit": units,
        "Election": [election],
        "CVR": [_record(i, *ballot) for i, ballot in enumerate(ballots)],
    }


def _contest(contest) -> dict:
    selections = []
    for choice in contest.choices:
        selection = {"@id": _selection_id(contest.contest_id, choice.choice_id)}
        if choice.choice_id == WRITE_INS_ID:
            selection |= {"@type": "CVR.CandidateSelection", "IsWriteIn": True}
        else:
            selection |= {"@type": "CVR.CandidateSelection", "CandidateIds": [choice.choice_id]}
        selections.append(selection)
    return {
        "@id": contest.contest_id,
        "@type": "CVR.CandidateContest",
        "Name": contest.name,
        "VoteVariation": "rcv" if contest.kind == RANKED else "plurality",
        "VotesAllowed": contest.vote_for,
        "ContestSelection": selections,
    }


def _selection_id(contest_id: str, choice_id: str) -> str:
    return f"cs-{contest_id}-{choice_id}"


def _record(index: int, unique_id: str, district: str, selections: Mapping[str, list]) -> dict:
    contests = []
    for contest_id, entries in selections.items():
        positions: dict[str, list] = {}  # choice -> its marks, in the order choices first appear
        for rank, entry in enumerate(entries, start=1):
            for choice in [entry] if isinstance(entry, str) else entry or []:
                mark = {"@type": "CVR.SelectionPosition", "HasIndication": "yes"}
                positions.setdefault(choice, []).append(mark | {"NumberVotes": 1, "Rank": rank})
        contests.append(
            {
                "@type": "CVR.CVRContest",
                "ContestId": contest_id,
                "CVRContestSelection": [
                    {
                        "@type": "CVR.CVRContestSelection",
                        "ContestSelectionId": _selection_id(contest_id, choice),
                        "SelectionPosition": marks,
                    }
                    for choice, marks in positions.items()
                ],
            }
        )
    record = {
        "@type": "CVR.CVR",
        "UniqueId": unique_id,
        "ElectionId": "election",
        "CurrentSnapshotId": f"snapshot-{index}",
        "CVRSnapshot": [
            {
                "@id": f"snapshot-{index}",
                "@type": "CVR.CVRSnapshot",
                "Type": "original",
                "CVRContest": contests,
            }
        ],
    }
    if district.startswith(PRECINCT):
        record["BallotStyleUnitId"] = district[len(PRECINCT) :]
    return record
