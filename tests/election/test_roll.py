"""The offline voter roll and candidates, and the randomuser.me mapping."""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from election import counties, geography, roll

ELECTION_DAY = dt.date(2024, 11, 5)
N = 50_000


@pytest.fixture(scope="module")
def voters() -> pa.Table:
    return roll.generate_voters(N, seed=11, election_day=ELECTION_DAY)


def test_columns_and_types(voters):
    assert tuple(voters.column_names) == roll.VOTER_COLUMNS
    assert voters.num_rows == N
    assert voters.schema.field("date_of_birth").type == pa.date32()
    assert voters.schema.field("registered_age").type == pa.int32()
    for column in roll.VOTER_COLUMNS:
        if column not in ("date_of_birth", "registered_age"):
            assert voters.schema.field(column).type == pa.string(), column
        assert voters[column].null_count == 0, column


def test_same_seed_same_roll_other_seed_other_roll(voters):
    assert roll.generate_voters(N, seed=11, election_day=ELECTION_DAY).equals(voters)
    other = roll.generate_voters(N, seed=12, election_day=ELECTION_DAY)
    assert other["voter_id"][0] != voters["voter_id"][0]


def test_ids_and_registration_numbers_are_unique(voters):
    assert pc.count_distinct(voters["voter_id"]).as_py() == N
    assert pc.count_distinct(voters["registration_number"]).as_py() == N
    for voter_id in voters["voter_id"].to_pylist()[:100]:
        assert uuid.UUID(voter_id).version == 4


def test_every_voter_is_of_voting_age_on_election_day(voters):
    ages = [roll.age_on(born, ELECTION_DAY) for born in voters["date_of_birth"].to_pylist()]
    assert min(ages) == roll.VOTING_AGE and max(ages) <= roll.OLDEST_AGE
    registered = voters["registered_age"].to_pylist()
    assert all(roll.VOTING_AGE <= r <= a for r, a in zip(registered, ages, strict=True))


def test_born_on_a_leap_day_election():
    # An election on 29 February must still keep every voter 18 or over.
    leap_day = dt.date(2028, 2, 29)
    table = roll.generate_voters(20_000, seed=3, election_day=leap_day)
    assert min(roll.age_on(b, leap_day) for b in table["date_of_birth"].to_pylist()) >= 18


def test_states_follow_population(voters):
    names, weights = geography.regions("us")
    counts = pc.value_counts(voters["address_state"]).to_pylist()
    seen = {c["values"]: c["counts"] for c in counts}
    assert set(seen) == set(names)
    for name, weight in zip(names, weights, strict=True):
        expected = weight * N
        assert abs(seen[name] - expected) < 5 * np.sqrt(expected) + 5, name


def test_cities_and_postcodes_belong_to_the_state(voters):
    regions = {r.name: r for r in geography.country("us").regions}
    rows = voters.select(["address_state", "address_city", "address_postcode"]).to_pylist()
    for row in rows[:5000]:
        region = regions[row["address_state"]]
        assert row["address_city"] in region.cities
        assert re.fullmatch(r"\d{5}", row["address_postcode"])
        assert any(lo <= int(row["address_postcode"]) <= hi for lo, hi in region.postcodes)


def test_genders_names_and_portraits_match(voters):
    from election.names import pool

    us = pool("us")
    rows = voters.select(["voter_name", "gender", "picture"]).to_pylist()
    genders = [r["gender"] for r in rows]
    assert 0.45 < genders.count("female") / N < 0.57 and set(genders) == {"male", "female"}
    for row in rows[:5000]:
        first = row["voter_name"].split(" ")[0]
        folder = "women" if row["gender"] == "female" else "men"
        assert first in (us.female if row["gender"] == "female" else us.male)
        assert re.fullmatch(
            rf"https://randomuser\.me/api/portraits/{folder}/\d{{1,2}}\.jpg", row["picture"]
        )


def test_contact_details_look_real(voters):
    rows = voters.select(["voter_name", "email", "phone_number", "address_street"]).to_pylist()
    for row in rows[:2000]:
        first, last = row["voter_name"].lower().split(" ", 1)
        assert re.fullmatch(r"[a-z-]+\.[a-z-]+\d{1,3}@example\.com", row["email"])
        assert row["email"].startswith(re.sub(r"[^a-z-]", "", first) + ".")
        assert re.fullmatch(r"\([2-9]\d\d\) [2-9]\d\d-\d{4}", row["phone_number"])
        assert re.fullmatch(r"\d{1,4} [A-Z][a-z]+ [A-Z][a-z]+", row["address_street"])
    emails = voters["email"]
    assert pc.count_distinct(emails).as_py() > 0.9 * N


@pytest.mark.parametrize("nationality", ["gb", "fr", "de", "ca", "au"])
def test_other_nationalities(nationality):
    table = roll.generate_voters(2000, seed=5, nationality=nationality, election_day=ELECTION_DAY)
    names, _ = geography.regions(nationality)
    place = geography.country(nationality)
    assert set(table["address_state"].to_pylist()) <= set(names)
    assert set(table["address_country"].to_pylist()) == {place.name}
    assert set(table["nationality"].to_pylist()) == {nationality.upper()}
    postcode = {
        "gb": r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}",
        "ca": r"[A-Z]\d[A-Z] \d[A-Z]\d",
        "fr": r"\d{5}",
        "de": r"\d{5}",
        "au": r"\d{4}",
    }[nationality]
    assert all(re.fullmatch(postcode, p) for p in table["address_postcode"].to_pylist())
    assert pc.count_distinct(table["registration_number"]).as_py() == 2000


