"""The live election-night dashboard: `streamlit run streamlit_app/app.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from election import contract, result_status
from election.contests import NATIONAL_CONTEST
from election.result_status import human_count
from election.settings import setting
from streamlit_app import charts, contest_view, portraits, roll_view, standings
from streamlit_app.portraits import render_portrait
from streamlit_app.queries import ElectionBoard, election_board
from streamlit_app.reader import ResultReader, ResultSnapshot, topic_names_from_env
from streamlit_app.status_banner import render_problems, render_status

REASON_WORDS = {
    contract.MALFORMED: "malformed",
    contract.UNKNOWN_VOTER: "unknown voter",
    contract.UNKNOWN_CANDIDATE: "unknown candidate",
    contract.NOT_ON_BALLOT: "contest not on the voter's ballot",
    contract.DUPLICATE: "duplicate (voted before)",
    contract.POLLS_CLOSED: "cast while polls closed",
}
# Plotly draws the charts, with the state outlines served by this app; no toolbar needed.
PLOTLY_CONFIG = charts.PLOTLY_CONFIG


@dataclass(frozen=True)
class DashboardConfig:
    """Where the page reads from and how often it refreshes, from the environment."""

    bootstrap_servers: str
    database_url: str
    topic_prefix: str
    refresh_seconds: float

    @classmethod
    def from_env(cls) -> DashboardConfig:
        return cls(
            bootstrap_servers=setting("KAFKA_BOOTSTRAP_SERVERS"),
            database_url=setting("DATABASE_URL"),
            topic_prefix=setting("DASHBOARD_TOPIC_PREFIX"),
            refresh_seconds=setting("DASHBOARD_REFRESH_SECONDS"),
        )


@st.cache_resource(show_spinner=False, on_release=lambda reader: reader.stop())
def result_reader(bootstrap_servers: str, topic_prefix: str) -> ResultReader:
    """The one reader of the result topics for this server, shared by every session."""
    reader = ResultReader(bootstrap_servers, topic_names_from_env(topic_prefix)).start()
    # The first page shows the whole count rather than a partly read one.
    reader.wait_for_first_read(timeout=5)
    return reader


@st.cache_data(ttl=1, show_spinner=False)
def load_board(database_url: str, votes_topic: str) -> ElectionBoard:
    """The election status and tally progress, shared by sessions for a second."""
    return election_board(database_url, votes_topic)


def render_leader(ranked: list[standings.Standing], certified: bool) -> None:
    """The leading candidate: photo, party, votes, share and margin."""
    lead = standings.lead(ranked)
    if lead is None:
        return
    leader = lead.leader
    photo, facts = st.columns([1, 5])
    with photo:
        render_portrait(
            leader.photo_url,
            portraits.fallback_url(leader.candidate_id, [row.candidate_id for row in ranked]),
            leader.candidate_name,
            120,
        )
    with facts:
        title = "Tied for the lead" if lead.tied else ("Winner" if certified else "Leading")
        st.markdown(f"#### {title}: {leader.candidate_name}  \n{leader.party_affiliation}")
        votes, share, margin = st.columns(3)
        votes.metric("Votes", human_count(leader.total_votes))
        share.metric("Share", f"{leader.share:.1%}")
        if lead.runner_up is None:
            margin.metric("Margin", "unopposed")
        else:
            margin.metric(
                f"Margin over {lead.runner_up.candidate_name}",
                human_count(lead.margin_votes),
                f"{lead.margin_share * 100:.1f} pts",
                delta_color="off",
                delta_arrow="off",
            )


def render_candidates(ranked: list[standings.Standing], colors: dict[str, str]) -> None:
    """Totals and shares for every candidate."""
    bars, donut = st.columns([3, 2])
    bars.plotly_chart(charts.candidate_bars(ranked, colors), config=PLOTLY_CONFIG)
    donut.plotly_chart(charts.candidate_donut(ranked, colors), config=PLOTLY_CONFIG)
    table = [
        {
            "Candidate": row.candidate_name,
            "Party": row.party_affiliation,
            "Votes": f"{row.total_votes:,}",
            "Share": f"{row.share:.1%}",
        }
        for row in ranked
    ]
    # A plain table: exact figures, readable by screen readers and the browser test alike.
    st.table(pd.DataFrame(table).set_index("Candidate"))


def needs_words(needs: float | None) -> str:
    """What the runner-up needs of the vote still expected, for people."""
    if needs is None or pd.isna(needs):  # a table column holds "nothing left" as NaN
        return "—"
    return "out of reach" if needs > 1 else f"{needs:.0%}"


def render_reporting(snapshot: ResultSnapshot, complete: bool, names: dict[str, str]) -> None:
    """The national reporting line: counted, of the roll, of the expected vote, the race."""
    race = standings.national_reporting(snapshot, complete)
    counted, roll, expected, margin, needs = st.columns(5)
    counted.metric("Ballots counted", human_count(race.counted))
    roll.metric("Share of the roll", f"{race.share_of_roll:.1%}" if race.registered else "—")
    expected.metric("Expected vote reporting", f"{race.expected_reporting:.0%}")
    if race.leader:
        margin.metric(f"{names.get(race.leader, race.leader)} leads by", human_count(race.margin))
    if race.runner_up:
        needs.metric(
            f"{names.get(race.runner_up, race.runner_up)} needs of the rest",
            needs_words(race.runner_up_needs),
            help="Share of the vote still expected that the runner-up would need to draw level",
        )


def render_turnout(
    snapshot: ResultSnapshot, colors: dict[str, str], names: dict[str, str], complete: bool
) -> None:
    """Turnout and reporting per state, and who leads each state."""
    st.subheader("Turnout and states")
    turnout = standings.turnout_by_state(snapshot)
    leaders = standings.state_leaders(snapshot)
    if turnout.empty and leaders.empty:
        st.info("No turnout published yet.")
        return
    on_map = standings.are_us_states(
        list(turnout["address_state"]) + list(leaders["address_state"])
    )
    left, right = st.columns(2)
    if on_map:
        if not turnout.empty:
            left.plotly_chart(charts.turnout_map(turnout), config=PLOTLY_CONFIG)
        if not leaders.empty:
            right.plotly_chart(charts.leader_map(leaders, colors, names), config=PLOTLY_CONFIG)
    elif not turnout.empty:
        left.plotly_chart(charts.turnout_bars(turnout), config=PLOTLY_CONFIG)
    desk = standings.reporting_by_state(snapshot, complete)
    if desk.empty:
        return
    table = desk.assign(
        counted=desk["counted"].map("{:,}".format),
        share_of_roll=desk["share_of_roll"].map("{:.1%}".format),
        expected_reporting=desk["expected_reporting"].map("{:.0%}".format),
        margin=desk["margin"].map("{:,}".format),
        runner_up_needs=desk["runner_up_needs"].map(needs_words),
    ).rename(
        columns={
            "address_state": "State",
            "counted": "Counted",
            "share_of_roll": "Of the roll",
            "expected_reporting": "Expected vote reporting",
            "leader": "Leader",
            "margin": "Margin",
            "runner_up": "Runner-up",
            "runner_up_needs": "Runner-up needs",
            "called_for": "Called for",
        }
    )
    where = st if on_map else right
    where.dataframe(table, hide_index=True, width="stretch", height=min(400, 40 + 35 * len(table)))


def render_projection(snapshot: ResultSnapshot, colors: dict[str, str]) -> None:
    """While counting: the projected final national shares, labelled as a projection."""
    projected = standings.projected_shares(snapshot)
    if projected.empty:
        return
    st.subheader("Projection (not a race call)")
    st.caption(
        "Each candidate's projected final share of the national vote, from the counted shares "
        "in each state and the vote still expected there, with a 90% band. It narrows as the "
        "count grows; only a race call says who has won."
    )
    st.plotly_chart(charts.projection_chart(projected, colors), config=PLOTLY_CONFIG)


def render_over_time(
    snapshot: ResultSnapshot, colors: dict[str, str], names: dict[str, str]
) -> None:
    """Ballots counted per time bucket (sized to the span) and each candidate's cumulative share."""
    st.subheader("The count over time")
    per_bucket, seconds, bucket = standings.ballots_over_time(snapshot)
    if per_bucket.empty:
        st.info("No count history yet.")
        return
    over_time = standings.count_over_time(snapshot, names)
    ids = {name: candidate_id for candidate_id, name in names.items()}
    left, right = st.columns(2)
    left.plotly_chart(
        charts.ballots_over_time_chart(per_bucket, seconds, bucket), config=PLOTLY_CONFIG
    )
    right.plotly_chart(charts.share_over_time_chart(over_time, colors, ids), config=PLOTLY_CONFIG)


