"""The standings, lag and query parsing the page is built from, on snapshots made in the test."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from benchmarks import _sample_results as sample_results
from election import contests, contract
from election.settings import SettingError, setting
from streamlit_app import standings
from streamlit_app.queries import ElectionBoard
from streamlit_app.reader import ResultSnapshot


def snapshot_of(messages, **extra) -> ResultSnapshot:
    """A snapshot holding the latest value per key of the given messages."""
    latest: dict[str, dict] = {}
    for topic, key, value in messages:
        latest.setdefault(topic, {})[key] = value
    return ResultSnapshot(
        candidates=MappingProxyType(latest.get(contract.VOTES_PER_CANDIDATE_TOPIC, {})),
        turnout=MappingProxyType(latest.get(contract.TURNOUT_BY_LOCATION_TOPIC, {})),
        states=MappingProxyType(latest.get(contract.VOTES_PER_STATE_TOPIC, {})),
        race_calls=MappingProxyType(latest.get(contract.RACE_CALLS_TOPIC, {})),
        **extra,
    )


def in_state(code: str | None) -> dict:
    """The fields that make a race_calls message the national race's, in a state (or the nation)."""
    district_id = contests.NATION if code is None else contests.state_district(code)
    race = contract.contest_key(contests.NATIONAL_CONTEST, district_id)
    return {"contest_id": contests.NATIONAL_CONTEST, "district_id": district_id, "race": race}


def result(candidate_id: str, votes: int, state: str | None = None) -> tuple[str, str, dict]:
    value = {
        "candidate_id": candidate_id,
        "candidate_name": candidate_id.upper(),
        "total_votes": votes,
    }
    if state is None:
        return (contract.VOTES_PER_CANDIDATE_TOPIC, candidate_id, value)
    key = contract.state_result_key(state, candidate_id)
    return (contract.VOTES_PER_STATE_TOPIC, key, {**value, "address_state": state})


def test_the_leader_and_margin():
    ranked = standings.standings(snapshot_of([result("b", 30), result("a", 50), result("c", 20)]))

    assert [row.candidate_id for row in ranked] == ["a", "b", "c"]
    assert [row.share for row in ranked] == [0.5, 0.3, 0.2]
    lead = standings.lead(ranked)
    assert (lead.leader.candidate_id, lead.runner_up.candidate_id, lead.margin_votes) == (
        "a",
        "b",
        20,
    )
    assert round(lead.margin_share, 6) == 0.2 and not lead.tied


def test_a_tie_is_a_tie():
    lead = standings.lead(standings.standings(snapshot_of([result("b", 5), result("a", 5)])))
    assert lead.tied and lead.leader.candidate_id == "a"
    assert standings.lead([]) is None


def test_who_leads_each_state_and_the_called_ones():
    call = {**in_state("OH"), "candidate_id": "b", "called": True, "margin": 3, "outstanding": 1}
    uncalled = {**in_state("UT"), "candidate_id": "a", "called": False}
    snapshot = snapshot_of(
        [
            result("a", 4, "Ohio"),
            result("b", 7, "Ohio"),
            result("a", 2, "Utah"),
            result("b", 2, "Utah"),
            result("a", 6),
            result("b", 9),
            (contract.RACE_CALLS_TOPIC, call["race"], call),
            (contract.RACE_CALLS_TOPIC, uncalled["race"], uncalled),
        ]
    )

    leaders = standings.state_leaders(snapshot).set_index("address_state")
    assert leaders.loc["Ohio", ["leader", "margin_votes", "ballots", "called_for"]].tolist() == [
        "B",
        3,
        11,
        "B",
    ]
    assert leaders.loc["Utah", ["leader", "called_for"]].tolist() == ["Tied", ""]
    assert leaders.loc["Ohio", "state_code"] == "OH"
    calls = standings.race_calls(snapshot)
    assert calls[["race", "called_for", "margin"]].values.tolist() == [["Ohio", "B", 3]]


def test_maps_only_for_us_states():
    assert standings.are_us_states(["Ohio", "New York", "TX"])
    assert not standings.are_us_states(["Ohio", "Bavaria"])
    assert not standings.are_us_states([])


