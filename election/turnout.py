"""The turnout and preference model: who votes, when during the voting day, and for whom.

A plan is made once, deterministically for a seed, and then cast in waves; the same plan is
the generator's own record of the true result (`expected_totals`), against which the tally
and the certified recount are checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from election import ballots, contract, ids, selection_draws
from election.contests import Contest

BALLOT = "ballot"
REPEAT = "repeat"  # a voter who has already voted tries again
UNKNOWN_CANDIDATE = "unknown_candidate"  # a ballot naming a choice not in its contest
NOT_ON_BALLOT = "not_on_ballot"  # a ballot naming a contest not on its voter's style
KINDS = (BALLOT, REPEAT, UNKNOWN_CANDIDATE, NOT_ON_BALLOT)
UNKNOWN_CANDIDATE_IDS = selection_draws.UNKNOWN_CANDIDATE_IDS
REPEAT_SHARE = 2 / 3  # of the problem ballots; the rest name unknown candidates

# The voting day's shape (polls 07:00-20:00): people vote before work, at lunch and after
# work, on top of a steady trickle. Centre and width are fractions of the day.
_DAY_TRICKLE = 0.35
_DAY_PEAKS = ((0.25, 0.08, 0.06), (0.12, 0.42, 0.04), (0.28, 0.83, 0.07))  # weight, centre, width
_DAY_GRID = np.linspace(0.0, 1.0, 4097)
_LAST_INSTANT = np.nextafter(1.0, 0.0)
EXPECTED_TURNOUT = 0.65  # the model's national turnout unless a plan is made with another


@dataclass(frozen=True)
class BallotPlan:
    """The ballots to cast, in the order they are cast; equal-length arrays, one entry per ballot."""

    vote_id: np.ndarray
    voter_id: np.ndarray
    candidate_id: np.ndarray
    address_state: np.ndarray
    day_fraction: np.ndarray  # when in the voting day, in [0, 1); sorted ascending
    kind: np.ndarray  # one of KINDS
    candidate_ids: tuple[str, ...] = ()  # the registered candidates the plan was made for
    # every contest's marks (a plan made with the election's contests), else the seed's ballot
    selections: selection_draws.PlannedSelections | None = None

    def __post_init__(self) -> None:
        lengths = {len(getattr(self, f)) for f in _PLAN_ARRAYS}
        lengths |= {len(self.selections)} if self.selections is not None else set()
        if len(lengths) > 1:
            raise ValueError(f"a ballot plan's arrays differ in length: {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.vote_id)

    def slice(self, start: int, stop: int) -> BallotPlan:
        """The ballots from position start up to (not including) stop, e.g. one wave."""
        marks = None if self.selections is None else self.selections.slice(start, stop)
        return dataclasses.replace(
            self, selections=marks, **{f: getattr(self, f)[start:stop] for f in _PLAN_ARRAYS}
        )

    def voting_times(self, polls_opened_at: dt.datetime, voting_day: dt.timedelta) -> np.ndarray:
        """Each ballot's voting time as the contract writes it, for a day of that length."""
        # Through utc_iso so that a naive time means UTC, as everywhere in the contract.
        opened = np.datetime64(ballots.utc_iso(polls_opened_at)[:-1], "us")
        offset = np.round(self.day_fraction * (voting_day / dt.timedelta(microseconds=1)))
        moments = opened + offset.astype("timedelta64[us]")
        return ballots.utc_iso_many(moments)


_PLAN_ARRAYS = ("vote_id", "voter_id", "candidate_id", "address_state", "day_fraction", "kind")


@dataclass(frozen=True)
class Truth:
    """The result a plan must produce when every ballot is counted by the rules."""

    ballots: int  # messages planned
    counted: int  # ballots counted
    per_candidate: dict[str, int]  # every registered candidate, zeros included
    per_state: dict[tuple[str, str], int]  # (address_state, candidate_id) with votes only
    turnout_by_state: dict[str, int]  # voters counted, states with votes only
    rejected_by_reason: dict[str, int]  # every rejection reason, zeros included

    def to_dict(self) -> dict:
        """JSON-safe form; per-state keys as on aggregated_votes_per_state."""
        return {
            "ballots": self.ballots,
            "counted": self.counted,
            "per_candidate": dict(self.per_candidate),
            "per_state": {
                contract.state_result_key(state, candidate): n
                for (state, candidate), n in sorted(self.per_state.items())
            },
            "turnout_by_state": dict(sorted(self.turnout_by_state.items())),
            "rejected_by_reason": dict(self.rejected_by_reason),
        }


