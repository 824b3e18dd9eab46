"""The containers' Spark cluster, checked without a Docker engine.

The master and the workers run the project's image (pyspark's own Spark on the Python of the
Dagster services, the `cluster` extra installed), so a driver in a Dagster container and its
executors share the Python minor version and pyarrow. The last test runs the compose file's
own commands and environments on this host, with the container paths, names and ports mapped
by one table (HOST_EQUIVALENTS), and counts a small election exactly through them.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from typing import Any

import pytest

from tests.test_compose import (
    DAGSTER_SERVICES,
    ROOT,
    SPARK_SERVICES,
    command_words,
    dockerfile_instructions,
    environment_of,
    load_compose,
)

MASTER, WORKER, DRIVER = "spark-master", "spark-worker", "dagster-daemon"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services as `docker compose up` sees them with no variable set."""
    return load_compose()["services"]


def image_environment() -> dict[str, str]:
    """The ENV of the Dockerfile's last stage: what every container of the app image starts with."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    env: dict[str, str] = {}
    for keyword, arguments in instructions[last_from:]:
        if keyword == "ENV":
            env.update(word.split("=", 1) for word in shlex.split(arguments))
    return env


def requirement_lines() -> tuple[list[str], list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"], project["optional-dependencies"]["cluster"]


# --- the cluster runs the tally's own Python ----------------------------------------------


def test_the_spark_cluster_runs_the_image_of_the_dagster_services(services):
    """One image: the executors' Python is the driver's, minor version and packages alike."""
    for name in SPARK_SERVICES:
        for dagster in DAGSTER_SERVICES:
            assert services[name]["image"] == services[dagster]["image"], name
            assert services[name]["build"] == services[dagster]["build"], name
        assert "apache/spark" not in json.dumps(services[name]), name


def test_the_image_carries_every_package_of_the_cluster_extra():
    """The image installs the project's dependencies; the cluster extra is a subset of them."""
    dependencies, cluster = requirement_lines()
    missing = [line for line in cluster if line not in dependencies]
    assert not missing, f"the cluster extra asks for what the image lacks: {missing}"
    assert any(line.startswith("pyarrow") for line in cluster)


def test_the_cluster_starts_pyspark_own_spark_with_nothing_to_download(services):
    env = image_environment()
    home = env["SPARK_HOME"]
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    # the image links pyspark's folder (its bin/spark-class and jars) to SPARK_HOME
    assert any("ln -s" in run and "pyspark.__file__" in run and home in run for run in runs)
    for name in SPARK_SERVICES:
        words = command_words(services[name])
        assert words[0] == f"{home}/bin/spark-class", name
        assert not {"--packages", "pip", "curl", "wget"} & set(words), name
    assert env["SPARK_EXTRA_JARS"] == "/opt/jars"  # filled at build time from stack/spark/pom.xml


def test_the_workers_keep_their_executors_outside_the_read_only_spark_home(services):
    work = environment_of(services[WORKER])["SPARK_WORKER_DIR"]
    assert not work.startswith(image_environment()["SPARK_HOME"])
    assert work.startswith("/tmp/")  # writable by the image's user
