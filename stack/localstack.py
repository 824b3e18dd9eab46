"""The local stack: the project's own PostgreSQL cluster and Kafka broker(s) under .stack/.

    python stack/localstack.py start | stop | status

Every step is idempotent; every failure is one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from kafka_local import (  # stack/ is this folder
    Kafka,
    kafka_answers,
    kafka_status,
    start_kafka,
    stop_kafka,
)
from stack_common import (
    JARS,
    ROOT,
    STACK,
    StackError,
    build_jar,
    is_loopback,
    rel,
    require_free_port,
    resolve_jars,
    say,
    setting_text,
)

PG_DIR = STACK / "postgres"
PG_DATA = PG_DIR / "data"
PG_LOG = PG_DIR / "postgres.log"
# the server's socket: only its owner may enter the folder, and local logins need the password
PG_SOCKET_DIR = PG_DIR / "socket"
SPARK_JARS = JARS / "spark"


def load_dotenv() -> None:
    """Let a .env file at the root supply variables not already set."""
    import dotenv  # python-dotenv, from the project's dependencies

    dotenv.load_dotenv(ROOT / ".env", override=False)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls) -> Postgres:
        url = setting_text("DATABASE_URL")
        parsed = urlparse(url)
        if parsed.scheme not in ("postgresql", "postgres"):
            raise StackError(f"DATABASE_URL must start with postgresql://, got {url!r}")
        if not parsed.path.strip("/"):
            raise StackError(f"DATABASE_URL names no database: {url!r} (e.g. .../voting)")
        try:
            port = parsed.port or 5432
        except ValueError as exc:
            raise StackError(f"DATABASE_URL has a bad port: {url!r}") from exc
        return cls(
            host=parsed.hostname or "localhost",
            port=port,
            user=unquote(parsed.username or "postgres"),
            password=unquote(parsed.password or "postgres"),
            database=parsed.path.strip("/"),
        )


# --- prerequisites -------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The newest PostgreSQL server binaries on the machine."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise StackError(
        "PostgreSQL server binaries (initdb, pg_ctl) are missing: install them "
        "(Debian: apt-get install postgresql)"
    )


# --- PostgreSQL ----------------------------------------------------------------------------


def run_as_postgres_owner(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """initdb and postgres refuse to run as root: run them as Debian's postgres user then."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def pg_owner_ids() -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise StackError(
            "running as root needs the unprivileged 'postgres' user for the database "
            "(Debian: apt-get install postgresql, or useradd postgres)"
        ) from exc
    return entry.pw_uid, entry.pw_gid


def pg_running(bindir: Path) -> bool:
    if not (PG_DATA / "PG_VERSION").exists():
        return False
    result = run_as_postgres_owner([str(bindir / "pg_ctl"), "-D", str(PG_DATA), "status"])
    return result.returncode == 0


def start_postgres(pg: Postgres) -> None:
    bindir = postgres_bindir()
    uid, gid = pg_owner_ids()
    if not pg_running(bindir):
        require_free_port("127.0.0.1", pg.port, "DATABASE_URL")
    if not (PG_DATA / "PG_VERSION").exists():
        say(f"initdb {rel(PG_DATA)} ({bindir.parent.name}) ...")
        PG_DATA.mkdir(parents=True, exist_ok=True)
        pwfile = PG_DIR / ".pwfile"
        pwfile.write_text(pg.password + "\n")
        for path in (PG_DIR, PG_DATA, pwfile):
            os.chown(path, uid, gid)
        PG_DATA.chmod(0o700)
        result = run_as_postgres_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(PG_DATA),
                "-U",
                pg.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")
    harden_local_auth(bindir)
    if pg_running(bindir):
        say(f"PostgreSQL already running on {pg.host}:{pg.port}")
    else:
        # loopback only; WAL sized for million-row COPY loads without checkpoint storms
        options = (
            f"-p {pg.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={PG_SOCKET_DIR} -c unix_socket_permissions=0700 "
            "-c shared_buffers=512MB -c max_wal_size=4GB -c max_connections=200 "
            "-c work_mem=64MB -c maintenance_work_mem=256MB "
            # minimal WAL: a table created or truncated in the loading transaction skips the
            # WAL, which makes re-registering a million voters about twice as fast
            "-c wal_level=minimal -c max_wal_senders=0"
        )
        PG_SOCKET_DIR.mkdir(exist_ok=True)
        for path in (PG_DIR, PG_SOCKET_DIR):
            os.chown(path, uid, gid)
        PG_SOCKET_DIR.chmod(0o700)
        if PG_LOG.exists():
            os.chown(PG_LOG, uid, gid)
        result = run_as_postgres_owner(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(PG_DATA),
                "-l",
                str(PG_LOG),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        if result.returncode != 0:
            raise StackError(f"PostgreSQL did not start; see {PG_LOG}")
        say(f"PostgreSQL started on 127.0.0.1:{pg.port} (log {rel(PG_LOG)})")
    ensure_database(pg)


def harden_local_auth(bindir: Path) -> None:
    """Local socket logins need the password: a cluster made with trust is moved to scram."""
    hba = PG_DATA / "pg_hba.conf"
    lines = hba.read_text().splitlines(keepends=True)
    hardened = [
        line.replace("trust", "scram-sha-256")
        if line.split()[:1] == ["local"] and line.split()[-1] == "trust"
        else line
        for line in lines
    ]
    if hardened == lines:
        return
    hba.write_text("".join(hardened))  # written in place: it keeps its owner and mode
    say(f"local logins to PostgreSQL now need the password ({rel(hba)})")
    if pg_running(bindir):
        run_as_postgres_owner([str(bindir / "pg_ctl"), "-D", str(PG_DATA), "reload"])


def ensure_database(pg: Postgres) -> None:
    import psycopg

    deadline = time.time() + 30
    while True:
        try:
            conn = psycopg.connect(
                host="127.0.0.1",
                port=pg.port,
                user=pg.user,
                password=pg.password,
                dbname="postgres",
                autocommit=True,
                connect_timeout=3,
            )
            break
        except psycopg.OperationalError as exc:
            if time.time() > deadline:
                raise StackError(
                    f"PostgreSQL is not accepting connections ({exc}); see {PG_LOG}"
                ) from exc
            time.sleep(0.5)
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (pg.database,)
        ).fetchone()
        if not exists:
            from psycopg import sql

            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(pg.database)))
            say(f"created database {pg.database}")