def test_turnout_highest_first():
    messages = [
        (
            contract.TURNOUT_BY_LOCATION_TOPIC,
            "Ohio",
            {"address_state": "Ohio", "total_votes": 50, "registered_voters": 100},
        ),
        (
            contract.TURNOUT_BY_LOCATION_TOPIC,
            "Utah",
            {"address_state": "Utah", "total_votes": 90, "registered_voters": 100},
        ),
    ]
    turnout = standings.turnout_by_state(snapshot_of(messages))
    assert turnout[["address_state", "turnout"]].values.tolist() == [["Utah", 0.9], ["Ohio", 0.5]]


def test_the_count_over_time():
    minute = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)
    history = (
        (minute, MappingProxyType({"a": 10, "b": 10})),
        (minute.replace(minute=1), MappingProxyType({"a": 30, "b": 10})),
    )
    snapshot = ResultSnapshot(history=history)

    per_bucket, _, bucket = standings.ballots_over_time(snapshot)
    assert per_bucket["ballots"].tolist() == [20, 20] and bucket == "1 s"
    over_time = standings.count_over_time(snapshot, {"a": "A", "b": "B"})
    assert over_time[over_time["candidate_name"] == "A"]["share"].tolist() == [0.5, 0.75]


def test_the_sample_election_adds_up():
    messages = sample_results.sample_election(10_001, ["Ohio", "Utah"], batches=5, rejected=7)
    snapshot = snapshot_of(messages)
    assert sum(sample_results.candidate_totals(messages).values()) == 10_001
    assert snapshot.ballots_counted == 10_001
    assert standings.state_leaders(snapshot)["ballots"].sum() == 10_001
    assert standings.turnout_by_state(snapshot)["ballots"].sum() == 10_001
    assert sum(1 for topic, _, _ in messages if topic == contract.REJECTED_VOTES_TOPIC) == 7


def test_the_lag_is_the_ballot_log_past_the_ledger():
    log_ends = MappingProxyType({0: 60, 1: 50})
    assert ElectionBoard().tally_lag(log_ends) is None  # no ledger known
    assert ElectionBoard(counted_ends={}).tally_lag(log_ends) == 110
    assert ElectionBoard(counted_ends={0: 60, 1: 45}).tally_lag(log_ends) == 5
    assert ElectionBoard(counted_ends={0: 70, 1: 50}).tally_lag(log_ends) == 0
    assert ElectionBoard(counted_ends={0: 60}).tally_lag({}) is None  # no ballot log read


def test_the_refresh_interval_comes_from_the_catalogue():
    assert setting("DASHBOARD_REFRESH_SECONDS", {}) == 2.0
    assert setting("DASHBOARD_REFRESH_SECONDS", {"DASHBOARD_REFRESH_SECONDS": "5"}) == 5.0
    for bad in ("0.1", "soon"):
        with pytest.raises(SettingError, match="DASHBOARD_REFRESH_SECONDS"):
            setting("DASHBOARD_REFRESH_SECONDS", {"DASHBOARD_REFRESH_SECONDS": bad})


def test_the_count_over_time_reads_at_any_span():
    """A few seconds, ten minutes or a day each come out in a handful to sixty bars."""
    start = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    for span_s, step_s, bucket in ((8, 1, "1 s"), (600, 2, "15 s"), (86_400, 60, "hour")):
        history = tuple(
            (start + timedelta(seconds=t), MappingProxyType({"a": t + 1}))
            for t in range(0, span_s + 1, step_s)
        )
        per_bucket, _, label = standings.ballots_over_time(ResultSnapshot(history=history))
        assert label == bucket
        assert 5 <= len(per_bucket) <= standings.MAX_BARS + 1
        assert per_bucket["ballots"].sum() == span_s // step_s * step_s + 1


def test_race_calls_newest_first_with_their_time():
    calls = [
        {
            **in_state("OH"),
            "called": True,
            "candidate_id": "a",
            "candidate_name": "A",
            "margin": 5,
            "outstanding": 0,
            "called_at": "2026-11-03T20:00:05Z",
        },
        {
            **in_state(None),
            "called": True,
            "candidate_id": "a",
            "candidate_name": "A",
            "margin": 9,
            "outstanding": 0,
            "called_at": "2026-11-03T20:01:00Z",
        },
        {**in_state("UT"), "called": False, "candidate_id": "b", "called_at": None},
        # another contest's call, and a call that does not say it is called, are not listed
        {"contest_id": "senate-OH", "district_id": "state:OH", "called": True, "candidate_id": "s"},
        {**in_state("TX"), "candidate_id": "a", "candidate_name": "A"},
    ]
    messages = [
        (contract.RACE_CALLS_TOPIC, contract.contest_key(c["contest_id"], c["district_id"]), c)
        for c in calls
    ]
    table = standings.race_calls(snapshot_of(messages))
    assert table["race"].tolist() == ["Whole election", "Ohio"]
    assert table["called_at"].tolist() == ["20:01:00 UTC", "20:00:05 UTC"]


