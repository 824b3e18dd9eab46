"""The counting rules on small batch DataFrames: every rejection reason, duplicates, the oracle."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from election import contract, counting
from election.ballots import BallotError, parse_ballot
from election.contests import national_contest
from spark_jobs import judging, jvm_judging
from tests.spark_jobs import helpers
from tests.spark_jobs.helpers import (
    CANDIDATES,
    CLOSED,
    OPENED,
    ballot,
    kafka_rows,
    keyed,
    roll_df,
)

pytestmark = pytest.mark.spark


def received(partition, offset, value, at):
    """A message keyed by its voter and stamped by the broker at `at`."""
    return keyed([(partition, offset, value)], at)[0]


def judge(spark, messages, opened=OPENED, closed=CLOSED, roll=None):
    """Every message's verdict, by (partition, offset)."""
    classified = judging.classify(
        judging.parse_ballots(kafka_rows(spark, messages), None),
        jvm_judging.roll_lookup(spark, roll_df(spark, roll)),
        (national_contest(CANDIDATES),),
        opened,
        closed,
    )
    judged = judging.first_ballot_per_voter(classified)
    return {(r.partition, r.offset): r for r in judged.collect()}


def oracle_detail(value) -> str | None:
    """What the one definition (election.ballots) says of a message keyed like helpers.keyed."""
    (message,) = keyed([(0, 0, value)])
    try:
        parse_ballot(message.value, message.key)
    except BallotError as error:
        return error.detail
    return None


def reasons(verdicts):
    return {key: row.reason for key, row in verdicts.items()}


def test_a_valid_ballot_counts_with_its_fields(spark):
    verdicts = judge(spark, [(0, 0, ballot("b1", "v1", "c2", "2024-11-05T12:34:56.123456Z"))])
    row = verdicts[(0, 0)]
    assert row.reason is None and row.detail is None
    assert (row.vote_id, row.voter_id, row.candidate_id, row.address_state) == (
        "b1",
        "v1",
        "c2",
        "Ohio",
    )


@pytest.mark.parametrize(
    "value, detail",
    [
        (None, "message has no value"),
        (b"", "not JSON: Expecting value"),
        (b"not json", "not JSON: Expecting value"),
        (b"[1, 2]", "not a JSON object but an array"),
        (b"null", "not a JSON object but null"),
        (b'"v1"', "not a JSON object but a string"),
        (b'{"vote_id": "b1", "voter_id": "v1"', "not JSON: Expecting"),
        (
            b'{"vote_id": "b1", "voter_id": "v1", "voting_time": "2024-11-05T12:00:00Z"}',
            "missing field 'candidate_id'",
        ),
        (
            b'{"vote_id": "b1", "voter_id": null, "candidate_id": "c1", "voting_time": "2024-11-05T12:00:00Z"}',
            "missing field 'voter_id'",
        ),
        (
            b'{"vote_id": "b1", "voter_id": "", "candidate_id": "c1", "voting_time": "2024-11-05T12:00:00Z"}',
            "field 'voter_id' is empty",
        ),
        (
            b'{"vote_id": "b1", "voter_id": 5, "candidate_id": "c1", "voting_time": "2024-11-05T12:00:00Z"}',
            "field 'voter_id' is not a string",
        ),
        (
            b'{"vote_id": "b1", "voter_id": "v1", "candidate_id": {"id": "c1"}, "voting_time": "2024-11-05T12:00:00Z"}',
            "field 'candidate_id' is not a string",
        ),
        (ballot("b1", "v1", "c1", "yesterday"), "voting_time 'yesterday' is not an ISO-8601 time"),
        (
            ballot("b1", "v1", "c1", "2024-02-30T10:00:00Z"),
            "voting_time '2024-02-30T10:00:00Z' is not an ISO-8601 time",
        ),
        (ballot("b1", "v1", "c1", "2024"), "voting_time '2024' is not an ISO-8601 time"),
        (b'\xff{"vote_id": "b1"}', "not UTF-8 (byte 0)"),
        (
            b'{"vote_id": "b1", "voter_id": "v1", "candidate_id": "c1", "voting_time": "x\x01"}',
            "not JSON: Invalid control character",
        ),
    ],
)
def test_malformed_messages_are_rejected_with_a_detail(spark, value, detail):
    row = judge(spark, [(0, 7, value)])[(0, 7)]
    assert row.reason == contract.MALFORMED
    assert detail in row.detail
    assert row.detail == oracle_detail(value)


