"""The turnout and preference model, and the truth it records."""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections import Counter

import numpy as np
import pytest

from election import ballots, contract, counting, geography, roll, turnout

ELECTION_DAY = dt.date(2024, 11, 5)
POLLS_OPEN = dt.datetime(2024, 11, 5, 7, tzinfo=dt.UTC)
VOTING_DAY = dt.timedelta(hours=13)


@pytest.fixture(scope="module")
def roll_and_candidates():
    voters = roll.generate_voters(50_000, seed=21, election_day=ELECTION_DAY)
    candidates = [c["candidate_id"] for c in roll.generate_candidates(3, seed=21)]
    return voters, candidates


@pytest.fixture(scope="module")
def plan(roll_and_candidates):
    voters, candidates = roll_and_candidates
    return turnout.plan_election(voters["voter_id"], voters["address_state"], candidates, seed=5)


@pytest.fixture(scope="module")
def troubled_plan(roll_and_candidates):
    voters, candidates = roll_and_candidates
    return turnout.plan_election(
        voters["voter_id"], voters["address_state"], candidates, seed=5, problem_share=0.05
    )


def test_plan_is_deterministic(roll_and_candidates, plan):
    voters, candidates = roll_and_candidates
    again = turnout.plan_election(voters["voter_id"], voters["address_state"], candidates, seed=5)
    for field in ("vote_id", "voter_id", "candidate_id", "address_state", "day_fraction", "kind"):
        assert np.array_equal(getattr(plan, field), getattr(again, field)), field
    other = turnout.plan_election(voters["voter_id"], voters["address_state"], candidates, seed=6)
    assert not np.array_equal(plan.voter_id[:100], other.voter_id[:100])


def test_turnout_is_close_to_the_asked_rate(plan):
    assert abs(len(plan) / 50_000 - 0.65) < 0.01
    assert set(plan.kind) == {turnout.BALLOT}


@pytest.mark.parametrize("rate", [0.3, 0.8])
def test_other_turnout_rates(roll_and_candidates, rate):
    voters, candidates = roll_and_candidates
    planned = turnout.plan_election(
        voters["voter_id"], voters["address_state"], candidates, turnout=rate
    )
    assert abs(len(planned) / 50_000 - rate) < 0.01


def test_nobody_or_everybody(roll_and_candidates):
    voters, candidates = roll_and_candidates
    ids, states = voters["voter_id"], voters["address_state"]
    assert len(turnout.plan_election(ids, states, candidates, turnout=0.0)) == 0
    everybody = turnout.plan_election(ids, states, candidates, turnout=1.0)
    assert sorted(everybody.voter_id) == sorted(ids.to_pylist())


def test_every_state_votes_and_states_differ(roll_and_candidates, plan):
    voters, candidates = roll_and_candidates
    names, _ = geography.regions("us")
    assert set(plan.address_state) == set(names)
    registered = Counter(voters["address_state"].to_pylist())
    voted = Counter(plan.address_state.tolist())
    rates = [voted[s] / registered[s] for s in names if registered[s] > 1000]
    assert max(rates) - min(rates) > 0.03  # states turn out differently
    truth = turnout.expected_totals(plan)
    leaders = {
        max(candidates, key=lambda c, s=s: truth.per_state.get((s, c), 0))
        for s in names
        if registered[s] > 1000
    }
    assert len(leaders) >= 2  # not every big state goes the same way


def test_national_race_is_close(plan):
    shares = sorted(Counter(plan.candidate_id.tolist()).values(), reverse=True)
    total = sum(shares)
    assert len(shares) == 3
    assert (shares[0] - shares[1]) / total < 0.06
    assert shares[-1] / total > 0.15


def test_ballots_are_in_time_order_within_the_day(troubled_plan):
    day = troubled_plan.day_fraction
    assert np.all(np.diff(day) >= 0)
    assert day.min() >= 0.0 and day.max() < 1.0


def test_voting_day_has_morning_lunch_and_evening_peaks(plan):
    hours = np.histogram(plan.day_fraction, bins=13, range=(0, 1))[0]
    # 07:00 is bin 0; peaks around 08:00, 12:30 and 17:30-18:00.
    assert hours[1] > hours[3] and hours[5] > hours[3] and hours[10] > hours[7]
    assert hours[10] > hours[12]


def test_vote_ids_are_unique_uuids(troubled_plan):
    assert len(set(troubled_plan.vote_id.tolist())) == len(troubled_plan)
    for vote_id in troubled_plan.vote_id[:50]:
        assert uuid.UUID(vote_id).version == 4
    assert np.array_equal(turnout.vote_ids(5, 10), troubled_plan.vote_id[:10])


