"""Every result message, built in one place: its key and its value, as the contract has them.

The live tally publishes with these, and so do the dashboard's sample results, the
screenshots and the benchmarks, so a field cannot drift between producers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime

from election import contract
from election.ballots import utc_iso
from election.race_call import RaceCall
from election.rcv import Round
from election.rcv_summary import summary

Keyed = tuple[str, dict]


def _time(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else _iso(moment)


@functools.lru_cache(maxsize=1024)
def _iso(moment: datetime) -> str:
    """utc_iso, once per moment: a publication's thousands of rows share a few times (each
    batch's totals are stamped with its transaction's now())."""
    return utc_iso(moment)


def candidate_result(candidate: Mapping, total_votes: int, updated_at: datetime | str) -> Keyed:
    """aggregated_votes_per_candidate: one candidate's total."""
    return candidate["candidate_id"], {
        "candidate_id": candidate["candidate_id"],
        "candidate_name": candidate.get("candidate_name"),
        "party_affiliation": candidate.get("party_affiliation"),
        "photo_url": candidate.get("photo_url"),
        "total_votes": int(total_votes),
        "updated_at": _time(updated_at),
    }


def state_result(
    candidate: Mapping, address_state: str, total_votes: int, updated_at: datetime | str
) -> Keyed:
    """aggregated_votes_per_state: one candidate's total in one state."""
    return contract.state_result_key(address_state, candidate["candidate_id"]), {
        "address_state": address_state,
        "candidate_id": candidate["candidate_id"],
        "candidate_name": candidate.get("candidate_name"),
        "party_affiliation": candidate.get("party_affiliation"),
        "total_votes": int(total_votes),
        "updated_at": _time(updated_at),
    }


def turnout_result(
    address_state: str, total_votes: int, registered_voters: int, updated_at: datetime | str
) -> Keyed:
    """aggregated_turnout_by_location: ballots counted in a state against its roll."""
    pct = round(100.0 * total_votes / registered_voters, 2) if registered_voters else 0.0
    return address_state, {
        "address_state": address_state,
        "total_votes": int(total_votes),
        "registered_voters": int(registered_voters),
        "turnout_pct": pct,
        "updated_at": _time(updated_at),
    }


def contest_result(
    contest_id: str,
    district_id: str,
    ballots: int,
    overvotes: int,
    undervotes: int,
    totals: Mapping[str, int],
    updated_at: datetime | str,
) -> Keyed:
    """contest_results: one contest in one district, votes per choice with its over- and
    undervotes (counted in votes: ballots x vote_for = votes + overvotes + undervotes)."""
    return contract.contest_key(contest_id, district_id), {
        "contest_id": contest_id,
        "district_id": district_id,
        "ballots": int(ballots),
        "overvotes": int(overvotes),
        "undervotes": int(undervotes),
        "totals": {choice: int(votes) for choice, votes in totals.items()},
        "updated_at": _time(updated_at),
    }


def rcv_rounds(
    contest_id: str,
    district_id: str,
    rounds: Sequence[Round],
    config: Mapping[str, str],
    updated_at: datetime | str,
) -> Keyed:
    """rcv_rounds: a ranked contest's rounds as they stand, tabulated from the ballots counted
    so far, as RCTab's summary JSON (election.rcv_summary; config names the contest) with the
    contest, the district and how many ballots the rounds hold."""
    document = summary(rounds, config)
    return contract.contest_key(contest_id, district_id), {
        **document,
        "contest_id": contest_id,
        "district_id": district_id,
        "ballots": int(document["summary"]["totalNumBallots"]),
        "updated_at": _time(updated_at),
    }


def rejection(
    partition: int,
    offset: int,
    vote_id: str | None,
    reason: str,
    detail: str | None,
    raw: str | None,
    detected_at: datetime | str,
) -> Keyed:
    """rejected_votes: one rejected message, keyed by its place on votes_topic."""
    return contract.rejection_key(partition, offset), {
        "vote_id": vote_id or None,
        "partition": int(partition),
        "offset": int(offset),
        "reason": reason,
        "detail": detail,
        "raw": raw,
        "detected_at": _time(detected_at),
    }


def race_call(
    call: RaceCall,
    candidate_names: Mapping[str, str | None],
    called_at: datetime | str | None,
    updated_at: datetime | str,
) -> Keyed:
    """race_calls: one contest in one district (election.race_call.call_contests): its leader
    (a choice id: a candidate, or a measure's yes or no) and whether the race is called."""
    if not call.contest_id or not call.district_id:
        raise ValueError(f"a race call names its contest and district: {call}")
    key = contract.contest_key(call.contest_id, call.district_id)
    return key, {
        "contest_id": call.contest_id,
        "district_id": call.district_id,
        "race": key,
        "called": bool(call.called),
        "candidate_id": call.leader,
        "candidate_name": candidate_names.get(call.leader) if call.leader else None,
        "margin": int(call.margin),
        "outstanding": int(call.outstanding),
        "called_at": _time(called_at) if call.called and called_at is not None else None,
        "updated_at": _time(updated_at),
    }