@pytest.mark.parametrize(
    "value, detail",
    [
        (ballot("b1", "v1", "c1", compact=True), None),
        (ballot("b1", "v1", "c1", "2024-11-05T12:00:00z", compact=True), None),
        (ballot("b1", "", "c1", compact=True), "field 'voter_id' is empty"),
        (ballot("", "v1", "c1", compact=True), "field 'vote_id' is empty"),
        (
            ballot("b1", "v1", "c1", "2024-13-05T12:00:00Z", compact=True),
            "voting_time '2024-13-05T12:00:00Z' is not an ISO-8601 time",
        ),
        (
            b'{"vote_id":"b1","voter_id":"v\x01","candidate_id":"c1","voting_time":"2024-11-05T12:00:00Z"}',
            "not JSON: Invalid control character",
        ),
        (
            b'{"vote_id":"b1","voter_id":"v1","candidate_id":"c1","voting_time":"2024-11-05T12:00:00Z","x":"y"}',
            None,
        ),
        (
            b'{"vote_id":"b\\"1","voter_id":"v1","candidate_id":"c1","voting_time":"2024-11-05T12:00:00Z"}',
            None,
        ),
        (
            b'{"voter_id":"v1","vote_id":"b1","candidate_id":"c1","voting_time":"2024-11-05T12:00:00Z"}',
            None,
        ),
        (
            b'{"vote_id":"b1","voter_id":"v1","candidate_id":"c1","voting_time":"2024-11-05T12:00:00Z"',
            "not JSON: Expecting",
        ),
    ],
)
def test_the_generators_compact_form_reads_like_any_json(spark, value, detail):
    row = judge(spark, [(0, 0, value)])[(0, 0)]
    assert row.detail == oracle_detail(value)
    assert (detail is None) == (row.detail is None) and (detail or "") in (row.detail or "")
    assert row.reason == (None if detail is None else contract.MALFORMED)
    if detail is None:
        assert (row.voter_id, row.candidate_id, row.address_state) == ("v1", "c1", "Ohio")


def test_a_malformed_message_keeps_its_vote_id_for_the_rejection_key(spark):
    verdicts = judge(
        spark,
        [
            (0, 0, b'{"vote_id": "b9", "voter_id": "v1"}'),
            (0, 1, b'{"vote_id": 12, "voter_id": "v1"}'),
            (0, 2, b"garbage"),
        ],
    )
    assert [verdicts[(0, i)].vote_id for i in range(3)] == ["b9", None, None]


def test_extra_fields_and_other_iso_times_are_accepted(spark):
    value = json.dumps(
        {
            "vote_id": "b1",
            "voter_id": "v1",
            "candidate_id": "c1",
            "voting_time": "2024-11-05T14:00:00+02:00",
            "voter_name": "ignored",
            "nested": {"voter_id": 5},
        }
    ).encode()
    row = judge(spark, [(0, 0, value), (0, 1, ballot("b2", "v2", "c1", "2024-11-05 12:00:00"))])
    assert row[(0, 0)].reason is None
    assert row[(0, 1)].reason is None


