"""The voter roll and the candidates: an offline generator, and the randomuser.me mapping.

Both paths produce the same record shapes (VOTER_COLUMNS, CANDIDATE_COLUMNS), so the rest of
the election cannot tell where its roll came from. The generator is vectorised: a million
voters are a few numpy draws and Arrow string operations, not a million Python records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from election import avatars, geography, ids, names

VOTER_COLUMNS = (
    "voter_id",
    "voter_name",
    "date_of_birth",
    "gender",
    "nationality",
    "registration_number",
    "address_street",
    "address_city",
    "address_state",
    "address_country",
    "address_postcode",
    "email",
    "phone_number",
    "picture",
    "registered_age",
)
CANDIDATE_COLUMNS = (
    "candidate_id",
    "candidate_name",
    "party_affiliation",
    "biography",
    "campaign_platform",
    "photo_url",
)
_VOTER_TYPES = {"date_of_birth": pa.date32(), "registered_age": pa.int32()}
VOTER_SCHEMA = pa.schema([(c, _VOTER_TYPES.get(c, pa.string())) for c in VOTER_COLUMNS])

VOTING_AGE = 18
OLDEST_AGE = 95
FEMALE_SHARE = 0.51
PORTRAIT_URL = "https://randomuser.me/api/portraits/{folder}/{number}.jpg"
EMAIL_DOMAIN = "example.com"  # reserved for examples, so no generated address reaches anyone

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

_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in inward codes
_CA_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # Canada Post never uses D, F, I, O, Q, U
_UNIX_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_NUMBERS = [str(k) for k in range(10000)]


def generate_voters(
    n: int, seed: int = 42, nationality: str = "us", election_day: dt.date | None = None
) -> pa.Table:
    """A realistic voter roll of n people, identical for the same seed and election day.

    Every voter is between 18 and 95 years old on election_day (today, UTC, when not given).
    """
    if n < 0:
        raise ValueError(f"cannot register a negative number of voters ({n})")
    place = geography.country(nationality)
    pool = names.pool(place.nationality)
    day = election_day or dt.datetime.now(dt.UTC).date()
    # Salted by nationality so that two rolls made with one seed share no voter ids.
    rng = np.random.default_rng([seed, geography.SUPPORTED_NATIONALITIES.index(place.nationality)])

    region_names, weights = geography.regions(place.nationality)
    region = rng.choice(len(region_names), size=n, p=weights)
    female = rng.random(n) < FEMALE_SHARE
    first = np.where(
        female,
        len(pool.male) + rng.integers(0, len(pool.female), n),
        rng.integers(0, len(pool.male), n),
    )
    family = rng.integers(0, len(pool.family), n)
    age = _draw_ages(rng, n)
    date_of_birth = _draw_birthdays(rng, age, day)
    # Most people register young; some only later in life. Never before 18 nor in the future.
    registered_age = VOTING_AGE + np.floor(rng.random(n) ** 2 * (age - VOTING_AGE + 1))

    first_names = pool.male + pool.female
    voter_name = pc.binary_join_element_wise(
        _take(first_names, first), _take(pool.family, family), " "
    )
    columns = {
        "voter_id": ids.arrow_strings(ids.random_uuid_chars(rng, n)),
        "voter_name": voter_name,
        "date_of_birth": pa.array(date_of_birth - _UNIX_EPOCH_ORDINAL, pa.int32()).cast(
            pa.date32()
        ),
        "gender": _take(("male", "female"), female.astype(np.int8)),
        "nationality": ids.constant_strings(place.nationality.upper(), n),
        "registration_number": _registration_numbers(rng, place, region),
        "address_street": _streets(rng, place, pool, n),
        "address_city": _cities(rng, place, region),
        "address_state": _take(region_names, region),
        "address_country": ids.constant_strings(place.name, n),
        "address_postcode": _postcodes(rng, place, region),
        "email": _emails(rng, first_names, pool.family, first, family),
        "phone_number": ids.arrow_strings(ids.fill_template(place.phone_template, rng, n)),
        "picture": _portraits(rng, female),
        "registered_age": pa.array(registered_age.astype(np.int32)),
    }
    return pa.Table.from_arrays([columns[c] for c in VOTER_COLUMNS], schema=VOTER_SCHEMA)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Completed years of age on a day (the rule election-day eligibility checks use)."""
    return (
        day.year
        - date_of_birth.year
        - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
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


def voter_from_randomuser(person: Mapping[str, Any], nationality: str) -> dict:
    """One voter record from one randomuser.me result object; ValueError names a missing field."""
    voter_id = _text(person, "login.uuid")
    age = int(_field(person, "dob.age"))
    years_registered = int(_field(person, "registered.age"))
    phone = _optional(person, "phone") or _optional(person, "cell")
    if not phone:
        raise ValueError("randomuser record is missing field 'phone' (and 'cell')")
    return {
        "voter_id": voter_id,
        "voter_name": f"{_text(person, 'name.first')} {_text(person, 'name.last')}",
        "date_of_birth": dt.date.fromisoformat(_text(person, "dob.date")[:10]),
        "gender": _text(person, "gender"),
        "nationality": str(_optional(person, "nat") or nationality).upper(),
        # Unique by construction: the API's national ids repeat across a million people and
        # are empty for some nationalities, so they cannot key a roll.
        "registration_number": voter_id,
        "address_street": f"{_field(person, 'location.street.number')} {_text(person, 'location.street.name')}",
        "address_city": _text(person, "location.city"),
        "address_state": _text(person, "location.state"),
        "address_country": _text(person, "location.country"),
        "address_postcode": str(_field(person, "location.postcode")),
        "email": _text(person, "email"),
        "phone_number": str(phone),
        "picture": _text(person, "picture.large"),
        # The API's registered.age counts years since registering; we store the age then.
        "registered_age": max(min(VOTING_AGE, age), age - years_registered),
    }


def candidate_from_randomuser(person: Mapping[str, Any], index: int, seed: int) -> dict:
    """The index-th candidate (of party PARTIES[index]) from one randomuser.me result object."""
    if not 0 <= index < len(PARTIES):
        raise ValueError(f"candidate index {index} has no party; there are {len(PARTIES)} parties")
    rng = np.random.default_rng([seed, 0xCA, index])
    return _candidate(
        _text(person, "login.uuid"),
        f"{_text(person, 'name.first')} {_text(person, 'name.last')}",
        PARTIES[index],
        _text(person, "picture.large"),
        rng,
        _optional(person, "location.city"),
        _optional(person, "location.state"),
    )


# --- the roll's columns ---------------------------------------------------------------------


def _take(values, indices: np.ndarray) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(indices))