def test_problem_share_is_honoured(plan, troubled_plan):
    kinds = Counter(troubled_plan.kind.tolist())
    genuine = kinds[turnout.BALLOT]
    assert genuine == len(plan)  # problems come on top of the same genuine ballots
    assert kinds[turnout.REPEAT] + kinds[turnout.UNKNOWN_CANDIDATE] == round(0.05 * genuine)
    assert kinds[turnout.REPEAT] > 0 and kinds[turnout.UNKNOWN_CANDIDATE] > 0


def test_no_voter_has_two_genuine_ballots(troubled_plan):
    genuine = troubled_plan.voter_id[troubled_plan.kind == turnout.BALLOT]
    assert len(set(genuine.tolist())) == len(genuine)


def test_repeats_come_after_the_voters_first_ballot(troubled_plan):
    first_seen: dict[str, int] = {}
    for position, (voter, kind) in enumerate(
        zip(troubled_plan.voter_id, troubled_plan.kind, strict=True)
    ):
        if kind == turnout.BALLOT:
            first_seen.setdefault(voter, position)
        elif kind == turnout.REPEAT:
            assert voter in first_seen, "a repeat came before the voter's ballot"
    unknown = troubled_plan.candidate_id[troubled_plan.kind == turnout.UNKNOWN_CANDIDATE]
    assert set(unknown.tolist()) <= set(turnout.UNKNOWN_CANDIDATE_IDS)


def test_slice_is_a_wave(troubled_plan):
    wave = troubled_plan.slice(100, 250)
    assert len(wave) == 150
    assert np.array_equal(wave.vote_id, troubled_plan.vote_id[100:250])
    assert wave.candidate_ids == troubled_plan.candidate_ids


def test_truth_of_a_clean_plan(plan):
    truth = turnout.expected_totals(plan)
    assert truth.ballots == truth.counted == len(plan)
    assert sum(truth.per_state.values()) == sum(truth.turnout_by_state.values()) == len(plan)
    assert set(truth.rejected_by_reason) == set(contract.REJECTION_REASONS)
    assert not any(truth.rejected_by_reason.values())
    assert truth.to_dict()["counted"] == len(plan)


def test_truth_of_a_troubled_plan(troubled_plan):
    truth = turnout.expected_totals(troubled_plan)
    kinds = Counter(troubled_plan.kind.tolist())
    assert truth.counted == kinds[turnout.BALLOT]
    assert truth.rejected_by_reason[contract.DUPLICATE] == kinds[turnout.REPEAT]
    assert truth.rejected_by_reason[contract.UNKNOWN_CANDIDATE] == kinds[turnout.UNKNOWN_CANDIDATE]
    assert truth.counted + sum(truth.rejected_by_reason.values()) == truth.ballots


def _messages(plan: turnout.BallotPlan, partitions: int = 3):
    """The plan as votes_topic would hold it: keyed by voter, so a voter's ballots stay in order."""
    next_offset = [0] * partitions
    times = plan.voting_times(POLLS_OPEN, VOTING_DAY)
    values = ballots.encode_ballots(plan.vote_id, plan.voter_id, plan.candidate_id, times)
    for voter, value, at in zip(plan.voter_id.tolist(), values, times, strict=True):
        partition = zlib.crc32(voter.encode()) % partitions
        # received when cast: the broker's stamp is the time the counting rules use
        received = ballots.parse_time(at)
        yield counting.Message(partition, next_offset[partition], voter.encode(), value, received)
        next_offset[partition] += 1


