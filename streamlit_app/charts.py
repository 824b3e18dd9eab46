"""The dashboard's Plotly figures, built from the standings' frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go

from election.results import human_count
from streamlit_app.standings import Standing

# Colour-blind-safe palette; candidates keep their colour on every chart.
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
FONT = {"family": "sans-serif", "size": 13}


def candidate_colors(candidate_ids: Iterable[str]) -> dict[str, str]:
    """A stable colour per candidate, by candidate_id order."""
    return {cid: PALETTE[i % len(PALETTE)] for i, cid in enumerate(sorted(set(candidate_ids)))}


def _layout(figure: go.Figure, height: int, **extra) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        font=FONT,
        showlegend=extra.pop("showlegend", False),
        **extra,
    )
    return figure


def candidate_bars(ranked: list[Standing], colors: Mapping[str, str]) -> go.Figure:
    """Votes per candidate, leader on top."""
    rows = list(reversed(ranked))
    figure = go.Figure(
        go.Bar(
            x=[row.total_votes for row in rows],
            y=[f"{row.candidate_name} ({row.party_affiliation})" for row in rows],
            orientation="h",
            marker_color=[colors[row.candidate_id] for row in rows],
            text=[f"{human_count(row.total_votes, short=True)} · {row.share:.1%}" for row in rows],
            textposition="auto",
            hovertemplate="%{y}: %{x:,} votes<extra></extra>",
        )
    )
    return _layout(figure, 60 + 45 * len(rows), title="Votes per candidate", xaxis_title="votes")


def candidate_donut(ranked: list[Standing], colors: Mapping[str, str]) -> go.Figure:
    """Each candidate's share of the ballots counted."""
    figure = go.Figure(
        go.Pie(
            labels=[row.candidate_name for row in ranked],
            values=[row.total_votes for row in ranked],
            marker_colors=[colors[row.candidate_id] for row in ranked],
            hole=0.55,
            sort=False,
            textinfo="percent",
            hovertemplate="%{label}: %{value:,} votes (%{percent})<extra></extra>",
        )
    )
    return _layout(figure, 300, title="Share of ballots counted", showlegend=True)


def _us_geo(figure: go.Figure, height: int, title: str) -> go.Figure:
    figure.update_geos(scope="usa", projection_type="albers usa", showlakes=False)
    return _layout(figure, height, title=title)


def turnout_map(turnout: pd.DataFrame) -> go.Figure:
    """Turnout per US state as a choropleth."""
    figure = go.Figure(
        go.Choropleth(
            locations=turnout["state_code"],
            z=turnout["turnout"] * 100,
            locationmode="USA-states",
            colorscale="Blues",
            zmin=0,
            colorbar_title="turnout %",
            text=turnout["address_state"],
            customdata=turnout[["ballots", "registered_voters"]],
            hovertemplate=(
                "%{text}: %{z:.1f}% turnout<br>%{customdata[0]:,} of %{customdata[1]:,}"
                " registered<extra></extra>"
            ),
        )
    )
    return _us_geo(figure, 380, "Turnout by state")


def leader_map(
    leaders: pd.DataFrame, colors: Mapping[str, str], names: Mapping[str, str]
) -> go.Figure:
    """Who leads each US state, one colour per candidate."""
    figure = go.Figure()
    for candidate_id, rows in leaders[leaders["candidate_id"] != ""].groupby("candidate_id"):
        color = colors.get(candidate_id, "#7f7f7f")
        figure.add_trace(
            go.Choropleth(
                locations=rows["state_code"],
                z=[1] * len(rows),
                locationmode="USA-states",
                colorscale=[[0, color], [1, color]],
                showscale=False,
                name=names.get(candidate_id, candidate_id),
                text=rows["address_state"],
                customdata=rows[["share", "margin_votes"]],
                hovertemplate=(
                    "%{text}: " + names.get(candidate_id, candidate_id) + " leads with"
                    " %{customdata[0]:.1%}, by %{customdata[1]:,} votes<extra></extra>"
                ),
            )
        )
    return _us_geo(figure, 380, "Leader by state")


def turnout_bars(turnout: pd.DataFrame) -> go.Figure:
    """Turnout per state, highest first, for states that are not on a map."""
    rows = turnout.iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=rows["turnout"] * 100,
            y=rows["address_state"],
            orientation="h",
            marker_color=PALETTE[0],
            customdata=rows[["ballots", "registered_voters"]],
            hovertemplate=(
                "%{y}: %{x:.1f}%<br>%{customdata[0]:,} of %{customdata[1]:,} registered"
                "<extra></extra>"
            ),
        )
    )
    return _layout(figure, 80 + 22 * len(rows), title="Turnout by state", xaxis_title="turnout %")


def ballots_per_minute_chart(per_minute: pd.DataFrame) -> go.Figure:
    """Ballots counted in each minute."""
    figure = go.Figure(
        go.Bar(
            x=per_minute["minute"],
            y=per_minute["ballots"],
            marker_color=PALETTE[0],
            hovertemplate="%{x|%H:%M} UTC: %{y:,} ballots<extra></extra>",
        )
    )
    return _layout(figure, 300, title="Ballots counted per minute", yaxis_title="ballots")


def share_over_time_chart(
    over_time: pd.DataFrame, colors: Mapping[str, str], ids: Mapping[str, str]
) -> go.Figure:
    """Each candidate's cumulative share of the count, minute by minute."""
    figure = go.Figure()
    for name, rows in over_time.groupby("candidate_name", sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["minute"],
                y=rows["share"] * 100,
                mode="lines+markers",
                name=name,
                line_color=colors.get(ids.get(name, ""), "#7f7f7f"),
                hovertemplate=name + ": %{y:.1f}%<extra></extra>",
            )
        )
    return _layout(figure, 300, title="Cumulative share", yaxis_title="share %", showlegend=True)


def rejections_chart(rejected: pd.DataFrame) -> go.Figure:
    """Rejected ballots by reason."""
    figure = go.Figure(
        go.Bar(
            x=rejected["reason"],
            y=rejected["ballots"],
            marker_color="#7f7f7f",
            text=[human_count(int(n), short=True) for n in rejected["ballots"]],
            textposition="auto",
            hovertemplate="%{x}: %{y:,} ballots<extra></extra>",
        )
    )
    return _layout(figure, 300, title="Rejected ballots by reason", yaxis_title="ballots")
