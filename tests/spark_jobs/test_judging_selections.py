"""The counting rules on ballots with selections, over helpers.SELECTIONS_CONTESTS: each reason
in the contract's order, outcomes per contest, and what a rejection keeps of the choices."""

from __future__ import annotations

import pytest

from election import contract
from election.contests import NATIONAL_CONTEST
from tests.spark_jobs import helpers
from tests.spark_jobs.helpers import (
    CLOSED,
    SELECTIONS_CONTESTS,
    SELECTIONS_ROLL,
    ballot,
    selections_ballot,
)
from tests.spark_jobs.test_judging import judge, received

pytestmark = pytest.mark.spark


def judge_selections(spark, messages, contests=SELECTIONS_CONTESTS):
    judged = helpers.judge_batch(spark, messages, SELECTIONS_ROLL, contests=contests)
    return {(r.partition, r.offset): r for r in judged.collect()}


@pytest.mark.parametrize("compact", [True, False], ids=["plain", "spaced"])
def test_a_selections_ballot_counts_every_contest_on_its_voters_ballot(spark, compact):
    selections = {"sen-OH": ["b"], NATIONAL_CONTEST: ["c2"], "m-OH": ["yes", "no"]}
    row = judge_selections(
        spark, [(0, 0, selections_ballot("b1", "v1", selections, compact=compact))]
    )[(0, 0)]
    assert (row.reason, row.detail) == (None, None)
    assert (row.vote_id, row.voter_id, row.candidate_id) == ("b1", "v1", "c2")
    assert (row.address_state, row.county_fips) == ("Ohio", "39049")
    # in ballot order: a vote, one vote and an undervote, an overvote, a contest left out
    assert row.outcomes == (
        '{"national":[["c2"],0,0],"sen-OH":[["b"],0,1],"m-OH":[[],1,0],"cty-39049":[[],0,1]}'
    )


def test_a_seed_ballot_votes_in_the_national_contest_of_a_definition(spark):
    verdicts = judge_selections(
        spark,
        [(0, 0, ballot("b0", "v2", "c1", compact=True)), (0, 1, ballot("b1", "v4", "c3"))],
    )
    assert verdicts[(0, 0)].reason is None and verdicts[(0, 0)].candidate_id == "c1"
    assert verdicts[(0, 0)].outcomes == '{"national":[["c1"],0,0],"sen-TX":[[],0,1]}'
    assert verdicts[(0, 1)].outcomes == '{"national":[["c3"],0,0]}'
    # a definition without the national contest: the seed ballot names a contest not on it
    without = judge_selections(
        spark, [(0, 0, ballot("b0", "v2", "c1", compact=True))], SELECTIONS_CONTESTS[1:]
    )[(0, 0)]
    assert (without.reason, without.detail) == (
        contract.NOT_ON_BALLOT,
        "contest 'national' is not on the voter's ballot",
    )


@pytest.mark.parametrize("compact", [True, False], ids=["plain", "spaced"])
def test_each_selections_rule_in_the_contracts_order(spark, compact):
    def sent(offset, voter, selections):
        return (0, offset, selections_ballot(f"b{offset}", voter, selections, compact=compact))

    verdicts = judge_selections(
        spark,
        [
            sent(0, "v1", {"sen-OH": ["a", "a"]}),  # an id twice in a plurality contest
            sent(1, "v1", {"m-OH": ["yes", "yes"]}),  # and in a measure
            sent(2, "nobody", {"sen-OH": ["a", "a"]}),  # malformed before unknown voter
            sent(3, "nobody", {"sen-OH": ["a"]}),
            sent(4, "v2", {"sen-OH": ["a"], "zz": ["q"]}),  # another state's, an unknown one
            sent(5, "v3", {"cty-39049": ["e"]}),  # a county the voter does not live in
            sent(6, "v3", {"sen-OH": ["a", "q"], "m-OH": ["maybe"]}),
            sent(7, "v4", {NATIONAL_CONTEST: ["c1", "c2"]}),  # an overvote counts
            sent(8, "v5", {"sen-TX": ["a", "a"], "zz": []}),  # malformed before not on ballot
        ],
    )
    assert {k[1]: (r.reason, r.detail) for k, r in verdicts.items()} == {
        0: (contract.MALFORMED, "selections['sen-OH'] names one choice twice"),
        1: (contract.MALFORMED, "selections['m-OH'] names one choice twice"),
        2: (contract.MALFORMED, "selections['sen-OH'] names one choice twice"),
        3: (contract.UNKNOWN_VOTER, "voter 'nobody' is not on the roll"),
        4: (contract.NOT_ON_BALLOT, "contest 'sen-OH' is not on the voter's ballot"),
        5: (contract.NOT_ON_BALLOT, "contest 'cty-39049' is not on the voter's ballot"),
        6: (contract.UNKNOWN_CANDIDATE, "a choice in contest 'm-OH' is not one of its choices"),
        7: (None, None),
        8: (contract.MALFORMED, "selections['sen-TX'] names one choice twice"),
    }
    assert verdicts[(0, 7)].outcomes == '{"national":[[],1,0]}'
    assert verdicts[(0, 7)].candidate_id is None