def render_rejections(snapshot: ResultSnapshot) -> None:
    """Rejected ballots by reason."""
    st.subheader("Rejected ballots")
    rejected = standings.rejections(snapshot)
    if rejected.empty:
        st.caption("No ballots rejected.")
        return
    rejected["reason"] = rejected["reason"].map(lambda reason: REASON_WORDS.get(reason, reason))
    left, right = st.columns([2, 1])
    left.plotly_chart(charts.rejections_chart(rejected), config=PLOTLY_CONFIG)
    right.metric("Rejected ballots", human_count(int(rejected["ballots"].sum())))


def render_race_calls(snapshot: ResultSnapshot) -> None:
    """The races called so far, the newest first."""
    st.subheader("Race calls")
    calls = standings.race_calls(snapshot)
    if calls.empty:
        st.caption(
            "No race called yet: a race is called only when the runner-up can no longer catch up."
        )
        return
    states = int((calls["race"] != standings.WHOLE_ELECTION).sum())
    whole = "the whole election and " if states < len(calls) else ""
    st.caption(f"{len(calls)} races called ({whole}{states} states), the newest first.")
    st.dataframe(
        calls.assign(
            margin=calls["margin"].map("{:,}".format),
            outstanding=calls["outstanding"].map("{:,}".format),
        ).rename(
            columns={
                "race": "Race",
                "called_for": "Called for",
                "margin": "Margin",
                "outstanding": "Votes outstanding",
                "called_at": "Called at",
            }
        ),
        hide_index=True,
        width="stretch",
    )


