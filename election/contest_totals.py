"""Totals per contest and district: what the counted ballots come to (DESIGN.md, contest_results).

For each contest, a row for its own district and for every district inside it that a voter on
the roll lives in (a national contest: the nation, each state, each county; a state contest: the
state and its counties; a county contest: the county), each with ballots, overvotes, undervotes
and votes per choice (every choice, zeros included). A counted ballot adds to the rows of every
contest on its voter's style, in each of the voter's districts inside the contest's; so for
every row, ballots x vote_for = votes + overvotes + undervotes (election.selections says how a
selection comes to them). A ranked contest also keeps its ballots per ranking pattern (whole
rankings, not only the first choice), over its own district: what its rounds are tabulated from
(election.rcv.contest_rounds).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from election import contract
from election.contests import Contest, ballot_style, voter_districts
from election.rcv import ranking
from election.selections import ContestRule, Entries, Outcome

# Where a voter lives: (state, county FIPS or None), as the roll gives it.
Home = tuple[str | None, str | None]
# Ballots judged already, grouped by pattern: (state, county FIPS, outcomes, how many), outcomes
# as spark_jobs.selections_judging gives them ({contest_id: [votes, overvotes, undervotes]},
# a ranked contest's with its whole ranking as a fourth item, or that as JSON text) for every
# contest on the home's style.
JudgedPattern = tuple[str | None, str | None, Mapping[str, Sequence] | str, int]


@dataclass
class DistrictTotals:
    """One contest in one district: the contract's contest_results value, without its times."""

    ballots: int = 0
    overvotes: int = 0
    undervotes: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # choice id -> votes, zeros included

    @property
    def votes(self) -> int:
        return sum(self.totals.values())


def home_of(entry: str | tuple | list | None) -> Home:
    """A roll entry, {voter_id: state} or {voter_id: (state, county_fips)}, as a Home."""
    if isinstance(entry, (tuple, list)):
        state, county = entry
        return state, county
    return entry, None


def voters_by_district(homes: Mapping[Home, int]) -> dict[str, int]:
    """Registered voters per district, from how many live at each home (state, county)."""
    found: dict[str, int] = {}
    for home, voters in homes.items():
        for district_id in voter_districts(*home):
            found[district_id] = found.get(district_id, 0) + voters
    return found


class Style(NamedTuple):
    """A home's ballot style: each contest's rule with the rows it adds to, in ballot order, the
    same by contest id, and the districts of those rows by contest id."""

    adds: tuple[tuple[ContestRule, tuple[DistrictTotals, ...]], ...]
    by_contest: Mapping[str, tuple[ContestRule, tuple[DistrictTotals, ...]]]
    districts: Mapping[str, tuple[str, ...]]


