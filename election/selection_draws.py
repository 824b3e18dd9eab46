"""Each voter's marks on a multi-contest ballot, drawn in bulk from the turnout model's plan.

The national contest takes the plan's candidate (today's preference model); a down-ballot
plurality contest leans on the voter's national choice by party (with a per-contest loyalty and
a per-county swing); a measure is yes or no with its state's yes share. A ranked contest's first
choice is drawn as a plurality contest's mark; then the voter ranks 1, 2, 3 or every candidate
the rules allow (RANKS_SHARE), each later rank a candidate not ranked yet, mostly of the first
choice's party (RANK_AFFINITY): a ranking of distinct ids, no skipped rank, no rank overvoted,
so a ballot whose candidates are all eliminated exhausts. Every contest has its roll-off (more
blank ballots down the ballot: NATIONAL_ROLL_OFF, STATE_ROLL_OFF, DOWN_ROLL_OFF) and all but
ranked ones a few overvotes. A ballot's marks are codes into a SelectionBook, one per contest
of its style in ballot order, so a million ballots are a small integer matrix and the messages
are built from the book's JSON fragments in bulk (election.ballots.encode_selection_ballots).
"""

from __future__ import annotations

import collections
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from election.contest_totals import ContestTotals, DistrictTotals
from election.contests import (
    MEASURE,
    NATION,
    NATIONAL_CONTEST,
    RANKED,
    Contest,
    county_district,
    home_state_district,
)
from election.selections import max_rankings

# Roll-off by where a contest sits on the ballot: (lowest, highest) undervote share.
NATIONAL_ROLL_OFF, STATE_ROLL_OFF, DOWN_ROLL_OFF = (0.01, 0.02), (0.04, 0.06), (0.08, 0.12)
OVERVOTE_SHARE = (0.001, 0.003)  # per contest
LOYALTY, LOYALTY_SPREAD, COUNTY_SWING = 0.8, 0.05, 0.04  # voting the national choice's party
PARTIAL_SHARE = 0.08  # of a vote-for-N contest's voters who mark fewer than N
YES_SHARE, YES_SPREAD = 0.55, 0.08  # a measure's yes share, by state
MOST_MARKS = 20_000  # distinct selections of one contest a book holds (its combinations)
# Of a ranked contest's voters: how many rank 1, 2 and 3 candidates; the rest rank every one the
# rules allow (at most MOST_RANKS). A later rank is RANK_AFFINITY times likelier to go to a
# candidate of the first choice's party than its popularity alone would make it.
RANKS_SHARE, RANK_AFFINITY, MOST_RANKS = (0.35, 0.25, 0.2), 8.0, 10
NO_MARK = -1
# Candidates no roll registers: the national contest's unknown choices (the seed's too).
UNKNOWN_CANDIDATE_IDS = ("cand-unknown-1", "cand-unknown-2", "cand-unknown-3")


@dataclass(frozen=True)
class SelectionBook:
    """Every selection a plan marks, by code: its contest, its entries and its JSON fragment."""

    contest_ids: tuple[str, ...]
    entries: tuple[tuple[str, ...], ...]
    fragments: pa.StringArray  # '"contest":["a","b"]', compact

    @classmethod
    def of(cls, marks: Sequence[tuple[str, tuple[str, ...]]]) -> SelectionBook:
        fragments = [json.dumps({c: list(e)}, separators=(",", ":"))[1:-1] for c, e in marks]
        return cls(
            tuple(c for c, _ in marks), tuple(e for _, e in marks), pa.array(fragments, pa.string())
        )


@dataclass(frozen=True)
class PlannedSelections:
    """A plan's ballots' marks: codes (ballots x slots, NO_MARK past the last) into the book."""

    codes: np.ndarray
    book: SelectionBook
    county_fips: np.ndarray  # each ballot's voter's county (object, None when unknown)

    def __len__(self) -> int:
        return len(self.codes)

    def slice(self, start: int, stop: int) -> PlannedSelections:
        return PlannedSelections(self.codes[start:stop], self.book, self.county_fips[start:stop])

    def ballot(self, position: int) -> dict[str, tuple[str, ...]]:
        """One ballot's selections, contest id -> choice ids, in ballot order."""
        return {
            self.book.contest_ids[c]: self.book.entries[c]
            for c in self.codes[position].tolist()
            if c != NO_MARK
        }

    def fragments(self) -> pa.StringArray:
        """Each ballot's selections as the inside of its JSON object: '"c1":["a"],"c2":[]'
        ('' for a ballot that marks no contest)."""
        marked = (self.codes != NO_MARK).any(axis=1)
        if not marked.all():  # Arrow's join leaves out a row whose every column is null
            found = np.full(len(self.codes), "", dtype=object)
            inner = PlannedSelections(self.codes[marked], self.book, self.county_fips[marked])
            found[marked] = inner.fragments().to_pylist()
            return pa.array(found, pa.string())
        columns = [
            self.book.fragments.take(pa.array(column, mask=column == NO_MARK))
            for column in self.codes.T
        ]
        if not columns:
            return pa.array([""] * len(self.codes), pa.string())
        return pc.binary_join_element_wise(*columns, ",", null_handling="skip")


