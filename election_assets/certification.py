"""Certification: a batch recount of the whole ballot log, reconciled, checked, then certified."""

import csv
import json
from pathlib import Path

import dagster as dg
import psycopg

from election import contract, race_call
from election.contest_totals import voters_by_district
from election.contests import NATION, NATIONAL_CONTEST, home_state_name
from election.rcv import latest_tallies, ranked_rounds, rcv_winner
from election.settings import setting
from election_assets import lifecycle
from election_assets.contest_checks import (
    CHECK_CONTEST_VOTES,
    CHECK_RECOUNT_CONTESTS,
    CHECK_RECOUNT_ROUNDS,
    check_contest_votes,
    check_recount_contests,
    check_recount_rounds,
    read_ledger,
)
from election_assets.resources import KafkaResource, PostgresResource, SparkLauncher
from election_assets.resources.spark_launcher import ApplicationFailed
from election_assets.shared import ROOT, differences, named_results, tally_backlog
from election_assets.tally import live_results
from election_io import contest_tables, race_calls
from election_io.definitions import election_contests
from election_io.elections import read_election
from election_io.publisher import ResultPublisher

CHECK_RECOUNT_CANDIDATES = "recount_equals_live_totals_per_candidate"
CHECK_RECOUNT_STATES = "recount_equals_live_totals_per_state"
CHECK_LEDGER_POLL_BOOK = "ledger_equals_poll_book_per_state"
CHECK_POLL_BOOK_UNIQUE = "no_voter_twice_in_poll_book"
CHECK_TURNOUT_BOUND = "turnout_within_registration"
CHECK_OFFSETS = "every_ballot_counted_or_rejected"


def export_root() -> Path:
    return Path(setting("ELECTION_EXPORT_DIR") or ROOT / "exports")


def run_recount(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    spark_launcher: SparkLauncher,
    out: Path,
) -> dict:
    """The Spark recount in its own process (spark_jobs.recount), through Dagster Pipes.

    It counts the database and broker of the resources; its log lines reach the run's log as
    it goes, and its result is the recount.json it writes into out (a whole election's result
    is too large a line for Pipes' message file, which its reader may take half-written).
    """
    document = out / "recount.json"
    document.unlink(missing_ok=True)
    try:
        spark_launcher.run(
            context,
            "spark_jobs.recount",
            ["--out", str(out)],
            env={
                "DATABASE_URL": postgres.database_url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            },
        )
    except ApplicationFailed as exc:
        raise dg.Failure(f"the recount failed ({exc}); its reason is in the log above") from None
    if not document.exists():
        raise dg.Failure(f"the recount finished without writing {document}")
    return json.loads(document.read_text())


def recount_rows(recount: dict) -> list[tuple[str, str, int]]:
    """(address_state, candidate_id, total) rows; '*' is the whole election."""
    rows = [("*", c, int(n)) for c, n in recount["per_candidate"].items()]
    for key, n in recount["per_state"].items():
        state, _, candidate = key.rpartition("|")
        rows.append((state, candidate, int(n)))
    return rows


