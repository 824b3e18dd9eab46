"""The local stack: the project's own PostgreSQL cluster and Kafka broker under .stack/.

    python stack/localstack.py start | stop | status

Every step is idempotent; every failure is one line saying what is wrong and how to fix it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the settings catalogue, also before the venv exists (make stop)

from election.settings import setting_text  # noqa: E402

STACK = Path(setting_text("STACK_DIR") or ROOT / ".stack")
PG_DIR = STACK / "postgres"
PG_DATA = PG_DIR / "data"
PG_LOG = PG_DIR / "postgres.log"
KAFKA_DIR = STACK / "kafka"
KAFKA_DATA = KAFKA_DIR / "data"
KAFKA_LOG = KAFKA_DIR / "kafka.log"
KAFKA_PID = KAFKA_DIR / "kafka.pid"
# the jars are the same for every stack (make run's, the tests'), so they are resolved once
JARS = Path(setting_text("STACK_JARS_DIR") or ROOT / ".stack" / "jars")
KAFKA_JARS = JARS / "kafka"
SPARK_JARS = JARS / "spark"


class StackError(Exception):
    """A problem a person can fix; printed as one line."""


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


@dataclass(frozen=True)
class Kafka:
    host: str
    port: int
    controller_port: int

    @classmethod
    def from_env(cls) -> Kafka:
        servers = setting_text("KAFKA_BOOTSTRAP_SERVERS")
        first = servers.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        if not host or not port.isdigit():
            raise StackError(f"KAFKA_BOOTSTRAP_SERVERS must look like host:port, got {servers!r}")
        controller = setting_text("KAFKA_CONTROLLER_PORT") or str(int(port) + 1)
        if not controller.isdigit():
            raise StackError(f"KAFKA_CONTROLLER_PORT must be a number, got {controller!r}")
        return cls(host=host, port=int(port), controller_port=int(controller))

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def rel(path: Path) -> str:
    """A path as a person at the project root would type it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_free_port(host: str, port: int, variable: str) -> None:
    if port_open(host, port):
        raise StackError(
            f"port {port} on {host} is taken by another program; stop it, or set {variable} "
            f"to use another port"
        )


# --- prerequisites -------------------------------------------------------------------------


