"""scripts/election_definition.py: writes the default for a user to edit, and checks a file."""

from __future__ import annotations

from election.default_election import default_election
from election_io.definitions import read_definition_file
from scripts import election_definition


def test_the_written_default_reads_back_and_checks(tmp_path, capsys):
    path = tmp_path / "election.yaml"
    assert election_definition.main(["--write", str(path), "--seed", "7"]) == 0
    assert read_definition_file(path) == default_election(seed=7)
    assert election_definition.main(["--check", str(path)]) == 0
    assert f"{len(default_election(seed=7).contests)} contests" in capsys.readouterr().out


def test_a_bad_file_prints_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "contests:\n  - {id: x, name: X, district: county:00000, choices: [{id: a, name: A}]}\n"
    )
    assert election_definition.main(["--check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "contest 1 (x): unknown district 'county:00000'",
        "the national contest (id 'national') is missing",
    ]