class _Homes:
    """The ballots' homes: which ballots live in each state and county district."""

    def __init__(self, states: np.ndarray, county_fips: np.ndarray):
        self.size = len(states)
        self.state_ids, self.state_of = _districts(states, home_state_district)
        self.county_ids, self.county_of = _districts(county_fips, county_district)
        self._members: dict[str, np.ndarray] = {}
        for names, codes in ((self.state_ids, self.state_of), (self.county_ids, self.county_of)):
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
            for k, name in enumerate(names):
                found = order[bounds[k] : bounds[k + 1]]
                known = self._members.get(name)
                self._members[name] = found if known is None else np.sort(np.r_[known, found])

    def members(self, district_id: str) -> np.ndarray:
        """The ballots of voters who live in the district, in plan order."""
        if district_id == NATION:
            return np.arange(self.size)
        return self._members.get(district_id, np.zeros(0, dtype=np.int64))

    def longest_style(self, contests: Sequence[Contest]) -> int:
        """The most contests on any of these ballots."""
        held = collections.Counter(c.district_id for c in contests)
        state = np.array([held[n] for n in self.state_ids] + [0])[self.state_of]
        county = np.array([held[n] for n in self.county_ids] + [0])[self.county_of]
        return held[NATION] + int((state + county).max(initial=0))

    def lives_in(self, rows: np.ndarray, district_id: np.ndarray) -> np.ndarray:
        """Whether each ballot of rows lives in the district beside it."""
        state = np.array([*self.state_ids, None], dtype=object)[self.state_of[rows]]
        county = np.array([*self.county_ids, None], dtype=object)[self.county_of[rows]]
        return (district_id == NATION) | (district_id == state) | (district_id == county)


def _districts(values: np.ndarray, district_of) -> tuple[list[str], np.ndarray]:
    """Each value's district id (None stays outside every district) and its code among them."""
    encoded = pa.array(np.asarray(values, dtype=object), pa.string()).dictionary_encode()
    names = [district_of(v) for v in encoded.dictionary.to_pylist()]
    codes = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
    return names, codes.astype(np.int64)


