"""The roll on the page: who is on the ballot and may vote before the count, who turned out after."""

from __future__ import annotations

import streamlit as st

from election import result_status
from election.result_status import human_count
from streamlit_app import portraits
from streamlit_app.portraits import render_portrait
from streamlit_app.queries import ElectionBoard, Registration, registration, turnout_profile


@st.cache_data(ttl=30, show_spinner=False)
def load_registration(database_url: str) -> Registration:
    """The roll's counts, only shown before ballots are counted."""
    return registration(database_url)


@st.cache_data(ttl=30, show_spinner=False)
def load_turnout_profile(database_url: str) -> list[dict]:
    """Turnout by age band and gender, once the turnout_profile asset has run."""
    return turnout_profile(database_url)


def render_turnout_profile(database_url: str) -> None:
    """Who turned out, by age band and gender (from Spark, after the polls closed)."""
    rows = load_turnout_profile(database_url)
    if not rows:
        return
    st.subheader("Turnout by age and gender")
    st.dataframe(
        rows,
        hide_index=True,
        column_config={"turnout": st.column_config.NumberColumn("turnout %", format="%.1f")},
    )
    st.caption("Counts from the poll book and the roll, computed in Spark after the polls closed.")


def render_registration(registered: Registration, status: str, board: ElectionBoard) -> None:
    """Before any ballot is counted: what is on the ballot and who may vote."""
    if board.election is None and not registered.candidates:
        st.info(
            "Nothing is registered yet: run `registration_job` to register candidates and voters."
        )
        return
    if status == result_status.PRE_ELECTION:
        st.info("The polls are not open yet; results appear here once ballots are counted.")
    else:
        st.info("No ballots counted yet; results appear here as soon as the tally publishes them.")
    if registered.candidates:
        st.markdown(
            f"**On the ballot:** {len(registered.candidates)} candidates · "
            f"**{human_count(registered.voters)}** registered voters in "
            f"{len(registered.voters_by_state)} states"
        )
        columns = st.columns(min(len(registered.candidates), 5))
        ids = [c["candidate_id"] for c in registered.candidates]
        for i, candidate in enumerate(registered.candidates):
            with columns[i % len(columns)]:
                render_portrait(
                    candidate.get("photo_url"),
                    portraits.fallback_url(candidate["candidate_id"], ids),
                    candidate["candidate_name"],
                    96,
                )
                st.markdown(
                    f"**{candidate['candidate_name']}**  \n{candidate['party_affiliation']}"
                )
