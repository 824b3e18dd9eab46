"""A contest's results read off a snapshot: by area, by county, its calls, as frames for the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from election.contests import COUNTY_KIND, NATION_KIND, STATE_KIND, Contest, District
from election.definition import Definition
from election.result_status import share
from streamlit_app.called_races import called_for
from streamlit_app.reader import ResultSnapshot, parse_time
from streamlit_app.standings import Standing

# Areas in a contest's table: its own district first, then states, counties, the rest.
_AREA_ORDER = {NATION_KIND: 0, STATE_KIND: 1, COUNTY_KIND: 2}
_MOST_VOTES = 10**12  # more than any electorate casts: a bigger "count" is not one
COUNTS = ("Ballots", "Overvotes", "Undervotes")
_TAKEN = ("Area", *COUNTS)  # the table's own columns, which no choice's label may take


def vote_count(value: object) -> int:
    """A count from a message; anything that is not a number of votes is none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    try:
        count = int(value)
    except (ValueError, OverflowError):  # NaN, infinity
        return 0
    return count if 0 <= count <= _MOST_VOTES else 0


@dataclass(frozen=True)
class Area:
    """One contest in one district: its name, its ballots and its votes per choice."""

    district_id: str
    name: str
    kind: str
    ballots: int
    overvotes: int
    undervotes: int
    totals: Mapping[str, int]

    @property
    def fips(self) -> str:
        return self.district_id.removeprefix("county:")


def area_name(district_id: str, districts: Mapping[str, District]) -> str:
    """A district as people name it; a county with its state's code ("Cuyahoga County, OH")."""
    district = districts.get(district_id)
    if district is None:
        return district_id
    if district.kind == COUNTY_KIND and (district.parent_id or "").startswith("state:"):
        return f"{district.name}, {district.parent_id.removeprefix('state:')}"
    return district.name


def areas(snapshot: ResultSnapshot, contest: Contest, definition: Definition) -> list[Area]:
    """The contest's latest result in each district published, its own district first."""
    prefix = f"{contest.contest_id}|"
    districts = {d.district_id: d for d in definition.districts}
    found = []
    for key, value in snapshot.contest_results.items():
        if not key.startswith(prefix):
            continue
        district_id = key.removeprefix(prefix)
        district = districts.get(district_id)
        totals = value.get("totals")
        found.append(
            Area(
                district_id,
                area_name(district_id, districts),
                district.kind if district else "",
                vote_count(value.get("ballots")),
                vote_count(value.get("overvotes")),
                vote_count(value.get("undervotes")),
                {str(k): vote_count(v) for k, v in totals.items()}
                if isinstance(totals, dict)
                else {},
            )
        )
    return sorted(
        found,
        key=lambda a: (a.district_id != contest.district_id, _AREA_ORDER.get(a.kind, 3), a.name),
    )


def choice_labels(contest: Contest, found: list[Area]) -> dict[str, str]:
    """choice_id -> its column's label: the contest's choices in ballot order, then any other
    id a result names; labels unique, so two choices of one name keep their own columns."""
    labels: dict[str, str] = {}
    extra = sorted({c for area in found for c in area.totals} - contest.choice_ids)
    named = [(c.choice_id, c.name) for c in sorted(contest.choices, key=lambda c: c.position)]
    for choice_id, name in [*named, *((c, c) for c in extra)]:
        label = name
        while label in labels.values() or label in _TAKEN:
            label = f"{label} ({choice_id})"
        labels[choice_id] = label
    return labels


def area_table(contest: Contest, found: list[Area]) -> pd.DataFrame:
    """A row per area: votes per choice, ballots, overvotes and undervotes."""
    labels = choice_labels(contest, found)
    rows = [
        {
            "Area": area.name,
            **{label: area.totals.get(cid, 0) for cid, label in labels.items()},
            "Ballots": area.ballots,
            "Overvotes": area.overvotes,
            "Undervotes": area.undervotes,
        }
        for area in found
    ]
    return pd.DataFrame(rows, columns=["Area", *labels.values(), *COUNTS])


