"""The rounds as RCTab's summary JSON (OutputWriter.generateJsonReport), the universal format.

Numbers are written as RCTab writes its decimals, as strings ("15"); `round`, `numWinners`,
`numCandidates` and `undervotes` as numbers. A decided candidate's `transfers` name where its
ballots went in the next round, "exhausted" for those that went nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from election import contract
from election.contests import Contest
from election.rcv import INACTIVE_KINDS, NO_RANKINGS, Round, ranked_rounds
from election.selections import Entries

GENERATED_BY = "Realtime Voting rcv tabulator"
CONFIG_FIELDS = ("contest", "date", "jurisdiction", "office")


def summary(rounds: Sequence[Round], config: Mapping[str, str]) -> dict:
    """RCTab's summary document; config holds contest/date/jurisdiction/office where known."""
    first, last = rounds[0], rounds[-1]
    return {
        "config": {
            "generatedBy": GENERATED_BY,
            **{field: config[field] for field in CONFIG_FIELDS if field in config},
        },
        "jsonFormatVersion": "1",
        "results": [_round(r) for r in rounds],
        "summary": {
            "finalThreshold": str(last.threshold),
            "numCandidates": len(first.tally),  # every candidate continues into round one
            "numWinners": 1,
            "totalNumBallots": str(sum(first.tally.values()) + sum(first.inactive.values())),
            "undervotes": first.inactive[NO_RANKINGS],
        },
    }


def rounds_document(
    contests: Iterable[Contest], rankings: Mapping[str, Mapping[Entries, int]]
) -> dict[str, list | dict]:
    """Each ranked contest's rounds as its summary's `results`, keyed as rcv_rounds (its own
    district); a contest the tabulator refuses has {"refused": why}. What the recount reports
    and certification compares with the live tally's rankings."""
    contests = tuple(contests)
    districts = {c.contest_id: c.district_id for c in contests}
    found, failed = ranked_rounds(contests, rankings)
    document: dict[str, list | dict] = {
        contract.contest_key(c, districts[c]): [_round(r) for r in rounds]
        for c, rounds in found.items()
    }
    for contest_id, why in failed.items():
        document[contract.contest_key(contest_id, districts[contest_id])] = {"refused": why}
    return dict(sorted(document.items()))


def _round(r: Round) -> dict:
    decisions = [("elected", name) for name in r.elected]
    decisions += [("eliminated", name) for name in r.eliminated]
    return {
        "inactiveBallots": {kind: str(r.inactive[kind]) for kind in INACTIVE_KINDS},
        "round": r.number,
        "tally": {name: str(votes) for name, votes in r.tally.items()},
        "tallyResults": [
            {
                action: name,
                "transfers": {to: str(n) for to, n in r.transfers.get(name, {}).items()},
            }
            for action, name in decisions
        ],
        "threshold": str(r.threshold),
    }
