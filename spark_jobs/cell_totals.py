"""A batch's cells added up with index arrays: what the JVM judged, per contest and district.

A counted ballot the JVM judged comes as cells, one per contest ('"id":[votes, overvotes,
undervotes]'), grouped by (state, county, cell). Each distinct cell is read once by the
domain's rule (election.contest_totals.judged_outcome) and kept by number; each home's style
(the domain's) gives the (contest, district) rows a contest of it adds to; a batch's groups are
then added up by numpy. A Python call per group and row took the judging thread 250-600 ms a
batch of 10-20k ballots under the latency benchmark; this takes 50-150 ms. What the domain
would refuse is refused the same way (a cell not of that shape, a contest off the home's style,
a choice not in the contest), before anything is added. A cell of a ranked contest, or of more
than one contest, is left to the domain (`left`).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from election.contest_totals import ContestTotals, Home, judged_outcome

# One row per (contest, district) with ballots, overvotes and undervotes (choice_id null), and
# one per choice that gained votes: staged_contest_totals' columns.
COLUMNS = ("contest_id", "district_id", "choice_id", "ballots", "overvotes", "undervotes", "votes")
SCHEMA = pa.schema([(name, pa.string() if i < 3 else pa.int64()) for i, name in enumerate(COLUMNS)])
_LEFT = -1  # a cell the domain adds itself
CELLS_KEPT = 100_000  # distinct cells kept read (an election has far fewer)
_NONE = "\x00"  # a home without a state or county, in a home's text (no roll's text holds NUL)


def empty() -> pa.Table:
    """No deltas, in COLUMNS."""
    return SCHEMA.empty_table()


class CellTotals:
    """Adds up cells for one election, keeping what it has read of cells and homes."""

    def __init__(self, totals: ContestTotals):
        self.totals = totals  # the domain's rules and styles
        self.contest_number = {c.contest_id: i for i, c in enumerate(totals.contests)}
        self.rows: list[tuple[str, str]] = []  # row number -> (contest_id, district_id)
        self.row_number: dict[tuple[str, str], int] = {}
        self.choices: list[str] = []  # choice number -> choice id
        self.choice_number: dict[tuple[int, str], int] = {}  # (contest number, choice id)
        self.cells: dict[str, int] = {}  # cell text -> cell number
        self.cell_contest: list[int] = []  # _LEFT: the domain's
        self.cell_over: list[int] = []
        self.cell_under: list[int] = []
        self.cell_votes: list[list[int]] = []  # choice numbers, a choice as often as it is named
        self.homes: dict[str, int] = {}  # a home's text -> home number
        self.pairs: dict[int, list[int]] = {}  # home number x contests + contest -> row numbers
        self._arrays: dict | None = None  # the lists above as arrays, rebuilt when they grow

    # --- what is kept ---------------------------------------------------------------------------

    def _cell(self, text: str) -> None:
        """Read a new cell (a ValueError or TypeError, or a KeyError for a choice not in the
        contest, as the domain raises; nothing is kept then)."""
        parsed = json.loads("{" + text + "}")
        contest, over, under, votes = _LEFT, 0, 0, []
        if len(parsed) == 1:
            ((contest_id, outcome),) = parsed.items()
            rule = self.totals.rules.get(contest_id)
            if rule is not None and not rule.ranked:
                judged, _ranks = judged_outcome(rule, outcome)
                contest = self.contest_number[contest_id]
                over, under = judged.overvotes, judged.undervotes
                known = {c.choice_id for c in rule.contest.choices}
                for choice_id in judged.votes:
                    if choice_id not in known:
                        raise KeyError(choice_id)
                    votes.append(self._choice(contest, choice_id))
        self.cells[text] = len(self.cell_contest)
        self.cell_contest.append(contest)
        self.cell_over.append(over)
        self.cell_under.append(under)
        self.cell_votes.append(votes)
        self._arrays = None

    def _choice(self, contest: int, choice_id: str) -> int:
        number = self.choice_number.get((contest, choice_id))
        if number is None:
            number = self.choice_number[(contest, choice_id)] = len(self.choices)
            self.choices.append(choice_id)
        return number

    def _home(self, text: str) -> None:
        state, county = text.split("\x1f")
        home: Home = (None if state == _NONE else state, None if county == _NONE else county)
        number = self.homes[text] = len(self.homes)
        for contest_id, districts in self.totals.style(home).districts.items():
            rows = []
            for district_id in districts:
                key = (contest_id, district_id)
                if key not in self.row_number:
                    self.row_number[key] = len(self.rows)
                    self.rows.append(key)
                rows.append(self.row_number[key])
            self.pairs[number * len(self.contest_number) + self.contest_number[contest_id]] = rows
        self._arrays = None

    def _numbers(self, texts: pa.ChunkedArray, known: dict[str, int], read) -> np.ndarray:
        """Each text's number, reading the texts not met before."""
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        value_set = pa.array(list(known), pa.string())
        found = pc.index_in(texts, value_set=value_set)
        if found.null_count:
            for text in pc.unique(texts.filter(pc.is_null(found))).to_pylist():
                read(text)
            value_set = pa.array(list(known), pa.string())
            found = pc.index_in(texts, value_set=value_set)
        return found.to_numpy(zero_copy_only=False).astype(np.int64)

    def _kept(self) -> dict:
        if self._arrays is None:
            codes = np.array(sorted(self.pairs), dtype=np.int64)
            lengths = np.array([len(self.pairs[c]) for c in codes], dtype=np.int64)
            flat = [r for c in codes for r in self.pairs[c]]
            self._arrays = {
                "contest": np.array(self.cell_contest, dtype=np.int64),
                "over": np.array(self.cell_over, dtype=np.int64),
                "under": np.array(self.cell_under, dtype=np.int64),
                "votes_length": np.array([len(v) for v in self.cell_votes], dtype=np.int64),
                "votes_start": _starts([len(v) for v in self.cell_votes]),
                "votes": np.array([c for v in self.cell_votes for c in v], dtype=np.int64),
                "pair_codes": codes,
                "pair_length": lengths,
                "pair_start": _starts(lengths.tolist()),
                "pair_rows": np.array(flat, dtype=np.int64),
            }
        return self._arrays

    # --- a batch --------------------------------------------------------------------------------

    def add(self, groups: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """groups: (address_state, county_fips, outcomes: the cell, count_all). Returns the deltas
        (COLUMNS) and a mask of the groups left to the domain (ranked or several contests)."""
        if not groups.num_rows:
            return empty(), np.zeros(0, dtype=bool)
        if len(self.cells) > CELLS_KEPT:  # hostile variety: start reading cells afresh
            self.cells, self.cell_votes = {}, []
            self.cell_contest, self.cell_over, self.cell_under = [], [], []
            self._arrays = None
        state = pc.fill_null(groups["address_state"], _NONE)
        county = pc.fill_null(groups["county_fips"], _NONE)
        home_text = pc.binary_join_element_wise(state, county, "\x1f")
        cell = self._numbers(groups["outcomes"], self.cells, self._cell)
        home = self._numbers(home_text, self.homes, self._home)
        n = groups["count_all"].to_numpy().astype(np.int64)
        a = self._kept()
        contest = a["contest"][cell]
        left = contest == _LEFT
        mine = ~left
        cell, home, n, contest = cell[mine], home[mine], n[mine], contest[mine]
        code = home * len(self.contest_number) + contest
        codes = a["pair_codes"]
        at = np.minimum(np.searchsorted(codes, code), max(len(codes) - 1, 0))
        found = codes[at] == code if len(codes) else np.zeros(len(code), dtype=bool)
        if not found.all():  # a contest off the home's style: the domain's KeyError
            missing = int(code[~found][0] % len(self.contest_number))
            raise KeyError(self.totals.contests[missing].contest_id)
        # each group once for every row its contest adds to in its home's districts
        rows, of = _expand(a["pair_start"][at], a["pair_length"][at], a["pair_rows"])
        n_rows, cell_rows = n[of], cell[of]
        size = len(self.rows)
        ballots = np.bincount(rows, weights=n_rows, minlength=size)
        over = np.bincount(rows, weights=n_rows * a["over"][cell_rows], minlength=size)
        under = np.bincount(rows, weights=n_rows * a["under"][cell_rows], minlength=size)
        touched = np.flatnonzero(ballots)
        # and once for every choice its cell names
        choices, by = _expand(a["votes_start"][cell_rows], a["votes_length"][cell_rows], a["votes"])
        pair = rows[by] * max(len(self.choices), 1) + choices
        pairs, inverse = np.unique(pair, return_inverse=True)
        votes = np.bincount(inverse, weights=n_rows[by], minlength=len(pairs))
        pairs, votes = pairs[votes > 0], votes[votes > 0]
        vote_rows, vote_choices = np.divmod(pairs, max(len(self.choices), 1))
        keys = [self.rows[i] for i in touched.tolist()] + [self.rows[i] for i in vote_rows.tolist()]
        table = pa.table(
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [None] * len(touched) + [self.choices[c] for c in vote_choices.tolist()],
                _ints(ballots[touched], len(vote_rows)),
                _ints(over[touched], len(vote_rows)),
                _ints(under[touched], len(vote_rows)),
                np.concatenate([np.zeros(len(touched)), votes]).astype(np.int64),
            ],
            schema=SCHEMA,
        )
        return table, left


def _starts(lengths: list[int]) -> np.ndarray:
    """Where each run of a flat list starts, given the runs' lengths."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]]).astype(np.int64)


def _expand(starts: np.ndarray, lengths: np.ndarray, flat: np.ndarray):
    """For each i, flat[starts[i] : starts[i] + lengths[i]], all in a row, and whose each is."""
    owner = np.repeat(np.arange(len(starts)), lengths)
    within = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return flat[starts[owner] + within], owner


def _ints(values: np.ndarray, zeros: int) -> pa.Array:
    """Counts (exact: bincount's float sums stay far below 2**53) then zeros."""
    return pa.array(np.concatenate([np.rint(values), np.zeros(zeros)]).astype(np.int64))
