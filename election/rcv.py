"""Single-winner instant runoff, tabulated from ranking patterns as RCTab tabulates ballots.

RCTab (BrightSpots/rcv, Tabulator.java) is the reference for every rule; this is our own code.
A pattern is a ranked selection (election.selections.Entries: per rank a choice id, None for a
skipped rank, or 2+ ids for an overvote); ballots with the same pattern always move together,
so a round costs the distinct patterns, not the ballots (`patterns` groups one contest's ballot
selections so; `tabulate_contest` tabulates a ranked contest by its own rules from them). Each
round re-reads every ballot whose candidate is no longer continuing from its first rank, as
RCTab does:
- a marked rank more than `maxSkippedRanksAllowed` + 1 past the last marked one exhausts it
  (skippedRankings);
- with `exhaustOnDuplicateCandidate`, a candidate ranked again exhausts it (repeatedRankings);
- an overvoted rank exhausts it (overvotes) under `exhaustImmediately`, or is passed over under
  `alwaysSkipToNextRank`;
- else the first continuing candidate gets the ballot; none left is exhaustedChoices.
The threshold is floor(continuing ballots / 2) + 1. A candidate at or over it wins, or the last
of two wins (a tie between them broken by the tiebreak). Else "Undeclared Write-ins" goes first
if it has votes, then a batch (`batchElimination`: every candidate whose votes together fall
below the next-lowest), else the last-placed one. `continueUntilTwoCandidatesRemain` goes on
after the win, with the threshold of the winning round, until two candidates remain.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from election.contests import RANKED, Contest
from election.rcv_tiebreak import USE_CANDIDATE_ORDER, Tiebreaker
from election.selections import ALWAYS_SKIP_TO_NEXT_RANK, Entries, max_skipped_ranks

# RCTab's one candidate for every undeclared write-in (Tabulator.UNDECLARED_WRITE_IN_OUTPUT_LABEL)
UNDECLARED_WRITE_INS = "Undeclared Write-ins"
EXHAUST_IMMEDIATELY = "exhaustImmediately"
OVERVOTE_RULES = (EXHAUST_IMMEDIATELY, ALWAYS_SKIP_TO_NEXT_RANK)
# Why a ballot is inactive, by RCTab's summary keys; no ranking at all is the summary's undervotes.
OVERVOTES, SKIPPED, EXHAUSTED, REPEATED = (
    "overvotes",
    "skippedRankings",
    "exhaustedChoices",
    "repeatedRankings",
)
NO_RANKINGS = "didNotRankAnyCandidates"
INACTIVE_KINDS = (OVERVOTES, SKIPPED, EXHAUSTED, REPEATED)
# A ballot's marked ranks: (rank number, the names marked there), skipped ranks left out.
Marks = tuple[tuple[int, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Rules:
    """The RCTab rules this tabulator follows, read from RCTab's `rules` object."""

    overvote_rule: str = EXHAUST_IMMEDIATELY
    max_skipped: int | None = None  # None: unlimited
    max_rankings: int | None = None  # None: RCTab's "max", any rank
    exhaust_on_duplicate: bool = False
    batch_elimination: bool = False
    continue_until_two: bool = False
    tiebreak_mode: str = USE_CANDIDATE_ORDER
    seed: int | None = None

    @classmethod
    def from_rctab(cls, rules: Mapping) -> Rules:
        overvote_rule = rules.get("overvoteRule", EXHAUST_IMMEDIATELY)
        if overvote_rule not in OVERVOTE_RULES:
            raise ValueError(f"overvoteRule {overvote_rule!r} is not one of {OVERVOTE_RULES}")
        winners = str(rules.get("numberOfWinners", 1))
        if winners != "1":
            raise ValueError(f"numberOfWinners {winners} is not 1: only single-winner contests")
        seed = rules.get("randomSeed")
        return cls(
            overvote_rule=overvote_rule,
            max_skipped=max_skipped_ranks(rules),
            max_rankings=_whole(rules.get("maxRankingsAllowed"), "maxRankingsAllowed"),
            exhaust_on_duplicate=bool(rules.get("exhaustOnDuplicateCandidate", False)),
            batch_elimination=bool(rules.get("batchElimination", False)),
            continue_until_two=bool(rules.get("continueUntilTwoCandidatesRemain", False)),
            tiebreak_mode=rules.get("tiebreakMode", USE_CANDIDATE_ORDER),
            seed=_whole(seed, "randomSeed") if seed not in (None, "") else None,
        )


