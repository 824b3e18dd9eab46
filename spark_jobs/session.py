"""The Spark session the tally and the recount run in: extra jars, RocksDB state, quiet logs."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from election.settings import SettingError, setting

ROOT = Path(__file__).resolve().parent.parent
JARS_DIR = ROOT / ".stack" / "jars" / "spark"
JARS_HINT = "run `make services` (or `mvn -q -f stack/spark/pom.xml dependency:copy-dependencies`)"
ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


class SetupError(RuntimeError):
    """Something the job needs is missing; the message is one line saying what to do."""


def extra_jars(listed: str | None = None) -> list[str]:
    """The Kafka connector and the PostgreSQL driver: SPARK_EXTRA_JARS, else .stack/jars/spark.

    SPARK_EXTRA_JARS is a comma-separated list of jar files or folders of jars (the containers
    set the folder /opt/jars); Spark itself wants the files, so folders are expanded here.
    """
    listed = (setting("SPARK_EXTRA_JARS") if listed is None else listed).strip()
    if not listed:
        return _connector_in(sorted(str(p) for p in JARS_DIR.glob("*.jar")), str(JARS_DIR))
    jars, missing = [], []
    for entry in (p.strip() for p in listed.split(",")):
        path = Path(entry)
        if path.is_dir():
            jars += sorted(str(p) for p in path.glob("*.jar"))
        elif path.is_file():
            jars.append(entry)
        elif entry:
            missing.append(entry)
    if missing:
        raise SetupError(f"SPARK_EXTRA_JARS names missing files or folders: {', '.join(missing)}")
    return _connector_in(jars, f"SPARK_EXTRA_JARS ({listed})")


def _connector_in(jars: list[str], where: str) -> list[str]:
    if not any("spark-sql-kafka" in Path(p).name for p in jars):
        raise SetupError(f"the Spark Kafka connector is not in {where}: {JARS_HINT}")
    return jars


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


LOOPBACK = "127.0.0.1"


def is_local(master: str | None) -> bool:
    """Whether a master URL runs Spark inside this process (local, local[N], local[*])."""
    return bool(master) and (master == "local" or master.startswith("local["))


def loopback_conf(master: str | None) -> dict[str, str]:
    """A local driver's settings to listen on loopback only; none for a cluster's master.

    A local driver listens on the host's address unless told otherwise. Call it before the
    JVM starts: it also sets SPARK_LOCAL_IP for the driver's other ports.
    """
    if not is_local(master):
        return {}
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    return {"spark.driver.bindAddress": LOOPBACK, "spark.driver.host": LOOPBACK}


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
