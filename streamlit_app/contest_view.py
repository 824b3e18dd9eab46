"""A contest on the page: the picker, and for a contest its bars, rounds, county map, table and
calls."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from election import counties
from election.contests import (
    COUNTY_KIND,
    MEASURE,
    NATIONAL_CONTEST,
    RANKED,
    STATE_KIND,
    Contest,
)
from election.definition import Definition
from election.result_status import human_count
from streamlit_app import charts, contest_tables, runoff, runoff_charts
from streamlit_app.charts import PLOTLY_CONFIG
from streamlit_app.contest_tables import Area
from streamlit_app.county_maps import county_leader_map, county_share_map, with_backdrop
from streamlit_app.queries import election_definition
from streamlit_app.reader import ResultSnapshot

KIND_WORDS = {MEASURE: "ballot measure", RANKED: "ranked choice"}


@st.cache_data(ttl=30, show_spinner=False)
def load_definition(database_url: str) -> Definition | None:
    """The contests, their choices and the districts' names, once registered."""
    return election_definition(database_url)


def pick_contest(definition: Definition | None) -> Contest | None:
    """The contest the reader picked, the national race first and picked at first; an election
    of one contest (an imported one) shows that contest, without a picker; None when there is
    no definition."""
    if definition is None or not definition.contests:
        return None
    if len(definition.contests) == 1:
        return definition.contests[0]
    ordered = sorted(
        definition.contests, key=lambda c: (c.contest_id != NATIONAL_CONTEST, c.position)
    )
    names = {c.contest_id: c.name for c in ordered}
    chosen = st.selectbox("Contest", list(names), format_func=names.get, key="contest")
    # a contest gone from a definition registered again falls back to the first
    return next((c for c in ordered if c.contest_id == chosen), ordered[0])


def _state_code(contest: Contest, definition: Definition) -> str | None:
    """The two-letter code of the state a state or county contest is in."""
    district_id = contest.district_id
    if district_id.startswith("county:"):
        parents = {d.district_id: d.parent_id for d in definition.districts}
        district_id = parents.get(district_id) or ""
    return district_id.removeprefix("state:") if district_id.startswith("state:") else None


def _state_counties(code: str) -> pd.DataFrame:
    rows = [(c.fips, f"{c.name}, {code}") for c in counties.counties(code)]
    return pd.DataFrame(rows, columns=["fips", "county"])


def render_county_map(
    contest: Contest,
    definition: Definition,
    snapshot: ResultSnapshot,
    colors: Mapping[str, str],
    names: Mapping[str, str],
    found: list[Area] | None = None,
) -> None:
    """The contest by county: who leads (a measure: its yes share); a state's and a county's
    contest zoomed to the state, the national race on the nation's map."""
    found = contest_tables.areas(snapshot, contest, definition) if found is None else found
    if not contest_tables.county_areas(found):
        return
    kind = next((d.kind for d in definition.districts if d.district_id == contest.district_id), "")
    zoom = kind in (STATE_KIND, COUNTY_KIND)
    if contest.kind == MEASURE:
        shares = contest_tables.county_yes_shares(found)
        figure = county_share_map(shares, "Yes by county", "yes %", "RdBu", zoom=zoom)
    else:
        leaders = contest_tables.county_leaders(found, snapshot.calls_in(contest.contest_id))
        figure = county_leader_map(leaders, colors, names, zoom=zoom)
    code = _state_code(contest, definition) if zoom else None
    if code is not None:
        figure = with_backdrop(figure, _state_counties(code))
    st.plotly_chart(figure, config=PLOTLY_CONFIG)


def render_national_counties(
    definition: Definition | None,
    snapshot: ResultSnapshot,
    colors: Mapping[str, str],
    names: Mapping[str, str],
) -> None:
    """The national race by county on the national page, once its county results exist."""
    national = (
        [c for c in definition.contests if c.contest_id == NATIONAL_CONTEST] if definition else []
    )
    if national:
        render_county_map(national[0], definition, snapshot, colors, names)


