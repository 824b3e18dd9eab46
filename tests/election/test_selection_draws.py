"""Multi-contest ballots drawn from the plan: what the oracle counts of them is what was planned."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import ballots, contract, counting, rcv, roll, selection_draws, selections, turnout
from election.contests import MEASURE, NATION, NATIONAL_CONTEST, RANKED, Choice, Contest
from election.default_election import default_election
from election.definition import with_national_choices

ELECTION_DAY = dt.date(2024, 11, 5)
POLLS_OPEN = dt.datetime(2024, 11, 5, 7, tzinfo=dt.UTC)
VOTING_DAY = dt.timedelta(hours=13)
REASON_OF_KIND = {
    turnout.REPEAT: contract.DUPLICATE,
    turnout.UNKNOWN_CANDIDATE: contract.UNKNOWN_CANDIDATE,
    turnout.NOT_ON_BALLOT: contract.NOT_ON_BALLOT,
}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def election(candidates: int = 4):
    """The default election with the offline roll's candidates as its national choices."""
    registered = roll.generate_candidates(candidates, seed=3)
    national = [
        (c["candidate_id"], c["candidate_name"], c["party_affiliation"]) for c in registered
    ]
    return with_national_choices(default_election(), national), [c[0] for c in national]


@functools.cache
def voters(n: int, seed: int):
    return roll.generate_voters(n, seed=seed, election_day=ELECTION_DAY)


def plan_for(n: int, seed: int, problem_share: float = 0.0, turnout_share: float = 0.65):
    roll_ = voters(n, seed)
    definition, candidates = election()
    return turnout.plan_election(
        roll_["voter_id"],
        roll_["address_state"],
        candidates,
        seed=seed,
        turnout=turnout_share,
        problem_share=problem_share,
        contests=definition.contests,
        voter_counties=roll_["county_fips"],
    )


def messages_of(plan) -> list[counting.Message]:
    times = plan.voting_times(POLLS_OPEN, VOTING_DAY)
    values = ballots.encode_selection_ballots(
        plan.vote_id, plan.voter_id, plan.selections.fragments(), times
    )
    received = POLLS_OPEN + dt.timedelta(minutes=1)
    return [
        counting.Message(0, offset, voter_id.encode(), value, received)
        for offset, (voter_id, value) in enumerate(zip(plan.voter_id, values, strict=True))
    ]


def homes(n: int, seed: int) -> dict[str, tuple[str, str]]:
    """The roll as the oracle takes it: voter id -> (state, county FIPS)."""
    roll_ = voters(n, seed)
    places = zip(roll_["address_state"].to_pylist(), roll_["county_fips"].to_pylist(), strict=True)
    return dict(zip(roll_["voter_id"].to_pylist(), places, strict=True))


def count(plan, n: int, seed: int) -> counting.Count:
    definition, _ = election()
    return counting.count(
        messages_of(plan),
        homes(n, seed),
        None,
        POLLS_OPEN,
        POLLS_OPEN + VOTING_DAY,
        partitions=None,
        contests=definition.contests,
    )


@PROPERTY
@given(
    n=st.integers(0, 400),
    seed=st.integers(0, 2**16),
    problem_share=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
    turnout_share=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
)
def test_the_oracle_counts_exactly_what_was_planned(n, seed, problem_share, turnout_share):
    plan = plan_for(n, seed, problem_share, turnout_share)
    result = count(plan, n, seed)
    definition, _ = election()
    counted = turnout.counted_ballots(plan)
    assert result.results == selection_draws.planned_results(
        plan.selections, definition.contests, plan.address_state, counted, homes(n, seed).values()
    )
    assert result.counted == int(counted.sum())
    planned = {
        v: REASON_OF_KIND[k]
        for v, k in zip(plan.vote_id.tolist(), plan.kind.tolist(), strict=True)
        if k != turnout.BALLOT
    }
    assert {r.vote_id: r.reason for r in result.rejections} == planned
    truth = turnout.expected_totals(plan)
    assert result.rejected_by_reason() == truth.rejected_by_reason
    assert (result.per_candidate, result.per_state) == (truth.per_candidate, truth.per_state)
    assert (result.counted, result.turnout_by_state) == (truth.counted, truth.turnout_by_state)


