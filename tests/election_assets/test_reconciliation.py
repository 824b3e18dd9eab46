"""The reconciliation checks, one by one, on the real PostgreSQL: each passes on an election
whose books agree, and fails on a count that is wrong in the way it guards."""

from __future__ import annotations

import random
from collections import Counter

import psycopg
import pytest

from election import contract
from election.schema import TABLES
from election_assets import certification as cert
from tests.spark_jobs import stack

STATES = ("Ohio", "Utah", "Iowa")
CANDIDATES = ("cand-a", "cand-b")
VOTERS, VOTED, REJECTED = 120, 70, 9


@pytest.fixture
def books(scratch_database):
    """An election whose roll, poll book, ledger, totals, batches and recount agree."""
    rng = random.Random(11)
    roll = {f"voter-{i:03d}": rng.choice(STATES) for i in range(VOTERS)}
    voted = rng.sample(sorted(roll), VOTED)
    choices = {v: rng.choice(CANDIDATES) for v in voted}
    by_state = Counter((roll[v], choices[v]) for v in voted)
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute(TABLES)
        stack.copy_roll(conn, roll)
        for voter_id in voted:
            conn.execute(
                "INSERT INTO voter_turnout (voter_id, voted_at) VALUES (%s, now())", (voter_id,)
            )
            conn.execute(
                "INSERT INTO ballots (candidate_id, address_state, cast_at) VALUES (%s, %s, now())",
                (choices[voter_id], roll[voter_id]),
            )
        for (state, candidate), n in by_state.items():
            conn.execute(
                "INSERT INTO tally_by_state (address_state, candidate_id, total_votes, "
                "updated_at) VALUES (%s, %s, %s, now())",
                (state, candidate, n),
            )
        for candidate, n in Counter(choices.values()).items():
            conn.execute(
                "INSERT INTO tally_by_candidate (candidate_id, total_votes, updated_at) "
                "VALUES (%s, %s, now())",
                (candidate, n),
            )
        for offset in range(REJECTED):
            conn.execute(
                "INSERT INTO rejected_ballots (topic_partition, topic_offset, reason, "
                "detected_at) VALUES (0, %s, %s, now())",
                (offset, contract.MALFORMED),
            )
        conn.execute(
            "INSERT INTO tally_batches (query_name, batch_id, messages, counted, rejected) "
            "VALUES ('live_tally', 0, %s, %s, %s)",
            (VOTED + REJECTED, VOTED, REJECTED),
        )
    recount = {
        "per_candidate": dict(Counter(choices.values())),
        "per_state": {contract.state_result_key(s, c): n for (s, c), n in by_state.items()},
        "messages": VOTED + REJECTED,
        "counted": VOTED,
        "rejected": REJECTED,
    }
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        yield conn, recount


def all_checks(conn, recount: dict, drained: bool = True) -> dict[str, bool]:
    return {
        cert.CHECK_RECOUNT_CANDIDATES: cert.check_recount_candidates(conn, recount).passed,
        cert.CHECK_RECOUNT_STATES: cert.check_recount_states(conn, recount).passed,
        cert.CHECK_LEDGER_POLL_BOOK: cert.check_ledger_poll_book(conn).passed,
        cert.CHECK_POLL_BOOK_UNIQUE: cert.check_poll_book_unique(conn).passed,
        cert.CHECK_TURNOUT_BOUND: cert.check_turnout_bound(conn).passed,
        cert.CHECK_OFFSETS: cert.check_offsets(conn, recount, drained).passed,
    }


def failing(checks: dict[str, bool]) -> set[str]:
    return {name for name, passed in checks.items() if not passed}


def test_books_that_agree_pass_every_check(books):
    conn, recount = books
    assert failing(all_checks(conn, recount)) == set()


def test_a_recount_that_differs_per_candidate_fails(books):
    conn, recount = books
    recount["per_candidate"]["cand-a"] += 1
    result = cert.check_recount_candidates(conn, recount)
    assert not result.passed
    assert result.metadata["differences"].value["cand-a"]["recount"] == (
        result.metadata["differences"].value["cand-a"]["live"] + 1
    )


def test_a_live_state_total_that_differs_fails(books):
    conn, recount = books
    conn.execute(
        "UPDATE tally_by_state SET total_votes = total_votes + 1 "
        "WHERE (address_state, candidate_id) = (SELECT address_state, candidate_id "
        "FROM tally_by_state ORDER BY 1, 2 LIMIT 1)"
    )
    assert cert.CHECK_RECOUNT_STATES in failing(all_checks(conn, recount))


def test_a_ballot_missing_from_the_ledger_fails(books):
    conn, recount = books
    conn.execute("DELETE FROM ballots WHERE ctid = (SELECT min(ctid) FROM ballots)")
    assert failing(all_checks(conn, recount)) == {cert.CHECK_LEDGER_POLL_BOOK}


def test_a_voter_twice_in_the_poll_book_fails(books):
    conn, recount = books
    # the key forbids it; the check still guards a poll book restored without its key
    conn.execute("ALTER TABLE voter_turnout DROP CONSTRAINT voter_turnout_pkey")
    conn.execute("INSERT INTO voter_turnout SELECT * FROM voter_turnout LIMIT 1")
    assert cert.CHECK_POLL_BOOK_UNIQUE in failing(all_checks(conn, recount))


def test_more_votes_than_registered_voters_fails(books):
    conn, recount = books
    conn.execute(
        "UPDATE tally_by_state SET total_votes = total_votes + %s WHERE address_state = 'Utah' "
        "AND candidate_id = 'cand-a'",
        (VOTERS,),
    )
    result = cert.check_turnout_bound(conn)
    assert not result.passed and result.metadata["states_over"].value == "Utah"


def test_a_message_on_the_topic_that_nobody_accounts_for_fails(books):
    conn, recount = books
    recount["messages"] += 1  # the recount read one committed message the live tally did not
    recount["rejected"] += 1
    assert failing(all_checks(conn, recount)) == {cert.CHECK_OFFSETS}


def test_a_log_not_drained_fails(books):
    conn, recount = books
    assert failing(all_checks(conn, recount, drained=False)) == {cert.CHECK_OFFSETS}


def test_a_lost_rejection_fails(books):
    conn, recount = books
    conn.execute("DELETE FROM rejected_ballots WHERE topic_offset = 0")
    assert failing(all_checks(conn, recount)) == {cert.CHECK_OFFSETS}
