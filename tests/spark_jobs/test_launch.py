"""spark_jobs.launch: what spark-submit is given, and what it is not given."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile

import pytest

from spark_jobs import launch


def test_only_modules_of_the_spark_jobs_can_be_submitted():
    assert launch.application_file("spark_jobs.live_tally").name == "live_tally.py"
    assert launch.application_file("spark_jobs.recount").name == "recount.py"
    for module in ("election.ballots", "spark_jobs.nowhere", "spark_jobs", "os", "spark_jobs.a.b"):
        with pytest.raises(SystemExit, match="is not a module of spark_jobs"):
            launch.application_file(module)


def test_the_archive_holds_the_domain_its_io_and_the_jobs_and_nothing_of_dagster_but_pipes(
    tmp_path,
):
    archive = launch.application_zip(tmp_path / "jobs.zip")
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert {n.split("/")[0] for n in names} == {"election", "election_io", "spark_jobs"}
        assert "spark_jobs/live_tally.py" in names and "election/ballots.py" in names
        assert "election_io/ballot_log.py" in names
        imported = set()
        for name in names:
            for node in ast.walk(ast.parse(opened.read(name))):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    assert {m for m in imported if m.startswith("dagster")} == {"dagster_pipes"}
    assert "election_assets" not in imported and "streamlit_app" not in imported


def test_spark_submit_gets_the_code_the_jars_and_the_python(tmp_path):
    script = launch.application_file("spark_jobs.recount")
    command, env = launch.submit_command(
        script, ["--topic", "t"], "spark://h:7077", sys.executable,
        tmp_path / "jobs.zip", ["/jars/a.jar", "/jars/b.jar"],
    )  # fmt: skip
    assert command[0].endswith("/bin/spark-submit")
    assert command[command.index("--master") + 1] == "spark://h:7077"
    assert command[command.index("--py-files") + 1] == str(tmp_path / "jobs.zip")
    assert command[command.index("--jars") + 1] == "/jars/a.jar,/jars/b.jar"
    assert command[-3:] == [str(script), "--topic", "t"]
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == sys.executable
    assert (launch.Path(env["SPARK_HOME"]) / "bin" / "spark-submit").is_file()


@pytest.mark.parametrize("python", ["/nowhere/python", "/bin/false"])
def test_a_python_that_cannot_run_spark_is_one_line(python):
    done = subprocess.run(
        [sys.executable, "-m", "spark_jobs.launch", "--python", python, "spark_jobs.recount"],
        cwd=launch.ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("launch: ") and python in lines[0], done.stderr
