"""Where the tally reads from: the roll and candidates (JDBC), the election's contests
(election_io.definitions), the ballot log (Kafka), services."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from election.contests import Contest
from election_io import migrations
from election_io.definitions import election_contests
from election_io.kafka_config import client_config, spark_kafka_options
from election_io.spark_setup import jdbc_options

VOTES_PARTITIONS = 4  # when the tally has to create votes_topic itself
EARLIEST = -2  # Spark's startingOffsets value for a partition's first offset
# Ballots are what a committed read returns: no aborted transaction's message, no marker.
COMMITTED = "read_committed"


class ServiceMissing(RuntimeError):
    """A service does not answer; the message is one line naming it and its variable."""


def check_postgres(database_url: str, election_tables: bool = True) -> None:
    """Raise ServiceMissing unless PostgreSQL answers at DATABASE_URL (with the election's
    tables, unless election_tables is False: a benchmark that makes its own database)."""
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            if election_tables:
                migrations.check_schema(conn)
    except migrations.SchemaMissing as exc:
        raise ServiceMissing(str(exc)) from None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceMissing(
            f"PostgreSQL at {_without_password(database_url)} does not answer ({first}); "
            "start it with `make services` or set DATABASE_URL"
        ) from None


def check_kafka(bootstrap: str) -> None:
    """Raise ServiceMissing unless a Kafka broker answers at KAFKA_BOOTSTRAP_SERVERS."""
    try:
        AdminClient(client_config(bootstrap, log_level=0)).list_topics(timeout=10)
    except KafkaException as exc:
        raise ServiceMissing(
            f"Kafka at {bootstrap} does not answer ({exc.args[0]}); "
            "start it with `make services` or set KAFKA_BOOTSTRAP_SERVERS"
        ) from None


def _without_password(database_url: str) -> str:
    parts = urlsplit(database_url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return database_url


def read_query(spark, database_url: str, query: str, predicates: list[str] | None = None):
    """A SELECT read through JDBC, in one partition per predicate when predicates are given."""
    options = jdbc_options(database_url)
    if not predicates:
        return spark.read.format("jdbc").options(**options).option("query", query).load()
    url = options.pop("url")
    return spark.read.jdbc(url, f"({query}) AS q", predicates=predicates, properties=options)


def read_roll(spark, database_url: str, partitions: int = 2):
    """The voter roll as (voter_id, address_state, county_fips), read in parallel slices."""
    slices = [f"(hashtext(voter_id) & 2147483647) % {partitions} = {k}" for k in range(partitions)]
    query = "SELECT voter_id, address_state, county_fips FROM voters"
    return read_query(spark, database_url, query, slices if partitions > 1 else None)


def read_candidates(spark, database_url: str):
    """The registered candidates (id, name, party, photo)."""
    return read_query(
        spark,
        database_url,
        "SELECT candidate_id, candidate_name, party_affiliation, photo_url FROM candidates",
    )


def read_contests(database_url: str, candidate_ids) -> tuple[Contest, ...]:
    """The election's contests (election_io.definitions.election_contests)."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        return election_contests(conn, candidate_ids)


# The columns of Spark's Kafka source, for a batch that reads no partition at all.
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)


def kafka_batch(spark, bootstrap: str, topic: str, offsets: dict[int, tuple[int, int]]):
    """The messages of a topic between {partition: (first, end)} offsets, read once.

    `assign` reads exactly the partitions that hold messages: with `subscribe`, Spark wants
    every partition of the topic in specific offsets, and a log (or a recovered batch) with
    empty partitions could not be read at all.
    """
    wanted = {p: (first, end) for p, (first, end) in sorted(offsets.items()) if end > first}
    if not wanted:
        return spark.createDataFrame([], KAFKA_SCHEMA)
    starting = json.dumps({topic: {str(p): first for p, (first, _) in wanted.items()}})
    ending = json.dumps({topic: {str(p): end for p, (_, end) in wanted.items()}})
    return (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .options(**spark_kafka_options())
        .option("assign", json.dumps({topic: list(wanted)}))
        .option("startingOffsets", starting)
        .option("endingOffsets", ending)
        .option("failOnDataLoss", "true")
        .option("kafka.isolation.level", COMMITTED)
        .load()
    )


def kafka_stream(
    spark,
    bootstrap: str,
    topic: str,
    max_offsets_per_trigger: int | None,
    starting: dict[int, int] | None = None,
):
    """The ballot log as a stream from its first offset; never skips lost data.

    starting ({partition: offset}, every partition of the topic) is where a new checkpoint
    begins instead; an existing checkpoint's own offsets win.
    """
    start = (
        json.dumps({topic: {str(p): o for p, o in sorted(starting.items())}}) if starting else None
    )
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .options(**spark_kafka_options())
        .option("subscribe", topic)
        .option("startingOffsets", start or "earliest")
        .option("failOnDataLoss", "true")
        .option("kafka.isolation.level", COMMITTED)
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()
