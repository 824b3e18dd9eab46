"""Re-tabulating a ranked contest after a batch: 100,000 ballots, 20 candidates, under a second.

python -m benchmarks.rcv_rounds [--ballots 100000] [--candidates 20] [--repeats 5]

After each committed batch the live tally re-tabulates every ranked contest from its counted
ballots per distinct ranking pattern (rcv_rankings, read back as {ranking: ballots}) and
publishes the rounds (election_io.contest_tables.rcv_rounds). This measures that step without
its database read: `election.rcv.contest_rounds` on the pattern dict, then
`election.messages.rcv_rounds` and `json.dumps` of the message, best of a few repeats.

The ballots are drawn, seeded, from a spatial preference model rather than uniformly (uniform
rankings would make almost every ballot a pattern of its own): candidates stand in three blocs
on a two-dimensional ideology map with a skewed popularity (a few strong, a long tail); each
voter belongs to a bloc, sits near its centre, and ranks by popularity, closeness and noise
(Plackett-Luce through Gumbel noise), so rankings follow the blocs and transfers mean something.
Voters rank 1 to 6 candidates; some ballots are blank, some skip a rank (a few two, past the
rules' maxSkippedRanksAllowed of 1), a few overvote a rank (two ids at one rank).

The baseline is the naive way the pattern table replaces: tabulating ballot by ballot. The
same `contest_rounds` is handed every ballot as its own pattern with a count of 1 (a mapping
whose items are the 100,000 (ranking, 1) pairs, so nothing is grouped), then the same message
is built. `regroup_s` is the middle way, also reported: grouping the 100,000 ballots afresh
(a Counter) before every tabulation, as a tally that kept ballots rather than patterns would.
Exactness: one candidate elected, in the last round only; every round holds all the ballots
(its tally plus its inactive ballots); the grouped and the per-ballot rounds are identical.
Pure: no service is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence

import numpy as np

from benchmarks._common import report
from election import messages
from election.contests import RANKED, Choice, Contest
from election.rcv import contest_rounds
from election.selections import Entries

CONTEST_ID = "bench-rcv"
DISTRICT_ID = "nation"
RULES = {
    "overvoteRule": "exhaustImmediately",
    "maxSkippedRanksAllowed": "1",
    "maxRankingsAllowed": "10",
}
UPDATED_AT = "2024-11-05T20:00:00Z"  # fixed, so the two ways' messages compare equal
TARGET_S = 1.0

# blocs: (share of voters, centre on the ideology map)
BLOCS = ((0.42, (-1.0, 0.2)), (0.36, (1.0, -0.1)), (0.22, (0.0, 0.9)))
# how many candidates a voter ranks: 1..6
LENGTHS = (1, 2, 3, 4, 5, 6)
LENGTH_SHARES = (0.22, 0.18, 0.18, 0.14, 0.11, 0.17)
BLANK_SHARE = 0.015
SKIP_SHARE = 0.02  # one skipped rank
DOUBLE_SKIP_SHARE = 0.003  # two skipped ranks in a row: past maxSkippedRanksAllowed
OVERVOTE_SHARE = 0.006


def bench_contest(candidates: int) -> Contest:
    choices = tuple(
        Choice(f"c{i:02d}", f"Candidate {i:02d}", position=i) for i in range(candidates)
    )
    return Contest(CONTEST_ID, "Bench ranked contest", DISTRICT_ID, RANKED, choices, rules=RULES)


def draw_ballots(contest: Contest, ballots: int, seed: int = 7) -> list[Entries]:
    """Seeded ranked ballots from the spatial model in the module's docstring."""
    rng = np.random.default_rng(seed)
    ids = [c.choice_id for c in contest.choices]
    n = len(ids)
    # candidates: round-robin over the blocs, near their centre; popularity Zipf-like by index
    centres = np.array([centre for _, centre in BLOCS])
    cand_bloc = np.arange(n) % len(BLOCS)
    cand_pos = centres[cand_bloc] + rng.normal(0, 0.35, (n, 2))
    popularity = np.log(1.0 / np.arange(1, n + 1) ** 1.2)
    # voters: a bloc, a place near its centre
    voter_bloc = rng.choice(len(BLOCS), size=ballots, p=[share for share, _ in BLOCS])
    voter_pos = centres[voter_bloc] + rng.normal(0, 0.55, (ballots, 2))
    distance2 = ((voter_pos[:, None, :] - cand_pos[None, :, :]) ** 2).sum(axis=2)
    utility = 1.0 * popularity - 1.6 * distance2 + rng.gumbel(0, 1.0, (ballots, n))
    order = np.argsort(-utility, axis=1)[:, : max(LENGTHS)]
    lengths = rng.choice(LENGTHS, size=ballots, p=LENGTH_SHARES)
    flaw = rng.random(ballots)
    where = rng.random(ballots)
    other = rng.integers(0, n, ballots)

    drawn: list[Entries] = []
    for b in range(ballots):
        f = flaw[b]
        if f < BLANK_SHARE:
            drawn.append(())
            continue
        ranks: list = [ids[c] for c in order[b, : lengths[b]]]
        f -= BLANK_SHARE
        at = int(where[b] * len(ranks))  # a rank of this ballot
        if f < SKIP_SHARE:
            ranks.insert(at, None)
        elif f < SKIP_SHARE + DOUBLE_SKIP_SHARE:
            ranks[at:at] = [None, None]
        elif f < SKIP_SHARE + DOUBLE_SKIP_SHARE + OVERVOTE_SHARE:
            second = ids[other[b]]
            if second == ranks[at]:
                second = ids[(other[b] + 1) % n]
            ranks[at] = tuple(sorted((ranks[at], second)))
        drawn.append(tuple(ranks))
    return drawn


