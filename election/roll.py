"""The voter roll: an offline generator, and the randomuser.me mapping.

Both paths produce the same record shape (VOTER_COLUMNS), so the rest of the election cannot
tell where its roll came from. A US voter lives in a county of their state (election.counties);
voters of other nationalities have none. The generator is vectorised: a million
voters are a few numpy draws and Arrow string operations, not a million Python records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from election import counties, geography, ids, names, records

# The candidates have their own module; these names stay for the roll's older callers.
from election.candidates import (  # noqa: F401
    CANDIDATE_COLUMNS,
    PARTIES,
    candidate_from_randomuser,
    generate_candidates,
)

VOTER_COLUMNS = (
    "voter_id",
    "voter_name",
    "date_of_birth",
    "gender",
    "nationality",
    "registration_number",
    "address_street",
    "address_city",
    "address_county",
    "county_fips",
    "address_state",
    "address_country",
    "address_postcode",
    "email",
    "phone_number",
    "picture",
    "registered_age",
)
_VOTER_TYPES = {"date_of_birth": pa.date32(), "registered_age": pa.int32()}
VOTER_SCHEMA = pa.schema([(c, _VOTER_TYPES.get(c, pa.string())) for c in VOTER_COLUMNS])

VOTING_AGE = 18
OLDEST_AGE = 95
FEMALE_SHARE = 0.51
PORTRAIT_URL = "https://randomuser.me/api/portraits/{folder}/{number}.jpg"
EMAIL_DOMAIN = "example.com"  # reserved for examples, so no generated address reaches anyone

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
    # drawn last, so every other column of a seed's roll is what it was before counties
    columns["address_county"], columns["county_fips"] = _counties(rng, place, region)
    return pa.Table.from_arrays([columns[c] for c in VOTER_COLUMNS], schema=VOTER_SCHEMA)


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    """Completed years of age on a day (the rule election-day eligibility checks use)."""
    return (
        day.year
        - date_of_birth.year
        - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
    )


def voter_from_randomuser(person: Mapping[str, Any], nationality: str) -> dict:
    """One voter record from one randomuser.me result object; ValueError names a missing field."""
    voter_id = records.text(person, "login.uuid")
    age = int(records.field(person, "dob.age"))
    years_registered = int(records.field(person, "registered.age"))
    phone = records.optional(person, "phone") or records.optional(person, "cell")
    if not phone:
        raise ValueError("randomuser record is missing field 'phone' (and 'cell')")
    state = records.text(person, "location.state")
    # The API gives no county: one of the state's, the same for the same voter every time.
    us = str(records.optional(person, "nat") or nationality).lower() == "us"
    county = counties.county_for(state, voter_id) if us else None
    return {
        "voter_id": voter_id,
        "voter_name": f"{records.text(person, 'name.first')} {records.text(person, 'name.last')}",
        "date_of_birth": dt.date.fromisoformat(records.text(person, "dob.date")[:10]),
        "gender": records.text(person, "gender"),
        "nationality": str(records.optional(person, "nat") or nationality).upper(),
        # Unique by construction: the API's national ids repeat across a million people and
        # are empty for some nationalities, so they cannot key a roll.
        "registration_number": voter_id,
        "address_street": f"{records.field(person, 'location.street.number')} {records.text(person, 'location.street.name')}",
        "address_city": records.text(person, "location.city"),
        "address_county": county.name if county else None,
        "county_fips": county.fips if county else None,
        "address_state": state,
        "address_country": records.text(person, "location.country"),
        "address_postcode": str(records.field(person, "location.postcode")),
        "email": records.text(person, "email"),
        "phone_number": str(phone),
        "picture": records.text(person, "picture.large"),
        # The API's registered.age counts years since registering; we store the age then.
        "registered_age": max(min(VOTING_AGE, age), age - years_registered),
    }


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


def _counties(
    rng: np.random.Generator, place: geography.Country, region: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """Each US voter's county, any of their state's alike (addfips has no populations)."""
    if place.nationality != "us":
        return pa.nulls(len(region), pa.string()), pa.nulls(len(region), pa.string())
    found = [counties.counties(r.code) for r in place.regions]
    within = _pick_within(rng, region, [np.ones(len(f)) for f in found])
    at = np.cumsum([0] + [len(f) for f in found])[region] + within
    every = [c for f in found for c in f]
    return _take([c.name for c in every], at), _take([c.fips for c in every], at)


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