def test_voting_times_span_the_polls(troubled_plan):
    times = troubled_plan.voting_times(POLLS_OPEN, VOTING_DAY)
    assert len(times) == len(troubled_plan)
    moments = [ballots.parse_time(t) for t in times[:: len(times) // 200]]
    assert all(POLLS_OPEN <= m < POLLS_OPEN + VOTING_DAY for m in moments)
    assert moments == sorted(moments)
    assert times[0] == ballots.utc_iso(
        POLLS_OPEN + VOTING_DAY * float(troubled_plan.day_fraction[0])
    )


def test_truth_agrees_with_the_counting_rules(roll_and_candidates, troubled_plan):
    voters, candidates = roll_and_candidates
    registered = dict(
        zip(voters["voter_id"].to_pylist(), voters["address_state"].to_pylist(), strict=True)
    )
    counted = counting.count(
        _messages(troubled_plan),
        registered,
        candidates,
        POLLS_OPEN,
        POLLS_OPEN + VOTING_DAY,
        partitions=None,
    )
    truth = turnout.expected_totals(troubled_plan)
    assert counted.per_candidate == truth.per_candidate
    assert counted.per_state == truth.per_state
    assert counted.turnout_by_state == truth.turnout_by_state
    assert counted.rejected_by_reason() == truth.rejected_by_reason


def test_unknown_candidate_does_not_use_up_the_vote():
    # Voter "a" first names an unknown candidate, then votes properly, then tries again.
    plan = turnout.BallotPlan(
        vote_id=np.array(["v1", "v2", "v3", "v4"]),
        voter_id=np.array(["a", "a", "a", "b"]),
        candidate_id=np.array(["cand-unknown-1", "x", "y", "y"]),
        address_state=np.array(["S", "S", "S", "T"]),
        day_fraction=np.array([0.1, 0.2, 0.3, 0.4]),
        kind=np.array(["unknown_candidate", "ballot", "repeat", "ballot"]),
        candidate_ids=("x", "y"),
    )
    truth = turnout.expected_totals(plan)
    assert truth.per_candidate == {"x": 1, "y": 1}
    assert truth.per_state == {("S", "x"): 1, ("T", "y"): 1}
    assert truth.rejected_by_reason[contract.UNKNOWN_CANDIDATE] == 1
    assert truth.rejected_by_reason[contract.DUPLICATE] == 1


def test_an_empty_roll_plans_nothing():
    plan = turnout.plan_election([], [], ["x", "y"], problem_share=0.1)
    assert len(plan) == 0
    assert turnout.expected_totals(plan).per_candidate == {"x": 0, "y": 0}


def test_plan_arrays_must_match_in_length():
    with pytest.raises(ValueError, match="differ in length"):
        turnout.BallotPlan(*(np.array(["a"]),) * 5, kind=np.array([]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"candidate_ids": []}, "at least one candidate"),
        ({"candidate_ids": ["a", "a"]}, "repeat"),
        ({"candidate_ids": ["cand-unknown-1", "b"]}, "must not be"),
        ({"turnout": 1.5}, "turnout"),
        ({"problem_share": -0.1}, "problem_share"),
        ({"voter_states": ["S"]}, "voter states"),
    ],
)
def test_bad_plans_are_refused(kwargs, message):
    arguments = {"voter_ids": ["a", "b"], "voter_states": ["S", "T"], "candidate_ids": ["x", "y"]}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        turnout.plan_election(**arguments)


def test_a_single_candidate_election():
    plan = turnout.plan_election(
        ["a", "b", "c"], ["S", "S", "T"], ["x"], turnout=1.0, problem_share=0.7
    )
    truth = turnout.expected_totals(plan)
    assert truth.per_candidate == {"x": 3}


# --- the voting day in wall-clock time ------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def test_the_day_share_runs_from_nothing_to_everything_with_three_rushes():
    assert turnout.day_share_by(0.0) == 0.0 and turnout.day_share_by(1.0) == pytest.approx(1.0)
    # each rush casts more than its slice of the day would at an even pace
    for start, stop in ((0.0, 0.16), (0.36, 0.48), (0.72, 0.94)):
        assert turnout.day_share_by(stop) - turnout.day_share_by(start) > 1.2 * (stop - start)


@given(st.floats(-5, 5, allow_nan=False), st.floats(-5, 5, allow_nan=False))
def test_the_day_share_never_goes_back(a, b):
    low, high = sorted((a, b))
    assert 0.0 <= turnout.day_share_by(low) <= turnout.day_share_by(high) <= 1.0 + 1e-12


def test_ballots_due_follow_the_day_share(plan):
    for fraction in (0.0, 0.1, 0.42, 0.8, 0.999):
        due = turnout.ballots_due(plan, fraction)
        assert due / len(plan) == pytest.approx(turnout.day_share_by(fraction), abs=0.02)
        assert (plan.day_fraction[:due] <= fraction).all()
        assert (plan.day_fraction[due:] > fraction).all()
    assert turnout.ballots_due(plan, 1.0) == len(plan)


OPENED = dt.datetime(2026, 11, 3, 7, tzinfo=dt.UTC)


@settings(max_examples=200)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(1, 1e5, allow_nan=False))
def test_elapsed_day_fraction_is_clamped_for_any_clock(offset_s, day_s):
    """A clock before the opening or far past the closing stays within the day."""
    closes = OPENED + dt.timedelta(seconds=day_s)
    fraction = turnout.elapsed_day_fraction(OPENED, closes, OPENED + dt.timedelta(seconds=offset_s))
    assert 0.0 <= fraction <= 1.0
    # timedelta keeps microseconds, so the fraction is exact to a microsecond of the day
    assert fraction == pytest.approx(min(max(offset_s / day_s, 0.0), 1.0), abs=2e-6)


def test_a_day_that_closes_before_it_opens_is_refused():
    with pytest.raises(ValueError, match="close after they open"):
        turnout.elapsed_day_fraction(OPENED, OPENED, OPENED)