def render_rounds(
    contest: Contest, snapshot: ResultSnapshot, colors: Mapping[str, str], certified: bool = False
) -> None:
    """A ranked contest's instant-runoff rounds as they stand: votes per round against the
    threshold, each round's inactive ballots and decisions, and where the ballots went (once
    the election is certified, as final)."""
    st.subheader("Instant-runoff rounds")
    found = runoff.contest_runoff(snapshot, contest)
    if found is None:
        st.caption("The rounds appear once ballots in this contest are counted.")
        return
    moment = f", as of {found.updated_at:%H:%M:%S} UTC" if found.updated_at else ""
    if certified:
        st.caption(f"Tabulated from all {human_count(found.ballots)} ballots counted; certified.")
    else:
        st.caption(
            f"Tabulated from the {human_count(found.ballots)} ballots counted so far{moment}; "
            "the rounds change as the count goes on and are not final until certified."
        )
    elected = found.elected()
    if elected is not None:
        name, number = elected
        so_far = "" if certified else "On the ballots counted so far, "
        st.markdown(f"{so_far}**{name}** wins in round {number}.")
    by_name = runoff.name_colors(contest, colors)
    st.plotly_chart(runoff_charts.runoff_bars(found, by_name), config=PLOTLY_CONFIG)
    table = runoff.rounds_table(found)
    st.dataframe(table, hide_index=True, width="stretch")
    flows = runoff.flows(found)
    if flows:
        st.plotly_chart(runoff_charts.transfers_sankey(flows, by_name), config=PLOTLY_CONFIG)
        st.caption(
            "A column per round: coloured bands are a decided candidate's ballots going to "
            "their next continuing choice (or exhausted), grey bands the ballots that stayed."
        )
    elif len(found.rounds) == 1:
        st.caption("Decided in the first round: no ballot was transferred.")


def render_contest(
    contest: Contest, definition: Definition, snapshot: ResultSnapshot, certified: bool = False
) -> None:
    """One contest of the election: its count where it is decided, by county, by area, calls
    (certified: the election's results are certified)."""
    districts = {d.district_id: d for d in definition.districts}
    where = contest_tables.area_name(contest.district_id, districts)
    kind = KIND_WORDS.get(contest.kind, f"vote for {contest.vote_for}")
    st.subheader(contest.name)
    st.caption(f"{where} · {kind}")
    found = contest_tables.areas(snapshot, contest, definition)
    if not found:
        st.info("No results for this contest yet.")
        if contest.kind == RANKED:
            colors = charts.candidate_colors(contest_tables.choice_labels(contest, found))
            render_rounds(contest, snapshot, colors, certified)
        return
    own = found[0]
    ballots, overvotes, undervotes = st.columns(3)
    ballots.metric("Ballots", human_count(own.ballots))
    overvotes.metric("Overvotes", human_count(own.overvotes))
    undervotes.metric("Undervotes", human_count(own.undervotes))
    names = contest_tables.choice_labels(contest, found)
    colors = charts.candidate_colors(names)
    if contest.kind == MEASURE:
        st.plotly_chart(charts.measure_bars(contest_tables.yes_and_no(found)), config=PLOTLY_CONFIG)
    else:
        ranked = contest_tables.choice_standings(contest, own)
        st.plotly_chart(charts.candidate_bars(ranked, colors), config=PLOTLY_CONFIG)
    if contest.kind == RANKED:
        st.caption("Votes are first choices; the rounds decide the contest.")
        render_rounds(contest, snapshot, colors, certified)
    render_county_map(contest, definition, snapshot, colors, names, found)
    st.caption(
        "Over- and undervotes are counted in votes, as election offices report them: "
        f"ballots × {contest.vote_for} = votes + overvotes + undervotes."
    )
    table = contest_tables.area_table(contest, found)
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(table)))
    calls = contest_tables.contest_calls(snapshot, contest, definition)
    if not calls.empty:
        st.subheader("Race calls")
        st.dataframe(calls, hide_index=True, width="stretch")