def plan_election(
    voter_ids,
    voter_states,
    candidate_ids: Sequence[str],
    seed: int = 7,
    turnout: float = EXPECTED_TURNOUT,
    problem_share: float = 0.0,
    contests: Sequence[Contest] | None = None,
    voter_counties=None,
) -> BallotPlan:
    """Plan an election day for a roll: who turns out, when, and for whom; sorted by time.

    problem_share adds, as a share of the genuine ballots, repeat attempts by voters who have
    already voted and ballots naming unknown candidates. With the election's contests (the
    national one with the candidates as its choices) and the voters' county FIPS codes, each
    ballot also marks every contest of its style (election.selection_draws), the same plan
    otherwise; some of the unknown-candidate ballots then name a contest off their style.
    """
    voter_ids, voter_states = _as_numpy(voter_ids), _as_numpy(voter_states)
    candidates = tuple(str(c) for c in candidate_ids)
    _check(voter_ids, voter_states, candidates, turnout, problem_share)
    rng = np.random.default_rng(seed)
    states, state_of = _factorize(voter_states)
    registered = np.bincount(state_of, minlength=len(states))

    rates = _state_turnout(rng, turnout, registered)
    voters = np.flatnonzero(rng.random(len(voter_ids)) < rates[state_of])
    preference = _state_preferences(rng, len(candidates), registered * rates)
    choice = _choose(rng, preference[state_of[voters]])
    day = day_fractions(rng, len(voters))

    problems = round(problem_share * len(voters))
    repeats = round(problems * REPEAT_SHARE) if len(voters) else 0
    unknowns = problems - repeats

    first = rng.integers(0, max(len(voters), 1), repeats)
    # Half of those who try again change their mind; either way, it comes later in the day.
    change = (rng.random(repeats) < 0.5) & (len(candidates) > 1)
    other = (choice[first] + rng.integers(1, max(len(candidates), 2), repeats)) % len(candidates)
    repeat_choice = np.where(change, other, choice[first])
    repeat_day = day[first] + (1.0 - day[first]) * rng.random(repeats)

    unknown_voter = rng.integers(0, len(voter_ids), unknowns)
    unknown_choice = len(candidates) + rng.integers(0, len(UNKNOWN_CANDIDATE_IDS), unknowns)
    unknown_day = day_fractions(rng, unknowns)

    voter = np.concatenate([voters, voters[first], unknown_voter])
    candidate = np.concatenate([choice, repeat_choice, unknown_choice])
    when = np.minimum(np.concatenate([day, repeat_day, unknown_day]), _LAST_INSTANT)
    kind = np.repeat(np.arange(3, dtype=np.int8), [len(voters), repeats, unknowns])
    # By time; at the very same instant a voter's genuine ballot goes before a repeat.
    order = np.lexsort((kind, when))
    voter, candidate, when, kind = voter[order], candidate[order], when[order], kind[order]

    # Text columns hold Python strings (dtype object): shared names cost a pointer per ballot,
    # and the producer's tolist() is then free.
    names = np.array(candidates + UNKNOWN_CANDIDATE_IDS, dtype=object)
    address_state = np.array(states, dtype=object)[state_of[voter]]
    marks = None
    if contests is not None:
        homes = np.full(len(voter_ids), None, dtype=object)
        homes = homes if voter_counties is None else _as_numpy(voter_counties).astype(object)
        marks, off_style = selection_draws.draw_selections(
            contests, address_state, homes[voter], names[candidate], kind == 2, seed
        )
        kind = np.where(off_style, KINDS.index(NOT_ON_BALLOT), kind)
    return BallotPlan(
        vote_id=vote_ids(seed, len(order)),
        voter_id=voter_ids[voter].astype(object),
        candidate_id=names[candidate],
        address_state=address_state,
        day_fraction=when,
        kind=np.array(KINDS, dtype=object)[kind],
        candidate_ids=candidates,
        selections=marks,
    )


