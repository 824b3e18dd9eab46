"""The standings read off a result snapshot: leader, margins, states, turnout, the count over time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from election import projection, reporting
from election.contests import NATION, home_state_district, home_state_name
from election.geography import US_STATE_CODES
from election.result_status import share
from election.turnout import EXPECTED_TURNOUT
from streamlit_app.called_races import called_for, national_calls
from streamlit_app.reader import ResultSnapshot, parse_time

_US_CODES = frozenset(US_STATE_CODES.values())


@dataclass(frozen=True)
class Standing:
    """One candidate's place in the count."""

    candidate_id: str
    candidate_name: str
    party_affiliation: str
    photo_url: str | None
    total_votes: int
    share: float  # of ballots counted, 0..1


@dataclass(frozen=True)
class Lead:
    """The leader and how far ahead of the runner-up."""

    leader: Standing
    runner_up: Standing | None
    margin_votes: int
    margin_share: float  # in share of ballots counted, 0..1

    @property
    def tied(self) -> bool:
        return self.runner_up is not None and self.margin_votes == 0


def _votes(result: Mapping) -> int:
    try:
        return max(0, int(result.get("total_votes") or 0))
    except (TypeError, ValueError):
        return 0


def standings(snapshot: ResultSnapshot) -> list[Standing]:
    """Every candidate with results, most votes first (ties by name, so the order is stable)."""
    counted = snapshot.ballots_counted
    rows = [
        Standing(
            candidate_id=str(result.get("candidate_id") or key),
            candidate_name=str(result.get("candidate_name") or key),
            party_affiliation=str(result.get("party_affiliation") or ""),
            photo_url=result.get("photo_url") or None,
            total_votes=_votes(result),
            share=share(_votes(result), counted),
        )
        for key, result in snapshot.candidates.items()
    ]
    return sorted(rows, key=lambda row: (-row.total_votes, row.candidate_name))


def lead(ranked: list[Standing]) -> Lead | None:
    """The leader's lead over the runner-up, from standings sorted by votes."""
    if not ranked:
        return None
    leader = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else None
    margin = leader.total_votes - (runner_up.total_votes if runner_up else 0)
    margin_share = leader.share - (runner_up.share if runner_up else 0.0)
    return Lead(leader, runner_up, margin, margin_share)


def state_code(address_state: str) -> str | None:
    """The two-letter code of a US state (full name or code), else None."""
    if address_state in US_STATE_CODES:
        return US_STATE_CODES[address_state]
    upper = address_state.upper()
    return upper if upper in _US_CODES else None


def are_us_states(states: list[str]) -> bool:
    """Whether the states are real US states, so a map can show them."""
    return bool(states) and all(state_code(state) for state in states)