def draw_selections(
    contests: Sequence[Contest],
    states: np.ndarray,
    county_fips: np.ndarray,
    national: np.ndarray,
    troubled: np.ndarray,
    seed: int,
) -> tuple[PlannedSelections, np.ndarray]:
    """Every ballot's marks, and which of the troubled ballots name a contest off their style.

    states and county_fips are each ballot's voter's home (the state as the roll names it),
    national each ballot's candidate in the national contest; troubled marks the ballots that
    name an unknown national candidate: of them a third keep it, a third name an unknown choice
    down the ballot instead (both `unknown_candidate`), a third a contest of another district
    (`not_on_ballot`, returned); the last two leave the national contest blank.
    """
    contests = sorted(contests, key=lambda c: c.position)
    by_id = {c.contest_id: c for c in contests}
    if NATIONAL_CONTEST not in by_id or not by_id[NATIONAL_CONTEST].choices:
        raise ValueError("the national contest needs its choices (the registered candidates)")
    rng = np.random.default_rng([seed, 0x5E1])
    homes = _Homes(states, county_fips)
    swing = COUNTY_SWING * rng.standard_normal(len(homes.county_ids) + 1)[homes.county_of]
    national_choices = _ordered(by_id[NATIONAL_CONTEST])
    national_index = _index_of(national, [c.choice_id for c in national_choices])
    parties = sorted({choice.party for c in contests for choice in c.choices if choice.party})
    party_of = np.array([_party(c, parties) for c in national_choices] + [-1])
    voter_party = party_of[national_index]  # -1: no party, or an unknown candidate

    book: list[tuple[str, tuple[str, ...]]] = []
    starts, unknown_at, first_at = [], [], []
    codes = np.full((homes.size, homes.longest_style(contests) + 1), NO_MARK, dtype=np.int32)
    filled = np.zeros(homes.size, dtype=np.int64)
    national_slot = filled
    for contest in contests:
        members = homes.members(contest.district_id)
        if contest.contest_id == NATIONAL_CONTEST:
            national_slot = filled.copy()
            picked = _national_marks(rng, contest, national_index)
        else:
            picked = _contest_marks(rng, contest, voter_party[members], swing[members], parties)
        masks, start, unknown = _book_entries(contest, book, picked)
        starts.append(start)
        unknown_at.append(unknown)
        first_at.append(start + 1)  # mask (or ranking key) 1: its first choice alone
        codes[members, filled[members]] = start + np.searchsorted(masks, picked)
        filled[members] += 1

    rows = np.flatnonzero(troubled)
    way = rng.integers(0, 3, len(rows))
    down = rows[way == 1]  # an unknown choice in the last contest of the style
    last = codes[down, filled[down] - 1]
    codes[down, filled[down] - 1] = np.array(unknown_at)[np.searchsorted(starts, last, "right") - 1]
    off, marked = _off_style(rng, homes, contests, first_at, rows[way == 2])
    codes[off, filled[off]] = marked
    not_on_ballot = np.zeros(homes.size, dtype=bool)
    not_on_ballot[off] = True
    # the rest name an unknown national candidate (so do those no contest is off the style of)
    named = np.union1d(rows[way == 0], np.setdiff1d(rows[way == 2], off))
    national_unknowns = unknown_at[[c.contest_id for c in contests].index(NATIONAL_CONTEST)]
    codes[named, national_slot[named]] = national_unknowns + rng.integers(
        0, len(unknown_choice_ids(by_id[NATIONAL_CONTEST])), len(named)
    )
    selections = PlannedSelections(codes, SelectionBook.of(book), _objects(county_fips))
    return selections, not_on_ballot


def planned_results(
    selections: PlannedSelections,
    contests: Sequence[Contest],
    states: np.ndarray,
    counted: np.ndarray,
    roll: Iterable[tuple[str | None, str | None]] = (),
) -> dict[tuple[str, str], DistrictTotals]:
    """The contest totals the counted ballots come to (election.contest_totals' rows; with the
    roll's homes, (state, county_fips), a row for every district a registered voter lives in)."""
    homes = list(zip(states.tolist(), selections.county_fips.tolist(), strict=True))
    totals = ContestTotals(contests, [*homes, *roll])
    for position in np.flatnonzero(counted).tolist():
        totals.add(homes[position], selections.ballot(position))
    return totals.results


def national_votes(selections: PlannedSelections, candidate_ids: Sequence[str]) -> np.ndarray:
    """Each ballot's vote in the national contest, as an index into candidate_ids; -1 for none
    (blank, overvoted, an unknown candidate, or no national contest on the ballot)."""
    where = {c: k for k, c in enumerate(candidate_ids)}
    book = selections.book
    national = np.array([c == NATIONAL_CONTEST for c in book.contest_ids] + [False])
    vote = [where.get(e[0], -1) if len(e) == 1 else -1 for e in book.entries]
    vote = np.array([*vote, -1])[selections.codes]  # NO_MARK picks the last: none
    return np.where(national[selections.codes], vote, -1).max(axis=1, initial=-1)


def unknown_choice_ids(contest: Contest) -> tuple[str, ...]:
    """The choice ids a troubled ballot names in a contest that holds none of them."""
    if contest.contest_id == NATIONAL_CONTEST:
        found = UNKNOWN_CANDIDATE_IDS
    else:
        found = (f"{contest.contest_id}-unknown",)
    return tuple(c + "-x" * (c in contest.choice_ids) for c in found)


# --- the draws ------------------------------------------------------------------------------


def _off_style(rng, homes: _Homes, contests, first_at, rows) -> tuple[np.ndarray, np.ndarray]:
    """For the ballots of rows, a contest of a district their voter does not live in, marked
    with its first choice: the rows it was found for, and the codes."""
    foreign = [k for k, c in enumerate(contests) if c.district_id != NATION]
    if not foreign or not len(rows):
        return rows[:0], np.zeros(0, dtype=np.int32)
    districts = np.array([c.district_id for c in contests], dtype=object)[foreign]
    pick = rng.integers(0, len(foreign), len(rows))
    own = homes.lives_in(rows, districts[pick])
    for _ in range(len(foreign)):  # past the districts the voter lives in
        if not own.any():
            break
        pick = np.where(own, (pick + 1) % len(foreign), pick)
        own = homes.lives_in(rows, districts[pick])
    return rows[~own], np.array(first_at)[foreign][pick[~own]]


