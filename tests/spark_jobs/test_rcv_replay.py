"""RCTab's own test sets replayed through the live tally: each cast vote record report imported
(election_io.cvr_import), its ballots sent to a ballot log, judged and committed batch by batch
(the tally's judging and ledger writer), and the rounds published on rcv_rounds compared with
RCTab's expected report, round by round (fixtures: tests/election/rcv_fixtures/*/README).
The README's replay (tests/test_readme_cli.py) runs test_set_1 through Dagster end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from election import contract
from election_io import migrations
from election_io.cvr_import import read_import, write_import
from tests.spark_jobs import batches, stack

pytestmark = [pytest.mark.services, pytest.mark.spark]

FIXTURES = Path(__file__).parents[1] / "election" / "rcv_fixtures"
# two sets whose rules differ from test_set_1's (the README's): an overvote skipped to the next
# rank; and two report files naming candidates by aliases. tests/election/test_rcv.py tabulates
# every set; the two here, with test_set_0, _5 and _7, pass the same way through the live tally
SETS = ("test_set_2_overvote_skip_to_next", "aliases_cdf_json")


@pytest.mark.parametrize("name", SETS)
def test_a_replayed_rctab_test_set_gives_rctabs_rounds_live(
    name, scratch_database, bootstrap_servers, unique_name, spark, tmp_path
):
    folder = FIXTURES / name
    reports = tmp_path / "reports"  # the report files alone: a folder imports whole
    reports.mkdir()
    for report in folder.glob("cvr_cdf*.json"):
        shutil.copy(report, reports / report.name)
    imported = read_import(reports, folder / "rctab_config.json")
    with psycopg.connect(scratch_database) as conn:
        migrations.migrate(conn)
        write_import(conn, imported)
        conn.execute(
            "INSERT INTO elections (name, status, polls_opened_at) "
            "VALUES (%s, 'open', clock_timestamp() - interval '1 hour')",
            (name,),
        )
    stack.create_topic(bootstrap_servers, unique_name, partitions=2)
    opts = batches.options(scratch_database, bootstrap_servers, unique_name)
    batches.create_result_topics(opts)
    try:
        judge = batches.Judge(spark, scratch_database, partitions=2)
        ballots = [
            (
                b.voter_id,
                json.dumps(
                    {
                        "vote_id": f"record-{i}",
                        "voter_id": b.voter_id,
                        "voting_time": "2024-11-05T12:00:00Z",
                        "selections": b.selections,
                    }
                ).encode(),
            )
            for i, b in enumerate(imported.ballots)
        ]
        half = len(ballots) // 2  # two batches: the rounds are re-tabulated after each
        sent = [
            stack.produce(bootstrap_servers, unique_name, part)
            for part in (ballots[:half], ballots[half:])
        ]
        judge.commit_each(opts, sent)
        (contest,) = judge.contests
        published = stack.latest_values(
            bootstrap_servers, opts.result_topic(contract.RCV_ROUNDS_TOPIC)
        )
        rounds = published[contract.contest_key(contest.contest_id, contest.district_id)]
        expected = json.loads((folder / "expected_summary.json").read_text())
        for got, want in zip(rounds["results"], expected["results"], strict=True):
            assert got == want, f"round {want['round']}"
        assert rounds["summary"] == expected["summary"]
        assert rounds["ballots"] == len(ballots)
    finally:
        stack.delete_topics(bootstrap_servers, [unique_name, *batches.result_topics(opts)])
