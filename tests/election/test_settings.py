"""The settings catalogue: every default parses, and a bad value is one line naming it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election.settings import CATALOGUE, SETTINGS, SettingError, setting


def test_every_default_parses():
    for entry in CATALOGUE:
        setting(entry.name, {})  # raises SettingError for a default that does not parse


def test_names_are_unique_and_upper_case():
    names = [entry.name for entry in CATALOGUE]
    assert len(names) == len(set(names)) == len(SETTINGS)
    assert all(name == name.upper() and " " not in name for name in names)


def test_a_blank_value_is_the_default():
    assert setting("TALLY_TRIGGER_MS", {"TALLY_TRIGGER_MS": ""}) == 0
    assert setting("DATABASE_URL", {}) == SETTINGS["DATABASE_URL"].default


def test_values_are_typed():
    assert setting("TALLY_MAX_OFFSETS", {"TALLY_MAX_OFFSETS": " 5000 "}) == 5000
    assert setting("VOTING_DAY_MINUTES", {"VOTING_DAY_MINUTES": "0.5"}) == 0.5
    assert setting("SPARK_UI", {"SPARK_UI": "yes"}) is True
    assert setting("TALLY_PIPELINE", {"TALLY_PIPELINE": "0"}) is False


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("TALLY_TRIGGER_MS", "fast", "TALLY_TRIGGER_MS must be a whole number, got 'fast'"),
        ("TALLY_MAX_BATCH_BYTES", "0", "TALLY_MAX_BATCH_BYTES must be at least 1, got '0'"),
        ("VOTING_DAY_MINUTES", "ten", "VOTING_DAY_MINUTES must be a number, got 'ten'"),
        ("SPARK_UI", "maybe", "SPARK_UI must be 1 or 0, got 'maybe'"),
        ("KAFKA_BROKERS", "2", "KAFKA_BROKERS must be 1 or 3, got '2'"),
        ("DAGSTER_PORT", "30\x0000", "DAGSTER_PORT must be a whole number, got '30\\x0000'"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name, raw, says):
    with pytest.raises(SettingError) as error:
        setting(name, {name: raw})
    assert str(error.value) == says
    assert "\n" not in str(error.value)


@given(raw=st.text(max_size=40))
def test_any_value_parses_or_says_which_variable(raw):
    for entry in CATALOGUE:
        try:
            setting(entry.name, {entry.name: raw})
        except SettingError as error:
            assert str(error).startswith(f"{entry.name} must be ")
            assert "\n" not in str(error).replace(repr(raw), "")


def test_the_readme_lists_the_catalogue():
    from pathlib import Path

    from election.settings import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert markdown_table() in readme, "README's configuration table: python -m election.settings"


def test_settings_are_read_only_through_the_catalogue():
    """No module reads an environment variable itself (writes for child processes are fine)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    reads = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)")
    foreign = {"PYSPARK_GATEWAY_PORT"}  # Spark's own variable, read to know spark-submit
    found = []
    for folder in ("election", "election_assets", "spark_jobs", "streamlit_app", "stack",
                   "scripts", "benchmarks"):  # fmt: skip
        for path in sorted((root / folder).rglob("*.py")):
            if path.name == "settings.py" and path.parent.name == "election":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if reads.search(line) and not any(name in line for name in foreign):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not found, "read these through election.settings.setting:\n" + "\n".join(found)