def check_external_postgres(pg: Postgres) -> None:
    """DATABASE_URL names another host: its PostgreSQL is yours; it must answer."""
    import psycopg

    try:
        psycopg.connect(setting_text("DATABASE_URL"), connect_timeout=5).close()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StackError(
            f"PostgreSQL at {pg.host}:{pg.port} (DATABASE_URL) does not answer: {first}; "
            "start it, or point DATABASE_URL at localhost to run the local one"
        ) from None
    say(f"PostgreSQL at {pg.host}:{pg.port} is yours (DATABASE_URL): none started here")


def check_external_kafka(kafka: Kafka) -> None:
    """KAFKA_BOOTSTRAP_SERVERS names another host: its brokers are yours; they must answer."""
    servers = setting_text("KAFKA_BOOTSTRAP_SERVERS")
    if not kafka_answers(servers):
        raise StackError(
            f"Kafka at {servers} (KAFKA_BOOTSTRAP_SERVERS) does not answer: start it, check "
            "KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_*, or point it at localhost for the local one"
        )
    say(f"Kafka at {servers} is yours (KAFKA_BOOTSTRAP_SERVERS): none started here")


def stop_postgres() -> None:
    if not (PG_DATA / "PG_VERSION").exists():
        return
    bindir = postgres_bindir()
    if pg_running(bindir):
        run_as_postgres_owner(
            [str(bindir / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"]
        )
        say("PostgreSQL stopped")


# --- commands ------------------------------------------------------------------------------


def start() -> None:
    """Start the services that are this machine's; check those that live elsewhere answer."""
    pg, kafka = Postgres.from_env(), Kafka.from_env()
    STACK.mkdir(parents=True, exist_ok=True)
    STACK.chmod(0o755)
    if is_loopback(pg.host):
        start_postgres(pg)
    else:
        check_external_postgres(pg)
    if kafka.local:
        start_kafka(kafka)
    else:
        check_external_kafka(kafka)
    # the Spark Kafka connector and JDBC driver, so the first streaming run does not stall
    resolve_jars("stack/spark/pom.xml", SPARK_JARS)
    # the tally's own JVM side (jvm/): the plain messages and verdicts
    build_jar("jvm/pom.xml", SPARK_JARS / "realtime-voting-judging.jar")


def stop() -> None:
    stop_kafka()
    stop_postgres()


def status() -> int:
    pg, kafka = Postgres.from_env(), Kafka.from_env()
    pg_up = (PG_DATA / "PG_VERSION").exists() and pg_running(postgres_bindir())
    say(f"PostgreSQL {'up' if pg_up else 'down'} ({pg.host}:{pg.port}/{pg.database})")
    kafka_up = kafka_status(kafka)
    return 0 if pg_up and kafka_up else 1


def main(argv: list[str]) -> int:
    load_dotenv()
    command = argv[1] if len(argv) > 1 else "status"
    try:
        if command == "start":
            start()
        elif command == "stop":
            stop()
        elif command == "status":
            return status()
        elif command == "restart-kafka":  # used by the fault-injection scenario
            stop_kafka()
            start_kafka(Kafka.from_env())
        elif command == "start-kafka":  # Kafka alone: its nodes that are down (quorum tests)
            start_kafka(Kafka.from_env())
        else:
            print(
                "usage: python stack/localstack.py start|stop|status|restart-kafka|start-kafka",
                file=sys.stderr,
            )
            return 2
    except StackError as exc:
        print(f"[stack] error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else still gets one line, not a stack trace
        print(f"[stack] error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
