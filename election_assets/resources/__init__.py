"""Connections to the election's services, as Dagster resources."""

from election_assets.resources.kafka import KafkaResource
from election_assets.resources.postgres import PostgresResource
from election_assets.resources.spark_launcher import SparkLauncher

__all__ = ["KafkaResource", "PostgresResource", "SparkLauncher"]
