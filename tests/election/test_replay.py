"""An imported election's voting day (election.replay): its roll and candidates, and the plan
that casts its records' ballots in order, each counted by the oracle as its record says."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import ballots, counting, replay
from election.contest_totals import ContestTotals
from election.contests import (
    NATION,
    NATION_KIND,
    PLURALITY,
    PRECINCT_KIND,
    Choice,
    Contest,
    District,
    ballot_style,
    precinct_district,
    voter_districts,
)
from election.cvr import import_report, import_reports
from election.definition import Definition
from election.roll import VOTER_COLUMNS
from election.selections import read_selections
from tests.election.cdf_writer import cdf_report
from tests.election.test_cvr_properties import elections

CVR_FIXTURES = Path(__file__).parent / "cvr_fixtures"
RCV_FIXTURES = Path(__file__).parent / "rcv_fixtures"
OPENED = dt.datetime(2026, 11, 3, 7, tzinfo=dt.UTC)


def fixture(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def precinct_example():
    # RCTab's precinct_example, reduced (tests/election/cvr_fixtures/README.md)
    return import_report(fixture(CVR_FIXTURES / "precinct_example_cdf.json"))


def multi_file_set():
    # RCTab's test_set_8_multi_cdf, unchanged (tests/election/rcv_fixtures/test_set_8_multi_cdf)
    folder = RCV_FIXTURES / "test_set_8_multi_cdf"
    reports = [(p.name, fixture(p)) for p in sorted(folder.glob("cvr_cdf*.json"))]
    return import_reports(reports, fixture(folder / "rctab_config.json"))


def plan_of(imported, seed: int = 7):
    roll = replay.imported_roll(imported.ballots)
    texts = [replay.selections_text(b.selections, imported.definition) for b in imported.ballots]
    return replay.replay_plan(
        roll["voter_id"].to_pylist(), roll["address_state"].to_pylist(), texts, seed
    )


def replayed_messages(plan) -> list[counting.Message]:
    """The plan's ballots as a wave sends them (election.ballots), one partition, in order."""
    times = plan.voting_times(OPENED, dt.timedelta(hours=13))
    values = ballots.encode_selection_ballots(
        plan.vote_id, plan.voter_id, plan.selections.fragments(), times
    )
    return [
        counting.Message(0, offset, voter.encode(), value, OPENED + dt.timedelta(seconds=offset))
        for offset, (voter, value) in enumerate(zip(plan.voter_id, values, strict=True))
    ]


def oracle_count(imported, plan) -> counting.Count:
    roll = {b.voter_id: (b.district_id, None) for b in imported.ballots}
    return counting.count(
        replayed_messages(plan),
        roll,
        None,
        OPENED,
        None,
        partitions=None,
        contests=imported.definition.contests,
    )


# --- an imported voter's home and ballot style ------------------------------------------------


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True))
def test_an_imported_voter_lives_in_its_precinct_and_the_nation(unit):
    precinct = precinct_district(unit)
    assert voter_districts(precinct, None) == (NATION, precinct)
    assert voter_districts(NATION, None) == (NATION,)
    everywhere = Contest("all", "All", NATION, PLURALITY, (Choice("a", "A"),), position=1)
    here = Contest("here", "Here", precinct, PLURALITY, (Choice("b", "B"),), position=2)
    there = Contest("there", "There", precinct + "x", PLURALITY, (Choice("c", "C"),), position=3)
    contests = [there, here, everywhere]
    assert ballot_style(contests, precinct, None) == (everywhere, here)
    assert ballot_style(contests, NATION, None) == (everywhere,)


def test_a_roll_state_is_still_read_as_a_state():
    assert voter_districts("Ohio", "39049") == (NATION, "state:OH", "county:39049")
    assert voter_districts("Nationville", None) == (NATION, "state:Nationville")


# --- the roll and the candidates --------------------------------------------------------------


def test_one_anonymous_voter_per_record_at_home_in_its_district():
    imported = precinct_example()
    roll = replay.imported_roll(imported.ballots)
    assert roll.column_names == list(VOTER_COLUMNS)
    assert roll["voter_id"].to_pylist() == [b.voter_id for b in imported.ballots]
    homes = roll["address_state"].to_pylist()
    assert homes == [b.district_id for b in imported.ballots]
    assert all(h.startswith(precinct_district("")) for h in homes)  # RCTab's records' units
    assert set(roll["voter_name"].to_pylist()) == {replay.ANONYMOUS}
    assert roll["registration_number"].to_pylist() == roll["voter_id"].to_pylist()
    for column in ("address_street", "address_city", "email", "phone_number", "picture"):
        assert roll[column].null_count == roll.num_rows  # a report names nobody