def test_each_rule_in_the_contracts_order(spark):
    verdicts = judge(
        spark,
        [
            (0, 0, ballot("b0", "nobody", "c1")),
            (0, 1, ballot("b1", "v1", "c9")),
            received(0, 2, ballot("b2", "v2", "c1"), OPENED - timedelta(milliseconds=1)),
            received(0, 3, ballot("b3", "v3", "c1"), CLOSED),
            # the first broken rule decides: voter before candidate before polls
            received(0, 4, ballot("b4", "nobody", "c9"), datetime(2020, 1, 1, tzinfo=UTC)),
            received(0, 5, ballot("b5", "v4", "c9"), datetime(2020, 1, 1, tzinfo=UTC)),
            # received at the opening counts, and just before the closing; voting_time is ignored
            received(1, 0, ballot("b6", "v4", "c2", "2001-01-01T00:00:00Z"), OPENED),
            received(1, 1, ballot("b7", "v5", "c3"), CLOSED - timedelta(milliseconds=1)),
        ],
    )
    assert reasons(verdicts) == {
        (0, 0): contract.UNKNOWN_VOTER,
        (0, 1): contract.UNKNOWN_CANDIDATE,
        (0, 2): contract.POLLS_CLOSED,
        (0, 3): contract.POLLS_CLOSED,
        (0, 4): contract.UNKNOWN_VOTER,
        (0, 5): contract.UNKNOWN_CANDIDATE,
        (1, 0): None,
        (1, 1): None,
    }
    assert verdicts[(0, 0)].detail == "voter 'nobody' is not on the roll"
    # the choice is secret: the detail names the contest only
    assert verdicts[(0, 1)].detail == "a choice in contest 'national' is not one of its choices"
    assert verdicts[(0, 2)].detail == (
        "received at 2024-11-05T06:59:59.999000Z, before the polls opened at "
        "2024-11-05T07:00:00.000000Z"
    )
    assert verdicts[(0, 3)].detail == (
        "received at 2024-11-05T20:00:00.000000Z, after the polls closed at "
        "2024-11-05T20:00:00.000000Z"
    )


def test_before_the_polls_open_every_ballot_is_polls_closed(spark):
    verdicts = judge(spark, [(0, 0, ballot("b0", "v1", "c1"))], opened=None, closed=None)
    assert verdicts[(0, 0)].reason == contract.POLLS_CLOSED
    assert verdicts[(0, 0)].detail == counting.NOT_OPENED_DETAIL


def test_while_the_polls_are_open_there_is_no_closing_time(spark):
    late = received(0, 0, ballot("b0", "v1", "c1"), datetime(2030, 1, 1, tzinfo=UTC))
    verdicts = judge(spark, [late], closed=None)
    assert verdicts[(0, 0)].reason is None


def test_a_voters_first_valid_ballot_by_offset_counts(spark):
    messages = [
        (0, 5, ballot("late", "v1", "c2")),
        (0, 3, ballot("first", "v1", "c1")),
        (0, 4, ballot("again", "v1", "c1")),
        # an invalid ballot does not use up the vote
        (1, 1, ballot("bad", "v2", "c9")),
        (1, 2, ballot("counts", "v2", "c3")),
        received(1, 3, ballot("closed", "v2", "c3"), datetime(2024, 11, 6, tzinfo=UTC)),
        # partition orders before offset
        (1, 0, ballot("p1", "v3", "c1")),
        (0, 9, ballot("p0", "v3", "c2")),
        (2, 0, ballot("alone", "v4", "c2")),
        (2, 1, b"junk"),
        (2, 2, b"more junk"),
    ]
    verdicts = judge(spark, messages)
    by_vote = {row.vote_id: row.reason for row in verdicts.values() if row.vote_id}
    assert by_vote == {
        "first": None,
        "again": contract.DUPLICATE,
        "late": contract.DUPLICATE,
        "bad": contract.UNKNOWN_CANDIDATE,
        "counts": None,
        "closed": contract.POLLS_CLOSED,
        "p0": None,
        "p1": contract.DUPLICATE,
        "alone": None,
    }
    assert verdicts[(0, 4)].detail == "the voter has already voted"
    assert verdicts[(2, 1)].reason == verdicts[(2, 2)].reason == contract.MALFORMED