@dg.asset(group_name="certification", kinds={"spark", "postgres"}, deps=[live_results])
def certified_results(
    context: dg.AssetExecutionContext,
    postgres: PostgresResource,
    kafka: KafkaResource,
    spark_launcher: SparkLauncher,
) -> dg.MaterializeResult:
    """The recounted result: totals per candidate and per state, turnout, winner and margin."""
    postgres.check_schema()
    with postgres.connect() as conn:
        election = read_election(conn)
    if election is None or election.status != contract.CLOSED:
        status = election.status if election else "not registered"
        raise dg.Failure(f"certification needs closed polls; the election is {status}")
    behind = tally_backlog(postgres, kafka)
    if not behind.tallied:
        held = (
            f", {behind.open_transactions} partitions held by an open transaction"
            if behind.open_transactions
            else ""
        )
        raise dg.Failure(
            f"the live tally has not drained (about {behind.behind:,} committed ballots "
            f"untallied{held}): let live_aggregation_job finish first"
        )
    out = export_root() / f"election-{election.election_id}"
    out.mkdir(parents=True, exist_ok=True)
    recount = run_recount(context, postgres, kafka, spark_launcher, out)
    rows = recount_rows(recount)
    registered = recount["registered_by_state"]
    voted = recount["turnout_by_state"]
    with postgres.connect() as conn:
        conn.execute("TRUNCATE certified_results")
        with conn.cursor().copy(
            "COPY certified_results (address_state, candidate_id, total_votes, "
            "registered_voters, voters_voted) FROM STDIN"
        ) as copy:
            for state, candidate, total in rows:
                if state == "*":
                    copy.write_row(
                        (state, candidate, total, sum(registered.values()), sum(voted.values()))
                    )
                else:
                    copy.write_row(
                        (state, candidate, total, registered.get(state), voted.get(state))
                    )
        conn.execute(
            "INSERT INTO certified_recounts (election_id, document) VALUES (%s, %s) "
            "ON CONFLICT (election_id) DO UPDATE SET document = excluded.document, at = now()",
            (election.election_id, json.dumps(recount)),
        )
    winner = race_call.call_race(recount["per_candidate"], 0)
    with (out / "certified_results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["address_state", "candidate_id", "total_votes"])
        writer.writerows(rows)
    (out / "certified_results.json").write_text(
        json.dumps(
            {
                "election_id": election.election_id,
                "winner": winner.leader,
                "margin": winner.margin,
                "per_candidate": recount["per_candidate"],
                "per_state": recount["per_state"],
                "turnout_by_state": voted,
                "registered_by_state": registered,
                "rejected_by_reason": recount["rejected_by_reason"],
                "messages": recount["messages"],
            },
            indent=2,
        )
    )
    table = "| candidate | votes |\n|---|---|\n" + "\n".join(
        f"| {c} | {n:,} |" for c, n in sorted(recount["per_candidate"].items(), key=lambda x: -x[1])
    )
    return dg.MaterializeResult(
        metadata={
            "election_id": election.election_id,
            "winner": winner.leader or "none",
            "margin": winner.margin,
            "ballots_counted": recount["counted"],
            "ballots_rejected": recount["rejected"],
            "messages_recounted": recount["messages"],
            "recount_seconds": recount["seconds"],
            "totals": dg.MetadataValue.md(table),
            "exports": dg.MetadataValue.path(str(out)),
        }
    )


# --- reconciliation checks: plain functions, so tests can run them on any data -------------


def latest_recount(conn: psycopg.Connection) -> dict:
    row = conn.execute(
        "SELECT document FROM certified_recounts ORDER BY election_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise dg.Failure("no recount has been recorded yet")
    return row[0]


def check_recount_candidates(conn: psycopg.Connection, recount: dict) -> dg.AssetCheckResult:
    live = {
        c: int(n)
        for c, n in conn.execute("SELECT candidate_id, total_votes FROM tally_by_candidate")
    }
    diff = differences({c: int(n) for c, n in recount["per_candidate"].items()}, live)
    return dg.AssetCheckResult(
        passed=not diff, metadata={"differences": dg.MetadataValue.json(diff or {})}
    )


def check_recount_states(conn: psycopg.Connection, recount: dict) -> dg.AssetCheckResult:
    live = {
        contract.state_result_key(s, c): int(n)
        for s, c, n in conn.execute(
            "SELECT address_state, candidate_id, total_votes FROM tally_by_state"
        )
    }
    diff = differences({k: int(n) for k, n in recount["per_state"].items()}, live)
    return dg.AssetCheckResult(
        passed=not diff,
        metadata={"keys": len(live), "differences": dg.MetadataValue.json(diff or {})},
    )


def check_ledger_poll_book(conn: psycopg.Connection) -> dg.AssetCheckResult:
    ledger = dict(conn.execute("SELECT address_state, count(*) FROM ballots GROUP BY 1"))
    poll_book = dict(
        conn.execute(
            "SELECT v.address_state, count(*) FROM voter_turnout t "
            "JOIN voters v USING (voter_id) GROUP BY 1"
        )
    )
    diff = differences(ledger, poll_book)
    return dg.AssetCheckResult(
        passed=not diff,
        metadata={
            "ballots": sum(ledger.values()),
            "poll_book": sum(poll_book.values()),
            "differences": dg.MetadataValue.json(diff or {}),
        },
    )


def check_poll_book_unique(conn: psycopg.Connection) -> dg.AssetCheckResult:
    rows, distinct = conn.execute(
        "SELECT count(*), count(DISTINCT voter_id) FROM voter_turnout"
    ).fetchone()
    return dg.AssetCheckResult(passed=rows == distinct, metadata={"rows": rows, "voters": distinct})


def check_turnout_bound(conn: psycopg.Connection) -> dg.AssetCheckResult:
    over = conn.execute(
        "SELECT r.address_state, coalesce(t.voted, 0), r.registered FROM "
        "(SELECT address_state, count(*) AS registered FROM voters GROUP BY 1) r LEFT JOIN "
        "(SELECT address_state, sum(total_votes) AS voted FROM tally_by_state GROUP BY 1) t "
        "USING (address_state) WHERE coalesce(t.voted, 0) > r.registered"
    ).fetchall()
    return dg.AssetCheckResult(
        passed=not over, metadata={"states_over": ", ".join(s for s, _, _ in over) or "none"}
    )


def check_offsets(conn: psycopg.Connection, recount: dict, drained: bool) -> dg.AssetCheckResult:
    """Every committed message on votes_topic ended counted or rejected, live and in the recount.

    The recount reads every committed message (markers and aborted transactions are none), so
    with the log drained, the live tally judged exactly the messages the recount read.
    """
    (tallied,) = conn.execute("SELECT coalesce(sum(messages), 0) FROM tally_batches").fetchone()
    (counted,) = conn.execute("SELECT count(*) FROM voter_turnout").fetchone()
    (rejected,) = conn.execute("SELECT count(*) FROM rejected_ballots").fetchone()
    on_log = recount["messages"]
    live_ok = drained and tallied == counted + rejected == on_log
    recount_ok = recount["messages"] == recount["counted"] + recount["rejected"]
    return dg.AssetCheckResult(
        passed=live_ok and recount_ok,
        metadata={
            "log_drained": drained,
            "committed_messages": on_log,
            "live_tallied": int(tallied),
            "live_counted": counted,
            "live_rejected": rejected,
            "recount_messages": recount["messages"],
            "recount_counted": recount["counted"],
            "recount_rejected": recount["rejected"],
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=certified_results, blocking=True)
        for name in (
            CHECK_RECOUNT_CANDIDATES,
            CHECK_RECOUNT_STATES,
            CHECK_LEDGER_POLL_BOOK,
            CHECK_POLL_BOOK_UNIQUE,
            CHECK_TURNOUT_BOUND,
            CHECK_OFFSETS,
            CHECK_RECOUNT_CONTESTS,
            CHECK_CONTEST_VOTES,
            CHECK_RECOUNT_ROUNDS,
        )
    ]
)
def reconciliation_checks(postgres: PostgresResource, kafka: KafkaResource):
    """The recount, the live tally, the ledger and the poll book agree, per contest too."""
    drained = tally_backlog(postgres, kafka).tallied
    with postgres.connect() as conn:
        recount = latest_recount(conn)
        ledger = read_ledger(conn)  # the ballots ledger, read once for the checks per contest
        results = {
            CHECK_RECOUNT_CANDIDATES: check_recount_candidates(conn, recount),
            CHECK_RECOUNT_STATES: check_recount_states(conn, recount),
            CHECK_LEDGER_POLL_BOOK: check_ledger_poll_book(conn),
            CHECK_POLL_BOOK_UNIQUE: check_poll_book_unique(conn),
            CHECK_TURNOUT_BOUND: check_turnout_bound(conn),
            CHECK_OFFSETS: check_offsets(conn, recount, drained),
            CHECK_RECOUNT_CONTESTS: check_recount_contests(conn, recount),
            CHECK_CONTEST_VOTES: check_contest_votes(conn, ledger),
            CHECK_RECOUNT_ROUNDS: check_recount_rounds(conn, recount, ledger),
        }
    yield from named_results("certified_results", results)


def final_race_calls(
    conn: psycopg.Connection, kafka: KafkaResource, actor: str, rounds=None
) -> dict:
    """The certified count's race calls, by contest|district: nothing is outstanding, so every
    untied race is called, in every contest and district.

    The live calls are the tally's own (spark_jobs.ledger_writer); these are the last word,
    from the same committed totals, recorded (final) and published the same way. rounds: the
    ranked contests' (committed_rounds), read here when not given.
    """
    contests = election_contests(conn)
    homes = contest_tables.registered_homes(conn)
    election = read_election(conn)
    publisher = ResultPublisher(kafka.bootstrap_servers)
    if rounds is None:
        rounds = committed_rounds(conn, contests)
    return race_calls.call_record_publish(
        conn,
        publisher,
        contract.RACE_CALLS_TOPIC,
        contest_tables.every_race(conn, contests, homes),
        contests,
        voters_by_district(homes),
        polls_open=False,
        untallied=0,
        election_id=election.election_id if election else None,
        actor=actor,
        final=True,
        latest_rounds=latest_tallies(contests, rounds),
    )


def committed_rounds(conn: psycopg.Connection, contests) -> dict:
    """Each ranked contest's rounds tabulated from the live tally's committed rankings."""
    rounds, _refused = ranked_rounds(contests, contest_tables.read_rankings(conn))
    return rounds


@dg.asset(group_name="certification", kinds={"postgres"}, deps=[certified_results])
def certification(
    context: dg.AssetExecutionContext, postgres: PostgresResource, kafka: KafkaResource
) -> dg.MaterializeResult:
    """The election certified: runs only when every reconciliation check passed."""
    with postgres.connect() as conn:
        # each contest's winner where it is decided (its own district), once called; a ranked
        # contest's is the one its rounds elect
        contests = election_contests(conn)
        rounds = committed_rounds(conn, contests)
        calls = final_race_calls(conn, kafka, context.run.run_id, rounds)
        winners = {}
        for contest in contests:
            call = calls.get(contract.contest_key(contest.contest_id, contest.district_id))
            if contest.contest_id in rounds:
                elected = rcv_winner(contest, rounds[contest.contest_id])
                if elected is not None:
                    winners[contest.contest_id] = elected
            elif call is not None and call.called:
                winners[contest.contest_id] = call.leader
        national = calls.get(contract.contest_key(NATIONAL_CONTEST, NATION))
        winner = national.leader if national else None  # an imported election may have none
        election = lifecycle.transition(conn, contract.CERTIFIED, context.run.run_id)
        lifecycle.audit(
            conn,
            election.election_id,
            context.run.run_id,
            "certify",
            "ok",
            {
                "winner": winner,
                "margin": national.margin if national else None,
                "contests_called": len(winners),
            },
        )
    return dg.MaterializeResult(
        metadata={
            "election_id": election.election_id,
            "certified_at": str(election.certified_at),
            "winner": winner or "none",
            "winners": dg.MetadataValue.json(winners),
            "states_called": sum(
                1
                for c in calls.values()
                if c.contest_id == NATIONAL_CONTEST and home_state_name(c.district_id) and c.called
            ),
            "races_called": sum(1 for c in calls.values() if c.called),
        }
    )


certify_results_job = dg.define_asset_job(
    contract.CERTIFY_RESULTS_JOB,
    selection=dg.AssetSelection.groups("certification"),
    description="Recount the whole ballot log, reconcile it with the live tally, and certify.",
)
