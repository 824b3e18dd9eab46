"""The local Kafka: one broker, or three (KAFKA_BROKERS=3) as one KRaft quorum on loopback.

Each node runs broker and controller from the same jars, with its own node.id, folder and ports:
one broker keeps .stack/kafka itself; three use .stack/kafka/broker-1..3 on the bootstrap port
+0, +2, +4 and the controller port beside each.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stack_common import (
    JARS,
    STACK,
    StackError,
    checked_setting,
    is_loopback,
    java_binary,
    rel,
    require_free_port,
    resolve_jars,
    say,
)

KAFKA_DIR = STACK / "kafka"
KAFKA_JARS = JARS / "kafka"
CLUSTER_ID = KAFKA_DIR / "cluster.id"  # one id for every node of a quorum

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


@dataclass(frozen=True)
class Node:
    """One broker+controller process of the local cluster."""

    node_id: int
    port: int
    controller_port: int
    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "kafka.pid"

    @property
    def properties(self) -> Path:
        return self.folder / "server.properties"


@dataclass(frozen=True)
class Kafka:
    host: str
    port: int
    controller_port: int
    brokers: int = 1

    @classmethod
    def from_env(cls) -> Kafka:
        servers = checked_setting("KAFKA_BOOTSTRAP_SERVERS")
        first = servers.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        if not host or not port.isdigit():
            raise StackError(f"KAFKA_BOOTSTRAP_SERVERS must look like host:port, got {servers!r}")
        controller = checked_setting("KAFKA_CONTROLLER_PORT") or str(int(port) + 1)
        if not str(controller).isdigit():
            raise StackError(f"KAFKA_CONTROLLER_PORT must be a number, got {controller!r}")
        kafka = cls(host, int(port), int(controller), checked_setting("KAFKA_BROKERS"))
        ports = [p for n in kafka.nodes for p in (n.port, n.controller_port)]
        if len(set(ports)) != len(ports):
            raise StackError(
                f"the {kafka.brokers} Kafka nodes' ports {ports} overlap: brokers use the "
                f"bootstrap port +0, +2, +4 and controllers KAFKA_CONTROLLER_PORT +0, +2, +4; "
                f"unset KAFKA_CONTROLLER_PORT or move it"
            )
        return kafka

    @property
    def nodes(self) -> list[Node]:
        if self.brokers == 1:  # the layout of a single broker, as before quorums existed
            return [Node(1, self.port, self.controller_port, KAFKA_DIR)]
        return [
            Node(
                i,
                self.port + 2 * (i - 1),
                self.controller_port + 2 * (i - 1),
                KAFKA_DIR / f"broker-{i}",
            )
            for i in range(1, self.brokers + 1)
        ]

    @property
    def listen(self) -> str:
        return "127.0.0.1" if self.host in ("localhost", "127.0.0.1") else self.host

    @property
    def local(self) -> bool:
        """Whether the brokers are this machine's to start (else an existing cluster's)."""
        return is_loopback(self.host)

    @property
    def bootstrap(self) -> str:
        """Every broker, as KAFKA_BOOTSTRAP_SERVERS would list them."""
        return ",".join(f"{self.host}:{n.port}" for n in self.nodes)


def client_listener() -> tuple[str, str]:
    """The clients' listener and its settings: PLAINTEXT, or SASL_PLAINTEXT with PLAIN for the
    one user of KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (KAFKA_SECURITY_PROTOCOL)."""
    # the project's Kafka settings (stack_common has put the project on sys.path)
    from election_io.kafka_config import client_config, jaas_quoted, spark_kafka_options

    protocol = checked_setting("KAFKA_SECURITY_PROTOCOL")
    if protocol == "PLAINTEXT":
        return "PLAINTEXT", ""
    mechanism = checked_setting("KAFKA_SASL_MECHANISM")
    if protocol != "SASL_PLAINTEXT" or mechanism != "PLAIN":
        raise StackError(
            f"the local Kafka offers PLAINTEXT, or SASL_PLAINTEXT with PLAIN, not {protocol} "
            f"with {mechanism}: point KAFKA_BOOTSTRAP_SERVERS at your own cluster for that"
        )
    client = client_config("")
    user, password = client["sasl.username"], client["sasl.password"]
    login = spark_kafka_options()["kafka.sasl.jaas.config"].removesuffix(";")
    jaas = f'{login} user_{user}="{jaas_quoted(password)}";'
    return "SASL_PLAINTEXT", (
        "sasl.enabled.mechanisms=PLAIN\n"
        "sasl.mechanism.inter.broker.protocol=PLAIN\n"
        # a properties file reads a backslash as an escape: the JAAS text's own are doubled
        f"listener.name.sasl_plaintext.plain.sasl.jaas.config={jaas.replace(chr(92), chr(92) * 2)}\n"
    )


def kafka_properties(kafka: Kafka, node: Node) -> str:
    """A node's server.properties: replication as the cluster allows, no topic made by accident."""
    listener, security = client_listener()
    replication = min(3, kafka.brokers)
    insync = min(2, replication)
    if kafka.brokers == 1:
        quorum = f"controller.quorum.bootstrap.servers={kafka.listen}:{node.controller_port}"
    else:
        voters = ",".join(f"{n.node_id}@{kafka.listen}:{n.controller_port}" for n in kafka.nodes)
        quorum = f"controller.quorum.voters={voters}"
    return f"""\
process.roles=broker,controller
node.id={node.node_id}
{quorum}
listeners={listener}://{kafka.listen}:{node.port},CONTROLLER://{kafka.listen}:{node.controller_port}
advertised.listeners={listener}://{kafka.host}:{node.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name={listener}
listener.security.protocol.map={listener}:{listener},CONTROLLER:PLAINTEXT
{security}log.dirs={node.data}
num.partitions=4
default.replication.factor={replication}
min.insync.replicas={insync}
offsets.topic.replication.factor={replication}
transaction.state.log.replication.factor={replication}
transaction.state.log.min.isr={insync}
share.coordinator.state.topic.replication.factor={replication}
share.coordinator.state.topic.min.isr={insync}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
unclean.leader.election.enable=false
log.retention.hours=-1
log.cleaner.enable=true
"""