def _whole(value: object, field: str) -> int | None:
    if value in (None, "", "max"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} {value!r} is not a whole number") from None


@dataclass(frozen=True)
class Round:
    """One round: its tally, threshold, inactive ballots and decisions, and the transfers out."""

    number: int
    tally: dict[str, int]
    threshold: int
    inactive: dict[str, int]  # INACTIVE_KINDS and NO_RANKINGS -> ballots
    elected: tuple[str, ...]
    eliminated: tuple[str, ...]
    transfers: dict[str, dict[str, int]]  # decided candidate -> next holder or "exhausted"


class _Ballots:
    """Ballots of one pattern: their ranks as candidate names and who holds them now."""

    __slots__ = ("ranks", "count", "holder", "inactive")

    def __init__(self, ranks: Marks, count: int):
        self.ranks = ranks
        self.count = count
        self.holder: str | None = None
        self.inactive: str | None = None


def tabulate(
    patterns: Mapping[Entries, int],
    candidates: Mapping[str, str],
    rules: Rules,
    write_in: str | None = None,
) -> list[Round]:
    """The rounds of a single-winner instant runoff.

    patterns: ballots per ranking pattern; candidates: choice id -> name, in the configured
    order (the order `useCandidateOrder` breaks ties by); write_in: the choice id that stands for
    undeclared write-ins, counted as one candidate named "Undeclared Write-ins".
    """
    if not candidates:
        raise ValueError("a ranked contest needs at least one declared candidate")
    names = dict(candidates)
    if write_in is not None:
        names[write_in] = UNDECLARED_WRITE_INS
    if len(set(names.values())) != len(names):
        raise ValueError("two candidates share a name")
    for pattern, count in patterns.items():
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"ballot count {count!r} of pattern {pattern!r} is not a whole number")
    ballots = [
        _Ballots(_ranks(pattern, names, rules.max_rankings), count)
        for pattern, count in patterns.items()
        if count
    ]
    return _Tabulation(list(names.values()), rules).run(ballots)


def ranking(entries: Sequence) -> Entries:
    """A ranked selection as a pattern: each rank an id, None, or a rank's overvote as a tuple."""
    if isinstance(entries, str):
        raise TypeError(f"a ranking is a list of ranks, not the text {entries[:64]!r}")
    return tuple(e if e is None or isinstance(e, str) else tuple(e) for e in entries)


def patterns(contest_id: str, selections: Iterable[Mapping[str, Sequence]]) -> dict[Entries, int]:
    """Ballots per ranking pattern of one contest, from each ballot's selections as votes_topic
    carries them (an overvoted rank a list of ids); a ballot without the contest ranks no one."""
    found: Counter[Entries] = Counter()
    for selection in selections:
        found[ranking(selection.get(contest_id, ()))] += 1
    return dict(found)


def tabulate_contest(contest: Contest, selections: Iterable[Mapping[str, Sequence]]) -> list[Round]:
    """The rounds of a ranked contest, by its own rules, from its ballots' selections."""
    return contest_rounds(contest, patterns(contest.contest_id, selections))


def contest_rounds(contest: Contest, found: Mapping[Entries, int]) -> list[Round]:
    """The rounds of a ranked contest, by its own rules, from its ballots per ranking pattern.

    Its choices are the candidates in their order, but for the one named "Undeclared Write-ins"
    (an import's choice for every undeclared write-in), which stands for the write-ins. The
    rounds name candidates by their names.
    """
    if contest.kind != RANKED:
        raise ValueError(f"contest {contest.contest_id!r} is {contest.kind}, not ranked")
    write_ins = [c.choice_id for c in contest.choices if c.name == UNDECLARED_WRITE_INS]
    candidates = {c.choice_id: c.name for c in contest.choices if c.name != UNDECLARED_WRITE_INS}
    rules = Rules.from_rctab(contest.rules or {})
    return tabulate(found, candidates, rules, write_ins[0] if write_ins else None)


