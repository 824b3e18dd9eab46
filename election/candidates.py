"""The candidates: an offline generator and the randomuser.me mapping, one per party.

Both produce CANDIDATE_COLUMNS, so the rest of the election cannot tell where a candidate
came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from election import avatars, geography, ids, names
from election.records import optional, text

CANDIDATE_COLUMNS = (
    "candidate_id",
    "candidate_name",
    "party_affiliation",
    "biography",
    "campaign_platform",
    "photo_url",
)

# The seed system's three parties first, so the default election looks like it.
PARTIES = (
    "Management Party",
    "Savior Party",
    "Tech Republic Party",
    "Green Horizon Party",
    "Liberty Union Party",
    "Common Ground Party",
    "Heartland Party",
    "Future Forward Party",
)
_PLATFORMS = {
    "Management Party": (
        "run government like a well-managed enterprise",
        (
            "balance the budget within four years",
            "halve the waiting time for permits",
            "publish every agency's spending online",
            "audit every program older than ten years",
        ),
    ),
    "Savior Party": (
        "rescue the families the economy left behind",
        (
            "cap the price of prescription drugs",
            "expand free school meals",
            "reopen rural hospitals",
            "raise the minimum wage in steps",
        ),
    ),
    "Tech Republic Party": (
        "put technology to work for every citizen",
        (
            "bring fast broadband to every home",
            "move all public services online",
            "teach coding in every school",
            "fund open-source tools for government",
        ),
    ),
    "Green Horizon Party": (
        "make the transition to clean energy fair",
        (
            "plant a billion trees",
            "electrify public transport",
            "insulate a million homes",
            "protect wetlands and rivers",
        ),
    ),
    "Liberty Union Party": (
        "keep government small and close to the people",
        (
            "simplify the tax code",
            "cut red tape for small businesses",
            "hand more decisions to local councils",
            "defend free speech online",
        ),
    ),
    "Common Ground Party": (
        "end gridlock by working across party lines",
        (
            "reform how districts are drawn",
            "fund infrastructure repairs",
            "protect pensions",
            "make voting easier for everyone",
        ),
    ),
    "Heartland Party": (
        "stand up for farms and small towns",
        (
            "guarantee fair crop prices",
            "repair rural roads and bridges",
            "keep local post offices open",
            "bring clinics back to small towns",
        ),
    ),
    "Future Forward Party": (
        "invest in the next generation",
        (
            "make community college free",
            "build affordable starter homes",
            "fund research universities",
            "expand paid parental leave",
        ),
    ),
}
_PROFESSIONS = (
    "a former teacher",
    "a small-business owner",
    "a civil engineer",
    "a family doctor",
    "a software engineer",
    "an army veteran",
    "an economist",
    "a third-generation farmer",
    "a nurse",
    "a public defender",
)
_OFFICES = (
    "a city council member",
    "a state legislator",
    "a county commissioner",
    "chair of the school board",
    "mayor",
    "a district attorney",
    "a hospital administrator",
    "a union representative",
)
_CLOSINGS = (
    "A parent of two who coaches youth soccer on weekends.",
    "The first in the family to attend college.",
    "Grew up working in the family hardware store.",
    "Volunteers at the local food bank every month.",
    "Known across the aisle as a patient negotiator.",
    "Ran a marathon in every decade of adult life.",
)


def generate_candidates(n: int = 3, seed: int = 42, nationality: str = "us") -> list[dict]:
    """n candidates, each from a different party (the seed system's three first)."""
    if not 1 <= n <= len(PARTIES):
        raise ValueError(f"between 1 and {len(PARTIES)} candidates (one per party), not {n}")
    place = geography.country(nationality)
    pool = names.pool(place.nationality)
    region_names, weights = geography.regions(place.nationality)
    rng = np.random.default_rng([seed, 0xCA])
    candidate_ids = ids.numpy_strings(ids.random_uuid_chars(rng, n))
    candidates: list[dict] = []
    taken: set[str] = set()
    for index in range(n):
        female = bool(rng.random() < 0.5)
        while True:
            first = str(rng.choice(pool.female if female else pool.male))
            name = f"{first} {rng.choice(pool.family)}"
            if name not in taken:
                taken.add(name)
                break
        region = place.regions[int(rng.choice(len(region_names), p=weights))]
        rng.integers(0, 100)  # drawn as ever, so the rest of a seed's roll stays the same
        # a local avatar, so the offline roll's page needs no network
        portrait = avatars.avatar_url(index, long_hair=female)
        candidates.append(
            _candidate(
                str(candidate_ids[index]),
                name,
                PARTIES[index],
                portrait,
                rng,
                region.cities[0],
                region.name,
            )
        )
    return candidates


def candidate_from_randomuser(person: Mapping[str, Any], index: int, seed: int) -> dict:
    """The index-th candidate (of party PARTIES[index]) from one randomuser.me result object."""
    if not 0 <= index < len(PARTIES):
        raise ValueError(f"candidate index {index} has no party; there are {len(PARTIES)} parties")
    rng = np.random.default_rng([seed, 0xCA, index])
    return _candidate(
        text(person, "login.uuid"),
        f"{text(person, 'name.first')} {text(person, 'name.last')}",
        PARTIES[index],
        text(person, "picture.large"),
        rng,
        optional(person, "location.city"),
        optional(person, "location.state"),
    )


def _candidate(
    candidate_id: str,
    name: str,
    party: str,
    photo_url: str,
    rng: np.random.Generator,
    city: str | None,
    state: str | None,
) -> dict:
    home = ", ".join(str(part) for part in (city, state) if part)
    origin = f" from {home}" if home else ""
    years = int(rng.integers(2, 19))
    biography = (
        f"{name} is {rng.choice(_PROFESSIONS)}{origin} who served {years} years as "
        f"{rng.choice(_OFFICES)}. {rng.choice(_CLOSINGS)}"
    )
    aim, pledges = _PLATFORMS[party]
    first_pledge, second_pledge = rng.choice(len(pledges), size=2, replace=False)
    platform = (
        f"The {party} wants to {aim}: {name.split()[-1]} pledges to "
        f"{pledges[first_pledge]} and {pledges[second_pledge]}."
    )
    return {
        "candidate_id": candidate_id,
        "candidate_name": name,
        "party_affiliation": party,
        "biography": biography,
        "campaign_platform": platform,
        "photo_url": photo_url,
    }
