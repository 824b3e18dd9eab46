"""The generated default election: what a voter finds on the ballot when no file is given.

The national race (its choices: the registered candidates); in every state and DC a U.S. Senate
race, an attorney general and one ballot measure; a governor in most states; and a county
commission (vote for 2) in every county of a few small-to-medium states. Every voter's ballot
so holds at least four contests. Candidates' names are drawn from election.names, the same
for the same seed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from election import counties, geography, names
from election.candidates import PARTIES
from election.contests import (
    MEASURE,
    MEASURE_CHOICES,
    NATION,
    NATIONAL_CONTEST,
    PLURALITY,
    Choice,
    Contest,
    county_district,
    state_district,
)
from election.definition import Definition, us_districts

# 3 + 10 + 14 + 17 counties: enough county races to map, few enough to read.
COUNTY_RACE_STATES = ("DE", "NH", "VT", "NV")
GOVERNOR_SHARE = 0.7  # about 36 governors, as in a midterm year
COMMISSION_SEATS = 2
MEASURE_SUBJECTS = (
    "Bonds for school buildings",
    "Raise the minimum wage",
    "Term limits for state legislators",
    "Fund parks and open space",
    "An independent redistricting commission",
    "Broadband for rural areas",
    "Repair roads and bridges",
    "Same-day voter registration",
)


def default_election(seed: int = 42) -> Definition:
    """The default election's contests in ballot order, the same for the same seed."""
    rng = np.random.default_rng([seed, 0xDEF])
    pool = names.pool("us")
    states = geography.country("us").regions
    governed = [s for s in states if s.code != "DC" and rng.random() < GOVERNOR_SHARE]
    races: list[tuple[str, str, str, int, int]] = []  # id, name, district, vote_for, choices
    for state in states:
        office = "U.S. Shadow Senator" if state.code == "DC" else "U.S. Senate"
        races.append((f"senate-{state.code}", f"{office}, {state.name}", state.code, 1, 0))
    for state in governed:
        races.append((f"governor-{state.code}", f"Governor, {state.name}", state.code, 1, 0))
    for state in states:
        name = f"Attorney General, {state.name}"
        races.append((f"attorney-general-{state.code}", name, state.code, 1, 0))
    for code in COUNTY_RACE_STATES:
        for county in counties.counties(code):
            name = f"County Commission, {county.name}, {code}"
            races.append((f"commission-{county.fips}", name, county.fips, COMMISSION_SEATS, 4))

    contests = [Contest(NATIONAL_CONTEST, "President of the United States", NATION, PLURALITY, ())]
    for contest_id, name, place, vote_for, size in races:
        district = county_district(place) if place.isdigit() else state_district(place)
        choices = _candidates(rng, pool, contest_id, size or int(rng.integers(2, 4)))
        contests.append(Contest(contest_id, name, district, PLURALITY, choices, vote_for))
    for state in states:
        subject = MEASURE_SUBJECTS[int(rng.integers(len(MEASURE_SUBJECTS)))]
        yes_no = tuple(
            Choice(c, c.capitalize(), None, k) for k, c in enumerate(MEASURE_CHOICES, start=1)
        )
        contests.append(
            Contest(
                f"measure-{state.code}-1",
                f"{state.name} Measure 1: {subject}",
                state_district(state.code),
                MEASURE,
                yes_no,
            )
        )
    ordered = tuple(replace(c, position=k) for k, c in enumerate(contests, start=1))
    return Definition(ordered, us_districts())


def _candidates(
    rng: np.random.Generator, pool: names.NamePool, contest_id: str, n: int
) -> tuple[Choice, ...]:
    """n candidates with distinct names; the two big parties first, then a smaller one."""
    first, family = pool.male + pool.female, pool.family
    taken: set[str] = set()
    found = []
    for k in range(n):
        while True:
            name = f"{first[rng.integers(len(first))]} {family[rng.integers(len(family))]}"
            if name not in taken:
                taken.add(name)
                break
        party = PARTIES[k % 2] if k < 2 or n == 4 else PARTIES[int(rng.integers(2, len(PARTIES)))]
        found.append(Choice(f"{contest_id}-{k + 1}", name, party, k + 1))
    return tuple(found)