def ranked_rounds(
    contests: Iterable[Contest], rankings: Mapping[str, Mapping[Entries, int]]
) -> tuple[dict[str, list[Round]], dict[str, str]]:
    """Every ranked contest's rounds, by contest id, from its ballots per ranking pattern (a
    contest with no ballot yet has none); and the contests the tabulator refused, with why."""
    found, failed = {}, {}
    for contest in contests:
        patterns = rankings.get(contest.contest_id) or {}
        if contest.kind != RANKED or not sum(patterns.values()):
            continue
        try:
            found[contest.contest_id] = contest_rounds(contest, patterns)
        except ValueError as exc:  # rules or names the tabulator cannot follow
            failed[contest.contest_id] = str(exc)
    return found, failed


def latest_tallies(
    contests: Iterable[Contest], rounds: Mapping[str, Sequence[Round]]
) -> dict[str, dict[str, int]]:
    """Each tabulated contest's latest round, its votes by choice id (the rounds name candidates
    by name): what a ranked contest's race call reads (election.race_call.call_contests)."""
    found = {}
    for contest in contests:
        if contest.contest_id in rounds:
            ids = {c.name: c.choice_id for c in contest.choices}
            latest = rounds[contest.contest_id][-1].tally
            found[contest.contest_id] = {ids.get(n, n): votes for n, votes in latest.items()}
    return found


def rcv_winner(contest: Contest, rounds: Sequence[Round]) -> str | None:
    """The choice id the rounds elect (the first elected), None before anyone is."""
    ids = {c.name: c.choice_id for c in contest.choices}
    for r in rounds:
        for name in r.elected:
            return ids.get(name, name)
    return None


def _ranks(pattern: Entries, names: Mapping[str, str], max_rankings: int | None) -> Marks:
    marked = []
    for rank, entry in enumerate(pattern, 1):
        if entry is None:
            continue
        ids = (entry,) if isinstance(entry, str) else tuple(entry)
        for choice in ids:
            if choice not in names:
                raise ValueError(f"choice {choice!r} at rank {rank} is not a candidate")
        if max_rankings is not None and rank > max_rankings:
            raise ValueError(f"a ballot ranks at {rank}, past maxRankingsAllowed {max_rankings}")
        marked.append((rank, tuple(names[choice] for choice in ids)))
    return tuple(marked)