def choice_standings(contest: Contest, area: Area) -> list[Standing]:
    """The choices in one area, most votes first, each with its share of the votes cast."""
    votes = sum(area.totals.values())
    parties = {c.choice_id: c.party or "no party" for c in contest.choices}
    labels = choice_labels(contest, [area])
    rows = [
        Standing(cid, label, parties.get(cid, ""), None, n, share(n, votes))
        for cid, label in labels.items()
        for n in [area.totals.get(cid, 0)]
    ]
    return sorted(rows, key=lambda row: (-row.total_votes, row.candidate_name))


def county_areas(found: list[Area]) -> list[Area]:
    return [area for area in found if area.kind == COUNTY_KIND]


def county_leaders(found: list[Area], calls: Mapping[str, Mapping]) -> pd.DataFrame:
    """Who leads each county (empty when tied or no votes), for county_maps.county_leader_map;
    `calls` are the contest's race calls by district."""
    rows = []
    for area in county_areas(found):
        ranked = sorted(area.totals.items(), key=lambda item: -item[1])
        first = ranked[0][1] if ranked else 0
        second = ranked[1][1] if len(ranked) > 1 else 0
        leader = ranked[0][0] if first > second else ""
        rows.append(
            {
                "fips": area.fips,
                "county": area.name,
                "candidate_id": leader,
                "share": share(first, sum(area.totals.values())),
                "margin_votes": first - second,
                "called_for": called_for(calls.get(area.district_id) or {}, {}) if leader else "",
            }
        )
    columns = ["fips", "county", "candidate_id", "share", "margin_votes", "called_for"]
    return pd.DataFrame(rows, columns=columns)


def county_yes_shares(found: list[Area]) -> pd.DataFrame:
    """A measure's yes share of the votes on it in each county, for county_share_map."""
    rows = []
    for area in county_areas(found):
        yes, no = area.totals.get("yes", 0), area.totals.get("no", 0)
        rows.append(
            {
                "fips": area.fips,
                "county": area.name,
                "share": share(yes, yes + no),
                "detail": f"{yes:,} yes, {no:,} no",
            }
        )
    return pd.DataFrame(rows, columns=["fips", "county", "share", "detail"])


def yes_and_no(found: list[Area]) -> pd.DataFrame:
    """A measure's yes and no votes per area, in the table's order."""
    rows = [
        {"area": area.name, "yes": area.totals.get("yes", 0), "no": area.totals.get("no", 0)}
        for area in found
    ]
    return pd.DataFrame(rows, columns=["area", "yes", "no"])


def contest_calls(
    snapshot: ResultSnapshot, contest: Contest, definition: Definition
) -> pd.DataFrame:
    """The contest's races called so far, the newest first; none until calls are published."""
    districts = {d.district_id: d for d in definition.districts}
    names = {c.choice_id: c.name for c in contest.choices}
    rows = []
    for district_id, call in snapshot.calls_in(contest.contest_id).items():
        winner = called_for(call, names)
        if not winner:
            continue
        moment = parse_time(call.get("called_at") or call.get("updated_at"))
        rows.append(
            {
                "Area": area_name(district_id, districts),
                "Called for": winner,
                "Margin": f"{vote_count(call.get('margin')):,}",
                "Votes outstanding": f"{vote_count(call.get('outstanding')):,}",
                "Called at": f"{moment:%H:%M:%S} UTC" if moment else "",
                "moment": moment.timestamp() if moment else 0.0,
            }
        )
    rows.sort(key=lambda row: (-row["moment"], row["Area"]))
    columns = ["Area", "Called for", "Margin", "Votes outstanding", "Called at", "moment"]
    return pd.DataFrame(rows, columns=columns).drop(columns="moment")
