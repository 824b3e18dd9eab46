"""The page's head: the election, its results status, when the polls close, how fresh the
count is, and what cannot be reached."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from election import contract, result_status
from election.contests import NATION
from election.result_status import human_count, results_status
from streamlit_app import standings
from streamlit_app.called_races import called_for, national_calls
from streamlit_app.queries import ElectionBoard
from streamlit_app.reader import ResultSnapshot

# Badge colour and short label per results status; the sentence comes from election.result_status.
STATUS_BADGES = {
    result_status.PRE_ELECTION: ("gray", "Pre-election"),
    result_status.UNOFFICIAL_PARTIAL: ("orange", "Unofficial · partial"),
    result_status.UNOFFICIAL_COMPLETE: ("blue", "Unofficial · complete"),
    result_status.CERTIFIED: ("green", "Certified"),
}


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago, for people."""
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def countdown(closes_at: datetime, now: datetime) -> str:
    """Time left until the polls close, for people: "4 min 05 s", "1 h 02 min", "12 s"."""
    seconds = max(0, int((closes_at - now).total_seconds()))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def closing_line(board: ElectionBoard, now: datetime) -> str | None:
    """When the polls close (or closed), with a countdown while they are open."""
    election = board.election
    if election is None:
        return None
    if election.status == contract.OPEN and election.polls_close_at is not None:
        if election.polls_close_at <= now:
            return f"The polls close now ({election.polls_close_at:%H:%M:%S} UTC)"
        return (
            f"Polls close at {election.polls_close_at:%H:%M:%S} UTC · "
            f"{countdown(election.polls_close_at, now)} left"
        )
    if election.status == contract.OPEN:
        return "The polls are open until they are closed by hand"
    if election.polls_closed_at is not None:
        return f"Polls closed at {election.polls_closed_at:%H:%M:%S} UTC"
    return None


def render_status(
    snapshot: ResultSnapshot, board: ElectionBoard, lag: int | None, now: datetime
) -> str:
    """The results status banner and the freshness line; returns the status."""
    election = board.election
    drained = snapshot.caught_up and lag == 0
    status = results_status(election.status if election else None, drained)
    color, label = STATUS_BADGES[status]
    meaning = result_status.status_label(status)
    if (
        election is not None
        and election.status == contract.CLOSED
        and status == result_status.UNOFFICIAL_PARTIAL
    ):
        meaning = "Unofficial partial results: the polls are closed and the last ballots are being tallied"
    name = election.name if election else "No election registered yet"
    st.markdown(f"### {name} &nbsp; :{color}-badge[{label}]")
    st.caption(meaning)
    closing = closing_line(board, now)
    if closing:
        st.markdown(f"**{closing}**")
    national = national_calls(snapshot).get(NATION) or {}
    winner = called_for(national, standings.candidate_names(snapshot))
    if winner:
        called_at = standings.race_calls(snapshot)
        when = called_at[called_at["race"] == standings.WHOLE_ELECTION]["called_at"].tolist()
        st.success(
            f"**Race call: {winner} wins the election.**"
            + (f" Called at {when[0]}." if when and when[0] else ""),
            icon=":material/how_to_vote:",
        )

    if snapshot.newest_result_at is None:
        parts = ["No results published yet"]
    else:
        parts = [f"Newest result {ago(snapshot.newest_result_at, now)}"]
    if lag is not None and (snapshot.has_results or snapshot.ballots_received):
        parts.append("tally caught up" if lag == 0 else f"tally {human_count(lag)} ballots behind")
    if snapshot.ballots_received:
        parts.append(f"{human_count(snapshot.ballots_received)} ballots received")
    parts.append(f"page refreshed {now:%H:%M:%S} UTC")
    st.caption(" · ".join(parts))
    return status


def render_problems(snapshot: ResultSnapshot, board: ElectionBoard) -> None:
    """Say plainly what cannot be reached."""
    if snapshot.kafka_error:
        shown = (
            "the last results read are shown" if snapshot.has_results else "no results can be shown"
        )
        st.error(
            f"Live results are unavailable: {snapshot.kafka_error}. Until it is back, {shown}.",
            icon="⚠️",
        )
    if board.error:
        st.warning(f"The results status is unknown: {board.error}.", icon="⚠️")