def render_live_sections(
    config: DashboardConfig, snapshot: ResultSnapshot, board: ElectionBoard
) -> None:
    """Everything that changes while the count goes on."""
    now = datetime.now(UTC)
    lag = board.tally_lag(snapshot.ballot_log_end_offsets)
    status = render_status(snapshot, board, lag, now)
    render_problems(snapshot, board)
    definition = contest_view.load_definition(config.database_url)
    contest = contest_view.pick_contest(definition)
    if contest is not None and contest.contest_id != NATIONAL_CONTEST:
        certified = status == result_status.CERTIFIED
        contest_view.render_contest(contest, definition, snapshot, certified)
        return
    ranked = standings.standings(snapshot)
    if not ranked:
        if not (snapshot.kafka_error and not snapshot.has_results):
            roll_view.render_registration(
                roll_view.load_registration(config.database_url), status, board
            )
        if snapshot.rejected_by_reason:
            render_rejections(snapshot)
        return
    names = {row.candidate_id: row.candidate_name for row in ranked}
    colors = charts.candidate_colors(names)
    complete = status in (result_status.UNOFFICIAL_COMPLETE, result_status.CERTIFIED)
    render_leader(ranked, certified=status == result_status.CERTIFIED)
    render_reporting(snapshot, complete, names)
    render_candidates(ranked, colors)
    if not complete:
        render_projection(snapshot, colors)
    render_turnout(snapshot, colors, names, complete)
    contest_view.render_national_counties(definition, snapshot, colors, names)
    render_over_time(snapshot, colors, names)
    render_rejections(snapshot)
    render_race_calls(snapshot)
    if complete:
        roll_view.render_turnout_profile(config.database_url)


def main() -> None:
    """Lay out the page; only the live sections rerun on the refresh interval."""
    st.set_page_config(page_title="Election night: live results", page_icon="🗳️", layout="wide")
    config = DashboardConfig.from_env()
    st.title("Election night: live results")
    reader = result_reader(config.bootstrap_servers, config.topic_prefix)

    @st.fragment(run_every=config.refresh_seconds)
    def live_sections() -> None:
        snapshot = reader.snapshot()
        board = load_board(config.database_url, reader.votes_topic)
        render_live_sections(config, snapshot, board)

    live_sections()
    st.caption(
        f"Updates every {config.refresh_seconds:g} s from the result topics on "
        f"{config.bootstrap_servers}. No voter's identity is ever shown."
    )


if __name__ == "__main__":
    main()
