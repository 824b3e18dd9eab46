"""The counties of each state, from addfips's bundled table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from election import counties, geography


def test_every_state_and_dc_has_counties_under_its_own_fips():
    assert set(counties.COUNTIES) == set(geography.US_STATE_CODES.values())
    for state, found in counties.COUNTIES.items():
        assert found, state
        for county in found:
            assert county.state == state
            assert county.fips[:2] == counties.STATE_FIPS[state]
            assert len(county.fips) == 5 and county.fips.isdigit()
    every = counties.all_counties()
    assert len({c.fips for c in every}) == len(every) == 3142


def test_the_vintage_is_2020_with_connecticuts_old_counties():
    # the county map's outlines must be of the same vintage (not the 2022 planning regions)
    assert [c.fips for c in counties.counties("CT")] == [f"09{k:03d}" for k in range(1, 16, 2)]
    assert [c.name for c in counties.counties("DC")] == ["District of Columbia"]
    assert len(counties.counties("TX")) == 254


def test_one_current_name_per_code_and_no_gone_county():
    names = {c.fips: c.name for c in counties.all_counties()}
    assert names["46102"] == "Oglala Lakota County"
    assert names["02158"] == "Kusilvak Census Area"
    assert names["36061"] == "New York County"
    assert "51515" not in names and "02261" not in names


@given(state=st.sampled_from(sorted(geography.US_STATE_CODES)), key=st.text(max_size=50))
def test_a_key_always_lands_in_the_same_county_of_its_state(state, key):
    county = counties.county_for(state, key)
    assert county in counties.counties(geography.US_STATE_CODES[state])
    assert counties.county_for(state, key) == county


_PLACES = set(geography.US_STATE_CODES) | set(geography.US_STATE_CODES.values())


@given(name=st.text(max_size=30).filter(lambda s: s not in _PLACES))
def test_no_county_outside_the_states(name):
    assert counties.county_for(name, "voter") is None
    assert counties.counties(name) == ()
