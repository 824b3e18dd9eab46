"""Race calls: a race is called for its leader only once the runner-up can no longer catch up.

"Catch up" is taken at its most generous: every vote still outstanding goes to the runner-up.
While the polls are open that is every registered voter who has not voted; once they are
closed, only ballots already cast and not yet tallied can come. A possible tie is not a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

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

    def to_dict(self) -> dict:
        """JSON-safe form, for the race_calls topic and the audit trail."""
        return asdict(self)


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


def call_race(totals: Mapping[str, int], outstanding: int, seats: int = 1) -> RaceCall:
    """Call a race from its totals per candidate and the ballots still outstanding.

    seats: how many win (a contest's vote_for). The margin is the last winner's lead over the
    first loser, the runner-up; every outstanding ballot may give that runner-up one vote, so
    the race is called only when margin > outstanding, with more candidates than seats and some
    votes. Equal totals are ordered by candidate id, so a tied leader is stable, and never called.
    """
    if seats < 1:
        raise ValueError(f"a race has at least one seat ({seats})")
    if outstanding < 0:
        raise ValueError(f"outstanding votes cannot be negative ({outstanding})")
    if any(votes < 0 for votes in totals.values()):
        raise ValueError(f"vote totals cannot be negative: {dict(totals)}")
    standing = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    if not standing or standing[0][1] == 0:
        return RaceCall(None, None, 0, 0, 0, int(outstanding), False)
    leader, leader_votes = standing[0]
    if len(standing) <= seats:
        return RaceCall(
            leader, None, int(leader_votes), 0, int(standing[-1][1]), int(outstanding), False
        )
    runner_up, runner_up_votes = standing[seats]
    margin = int(standing[seats - 1][1] - runner_up_votes)
    return RaceCall(
        leader,
        runner_up,
        int(leader_votes),
        int(runner_up_votes),
        margin,
        int(outstanding),
        called=margin > outstanding,
    )


def call_states(
    per_state: Mapping[tuple[str, str], int],
    registered_by_state: Mapping[str, int],
    voted_by_state: Mapping[str, int],
    candidates: Iterable[str] | None = None,
    polls_open: bool = True,
    untallied: int = 0,
) -> dict[str, RaceCall]:
    """Call each state's race; every registered state gets a RaceCall, called or not.

    `candidates` are all those on the ballot (default: every candidate with a vote anywhere),
    so a candidate without votes in a state still stands there as a runner-up at zero.
    `untallied` ballots (after the polls close) are not known by state, so each state may
    receive all of them, up to its non-voters.
    """
    on_ballot = list(
        dict.fromkeys(candidates if candidates is not None else (c for _, c in per_state))
    )
    states = dict.fromkeys([*registered_by_state, *voted_by_state, *(s for s, _ in per_state)])
    calls = {}
    for state in sorted(states):
        registered = registered_by_state.get(state, 0)
        voted = voted_by_state.get(state, 0)
        if voted > registered:
            raise ValueError(f"{state}: {voted} voted but only {registered} are registered")
        totals = {candidate: per_state.get((state, candidate), 0) for candidate in on_ballot}
        calls[state] = call_race(
            totals, outstanding_votes(registered, voted, polls_open, untallied)
        )
    return calls


def call_nation(
    per_state: Mapping[tuple[str, str], int],
    registered_by_state: Mapping[str, int],
    candidates: Iterable[str],
    polls_open: bool = True,
    untallied: int = 0,
) -> dict[str, RaceCall]:
    """The national race ('*', decided by the national vote) and every state's, in one mapping."""
    on_ballot = list(dict.fromkeys(candidates))
    national = dict.fromkeys(on_ballot, 0)
    voted: dict[str, int] = {}
    for (state, candidate), votes in per_state.items():
        voted[state] = voted.get(state, 0) + votes
        national[candidate] = national.get(candidate, 0) + votes
    registered = sum(registered_by_state.values())
    outstanding = outstanding_votes(registered, sum(voted.values()), polls_open, untallied)
    calls = {NATION: call_race(national, outstanding)}
    calls.update(
        call_states(per_state, registered_by_state, voted, on_ballot, polls_open, untallied)
    )
    return calls


NATION = "*"  # the race_calls key of the whole election


def call_contests(
    results: Mapping[tuple[str, str], DistrictTotals],
    contests: Iterable[Contest],
    registered: Mapping[str, int],
    polls_open: bool = True,
    untallied: int = 0,
) -> dict[tuple[str, str], RaceCall]:
    """Call every contest in every district of its results, by the same rule as the seed's race.

    results: (contest_id, district_id) -> totals (election.contest_totals); registered: voters
    per district. A district's outstanding ballots are its non-voters while the polls are open,
    then at most the untallied ballots. A ranked contest is decided by its rounds, not by first
    choices: its leader stands, never called here.
    """
    by_id = {contest.contest_id: contest for contest in contests}
    calls = {}
    for (contest_id, district_id), row in sorted(results.items()):
        contest = by_id[contest_id]
        voters = registered.get(district_id, 0)
        outstanding = outstanding_votes(
            max(voters, row.ballots), row.ballots, polls_open, untallied
        )
        call = call_race(row.totals, outstanding, contest.vote_for)
        if contest.kind == RANKED and call.called:
            call = replace(call, called=False)
        calls[(contest_id, district_id)] = call
    return calls
