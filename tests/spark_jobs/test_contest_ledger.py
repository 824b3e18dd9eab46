"""The ledger by contest on the real PostgreSQL, Kafka and Spark: multi-contest ballots (a vote,
an overvote, an undervote, a blank ballot, a seed ballot) go through real micro-batches, and the
contest totals, the ballots ledger, the contest_results messages and the recount all equal the
oracle's count (election.counting.count with the contests of tests/spark_jobs/helpers.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import psycopg
import pytest
from rcvformats.schemas.universaltabulator import SchemaV0

from election import contract, counting
from election.contest_totals import results_document
from election.contests import RANKED, Choice, Contest, District
from election.definition import Definition
from election.rcv import contest_rounds
from election.rcv_summary import summary
from election.schema import TABLES
from election_assets import contest_checks
from election_io.contest_tables import read_rankings, read_totals
from election_io.definitions import write_definition
from spark_jobs import recount, sources
from spark_jobs.ledger_writer import LedgerWriter
from tests.election.test_rcv import universal_view
from tests.spark_jobs import batches, stack
from tests.spark_jobs.helpers import (
    CANDIDATES,
    SELECTIONS_CONTESTS,
    SELECTIONS_ROLL,
    keyed,
    selections_truth,
)

pytestmark = [pytest.mark.services, pytest.mark.spark]

NOW = "2024-11-05T12:00:00Z"  # the voter's claim; the broker's receipt decides


def selections(voter: str, chosen: dict) -> tuple[str, bytes]:
    fields = {"vote_id": f"vote-{voter}", "voter_id": voter, "voting_time": NOW}
    return voter, json.dumps({**fields, "selections": chosen}).encode()


def seed(voter: str, candidate: str) -> tuple[str, bytes]:
    fields = {"vote_id": f"seed-{voter}", "voter_id": voter, "candidate_id": candidate}
    return voter, json.dumps({**fields, "voting_time": NOW}).encode()


FIRST_BATCH = [
    # Ohio, county 39049: a vote, two of two, an overvote in the measure, the county left out
    selections("v1", {"national": ["c2"], "sen-OH": ["a", "b"], "m-OH": ["yes", "no"]}),
    seed("v2", "c1"),  # Texas: the national vote, and an undervote in sen-TX
    selections("v3", {"national": ["c1", "c2"], "sen-OH": ["c"], "m-OH": []}),  # overvote
    selections("v4", {}),  # Utah: a blank ballot counts, an undervote in the national contest
    selections("w0", {"cty-39049": ["e"], "sen-OH": ["a", "c"], "national": ["c3"]}),
    selections("w2", {"sen-TX": ["d"], "national": ["c2"]}),
    selections("v5", {"sen-OH": ["a"]}),  # Texas: not on the ballot, counts in no contest
]
SECOND_BATCH = [
    selections("v1", {"national": ["c1"]}),  # again: the poll book finds the duplicate
    seed("w1", "c3"),  # Ohio, no county
    selections("w3", {"m-OH": ["no"]}),
    selections("w5", {"sen-TX": ["a", "d"]}),  # an overvote in a vote-for-1 contest
]


def register(url: str) -> None:
    """The schema, the roll with counties, the candidates and the definition; polls open."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES)
        with conn.cursor().copy(
            "COPY voters (voter_id, voter_name, date_of_birth, registration_number, "
            "address_state, county_fips) FROM STDIN"
        ) as copy:
            for i, (voter_id, (state, county)) in enumerate(sorted(SELECTIONS_ROLL.items())):
                copy.write_row(
                    (voter_id, f"Voter {i}", "1980-01-01", f"REG-{i:07d}", state, county)
                )
        for c in CANDIDATES:
            conn.execute(
                "INSERT INTO candidates (candidate_id, candidate_name, party_affiliation) "
                "VALUES (%s, %s, %s)",
                (c, f"Name of {c}", f"Party of {c}"),
            )
        nation = District("nation", "nation", "Nation", None)
        write_definition(conn, Definition(SELECTIONS_CONTESTS, (nation,)))
        conn.execute(
            "INSERT INTO elections (name, status, polls_opened_at) "
            "VALUES ('test', 'open', clock_timestamp() - interval '1 hour')"
        )


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name, spark):
    register(scratch_database)
    stack.create_topic(bootstrap_servers, unique_name, partitions=2)
    opts = batches.options(scratch_database, bootstrap_servers, unique_name)
    batches.create_result_topics(opts)
    yield opts, batches.Judge(spark, scratch_database, partitions=2)
    stack.delete_topics(bootstrap_servers, [unique_name, *batches.result_topics(opts)])


