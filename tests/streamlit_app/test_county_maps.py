"""The county outlines the app serves, and the county maps drawn from them, offline."""

from __future__ import annotations

import csv
import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path

import addfips
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from streamlit_app import county_maps
from streamlit_app.charts import PLOTLY_CONFIG
from streamlit_app.county_maps import (
    COUNTIES_FILE,
    COUNTIES_URL,
    county_leader_map,
    county_share_map,
)

# addfips' counties of the 50 states and DC that us-atlas 3.0.1 (Census 2017 boundaries) has
# no outline for, each with the Census Bureau's word ("Substantial Changes to Counties and
# County Equivalent Entities", census.gov) or the package's:
NOT_OUTLINED = {
    # "Valdez-Cordova Census Area (02-261) split to form Chugach Census Area (02-063) and
    # Copper River Census Area (02-066)", effective January 2, 2019; addfips lists 02066
    # beside 02261 (outlined) and lacks 02063.
    "02066",
    # "Bedford (independent) city (51-515) changed to town status and added to Bedford County
    # (51-019)", effective July 1, 2013; addfips still lists it.
    "51515",
    # Falls Church city, Virginia: in us-atlas 3.0.1 a line without area (two points), so the
    # outlines leave it out (scripts/county_outlines.py says so when it runs).
    "51610",
}


@cache
def outlines() -> dict:
    return json.loads(COUNTIES_FILE.read_text())


@cache
def addfips_counties() -> dict[str, str]:
    """FIPS -> name of addfips' counties (its default, latest vintage) of the 50 states and DC."""
    data = files("addfips")
    latest = addfips.addfips.COUNTY_FILES[max(addfips.addfips.COUNTY_FILES)]
    with data.joinpath(addfips.addfips.STATES).open(encoding="utf-8") as table:
        states = {row["fips"] for row in csv.DictReader(table) if row["fips"] <= "56"}
    with data.joinpath(latest).open(encoding="utf-8") as table:
        rows = csv.DictReader(table)
        return {r["statefp"] + r["countyfp"]: r["name"] for r in rows if r["statefp"] in states}


def rings(geometry: dict) -> list[list]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def test_every_county_is_a_polygon_or_multipolygon_with_its_fips_as_id():
    collection = outlines()
    ids = [feature["id"] for feature in collection["features"]]

    assert collection["type"] == "FeatureCollection"
    assert len(ids) == len(set(ids)) == 3141
    for feature in collection["features"]:
        fips, geometry, properties = feature["id"], feature["geometry"], feature["properties"]
        assert re.fullmatch(r"\d{5}", fips), fips
        assert feature["type"] == "Feature"
        assert geometry["type"] in ("Polygon", "MultiPolygon"), fips
        assert geometry["type"] == "Polygon" or geometry["coordinates"], fips
        assert properties["state_fips"] == fips[:2] and properties["name"], fips
        for ring in rings(geometry):
            assert len(ring) >= 4 and ring[0] == ring[-1], fips
            # west of Greenwich; the Aleutians past the antimeridian below -180, Alaska in one piece
            assert all(-190 < lon < -60 and 15 < lat < 72 for lon, lat in ring), fips


def test_the_states_postal_codes_are_addfips_ones():
    with files("addfips").joinpath("data/states.csv").open(encoding="utf-8") as table:
        postal = {row["fips"]: row["postal"] for row in csv.DictReader(table)}

    for feature in outlines()["features"]:
        assert feature["properties"]["state"] == postal[feature["id"][:2]]


def test_every_addfips_county_of_the_states_and_dc_has_an_outline_but_the_documented_ones():
    outlined = {feature["id"] for feature in outlines()["features"]}
    counties = set(addfips_counties())

    assert counties - outlined == NOT_OUTLINED
    assert outlined - counties == set()
    # Connecticut: both have its 8 old counties, not the 2022 planning regions (091x0)
    assert sorted(f for f in outlined if f.startswith("09")) == [
        f"09{n:03}" for n in range(1, 16, 2)
    ]


def test_the_url_is_the_file_under_streamlits_static_serving():
    static = Path(county_maps.__file__).parent / "static"  # served at app/static/
    assert "app/static/" + COUNTIES_FILE.relative_to(static).as_posix() == COUNTIES_URL
    assert PLOTLY_CONFIG["topojsonURL"].startswith("app/static/")


def leaders(n: int = 4) -> pd.DataFrame:
    counties = sorted(addfips_counties().items())[:n]
    return pd.DataFrame(
        {
            "fips": [fips for fips, _ in counties],
            "county": [name for _, name in counties],
            "candidate_id": ["c1", "c2", "", "c1"][:n],
            "share": [0.55, 0.6, 0.5, 0.7][:n],
            "margin_votes": [10, 20, 0, 30][:n],
            "called_for": ["Ada", "", "", ""][:n],
        }
    )


def served_only(figure) -> None:
    """Every trace draws from the served outlines, and nothing in the figure names a host."""
    for trace in figure.data:
        assert trace.geojson == COUNTIES_URL and trace.featureidkey == "id"
    text = figure.to_json()
    assert "http" not in text and "cdn" not in text.lower()


def test_the_leader_map_colours_each_county_by_its_leader_from_the_served_outlines():
    colors, names = {"c1": "#1f77b4", "c2": "#d62728"}, {"c1": "Ada", "c2": "Bob"}
    figure = county_leader_map(leaders(), colors, names)

    served_only(figure)
    by_name = {trace.name: trace for trace in figure.data}
    assert set(by_name) == {"Ada", "Bob"}  # the tied county is not drawn
    ada = by_name["Ada"]
    assert list(ada.locations) == [leaders()["fips"][0], leaders()["fips"][3]]
    assert ada.colorscale[0][1] == ada.colorscale[1][1] == "#1f77b4"
    assert list(ada.marker.opacity) == [1.0, 0.4]  # called, then only leading
    assert "Ada %{customdata[2]}" in ada.hovertemplate  # "Ada called" or "Ada leads"
    assert figure.layout.geo.fitbounds is None and figure.layout.geo.scope == "usa"


def test_the_share_map_zooms_to_the_counties_it_draws():
    shares = leaders()[["fips", "county"]].assign(share=[0.1, 0.5, 0.9, 1.0], detail="of voters")
    figure = county_share_map(shares, "Turnout", "turnout %", zoom=True)

    served_only(figure)
    assert list(figure.data[0].z) == [10, 50, 90, 100]
    assert (figure.data[0].zmin, figure.data[0].zmax) == (0, 100)
    assert figure.layout.geo.fitbounds == "locations"


@given(st.lists(st.sampled_from(["", "c1", "c2", "c3"]), min_size=1, max_size=30))
def test_each_county_with_a_leader_is_drawn_once_in_its_leaders_colour(ids):
    fips = sorted(addfips_counties())[: len(ids)]
    frame = pd.DataFrame(
        {
            "fips": fips,
            "county": fips,
            "candidate_id": ids,
            "share": 0.5,
            "margin_votes": 1,
            "called_for": "",
        }
    )
    colors = {"c1": "#111111", "c2": "#222222"}  # c3 has none: grey
    figure = county_leader_map(frame, colors, {})

    drawn = {f: t.colorscale[0][1] for t in figure.data for f in t.locations}
    assert sum(len(t.locations) for t in figure.data) == len(drawn)
    assert drawn == {f: colors.get(c, "#7f7f7f") for f, c in zip(fips, ids, strict=True) if c}
