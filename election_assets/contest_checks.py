"""Certification's reconciliation per contest and district: the recount equals the live totals,
each contest's votes add up to the ballots of the ledger that held it, and each ranked
contest's rounds are the same from the recount, the live rankings and the ballots ledger."""

from typing import NamedTuple

import dagster as dg
import psycopg

from election import contract
from election.contest_totals import ContestTotals, DistrictTotals, judged_totals, results_document
from election.contests import Contest
from election.rcv_summary import rounds_document
from election_assets.shared import differences
from election_io.contest_tables import ledger_patterns, read_rankings, read_totals
from election_io.definitions import election_contests

CHECK_RECOUNT_CONTESTS = "recount_equals_live_totals_per_contest"
CHECK_CONTEST_VOTES = "contest_votes_add_up_per_district"
CHECK_RECOUNT_ROUNDS = "recount_equals_live_rounds"


def flat(document: dict[str, dict]) -> dict[str, int]:
    """A results document (election.contest_totals.results_document) as one number per name:
    `<contest>|<district> ballots`, `... overvotes`, `... undervotes`, `... votes <choice>`."""
    found: dict[str, int] = {}
    for key, row in document.items():
        for name in ("ballots", "overvotes", "undervotes"):
            found[f"{key} {name}"] = int(row[name])
        for choice_id, votes in row["totals"].items():
            found[f"{key} votes {choice_id}"] = int(votes)
    return found


def check_recount_contests(conn: psycopg.Connection, recount: dict) -> dg.AssetCheckResult:
    """The recount's totals per contest and district equal the live tally's (contest_totals)."""
    if "contests" not in recount:
        return dg.AssetCheckResult(
            passed=False,
            metadata={
                "problem": "the recount has no contest totals: run certify_results_job again"
            },
        )
    live = results_document({key: row for key, (row, _at) in read_totals(conn).items()})
    diff = differences(flat(recount["contests"]), flat(live))
    return dg.AssetCheckResult(
        passed=not diff,
        metadata={"keys": len(live), "differences": dg.MetadataValue.json(diff or {})},
    )


class Ledger(NamedTuple):
    """The ballots ledger totalled by the election's contests, read once for every check that
    needs it; problem says why its outcomes cannot be (totals None)."""

    contests: tuple[Contest, ...]
    totals: ContestTotals | None
    problem: str | None


def read_ledger(conn: psycopg.Connection) -> Ledger:
    """The election's contests and what the ballots ledger's outcomes come to in them."""
    contests = tuple(election_contests(conn))
    try:
        return Ledger(contests, judged_totals(contests, ledger_patterns(conn)), None)
    except (KeyError, TypeError, ValueError) as exc:  # outcomes the definition does not match
        problem = f"the ballots ledger's outcomes do not fit the election's contests ({exc!r})"
        return Ledger(contests, None, problem)


def check_contest_votes(
    conn: psycopg.Connection, ledger: Ledger | None = None
) -> dg.AssetCheckResult:
    """For every contest and district: the ballots of the ledger whose voter's style holds the
    contest are the live ballots, and ballots x vote_for = votes + overvotes + undervotes.
    ledger: read_ledger's, read here when not given."""
    ledger = ledger or read_ledger(conn)
    if ledger.totals is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": ledger.problem})
    contests = {c.contest_id: c for c in ledger.contests}
    with_style = ledger.totals.results
    live = {key: row for key, (row, _at) in read_totals(conn).items()}
    keys = set(live) | {key for key, row in with_style.items() if row.ballots}
    wrong = {}
    for key in sorted(keys):
        row = live.get(key, DistrictTotals())
        ballots = with_style[key].ballots if key in with_style else 0
        contest = contests.get(key[0])
        vote_for = contest.vote_for if contest is not None else None
        marks = row.votes + row.overvotes + row.undervotes
        if vote_for is None or ballots != row.ballots or ballots * vote_for != marks:
            wrong[contract.contest_key(*key)] = {
                "ballots_with_style": ballots,
                "ballots": row.ballots,
                "vote_for": vote_for,
                "votes": row.votes,
                "overvotes": row.overvotes,
                "undervotes": row.undervotes,
            }
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"keys": len(keys), "wrong": dg.MetadataValue.json(wrong)},
    )


def check_recount_rounds(
    conn: psycopg.Connection, recount: dict, ledger: Ledger | None = None
) -> dg.AssetCheckResult:
    """Every ranked contest's rounds (tallies, transfers, inactive ballots, winner) are the same
    tabulated from the recount, from the live tally's rankings (rcv_rankings) and from the
    ballots ledger's whole rankings. ledger: read_ledger's, read here when not given."""
    if "rounds" not in recount:
        return dg.AssetCheckResult(
            passed=False,
            metadata={"problem": "the recount has no rounds: run certify_results_job again"},
        )
    ledger = ledger or read_ledger(conn)
    if ledger.totals is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": ledger.problem})
    live = rounds_document(ledger.contests, read_rankings(conn))
    in_ledger = rounds_document(ledger.contests, ledger.totals.rankings)
    wrong = {}
    for key in sorted(set(live) | set(recount["rounds"]) | set(in_ledger)):
        found = {"recount": recount["rounds"].get(key), "live": live.get(key)}
        found["ledger"] = in_ledger.get(key)
        if not found["recount"] == found["live"] == found["ledger"]:
            wrong[key] = {name: _last_round(rounds) for name, rounds in found.items()}
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={
            "contests": len(live),
            "rounds": sum(len(r) for r in live.values() if isinstance(r, list)),
            "differences": dg.MetadataValue.json(wrong),
        },
    )


def _last_round(rounds) -> object:
    """What a difference shows of a contest's rounds: how many, and the last one."""
    if not isinstance(rounds, list) or not rounds:
        return rounds
    return {"rounds": len(rounds), "last": rounds[-1]}