def recount_of(spark, opts, judge, opened, closed) -> recount.RecountResult:
    """Certification's recount of the election's ballot log."""
    roll = sources.read_roll(spark, opts.database_url)
    candidates = sources.read_candidates(spark, opts.database_url)
    return recount.recount(
        spark, opts.bootstrap, roll, candidates, opened, closed, opts.topic, contests=judge.contests
    )


def test_the_ledger_by_contest_equals_the_oracle(election, spark):
    opts, judge = election
    sent = [
        stack.produce(opts.bootstrap, opts.topic, ballots)
        for ballots in (FIRST_BATCH, SECOND_BATCH)
    ]
    placed = sent[0] + sent[1]
    judge.commit_each(opts, sent)
    stack.close_polls(opts.database_url)
    opened, closed = stack.polls(opts.database_url)
    truth = selections_truth(placed, opened, closed, partitions=2)
    assert truth.counted == 9 and len(truth.rejections) == 2  # v5 not on ballot, v1 again
    expected = stack.counted_contests(results_document(truth.results))

    with psycopg.connect(opts.database_url) as conn:
        live = {key: row for key, (row, _at) in read_totals(conn).items()}
        # the table holds no zero votes: the document of the oracle does
        for key, row in live.items():
            row.totals = {c: row.totals.get(c, 0) for c in truth.results[key].totals}
        assert results_document(live) == expected
        ballots = conn.execute(
            "SELECT candidate_id, county_fips, outcomes FROM ballots ORDER BY outcomes::text"
        ).fetchall()
        assert len(ballots) == truth.counted
        # a seed ballot: the national vote, and an undervote in each other contest of its style
        assert (None, {"national": [[], 0, 1]}) in [(c, o) for c, _, o in ballots]  # v4 blank
        assert ("c1", "48201", {"national": [["c1"], 0, 0], "sen-TX": [[], 0, 1]}) in ballots
        (national,) = conn.execute("SELECT sum(total_votes) FROM tally_by_candidate").fetchone()
        assert (
            national == sum(truth.per_candidate.values()) == 5
        )  # the ballots with one national vote

        # certification's reconciliation per contest passes on these books
        recounted = recount_of(spark, opts, judge, opened, closed)
        assert stack.counted_contests(recounted.contests) == expected
        assert contest_checks.check_recount_contests(conn, recounted.to_dict()).passed
        assert contest_checks.check_contest_votes(conn).passed

    # the latest contest_results: every counted key as the oracle has it, each choice named
    published = stack.latest_values(
        opts.bootstrap, opts.result_topic(contract.CONTEST_RESULTS_TOPIC)
    )
    for key, row in expected.items():
        value = published[key]
        assert {k: value[k] for k in row} == row
        assert set(value) == set(contract.CONTEST_RESULT_FIELDS)
    # and each contest's own district from the first publication on, zeros until counted
    quiet = {k: v for k, v in published.items() if k not in expected}
    assert all(v["ballots"] == 0 and not any(v["totals"].values()) for v in quiet.values())
    assert {contract.contest_key(c.contest_id, c.district_id) for c in SELECTIONS_CONTESTS} <= set(
        published
    )


@contextlib.contextmanager
def two_batches_committed(election):
    """A ledger writer that committed FIRST_BATCH and SECOND_BATCH, its contest results waiting
    (an hour between rounds)."""
    opts, judge = election
    first = stack.produce(opts.bootstrap, opts.topic, FIRST_BATCH)
    second = stack.produce(opts.bootstrap, opts.topic, SECOND_BATCH)
    writer = LedgerWriter(dataclasses.replace(opts, detail_every_ms=3_600_000), None)
    writer.roll_loaded(judge.candidates, judge.contests)
    try:
        for batch_id, part in enumerate((first, second)):
            offsets = batches.split(part, len(part))[0]
            writer.commit_and_publish(judge.batch(opts, writer.conn, batch_id, offsets))
        yield writer
    finally:
        writer.close()


