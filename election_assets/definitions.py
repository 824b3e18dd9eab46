"""The election's Dagster definitions: every stage's assets, checks, jobs and sensors."""

from __future__ import annotations

import dagster as dg

from election.settings import is_set, setting
from election_assets import (
    certification,
    cvr_import,
    definition,
    polls,
    registration,
    tally,
    turnout_profile,
    voting,
)
from election_assets.resources import KafkaResource, PostgresResource, SparkLauncher
from election_assets.resources.randomuser import RandomUserClient
from election_assets.resources.spark import ElectionSpark


def service_setting(name: str) -> str | dg.EnvVar:
    """Where a service is: the variable when set (an EnvVar, so its value stays out of Dagster's
    UI), else the settings catalogue's local default, which works without any configuration."""
    return dg.EnvVar(name) if is_set(name) else setting(name)


defs = dg.Definitions(
    assets=[
        registration.candidates,
        definition.election_definition,
        registration.voters,
        cvr_import.imported_election,
        voting.votes_topic,
        voting.result_topics,
        tally.live_results,
        certification.certified_results,
        certification.certification,
        turnout_profile.turnout_profile,
    ],
    asset_checks=[
        registration.voter_roll_checks,
        registration.candidate_checks,
        definition.definition_checks,
        certification.reconciliation_checks,
    ],
    jobs=[
        registration.registration_job,
        cvr_import.import_cvr_job,
        polls.open_polls_job,
        voting.cast_votes_job,
        polls.close_polls_job,
        tally.live_aggregation_job,
        certification.certify_results_job,
    ],
    # every run in its run worker's own process: the steps are quick, and the tally and the
    # recount run Spark through Pipes, which must not be forked into step processes (a process
    # per step costs seconds of start-up each: registration took 29 s for 3 s of work)
    executor=dg.in_process_executor,
    sensors=[voting.live_voting_sensor, polls.polls_closing_sensor, tally.live_aggregation_sensor],
    resources={
        "postgres": PostgresResource(database_url=service_setting("DATABASE_URL")),
        "kafka": KafkaResource(bootstrap_servers=service_setting("KAFKA_BOOTSTRAP_SERVERS")),
        "randomuser": RandomUserClient(base_url=service_setting("RANDOMUSER_URL")),
        "pyspark": ElectionSpark(),
        # the tally and the recount: local Spark, or spark-submit to SPARK_MASTER (SPARK_SUBMIT=1)
        "spark_launcher": SparkLauncher(
            submit=setting("SPARK_SUBMIT"), python=setting("SPARK_SUBMIT_PYTHON")
        ),
    },
)