def test_rejections_mask_the_choice_of_every_registered_voter(spark):
    messages = [
        (0, 0, ballot("b0", "v1", "c1")),
        (0, 1, ballot("b1", "v1", "c2")),
        (0, 2, ballot("b2", "v2", "c9")),
        (0, 3, b'{"vote_id": "b3", "voter_id": "v3", "candidate_id": "c1"'),
        (0, 4, b"x" * (judging.RAW_LIMIT + 10)),
        (0, 5, ballot("b5", "stranger", "c3")),
        received(0, 6, ballot("b6", "v4", "c3"), CLOSED),
    ]
    judged = helpers.judge_batch(spark, messages)
    rows = {r.offset: r for r in helpers.rejections(judged).collect()}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert '"candidate_id": "<secret>"' in rows[1].raw and "c2" not in rows[1].raw
    # an unknown candidate is a registered voter's choice too
    assert '"candidate_id": "<secret>"' in rows[2].raw and "c9" not in rows[2].raw + rows[2].detail
    assert rows[3].raw == '{"vote_id": "b3", "voter_id": "v3", "candidate_id": "<secret>"'
    assert len(rows[4].raw) == judging.RAW_LIMIT
    # only a voter who is not on the roll keeps the choice: nobody's secret ballot
    assert '"candidate_id": "c3"' in rows[5].raw
    assert '"candidate_id": "<secret>"' in rows[6].raw
    assert [r.candidate_id for r in helpers.counted(judged).collect()] == ["c1"]


def test_a_plain_message_is_masked_by_its_layout_as_the_pattern_masks_it(spark):
    # a plain message's record skips the masking pattern: the two must never differ
    log = [(0, i, value) for i, value in enumerate(helpers.plain_messages_sample())]
    parsed = judging.parse_ballots(kafka_rows(spark, log), None)
    rows = parsed.select(
        "offset",
        "form",
        judging.secret_raw(F.col("raw"), F.lit(None), F.col("form")).alias("by_layout"),
        judging.secret_raw(F.col("raw"), F.lit(None)).alias("by_pattern"),
    ).collect()
    plain = [r for r in rows if r.form]  # some draws are not plain (an id of two contests)
    assert {r.form for r in plain} == {judging.SEED_FORM, judging.SELECTIONS_FORM}
    assert len(plain) >= 50
    differ = [(r.by_layout, r.by_pattern) for r in rows if r.by_layout != r.by_pattern]
    assert not differ
    assert all("<secret>" in r.by_layout for r in rows)


def test_tally_counts_per_candidate_state_and_both(spark):
    messages = [
        (0, 0, ballot("b0", "v1", "c1")),
        (0, 1, ballot("b1", "v2", "c1")),
        (0, 2, ballot("b2", "v3", "c2")),
        (0, 3, ballot("b3", "v3", "c1")),
        (0, 4, ballot("b4", "v5", "c1")),
    ]
    judged = helpers.judge_batch(spark, messages)
    result = helpers.totals(helpers.counted(judged))
    assert {r.candidate_id: r.total_votes for r in result.by_candidate.collect()} == {
        "c1": 3,
        "c2": 1,
    }
    assert {
        (r.address_state, r.candidate_id): r.total_votes
        for r in result.by_state_candidate.collect()
    } == {("Ohio", "c1"): 1, ("Ohio", "c2"): 1, ("Texas", "c1"): 2}
    assert {r.address_state: r.total_votes for r in result.by_state.collect()} == {
        "Ohio": 2,
        "Texas": 2,
    }