def expected_totals(plan: BallotPlan) -> Truth:
    """The true result of a plan under the counting rules, as the generator knows it.

    Ballots naming an unknown candidate or a contest off their style are rejected and do not use
    up the voter's vote; of the rest, a voter's first in plan order counts and every later one
    is a duplicate. A plan with selections counts its national contest's votes (a blank or
    overvoted national contest counts the ballot, for no candidate).
    """
    candidates = plan.candidate_ids
    seed_vote, valid, counted = _judged(plan)
    off_style = plan.kind == NOT_ON_BALLOT
    # the ballot's vote in the national contest: its candidate, or its selection there if any
    candidate = (
        seed_vote
        if plan.selections is None
        else selection_draws.national_votes(plan.selections, candidates)
    )
    voted = counted[candidate[counted] >= 0]

    states, state_code = _factorize(plan.address_state[counted])
    k = len(candidates)
    by_state = state_code[candidate[counted] >= 0] * k + candidate[voted]
    cells = np.bincount(by_state, minlength=len(states) * k)
    per_state = {(states[i // k], candidates[i % k]): int(n) for i, n in enumerate(cells) if n > 0}
    rejected = dict.fromkeys(contract.REJECTION_REASONS, 0)
    rejected[contract.NOT_ON_BALLOT] = int(off_style.sum())
    rejected[contract.UNKNOWN_CANDIDATE] = int(len(plan) - len(valid) - off_style.sum())
    rejected[contract.DUPLICATE] = int(len(valid) - len(counted))
    per_candidate = np.bincount(candidate[voted], minlength=k)
    turnout = np.bincount(state_code, minlength=len(states))
    return Truth(
        ballots=len(plan),
        counted=len(counted),
        per_candidate={c: int(n) for c, n in zip(candidates, per_candidate, strict=True)},
        per_state=per_state,
        turnout_by_state={s: int(n) for s, n in zip(states, turnout, strict=True) if n > 0},
        rejected_by_reason=rejected,
    )


def counted_ballots(plan: BallotPlan) -> np.ndarray:
    """Whether each ballot of the plan counts (as expected_totals counts them)."""
    counted = np.zeros(len(plan), dtype=bool)
    counted[_judged(plan)[2]] = True
    return counted


def _judged(plan: BallotPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each ballot's seed candidate (its index, -1 unknown); the valid ballots, and the
    counted ones (a voter's first valid ballot in plan order), as positions."""
    seed_vote = np.full(len(plan), -1, dtype=np.int64)
    for index, candidate_id in enumerate(plan.candidate_ids):
        seed_vote[plan.candidate_id == candidate_id] = index
    wrong = (plan.kind == UNKNOWN_CANDIDATE) | (plan.kind == NOT_ON_BALLOT)
    valid = np.flatnonzero((seed_vote >= 0) & ~wrong)
    _, voter_code = _factorize(plan.voter_id[valid], ordered=False)
    _, first = np.unique(voter_code, return_index=True)
    return seed_vote, valid, valid[first]


def voting_day_density(x: np.ndarray) -> np.ndarray:
    """Relative rate of voting at fraction x of the voting day (not normalised)."""
    x = np.asarray(x, dtype=np.float64)
    density = np.full_like(x, _DAY_TRICKLE)
    for weight, centre, width in _DAY_PEAKS:
        density += (
            weight * np.exp(-0.5 * ((x - centre) / width) ** 2) / (width * np.sqrt(2 * np.pi))
        )
    return density


def _day_cumulative() -> np.ndarray:
    density = voting_day_density(_DAY_GRID)
    cumulative = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return cumulative / cumulative[-1]


def day_share_by(fraction: float) -> float:
    """The share of the day's ballots cast by fraction `fraction` of the voting day (0..1)."""
    return float(np.interp(min(max(float(fraction), 0.0), 1.0), _DAY_GRID, _day_cumulative()))


def elapsed_day_fraction(opened_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> float:
    """How far through the voting day `now` is, from 0 at the opening to 1 at the closing."""
    day = (closes_at - opened_at).total_seconds()
    if day <= 0:
        raise ValueError(f"the polls must close after they open ({opened_at} .. {closes_at})")
    return min(max((now - opened_at).total_seconds() / day, 0.0), 1.0)


def ballots_due(plan: BallotPlan, fraction: float) -> int:
    """How many of the plan's ballots (in cast order) are due by fraction `fraction` of the day."""
    if fraction >= 1.0:
        return len(plan)
    return int(np.searchsorted(plan.day_fraction, fraction, side="right"))


def day_fractions(rng: np.random.Generator, n: int) -> np.ndarray:
    """n moments in [0, 1) drawn from the voting day's curve (by inverting its distribution)."""
    cumulative = _day_cumulative()
    return np.minimum(np.interp(rng.random(n), cumulative, _DAY_GRID), _LAST_INSTANT)


def vote_ids(seed: int, n: int) -> np.ndarray:
    """The vote ids of plan positions 0..n-1 for a seed: UUID-formatted, random-looking, unique."""
    key = np.random.default_rng([seed, 0x7E]).integers(0, 2**62, size=2, dtype=np.uint64)
    position = np.arange(n, dtype=np.uint64)
    # The low half is a bijection of the position on 62 bits, so no two positions share an id;
    # the high half only makes ids look unrelated to each other.
    low = _scramble62(position ^ key[0]) | np.uint64(1 << 63)
    high = _scramble62(position + key[1])
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0], raw[:, 1] = high, low
    return ids.numpy_strings(ids.uuid_chars(raw.view(np.uint8).reshape(n, 16))).astype(object)


# --- the model's parts ----------------------------------------------------------------------

_MASK62 = np.uint64((1 << 62) - 1)


def _scramble62(x: np.ndarray) -> np.ndarray:
    # Odd multipliers and right xorshifts are each invertible modulo 2**62.
    x = (x * np.uint64(0x9E3779B97F4A7C15)) & _MASK62
    x ^= x >> np.uint64(29)
    x = (x * np.uint64(0xBF58476D1CE4E5B9)) & _MASK62
    x ^= x >> np.uint64(32)
    return x


def _state_turnout(rng: np.random.Generator, turnout: float, registered: np.ndarray) -> np.ndarray:
    """Each state's turnout: a few points either side of the national rate, which it keeps."""
    spread = 0.1 * min(turnout, 1.0 - turnout)
    offset = spread * np.clip(rng.standard_normal(len(registered)), -2.5, 2.5)
    # Centred on the registered voters so the nation as a whole turns out at `turnout`.
    offset -= np.average(offset, weights=registered) if registered.sum() else 0.0
    return np.clip(turnout + offset, 0.0, 1.0)


def _national_race(rng: np.random.Generator, k: int) -> np.ndarray:
    """National vote shares: two front-runners within a few points, the others trailing."""
    strength = np.concatenate([[1.0, 0.96], 0.8 * 0.82 ** np.arange(max(k - 2, 0))])[:k]
    strength = strength * np.exp(0.02 * rng.standard_normal(k))
    return rng.permutation(strength / strength.sum())


def _state_preferences(rng: np.random.Generator, k: int, expected_voters: np.ndarray) -> np.ndarray:
    """Vote shares per state (states x candidates): safe, leaning and swing states."""
    target = _national_race(rng, k)
    leaning = np.array([0.55, 0.22, 0.04])[
        rng.choice(3, size=len(expected_voters), p=[0.35, 0.35, 0.30])
    ]
    lean = leaning[:, None] * rng.standard_normal((len(expected_voters), k))
    weight = expected_voters / expected_voters.sum() if expected_voters.sum() else expected_voters
    # Shift the national baseline until the states add up to the national race again, so
    # strong leanings in big states do not decide the election before it starts.
    baseline = np.log(target)
    for _ in range(60):
        shares = _softmax(baseline + lean)
        national = weight @ shares
        if not national.all():
            break
        baseline += np.log(target / national)
    return _softmax(baseline + lean)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _choose(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One candidate index per row, drawn with that row's shares."""
    cumulative = np.cumsum(shares, axis=1)
    picked = (rng.random(len(shares))[:, None] >= cumulative).sum(axis=1)
    return np.minimum(picked, shares.shape[1] - 1)


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_numpy(zero_copy_only=False)
    values = np.asarray(values)
    return values if len(values) else np.array([], dtype=object)  # [] would be float64


def _factorize(values: np.ndarray, ordered: bool = True) -> tuple[list[str], np.ndarray]:
    """Distinct values (sorted if ordered, else as first seen) and each value's index among them."""
    if not len(values):
        return [], np.zeros(0, dtype=np.int64)
    encoded = pa.array(values, pa.string()).dictionary_encode()
    if encoded.null_count:
        raise ValueError(f"{encoded.null_count} values are missing (null)")
    distinct = encoded.dictionary.to_pylist()
    if not ordered:
        return distinct, encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(np.array(distinct, dtype=object), kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    return [distinct[i] for i in order], rank[encoded.indices.to_numpy(zero_copy_only=False)]


def _check(voter_ids, voter_states, candidates, turnout, problem_share) -> None:
    if len(voter_ids) != len(voter_states):
        raise ValueError(f"{len(voter_ids)} voter ids but {len(voter_states)} voter states")
    if not candidates:
        raise ValueError("an election needs at least one candidate")
    if len(set(candidates)) != len(candidates):
        raise ValueError(f"candidate ids repeat: {candidates}")
    if set(candidates) & set(UNKNOWN_CANDIDATE_IDS):
        raise ValueError(f"candidate ids must not be among {UNKNOWN_CANDIDATE_IDS}")
    if not 0.0 <= turnout <= 1.0:
        raise ValueError(f"turnout is a share between 0 and 1, not {turnout}")
    if not 0.0 <= problem_share <= 1.0:
        raise ValueError(f"problem_share is a share between 0 and 1, not {problem_share}")
