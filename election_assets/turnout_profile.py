"""Turnout by age band and gender per state, computed in Spark once the polls have closed."""

import datetime as dt

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from election import contract
from election.age_bands import AGE_BANDS
from election_assets.resources import PostgresResource
from election_assets.resources.spark import ElectionSpark
from election_assets.tally import live_results
from election_io.elections import read_election
from election_io.spark_setup import jdbc_options

PROFILE_COLUMNS = ("address_state", "age_band", "gender", "registered_voters", "voters_voted")


def age_band_column(date_of_birth, election_day: dt.date):
    """The age band on election day, as a Spark column (election.age_bands' bands)."""
    age = F.floor(F.months_between(F.lit(election_day), date_of_birth) / 12)
    band = None
    for label, low, high in AGE_BANDS:
        within = age >= low if high is None else (age >= low) & (age < high)
        band = F.when(within, label) if band is None else band.when(within, label)
    return band.otherwise("under 18")


def turnout_by_age_and_gender(
    roll: DataFrame, poll_book: DataFrame, election_day: dt.date
) -> DataFrame:
    """(address_state, age_band, gender) -> registered and voted: the roll left-joined with the
    poll book; who voted, never for whom."""
    voted = poll_book.select("voter_id", F.lit(1).alias("_voted"))
    return (
        roll.join(voted, "voter_id", "left")
        .select(
            "address_state",
            age_band_column(F.col("date_of_birth"), election_day).alias("age_band"),
            F.coalesce(F.nullif(F.col("gender"), F.lit("")), F.lit("unknown")).alias("gender"),
            F.col("_voted"),
        )
        .groupBy("address_state", "age_band", "gender")
        .agg(
            F.count(F.lit(1)).alias("registered_voters"),
            F.count("_voted").alias("voters_voted"),
        )
    )


def _jdbc_table(spark, database_url: str, query: str) -> DataFrame:
    return (
        spark.read.format("jdbc")
        .options(**jdbc_options(database_url))
        .option("query", query)
        .load()
    )


@dg.asset(group_name="certification", kinds={"spark", "postgres"}, deps=[live_results])
def turnout_profile(
    context: dg.AssetExecutionContext, postgres: PostgresResource, pyspark: ElectionSpark
) -> dg.MaterializeResult:
    """Turnout by age band and gender per state, from the poll book and the roll (no choice)."""
    with postgres.connect() as conn:
        election = read_election(conn)
    if election is None or election.status not in (contract.CLOSED, contract.CERTIFIED):
        status = election.status if election else "not registered"
        raise dg.Failure(f"the turnout profile needs closed polls; the election is {status}")
    spark = pyspark.spark_session
    roll = _jdbc_table(
        spark,
        postgres.database_url,
        "SELECT voter_id, address_state, date_of_birth, gender FROM voters",
    )
    poll_book = _jdbc_table(spark, postgres.database_url, "SELECT voter_id FROM voter_turnout")
    election_day = election.polls_opened_at.astimezone(dt.UTC).date()
    rows = [
        tuple(row[c] for c in PROFILE_COLUMNS)
        for row in turnout_by_age_and_gender(roll, poll_book, election_day).collect()
    ]
    with postgres.connect() as conn, conn.transaction():
        conn.execute("DELETE FROM turnout_profile")
        with conn.cursor().copy(
            f"COPY turnout_profile ({', '.join(PROFILE_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
    by_band: dict[str, list[int]] = {}
    for _state, band, _gender, registered, voted in rows:
        totals = by_band.setdefault(band, [0, 0])
        totals[0] += registered
        totals[1] += voted
    table = "| age band | registered | voted | turnout |\n|---|---|---|---|\n" + "\n".join(
        f"| {band} | {r:,} | {v:,} | {100 * v / r:.1f}% |"
        for band, (r, v) in sorted(by_band.items())
        if r
    )
    context.log.info(f"turnout profile: {len(rows)} cells")
    return dg.MaterializeResult(
        metadata={
            "cells": len(rows),
            "states": len({r[0] for r in rows}),
            "voters_voted": sum(r[4] for r in rows),
            "by_age_band": dg.MetadataValue.md(table),
        }
    )
