"""What a Spark session of this project needs, for the code location and the Spark jobs alike:
the extra jars (the Kafka connector, the PostgreSQL driver) and a local driver kept on loopback."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from election.settings import setting

ROOT = Path(__file__).resolve().parent.parent
JARS_DIR = ROOT / ".stack" / "jars" / "spark"
JARS_HINT = "run `make services` (or `mvn -q -f stack/spark/pom.xml dependency:copy-dependencies`)"


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


def jdbc_options(database_url: str) -> dict[str, str]:
    """Spark JDBC options (url, user, password, driver) for a postgresql:// URL."""
    parts = urlsplit(database_url)
    host = parts.hostname or "localhost"
    port = parts.port or 5432
    database = parts.path.lstrip("/") or "postgres"
    query = "&".join(f"{k}={v}" for k, v in parse_qsl(parts.query))
    options = {
        "url": f"jdbc:postgresql://{host}:{port}/{database}" + (f"?{query}" if query else ""),
        "driver": "org.postgresql.Driver",
        "fetchsize": "20000",
    }
    if parts.username:
        options["user"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    return options