def kafka_java(node: Node, kafka_class: str, *args: str, heap: str = "256m") -> list[str]:
    return [
        java_binary(),
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={node.folder / 'log4j2.properties'}",
        "-cp",
        f"{KAFKA_JARS}/*",
        kafka_class,
        *args,
    ]


def node_pid(node: Node) -> int | None:
    """The node's process id while it runs (a killed one not yet reaped counts as gone)."""
    try:
        pid = int(node.pid_file.read_text().strip())
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat")  # Linux: a zombie's state is Z
        if stat.exists() and stat.read_text().rsplit(") ", 1)[-1].startswith("Z"):
            return None
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def every_node_folder() -> list[Path]:
    """The folders of nodes of either layout that have a pid file (for stop)."""
    return [p.parent for p in [KAFKA_DIR / "kafka.pid", *KAFKA_DIR.glob("broker-*/kafka.pid")]]


def _quiet_logger():
    logger = logging.getLogger("stack.kafka")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger


def kafka_ready(kafka: Kafka, timeout: float) -> bool:
    """A real client round trip to every node: the cluster lists it and it answers itself."""
    from confluent_kafka.admin import AdminClient, ConfigResource

    from election_io.kafka_config import client_config

    admin = AdminClient(client_config(kafka.bootstrap, log_level=0, logger=_quiet_logger()))
    wanted = [n.node_id for n in kafka.nodes]
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if set(wanted) <= set(admin.list_topics(timeout=2).brokers):
                # a broker's own settings come from that broker: a dead one the controller
                # still lists does not answer
                for node_id in wanted:
                    resource = ConfigResource(ConfigResource.Type.BROKER, str(node_id))
                    admin.describe_configs([resource], request_timeout=3)[resource].result(5)
                return True
        except Exception:  # not up yet; librdkafka raises KafkaException while connecting
            pass
        time.sleep(0.5)
    return False


def kafka_answers(servers: str, timeout: float = 10.0) -> bool:
    """Whether a cluster (any, not only ours) lists its brokers to a client of ours."""
    from confluent_kafka.admin import AdminClient

    from election_io.kafka_config import client_config

    admin = AdminClient(client_config(servers, log_level=0, logger=_quiet_logger()))
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except Exception:  # KafkaException: not reachable, or not with these credentials
        return False


def cluster_id(kafka: Kafka, node: Node) -> str:
    """A new id for a single broker; for a quorum, the one id every node is formatted with."""
    if kafka.brokers > 1 and CLUSTER_ID.exists():
        return CLUSTER_ID.read_text().strip()
    result = subprocess.run(
        kafka_java(node, "kafka.tools.StorageTool", "random-uuid"), capture_output=True, text=True
    )
    new = result.stdout.strip().splitlines()[-1]
    if kafka.brokers > 1:
        CLUSTER_ID.write_text(new + "\n")
    return new