def _draw_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    # Adult population by age: flat to 60, then thinning out towards 95.
    ages = np.arange(VOTING_AGE, OLDEST_AGE + 1)
    weights = np.where(ages < 60, 1.0, np.interp(ages, [60, 75, OLDEST_AGE], [1.0, 0.55, 0.02]))
    return rng.choice(ages, size=n, p=weights / weights.sum())


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return dt.date(day.year - years, 2, 28)


def _draw_birthdays(rng: np.random.Generator, age: np.ndarray, day: dt.date) -> np.ndarray:
    """Date ordinals of birthdays such that each person is exactly `age` years old on `day`."""
    ages = np.arange(VOTING_AGE, OLDEST_AGE + 1)
    latest = np.array([_years_before(day, int(a)).toordinal() for a in ages])
    earliest = np.array([_years_before(day, int(a) + 1).toordinal() + 1 for a in ages])
    slot = age - VOTING_AGE
    span = latest[slot] - earliest[slot] + 1
    return earliest[slot] + np.floor(rng.random(len(age)) * span).astype(np.int64)


def _registration_numbers(
    rng: np.random.Generator, place: geography.Country, region: np.ndarray
) -> pa.Array:
    # An affine map i -> (a*i + b) mod 10^10 with a coprime to 10 is a permutation, so the
    # numbers look random yet never repeat.
    modulus = 10**10
    a = int(rng.integers(10**9, modulus)) | 1
    if a % 5 == 0:
        a += 2
    b = int(rng.integers(0, modulus))
    number = (np.arange(len(region), dtype=np.int64) * a + b) % modulus
    digits = pc.utf8_lpad(pa.array(number).cast(pa.string()), width=10, padding="0")
    codes = _take([r.code for r in place.regions], region)
    return pc.binary_join_element_wise(codes, digits, "-")


def _streets(
    rng: np.random.Generator, place: geography.Country, pool: names.NamePool, n: int
) -> pa.Array:
    base = _take(pool.streets, rng.integers(0, len(pool.streets), n))
    kind = _take(place.street_kinds, rng.integers(0, len(place.street_kinds), n))
    # House numbers: many small ones, a few in the thousands.
    top = 4.0 if place.nationality in ("us", "ca", "au") else 2.5
    number = _take(
        _NUMBERS, np.minimum(np.floor(10 ** (rng.random(n) * top)), 9999).astype(np.int64)
    )
    if place.number_after_street:  # "Hauptstraße 12"
        return pc.binary_join_element_wise(pc.binary_join_element_wise(base, kind, ""), number, " ")
    if place.nationality == "fr":  # "12 Rue Victor-Hugo"
        return pc.binary_join_element_wise(number, kind, base, " ")
    return pc.binary_join_element_wise(number, base, kind, " ")