def java_binary() -> str:
    java = shutil.which("java")
    if not java:
        raise StackError(
            "Java is missing: install a JDK 17+ (Debian: apt-get install default-jdk-headless)"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    version = out.split('"')[1] if '"' in out else "0"
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major < 17:
        raise StackError(f"Java {version} is too old: Kafka 4 and Spark 4 need JDK 17+")
    return java


def maven_binary() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven is missing: install it (Debian: apt-get install maven)")
    return mvn


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


def resolve_jars(pom: str, target: Path) -> None:
    """Fetch jars from Maven Central once; a marker says the folder is complete."""
    marker = target / ".complete"
    pom_path = ROOT / pom
    if marker.exists() and marker.stat().st_mtime >= pom_path.stat().st_mtime:
        return
    say(f"resolving {pom} from Maven Central into {rel(target)} ...")
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            maven_binary(),
            "-q",
            "-B",
            "-f",
            str(pom_path),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={target}",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = " ".join(line for line in result.stdout.splitlines() if "ERROR" in line)[:400]
        raise StackError(f"Maven could not resolve {pom}: {tail or 'see mvn -f ' + pom}")
    marker.touch()


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
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise StackError(f"initdb failed: {result.stderr.strip().splitlines()[-1:]}")
    if pg_running(bindir):
        say(f"PostgreSQL already running on {pg.host}:{pg.port}")
    else:
        # loopback only; WAL sized for million-row COPY loads without checkpoint storms
        options = (
            f"-p {pg.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={PG_DIR} "
            "-c shared_buffers=512MB -c max_wal_size=4GB -c max_connections=200 "
            "-c work_mem=64MB -c maintenance_work_mem=256MB "
            # minimal WAL: a table created or truncated in the loading transaction skips the
            # WAL, which makes re-registering a million voters about twice as fast
            "-c wal_level=minimal -c max_wal_senders=0"
        )
        for path in (PG_DIR,):
            os.chown(path, uid, gid)
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


def stop_postgres() -> None:
    if not (PG_DATA / "PG_VERSION").exists():
        return
    bindir = postgres_bindir()
    if pg_running(bindir):
        run_as_postgres_owner(
            [str(bindir / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"]
        )
        say("PostgreSQL stopped")


# --- Kafka ---------------------------------------------------------------------------------

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def kafka_properties(kafka: Kafka) -> str:
    listen = "127.0.0.1" if kafka.host in ("localhost", "127.0.0.1") else kafka.host
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={listen}:{kafka.controller_port}
listeners=PLAINTEXT://{listen}:{kafka.port},CONTROLLER://{listen}:{kafka.controller_port}
advertised.listeners=PLAINTEXT://{kafka.host}:{kafka.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={KAFKA_DATA}
num.partitions=4
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
log.cleaner.enable=true
"""


def kafka_java(kafka_class: str, *args: str, heap: str = "256m") -> list[str]:
    return [
        java_binary(),
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
        "-cp",
        f"{KAFKA_JARS}/*",
        kafka_class,
        *args,
    ]


def kafka_pid() -> int | None:
    try:
        pid = int(KAFKA_PID.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def kafka_ready(kafka: Kafka, timeout: float) -> bool:
    """A real client round trip: metadata from the broker."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": kafka.bootstrap, "log_level": 0, "logger": _quiet_logger()}
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            metadata = admin.list_topics(timeout=2)
            if metadata.brokers:
                return True
        except Exception:  # not up yet; librdkafka raises KafkaException while connecting
            pass
        time.sleep(0.5)
    return False


def _quiet_logger():
    import logging

    logger = logging.getLogger("stack.kafka")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def start_kafka(kafka: Kafka) -> None:
    resolve_jars("stack/kafka/pom.xml", KAFKA_JARS)
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    (KAFKA_DIR / "server.properties").write_text(kafka_properties(kafka))
    (KAFKA_DIR / "log4j2.properties").write_text(LOG4J2.format(log=KAFKA_LOG))
    if kafka_pid():
        if kafka_ready(kafka, 30):
            say(f"Kafka already running on {kafka.bootstrap}")
            return
        raise StackError(
            f"Kafka is running (pid {kafka_pid()}) but does not answer; see {KAFKA_LOG}"
        )
    require_free_port("127.0.0.1", kafka.port, "KAFKA_BOOTSTRAP_SERVERS")
    require_free_port("127.0.0.1", kafka.controller_port, "KAFKA_CONTROLLER_PORT")
    if not (KAFKA_DATA / "meta.properties").exists():
        cluster_id = (
            subprocess.run(
                kafka_java("kafka.tools.StorageTool", "random-uuid"), capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        result = subprocess.run(
            kafka_java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(KAFKA_DIR / "server.properties"),
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed: {result.stderr.strip()[-300:]}")
        say(f"formatted Kafka storage in {rel(KAFKA_DATA)}")
    with open(KAFKA_DIR / "stdout.log", "ab") as out:
        process = subprocess.Popen(
            kafka_java("kafka.Kafka", str(KAFKA_DIR / "server.properties"), heap="1g"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=KAFKA_DIR,
        )
    KAFKA_PID.write_text(str(process.pid))
    if not kafka_ready(kafka, 90):
        raise StackError(f"Kafka did not become ready on {kafka.bootstrap}; see {KAFKA_LOG}")
    say(f"Kafka started on {kafka.bootstrap} (log {rel(KAFKA_LOG)})")


def stop_kafka() -> None:
    pid = kafka_pid()
    if not pid:
        return
    os.killpg(pid, signal.SIGTERM)
    for _ in range(120):
        if kafka_pid() is None:
            break
        time.sleep(0.25)
    else:
        os.killpg(pid, signal.SIGKILL)
    KAFKA_PID.unlink(missing_ok=True)
    say("Kafka stopped")


# --- commands ------------------------------------------------------------------------------


def start() -> None:
    pg, kafka = Postgres.from_env(), Kafka.from_env()
    STACK.mkdir(parents=True, exist_ok=True)
    STACK.chmod(0o755)
    start_postgres(pg)
    start_kafka(kafka)
    # the Spark Kafka connector and JDBC driver, so the first streaming run does not stall
    resolve_jars("stack/spark/pom.xml", SPARK_JARS)


def stop() -> None:
    stop_kafka()
    stop_postgres()


def status() -> int:
    pg, kafka = Postgres.from_env(), Kafka.from_env()
    pg_up = (PG_DATA / "PG_VERSION").exists() and pg_running(postgres_bindir())
    kafka_up = kafka_pid() is not None and kafka_ready(kafka, 3)
    say(f"PostgreSQL {'up' if pg_up else 'down'} ({pg.host}:{pg.port}/{pg.database})")
    say(f"Kafka {'up' if kafka_up else 'down'} ({kafka.bootstrap})")
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
        else:
            print(
                "usage: python stack/localstack.py start|stop|status|restart-kafka", file=sys.stderr
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
