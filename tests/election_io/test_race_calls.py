"""Call, record, publish: every contest's race calls in every district, from totals built by
hand, recorded in the real PostgreSQL and published on a real Kafka topic keyed contest|district."""

from __future__ import annotations

import json

import psycopg
import pytest

from election import contract, schema
from election.contest_totals import DistrictTotals
from election.contests import MEASURE, PLURALITY, RANKED, Choice, Contest
from election_io import migrations, race_calls, topics
from election_io.publisher import ResultPublisher
from tests.spark_jobs.stack import latest_values, read_log

pytestmark = pytest.mark.services

CONTESTS = (
    Contest("national", "President", "nation", PLURALITY, (Choice("x", "Ann"), Choice("y", "Bo"))),
    Contest(
        "measure-OH", "Issue 1", "state:OH", MEASURE, (Choice("yes", "Yes"), Choice("no", "No"))
    ),
    Contest(
        "council-39035",
        "Council",
        "county:39035",
        PLURALITY,
        (Choice("a", "Al"), Choice("b", "Bea"), Choice("c", "Cy")),
        vote_for=2,
    ),
    Contest(
        "mayor-39035", "Mayor", "county:39035", RANKED, (Choice("p", "Pat"), Choice("q", "Quinn"))
    ),
)
# 100 ballots of 120 voters in every district: 20 outstanding while the polls are open.
RESULTS = {
    ("national", "nation"): DistrictTotals(100, totals={"x": 70, "y": 30}),
    ("national", "state:OH"): DistrictTotals(100, totals={"x": 70, "y": 30}),
    ("measure-OH", "state:OH"): DistrictTotals(100, undervotes=10, totals={"yes": 30, "no": 60}),
    # vote for 2: the second seat's 70 against the first loser's 30
    ("council-39035", "county:39035"): DistrictTotals(
        100, undervotes=20, totals={"a": 80, "b": 70, "c": 30}
    ),
    # ranked: 55 first choices of 100 ballots, no majority of 120 that could count
    ("mayor-39035", "county:39035"): DistrictTotals(100, totals={"p": 45, "q": 55}),
}
REGISTERED = {"nation": 120, "state:OH": 120, "county:39035": 120}
KEYS = {contract.contest_key(*race) for race in RESULTS}


@pytest.fixture
def election(scratch_database, bootstrap_servers, unique_name):
    """A migrated database and a race_calls topic of this test's own."""
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        migrations.migrate(conn)
    topic = unique_name + contract.RACE_CALLS_TOPIC
    topics.ensure_topics(bootstrap_servers, [contract.RACE_CALLS_TOPIC], 1, unique_name)
    yield scratch_database, topic
    topics.delete_topics(bootstrap_servers, [topic])


def call_round(
    database_url,
    bootstrap,
    topic,
    polls_open,
    final=False,
    results=RESULTS,
    previous=None,
    decision_only=False,
):
    with psycopg.connect(database_url) as conn:
        return race_calls.call_record_publish(
            conn,
            ResultPublisher(bootstrap),
            topic,
            results,
            CONTESTS,
            REGISTERED,
            polls_open=polls_open,
            untallied=0,
            election_id=None,
            actor="test",
            final=final,
            previous=previous,
            decision_only=decision_only,
        )


def stored(database_url) -> dict:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT contest_id, district_id, leader, called, called_at, final FROM race_calls"
        )
        return {contract.contest_key(c, d): rest for c, d, *rest in rows}


def audited(database_url) -> list[dict]:
    with psycopg.connect(database_url) as conn:
        return [d for (d,) in conn.execute("SELECT detail FROM audit_log ORDER BY audit_id")]


def test_every_contest_is_called_recorded_and_published_by_contest_and_district(
    election, bootstrap_servers
):
    database_url, topic = election
    calls = call_round(database_url, bootstrap_servers, topic, polls_open=True)

    assert set(calls) == KEYS
    called = {
        "national|nation",
        "national|state:OH",
        "measure-OH|state:OH",
        "council-39035|county:39035",
    }
    assert {key for key, call in calls.items() if call.called} == called
    rows = stored(database_url)
    assert set(rows) == KEYS
    assert {key for key, (_, is_called, _, _) in rows.items() if is_called} == called
    assert rows["measure-OH|state:OH"][0] == "no"
    published = latest_values(bootstrap_servers, topic)
    assert set(published) == KEYS
    for key, message in published.items():
        assert tuple(message) == contract.RACE_CALL_FIELDS
        assert contract.contest_key(message["contest_id"], message["district_id"]) == key
        assert message["race"] == key
    assert published["national|nation"]["candidate_name"] == "Ann"
    measure = published["measure-OH|state:OH"]
    assert (measure["candidate_id"], measure["candidate_name"], measure["margin"]) == (
        "no",
        "No",
        30,
    )
    council = published["council-39035|county:39035"]
    assert (council["candidate_id"], council["margin"], council["outstanding"]) == ("a", 40, 20)
    mayor = published["mayor-39035|county:39035"]
    assert (mayor["candidate_id"], mayor["called"], mayor["called_at"]) == ("q", False, None)
    assert sorted((a["contest_id"], a["district_id"]) for a in audited(database_url)) == sorted(
        tuple(key.split("|")) for key in called
    )


