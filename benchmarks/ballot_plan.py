"""Planning and encoding multi-contest ballots vs. the seed's one-candidate ballots, same roll.

python -m benchmarks.ballot_plan [--voters 1000000]

Plans the voting day for an offline roll in the default election (election.selection_draws:
every contest of each voter's ballot style) and encodes every ballot as its message; the
reference is the same plan and encoding for the seed's shape, in the same run. Pure: no
service is used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from benchmarks._common import report
from election import ballots, roll, turnout
from election.default_election import default_election
from election.definition import with_national_choices

POLLS_OPEN = dt.datetime(2024, 11, 5, 7, tzinfo=dt.UTC)
VOTING_DAY = dt.timedelta(hours=13)


def timed(work):
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(f"generating an offline roll of {args.voters:,} voters", flush=True)
    voters = roll.generate_voters(args.voters, seed=3, election_day=POLLS_OPEN.date())
    registered = roll.generate_candidates(4, seed=3)
    candidate_ids = [c["candidate_id"] for c in registered]
    definition = with_national_choices(
        default_election(),
        [(c["candidate_id"], c["candidate_name"], c["party_affiliation"]) for c in registered],
    )
    arguments = (voters["voter_id"], voters["address_state"], candidate_ids)
    seed_plan_s, seed_plan = timed(
        lambda: turnout.plan_election(*arguments, seed=5, problem_share=0.02)
    )
    plan_s, plan = timed(
        lambda: turnout.plan_election(
            *arguments,
            seed=5,
            problem_share=0.02,
            contests=definition.contests,
            voter_counties=voters["county_fips"],
        )
    )
    times = plan.voting_times(POLLS_OPEN, VOTING_DAY)
    seed_encode_s, _ = timed(
        lambda: ballots.encode_ballots(plan.vote_id, plan.voter_id, plan.candidate_id, times)
    )
    encode_s, values = timed(
        lambda: ballots.encode_selection_ballots(
            plan.vote_id, plan.voter_id, plan.selections.fragments(), times
        )
    )
    contests = int((plan.selections.codes >= 0).sum())
    print(
        f"{len(plan):,} ballots, {contests:,} selections: planned in {plan_s:.2f} s "
        f"(seed shape {seed_plan_s:.2f} s), encoded in {encode_s:.2f} s "
        f"(seed shape {seed_encode_s:.2f} s), {sum(map(len, values)) / len(values):.0f} bytes each"
    )
    report(
        "ballot_plan",
        voters=args.voters,
        ballots=len(seed_plan),
        selections=contests,
        plan_s=round(plan_s, 2),
        encode_s=round(encode_s, 2),
        ballots_per_s=round(len(plan) / (plan_s + encode_s)),
        baseline=round(len(plan) / (seed_plan_s + seed_encode_s)),
        ratio=round((seed_plan_s + seed_encode_s) / (plan_s + encode_s), 3),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
