"""Certification's reconciliation per contest and district on the real PostgreSQL: it passes on
books that agree with the oracle, and fails on a count wrong in the way each check guards.

The roll and contests are tests/spark_jobs/helpers.py's; each ballot's outcomes are what the
tally's own judge gives (spark_jobs.selections_judging), the recount is the oracle's count."""

from __future__ import annotations

import psycopg
import pytest

from election.contest_totals import judged_totals, results_document
from election.contests import District
from election.definition import Definition
from election.schema import TABLES
from election_assets import contest_checks as checks
from election_io.definitions import write_definition
from spark_jobs import contest_ledger
from spark_jobs.selections_judging import PatternJudge, selections_text
from tests.spark_jobs.helpers import (
    SELECTIONS_CONTESTS,
    SELECTIONS_ROLL,
    selections_ballot,
    selections_truth,
)

BALLOTS = {
    "v1": {"national": ["c2"], "sen-OH": ["a", "b"], "m-OH": ["yes", "no"]},
    "v2": {"national": ["c1"]},
    "v3": {"national": ["c1", "c2"], "sen-OH": ["c"], "m-OH": []},
    "v4": {},
    "w0": {"cty-39049": ["e"], "sen-OH": ["a", "c"]},
    "w5": {"sen-TX": ["a", "d"]},
}


@pytest.fixture
def books(scratch_database):
    """An election whose ballots ledger, contest totals and recount agree."""
    judge = PatternJudge(SELECTIONS_CONTESTS)
    messages = []
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute(TABLES)
        write_definition(
            conn, Definition(SELECTIONS_CONTESTS, (District("nation", "nation", "Nation", None),))
        )
        patterns = []
        for offset, (voter, chosen) in enumerate(BALLOTS.items()):
            state, county = SELECTIONS_ROLL[voter]
            reason, _detail, outcomes, national = judge.verdict(
                state, county, selections_text(chosen)
            )
            assert reason is None
            conn.execute(
                "INSERT INTO ballots (candidate_id, address_state, county_fips, outcomes, cast_at)"
                " VALUES (%s, %s, %s, %s, now())",
                (national, state, county, outcomes),
            )
            patterns.append((state, county, outcomes, 1))
            messages.append((0, offset, selections_ballot(f"b{offset}", voter, chosen)))
        conn.execute(contest_ledger.STAGING)
        with conn.transaction():  # the staging table empties at each commit
            judged = judged_totals(SELECTIONS_CONTESTS, patterns)
            deltas = contest_ledger.BatchDeltas.of_rows(
                judged.take_counted(), judged.take_rankings()
            )
            contest_ledger.add_totals(conn, deltas)
        truth = selections_truth(messages)
        assert truth.counted == len(BALLOTS)
        yield conn, {"contests": results_document(truth.results)}


def test_books_that_agree_pass_both_checks(books):
    conn, recount = books
    assert checks.check_recount_contests(conn, recount).passed
    result = checks.check_contest_votes(conn)
    assert result.passed and result.metadata["keys"].value > len(SELECTIONS_CONTESTS)


def test_a_live_choice_total_that_differs_fails_both(books):
    conn, recount = books
    conn.execute(
        "UPDATE contest_choice_totals SET votes = votes + 1 "
        "WHERE (contest_id, district_id, choice_id) = ('sen-OH', 'state:OH', 'a')"
    )
    differs = checks.check_recount_contests(conn, recount)
    assert not differs.passed
    assert differs.metadata["differences"].value == {
        "sen-OH|state:OH votes a": {"recount": 2, "live": 3}
    }
    adds_up = checks.check_contest_votes(conn)
    assert not adds_up.passed
    assert set(adds_up.metadata["wrong"].value) == {"sen-OH|state:OH"}


def test_an_overvote_lost_from_the_totals_fails(books):
    conn, recount = books
    conn.execute(
        "UPDATE contest_totals SET overvotes = overvotes - 1 "
        "WHERE contest_id = 'national' AND district_id = 'nation'"
    )
    assert not checks.check_recount_contests(conn, recount).passed
    wrong = checks.check_contest_votes(conn).metadata["wrong"].value
    assert wrong["national|nation"]["ballots"] == len(BALLOTS)
    assert wrong["national|nation"]["overvotes"] == 0


def test_a_ballot_missing_from_the_ledger_fails_the_ballots_with_style(books):
    conn, recount = books
    # w5's ballot, the one overvote in sen-TX (v2, in Texas too, keeps hers)
    conn.execute("DELETE FROM ballots WHERE outcomes->'sen-TX' = '[[], 1, 0]'::jsonb")
    assert checks.check_recount_contests(conn, recount).passed  # the totals still agree
    wrong = checks.check_contest_votes(conn).metadata["wrong"].value
    assert wrong["sen-TX|state:TX"]["ballots_with_style"] == 1
    assert wrong["sen-TX|state:TX"]["ballots"] == 2


def test_a_recount_without_contest_totals_fails_in_one_line(books):
    conn, _recount = books
    result = checks.check_recount_contests(conn, {"per_candidate": {}})
    assert not result.passed and "\n" not in result.metadata["problem"].value


@pytest.mark.parametrize(
    "outcomes", ["{}", '{"national": "x"}', '{"national": [["c1"], 0]}', "[]", '"national"']
)
def test_hostile_outcomes_in_the_ledger_fail_in_one_line(books, outcomes):
    conn, _recount = books
    conn.execute(
        "UPDATE ballots SET outcomes = %s::jsonb WHERE ctid = (SELECT min(ctid) FROM ballots)",
        (outcomes,),
    )
    result = checks.check_contest_votes(conn)
    assert not result.passed
    assert "do not fit the election's contests" in result.metadata["problem"].value
