"""A ranked contest's instant-runoff rounds read off a snapshot (rcv_rounds: RCTab's summary JSON
of the ballots counted so far), as election.rcv rounds, and as the page's table and flows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from election import contract
from election.contests import Contest
from election.rcv import EXHAUSTED, INACTIVE_KINDS, OVERVOTES, REPEATED, SKIPPED, Round
from streamlit_app.contest_tables import vote_count
from streamlit_app.reader import ResultSnapshot, parse_time

# Where a decided candidate's ballots went when no continuing candidate was ranked after it.
EXHAUSTED_LABEL = "exhausted"  # as RCTab's `transfers` name it
INACTIVE_WORDS = {
    OVERVOTES: "Overvotes",
    SKIPPED: "Skipped rankings",
    EXHAUSTED: "Exhausted choices",
    REPEATED: "Repeated rankings",
}
TABLE_COLUMNS = (
    "Round",
    "Continuing ballots",
    "Threshold",
    "Inactive ballots",
    *(INACTIVE_WORDS[kind] for kind in INACTIVE_KINDS),
    "Elected",
    "Eliminated",
)


@dataclass(frozen=True)
class Runoff:
    """A contest's rounds as they stand, and how many ballots they were tabulated from."""

    rounds: tuple[Round, ...]
    ballots: int
    updated_at: datetime | None

    @property
    def candidates(self) -> tuple[str, ...]:
        """Every candidate of the first round, the most first-choice votes first."""
        first = self.rounds[0].tally
        return tuple(sorted(first, key=lambda name: (-first[name], name)))

    def elected(self) -> tuple[str, int] | None:
        """The first candidate the rounds elect and in which round; None before anyone is."""
        return next(((name, r.number) for r in self.rounds for name in r.elected), None)


@dataclass(frozen=True)
class Flow:
    """Ballots going from a candidate in one round to a candidate (or exhausted) in the next:
    a decided candidate's transfer, or a continuing candidate's own ballots carried over."""

    round: int  # the round they leave
    source: str
    target: str
    ballots: int
    transfer: bool


def _votes(value: object) -> int:
    """A count written as RCTab writes its decimals ("15"), or as a number; else none."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return 0
    return vote_count(value)


def _names(value: object) -> dict[str, object]:
    return {str(name): n for name, n in value.items()} if isinstance(value, dict) else {}


def _round(number: int, result: Mapping) -> Round:
    inactive = result.get("inactiveBallots")
    inactive = inactive if isinstance(inactive, dict) else {}
    decided: dict[str, list[str]] = {"elected": [], "eliminated": []}
    transfers: dict[str, dict[str, int]] = {}
    results = result.get("tallyResults")
    for decision in results if isinstance(results, list) else ():
        if not isinstance(decision, dict):
            continue
        for action, names in decided.items():
            name = decision.get(action)
            if isinstance(name, str) and name:
                names.append(name)
                found = _names(decision.get("transfers")).items()
                if moved := {to: votes for to, n in found if (votes := _votes(n))}:
                    transfers[name] = moved
    return Round(
        number,
        {name: _votes(n) for name, n in _names(result.get("tally")).items()},
        _votes(result.get("threshold")),
        {kind: _votes(inactive.get(kind)) for kind in INACTIVE_KINDS},
        tuple(decided["elected"]),
        tuple(decided["eliminated"]),
        transfers,
    )


def read_runoff(value: Mapping) -> Runoff | None:
    """The rounds of an rcv_rounds message, numbered in their order; None when it holds none.
    Anything in it that is not a count is none, so a message can change what is shown but
    never break the page."""
    results = value.get("results")
    found = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
    if not found:
        return None
    rounds = tuple(_round(number, result) for number, result in enumerate(found, 1))
    return Runoff(rounds, vote_count(value.get("ballots")), parse_time(value.get("updated_at")))


def contest_runoff(snapshot: ResultSnapshot, contest: Contest) -> Runoff | None:
    """A ranked contest's latest rounds over its own district; None until they are published."""
    value = snapshot.rcv_rounds.get(contract.contest_key(contest.contest_id, contest.district_id))
    return read_runoff(value) if value is not None else None


def name_colors(contest: Contest, colors: Mapping[str, str]) -> dict[str, str]:
    """Candidate name -> colour, from the colours by choice id (the rounds name candidates)."""
    return {c.name: colors[c.choice_id] for c in contest.choices if c.choice_id in colors}


def rounds_table(runoff: Runoff) -> pd.DataFrame:
    """A row per round: its continuing and inactive ballots, its threshold and who it decided."""
    rows = [
        {
            "Round": r.number,
            "Continuing ballots": sum(r.tally.values()),
            "Threshold": r.threshold,
            "Inactive ballots": sum(r.inactive.values()),
            **{INACTIVE_WORDS[kind]: r.inactive[kind] for kind in INACTIVE_KINDS},
            "Elected": ", ".join(r.elected),
            "Eliminated": ", ".join(r.eliminated),
        }
        for r in runoff.rounds
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def flows(runoff: Runoff) -> list[Flow]:
    """Between each round and the next: each decided candidate's ballots to the candidate they
    went to (or exhausted), and each continuing candidate's own ballots carried over."""
    found = []
    for r, later in zip(runoff.rounds, runoff.rounds[1:], strict=False):
        for name, votes in r.tally.items():
            if name in later.tally and name not in r.transfers and votes:
                found.append(Flow(r.number, name, name, votes, transfer=False))
        for name, moved in r.transfers.items():
            found.extend(Flow(r.number, name, to, n, transfer=True) for to, n in moved.items())
    return found
