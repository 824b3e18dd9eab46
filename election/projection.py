"""A projection of each candidate's final national share, with a 90% band, while counting.

The counted ballots of a state are taken as a sample of its voters (ballots arrive in no
order of choice). Each state's share of the vote still expected is estimated by shrinking its
counted shares toward the national ones, as much as the states differ from each other (an
empirical-Bayes beta prior; a state with no ballots yet gets the national shares and the
states' spread). The projected final share adds, per state, the counted votes and the
expected remaining vote at those shares; its variance adds the uncertainty of each state's
shares, the chance in who of the remaining voters turn out, and the shared uncertainty of the
national shares that stand in for states with few ballots. The band is the normal interval at
that variance. It is a projection, never a call: only election.race_call calls a race.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

LEVEL = 0.9
MIN_SPREAD = 0.02  # states never agree more closely than this (sd of a share), as elections go
DEFAULT_SPREAD = 0.12  # sd of a share between states, before enough states report to measure it
MIN_STATES = 3  # states with enough ballots to measure the spread
ENOUGH_BALLOTS = 30


@dataclass(frozen=True)
class Band:
    """One candidate's projected final national share and its band, all 0..1."""

    share: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


def project(
    counted: Mapping[tuple[str, str], int],
    expected_remaining: Mapping[str, int],
    candidates: Iterable[str],
    level: float = LEVEL,
) -> dict[str, Band]:
    """Each candidate's projected final national share, from counted votes per (state, candidate)
    and each state's expected remaining vote; empty before any ballot is counted."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"the band's level is a share between 0 and 1, not {level}")
    names = list(dict.fromkeys(candidates))
    if any(n < 0 for n in counted.values()) or any(n < 0 for n in expected_remaining.values()):
        raise ValueError("counted and expected remaining votes cannot be negative")
    states = sorted({s for s, _ in counted} | set(expected_remaining))
    index = {c: i for i, c in enumerate(names)}
    votes = np.zeros((len(states), len(names)))
    row = {s: i for i, s in enumerate(states)}
    for (state, candidate), n in counted.items():
        if candidate not in index:
            raise ValueError(f"votes for {candidate!r}, who is not among the candidates")
        votes[row[state], index[candidate]] += n
    remaining = np.array([float(expected_remaining.get(s, 0)) for s in states])
    n = votes.sum(axis=1)
    total = votes.sum()
    if total == 0:
        return {}
    national = votes.sum(axis=0) / total

    spread2 = _spread2(votes, n, national)
    # one prior strength per election, so each state's shares still add up to one
    k = max(1.0, float(np.sum(national * (1 - national)) / np.sum(spread2)) - 1.0)
    weight_prior = k / (n + k)
    shares = (votes + k * national) / (n + k)[:, None]
    share_var = shares * (1 - shares) / (n + k + 1)[:, None]

    grand = total + remaining.sum()
    point = (votes.sum(axis=0) + remaining @ shares) / grand
    variance = (remaining**2) @ share_var + remaining @ (shares * (1 - shares))
    measured = int(np.sum(n >= ENOUGH_BALLOTS))
    # states leaning on the national shares share that estimate's error
    national_var = spread2 / max(measured, 1)
    variance = variance + (remaining @ weight_prior) ** 2 * national_var
    sd = np.sqrt(variance) / grand
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return {
        c: Band(
            share=float(point[i]),
            low=float(max(0.0, point[i] - z * sd[i])),
            high=float(min(1.0, point[i] + z * sd[i])),
        )
        for c, i in index.items()
    }


def _spread2(votes: np.ndarray, n: np.ndarray, national: np.ndarray) -> np.ndarray:
    """How much a candidate's share varies between states (variance), less the sampling noise."""
    measured = n >= ENOUGH_BALLOTS
    if measured.sum() < MIN_STATES:
        return np.full(len(national), DEFAULT_SPREAD**2)
    shares = votes[measured] / n[measured, None]
    noise = np.mean(shares * (1 - shares) / n[measured, None], axis=0)
    spread2 = np.var(shares, axis=0, ddof=1) - noise
    return np.maximum(spread2, MIN_SPREAD**2)