def _pick_within(
    rng: np.random.Generator, region: np.ndarray, weights: list[np.ndarray]
) -> np.ndarray:
    """For each voter, an index into its own region's list, drawn with that list's weights."""
    # Region r's list occupies [r, r + 1) on one line, cut in proportion to its weights, so a
    # single sorted search places every voter.
    bounds = np.concatenate([r + np.cumsum(w)[:-1] / w.sum() for r, w in enumerate(weights)])
    edges = np.concatenate([[0], np.cumsum([len(w) - 1 for w in weights])])
    slot = np.searchsorted(bounds, region + rng.random(len(region)), side="right")
    return slot - edges[region]


def _cities(rng: np.random.Generator, place: geography.Country, region: np.ndarray) -> pa.Array:
    # Bigger cities (listed first) hold more of the region's voters.
    weights = [1.0 / np.arange(1, len(r.cities) + 1) ** 0.7 for r in place.regions]
    within = _pick_within(rng, region, weights)
    offsets = np.cumsum([0] + [len(r.cities) for r in place.regions])
    all_cities = [city for r in place.regions for city in r.cities]
    return _take(all_cities, offsets[region] + within)


def _postcodes(rng: np.random.Generator, place: geography.Country, region: np.ndarray) -> pa.Array:
    n = len(region)
    if place.postcode_style == "numeric":
        # A region may hold several ranges; each is drawn in proportion to its size.
        spans = [np.array([hi - lo + 1 for lo, hi in r.postcodes], float) for r in place.regions]
        within = _pick_within(rng, region, spans)
        width = max(len(r.postcodes) for r in place.regions)
        lowest = np.zeros((len(place.regions), width), dtype=np.int64)
        highest = np.zeros((len(place.regions), width), dtype=np.int64)
        for r, entry in enumerate(place.regions):
            for k, (lo, hi) in enumerate(entry.postcodes):
                lowest[r, k], highest[r, k] = lo, hi
        lo, hi = lowest[region, within], highest[region, within]
        code = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
        return pc.utf8_lpad(
            pa.array(code).cast(pa.string()), width=place.postcode_width, padding="0"
        )
    areas = [np.ones(len(r.postcodes)) for r in place.regions]
    within = _pick_within(rng, region, areas)
    offsets = np.cumsum([0] + [len(r.postcodes) for r in place.regions])
    area = _take([a for r in place.regions for a in r.postcodes], offsets[region] + within)
    if place.postcode_style == "gb":  # "SW1A 2AA" style: area, district, sector, unit
        district = pa.array(rng.integers(1, 21, n)).cast(pa.string())
        inward = ids.arrow_strings(ids.fill_template("#LL", rng, n, _POSTCODE_LETTERS))
        return pc.binary_join_element_wise(
            pc.binary_join_element_wise(area, district, ""), inward, " "
        )
    rest = ids.arrow_strings(ids.fill_template("#L #L#", rng, n, _CA_POSTAL_LETTERS))
    return pc.binary_join_element_wise(area, rest, "")  # "K1A 0B1"


def _emails(
    rng: np.random.Generator,
    first_names: tuple[str, ...],
    family_names: tuple[str, ...],
    first: np.ndarray,
    family: np.ndarray,
) -> pa.Array:
    # A number after the name keeps addresses apart when two voters share a name.
    mailbox = [f"{k}@{EMAIL_DOMAIN}" for k in range(1000)]
    return pc.binary_join_element_wise(
        _take([names.email_form(x) + "." for x in first_names], first),
        _take([names.email_form(x) for x in family_names], family),
        _take(mailbox, rng.integers(1, 1000, len(first))),
        "",
    )


def _portrait_url(female: bool, number: int) -> str:
    return PORTRAIT_URL.format(folder="women" if female else "men", number=number)


def _portraits(rng: np.random.Generator, female: np.ndarray) -> pa.Array:
    urls = [_portrait_url(f, k) for f in (False, True) for k in range(100)]
    return _take(urls, female.astype(np.int64) * 100 + rng.integers(0, 100, len(female)))


# --- candidates -----------------------------------------------------------------------------


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


# --- reading randomuser.me records ----------------------------------------------------------


def _optional(person: Mapping[str, Any], path: str) -> Any:
    value: Any = person
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _field(person: Mapping[str, Any], path: str) -> Any:
    value = _optional(person, path)
    if value is None or value == "":
        raise ValueError(f"randomuser record is missing field {path!r}")
    return value


def _text(person: Mapping[str, Any], path: str) -> str:
    return str(_field(person, path))