class ContestTotals:
    """The running totals of every contest, by district, for one election and its roll."""

    def __init__(self, contests: Iterable[Contest], homes: Iterable[Home]):
        self.contests = tuple(contests)
        self.rules = {c.contest_id: ContestRule(c) for c in self.contests}
        self.results: dict[tuple[str, str], DistrictTotals] = {}
        # a ranked contest's ballots per ranking pattern (election.rcv), over its own district
        self.rankings: dict[str, Counter[Entries]] = {
            c.contest_id: Counter() for c in self.contests if self.rules[c.contest_id].ranked
        }
        for contest in self.contests:
            self._row(contest, contest.district_id)
        self._styles: dict[Home, Style] = {}
        for home in set(homes):
            self.style(home)

    def style(self, home: Home) -> Style:
        """The ballot style of a voter living at home, with the rows it adds to (cached)."""
        found = self._styles.get(home)
        if found is None:
            districts = voter_districts(*home)
            within = {  # the districts a contest on the ballot adds to: its own and those inside
                c.contest_id: districts[districts.index(c.district_id) :]
                for c in ballot_style(self.contests, *home)
            }
            adds = tuple(
                (self.rules[c], tuple(self._row(self.rules[c].contest, d) for d in inside))
                for c, inside in within.items()
            )
            by_contest = {rule.contest.contest_id: (rule, rows) for rule, rows in adds}
            found = self._styles[home] = Style(adds, by_contest, within)
        return found

    def add(self, home: Home, selections: Mapping[str, Entries]) -> None:
        """One counted ballot of a voter living at home."""
        for rule, rows in self.style(home).adds:
            entries = selections.get(rule.contest.contest_id)
            _count(rows, rule.outcome(entries), 1)
            if rule.ranked:
                self.rankings[rule.contest.contest_id][ranking(entries or ())] += 1

    def add_judged(self, home: Home, outcomes: Mapping[str, Sequence], ballots: int = 1) -> None:
        """Ballots of one pattern, judged already: {contest_id: (votes, overvotes, undervotes)}
        for every contest on the home's style, a ranked contest's with its ranking as a fourth
        item (the tally's ledger totals what Spark judged); a contest left out is a KeyError."""
        for rule, rows in self.style(home).adds:
            self._add_outcome(rule, rows, outcomes[rule.contest.contest_id], ballots)

    def add_cells(self, home: Home, outcomes: Mapping[str, Sequence], ballots: int = 1) -> None:
        """As add_judged, for some of the contests on the home's style: a batch's ledger adds
        ballots contest by contest. A contest off the style is a KeyError."""
        style = self.style(home)
        for contest_id, outcome in outcomes.items():
            rule, rows = style.by_contest[contest_id]
            self._add_outcome(rule, rows, outcome, ballots)

    def _add_outcome(self, rule: ContestRule, rows, outcome: Sequence, ballots: int) -> None:
        judged, ranks = judged_outcome(rule, outcome)
        if rule.ranked:
            self.rankings[rule.contest.contest_id][ranking(ranks)] += ballots
        _count(rows, judged, ballots)

    def add_patterns(self, patterns: Iterable[JudgedPattern], whole: bool = True) -> None:
        """Ballots judged already, each pattern added once (a batch holds far fewer patterns
        than ballots): the tally's ledger and recount total what Spark judged so. whole=False:
        each pattern's outcomes are some contests of its style (add_cells)."""
        add = self.add_judged if whole else self.add_cells
        for state, county, outcomes, ballots in patterns:
            judged = json.loads(outcomes) if isinstance(outcomes, str) else outcomes
            add((state, county), judged, ballots=int(ballots))

    def take_counted(self) -> dict[tuple[str, str], DistrictTotals]:
        """The rows counted in since the last take, as copies, each set back to zero in place:
        what one batch adds, while the ballot styles stay cached for the next."""
        taken = {}
        for key, row in self.results.items():
            if row.ballots:
                taken[key] = DistrictTotals(
                    row.ballots, row.overvotes, row.undervotes, dict(row.totals)
                )
                row.ballots = row.overvotes = row.undervotes = 0
                row.totals.update(dict.fromkeys(row.totals, 0))
        return taken

    def take_rankings(self) -> dict[str, dict[Entries, int]]:
        """Each ranked contest's ballots per ranking counted in since the last take (contests
        with none left out), set back to none: what one batch adds."""
        taken = {c: dict(found) for c, found in self.rankings.items() if found}
        for found in self.rankings.values():
            found.clear()
        return taken

    def _row(self, contest: Contest, district_id: str) -> DistrictTotals:
        key = (contest.contest_id, district_id)
        row = self.results.get(key)
        if row is None:
            row = self.results[key] = DistrictTotals(
                totals=dict.fromkeys((c.choice_id for c in contest.choices), 0)
            )
        return row


def judged_outcome(rule: ContestRule, outcome: Sequence) -> tuple[Outcome, Sequence | None]:
    """A contest's outcome as judged already ([votes, overvotes, undervotes], a ranked contest's
    with its ranking as a fourth item) read as an Outcome and that ranking (None unless ranked);
    a ValueError or TypeError when it is not that shape."""
    ranks = None
    if rule.ranked:
        votes, overvotes, undervotes, ranks = outcome
    else:
        votes, overvotes, undervotes = outcome
    return Outcome(tuple(votes), int(overvotes), int(undervotes)), ranks


def judged_totals(contests: Iterable[Contest], patterns: Iterable[JudgedPattern]) -> ContestTotals:
    """The totals of ballots judged already, grouped by pattern (ContestTotals.add_patterns)."""
    totals = ContestTotals(contests, ())
    totals.add_patterns(patterns)
    return totals


def results_document(results: Mapping[tuple[str, str], DistrictTotals]) -> dict[str, dict]:
    """Totals as JSON, keyed as contest_results is: {"ballots", "overvotes", "undervotes",
    "totals"} per contest and district (what the recount reports and certification compares)."""
    return {
        contract.contest_key(contest_id, district_id): {
            "ballots": row.ballots,
            "overvotes": row.overvotes,
            "undervotes": row.undervotes,
            "totals": dict(row.totals),
        }
        for (contest_id, district_id), row in sorted(results.items())
    }


def _count(rows: tuple[DistrictTotals, ...], outcome: Outcome, ballots: int) -> None:
    """Add `ballots` ballots of one outcome to each of a contest's rows."""
    for row in rows:
        row.ballots += ballots
        row.overvotes += outcome.overvotes * ballots
        row.undervotes += outcome.undervotes * ballots
        for choice_id in outcome.votes:
            row.totals[choice_id] += ballots
