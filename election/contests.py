"""Districts and contests: what is on a ballot, and whose ballot it is on (DESIGN.md, tables).

A district is the nation, a state or a county (an imported election adds precincts); a contest
belongs to one district and is on the ballot of every voter who lives in it. A voter's ballot
style is the contests of the districts they live in: an imported voter's roll entry names its
own district (the nation or a precinct of it) in place of a state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from election.geography import US_STATE_CODES

NATION = "nation"
# The contest a seed-shaped ballot (`candidate_id`) votes in; its choices are the candidates table.
NATIONAL_CONTEST = "national"

# District kinds, and contest kinds, as the tables hold them.
NATION_KIND, STATE_KIND, COUNTY_KIND, PRECINCT_KIND = "nation", "state", "county", "precinct"
DISTRICT_KINDS = (NATION_KIND, STATE_KIND, COUNTY_KIND, PRECINCT_KIND)
PLURALITY, MEASURE, RANKED = "plurality", "measure", "ranked"
CONTEST_KINDS = (PLURALITY, MEASURE, RANKED)
MEASURE_CHOICES = ("yes", "no")


def state_district(state: str) -> str:
    """`state:XX` for a two-letter state code."""
    return f"state:{state}"


def county_district(fips: str) -> str:
    """`county:NNNNN` for a county's five-digit FIPS code."""
    return f"county:{fips}"


def precinct_district(unit: str) -> str:
    """`precinct:<id>` for an imported election's precinct (its report's GpUnit id)."""
    return f"{PRECINCT_KIND}:{unit}"


@dataclass(frozen=True)
class District:
    district_id: str
    kind: str
    name: str
    parent_id: str | None


@dataclass(frozen=True)
class Choice:
    choice_id: str
    name: str
    party: str | None = None
    position: int = 0  # ballot order within its contest


@dataclass(frozen=True)
class Contest:
    contest_id: str
    name: str
    district_id: str
    kind: str
    choices: tuple[Choice, ...]
    vote_for: int = 1
    position: int = 0
    rules: Mapping | None = None  # a ranked contest's tabulation rules, as RCTab names them

    @property
    def choice_ids(self) -> frozenset[str]:
        return frozenset(c.choice_id for c in self.choices)


def home_state_district(state: str) -> str:
    """The district of a state as the roll names it (a U.S. state by its name, as the roll
    holds it, or by its code); a place outside the states keeps its own name. An imported
    election's voter has its own district there instead, `nation` or `precinct:<id>`."""
    if state == NATION or state.startswith(precinct_district("")):
        return state
    return state_district(US_STATE_CODES.get(state, state))


_STATE_NAMES = {code: name for name, code in US_STATE_CODES.items()}


def home_state_name(district_id: str) -> str | None:
    """The state of a `state:XX` district as the roll names it (home_state_district's inverse);
    None for a district that is not a state."""
    if not district_id.startswith("state:"):
        return None
    code = district_id.removeprefix("state:")
    return _STATE_NAMES.get(code, code)


def voter_districts(state: str | None, county_fips: str | None) -> tuple[str, ...]:
    """The districts a voter lives in, widest first (state as the roll names it)."""
    found = [NATION]
    if state:
        found.append(home_state_district(state))
    if county_fips:
        found.append(county_district(county_fips))
    return tuple(dict.fromkeys(found))  # an imported voter of the nation lives there once


def ballot_style(
    contests: Iterable[Contest], state: str | None, county_fips: str | None
) -> tuple[Contest, ...]:
    """The contests on the ballot of a voter of that state and county, in ballot order."""
    home = set(voter_districts(state, county_fips))
    return tuple(sorted((c for c in contests if c.district_id in home), key=lambda c: c.position))


def national_contest(
    candidate_ids: Iterable[str], names: Mapping[str, str | None] | None = None
) -> Contest:
    """The seed's one race: a plurality contest in the nation whose choices are the candidates
    (named by `names`, else by their ids)."""
    names = names or {}
    choices = tuple(Choice(c, names.get(c) or c) for c in dict.fromkeys(candidate_ids))
    return Contest(NATIONAL_CONTEST, "National race", NATION, PLURALITY, choices)
