"""The recount: the whole ballot log read once in batch, judged by the live tally's own rules.

    python -m spark_jobs.recount [--out DIR] [--topic NAME] [--master URL]

recount() returns plain Python values and writes nothing. The command line reads the roll,
the candidates and the polls from PostgreSQL and reports the result: to Dagster as a Pipes
message when certification launched it, and always as one JSON line on stdout (with --out,
also to DIR/recount.json, for a person recounting by hand).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from election import contract
from election.ballots import utc_iso
from election.contest_totals import judged_totals, results_document
from election.contests import national_contest
from election.rcv_summary import rounds_document
from election.settings import setting
from election_io.ballot_log import committed_offsets
from election_io.elections import read_election_now
from spark_jobs import judging, jvm_judging, ledger, sources
from spark_jobs.pipes import Reporter
from spark_jobs.session import SetupError, build_session


@dataclass
class RecountResult:
    """The recount of a ballot log, with its offset accounting."""

    topic: str
    offsets: dict[int, tuple[int, int]]  # partition -> (first offset, end offset) read
    messages_by_partition: dict[int, int]
    per_candidate: dict[str, int]  # every registered candidate, zeros included
    per_state: dict[tuple[str, str], int]  # (address_state, candidate_id), with votes only
    turnout_by_state: dict[str, int]  # voters counted, states with votes only
    registered_by_state: dict[str, int]
    rejected_by_reason: dict[str, int]  # every reason, zeros included
    # contest_results' key -> ballots, overvotes, undervotes, totals (results_document)
    contests: dict[str, dict] = field(default_factory=dict)
    # a ranked contest's key (its own district) -> its rounds' results, as rcv_rounds has them
    rounds: dict[str, list] = field(default_factory=dict)
    seconds: float = 0.0
    polls: dict[str, str | None] = field(default_factory=dict)

    @property
    def messages(self) -> int:
        return sum(self.messages_by_partition.values())

    @property
    def counted(self) -> int:
        """Ballots counted, whatever contests they hold (a ballot may hold no national choice)."""
        return sum(self.turnout_by_state.values())

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def to_dict(self) -> dict:
        """JSON-safe form; per-state keys as on aggregated_votes_per_state."""
        return {
            "topic": self.topic,
            "messages": self.messages,
            "counted": self.counted,
            "rejected": self.rejected,
            "per_candidate": dict(sorted(self.per_candidate.items())),
            "per_state": {
                contract.state_result_key(s, c): n for (s, c), n in sorted(self.per_state.items())
            },
            "turnout_by_state": dict(sorted(self.turnout_by_state.items())),
            "registered_by_state": dict(sorted(self.registered_by_state.items())),
            "rejected_by_reason": dict(self.rejected_by_reason),
            "contests": self.contests,
            "rounds": self.rounds,
            "messages_by_partition": {
                str(p): n for p, n in sorted(self.messages_by_partition.items())
            },
            "offsets": {str(p): list(r) for p, r in sorted(self.offsets.items())},
            "polls": self.polls,
            "seconds": round(self.seconds, 2),
        }


def recount(
    spark,
    bootstrap: str,
    voters_df,
    candidates_df,
    polls_opened_at: datetime | None,
    polls_closed_at: datetime | None,
    topic: str = contract.VOTES_TOPIC,
    offsets: dict[int, tuple[int, int]] | None = None,
    contests=None,
) -> RecountResult:
    """Recount votes_topic from its first offset to its end now (or to the offsets given).

    contests are the election's (sources.read_contests); None: the seed's national contest of
    the candidates. per_candidate and per_state count the national contest's choice; contests
    are the totals of every contest and district, as the live tally's ledger keeps them.
    """
    started = time.monotonic()
    if offsets is None:
        offsets = committed_offsets(bootstrap, topic)
    partitions = len(offsets)  # every partition of the topic places the ballots, empty or not
    offsets = {p: r for p, r in offsets.items() if r[1] > r[0]}
    candidate_ids = [r.candidate_id for r in candidates_df.select("candidate_id").collect()]
    if contests is None:
        contests = (national_contest(candidate_ids),)
    registered = {
        r.address_state: r["count"] for r in voters_df.groupBy("address_state").count().collect()
    }
    per_candidate = dict.fromkeys(sorted(candidate_ids), 0)
    per_state: dict[tuple[str, str], int] = {}
    turnout: dict[str, int] = {}
    rejected = dict.fromkeys(contract.REJECTION_REASONS, 0)
    by_partition: dict[int, int] = {}
    patterns: dict[tuple, int] = {}  # (state, county, outcomes) -> ballots
    if offsets:
        messages = sources.kafka_batch(spark, bootstrap, topic, offsets)
        roll = jvm_judging.roll_lookup(spark, voters_df)
        judged = judging.first_ballot_per_voter(
            judging.classify(
                judging.parse_ballots(messages, partitions),
                roll,
                contests,
                polls_opened_at,
                polls_closed_at,
            )
        )
        # one pass over the log: every count below is a sum of these cells
        cells = judged.groupBy(
            "partition", "reason", "address_state", "county_fips", "candidate_id", "outcomes"
        ).count()
        rows = cells.collect()
        roll.release()
        for row in rows:
            n = int(row["count"])
            by_partition[row.partition] = by_partition.get(row.partition, 0) + n
            if row.reason is not None:
                rejected[row.reason] += n
                continue
            turnout[row.address_state] = turnout.get(row.address_state, 0) + n
            if row.outcomes is not None:
                pattern = (row.address_state, row.county_fips, row.outcomes)
                patterns[pattern] = patterns.get(pattern, 0) + n
            if row.candidate_id is None:  # a ballot with no single national vote
                continue
            per_candidate[row.candidate_id] = per_candidate.get(row.candidate_id, 0) + n
            key = (row.address_state, row.candidate_id)
            per_state[key] = per_state.get(key, 0) + n
    totals = judged_totals(contests, ((*p, n) for p, n in patterns.items()))
    return RecountResult(
        topic=topic,
        offsets=offsets,
        messages_by_partition=by_partition,
        per_candidate=per_candidate,
        per_state=per_state,
        turnout_by_state=turnout,
        registered_by_state=registered,
        rejected_by_reason=rejected,
        contests=results_document(totals.results),
        rounds=rounds_document(contests, totals.rankings),
        seconds=time.monotonic() - started,
        polls={
            "opened_at": utc_iso(polls_opened_at) if polls_opened_at else None,
            "closed_at": utc_iso(polls_closed_at) if polls_closed_at else None,
        },
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spark_jobs.recount", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", help="folder to write recount.json into")
    parser.add_argument("--topic", default=contract.VOTES_TOPIC)
    parser.add_argument("--master", help="default: SPARK_MASTER (or spark-submit's)")
    args = parser.parse_args(argv)
    reporter = Reporter.open()
    try:
        return _recount_command(args, reporter)
    finally:
        reporter.close()


def _recount_command(args, reporter: Reporter) -> int:
    database_url, bootstrap = setting("DATABASE_URL"), setting("KAFKA_BOOTSTRAP_SERVERS")
    try:
        sources.check_postgres(database_url)
        sources.check_kafka(bootstrap)
        spark = build_session("recount", master=args.master)
    except (sources.ServiceMissing, SetupError) as exc:
        reporter.error(f"recount: {exc}")
        return 2
    try:
        with ledger.connect(database_url) as conn:
            window = read_election_now(conn)
        if window.election_id is None:
            reporter.error("recount: no election is registered yet")
            return 2
        voters = sources.read_roll(spark, database_url).cache()
        candidates = sources.read_candidates(spark, database_url).cache()
        print(
            f"recounting {args.topic} for election {window.election_id} ({window.status})",
            file=sys.stderr,
        )
        result = recount(
            spark,
            bootstrap,
            voters,
            candidates,
            window.polls_opened_at,
            window.polls_closed_at,
            args.topic,
            contests=sources.read_contests(
                database_url, [r.candidate_id for r in candidates.collect()]
            ),
        )
        document = {"event": "recount", "election_id": window.election_id, **result.to_dict()}
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / "recount.json").write_text(json.dumps(document, indent=2) + "\n")
        reporter.event(
            document,
            summary=f"recounted {result.messages:,} messages: {result.counted:,} counted, "
            f"{result.rejected:,} rejected in {result.seconds:.1f} s",
        )
        return 0
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
