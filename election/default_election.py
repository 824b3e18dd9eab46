"""The generated default election: what a voter finds on the ballot when no file is given.

The national race (its choices: the registered candidates); in every state and DC a U.S. Senate
race, an attorney general and one ballot measure; a governor in most states; and a county
commission (vote for 2) in every county of a few small-to-medium states. Every voter's ballot
so holds at least four contests. Candidates' names are drawn from election.names, the same
for the same seed.

The races ranked in life are ranked contests (instant runoff, with RCTab rules modelled on the
place's): Maine's and Alaska's U.S. Senate races, Alaska's U.S. House race (at large) and its
governor when the draw has one, and the mayors of three cities that are, or lie in, one county
(Minneapolis, Portland, San Francisco). Each has 4 to 6 candidates, two of each big party
first, so a first round rarely has a majority. Their candidates have their own draw, so the
other races are the same as without them.
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
    RANKED,
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
# RCTab rules modelled on each place's: overvotes exhaust a ballot (Portland passes over them);
# two skipped ranks in a row exhaust one in Maine and Alaska; a candidate ranked again is passed
# over; ties are broken by lot (a seeded draw).
_RANKED_RULES = {
    "tiebreakMode": "random",
    "overvoteRule": "exhaustImmediately",
    "numberOfWinners": "1",
    "maxSkippedRanksAllowed": "unlimited",
    "exhaustOnDuplicateCandidate": False,
    "batchElimination": False,
}
MAINE = {"maxSkippedRanksAllowed": "1", "batchElimination": True}
ALASKA = {"maxSkippedRanksAllowed": "1", "maxRankingsAllowed": "4"}
# Ranked races: contest id -> (candidates, rules beside _RANKED_RULES'); a governor only if drawn.
RANKED_STATE_RACES = {
    "senate-ME": (5, {**MAINE, "maxRankingsAllowed": "5"}),
    "senate-AK": (4, ALASKA),
    "house-AK": (4, ALASKA),
    "governor-AK": (4, ALASKA),
}
# City mayors elected by instant runoff, in the county the city is or lies in:
# (county FIPS, city, candidates, rules beside _RANKED_RULES').
RANKED_CITY_RACES = (
    ("27053", "Minneapolis", 6, {"maxRankingsAllowed": "3", "batchElimination": True}),
    ("41051", "Portland", 6, {"maxRankingsAllowed": "6", "overvoteRule": "alwaysSkipToNextRank"}),
    ("06075", "San Francisco", 5, {"maxRankingsAllowed": "10"}),
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
    alaska = next(s for s in states if s.code == "AK")
    races.append(("house-AK", f"U.S. House, {alaska.name} at large", alaska.code, 1, 0))
    for state in governed:
        races.append((f"governor-{state.code}", f"Governor, {state.name}", state.code, 1, 0))
    for state in states:
        name = f"Attorney General, {state.name}"
        races.append((f"attorney-general-{state.code}", name, state.code, 1, 0))
    for code in COUNTY_RACE_STATES:
        for county in counties.counties(code):
            name = f"County Commission, {county.name}, {code}"
            races.append((f"commission-{county.fips}", name, county.fips, COMMISSION_SEATS, 4))
    ranked = {c: (size, {**_RANKED_RULES, **r}) for c, (size, r) in RANKED_STATE_RACES.items()}
    for fips, city, size, rules in RANKED_CITY_RACES:
        races.append((f"mayor-{fips}", f"Mayor, {city}", fips, 1, 0))
        ranked[f"mayor-{fips}"] = (size, {**_RANKED_RULES, **rules})

    contests = [Contest(NATIONAL_CONTEST, "President of the United States", NATION, PLURALITY, ())]
    ranked_rng = np.random.default_rng([seed, 0xDEF, 0x2A4])  # the ranked races' own draw
    for contest_id, name, place, vote_for, size in races:
        district = county_district(place) if place.isdigit() else state_district(place)
        if contest_id not in ranked:
            choices = _candidates(rng, pool, contest_id, size or int(rng.integers(2, 4)))
            contests.append(Contest(contest_id, name, district, PLURALITY, choices, vote_for))
            continue
        if not contest_id.startswith(("house-", "mayor-")):
            # its plurality draw as before it was ranked, so the races after it keep theirs
            _candidates(rng, pool, contest_id, int(rng.integers(2, 4)))
        size, rules = ranked[contest_id]
        rules = {**rules, "randomSeed": str(seed)}
        choices = _candidates(ranked_rng, pool, contest_id, size, big_pairs=True)
        contests.append(Contest(contest_id, name, district, RANKED, choices, rules=rules))
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
    rng: np.random.Generator,
    pool: names.NamePool,
    contest_id: str,
    n: int,
    big_pairs: bool = False,
) -> tuple[Choice, ...]:
    """n candidates with distinct names; the two big parties first, then smaller ones (with
    big_pairs, or of 4 candidates, two of each big party first)."""
    first, family = pool.male + pool.female, pool.family
    taken: set[str] = set()
    found = []
    for k in range(n):
        while True:
            name = f"{first[rng.integers(len(first))]} {family[rng.integers(len(family))]}"
            if name not in taken:
                taken.add(name)
                break
        big = k < 2 or n == 4 or (big_pairs and k < 4)
        party = PARTIES[k % 2] if big else PARTIES[int(rng.integers(2, len(PARTIES)))]
        found.append(Choice(f"{contest_id}-{k + 1}", name, party, k + 1))
    return tuple(found)