class EveryBallot(Mapping):
    """Every ballot as a pattern of its own, count 1: the rankings, not grouped.

    Its items are the ballots' (ranking, 1) pairs, duplicates kept, which is all the tabulator
    reads of a pattern mapping; lookups by ranking are not needed and not offered.
    """

    def __init__(self, ballots: Sequence[Entries]):
        self._pairs = [(ranking, 1) for ranking in ballots]

    def items(self) -> ItemsView:  # type: ignore[override]
        return self._pairs  # type: ignore[return-value]

    def __getitem__(self, key: Entries) -> int:
        raise KeyError(key)

    def __iter__(self) -> Iterator[Entries]:
        return (ranking for ranking, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


def retabulate(contest: Contest, found: Mapping[Entries, int]) -> tuple[list, dict, str]:
    """What the live tally does after a batch: the rounds, their message, its JSON."""
    rounds = contest_rounds(contest, found)
    _, value = messages.rcv_rounds(
        contest.contest_id, contest.district_id, rounds, {"contest": contest.name}, UPDATED_AT
    )
    return rounds, value, json.dumps(value)


def best_of(repeats: int, work: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    return best, result


def problems(rounds: list, ballots: int) -> list[str]:
    """Why the rounds are not a whole single-winner tabulation of `ballots` ballots, if so."""
    found = []
    elected = [(r.number, name) for r in rounds for name in r.elected]
    if len(elected) != 1 or elected[0][0] != rounds[-1].number:
        found.append(f"elected {elected}, not one candidate in the last round")
    for r in rounds:
        held = sum(r.tally.values()) + sum(r.inactive.values())
        if held != ballots:
            found.append(f"round {r.number} holds {held} ballots, not {ballots}")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    contest = bench_contest(args.candidates)
    print(f"drawing {args.ballots:,} ranked ballots over {args.candidates} candidates", flush=True)
    ballots = draw_ballots(contest, args.ballots)
    patterns = dict(Counter(ballots))
    lengths = Counter(sum(e is not None for e in b) for b in ballots)
    print(
        f"  {len(patterns):,} distinct ranking patterns "
        f"({len(patterns) / len(ballots):.1%} of the ballots); marked ranks per ballot: "
        + ", ".join(f"{k}: {lengths[k]:,}" for k in sorted(lengths)),
        flush=True,
    )

    print(f"re-tabulating from the patterns (best of {args.repeats}) ...", flush=True)
    tabulate_s, (rounds, value, text) = best_of(args.repeats, lambda: retabulate(contest, patterns))
    print(f"  {tabulate_s:.3f} s: {len(rounds)} rounds, message {len(text):,} bytes", flush=True)
    baseline_repeats = max(1, args.repeats // 2)
    print(f"baseline: ballot by ballot, no grouping (best of {baseline_repeats}) ...", flush=True)
    every = EveryBallot(ballots)
    baseline_s, (_, baseline_value, _) = best_of(
        baseline_repeats, lambda: retabulate(contest, every)
    )
    print(f"  {baseline_s:.3f} s", flush=True)
    print(f"regrouping the ballots before each tabulation (best of {baseline_repeats}) ...")
    regroup_s, (_, regroup_value, _) = best_of(
        baseline_repeats, lambda: retabulate(contest, Counter(ballots))
    )
    print(f"  {regroup_s:.3f} s", flush=True)

    wrong = problems(rounds, len(ballots))
    if baseline_value != value or regroup_value != value:
        wrong.append("the grouped and the ballot-by-ballot rounds differ")
    if value["ballots"] != len(ballots):
        wrong.append(f"the message holds {value['ballots']} ballots, not {len(ballots)}")
    for line in wrong:
        print(f"  NOT exact: {line}", flush=True)
    last = rounds[-1]
    winner = last.elected[0] if last.elected else None
    share = last.tally.get(winner, 0) / max(1, sum(last.tally.values()))
    print(
        f"  {winner} elected in round {last.number} with {share:.1%} of the continuing ballots; "
        f"first round leader {max(rounds[0].tally, key=rounds[0].tally.get)}; "
        f"inactive at the end: {sum(last.inactive.values()):,}",
        flush=True,
    )
    report(
        "rcv_rounds",
        ballots=len(ballots),
        candidates=args.candidates,
        patterns=len(patterns),
        rounds=len(rounds),
        tabulate_s=round(tabulate_s, 4),
        regroup_s=round(regroup_s, 4),
        baseline=round(baseline_s, 4),
        baseline_kind="ballot by ballot: every ballot its own pattern, count 1",
        ratio=round(baseline_s / tabulate_s, 2),
        under_1s=tabulate_s < TARGET_S,
        exact=not wrong,
    )
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