def test_contest_results_wait_for_their_turn_and_none_is_lost(election):
    """With a long --detail-every-ms, a batch sends its national results and leaves its contest
    results waiting; the flush before the tally stops sends them, every one as committed."""
    opts, _judge = election
    contest_topic = opts.result_topic(contract.CONTEST_RESULTS_TOPIC)
    with two_batches_committed(election) as writer:
        # the first batch of a run sends every key; the second's wait for their turn
        national = stack.latest_values(
            opts.bootstrap, opts.result_topic(contract.VOTES_PER_CANDIDATE_TOPIC)
        )
        with psycopg.connect(opts.database_url) as conn:
            (counted,) = conn.execute("SELECT sum(total_votes) FROM tally_by_candidate").fetchone()
            committed = {key: row for key, (row, _at) in read_totals(conn).items()}
        assert sum(v["total_votes"] for v in national.values()) == counted
        assert writer.details.unpublished and not writer.details_due()
        waiting = stack.latest_values(opts.bootstrap, contest_topic)
        assert any(
            waiting.get(contract.contest_key(*key), {}).get("ballots") != committed[key].ballots
            for key in writer.details.unpublished
        )
        writer.publish_waiting_details(force=True)
        assert not writer.details.unpublished
    published = stack.latest_values(opts.bootstrap, contest_topic)
    for (contest_id, district_id), row in committed.items():
        value = published[contract.contest_key(contest_id, district_id)]
        assert (value["ballots"], value["overvotes"], value["undervotes"]) == (
            row.ballots,
            row.overvotes,
            row.undervotes,
        )
        assert {c: n for c, n in value["totals"].items() if n} == row.totals


def test_a_slow_round_of_contest_results_makes_the_next_one_wait_nine_times_as_long(
    election, capsys
):
    """The contest results go on the detail publisher's thread, and a round waits PACE times as
    long as the last one took (under load they take a tenth of the time at most), and while the
    national count catches up; when its turn comes, the round sends every result that waits and
    logs its size and time."""
    opts, _judge = election
    with two_batches_committed(election) as writer:
        details = writer.details
        waiting = set(details.unpublished)
        assert waiting and not details.busy()
        details.options = dataclasses.replace(opts, detail_every_ms=0)
        details.round_s = 3_600.0  # as if the last round had taken an hour
        assert not writer.details_due()
        writer.publish_waiting_details()  # not due: nothing is sent
        assert set(details.unpublished) == waiting
        details.round_s = 0.0
        assert writer.details_due()
        # but not while the national count is behind, catching up: until a minute has passed
        assert details.due(behind_s=details.BEHIND_S + 1) is False
        assert details.due(behind_s=details.BEHIND_S)
        writer.publish_waiting_details()
        writer.wait()  # the writer's and the detail publisher's jobs
        assert not details.unpublished and details.round_s > 0
    rounds = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"details"' in line
    ]
    assert [r["published"] for r in rounds] == [len(waiting)]
    assert rounds[0]["round_ms"] >= 0 and rounds[0]["query_name"] == opts.query_name


def test_a_round_sends_the_races_that_waited_longest_a_slice_at_a_time(election, capsys):
    """A round takes at most SLICE races, those that have waited longest, and leaves the rest
    for the next: 15,000 at once took the national count's CPU for seconds. A race marked again
    while it waits keeps its place; a round that waited a minute for the count to catch up, and
    the flush before the tally stops, send every one."""
    opts, _judge = election
    with two_batches_committed(election) as writer:
        details = writer.details
        waiting = list(details.unpublished)
        assert len(waiting) > 3
        details.SLICE = 2
        details.mark(reversed(waiting))  # marked again while they wait: each keeps its place
        assert list(details.unpublished) == waiting
        details.run(details.send_waiting)
        assert list(details.unpublished) == waiting[2:]
        details.mark([waiting[0]])  # sent, then changed again: it waits behind the others
        assert list(details.unpublished) == [*waiting[2:], waiting[0]]
        details.options = dataclasses.replace(opts, detail_every_ms=0)
        details.details_at -= details.CATCH_UP_WAIT_S  # a minute has passed, the count behind
        details.send_when_due(behind_s=details.BEHIND_S + 1)
        details.wait()
        assert not details.unpublished  # after a minute's wait, every race at once
        details.mark(waiting[:3])
        writer.publish_waiting_details(force=True)
        assert not details.unpublished
    rounds = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"details"' in line
    ]
    assert [r["published"] for r in rounds] == [2, len(waiting) - 1, 3]


