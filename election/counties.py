"""The counties of each US state, by FIPS code, from the addfips package's bundled tables.

addfips 0.4.2 ships its newest county list as `data/counties_2020.csv` (state FIPS, county
FIPS, name): the 2020-census county-equivalents, so Connecticut keeps its eight historical
counties (09001-09015), not the 2022 planning regions. The file is a lookup table for names,
so it also holds former names of some counties (under the same code) and two codes that no
longer exist; `COUNTIES` keeps one entry per living code, under its current name. Nothing is
downloaded: the table is read from the installed package.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from importlib import resources

from election import geography

_PACKAGE = "addfips"
_COUNTIES = "data/counties_2020.csv"
_STATES = "data/states.csv"
VINTAGE = "addfips 0.4.2, counties_2020.csv (2020 census; Connecticut's eight old counties)"

# Names the table keeps beside a county's current one (renamed, or a borough's other name).
_FORMER_NAMES = frozenset(
    {
        "Wade Hampton Census Area",  # Kusilvak Census Area since 2015
        "Petersburg Census Area",  # Petersburg Borough since 2013
        "Shannon County",  # Oglala Lakota County since 2015
        "Washington",  # the District of Columbia
        "the Bronx Borough",  # Bronx County
        "Brooklyn Borough",  # Kings County
        "Manhattan Borough",  # New York County
        "Staten Island Borough",  # Richmond County
    }
)
# Codes the table still lists though the county is gone (Census Bureau, substantial changes).
_GONE = frozenset(
    {
        "02261",  # Valdez-Cordova Census Area, split in 2019
        "51515",  # Bedford city, joined Bedford County in 2013
    }
)


@dataclass(frozen=True)
class County:
    fips: str  # five digits: the state's two, then the county's three
    name: str
    state: str  # two-letter code


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files(_PACKAGE).joinpath(name).open("rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _load() -> tuple[dict[str, str], dict[str, tuple[County, ...]]]:
    codes = set(geography.US_STATE_CODES.values())
    state_of_fips = {r["fips"]: r["postal"] for r in _rows(_STATES) if r["postal"] in codes}
    named: dict[str, str] = {}
    for row in _rows(_COUNTIES):
        fips = row["statefp"] + row["countyfp"]
        known = row["statefp"] in state_of_fips and fips not in _GONE
        if known and (fips not in named or named[fips] in _FORMER_NAMES):
            named[fips] = row["name"]
    by_state: dict[str, list[County]] = {code: [] for code in sorted(codes)}
    for fips in sorted(named):
        state = state_of_fips[fips[:2]]
        by_state[state].append(County(fips, named[fips], state))
    state_fips = {postal: fips for fips, postal in state_of_fips.items()}
    return state_fips, {code: tuple(found) for code, found in by_state.items()}


STATE_FIPS, COUNTIES = _load()  # {state code: its two-digit FIPS}, {state code: its counties}


def counties(state: str) -> tuple[County, ...]:
    """The counties of a state (two-letter code), by FIPS; none for an unknown state."""
    return COUNTIES.get(state, ())


def all_counties() -> tuple[County, ...]:
    """Every county of the 50 states and DC, by FIPS."""
    return tuple(c for state in sorted(COUNTIES) for c in COUNTIES[state])


def county_for(state_name: str | None, key: str) -> County | None:
    """A county of the state named `state_name` (as the roll spells it), chosen by `key`.

    The same key always lands in the same county (a voter id keeps its county across
    registrations); None when the name is not a US state.
    """
    found = counties(geography.US_STATE_CODES.get(state_name or "", ""))
    if not found:
        return None
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return found[int.from_bytes(digest[:8], "big") % len(found)]