def _book_entries(contest: Contest, book: list, picked: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Add a contest's selections to the book: every set of up to vote_for choices, and of one
    more where it has more choices (as bit masks of choice positions, ascending; 0 is blank),
    or a ranked contest's rankings (blank, each choice alone, and the others picked holds, by
    their keys, ascending); then its unknown choices. Returns the masks (or keys), the first
    code and the first unknown's code."""
    ids = [c.choice_id for c in _ordered(contest)]
    if len(ids) > 62:
        raise ValueError(f"contest {contest.contest_id!r} has too many choices to plan ballots")
    if contest.kind == RANKED:
        keys = np.union1d(np.arange(len(ids) + 1), picked)
        start = len(book)
        book.extend((contest.contest_id, r) for r in _rankings_of(keys, ids))
        unknown = len(book)
        book.extend((contest.contest_id, (u,)) for u in unknown_choice_ids(contest))
        return keys, start, unknown
    most = min(_vote_for(contest) + 1, len(ids))
    sets = [()] + [
        s for m in range(1, most + 1) for s in itertools.combinations(range(len(ids)), m)
    ]
    if len(sets) > MOST_MARKS:
        raise ValueError(f"contest {contest.contest_id!r} has too many choices to plan ballots")
    masks = np.array([sum(1 << i for i in s) for s in sets], dtype=np.int64)
    order = np.argsort(masks)
    start = len(book)
    book.extend((contest.contest_id, tuple(ids[i] for i in sets[k])) for k in order.tolist())
    unknown = len(book)
    book.extend((contest.contest_id, (u,)) for u in unknown_choice_ids(contest))
    return masks[order], start, unknown


def _rankings_of(keys: np.ndarray, ids: list[str]) -> list[tuple[str, ...]]:
    """The rankings keys stand for: rank j's choice position + 1 is digit j in base len(ids) + 1
    (the lowest digit first), a zero digit ending the ranking."""
    base = len(ids) + 1
    found = []
    for key in keys.tolist():
        ranking = []
        while key:
            key, digit = divmod(key, base)
            ranking.append(ids[digit - 1])
        found.append(tuple(ranking))
    return found


def _most_ranks(contest: Contest) -> int:
    """How many candidates a voter of a ranked contest ranks at most: all of them, but no more
    than the rules allow, MOST_RANKS, or a key (base choices + 1) holds in 62 bits."""
    k = len(contest.choices)
    most = min(k, MOST_RANKS, max_rankings(contest.rules or {}) or k)
    while most > 1 and (k + 1) ** most >= 1 << 62:
        most -= 1
    return max(most, 1)


def _vote_for(contest: Contest) -> int:
    return 1 if contest.kind in (MEASURE, RANKED) else max(contest.vote_for, 1)


def _ordered(contest: Contest) -> list:
    return sorted(contest.choices, key=lambda c: c.position)


def _party(choice, parties: list[str]) -> int:
    return parties.index(choice.party) if choice.party else -2  # -2 matches no voter


def _national_marks(rng, contest: Contest, national_index: np.ndarray) -> np.ndarray:
    """The plan's candidate (an unknown one: blank, for now), with its roll-off and overvotes."""
    k = len(contest.choices)
    picked = np.where(national_index < k, np.left_shift(1, np.minimum(national_index, k - 1)), 0)
    return _blanks(rng, contest, picked.astype(np.int64), NATIONAL_ROLL_OFF)