def test_the_candidates_are_every_choice_once_in_ballot_order():
    first = Contest("a", "A", NATION, PLURALITY, (Choice("x", "X"), Choice("y", "Y")), position=1)
    second = Contest("b", "B", NATION, PLURALITY, (Choice("y", "Why"), Choice("z", "Z", "P")), 1, 2)
    nation = (District(NATION, NATION_KIND, "Springfield", None),)
    table = replay.imported_candidates(Definition((second, first), nation))
    assert table.to_pylist() == [
        {"candidate_id": "x", "candidate_name": "X", "party_affiliation": replay.NO_PARTY}
        | dict.fromkeys(("biography", "campaign_platform", "photo_url")),
        {"candidate_id": "y", "candidate_name": "Y", "party_affiliation": replay.NO_PARTY}
        | dict.fromkeys(("biography", "campaign_platform", "photo_url")),
        {"candidate_id": "z", "candidate_name": "Z", "party_affiliation": "P"}
        | dict.fromkeys(("biography", "campaign_platform", "photo_url")),
    ]


# --- the plan ---------------------------------------------------------------------------------


def test_the_plan_casts_the_records_in_order_along_the_days_curve():
    imported = multi_file_set()
    plan = plan_of(imported)
    assert len(plan) == len(imported.ballots) == 24  # two files of 12 records
    assert plan.voter_id.tolist() == [b.voter_id for b in imported.ballots]
    assert np.all(np.diff(plan.day_fraction) >= 0)
    assert plan.day_fraction[0] >= 0 and plan.day_fraction[-1] < 1
    assert len(set(plan.vote_id.tolist())) == len(plan)
    for position, record in enumerate(imported.ballots):
        fragment = plan.selections.fragments()[position].as_py()
        assert json.loads("{" + fragment + "}") == record.selections
    again = plan_of(imported)
    assert again.vote_id.tolist() == plan.vote_id.tolist()  # the same plan for every wave
    assert again.day_fraction.tolist() == plan.day_fraction.tolist()


def test_every_replayed_ballot_of_a_precinct_report_counts_in_its_precinct():
    imported = precinct_example()
    plan = plan_of(imported)
    result = oracle_count(imported, plan)
    assert result.rejections == [] and result.counted == len(imported.ballots)
    precincts = {d.district_id for d in imported.definition.districts if d.kind == PRECINCT_KIND}
    for contest in imported.definition.contests:
        rows = {d for c, d in result.results if c == contest.contest_id}
        assert rows == {NATION, *(b.district_id for b in imported.ballots)} and rows - {NATION}
        assert rows - {NATION} <= precincts


def test_a_record_that_marks_no_contest_is_a_ballot_of_no_selections():
    marks = replay.replayed_selections(['{"a":["x"]}', "{}", '{"a":[]}', "{}"])
    assert marks.fragments().to_pylist() == ['"a":["x"]', "", '"a":[]', ""]
    assert replay.replayed_selections(["{}"]).fragments().to_pylist() == [""]


def test_an_empty_import_is_an_empty_plan():
    plan = replay.replay_plan([], [], [], seed=1)
    assert len(plan) == 0 and len(plan.selections.fragments()) == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections(), st.integers(0, 2**31))
def test_any_imported_election_replays_as_its_records_say(election, seed):
    """Whatever a report holds, the replayed ballots are its records, in order, and the oracle
    counts each one, to the totals its records come to."""
    definition, written = election
    imported = import_report(json.loads(json.dumps(cdf_report(definition, written))))
    plan = plan_of(imported, seed)
    assert plan.voter_id.tolist() == [b.voter_id for b in imported.ballots]
    result = oracle_count(imported, plan)
    assert result.rejections == [] and result.counted == len(imported.ballots)
    expected = ContestTotals(
        imported.definition.contests, [(b.district_id, None) for b in imported.ballots]
    )
    for record in imported.ballots:
        marks = read_selections(json.loads(json.dumps(record.selections)))
        expected.add((record.district_id, None), marks)
    assert result.results == expected.results
