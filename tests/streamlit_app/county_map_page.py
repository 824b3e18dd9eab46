"""A page with nothing but the county maps, drawn from made-up results (run by the browser test).

Every county of the outlines has a leader (every third one called) on the nation's map, and
every county of Ohio a turnout on a map zoomed to the state.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from streamlit_app.charts import PLOTLY_CONFIG
from streamlit_app.county_maps import COUNTIES_FILE, county_leader_map, county_share_map

COUNTIES = [
    (feature["id"], f"{feature['properties']['name']}, {feature['properties']['state']}")
    for feature in json.loads(COUNTIES_FILE.read_text())["features"]
]

st.set_page_config(page_title="County maps", layout="wide")
leaders = pd.DataFrame(
    {
        "fips": [fips for fips, _ in COUNTIES],
        "county": [name for _, name in COUNTIES],
        "candidate_id": ["c1" if i % 2 else "c2" for i in range(len(COUNTIES))],
        "share": [0.5 + (i % 7) / 100 for i in range(len(COUNTIES))],
        "margin_votes": [100 + i for i in range(len(COUNTIES))],
        "called_for": ["yes" if i % 3 == 0 else "" for i in range(len(COUNTIES))],
    }
)
ohio = leaders.loc[leaders["fips"].str.startswith("39"), ["fips", "county"]]
turnout = ohio.assign(
    share=[(40 + i % 30) / 100 for i in range(len(ohio))], detail="of the registered voters"
)
colors, names = {"c1": "#1f77b4", "c2": "#d62728"}, {"c1": "Ada Lovelace", "c2": "Alan Turing"}
left, right = st.columns(2)
left.plotly_chart(county_leader_map(leaders, colors, names), config=PLOTLY_CONFIG)
right.plotly_chart(
    county_share_map(turnout, "Turnout in Ohio", "turnout %", zoom=True), config=PLOTLY_CONFIG
)
