"""Every setting of the election, in one catalogue: its name, default, meaning and type.

Read from the environment (a .env file may supply it) only through setting(NAME); a value
that does not parse is one line naming the variable and what it should be. The README's
configuration table lists the same catalogue (a test keeps them together).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SettingError(ValueError):
    """A variable with a value that does not parse; the message is one line naming it."""


def _whole(text: str) -> int:
    return int(text.strip())


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


_KINDS: dict[str, tuple[Callable[[str], Any], str]] = {
    "text": (str, "text"),
    "int": (_whole, "a whole number"),
    "float": (float, "a number"),
    "flag": (_flag, "1 or 0"),
}


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    meaning: str
    kind: str = "text"  # text, int, float or flag
    minimum: float | None = None
    group: str = "election"  # services: where the election's services are
    choices: tuple[Any, ...] = ()  # when set, the only values allowed

    def parse(self, raw: str) -> Any:
        convert, described = _KINDS[self.kind]
        try:
            value = convert(raw)
        except ValueError:
            raise SettingError(f"{self.name} must be {described}, got {raw!r}") from None
        if self.minimum is not None and value < self.minimum:
            raise SettingError(f"{self.name} must be at least {self.minimum:g}, got {raw!r}")
        if self.choices and value not in self.choices:
            allowed = " or ".join(str(c) for c in self.choices)
            raise SettingError(f"{self.name} must be {allowed}, got {raw!r}")
        return value


CATALOGUE: tuple[Setting, ...] = (
    # where the services are
    Setting(
        "DATABASE_URL",
        "postgresql://postgres:postgres@localhost:5432/voting",
        "PostgreSQL URL of the election database",
        group="services",
    ),
    Setting(
        "KAFKA_BOOTSTRAP_SERVERS", "localhost:9092", "Kafka bootstrap servers", group="services"
    ),
    Setting("SPARK_MASTER", "local[*]", "Spark master URL", group="services"),
    Setting(
        "RANDOMUSER_URL",
        "https://randomuser.me/api/",
        "base URL of the randomuser.me API",
        group="services",
    ),
    # the local stack and make run
    # how every Kafka client authenticates (librdkafka's and, in Spark, Java's)
    Setting(
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "Kafka's security protocol: PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL",
        choices=("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"),
    ),
    Setting(
        "KAFKA_SASL_MECHANISM",
        "PLAIN",
        "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
        choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    ),
    Setting("KAFKA_SASL_USERNAME", "", "SASL user name"),
    Setting("KAFKA_SASL_PASSWORD", "", "SASL password (a secret: from the environment only)"),
    Setting(
        "KAFKA_SSL_CA_LOCATION", "", "PEM file of the CA that signed the brokers' certificates"
    ),
    Setting(
        "KAFKA_CONTROLLER_PORT",
        "",
        "the local broker's KRaft controller port (Kafka port + 1; of three, the first's, then +2, +4)",
    ),
    Setting(
        "KAFKA_BROKERS",
        "1",
        "brokers of the local Kafka: 1, or 3 for a KRaft quorum on loopback",
        "int",
        choices=(1, 3),
    ),
    Setting("STACK_DIR", "", "where the local services keep their data (.stack)"),
    Setting("STACK_JARS_DIR", "", "where the Kafka and Spark jars are resolved (.stack/jars)"),
    Setting("DAGSTER_PORT", "3000", "port of Dagster's UI under make run", "int", 1),
    Setting("STREAMLIT_PORT", "8501", "port of the dashboard under make run", "int", 1),
    Setting("DAGSTER_HOME", "", "Dagster's instance folder (.stack/dagster under make run)"),
    Setting("TEST_POSTGRES_PORT", "25432", "port of the test suite's own PostgreSQL", "int", 1),
    Setting("TEST_KAFKA_PORT", "29092", "port of the test suite's own Kafka", "int", 1),
    Setting("DEMO_MINUTES", "3", "length of make demo's voting day, minutes", "float", 0.5),
    Setting("DEMO_VOTERS", "20000", "voters on make demo's roll", "int", 100),
    # Spark
    Setting(
        "SPARK_EXTRA_JARS",
        "",
        "jar files or folders for Spark, comma-separated (.stack/jars/spark)",
    ),
    Setting("SPARK_SHUFFLE_PARTITIONS", "", "shuffle partitions (one per local core)", "int", 1),
    Setting("SPARK_DRIVER_MEMORY", "2g", "the Spark driver's memory"),
    Setting("SPARK_CONF", "", "extra Spark settings, key=value,key=value"),
    Setting("SPARK_UI", "0", "1 to serve the Spark UI", "flag"),
    Setting("SPARK_LOG_LEVEL", "ERROR", "Spark's log level"),
    Setting(
        "SPARK_SUBMIT",
        "0",
        "1: Dagster launches the tally and the recount with spark-submit to SPARK_MASTER",
        "flag",
    ),
    Setting("SPARK_SUBMIT_PYTHON", "", "the Python spark-submit runs them on (this one)"),
    Setting("SPARK_CHECKPOINT_DIR", "", "the tally's checkpoints (.stack/checkpoints)"),
    # the live tally
    Setting("TALLY_CHECKPOINT", "", "checkpoint folder of a tally run by hand"),
    Setting("TALLY_TRIGGER_MS", "0", "pause between the tally's micro-batches, ms", "int", 0),
    Setting("TALLY_MAX_OFFSETS", "200000", "most ballots in one micro-batch", "int", 0),
    Setting(
        "TALLY_MAX_BATCH_BYTES",
        str(1 << 30),
        "bytes one micro-batch may bring to the driver (caps TALLY_MAX_OFFSETS)",
        "int",
        1,
    ),
    Setting("TALLY_PIPELINE", "1", "0 to commit each batch before judging the next", "flag"),
    Setting(
        "TALLY_WARM_UP_BALLOTS",
        "3000",
        "made-up ballots the tally judges before it reads the log, so its first batch runs warm "
        "(0: none)",
        "int",
        0,
    ),
    Setting(
        "TALLY_DETAIL_EVERY_MS",
        "5000",
        "least time between two sends of the contest results and race calls, ms "
        "(the national results follow every batch)",
        "int",
        0,
    ),
    Setting("TALLY_VOTES_TOPIC", "votes_topic", "the ballot log a tally run by hand reads"),
    Setting("TALLY_RESULTS_PREFIX", "", "prefix of the result topics' names (tests)"),
    Setting("LIVE_TALLY_FAULT", "", "crash tests: before_commit:N or after_commit:N"),
    # registration
    Setting(
        "ELECTION_DEFINITION_PATH",
        "",
        "the election definition file (YAML; scripts/election_definition.py writes the default)",
    ),
    Setting(
        "CVR_PATH",
        "",
        "import_cvr_job: a NIST SP 1500-103 cast vote record report (JSON), or a folder of them",
    ),
    Setting(
        "CVR_RULES_PATH",
        "",
        "import_cvr_job: the RCTab configuration file with the tabulation rules and candidate names",
    ),
    # voting
    Setting(
        "VOTING_DAY_MINUTES",
        "10",
        "length of the voting day, minutes (0: close by hand)",
        "float",
        0,
    ),
    Setting(
        "CLOSING_OVERRUN_SECONDS",
        "60",
        "how long past the closing time a closing run may go on before run monitoring fails it",
        "float",
        1,
    ),
    Setting("VOTING_WAVE_SIZE", "20000", "ballots in one wave of the vote generator", "int", 1),
    Setting("VOTING_WAVE_RATE", "5000", "ballots per second within a wave", "float", 1),
    Setting("VOTING_PROBLEM_SHARE", "0", "share of deliberately invalid ballots", "float", 0),
    Setting(
        "BALLOT_SHAPE",
        "selections",
        "what the generator's ballots carry: seed (one candidate) or selections (every contest)",
        choices=("seed", "selections"),
    ),
    # certification and the dashboard
    Setting("ELECTION_EXPORT_DIR", "", "where certification writes its files (exports)"),
    Setting("DASHBOARD_REFRESH_SECONDS", "2", "how often the dashboard refreshes", "float", 0.5),
    Setting("DASHBOARD_TOPIC_PREFIX", "", "prefix of the result topics the dashboard reads"),
    # benchmarks
    Setting("BENCH_DASHBOARD_REFRESHES", "40", "refreshes the dashboard benchmark times", "int", 1),
    Setting(
        "BENCH_DASHBOARD_BASELINE_REFRESHES", "10", "refreshes of its naive baseline", "int", 1
    ),
    Setting("BENCH_DASHBOARD_NAIVE", "0", "the benchmark's page reads naively (set by it)", "flag"),
    Setting(
        "BENCH_STACK_DIR", "", "where the benchmarks' own services keep their data (.stack/bench)"
    ),
    Setting("BENCH_POSTGRES_PORT", "26432", "port of the benchmarks' own PostgreSQL", "int", 1),
    Setting("BENCH_KAFKA_PORT", "26092", "port of the benchmarks' own Kafka", "int", 1),
    Setting(
        "BENCH_RESULTS",
        "",
        "the file make bench appends its figures to (.stack/bench/results.jsonl)",
    ),
)
SETTINGS: Mapping[str, Setting] = {s.name: s for s in CATALOGUE}
# the services' defaults: the local ones work without any configuration
DEFAULTS = {s.name: s.default for s in CATALOGUE if s.group == "services"}


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a variable in the catalogue is set (not blank) rather than left to its default."""
    return bool((os.environ if environ is None else environ).get(SETTINGS[name].name))


def setting_text(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A variable's text as set (or its default), for a reader that parses it leniently."""
    return (os.environ if environ is None else environ).get(name) or SETTINGS[name].default


def setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The value of a variable in the catalogue, parsed, or its default (a blank is the default)."""
    entry = SETTINGS[name]
    raw = (os.environ if environ is None else environ).get(name) or entry.default
    return entry.parse(raw) if raw != "" else ""


def markdown_table() -> str:
    """The catalogue as the README's configuration table (python -m election.settings)."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for entry in CATALOGUE:
        default = f"`{entry.default}`" if entry.default else "—"
        rows.append(f"| `{entry.name}` | {entry.meaning} | {default} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
