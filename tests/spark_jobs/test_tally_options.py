"""The live tally's options: the command line over the environment over the defaults."""

from __future__ import annotations

import pytest

from election.settings import setting
from spark_jobs import tally_options


def test_defaults_come_from_the_environment_and_flags_win(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5/voting")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9")
    monkeypatch.setenv("TALLY_MAX_OFFSETS", "1234")
    monkeypatch.delenv("TALLY_TRIGGER_MS", raising=False)
    monkeypatch.delenv("TALLY_PIPELINE", raising=False)
    options = tally_options.parse_args([])
    assert options.database_url == "postgresql://u:p@db:5/voting"
    assert options.bootstrap == "broker:9"
    assert options.max_offsets_per_trigger == 1234
    assert options.trigger_ms == setting("TALLY_TRIGGER_MS") == 0
    assert options.query_name == "live_tally"
    assert options.pipeline and not options.until_drained
    flagged = tally_options.parse_args(
        ["--max-offsets-per-trigger", "9", "--until-drained", "--no-pipeline", "--topic", "t"]
    )
    assert (flagged.max_offsets_per_trigger, flagged.topic) == (9, "t")
    assert flagged.until_drained and not flagged.pipeline


def test_result_topics_take_the_prefix():
    options = tally_options.parse_args(["--results-prefix", "test."])
    assert options.result_topic("race_calls") == "test.race_calls"


def test_a_bad_number_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        tally_options.parse_args(["--trigger-ms", "soon"])
    assert stopped.value.code == 2
    assert "--trigger-ms" in capsys.readouterr().err
