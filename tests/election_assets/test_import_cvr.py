"""import_cvr_job against the real PostgreSQL and Kafka: a real election imported from RCTab's
cast vote records, and the voting day casting its records' ballots in their order."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import dagster as dg
import pytest

from election import contract
from election_assets import cvr_import, polls, voting
from election_assets.definitions import defs
from election_io import topics
from election_io.cvr_import import read_import
from election_io.definitions import read_definition

# the election's topics deleted before and after each test, as the topics' own tests do
from tests.election_assets.test_election_topics import no_topics  # noqa: F401
from tests.election_assets.test_voting import oracle_count, polls_resources, read_topic
from tests.election_io.test_cvr_import import MULTI, PRECINCTS, broken_record, snapshot

pytestmark = [pytest.mark.services]
log = logging.getLogger("test.import_cvr")


@pytest.fixture
def reports(tmp_path, monkeypatch) -> Path:
    """RCTab's test_set_8_multi_cdf (two reports), named by CVR_PATH and CVR_RULES_PATH."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in MULTI.glob("cvr_cdf*.json"):
        shutil.copy(path, folder / path.name)
    monkeypatch.setenv("CVR_PATH", str(folder))
    monkeypatch.setenv("CVR_RULES_PATH", str(MULTI / "rctab_config.json"))
    return folder


def import_job(postgres, kafka) -> dg.JobDefinition:
    return dg.Definitions(
        assets=[cvr_import.imported_election, voting.votes_topic, voting.result_topics],
        jobs=[cvr_import.import_cvr_job],
        resources={"postgres": postgres, "kafka": kafka},
    ).resolve_job_def(contract.IMPORT_CVR_JOB)


def import_report(postgres, path: Path):
    """Materialize the imported election alone, from `path`."""
    return dg.materialize(
        [cvr_import.imported_election],
        resources={"postgres": postgres},
        run_config={"ops": {"imported_election": {"config": {"cvr_path": str(path)}}}},
        raise_on_error=False,
    )


def test_the_code_location_has_the_job():
    job = defs.resolve_job_def(contract.IMPORT_CVR_JOB)
    assert {key.path[-1] for key in job.asset_layer.selected_asset_keys} == {
        "imported_election",
        contract.VOTES_TOPIC,
        "result_topics",
    }


def test_an_imported_election_is_cast_in_the_records_order(postgres, kafka, reports, unique_name):
    result = import_job(postgres, kafka).execute_in_process()  # the paths from the settings
    assert result.success
    (imported,) = result.asset_materializations_for_node("imported_election")
    said = {k: v.value for k, v in imported.metadata.items()}
    expected = read_import(reports, MULTI / "rctab_config.json")
    assert (said["records"], said["ballots"], said["contests"]) == (24, 24, 1)
    assert not any(b.voter_id in json.dumps(said, default=str) for b in expected.ballots)

    assert polls.open_polls_job.execute_in_process(resources=polls_resources(postgres)).success
    topics.ensure_topics(kafka.bootstrap_servers, [unique_name], 1)  # one partition: one order
    config = voting.WaveConfig(size=1000, rate=0)
    report = voting.cast_wave(postgres, kafka, config, "run-1", log, topic=unique_name)
    assert (report.sent, report.remaining) == (24, 0)
    messages = read_topic(kafka.bootstrap_servers, unique_name, 24)
    values = [json.loads(m.value()) for m in messages]
    assert [v["voter_id"] for v in values] == [b.voter_id for b in expected.ballots]
    assert [v["selections"] for v in values] == [b.selections for b in expected.ballots]
    assert all(set(v) == {"vote_id", "voter_id", "voting_time", "selections"} for v in values)
    again = voting.cast_wave(postgres, kafka, config, "run-2", log, topic=unique_name)
    assert again.sent == 0  # every record is cast once

    with postgres.connect() as conn:
        roll = {
            v: (s, c)
            for v, s, c in conn.execute("SELECT voter_id, address_state, county_fips FROM voters")
        }
        contests = read_definition(conn).contests
    counted = oracle_count(messages, roll, contests, partitions=1)
    assert counted.rejections == [] and counted.counted == 24

    refused = import_report(postgres, reports)  # the polls are open: the roll is frozen
    (failure,) = refused.get_step_failure_events()
    assert "is open" in failure.step_failure_data.user_failure_data.description


def test_a_malformed_report_is_one_line_and_changes_nothing(postgres, scratch_database, tmp_path):
    assert import_report(postgres, PRECINCTS).success
    before = snapshot(scratch_database)
    result = import_report(postgres, broken_record(tmp_path))
    assert not result.success
    (failure,) = result.get_step_failure_events()
    said = failure.step_failure_data.user_failure_data.description
    assert said.startswith("the cast vote record report cannot be imported: broken.json: CVR[2]")
    assert "ContestId" in said and "\n" not in said
    assert snapshot(scratch_database) == before
