"""Spark inside the Dagster run, through dagster-pyspark, with the project's jars and settings."""

from __future__ import annotations

import os
import sys
from typing import Any

import dagster as dg
from dagster_pyspark import PySparkResource
from dagster_pyspark.resources import spark_session_from_config

from election.settings import setting


class ElectionSpark(PySparkResource):
    """A PySparkResource whose session has the PostgreSQL driver and the project's defaults.

    The jars are found when a run starts (not when the definitions load), so a code location
    without them still loads and the run fails with one line saying how to get them.
    """

    spark_config: dict[str, Any] = {}

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        from election_io.spark_setup import SetupError, extra_jars, loopback_conf

        try:
            jars = extra_jars()
        except SetupError as exc:
            raise dg.Failure(str(exc)) from None
        # Python workers must import pyarrow and the election: this interpreter, as the tally's
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        defaults = {
            "spark.master": setting("SPARK_MASTER"),
            "spark.pyspark.python": sys.executable,
            "spark.app.name": "election_assets",
            "spark.jars": ",".join(jars),
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.sql.session.timeZone": "UTC",
            **loopback_conf(setting("SPARK_MASTER")),
        }
        self._spark_session = spark_session_from_config({**defaults, **self.spark_config})
