"""The projection's band: calibrated over simulated elections, and sane for any count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from election import projection, turnout

CANDIDATES = ("c0", "c1", "c2")


def simulated_roll(seed: int, voters: int = 20_000, states: int = 50):
    """A roll whose states differ in size; its own random stream, apart from the plan's."""
    rng = np.random.default_rng([seed, 99])
    sizes = rng.lognormal(0, 0.8, states)
    names = np.array([f"S{i:02d}" for i in range(states)], dtype=object)
    voter_states = names[rng.choice(states, voters, p=sizes / sizes.sum())]
    return np.array([f"v{seed}-{i}" for i in range(voters)], dtype=object), voter_states


def count_so_far(plan, counted: int) -> dict[tuple[str, str], int]:
    pairs, n = np.unique(
        np.char.add(
            plan.address_state[:counted].astype(str),
            np.char.add("|", plan.candidate_id[:counted].astype(str)),
        ),
        return_counts=True,
    )
    return {tuple(pair.split("|")): int(k) for pair, k in zip(pairs, n, strict=True)}


def bands_mid_count(seed: int, fractions):
    """Project at several points of one simulated election's count; yield (band, final share)."""
    voter_ids, voter_states = simulated_roll(seed)
    plan = turnout.plan_election(voter_ids, voter_states, CANDIDATES, seed=seed)
    final = turnout.expected_totals(plan).per_candidate
    total = sum(final.values())
    states, registered = np.unique(voter_states, return_counts=True)
    for fraction in fractions:
        counted = count_so_far(plan, int(fraction * len(plan)))
        by_state: dict[str, int] = {}
        for (state, _), n in counted.items():
            by_state[state] = by_state.get(state, 0) + n
        # what the page knows: the model's expected turnout of each state's roll
        remaining = {
            s: max(0, round(r * turnout.EXPECTED_TURNOUT) - by_state.get(s, 0))
            for s, r in zip(states, registered, strict=True)
        }
        bands = projection.project(counted, remaining, CANDIDATES)
        for candidate in CANDIDATES:
            yield fraction, bands[candidate], final[candidate] / total


def test_the_band_holds_the_final_share_about_nine_times_in_ten():
    fractions = (0.1, 0.3, 0.6, 0.9)
    results = [r for seed in range(40) for r in bands_mid_count(seed, fractions)]
    held = [band.low <= final <= band.high for _, band, final in results]
    assert 0.84 <= np.mean(held) <= 0.96, np.mean(held)
    for fraction in fractions:
        at = [band.low <= final <= band.high for f, band, final in results if f == fraction]
        assert np.mean(at) >= 0.8, (fraction, np.mean(at))
    # and it narrows as the count grows
    widths = [np.mean([b.width for f, b, _ in results if f == fraction]) for fraction in fractions]
    assert widths == sorted(widths, reverse=True)


def test_with_nothing_left_to_count_the_projection_is_the_count():
    counted = {("A", "x"): 30, ("A", "y"): 10, ("B", "y"): 60}
    bands = projection.project(counted, {"A": 0, "B": 0}, ["x", "y"])
    assert bands["x"].share == pytest.approx(0.3) and bands["x"].width == pytest.approx(0)
    assert bands["y"].share == pytest.approx(0.7)


def test_nothing_counted_projects_nothing():
    assert projection.project({}, {"A": 100}, ["x", "y"]) == {}


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="negative"):
        projection.project({("A", "x"): -1}, {}, ["x"])
    with pytest.raises(ValueError, match="not among"):
        projection.project({("A", "z"): 1}, {}, ["x"])
    with pytest.raises(ValueError, match="level"):
        projection.project({("A", "x"): 1}, {}, ["x"], level=1.0)


counts = st.dictionaries(
    st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.sampled_from(["x", "y", "z"])),
    st.integers(0, 10**7),
    max_size=12,
)


@settings(max_examples=300)
@given(counts, st.dictionaries(st.sampled_from(["A", "B", "C", "E"]), st.integers(0, 10**7)))
def test_any_count_gives_bands_within_shares_that_add_up(counted, remaining):
    bands = projection.project(counted, remaining, ["x", "y", "z"])
    if not sum(counted.values()):
        assert bands == {}
        return
    assert sum(b.share for b in bands.values()) == pytest.approx(1.0)
    for band in bands.values():
        assert 0.0 <= band.low <= band.share <= band.high <= 1.0
