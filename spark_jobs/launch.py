"""A Spark application of the election under spark-submit, bound to whoever launched it.

    python -m spark_jobs.launch [--master URL] [--python PATH] MODULE [ARGS...]
    e.g. python -m spark_jobs.launch --master spark://host:7077 spark_jobs.live_tally --until-drained

Runs `spark-submit` of MODULE's file (spark_jobs.live_tally or spark_jobs.recount) to the
master (SPARK_MASTER unless given), with the domain and the Spark jobs as --py-files and the
jars of the session, so the executors of a cluster have everything the application imports.
PATH is the Python of the driver and the executors (SPARK_SUBMIT_PYTHON, else this one);
it needs only the `cluster` extra of pyproject.toml: of Dagster, just dagster-pipes.

This process stays between its launcher and spark-submit: SIGINT or SIGTERM reaches the
application's Python (which finishes its batch and stops) and not the JVM (which would end
the query mid-batch); if this process dies, spark-submit dies with it. Its exit code is the
application's.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from election.settings import setting
from election_io.spark_setup import ROOT, SetupError, extra_jars

PACKAGES = ("election", "election_io", "spark_jobs")  # what the driver and the executors import
PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send `signum` to this process when its launcher dies: no orphan runs on."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signum)


def application_zip(target: Path) -> Path:
    """The domain and the Spark jobs as one archive, spark-submit's --py-files."""
    with zipfile.ZipFile(target, "w") as archive:
        for package in PACKAGES:
            for path in sorted((ROOT / package).rglob("*.py")):
                archive.write(path, path.relative_to(ROOT))
    return target


def application_file(module: str) -> Path:
    """spark-submit takes a file: the one of `module`, which must be one of the Spark jobs."""
    package, _, name = module.partition(".")
    path = ROOT / package / f"{name}.py"
    if package != "spark_jobs" or not name or "." in name or not path.is_file():
        raise SystemExit(
            f"launch: {module!r} is not a module of spark_jobs (e.g. spark_jobs.recount)"
        )
    return path


def spark_home(python: str) -> Path:
    """The Spark that comes with `python`'s pyspark: spark-submit and the JVM of the driver."""
    try:
        found = subprocess.run(
            [python, "-c", "import os, pyspark; print(os.path.dirname(pyspark.__file__))"],
            capture_output=True,
            text=True,
        )
    except OSError as exc:
        raise SystemExit(
            f"launch: cannot run the Spark side's Python {python}: {exc.strerror}"
        ) from None
    if found.returncode != 0:
        raise SystemExit(f"launch: {python} cannot import pyspark; install the cluster extra there")
    return Path(found.stdout.strip())


def submit_command(
    script: Path, args: list[str], master: str, python: str, py_files: Path, jars: list[str]
) -> tuple[list[str], dict[str, str]]:
    """spark-submit's command line and the environment it adds, for the application file
    `script` (application_file) with `args`."""
    home = spark_home(python)
    command = [
        str(home / "bin" / "spark-submit"),
        "--master",
        master,
        "--driver-memory",  # the driver's JVM starts before the application can set it
        setting("SPARK_DRIVER_MEMORY"),
        "--py-files",
        str(py_files),
        *(["--jars", ",".join(jars)] if jars else []),
        str(script),
        *args,
    ]
    env = {
        "SPARK_HOME": str(home),
        "PYSPARK_PYTHON": python,
        "PYSPARK_DRIVER_PYTHON": python,
        "PYTHONPATH": "",  # the driver imports the archive and its own Python's packages only
    }
    return command, env


def drivers(jvm: int, script: Path) -> list[int]:
    """The application's Python processes below spark-submit's JVM (its children, on Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    below, todo = [], [jvm]
    while todo:
        for child in children.get(todo.pop(), []):
            below.append(child)
            todo.append(child)
    found = []
    for pid in below:
        with contextlib.suppress(OSError):
            if str(script) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(pid)
    return found


def run(module: str, args: list[str], master: str, python: str) -> int:
    try:
        jars = extra_jars()
    except SetupError as exc:
        print(f"launch: {exc}", file=sys.stderr, flush=True)
        return 2
    script = application_file(module)
    with tempfile.TemporaryDirectory(prefix="election-submit-") as scratch:
        py_files = application_zip(Path(scratch) / "election_jobs.zip")
        command, added = submit_command(script, args, master, python, py_files, jars)
        submitted = subprocess.Popen(
            command,
            env={**os.environ, **added},
            start_new_session=True,  # a terminal's Ctrl-C reaches the JVM only through here
            preexec_fn=lambda: die_with_parent(signal.SIGKILL),
        )

        def forward(signum, _frame):
            targets = drivers(submitted.pid, script)
            for pid in targets or [submitted.pid]:  # no driver yet: nothing counted to finish
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum if targets else signal.SIGTERM)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        return submitted.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spark_jobs.launch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--master", help="default: SPARK_MASTER")
    parser.add_argument("--python", help="the Spark side's Python; default: SPARK_SUBMIT_PYTHON")
    parser.add_argument("module", help="spark_jobs.live_tally or spark_jobs.recount")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the application's arguments")
    options = parser.parse_args(argv)
    die_with_parent()
    master = options.master or setting("SPARK_MASTER")
    python = options.python or setting("SPARK_SUBMIT_PYTHON") or sys.executable
    return run(options.module, options.args, master, python)


if __name__ == "__main__":
    sys.exit(main())
