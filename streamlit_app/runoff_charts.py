"""A ranked contest's rounds as charts: votes per round against the threshold, and where each
decided candidate's ballots went (a Sankey), from streamlit_app.runoff's rounds and flows."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from streamlit_app.charts import INACTIVE, OTHER, layout
from streamlit_app.runoff import EXHAUSTED_LABEL, Flow, Runoff


def runoff_bars(runoff: Runoff, colors: Mapping[str, str]) -> go.Figure:
    """Each candidate's votes in each round, grouped by round, with the round's inactive ballots
    and its threshold; `colors` are by candidate name, as the rounds name candidates."""
    rounds = [f"Round {r.number}" for r in runoff.rounds]
    bars = [
        go.Bar(
            name=name,
            x=rounds,
            y=[r.tally.get(name) for r in runoff.rounds],  # None: out of the count by then
            marker_color=colors.get(name, OTHER),
            hovertemplate="%{fullData.name}, %{x}: %{y:,} votes<extra></extra>",
        )
        for name in runoff.candidates
    ]
    inactive = [sum(r.inactive.values()) for r in runoff.rounds]
    if any(inactive):
        bars.append(
            go.Bar(
                name="Inactive ballots",
                x=rounds,
                y=inactive,
                marker_color=INACTIVE,
                hovertemplate="%{x}: %{y:,} inactive ballots<extra></extra>",
            )
        )
    figure = go.Figure(bars)
    figure.add_trace(
        go.Scatter(
            name="Threshold",
            x=rounds,
            y=[r.threshold for r in runoff.rounds],
            mode="lines+markers",
            line={"dash": "dash", "color": "#444"},
            hovertemplate="%{x}: threshold %{y:,} votes<extra></extra>",
        )
    )
    return layout(
        figure,
        380,
        title="Votes per round, with the threshold to win",
        yaxis_title="votes",
        barmode="group",
        showlegend=True,
    )


def _translucent(color: str, alpha: float) -> str:
    red, green, blue = (int(color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _columns(
    flows: list[Flow], nodes: Mapping[tuple[int, str], int]
) -> tuple[list[float], list[float]]:
    """Where a Sankey's nodes go: a column per round, each stacked top down by its ballots, so
    the ballots exhausted in a round stay in that round's column (Plotly would move them last).
    Positions stay inside (0, 1): Plotly ignores one at an edge."""
    if not nodes:
        return [], []
    ballots = dict.fromkeys(nodes, 0)
    out = dict.fromkeys(nodes, 0)
    for flow in flows:
        ballots[flow.round + 1, flow.target] += flow.ballots
        out[flow.round, flow.source] += flow.ballots
    ballots = {node: max(n, out[node]) for node, n in ballots.items()}
    first, last = min(at for at, _ in nodes), max(at for at, _ in nodes)
    x, y, stacked = [], [], dict.fromkeys(range(first, last + 1), 0)
    column = {at: sum(n for (a, _), n in ballots.items() if a == at) or 1 for at in stacked}
    for at, name in nodes:
        x.append(0.01 + 0.98 * (at - first) / max(1, last - first))
        y.append(0.01 + 0.98 * (stacked[at] + ballots[at, name] / 2) / column[at])
        stacked[at] += ballots[at, name]
    return x, y


def transfers_sankey(flows: list[Flow], colors: Mapping[str, str]) -> go.Figure:
    """The ballots of each round flowing into the next: a decided candidate's to whom they went
    next (or exhausted) in its colour, each continuing candidate's own ones in grey."""
    nodes: dict[tuple[int, str], int] = {}
    for flow in flows:
        for at, name in ((flow.round, flow.source), (flow.round + 1, flow.target)):
            nodes.setdefault((at, name), len(nodes))
    x, y = _columns(flows, nodes)
    labels = ["Exhausted" if name == EXHAUSTED_LABEL else name for _, name in nodes]
    node_colors = [
        colors.get(name, INACTIVE if name == EXHAUSTED_LABEL else OTHER) for _, name in nodes
    ]
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "color": node_colors,
                "customdata": [f"round {at}" for at, _ in nodes],
                "hovertemplate": "%{label}, %{customdata}: %{value:,} ballots<extra></extra>",
                "pad": 12,
                "x": x,
                "y": y,
            },
            link={
                "source": [nodes[flow.round, flow.source] for flow in flows],
                "target": [nodes[flow.round + 1, flow.target] for flow in flows],
                "value": [flow.ballots for flow in flows],
                "color": [
                    _translucent(colors.get(flow.source, OTHER), 0.55)
                    if flow.transfer
                    else _translucent(INACTIVE, 0.35)
                    for flow in flows
                ],
                "customdata": ["transferred" if flow.transfer else "kept" for flow in flows],
                "hovertemplate": (
                    "%{source.label} to %{target.label}: %{value:,} ballots %{customdata}"
                    "<extra></extra>"
                ),
            },
        )
    )
    return layout(figure, 380, title="Where each eliminated candidate's ballots went")