def test_selections_ballots_are_duplicates_and_polls_closed_like_any(spark):
    verdicts = judge_selections(
        spark,
        [
            received(0, 0, selections_ballot("b0", "v1", {}), CLOSED),
            (0, 1, selections_ballot("b1", "v1", {"m-OH": ["no"]})),
            (0, 2, selections_ballot("b2", "v1", {"m-OH": ["yes"]})),
        ],
    )
    assert [verdicts[(0, i)].reason for i in range(3)] == [
        contract.POLLS_CLOSED,
        None,
        contract.DUPLICATE,
    ]
    assert verdicts[(0, 2)].outcomes is None  # a duplicate counts in no contest


@pytest.mark.parametrize(
    "value",
    [
        # a contest twice in the plain form: JSON names it twice in an object
        b'{"vote_id":"b1","voter_id":"v1","voting_time":"2024-11-05T12:00:00Z",'
        b'"selections":{"m-OH":["yes"],"m-OH":["no"]}}',
        b'{"vote_id":"b1","voter_id":"v1","voting_time":"2024-11-05T12:00:00Z",'
        b'"selections":{"m-OH":["yes"]},"candidate_id":"c1"}',
        selections_ballot("b1", "v1", {"m-OH": [None]}),
        selections_ballot("b1", "v1", {"sen-OH": [["a", "b"]]}),
        selections_ballot("b1", "v1", {"sen-OH": "a"}),
        selections_ballot("b1", "v1", {"": ["a"]}),
        selections_ballot("b1", "v1", {"sen-OH": [""]}),
        selections_ballot("b1", "v1", ["sen-OH"]),
        selections_ballot("b1", "v1", {"sen-OH": ["a"]}, at="2024-11-05T25:00:00Z"),
    ],
)
def test_malformed_selections_get_the_oracles_detail(spark, value):
    row = judge_selections(spark, [(0, 0, value)])[(0, 0)]
    truth = helpers.selections_truth([(0, 0, value)])
    (rejection,) = truth.rejections
    assert (row.reason, row.detail, row.vote_id) == (
        contract.MALFORMED,
        rejection.detail,
        rejection.vote_id,
    )


def test_without_a_definition_selections_judge_against_the_national_contest(spark):
    verdicts = judge(
        spark,
        [
            (0, 0, selections_ballot("b0", "v1", {NATIONAL_CONTEST: ["c2"]})),
            (0, 1, selections_ballot("b1", "v2", {"sen-TX": ["a"]})),
        ],
    )
    assert verdicts[(0, 0)].reason is None and verdicts[(0, 0)].candidate_id == "c2"
    assert verdicts[(0, 1)].reason == contract.NOT_ON_BALLOT


def test_a_registered_voters_rejected_selections_are_masked_whole(spark):
    selections = {"sen-OH": ["a", "zz"], "m-OH": ["yes"]}
    messages = [
        (0, 0, selections_ballot("b0", "v1", selections)),
        (0, 1, selections_ballot("b1", "v3", selections, compact=False)),
        (0, 2, b'{"vote_id":"b2","voter_id":"v3","selections":{"sen-OH":["a",["zz",{"q":'),
        (0, 3, b'{"vote_id":"b3","voter_id":"v3","selection\\u0073":{"m-OH":["no"]}}'),
        (0, 4, selections_ballot("b4", "stranger", selections)),
    ]
    judged = helpers.judge_batch(spark, messages, SELECTIONS_ROLL, contests=SELECTIONS_CONTESTS)
    rows = {r.offset: r for r in helpers.rejections(judged).collect()}
    assert rows[0].raw == (
        '{"vote_id":"b0","voter_id":"v1","voting_time":"2024-11-05T12:00:00Z",'
        '"selections":"<secret>"'
    )
    assert rows[1].raw.endswith('"selections": "<secret>"')
    assert rows[2].raw.endswith('"selections":"<secret>"')
    assert rows[3].raw.endswith('"selection\\u0073":"<secret>"')
    for offset in range(4):
        assert "zz" not in rows[offset].raw and "yes" not in rows[offset].raw
        assert "no" not in rows[offset].raw.replace("<secret>", "")
    # nobody's secret ballot: a voter not on the roll keeps the choices
    assert rows[4].reason == contract.UNKNOWN_VOTER and '"zz"' in rows[4].raw
