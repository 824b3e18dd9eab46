"""The Spark session the tally and the recount run in: the jars, RocksDB state, quiet logs."""

from __future__ import annotations

import os
import re
import sys

from election.settings import SettingError, setting
from election_io.spark_setup import SetupError, extra_jars, loopback_conf

ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def default_partitions(master: str) -> int:
    """SPARK_SHUFFLE_PARTITIONS, else one per local core (small batches need few tasks), else 8."""
    if setting("SPARK_SHUFFLE_PARTITIONS"):
        return setting("SPARK_SHUFFLE_PARTITIONS")
    found = re.fullmatch(r"local\[(\d+|\*)(,\d+)?\]", master.strip())
    if found:
        return (os.cpu_count() or 2) if found.group(1) == "*" else int(found.group(1))
    return 2 if master.strip() == "local" else 8


def _env_conf() -> dict[str, str]:
    """Extra Spark settings from SPARK_CONF ("key=value,key=value"), for tuning without code."""
    pairs = [p for p in setting("SPARK_CONF").split(",") if "=" in p]
    return dict(p.strip().split("=", 1) for p in pairs)


def under_spark_submit() -> bool:
    """True when spark-submit started this Python process (it then owns master and jars)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def build_session(
    app_name: str,
    master: str | None = None,
    shuffle_partitions: int | None = None,
    ui: bool | None = None,
    extra_conf: dict[str, str] | None = None,
):
    """A SparkSession with the project's jars and settings; reuses a running one in-process.

    Run by spark-submit, the --master and --jars given there win: a master is set here only
    when passed explicitly, and the local jars only when they exist.
    """
    try:
        return _build_session(app_name, master, shuffle_partitions, ui, extra_conf)
    except SettingError as exc:
        raise SetupError(str(exc)) from None


def _build_session(app_name, master, shuffle_partitions, ui, extra_conf):
    from pyspark.sql import SparkSession

    submitted = under_spark_submit()
    if submitted:
        try:
            jars = extra_jars()
        except SetupError:
            jars = []  # spark-submit --jars / --packages provide them
    else:
        jars = extra_jars()
        master = master or setting("SPARK_MASTER")
    if shuffle_partitions is None:
        shuffle_partitions = default_partitions(master or setting("SPARK_MASTER"))
    if ui is None:
        ui = setting("SPARK_UI")
    # Python workers must import pandas/pyarrow/election: run them on this interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    on_loopback = {} if submitted else loopback_conf(master or setting("SPARK_MASTER"))
    conf = {
        **on_loopback,
        "spark.driver.memory": setting("SPARK_DRIVER_MEMORY"),
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.sql.streaming.stateStore.providerClass": ROCKSDB_PROVIDER,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        **_env_conf(),
        **(extra_conf or {}),
    }
    if jars:
        conf["spark.jars"] = ",".join(jars)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(setting("SPARK_LOG_LEVEL"))
    return spark