def test_one_seed_two_nationalities_share_no_voter():
    us = roll.generate_voters(100, seed=1, nationality="us", election_day=ELECTION_DAY)
    gb = roll.generate_voters(100, seed=1, nationality="gb", election_day=ELECTION_DAY)
    assert not set(us["voter_id"].to_pylist()) & set(gb["voter_id"].to_pylist())


def test_empty_roll_and_bad_sizes():
    assert roll.generate_voters(0, election_day=ELECTION_DAY).num_rows == 0
    with pytest.raises(ValueError):
        roll.generate_voters(-1)
    with pytest.raises(ValueError, match="unsupported nationality"):
        roll.generate_voters(10, nationality="zz")


# --- randomuser.me --------------------------------------------------------------------------

PERSON = {
    "gender": "female",
    "name": {"title": "Ms", "first": "Jennie", "last": "Nichols"},
    "location": {
        "street": {"number": 8929, "name": "Valwood Pkwy"},
        "city": "Billings",
        "state": "Michigan",
        "country": "United States",
        "postcode": 63104,
    },
    "email": "jennie.nichols@example.com",
    "login": {"uuid": "7a0eed16-9430-4d68-901f-c0d4c1c3bf00", "username": "yellowpeacock117"},
    "dob": {"date": "1992-03-08T15:13:16.688Z", "age": 30},
    "registered": {"date": "2007-07-09T05:51:59.390Z", "age": 14},
    "phone": "(272) 790-0888",
    "cell": "(489) 330-2385",
    "id": {"name": "SSN", "value": "405-88-3636"},
    "picture": {"large": "https://randomuser.me/api/portraits/women/75.jpg"},
    "nat": "US",
}


def test_voter_from_randomuser():
    voter = roll.voter_from_randomuser(PERSON, "us")
    assert tuple(voter) == roll.VOTER_COLUMNS
    assert voter["voter_id"] == voter["registration_number"] == PERSON["login"]["uuid"]
    assert voter["voter_name"] == "Jennie Nichols"
    assert voter["date_of_birth"] == dt.date(1992, 3, 8)
    assert voter["address_street"] == "8929 Valwood Pkwy"
    assert voter["address_postcode"] == "63104"
    assert voter["address_state"] == "Michigan"
    assert voter["nationality"] == "US"
    assert voter["phone_number"] == "(272) 790-0888"
    assert voter["picture"].endswith("/women/75.jpg")
    assert (
        voter["registered_age"] == 18
    )  # 30 years old, registered 14 years ago at 16: counted from 18


def test_voter_from_randomuser_falls_back_to_cell_and_requested_nationality():
    person = copy.deepcopy(PERSON)
    del person["phone"], person["nat"]
    voter = roll.voter_from_randomuser(person, "gb")
    assert voter["phone_number"] == PERSON["cell"] and voter["nationality"] == "GB"


@pytest.mark.parametrize(
    "path",
    [
        "login.uuid",
        "name.last",
        "dob.date",
        "location.state",
        "location.postcode",
        "picture.large",
        "registered.age",
    ],
)
def test_voter_from_randomuser_names_a_missing_field(path):
    person = copy.deepcopy(PERSON)
    *parents, leaf = path.split(".")
    holder = person
    for key in parents:
        holder = holder[key]
    del holder[leaf]
    with pytest.raises(ValueError, match=re.escape(repr(path))):
        roll.voter_from_randomuser(person, "us")


# --- counties -------------------------------------------------------------------------------


def test_every_us_voter_lives_in_a_county_of_their_state(voters):
    code = geography.US_STATE_CODES
    rows = voters.select(["address_state", "address_county", "county_fips"]).to_pylist()
    for row in rows:
        county = {c.fips: c for c in counties.counties(code[row["address_state"]])}[
            row["county_fips"]
        ]
        assert county.name == row["address_county"]
    # every county of a small state is drawn
    delaware = {r["county_fips"] for r in rows if r["address_state"] == "Delaware"}
    assert delaware == {c.fips for c in counties.counties("DE")}


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1))
def test_any_roll_places_each_voter_in_their_states_county(n, seed):
    table = roll.generate_voters(n, seed=seed, election_day=ELECTION_DAY)
    for state, fips, name in zip(
        table["address_state"].to_pylist(),
        table["county_fips"].to_pylist(),
        table["address_county"].to_pylist(),
        strict=True,
    ):
        county = counties.county_for(state, "any")
        assert county is not None and fips[:2] == county.fips[:2]
        assert (fips, name) in {(c.fips, c.name) for c in counties.counties(county.state)}


def test_voters_abroad_have_no_county():
    table = roll.generate_voters(50, seed=2, nationality="gb", election_day=ELECTION_DAY)
    assert table["county_fips"].null_count == table["address_county"].null_count == 50


@settings(max_examples=50)
@given(
    voter_id=st.text(min_size=1, max_size=40),
    state=st.sampled_from(sorted(geography.US_STATE_CODES)),
)
def test_a_randomuser_voter_gets_a_county_of_their_state(voter_id, state):
    person = copy.deepcopy(PERSON)
    person["login"]["uuid"] = voter_id
    person["location"]["state"] = state
    voter = roll.voter_from_randomuser(person, "us")
    home = {(c.fips, c.name) for c in counties.counties(geography.US_STATE_CODES[state])}
    assert (voter["county_fips"], voter["address_county"]) in home
    assert voter == roll.voter_from_randomuser(person, "us")  # the same county every time


def test_a_randomuser_voter_outside_the_us_has_no_county():
    person = copy.deepcopy(PERSON)
    person["nat"], person["location"]["state"] = "GB", "London"
    voter = roll.voter_from_randomuser(person, "gb")
    assert voter["county_fips"] is None and voter["address_county"] is None
