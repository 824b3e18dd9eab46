"""SparkLauncher: one resource chooses how the tally and the recount run."""

from __future__ import annotations

import sys

from election_assets.resources import SparkLauncher


def test_locally_the_module_runs_on_this_python():
    command = SparkLauncher().command("spark_jobs.recount", ["--topic", "t"])
    assert command == [sys.executable, "-m", "spark_jobs.recount", "--topic", "t"]
    command = SparkLauncher(master="local[2]").command("spark_jobs.live_tally")
    assert command == [sys.executable, "-m", "spark_jobs.live_tally", "--master", "local[2]"]


def test_for_a_cluster_the_same_module_goes_through_spark_submit():
    launcher = SparkLauncher(submit=True, master="spark://h:7077", python="/opt/py/bin/python")
    command = launcher.command("spark_jobs.live_tally", ["--until-drained"])
    assert command[:3] == [sys.executable, "-m", "spark_jobs.launch"]
    assert command[command.index("--master") + 1] == "spark://h:7077"
    assert command[command.index("--python") + 1] == "/opt/py/bin/python"
    assert command[-2:] == ["spark_jobs.live_tally", "--until-drained"]


def test_the_code_location_takes_its_choice_from_the_settings(monkeypatch):
    import importlib

    import election_assets.definitions as definitions

    monkeypatch.setenv("SPARK_SUBMIT", "1")
    monkeypatch.setenv("SPARK_SUBMIT_PYTHON", "/opt/py/bin/python")
    try:
        launcher = importlib.reload(definitions).defs.resources["spark_launcher"]
        assert launcher.submit is True and launcher.python == "/opt/py/bin/python"
    finally:
        monkeypatch.undo()
        importlib.reload(definitions)
