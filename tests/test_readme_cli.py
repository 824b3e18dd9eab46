"""The README's command-line election runs as written: taken from README.md, not copied."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from rcvformats.schemas.universaltabulator import SchemaV0

from election.contests import NATION
from election.contract import RCV_ROUNDS_TOPIC, contest_key
from tests.election.test_rcv import universal_view
from tests.spark_jobs.stack import latest_values

ROOT = Path(__file__).resolve().parent.parent
HEADING = "### From the command line"
REPLAY_HEADING = "### Replaying a real election"
REPLAY_SET = ROOT / "tests/election/rcv_fixtures/test_set_1_exhaust_at_overvote"  # the block's


def readme_block(heading: str = HEADING) -> str:
    """The first fenced bash block under `heading` in README.md."""
    text = (ROOT / "README.md").read_text()
    assert heading in text, f"README.md has no {heading!r} section"
    section = text.split(heading, 1)[1]
    section = re.split(r"^#{1,3} ", section, maxsplit=1, flags=re.M)[0]  # up to the next heading
    found = re.search(r"^```bash\n(.*?)^```", section, flags=re.S | re.M)
    assert found, f"no ```bash block under {heading!r}"
    return found.group(1)


def test_the_block_is_the_whole_election():
    block = readme_block()
    jobs = re.findall(r"^job (\w+)", block, flags=re.M)
    assert jobs == [
        "registration_job",
        "open_polls_job",
        "live_aggregation_job",
        "cast_votes_job",
        "close_polls_job",
        "certify_results_job",
    ]
    assert " -c " in block  # a run-config example


def run_block(heading: str, database_url: str, tmp_path: Path, **environ: str) -> None:
    """Run the README's block under heading as written, on the suite's services."""
    env = {
        **os.environ,  # the suite's services
        "DATABASE_URL": database_url,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "SPARK_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "ELECTION_EXPORT_DIR": str(tmp_path / "exports"),
        **environ,
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block(heading)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def last_election(database_url: str) -> tuple[str, bool, int, int]:
    """The last election's status, whether it was certified, its voters and how many voted."""
    with psycopg.connect(database_url) as conn:
        status, certified_at = conn.execute(
            "SELECT status, certified_at FROM elections ORDER BY election_id DESC LIMIT 1"
        ).fetchone()
        (voters,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        (counted,) = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()
    return status, certified_at is not None, voters, counted


@pytest.mark.slow
@pytest.mark.spark
def test_the_readme_command_line_certifies_an_election(
    scratch_database, bootstrap_servers, tmp_path
):
    run_block(HEADING, scratch_database, tmp_path, VOTERS="600")
    status, was_certified, voters, counted = last_election(scratch_database)
    assert (status, was_certified, voters) == ("certified", True, 600)
    assert counted > 0


@pytest.mark.slow
@pytest.mark.spark
def test_the_readme_replays_and_certifies_a_real_election(
    scratch_database, bootstrap_servers, tmp_path
):
    run_block(REPLAY_HEADING, scratch_database, tmp_path)
    # RCTab's test_set_1_exhaust_at_overvote: 15 records, each one voter who voted
    assert last_election(scratch_database) == ("certified", True, 15, 15)
    # the live tally's rounds, as published after its last batch, are RCTab's expected report
    expected = json.loads((REPLAY_SET / "expected_summary.json").read_text())
    with psycopg.connect(scratch_database) as conn:
        (contest_id,) = conn.execute(
            "SELECT contest_id FROM contests WHERE kind = 'ranked'"
        ).fetchone()
        (document,) = conn.execute("SELECT document FROM certified_recounts").fetchone()
    key = contest_key(contest_id, NATION)
    published = latest_values(bootstrap_servers, RCV_ROUNDS_TOPIC)[key]
    assert published["results"] == expected["results"]
    assert published["summary"] == expected["summary"]
    assert published["ballots"] == 15
    schema = SchemaV0()
    assert schema.validate(universal_view(published)), schema.last_error()
    assert document["rounds"][key] == expected["results"]  # the recount's, which certified