@PROPERTY
@given(n=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_every_ballot_is_the_canonical_compact_message(n, seed):
    plan = plan_for(n, seed, problem_share=0.2)
    times = plan.voting_times(POLLS_OPEN, VOTING_DAY)
    for message, time, position in zip(messages_of(plan), times, range(len(plan)), strict=True):
        parsed = ballots.parse_ballot(message.value, message.key)
        marks = plan.selections.ballot(position)
        canonical = ballots.selections_message(
            plan.vote_id[position], plan.voter_id[position], ballots.parse_time(time), marks
        )
        assert message.value == json.dumps(canonical, separators=(",", ":")).encode()
        assert parsed["selections"] == marks


@pytest.fixture(scope="module")
def large_plan():
    return plan_for(60_000, 11, problem_share=0.05)


def blank_shares(plan) -> dict[str, list[float]]:
    """Per kind of contest (national, state, down the ballot), the blank share of each contest,
    and the overvote shares, over the counted ballots."""
    definition, _ = election()
    counted = turnout.counted_ballots(plan)
    codes = plan.selections.codes[counted]
    book = plan.selections.book
    found: dict[str, list[float]] = {"national": [], "state": [], "down": [], "over": []}
    entries_of = np.array([len(e) for e in book.entries] + [-1])[codes]
    contest_of = np.array([*book.contest_ids, ""], dtype=object)[codes]
    for contest in definition.contests:
        on = contest_of == contest.contest_id
        ballots_ = int(on.sum())
        if ballots_ < 2000:
            continue
        blank = int((on & (entries_of == 0)).sum()) / ballots_
        if contest.kind != RANKED:  # a ranking's ranks are not an overvote
            vote_for = 1 if contest.kind == MEASURE else contest.vote_for
            found["over"].append(int((on & (entries_of > vote_for)).sum()) / ballots_)
        if contest.contest_id == NATIONAL_CONTEST:
            found["national"].append(blank)
        elif contest.kind == MEASURE or not contest.district_id.startswith("state:"):
            found["down"].append(blank)
        else:
            found["state"].append(blank)
    return found


def test_roll_off_rises_down_the_ballot(large_plan):
    shares = blank_shares(large_plan)
    # each contest's rate lies in its range; its sample of a few thousand ballots, within noise
    for kind, (low, high) in (
        ("national", selection_draws.NATIONAL_ROLL_OFF),
        ("state", selection_draws.STATE_ROLL_OFF),
        ("down", selection_draws.DOWN_ROLL_OFF),
    ):
        assert shares[kind], kind
        assert low - 0.01 <= np.mean(shares[kind]) <= high + 0.01, kind
    assert np.mean(shares["national"]) < np.mean(shares["state"]) < np.mean(shares["down"])
    low, high = selection_draws.OVERVOTE_SHARE
    assert low - 0.001 <= np.mean(shares["over"]) <= high + 0.001


def test_vote_for_two_marks_distinct_choices_or_fewer(large_plan):
    definition, _ = election()
    vote_for_two = {c.contest_id for c in definition.contests if c.vote_for == 2}
    lengths = Counter()
    for position in range(len(large_plan)):
        for contest_id, entries in large_plan.selections.ballot(position).items():
            if contest_id in vote_for_two:
                assert len(set(entries)) == len(entries)
                lengths[len(entries)] += 1
    # two marks mostly, one for a few; three only for an overvote
    assert set(lengths) <= {0, 1, 2, 3} and lengths[2] > lengths[1] > 0


def test_down_ballot_follows_the_national_choice_by_party(large_plan):
    definition, candidates = election()
    party_of = {c.choice_id: c.party for c in definition.contests for c in c.choices}
    national = selection_draws.national_votes(large_plan.selections, candidates)
    same = total = 0
    for position in np.flatnonzero(national >= 0)[::5].tolist():
        marks = large_plan.selections.ballot(position)
        party = party_of[candidates[national[position]]]
        senate = [marks[c] for c in marks if c.startswith("senate-") and len(marks[c]) == 1]
        if (
            senate
            and party is not None
            and any(
                party_of[c.choice_id] == party
                for c in definition.contest(
                    next(c for c in marks if c.startswith("senate-"))
                ).choices
            )
        ):
            total += 1
            same += party_of[senate[0][0]] == party
    assert total > 1000 and same / total > 0.7


def test_the_draw_is_the_seed_plan_with_marks(large_plan):
    roll_ = voters(60_000, 11)
    _, candidates = election()
    seed_plan = turnout.plan_election(
        roll_["voter_id"], roll_["address_state"], candidates, seed=11, problem_share=0.05
    )
    assert seed_plan.selections is None
    for field in ("vote_id", "voter_id", "candidate_id", "day_fraction"):
        assert (getattr(seed_plan, field) == getattr(large_plan, field)).all(), field
    moved = large_plan.kind != seed_plan.kind
    assert set(large_plan.kind[moved]) == {turnout.NOT_ON_BALLOT}
    assert set(seed_plan.kind[moved]) == {turnout.UNKNOWN_CANDIDATE}
    again = plan_for(60_000, 11, problem_share=0.05)
    assert (again.selections.codes == large_plan.selections.codes).all()
    half = large_plan.slice(100, 200)
    assert half.selections.ballot(0) == large_plan.selections.ballot(100)


def test_a_national_contest_without_choices_is_one_clear_error():
    roll_ = voters(50, 1)
    with pytest.raises(ValueError, match="national contest needs its choices"):
        turnout.plan_election(
            roll_["voter_id"],
            roll_["address_state"],
            ["a", "b"],
            contests=default_election().contests,
            voter_counties=roll_["county_fips"],
        )


def test_voters_without_a_county_vote_their_state_and_nation():
    definition, candidates = election()
    plan = turnout.plan_election(
        ["v1", "v2", "v3"],
        ["Delaware", "Ohio", "Ohio"],
        candidates,
        turnout=1.0,
        contests=definition.contests,
    )
    for position in range(len(plan)):
        districts = {definition.contest(c).district_id for c in plan.selections.ballot(position)}
        assert NATION in districts and not any(d.startswith("county:") for d in districts)


def test_with_no_contest_off_the_style_the_troubled_name_unknown_candidates():
    definition, candidates = election()
    ohio = [c for c in definition.contests if c.district_id in (NATION, "state:OH")]
    voter_ids = [f"voter-{k}" for k in range(300)]
    plan = turnout.plan_election(
        voter_ids,
        ["Ohio"] * 300,
        candidates,
        seed=2,
        turnout=1.0,
        problem_share=0.5,
        contests=ohio,
    )
    assert turnout.NOT_ON_BALLOT not in set(plan.kind)
    result = counting.count(
        messages_of(plan),
        dict.fromkeys(voter_ids, ("Ohio", None)),
        None,
        POLLS_OPEN,
        POLLS_OPEN + VOTING_DAY,
        partitions=None,
        contests=ohio,
    )
    truth = turnout.expected_totals(plan)
    assert result.rejected_by_reason() == truth.rejected_by_reason
    assert truth.rejected_by_reason[contract.UNKNOWN_CANDIDATE] > 0
    counted = turnout.counted_ballots(plan)
    assert result.results == selection_draws.planned_results(
        plan.selections, ohio, plan.address_state, counted
    )


# --- ranked contests ------------------------------------------------------------------------

# Where the default election's ranked races are: (state as the roll names it, county FIPS).
RANKED_PLACES = (
    ("Maine", None),
    ("Alaska", None),
    ("Minnesota", "27053"),
    ("Oregon", "41051"),
    ("California", "06075"),
)


def ranked_plan(per_place: int, seed: int, problem_share: float = 0.0):
    """A plan of voters who all live where a ranked race is, every one voting, and their homes."""
    places = [place for place in RANKED_PLACES for _ in range(per_place)]
    voter_ids = [f"voter-{k}" for k in range(len(places))]
    definition, candidates = election()
    plan = turnout.plan_election(
        voter_ids,
        [state for state, _ in places],
        candidates,
        seed=seed,
        turnout=1.0,
        problem_share=problem_share,
        contests=definition.contests,
        voter_counties=[county for _, county in places],
    )
    return plan, dict(zip(voter_ids, places, strict=True))


def ranked_contests():
    definition, _ = election()
    return [c for c in definition.contests if c.kind == RANKED]


def counted_rankings(plan) -> dict[str, dict]:
    """Each ranked contest's ballots per ranking pattern, over the plan's counted ballots that
    hold it (every ballot of a voter of its district: a blank one as an empty ranking)."""
    counted = np.flatnonzero(turnout.counted_ballots(plan)).tolist()
    found = [plan.selections.ballot(i) for i in counted]
    return {
        c.contest_id: rcv.patterns(c.contest_id, [b for b in found if c.contest_id in b])
        for c in ranked_contests()
    }


@pytest.fixture(scope="module")
def ranked_ballots():
    plan, _ = ranked_plan(4000, 5)
    return plan


def test_the_default_election_has_its_ranked_races():
    assert {c.contest_id for c in ranked_contests()} >= {
        "senate-ME",
        "senate-AK",
        "house-AK",
        "mayor-27053",
        "mayor-41051",
        "mayor-06075",
    }


def test_a_ranking_is_distinct_choices_of_its_contest_in_rank_order(ranked_ballots):
    lengths: dict[str, Counter] = {c.contest_id: Counter() for c in ranked_contests()}
    for position in range(len(ranked_ballots)):
        for contest_id, entries in ranked_ballots.selections.ballot(position).items():
            if contest_id in lengths:
                contest = election()[0].contest(contest_id)
                assert all(isinstance(e, str) for e in entries)
                assert len(set(entries)) == len(entries)
                assert set(entries) <= contest.choice_ids
                assert len(entries) <= int(contest.rules["maxRankingsAllowed"])
                assert selections.kind_error(contest, entries) is None
                lengths[contest_id][len(entries)] += 1
    for contest_id, found in lengths.items():
        marked = sum(v for k, v in found.items() if k)
        assert marked > 3000, contest_id
        # many rank one candidate, many two or three, some every one they may
        assert 0.25 < found[1] / marked < 0.45, (contest_id, found)
        assert sum(v for k, v in found.items() if k >= 3) / marked > 0.3, (contest_id, found)
        contest = election()[0].contest(contest_id)
        longest = min(len(contest.choices), int(contest.rules["maxRankingsAllowed"]))
        assert max(found) == longest, contest_id


def test_later_ranks_follow_the_first_choice_by_party(ranked_ballots):
    definition, _ = election()
    party_of = {c.choice_id: c.party for c in definition.contests for c in c.choices}
    same = total = 0
    for position in range(len(ranked_ballots)):
        for contest_id, entries in ranked_ballots.selections.ballot(position).items():
            contest = definition.contest(contest_id)
            if len(entries) < 2 or contest.kind != RANKED:
                continue
            party = party_of[entries[0]]
            if sum(c.party == party for c in contest.choices) == 2:  # a big party's pair
                total += 1
                same += party_of[entries[1]] == party
    # by popularity alone a second rank would go to the first's running mate about 1 in 4
    assert total > 5000 and same / total > 0.6


def test_the_rounds_of_a_drawn_ranked_contest_transfer_and_exhaust(ranked_ballots):
    rankings = counted_rankings(ranked_ballots)
    for contest in ranked_contests():
        rounds = rcv.contest_rounds(contest, rankings[contest.contest_id])
        assert len(rounds) > 1 and rounds[-1].elected, contest.contest_id
        # every elimination hands ballots on to a continuing candidate, and exhausts some
        for r in rounds[:-1]:
            for source in r.eliminated:
                to = r.transfers[source]
                assert sum(n for c, n in to.items() if c != "exhausted") > 0, contest.contest_id
                assert to.get("exhausted", 0) > 0, contest.contest_id
        last = rounds[-1].inactive
        assert last[rcv.EXHAUSTED] > 0, contest.contest_id
        assert last[rcv.OVERVOTES] == last[rcv.SKIPPED] == last[rcv.REPEATED] == 0


@PROPERTY
@given(
    per_place=st.integers(0, 60),
    seed=st.integers(0, 2**16),
    problem_share=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_the_oracle_counts_the_rankings_that_were_planned(per_place, seed, problem_share):
    plan, homes_ = ranked_plan(per_place, seed, problem_share)
    definition, _ = election()
    result = counting.count(
        messages_of(plan),
        homes_,
        None,
        POLLS_OPEN,
        POLLS_OPEN + VOTING_DAY,
        partitions=None,
        contests=definition.contests,
    )
    counted = turnout.counted_ballots(plan)
    assert result.results == selection_draws.planned_results(
        plan.selections, definition.contests, plan.address_state, counted, homes_.values()
    )
    for position in range(len(plan)):  # no ranking is malformed, counted or not
        for contest_id, entries in plan.selections.ballot(position).items():
            contest = definition.contest(contest_id)
            if contest is not None and contest.kind == RANKED:
                assert selections.kind_error(contest, entries) is None
    planned = counted_rankings(plan)
    for contest in ranked_contests():
        drawn = planned[contest.contest_id]
        assert dict(result.rankings.get(contest.contest_id, {})) == drawn
        ballots_ = sum(drawn.values())
        for entries in drawn:
            assert len(set(entries)) == len(entries) and set(entries) <= contest.choice_ids
        if ballots_:
            for r in rcv.contest_rounds(contest, drawn):  # every ballot in every round
                assert sum(r.tally.values()) + sum(r.inactive.values()) == ballots_


@PROPERTY
@given(
    choices=st.integers(1, 40),
    limit=st.sampled_from([None, "max", "1", "2", "3", "6", "15"]),
    n=st.integers(1, 300),
    seed=st.integers(0, 2**16),
)
def test_any_ranked_contest_draws_distinct_rankings_within_its_limit(choices, limit, n, seed):
    definition, candidates = election()
    rules = {} if limit is None else {"maxRankingsAllowed": limit}
    ranked = Contest(
        "rcv",
        "Ranked",
        NATION,
        RANKED,
        tuple(Choice(f"c{k}", f"C {k}", None, k + 1) for k in range(choices)),
        position=2,
        rules=rules,
    )
    plan = turnout.plan_election(
        [f"voter-{k}" for k in range(n)],
        ["Ohio"] * n,
        candidates,
        seed=seed,
        turnout=1.0,
        contests=[definition.contest(NATIONAL_CONTEST), ranked],
    )
    most = min(choices, selection_draws.MOST_RANKS, selections.max_rankings(rules) or choices)
    for position in range(len(plan)):
        entries = plan.selections.ballot(position)["rcv"]
        assert len(set(entries)) == len(entries) <= most
        assert set(entries) <= ranked.choice_ids
        assert selections.kind_error(ranked, entries) is None