# --- a ranked contest: its rankings kept as they arrive, its rounds live and recounted ----------

MAYOR = Contest(
    "rcv-OH",
    "Mayor of Ohio",
    "state:OH",
    RANKED,
    (Choice("p", "Pat"), Choice("q", "Quinn"), Choice("r", "Robin")),
    position=4,
    rules={"overvoteRule": "exhaustImmediately", "maxSkippedRanksAllowed": "1"},
)
RANKED_CONTESTS = (*SELECTIONS_CONTESTS, MAYOR)
OHIO = sorted(v for v, (state, _county) in SELECTIONS_ROLL.items() if state == "Ohio")
RANKINGS = [
    ["p", "q"],
    ["q", "p"],
    ["r", "q"],  # Robin goes first: this ballot moves to Quinn
    ["r", None, "p"],  # a skipped rank, then Pat
    ["p"],
    [["p", "q"], "r"],  # an overvote at the first rank: out at once
    [],  # ranks no one
    ["q"],
    ["r", "r", "q"],  # a repeat: RCTab's to read
]


def test_a_ranked_contests_rounds_are_tabulated_live_and_recounted_equal(election, spark):
    opts, _judge = election
    with psycopg.connect(opts.database_url, autocommit=True) as conn:
        nation = District("nation", "nation", "Nation", None)
        write_definition(conn, Definition(RANKED_CONTESTS, (nation,)))
    judge = batches.Judge(spark, opts.database_url, partitions=2)
    assert MAYOR in judge.contests
    ballots = [
        selections(voter, {"national": ["c1"], "rcv-OH": ranks} if ranks is not None else {})
        for voter, ranks in zip(OHIO, [*RANKINGS, None, ["q", "r"]], strict=False)
    ]
    first, second = ballots[:5], [*ballots[5:], selections(OHIO[0], {"rcv-OH": ["r"]})]
    sent = [stack.produce(opts.bootstrap, opts.topic, part) for part in (first, second)]
    judge.commit_each(opts, sent)
    stack.close_polls(opts.database_url)
    opened, closed = stack.polls(opts.database_url)
    truth = counting.count(
        keyed(sent[0] + sent[1]),
        SELECTIONS_ROLL,
        None,
        opened,
        closed,
        partitions=2,
        contests=RANKED_CONTESTS,
    )
    expected_rankings = dict(truth.rankings["rcv-OH"])
    assert sum(expected_rankings.values()) == len(ballots)  # the duplicate counts nowhere
    rounds = contest_rounds(MAYOR, expected_rankings)
    key = contract.contest_key("rcv-OH", "state:OH")

    with psycopg.connect(opts.database_url) as conn:
        assert read_rankings(conn) == {"rcv-OH": expected_rankings}
        recounted = recount_of(spark, opts, judge, opened, closed).to_dict()
        assert recounted["rounds"] == {key: summary(rounds, {})["results"]}
        assert contest_checks.check_recount_rounds(conn, recounted).passed
        # a ranking the live books lost is a difference certification names
        conn.execute("DELETE FROM rcv_rankings WHERE ranking = '[\"q\"]'")
        check = contest_checks.check_recount_rounds(conn, recounted)
        assert not check.passed and key in check.metadata["differences"].data
        conn.rollback()

    published = stack.latest_values(opts.bootstrap, opts.result_topic(contract.RCV_ROUNDS_TOPIC))
    value = published[key]
    assert value["results"] == summary(rounds, {})["results"]
    assert (value["contest_id"], value["district_id"]) == ("rcv-OH", "state:OH")
    assert value["ballots"] == len(ballots) and value["config"]["contest"] == "Mayor of Ohio"
    assert [r.elected for r in rounds if r.elected] and len(rounds) >= 2  # a transfer decided it
    schema = SchemaV0()
    assert schema.validate(universal_view(value)), schema.last_error()
