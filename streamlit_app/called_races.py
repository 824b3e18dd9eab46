"""The race calls a page reads off a snapshot: whom a call is for, and the national race's."""

from __future__ import annotations

from collections.abc import Mapping

from election.contests import NATION, NATIONAL_CONTEST, home_state_name
from streamlit_app.reader import ResultSnapshot


def called_for(call: Mapping, names: Mapping[str, str]) -> str:
    """Whom a published race call calls the race for; empty unless it says it is called."""
    if not call or call.get("called") is not True:
        return ""
    candidate_id = str(call.get("candidate_id") or "")
    return str(call.get("candidate_name") or names.get(candidate_id, candidate_id))


def national_calls(snapshot: ResultSnapshot) -> dict[str, Mapping]:
    """The national race's calls in the nation and each state, by district (nation, state:XX)."""
    return {
        district_id: call
        for district_id, call in snapshot.calls_in(NATIONAL_CONTEST).items()
        if district_id == NATION or home_state_name(district_id)
    }
