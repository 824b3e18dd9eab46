"""Regions of each nationality: names, codes and population weights."""

from __future__ import annotations

import numpy as np
import pytest

from election import geography


def test_us_has_fifty_states_and_dc_with_codes():
    names, weights = geography.regions("us")
    assert len(names) == 51 and len(set(names)) == 51
    assert "California" in names and "District of Columbia" in names
    assert set(geography.US_STATE_CODES) == set(names)
    assert len(set(geography.US_STATE_CODES.values())) == 51
    assert geography.US_STATE_CODES["California"] == "CA"
    assert weights.sum() == pytest.approx(1.0)


def test_population_weights_are_realistic():
    names, weights = geography.regions("us")
    share = dict(zip(names, weights, strict=True))
    assert max(share, key=share.get) == "California"
    assert share["California"] > 50 * share["Wyoming"]
    assert 0.11 < share["California"] < 0.13


@pytest.mark.parametrize("nationality", geography.SUPPORTED_NATIONALITIES)
def test_every_nationality_has_weighted_regions_with_places(nationality):
    names, weights = geography.regions(nationality)
    assert len(names) == len(set(names)) >= 8
    assert np.all(weights > 0) and weights.sum() == pytest.approx(1.0)
    for region in geography.country(nationality).regions:
        assert region.cities and region.postcodes


def test_nationality_is_case_insensitive():
    assert geography.regions("GB")[0] == geography.regions("gb")[0]


def test_unknown_nationality_names_the_supported_ones():
    with pytest.raises(ValueError, match="unsupported nationality 'xx'.*us, gb"):
        geography.regions("xx")