def test_the_final_round_calls_the_rest_and_keeps_when_each_race_was_first_called(
    election, bootstrap_servers
):
    database_url, topic = election
    call_round(database_url, bootstrap_servers, topic, polls_open=True)
    first = stored(database_url)
    final = call_round(database_url, bootstrap_servers, topic, polls_open=False, final=True)

    assert all(call.called and call.outstanding == 0 for call in final.values())
    rows = stored(database_url)
    assert all(is_final for *_, is_final in rows.values())
    assert rows["national|nation"][2] == first["national|nation"][2]  # called once, then kept
    assert [(a["contest_id"], a["district_id"]) for a in audited(database_url)][-1] == (
        "mayor-39035",
        "county:39035",
    )
    assert len(audited(database_url)) == len(KEYS)  # each race audited once, when first called
    assert latest_values(bootstrap_servers, topic)["mayor-39035|county:39035"]["called_at"]


def test_a_round_records_and_sends_only_the_calls_that_changed(election, bootstrap_servers):
    database_url, topic = election
    first = call_round(database_url, bootstrap_servers, topic, polls_open=True)
    sent = len(read_log(bootstrap_servers, topic))

    # the same totals again: every call is as it was, nothing is written or sent
    again = call_round(database_url, bootstrap_servers, topic, polls_open=True, previous=first)
    assert again == {}
    assert len(read_log(bootstrap_servers, topic)) == sent

    # the mayor's race gains ballots: only that race is written and sent again
    moved = {**RESULTS, ("mayor-39035", "county:39035"): DistrictTotals(110, totals={"q": 70})}
    before = stored(database_url)
    call_round(
        database_url, bootstrap_servers, topic, polls_open=True, results=moved, previous=first
    )
    log = read_log(bootstrap_servers, topic)
    assert len(log) == sent + 1
    assert log[-1].key() == b"mayor-39035|county:39035"
    assert json.loads(log[-1].value())["margin"] == 70
    after = stored(database_url)
    assert {k for k in after if after[k] != before[k]} <= {"mayor-39035|county:39035"}


def test_between_refreshes_only_a_changed_decision_is_written_and_sent(election, bootstrap_servers):
    database_url, topic = election
    first = call_round(database_url, bootstrap_servers, topic, polls_open=True)
    sent = len(read_log(bootstrap_servers, topic))
    moved = {
        **RESULTS,
        # more votes, the same leader: only its numbers moved
        ("national", "nation"): DistrictTotals(110, totals={"x": 75, "y": 35}),
        # the mayor's race changes hands
        ("mayor-39035", "county:39035"): DistrictTotals(100, totals={"p": 60, "q": 40}),
    }
    news = call_round(
        database_url,
        bootstrap_servers,
        topic,
        polls_open=True,
        results=moved,
        previous=first,
        decision_only=True,
    )
    assert (
        set(news) == {"mayor-39035|county:39035"} and news["mayor-39035|county:39035"].leader == "p"
    )
    assert len(read_log(bootstrap_servers, topic)) == sent + 1
    # at the refresh, the numbers that moved are written and sent too
    refreshed = call_round(
        database_url,
        bootstrap_servers,
        topic,
        polls_open=True,
        results=moved,
        previous={**first, **news},
    )
    assert set(refreshed) == {"national|nation"} and refreshed["national|nation"].leader_votes == 75


def test_totals_of_an_unknown_contest_are_one_line_and_nothing_is_recorded(
    election, bootstrap_servers
):
    database_url, topic = election
    hostile = {**RESULTS, ("gone|nation", "nation"): DistrictTotals(1, totals={"x": 1})}
    with pytest.raises(ValueError, match="a contest the definition lacks") as refused:
        call_round(database_url, bootstrap_servers, topic, polls_open=True, results=hostile)
    assert "\n" not in str(refused.value)
    assert stored(database_url) == {} and latest_values(bootstrap_servers, topic) == {}


def test_a_schema_3_table_keyed_by_state_is_rekeyed_by_the_upgrade(scratch_database):
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        migrations.migrate(conn)
        conn.execute("DROP TABLE race_calls")
        conn.execute("CREATE TABLE race_calls (scope text PRIMARY KEY, called boolean)")
        conn.execute("INSERT INTO race_calls VALUES ('*', true)")
        conn.execute("UPDATE schema_version SET version = version - 1")
        assert migrations.migrate(conn) is True
        key = conn.execute(
            "SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = 'race_calls'::regclass AND i.indisprimary"
        ).fetchone()[0]
        assert key == ["contest_id", "district_id"]
        assert migrations.installed_version(conn) == schema.VERSION
