"""County maps: choropleths of the counties, drawn from the outlines the app serves itself."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from streamlit_app.charts import leader_traces, us_geo

# The county outlines ship with the app (streamlit_app/static/geo, from the npm package
# us-atlas, see its README) and the browser fetches them from Streamlit's static serving:
# each feature's id is the county's 5-digit FIPS code.
COUNTIES_URL = "app/static/geo/us-counties.json"
COUNTIES_FILE = Path(__file__).resolve().parent / "static" / "geo" / "us-counties.json"
OUTLINES = {"geojson": COUNTIES_URL, "featureidkey": "id"}


# Fitted to its counties, a map shows them alone: "albers usa" cannot be fitted, and the
# "north america" scope's base map (streamlit_app/static/topojson) is only fetched, not drawn.
ZOOMED = {
    "scope": "north america",
    "projection_type": "mercator",
    "fitbounds": "locations",
    "visible": False,
}


def _county_geo(figure: go.Figure, title: str, zoom: bool) -> go.Figure:
    """The nation's map, or fitted to the counties drawn (one state's, say) when zoom."""
    if zoom:
        return us_geo(figure, 460, title, **ZOOMED)
    return us_geo(figure, 420, title)


def county_leader_map(
    leaders: pd.DataFrame,
    colors: Mapping[str, str],
    names: Mapping[str, str],
    title: str = "Leader by county (solid: called)",
    zoom: bool = False,
) -> go.Figure:
    """Who leads each county, one colour per choice: full once called, pale while leading.

    `leaders` has a row per county: `fips` (5 digits), `county` (its name on hover),
    `candidate_id` (empty when tied), `share`, `margin_votes`, `called_for` (empty until
    called). A county the outlines lack is not drawn.
    """
    traces = leader_traces(
        leaders, colors, names, "fips", "county", marker_line_width=0.3, **OUTLINES
    )
    return _county_geo(go.Figure(traces), title, zoom)


def county_share_map(
    shares: pd.DataFrame,
    title: str,
    colorbar_title: str,
    colorscale: str = "Blues",
    zoom: bool = False,
) -> go.Figure:
    """A share per county, 0 to 100% (turnout; a measure's yes vote on a diverging "RdBu").

    `shares` has a row per county: `fips`, `county` (its name on hover), `share` (0 to 1) and
    `detail` (a second hover line, such as "1,234 of 5,678 ballots").
    """
    figure = go.Figure(
        go.Choropleth(
            locations=shares["fips"],
            z=shares["share"] * 100,
            zmin=0,
            zmax=100,
            colorscale=colorscale,
            colorbar_title=colorbar_title,
            marker_line_width=0.3,
            text=shares["county"],
            customdata=shares["detail"],
            hovertemplate="%{text}: %{z:.1f}%<br>%{customdata}<extra></extra>",
            **OUTLINES,
        )
    )
    return _county_geo(figure, title, zoom)


def with_backdrop(figure: go.Figure, counties: pd.DataFrame) -> go.Figure:
    """The map over the given counties in grey (`fips`, `county`): a state's, say, so a map
    of a few of them, zoomed, shows where they lie in their state."""
    backdrop = go.Choropleth(
        locations=counties["fips"],
        z=[0] * len(counties),
        colorscale=[[0, "#e8e8e8"], [1, "#e8e8e8"]],
        showscale=False,
        marker_line_width=0.3,
        text=counties["county"],
        hovertemplate="%{text}: no results<extra></extra>",
        **OUTLINES,
    )
    figure.add_trace(backdrop)
    figure.data = (figure.data[-1], *figure.data[:-1])  # drawn first, beneath the results
    return figure