class _Tabulation:
    def __init__(self, names: list[str], rules: Rules):
        self.names = names
        self.rules = rules
        self.tiebreaker = Tiebreaker(rules.tiebreak_mode, names, rules.seed)
        self.winners: dict[str, int] = {}
        self.eliminated: dict[str, int] = {}
        self.rounds: list[Round] = []

    def continuing(self, name: str) -> bool:
        if name in self.eliminated:
            return False
        return name not in self.winners or self.rules.continue_until_two

    def more_rounds(self) -> bool:
        if self.rules.continue_until_two:
            decided = len(self.eliminated) + len(self.winners)
            just_eliminated = self.rounds and self.rounds[-1].eliminated
            return decided + 1 < len(self.names) or bool(just_eliminated)
        return not self.winners

    def run(self, ballots: list[_Ballots]) -> list[Round]:
        while self.more_rounds():
            number = len(self.rounds) + 1
            tally, inactive, transfers = self.count(ballots)
            if number == 1 or not (self.rules.continue_until_two and self.winners):
                threshold = sum(tally.values()) // 2 + 1
            else:
                threshold = self.rounds[-1].threshold
            if self.rounds:  # a decision's transfers are known once the next round is counted
                self.rounds[-1].transfers.update(transfers)
            elected = self.elect(tally, threshold)
            eliminated: list[str] = []
            if elected:
                self.winners.update(dict.fromkeys(elected, number))
            elif not self.winners or (
                self.rules.continue_until_two and len(self.eliminated) < len(self.names) - 2
            ):
                eliminated = self.eliminate(tally)
                self.eliminated.update(dict.fromkeys(eliminated, number))
            self.rounds.append(
                Round(number, tally, threshold, inactive, tuple(elected), tuple(eliminated), {})
            )
        return self.rounds

    def count(self, ballots: list[_Ballots]) -> tuple[dict, dict, dict]:
        """The round's tally, inactive ballots and transfers out of candidates no longer in."""
        tally = {name: 0 for name in self.names if self.continuing(name)}
        inactive: Counter[str] = Counter({kind: 0 for kind in (*INACTIVE_KINDS, NO_RANKINGS)})
        transfers: dict[str, Counter[str]] = defaultdict(Counter)
        for group in ballots:
            if group.inactive is None and not (group.holder and self.continuing(group.holder)):
                source = group.holder
                group.holder, group.inactive = self.read(group.ranks)
                if source is not None:
                    transfers[source][group.holder or "exhausted"] += group.count
            if group.inactive is not None:
                inactive[group.inactive] += group.count
            else:
                tally[group.holder] += group.count
        return tally, dict(inactive), {source: dict(to) for source, to in transfers.items()}

    def read(self, ranks: Marks) -> tuple[str | None, str | None]:
        """The ballot's next holder, or None and why it is inactive."""
        if not ranks:
            return None, NO_RANKINGS
        last, seen = 0, set()
        max_skipped = self.rules.max_skipped
        for rank, marked in ranks:
            if max_skipped is not None and rank - last > max_skipped + 1:
                return None, SKIPPED
            last = rank
            if self.rules.exhaust_on_duplicate:
                if any(name in seen for name in marked):
                    return None, REPEATED
                seen.update(marked)
            if len(marked) > 1:
                if self.rules.overvote_rule == EXHAUST_IMMEDIATELY:
                    return None, OVERVOTES
                continue
            if self.continuing(marked[0]):
                return marked[0], None
        return None, EXHAUSTED

    def elect(self, tally: dict[str, int], threshold: int) -> list[str]:
        if tally.get(UNDECLARED_WRITE_INS) or self.winners:
            return []
        if len(tally) <= 1:
            return list(tally)
        over = [n for n, v in tally.items() if v >= threshold and n != UNDECLARED_WRITE_INS]
        if over or len(tally) != 2:
            return over
        most = max(tally.values())
        return [self.pick([n for n, v in tally.items() if v == most], winner=True)]

    def eliminate(self, tally: dict[str, int]) -> list[str]:
        if tally.get(UNDECLARED_WRITE_INS):
            return [UNDECLARED_WRITE_INS]
        if self.rules.batch_elimination:
            batch = self.batch(tally)
            if len(batch) > 1:
                return sorted(batch)  # RCTab's reports list a batch by name
        fewest = min(tally.values())
        last = [n for n, v in tally.items() if v == fewest]
        return [last[0] if len(last) == 1 else self.pick(last, winner=False)]

    def batch(self, tally: dict[str, int]) -> list[str]:
        """Every candidate whose votes, with all below them, are fewer than the next-lowest's."""
        by_votes: dict[int, list[str]] = defaultdict(list)
        for name, votes in sorted(tally.items(), key=lambda item: (item[1], item[0])):
            by_votes[votes].append(name)
        running, seen, batch, before = 0, [], [], []
        for votes, names in by_votes.items():
            if running < votes and len(seen) > len(batch):
                before, batch = batch, list(seen)
            running += votes * len(names)
            seen.extend(names)
        # RCTab keeps two candidates standing: a batch that would leave one drops its last step
        if (
            self.rules.continue_until_two
            and len(batch) + len(self.eliminated) == len(self.names) - 1
        ):
            return before
        return batch

    def pick(self, tied: list[str], winner: bool) -> str:
        earlier = [r.tally for r in self.rounds]
        return self.tiebreaker.pick(tied, winner, earlier)