def format_node(kafka: Kafka, node: Node) -> None:
    if (node.data / "meta.properties").exists():
        return
    standalone = ["--standalone"] if kafka.brokers == 1 else []  # a quorum lists its voters
    result = subprocess.run(
        kafka_java(
            node,
            "kafka.tools.StorageTool",
            "format",
            *standalone,
            "-t",
            cluster_id(kafka, node),
            "-c",
            str(node.properties),
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise StackError(f"formatting Kafka storage failed: {result.stderr.strip()[-300:]}")
    say(f"formatted Kafka storage in {rel(node.data)}")


def launch_node(node: Node, heap: str) -> None:
    with open(node.folder / "stdout.log", "ab") as out:
        process = subprocess.Popen(
            kafka_java(node, "kafka.Kafka", str(node.properties), heap=heap),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=node.folder,
        )
    node.pid_file.write_text(str(process.pid))


def start_kafka(kafka: Kafka) -> None:
    resolve_jars("stack/kafka/pom.xml", KAFKA_JARS)
    mine = {n.folder for n in kafka.nodes}
    others = [f for f in every_node_folder() if f not in mine and _folder_pid(f)]
    if others:
        raise StackError(
            f"Kafka is running with another number of brokers ({rel(others[0])}); "
            f"run `make stop` first to switch to KAFKA_BROKERS={kafka.brokers}"
        )
    for node in kafka.nodes:
        node.folder.mkdir(parents=True, exist_ok=True)
        node.properties.write_text(kafka_properties(kafka, node))
        (node.folder / "log4j2.properties").write_text(LOG4J2.format(log=node.log))
    down = [n for n in kafka.nodes if node_pid(n) is None]
    logs = ", ".join(rel(n.log) for n in kafka.nodes)
    if not down:
        if kafka_ready(kafka, 30):
            say(f"Kafka already running on {kafka.bootstrap}")
            return
        raise StackError(f"Kafka is running but does not answer on {kafka.bootstrap}; see {logs}")
    for node in down:
        require_free_port("127.0.0.1", node.port, "KAFKA_BOOTSTRAP_SERVERS")
        require_free_port("127.0.0.1", node.controller_port, "KAFKA_CONTROLLER_PORT")
    for node in down:
        format_node(kafka, node)
    for node in down:
        launch_node(node, heap="1g" if kafka.brokers == 1 else "512m")
    if not kafka_ready(kafka, 120):
        raise StackError(f"Kafka did not become ready on {kafka.bootstrap}; see {logs}")
    brokers = f"{kafka.brokers} brokers" if kafka.brokers > 1 else "one broker"
    say(f"Kafka started ({brokers}) on {kafka.bootstrap} (log {logs})")


def _folder_pid(folder: Path) -> int | None:
    return node_pid(Node(0, 0, 0, folder))


def stop_kafka() -> None:
    """Stop every node of either layout: SIGTERM, then SIGKILL after 30 s."""
    running = {f: pid for f in every_node_folder() if (pid := _folder_pid(f))}
    for pid in running.values():
        os.killpg(pid, signal.SIGTERM)
    deadline = time.time() + 30
    while any(_folder_pid(f) for f in running) and time.time() < deadline:
        time.sleep(0.25)
    for folder, pid in running.items():
        if _folder_pid(folder):
            os.killpg(pid, signal.SIGKILL)
        (folder / "kafka.pid").unlink(missing_ok=True)
    if running:
        say(f"Kafka stopped ({len(running)} node{'s' if len(running) > 1 else ''})")


def kafka_status(kafka: Kafka) -> bool:
    """Say which nodes are up; True when every node runs and the cluster answers."""
    up = [n for n in kafka.nodes if node_pid(n) is not None]
    ready = len(up) == len(kafka.nodes) and kafka_ready(kafka, 3)
    if kafka.brokers == 1:
        say(f"Kafka {'up' if ready else 'down'} ({kafka.bootstrap})")
    else:
        nodes = ", ".join(
            f"broker {n.node_id} {'up' if n in up else 'down'} ({kafka.host}:{n.port})"
            for n in kafka.nodes
        )
        say(f"Kafka {'up' if ready else 'down'}: {nodes}")
    return ready
