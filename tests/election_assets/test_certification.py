"""certified_results on a small real election: the live tally drains through Dagster Pipes,
the recount runs through Pipes under spark-submit, and the certified totals equal the
oracle's count of what was sent."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from election import contract
from election.contest_totals import results_document
from election_assets import certification, tally
from election_assets.resources import KafkaResource, PostgresResource, SparkLauncher
from tests.spark_jobs import stack


@pytest.fixture
def votes_topic(bootstrap_servers, unique_name, monkeypatch):
    """The ballot log of record, fresh: the suite's own broker, so no running election's. The
    live tally publishes under a prefix of this test's own; the certification publishes the
    final race calls to the contract's topic, deleted afterwards with the rest."""
    monkeypatch.setenv("TALLY_RESULTS_PREFIX", f"{unique_name}.")
    published = [
        contract.RACE_CALLS_TOPIC,
        *(f"{unique_name}.{t}" for t in contract.PUBLISHED_TOPICS),
    ]
    stack.delete_topics(bootstrap_servers, [contract.VOTES_TOPIC], wait=30)
    stack.create_topic(bootstrap_servers, contract.VOTES_TOPIC, partitions=3)
    yield contract.VOTES_TOPIC
    stack.delete_topics(bootstrap_servers, [contract.VOTES_TOPIC, *published])


@pytest.mark.spark
def test_certified_results_equal_the_truth(
    scratch_database, bootstrap_servers, votes_topic, unique_name
):
    roll = stack.make_roll(300)
    stack.register(scratch_database, roll)
    placed = stack.produce(bootstrap_servers, votes_topic, stack.ballot_set(roll, 200))
    stack.close_polls(scratch_database)
    truth = stack.truth(placed, roll, scratch_database, partitions=3)
    services = {
        "postgres": PostgresResource(database_url=scratch_database),
        "kafka": KafkaResource(bootstrap_servers=bootstrap_servers),
    }

    # the live tally as Dagster runs it locally: through Pipes, until drained
    tallied = dg.materialize(
        [tally.live_results],
        resources={**services, "spark_launcher": SparkLauncher(master="local[2]")},
        run_config={"ops": {"live_results": {"config": {"query_name": unique_name}}}},
        raise_on_error=False,
    )
    assert tallied.success
    (live,) = tallied.asset_materializations_for_node("live_results")
    assert live.metadata["ballots_counted"].value == truth.counted
    assert live.metadata["messages_tallied"].value == len(placed)
    assert live.metadata["last_batch"].value["event"] == "progress"  # reported by the tally

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [certification.certified_results, certification.reconciliation_checks],
        resources={
            **services,
            # as on a cluster (SPARK_SUBMIT=1): spark-submit, through spark_jobs.launch
            "spark_launcher": SparkLauncher(submit=True, master="local[2]"),
        },
        instance=instance,
        raise_on_error=False,
    )
    assert result.success
    with psycopg.connect(scratch_database) as conn:
        rows = conn.execute(
            "SELECT address_state, candidate_id, total_votes FROM certified_results"
        ).fetchall()
        (document,) = conn.execute("SELECT document FROM certified_recounts").fetchone()
    per_candidate = {c: n for s, c, n in rows if s == "*"}
    per_state = {(s, c): n for s, c, n in rows if s != "*"}
    assert per_candidate == {c: truth.per_candidate.get(c, 0) for c in roll.candidates}
    assert per_state == {k: n for k, n in truth.per_state.items() if n}
    assert document["messages"] == len(placed)
    # without a definition, the seed's national contest: in the nation and each state
    assert stack.counted_contests(document["contests"]) == stack.counted_contests(
        results_document(truth.results)
    )
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 9 and all(c.passed for c in checks), [
        (c.check_name, c.metadata) for c in checks if not c.passed
    ]
    logged = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("recounted" in m for m in logged), "the recount's report reaches the run's log"
    assert any("spark_jobs.recount with spark-submit" in m for m in logged)