def turnout_message(state: str, ballots: int, registered: int):
    value = {"address_state": state, "total_votes": ballots, "registered_voters": registered}
    return (contract.TURNOUT_BY_LOCATION_TOPIC, state, value)


def test_reporting_per_state_and_nationally():
    snapshot = snapshot_of(
        [
            result("a", 30, "Ohio"),
            result("b", 20, "Ohio"),
            result("a", 5, "Utah"),
            result("a", 35),
            result("b", 20),
            turnout_message("Ohio", 50, 100),
            turnout_message("Utah", 5, 100),
        ]
    )
    desk = standings.reporting_by_state(snapshot, complete=False).set_index("address_state")
    ohio = desk.loc["Ohio"]
    assert (ohio["counted"], ohio["share_of_roll"], ohio["leader"], ohio["margin"]) == (
        50,
        0.5,
        "A",
        10,
    )
    assert ohio["expected_reporting"] == 50 / 65
    assert ohio["runner_up_needs"] == (15 + 10) / 30  # of the 15 votes still expected
    assert desk.loc["Utah", "leader"] == "A"
    nation = standings.national_reporting(snapshot, complete=False)
    assert (nation.counted, nation.expected, nation.margin) == (55, 130, 15)
    done = standings.national_reporting(snapshot, complete=True)
    assert done.expected_reporting == 1.0 and done.runner_up_needs is None


def test_a_tied_state_reports_a_tie():
    snapshot = snapshot_of(
        [result("a", 5, "Ohio"), result("b", 5, "Ohio"), turnout_message("Ohio", 10, 100)]
    )
    assert standings.reporting_by_state(snapshot, complete=True).loc[0, "leader"] == "Tied"


def test_the_projection_from_the_snapshot():
    snapshot = snapshot_of(
        [
            result("a", 30, "Ohio"),
            result("b", 20, "Ohio"),
            result("a", 35),
            result("b", 20),
            turnout_message("Ohio", 50, 100),
            turnout_message("Utah", 0, 100),
        ]
    )
    projected = standings.projected_shares(snapshot)
    assert projected["candidate_id"].tolist() == ["a", "b"]
    assert (projected["low"] <= projected["share"]).all()
    assert (projected["share"] <= projected["high"]).all()
    assert projected["share"].sum() == pytest.approx(1.0)


def test_the_closing_time_and_its_countdown():
    from election.contract import Election
    from streamlit_app.status_banner import closing_line, countdown

    now = datetime(2026, 11, 3, 19, 57, 30, tzinfo=UTC)
    closes = datetime(2026, 11, 3, 20, 0, 0, tzinfo=UTC)
    assert countdown(closes, now) == "2 min 30 s"
    assert countdown(closes, closes - timedelta(seconds=9)) == "9 s"
    assert countdown(closes, closes - timedelta(hours=2, minutes=3)) == "2 h 03 min"
    assert countdown(closes, closes + timedelta(seconds=5)) == "0 s"  # a skewed clock
    open_ = Election(1, "E", "open", now - timedelta(minutes=8), None, None)
    board = ElectionBoard(election=dataclasses.replace(open_, polls_close_at=closes))
    assert closing_line(board, now) == "Polls close at 20:00:00 UTC · 2 min 30 s left"
    assert closing_line(board, closes + timedelta(seconds=3)).startswith("The polls close now")
    assert "by hand" in closing_line(ElectionBoard(election=open_), now)
    closed = Election(1, "E", "closed", now - timedelta(minutes=8), closes, None)
    assert closing_line(ElectionBoard(election=closed), now) == "Polls closed at 20:00:00 UTC"
    assert closing_line(ElectionBoard(), now) is None
