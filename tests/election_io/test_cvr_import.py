"""An imported election in the real PostgreSQL (election_io.cvr_import): RCTab's reports
written whole in one transaction, and one line for whatever stops an import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from election.cvr import CvrError
from election.default_election import default_election
from election_io import migrations
from election_io.cvr_import import read_import, read_imported_ballots, write_import
from election_io.definitions import read_definition, write_definition

RCV = Path(__file__).parents[1] / "election" / "rcv_fixtures"
# RCTab's test_set_8_multi_cdf, unchanged: two report files and their configuration
MULTI = RCV / "test_set_8_multi_cdf"
# RCTab's precinct_example, reduced (tests/election/cvr_fixtures/README.md)
PRECINCTS = Path(__file__).parents[1] / "election" / "cvr_fixtures" / "precinct_example_cdf.json"
TABLES = ("districts", "contests", "contest_choices", "candidates", "voters", "imported_ballots")


@pytest.fixture
def reports(tmp_path) -> Path:
    """test_set_8's two reports in a folder of their own, its configuration beside them."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in [*MULTI.glob("cvr_cdf*.json"), MULTI / "rctab_config.json"]:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def database(scratch_database) -> str:
    with psycopg.connect(scratch_database) as conn:
        migrations.migrate(conn)
    return scratch_database


def snapshot(url: str) -> dict[str, list]:
    with psycopg.connect(url) as conn:
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in TABLES}


def records_in(*paths: Path) -> int:
    return sum(len(json.loads(p.read_text())["CVR"]) for p in paths)


def test_a_folder_of_reports_imports_whole(database, reports):
    imported = read_import(reports, reports / "rctab_config.json")  # the rules file is skipped
    with psycopg.connect(database) as conn:
        counts = write_import(conn, imported)
    records = records_in(*sorted(reports.glob("cvr_cdf*.json")))
    assert (counts.records, counts.ballots, counts.contests) == (records, records, 1)
    with psycopg.connect(database) as conn:
        definition = read_definition(conn)
        (voters,) = conn.execute("SELECT count(*) FROM voters").fetchone()
        candidates = sorted(conn.execute("SELECT candidate_id, candidate_name FROM candidates"))
        voter_ids, homes, texts = read_imported_ballots(conn)
    assert definition.contests == imported.definition.contests  # the rules included
    assert set(definition.districts) == set(imported.definition.districts)
    assert voters == records == len(voter_ids)
    (contest,) = definition.contests
    assert candidates == sorted((c.choice_id, c.name) for c in contest.choices)
    assert voter_ids == [b.voter_id for b in imported.ballots]  # the records' order
    assert homes == [b.district_id for b in imported.ballots]
    assert [json.loads(t) for t in texts] == [b.selections for b in imported.ballots]


def test_the_import_is_one_transaction(database):
    with psycopg.connect(database) as conn:
        write_import(conn, read_import(PRECINCTS))
    before = snapshot(database)
    with pytest.raises(RuntimeError), psycopg.connect(database) as conn:
        write_import(conn, read_import(MULTI / "cvr_cdf_1.json", MULTI / "rctab_config.json"))
        raise RuntimeError("the server went away before the commit")
    assert snapshot(database) == before


def test_a_new_definition_retires_the_imported_ballots(database):
    with psycopg.connect(database) as conn:
        write_import(conn, read_import(PRECINCTS))
        assert read_imported_ballots(conn) is not None
        write_definition(conn, default_election(1))
        assert read_imported_ballots(conn) is None  # the voting day follows the model again


# --- one line for whatever stops an import ----------------------------------------------------


def broken_record(tmp_path: Path) -> Path:
    report = json.loads(PRECINCTS.read_text())
    for snapshot in report["CVR"][2]["CVRSnapshot"]:  # whichever is current
        snapshot["CVRContest"][0]["ContestId"] = "contest-999"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(report))
    return path


def no_records(tmp_path: Path) -> Path:
    report = json.loads(PRECINCTS.read_text())
    report["CVR"] = []
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(report))
    return path


def written(name: str, data: bytes):
    def write(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "nowhere.json", "no cast vote record report at '.*nowhere.json'"),
        (lambda tmp: tmp, "holds no cast vote record report"),
        (lambda tmp: "", "no cast vote record report given: set cvr_path"),
        (lambda tmp: f"{tmp}/nul\x00.json", r"no cast vote record report at '.*nul\\x00.json'"),
        (written("cut.json", b'{"CVR": [{"UniqueId": '), r"cut.json: the report is not JSON \("),
        (written("latin.json", b'{"Name": "Z\xfcrich"}'), "latin.json: the report is not UTF-8"),
        (written("deep.json", b"[" * 200_000 + b"]" * 200_000), "deep.json: the report is nested"),
        (written("list.json", b"[]"), "list.json"),
        (
            broken_record,
            r'broken.json: CVR\[2\]: CVRSnapshot\[\d+\]\.CVRContest\[0\]\.ContestId "contest-999" names',
        ),
        (no_records, "holds no cast vote record \\(CVR\\): nothing to replay"),
    ],
)
def test_whatever_stops_an_import_is_one_line(tmp_path, make, says):
    with pytest.raises(CvrError, match=says) as caught:
        read_import(make(tmp_path))
    assert "\n" not in str(caught.value)


def test_a_broken_rules_file_is_one_line(tmp_path):
    rules = tmp_path / "config.json"
    rules.write_text('{"rules": ')
    with pytest.raises(CvrError, match=r"config.json: the configuration is not JSON") as caught:
        read_import(PRECINCTS, rules)
    assert "\n" not in str(caught.value)
    with pytest.raises(CvrError, match="cannot read the configuration .*absent.json"):
        read_import(PRECINCTS, tmp_path / "absent.json")
    with pytest.raises(CvrError, match="cannot read the configuration .*: no path the system"):
        read_import(PRECINCTS, "rules\x00.json")