def _contest_marks(rng, contest: Contest, party, swing, parties) -> np.ndarray:
    """Bit masks of the choices each voter of a down-ballot contest marks."""
    choices = _ordered(contest)
    k, n = len(choices), len(party)
    if contest.kind == MEASURE:
        yes = np.clip(YES_SHARE + YES_SPREAD * rng.standard_normal() + swing, 0.05, 0.95)
        yes_at = [c.choice_id for c in choices].index("yes")
        pick = np.where(rng.random(n) < yes, yes_at, 1 - yes_at)
        return _blanks(rng, contest, np.left_shift(1, pick).astype(np.int64), DOWN_ROLL_OFF)
    share = rng.dirichlet(np.full(k, 4.0))
    choice_party = np.array([_party(c, parties) for c in choices])
    loyalty = np.clip(LOYALTY + LOYALTY_SPREAD * rng.standard_normal() + swing, 0.5, 0.97)
    loyal = rng.random(n) < loyalty
    same = choice_party[None, :] == party[:, None]
    roll_off = STATE_ROLL_OFF if contest.district_id.startswith("state:") else DOWN_ROLL_OFF
    if contest.kind == RANKED:
        first = _weighted(rng, _leaning(np.broadcast_to(share, (n, k)), same, loyal))
        keys = _rankings(rng, first, share, choice_party, _most_ranks(contest))
        return _blanks(rng, contest, keys, roll_off)
    wanted = min(_vote_for(contest), k)
    marking = np.where(rng.random(n) < PARTIAL_SHARE, 1, wanted) if wanted > 1 else 1
    mask = np.zeros(n, dtype=np.int64)
    taken = np.zeros((n, k), dtype=bool)
    for mark in range(wanted):
        pick = _weighted(rng, _leaning(np.where(taken, 0.0, share[None, :]), same, loyal))
        marks = mark < marking
        mask |= np.where(marks, np.left_shift(1, pick), 0)
        taken[np.arange(n), pick] |= marks
        if mark == 0:  # the later marks follow the first mark's party
            same = choice_party[None, :] == choice_party[pick][:, None]
    return _blanks(rng, contest, mask, roll_off)


def _leaning(weights: np.ndarray, same: np.ndarray, loyal: np.ndarray) -> np.ndarray:
    """A loyal voter's weights kept to the candidates of their party, where any is left."""
    lean = weights * same
    return np.where((loyal & (lean.sum(axis=1) > 0))[:, None], lean, weights)


def _rankings(rng, first: np.ndarray, share, choice_party, most: int) -> np.ndarray:
    """Each voter's ranking as a key (_rankings_of): first, then up to most - 1 distinct more."""
    n, k = len(first), len(share)
    cut = np.searchsorted(np.cumsum(RANKS_SHARE), rng.random(n), side="right")
    length = np.minimum(np.where(cut < len(RANKS_SHARE), cut + 1, most), most)
    first_party = choice_party[first]
    same = (choice_party[None, :] == first_party[:, None]) & (first_party >= 0)[:, None]
    weights = share[None, :] * np.where(same, RANK_AFFINITY, 1.0)
    weights[np.arange(n), first] = 0.0
    keys = first.astype(np.int64) + 1
    for rank in range(1, most):
        rows = np.flatnonzero(length > rank)
        if not len(rows):
            break
        pick = _weighted(rng, weights[rows])
        keys[rows] += (pick + 1).astype(np.int64) * (k + 1) ** rank
        weights[rows, pick] = 0.0
    return keys


def _blanks(rng, contest: Contest, mask: np.ndarray, roll_off) -> np.ndarray:
    """Leave a roll_off share blank; overvote a few (the voter's marks and more, vote_for + 1),
    but for a ranked contest (its marks are ranking keys, never overvoted)."""
    n, k, most = len(mask), len(contest.choices), _vote_for(contest) + 1
    mask = np.where(rng.random(n) < rng.uniform(*roll_off), 0, mask)
    if k >= most and contest.kind != RANKED:
        rows = np.flatnonzero((rng.random(n) < rng.uniform(*OVERVOTE_SHARE)) & (mask != 0))
        over = mask[rows]
        for _ in range(most):
            bits = (over[:, None] >> np.arange(k)) & 1
            extra = np.left_shift(1, _weighted(rng, 1.0 - bits))
            over = np.where(bits.sum(axis=1) < most, over | extra, over)
        mask[rows] = over
    return mask


def _weighted(rng, weights: np.ndarray) -> np.ndarray:
    """One column per row, drawn in proportion to that row's weights (not all zero)."""
    cumulative = np.cumsum(weights, axis=1)
    drawn = rng.random(len(weights)) * cumulative[:, -1]
    return np.minimum((drawn[:, None] >= cumulative).sum(axis=1), weights.shape[1] - 1)


def _index_of(values: np.ndarray, ids: list[str]) -> np.ndarray:
    """Each value's index in ids; len(ids) for a value not among them."""
    encoded = pa.array(_objects(values), pa.string()).dictionary_encode()
    where = {c: k for k, c in enumerate(ids)}
    lookup = np.array([where.get(v, len(ids)) for v in encoded.dictionary.to_pylist()] + [len(ids)])
    return lookup[encoded.indices.fill_null(len(lookup) - 1).to_numpy(zero_copy_only=False)]


def _objects(values) -> np.ndarray:
    values = values.to_numpy(zero_copy_only=False) if isinstance(values, pa.Array) else values
    return np.asarray(values, dtype=object)
