"""Race calls: a race is called for its leader only once the runner-up can no longer catch up.

"Catch up" is taken at its most generous: every vote still outstanding goes to the runner-up.
While the polls are open that is every registered voter who has not voted; once they are
closed, only ballots already cast and not yet tallied can come. A possible tie is not a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from election import contract
from election.contest_totals import DistrictTotals
from election.contests import RANKED, Contest


@dataclass(frozen=True)
class RaceCall:
    """The state of one race: who leads, by how much, how many votes could still come."""

    leader: str | None
    runner_up: str | None
    leader_votes: int
    runner_up_votes: int
    margin: int
    outstanding: int  # votes that could still come in (see outstanding_votes)
    called: bool
    contest_id: str | None = None  # the race: a contest in a district (call_contests)
    district_id: str | None = None

    def to_dict(self) -> dict:
        """JSON-safe form, for the race_calls topic and the audit trail."""
        return asdict(self)


def moved(before: RaceCall | None, after: RaceCall, decision_only: bool = False) -> bool:
    """Whether a race's call is news against the one last recorded: any change, or with
    decision_only a change of the decision itself (a new race, another leader or runner-up,
    called or not), not merely of its votes, margin or outstanding ballots."""
    if before is None:
        return True
    if decision_only:
        return (before.leader, before.runner_up, before.called) != (
            after.leader,
            after.runner_up,
            after.called,
        )
    return before != after


def outstanding_votes(registered: int, voted: int, polls_open: bool, untallied: int = 0) -> int:
    """Votes that could still change a race: non-voters while open, untallied ballots after.

    Once the polls are closed no new voter can vote, so only ballots already received and not
    yet tallied (at most the non-voters) are outstanding; closed and drained, none.
    """
    if min(registered, voted, untallied) < 0:
        raise ValueError(f"counts cannot be negative: {registered=} {voted=} {untallied=}")
    if voted > registered:
        raise ValueError(f"{voted} voted but only {registered} are registered")
    not_voted = registered - voted
    return not_voted if polls_open else min(not_voted, untallied)


def call_race(
    totals: Mapping[str, int],
    outstanding: int,
    seats: int = 1,
    contest_id: str | None = None,
    district_id: str | None = None,
) -> RaceCall:
    """Call a race from its totals per candidate and the ballots still outstanding.

    seats: how many win (a contest's vote_for); contest_id and district_id name the race. The
    margin is the last winner's lead over the first loser, the runner-up; every outstanding
    ballot may give that runner-up one vote, so the race is called only when margin >
    outstanding, with more candidates than seats and some votes. Equal totals are ordered by
    candidate id, so a tied leader is stable, and never called.
    """
    if seats < 1:
        raise ValueError(f"a race has at least one seat ({seats})")
    if outstanding < 0:
        raise ValueError(f"outstanding votes cannot be negative ({outstanding})")
    if any(votes < 0 for votes in totals.values()):
        raise ValueError(f"vote totals cannot be negative: {dict(totals)}")
    race = {"contest_id": contest_id, "district_id": district_id}
    standing = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    if not standing or standing[0][1] == 0:
        return RaceCall(None, None, 0, 0, 0, int(outstanding), False, **race)
    leader, leader_votes = standing[0]
    if len(standing) <= seats:
        margin = int(standing[-1][1])
        return RaceCall(leader, None, int(leader_votes), 0, margin, int(outstanding), False, **race)
    runner_up, runner_up_votes = standing[seats]
    margin = int(standing[seats - 1][1] - runner_up_votes)
    return RaceCall(
        leader,
        runner_up,
        int(leader_votes),
        int(runner_up_votes),
        margin,
        int(outstanding),
        margin > outstanding,
        **race,
    )


def call_contests(
    results: Mapping[tuple[str, str], DistrictTotals],
    contests: Iterable[Contest],
    registered: Mapping[str, int],
    polls_open: bool = True,
    untallied: int = 0,
    latest_rounds: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, RaceCall]:
    """Call every contest in every district of its results, by the same rule as the seed's race.

    results: (contest_id, district_id) -> totals (election.contest_totals); registered: voters
    per district. Keyed by contract.contest_key, each call naming its contest and district. A
    district's outstanding ballots are its non-voters while the polls are open, then at most the
    untallied ballots. A plurality contest has vote_for seats, a measure is yes against no. A
    ranked contest is called with a majority of every ballot that could count, which wins
    round 1 whatever the rules, since no later ballot or transfer can take it away; or, once
    nothing is outstanding, for the leader of its rounds' latest round. latest_rounds holds that
    round's tally by choice id for each ranked contest tabulated (election.rcv.latest_tallies):
    in its own district the leader, runner-up and margin are that round's; elsewhere (a county
    of a state's ranked race, or before any rounds) they are the first choices'.
    """
    by_id = {contest.contest_id: contest for contest in contests}
    calls = {}
    for (contest_id, district_id), row in sorted(results.items()):
        contest = by_id.get(contest_id)
        if contest is None:
            raise ValueError(f"totals for {contest_id!r}, a contest the definition lacks")
        voters = registered.get(district_id, 0)
        outstanding = outstanding_votes(
            max(voters, row.ballots), row.ballots, polls_open, untallied
        )
        call = call_race(row.totals, outstanding, contest.vote_for, contest_id, district_id)
        if contest.kind == RANKED:
            majority = call.called and 2 * call.leader_votes > row.ballots + outstanding
            call = replace(call, called=majority)
            latest = (latest_rounds or {}).get(contest_id)
            if latest is not None and district_id == contest.district_id:
                by_rounds = call_race(latest, outstanding, 1, contest_id, district_id)
                alone = by_rounds.leader is not None and by_rounds.runner_up is None
                decided = majority or (outstanding == 0 and (by_rounds.called or alone))
                call = replace(by_rounds, called=decided)
        calls[contract.contest_key(contest_id, district_id)] = call
    return calls