def turnout_by_state(snapshot: ResultSnapshot) -> pd.DataFrame:
    """Ballots counted against registered voters per state, highest turnout first."""
    rows = []
    for key, result in snapshot.turnout.items():
        state = str(result.get("address_state") or key)
        registered = _votes({"total_votes": result.get("registered_voters")})
        ballots = _votes(result)
        rows.append(
            {
                "address_state": state,
                "state_code": state_code(state),
                "ballots": ballots,
                "registered_voters": registered,
                "turnout": share(ballots, registered),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["address_state", "state_code", "ballots", "registered_voters", "turnout"]
    )
    return frame.sort_values(
        ["turnout", "address_state"], ascending=[False, True], ignore_index=True
    )


def state_leaders(snapshot: ResultSnapshot) -> pd.DataFrame:
    """Who leads in each state, by how much, and whether the state has been called."""
    by_state: dict[str, list[tuple[int, str, str, str]]] = {}
    for result in snapshot.states.values():
        state = str(result.get("address_state") or "")
        name = str(result.get("candidate_name") or result.get("candidate_id") or "")
        by_state.setdefault(state, []).append(
            (
                _votes(result),
                name,
                str(result.get("party_affiliation") or ""),
                str(result.get("candidate_id") or ""),
            )
        )
    names = candidate_names(snapshot)
    calls = national_calls(snapshot)
    rows = []
    for state, results in by_state.items():
        results.sort(key=lambda row: (-row[0], row[1]))
        ballots = sum(row[0] for row in results)
        votes, name, party, candidate_id = results[0]
        runner_up = results[1][0] if len(results) > 1 else 0
        rows.append(
            {
                "address_state": state,
                "state_code": state_code(state),
                "leader": "Tied" if ballots and votes == runner_up else name,
                "party_affiliation": "" if votes == runner_up else party,
                "candidate_id": "" if votes == runner_up else candidate_id,
                "votes": votes,
                "share": share(votes, ballots),
                "margin_votes": votes - runner_up,
                "ballots": ballots,
                "called_for": called_for(calls.get(home_state_district(state)) or {}, names),
            }
        )
    columns = [
        "address_state",
        "state_code",
        "leader",
        "party_affiliation",
        "candidate_id",
        "votes",
        "share",
        "margin_votes",
        "ballots",
        "called_for",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("address_state", ignore_index=True)


def count_over_time(snapshot: ResultSnapshot, names: Mapping[str, str]) -> pd.DataFrame:
    """At each moment the count moved: each candidate's running total and share, long format."""
    rows = []
    for minute, totals in snapshot.history:
        counted = sum(totals.values())
        if not counted:  # before the first ballot there is no share to show
            continue
        for candidate_id, total in totals.items():
            rows.append(
                {
                    "minute": minute,
                    "candidate_name": names.get(candidate_id, candidate_id),
                    "total_votes": total,
                    "share": share(total, counted),
                }
            )
    return pd.DataFrame(rows, columns=["minute", "candidate_name", "total_votes", "share"])


# Bucket sizes for the count over time, so a span of seconds or of a day reads alike.
BUCKETS = (
    (1, "1 s"),
    (5, "5 s"),
    (15, "15 s"),
    (60, "minute"),
    (300, "5 minutes"),
    (900, "15 minutes"),
    (3600, "hour"),
)
MAX_BARS = 60


def bucket_for(span_seconds: float) -> tuple[int, str]:
    """The smallest bucket that shows the span in at most MAX_BARS bars."""
    for seconds, label in BUCKETS:
        if span_seconds / seconds <= MAX_BARS:
            return seconds, label
    return BUCKETS[-1]


def ballots_over_time(snapshot: ResultSnapshot) -> tuple[pd.DataFrame, int, str]:
    """Ballots counted per time bucket (sized to the span), the bucket's seconds and name."""
    if not snapshot.history:
        return pd.DataFrame(columns=["at", "ballots"]), BUCKETS[0][0], BUCKETS[0][1]
    first, last = snapshot.history[0][0], snapshot.history[-1][0]
    seconds, label = bucket_for((last - first).total_seconds())
    origin = first.timestamp() // seconds * seconds
    counts: dict[float, int] = {}
    previous = 0
    for moment, totals in snapshot.history:
        counted = sum(totals.values())
        start = origin + (moment.timestamp() - origin) // seconds * seconds
        counts[start] = counts.get(start, 0) + max(0, counted - previous)
        previous = counted
    frame = pd.DataFrame(
        {
            "at": pd.to_datetime(list(counts), unit="s", utc=True),
            "ballots": list(counts.values()),
        }
    )
    return frame, seconds, label


def rejections(snapshot: ResultSnapshot) -> pd.DataFrame:
    """Rejected ballots by reason, most first."""
    frame = pd.DataFrame(
        sorted(snapshot.rejected_by_reason.items(), key=lambda item: (-item[1], item[0])),
        columns=["reason", "ballots"],
    )
    return frame


def candidate_names(snapshot: ResultSnapshot) -> dict[str, str]:
    """candidate_id -> name, from the candidates' results."""
    return {
        str(result.get("candidate_id") or key): str(result.get("candidate_name") or key)
        for key, result in snapshot.candidates.items()
    }


WHOLE_ELECTION = "Whole election"


def race_calls(snapshot: ResultSnapshot) -> pd.DataFrame:
    """The national race's calls so far (the whole election, each state by name), the newest
    first, with the time each was made."""
    names = candidate_names(snapshot)
    rows = []
    for district_id, call in national_calls(snapshot).items():
        winner = called_for(call, names)
        if not winner:
            continue
        moment = parse_time(call.get("called_at") or call.get("updated_at"))
        rows.append(
            {
                "race": WHOLE_ELECTION if district_id == NATION else home_state_name(district_id),
                "called_for": winner,
                "margin": _votes({"total_votes": call.get("margin")}),
                "outstanding": _votes({"total_votes": call.get("outstanding")}),
                "called_at": f"{moment:%H:%M:%S} UTC" if moment else "",
                "moment": moment.timestamp() if moment else 0.0,
            }
        )
    # newest first; at the same moment the whole election first, then states by name
    rows.sort(key=lambda row: (-row["moment"], row["race"] != WHOLE_ELECTION, row["race"]))
    return pd.DataFrame(
        rows, columns=["race", "called_for", "margin", "outstanding", "called_at", "moment"]
    ).drop(columns="moment")


def _counted_by_state(snapshot: ResultSnapshot) -> dict[tuple[str, str], int]:
    counted: dict[tuple[str, str], int] = {}
    for result in snapshot.states.values():
        state = str(result.get("address_state") or "")
        candidate_id = str(result.get("candidate_id") or "")
        if state and candidate_id:
            counted[(state, candidate_id)] = _votes(result)
    return counted


def _registered_by_state(snapshot: ResultSnapshot) -> dict[str, int]:
    return {
        str(result.get("address_state") or key): _votes(
            {"total_votes": result.get("registered_voters")}
        )
        for key, result in snapshot.turnout.items()
    }


def reporting_by_state(
    snapshot: ResultSnapshot, complete: bool, expected_turnout: float = EXPECTED_TURNOUT
) -> pd.DataFrame:
    """Per state, like an election-night desk: counted, share of the roll, expected vote
    reporting, the leader's margin and what the runner-up needs of the vote still expected."""
    names = candidate_names(snapshot)
    totals: dict[str, dict[str, int]] = {}
    for (state, candidate_id), votes in _counted_by_state(snapshot).items():
        totals.setdefault(state, {})[candidate_id] = votes
    registered = _registered_by_state(snapshot)
    calls = national_calls(snapshot)
    rows = []
    for state in sorted(set(totals) | set(registered)):
        race = reporting.report(
            totals.get(state, {}), registered.get(state, 0), expected_turnout, complete
        )
        call = calls.get(home_state_district(state)) or {}
        rows.append(_reporting_row(state, race, names, call))
    return pd.DataFrame(rows, columns=REPORTING_COLUMNS)


def national_reporting(
    snapshot: ResultSnapshot, complete: bool, expected_turnout: float = EXPECTED_TURNOUT
) -> reporting.Reporting:
    """The whole election's reporting."""
    totals = {
        str(result.get("candidate_id") or key): _votes(result)
        for key, result in snapshot.candidates.items()
    }
    return reporting.report(
        totals, sum(_registered_by_state(snapshot).values()), expected_turnout, complete
    )


REPORTING_COLUMNS = [
    "address_state",
    "counted",
    "share_of_roll",
    "expected_reporting",
    "leader",
    "margin",
    "runner_up",
    "runner_up_needs",
    "called_for",
]


def _reporting_row(state: str, race: reporting.Reporting, names, call: Mapping) -> dict:
    return {
        "address_state": state,
        "counted": race.counted,
        "share_of_roll": race.share_of_roll,
        "expected_reporting": race.expected_reporting,
        "leader": "Tied"
        if race.runner_up and race.margin == 0
        else (names.get(race.leader, race.leader) if race.leader else ""),
        "margin": race.margin,
        "runner_up": names.get(race.runner_up, race.runner_up) if race.runner_up else "",
        "runner_up_needs": race.runner_up_needs,
        "called_for": called_for(call, names),
    }


def projected_shares(
    snapshot: ResultSnapshot, expected_turnout: float = EXPECTED_TURNOUT
) -> pd.DataFrame:
    """Each candidate's projected final national share with its 90% band, largest first."""
    counted = _counted_by_state(snapshot)
    by_state: dict[str, int] = {}
    for (state, _), votes in counted.items():
        by_state[state] = by_state.get(state, 0) + votes
    remaining = {
        state: max(0, round(registered * expected_turnout) - by_state.get(state, 0))
        for state, registered in _registered_by_state(snapshot).items()
    }
    names = candidate_names(snapshot)
    candidates = sorted(set(names) | {c for _, c in counted})
    bands = projection.project(counted, remaining, candidates)
    rows = [
        {
            "candidate_id": c,
            "candidate_name": names.get(c, c),
            "share": band.share,
            "low": band.low,
            "high": band.high,
        }
        for c, band in bands.items()
    ]
    frame = pd.DataFrame(rows, columns=["candidate_id", "candidate_name", "share", "low", "high"])
    return frame.sort_values(
        ["share", "candidate_name"], ascending=[False, True], ignore_index=True
    )