def random_ballot_log(seed: int, n: int = 400):
    """A random ballot log with every kind of problem, keyed by voter like votes_topic."""
    rng = random.Random(seed)
    roll = {f"voter-{i}": rng.choice(["Ohio", "Texas", "Utah", "Maine"]) for i in range(60)}
    voters = [*roll, "stranger-1", "stranger-2"]
    partitions = 3
    offsets = [0] * partitions
    messages = []
    for i in range(n):
        voter = rng.choice(voters)
        candidate = (
            rng.choice([*CANDIDATES, "c-unknown"]) if rng.random() < 0.1 else rng.choice(CANDIDATES)
        )
        moment = OPENED + timedelta(seconds=rng.uniform(-3600, 14 * 3600))
        at = moment.isoformat().replace("+00:00", "Z")  # the voter's claim, ignored
        value = ballot(f"vote-{i}", voter, candidate, at, compact=rng.random() < 0.7)
        roll_dice = rng.random()
        if roll_dice < 0.03:
            value = b"{broken"
        elif roll_dice < 0.05:
            value = json.dumps({"vote_id": f"vote-{i}", "voter_id": voter}).encode()
        partition = sum(map(ord, voter)) % partitions  # one voter, one partition
        key = voter.encode() if rng.random() < 0.97 else b"someone-else"
        at = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # Kafka keeps ms
        messages.append(counting.Message(partition, offsets[partition], key, value, at))
        offsets[partition] += 1
    return roll, messages


@pytest.mark.parametrize("seed", [1, 2])
def test_the_tally_equals_the_reference_count(spark, seed):
    roll, messages = random_ballot_log(seed)
    truth = counting.count(messages, roll, CANDIDATES, OPENED, CLOSED, partitions=None)
    judged = helpers.judge_batch(spark, messages, roll).cache()
    result = helpers.totals(helpers.counted(judged))
    per_candidate = dict.fromkeys(CANDIDATES, 0)
    per_candidate.update({r.candidate_id: r.total_votes for r in result.by_candidate.collect()})
    assert per_candidate == truth.per_candidate
    assert {
        (r.address_state, r.candidate_id): r.total_votes
        for r in result.by_state_candidate.collect()
    } == truth.per_state
    assert {
        r.address_state: r.total_votes for r in result.by_state.collect()
    } == truth.turnout_by_state
    rejected = sorted(
        (r.partition, r.offset, r.vote_id, r.reason) for r in helpers.rejections(judged).collect()
    )
    assert rejected == [tuple(r)[:4] for r in truth.rejections]
    # every reason a seed-shaped ballot can break (it names no contest off the voter's style)
    seed_reasons = set(contract.REJECTION_REASONS) - {contract.NOT_ON_BALLOT}
    assert {reason for *_, reason in rejected} == seed_reasons


def test_text_kept_for_a_rejection_is_storable(spark):
    messages = [
        (0, 0, ballot("b\u0000", "v\u0000", "c1")),
        (0, 1, b'\xff\xfe{"candidate_id": "c1"}'),
    ]
    judged = helpers.judge_batch(spark, messages)
    rows = {r.offset: r for r in helpers.rejections(judged).collect()}
    assert rows[0].reason == contract.UNKNOWN_VOTER
    assert "\u0000" not in rows[0].detail + rows[0].vote_id
    assert rows[1].reason == contract.MALFORMED
    assert rows[1].raw.encode("utf-8").endswith(b'"candidate_id": "<secret>"}')


def test_what_reaches_the_driver_is_bounded_in_bytes_whatever_a_message_carries(spark):
    from spark_jobs import batch_outcome

    wide = "\U0001f5f3" * 16_000  # 64,000 bytes of four-byte characters
    messages = [
        (0, 0, ballot(wide, "v1", "c1")),  # valid, with a huge vote_id
        (0, 1, ballot("b1", "v2", "c1", wide)),  # malformed, the time in the detail
        (0, 2, ballot("b2", wide, "c1")),  # unknown voter, the id in the detail and raw
        (0, 3, b"\x00" * 60_000),  # NUL becomes U+FFFD: three bytes each
    ]
    judged = helpers.judge_batch(spark, messages)
    outcome = batch_outcome.collect_outcome(judged)
    assert outcome.num_rows == 4
    for row in outcome.to_pylist():
        text = [row[c] or "" for c in ("vote_id", "detail", "raw")]
        assert sum(len(t.encode()) for t in text) <= judging.RECORD_BYTES
        assert "\x00" not in "".join(text)
    reasons = dict(zip(outcome["offset"].to_pylist(), outcome["reason"].to_pylist(), strict=True))
    assert reasons == {0: None, 1: "malformed", 2: "unknown_voter", 3: "malformed"}
