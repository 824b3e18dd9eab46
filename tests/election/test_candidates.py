"""The candidates: the offline generator and the randomuser.me mapping."""

from __future__ import annotations

import re
import uuid

import pytest

from election import candidates
from tests.election.test_roll import PERSON


def test_default_candidates_are_the_seed_systems_three_parties():
    made = candidates.generate_candidates()
    assert [c["party_affiliation"] for c in made] == [
        "Management Party",
        "Savior Party",
        "Tech Republic Party",
    ]
    for candidate in made:
        assert tuple(candidate) == candidates.CANDIDATE_COLUMNS
        assert candidate["candidate_name"] in candidate["biography"]
        assert candidate["party_affiliation"] in candidate["campaign_platform"]
        # a local avatar that the dashboard serves, so the page needs no network
        assert re.fullmatch(r"app/static/avatars/candidate-\d[ab]\.svg", candidate["photo_url"])
        uuid.UUID(candidate["candidate_id"])


def test_candidates_are_deterministic_and_of_distinct_parties():
    many = candidates.generate_candidates(len(candidates.PARTIES), seed=9)
    assert many == candidates.generate_candidates(len(candidates.PARTIES), seed=9)
    assert many != candidates.generate_candidates(len(candidates.PARTIES), seed=10)
    assert len({c["party_affiliation"] for c in many}) == len(many)
    assert len({c["candidate_id"] for c in many}) == len(many)
    assert len({c["candidate_name"] for c in many}) == len(many)


def test_more_candidates_than_parties_is_refused():
    with pytest.raises(ValueError, match="one per party"):
        candidates.generate_candidates(len(candidates.PARTIES) + 1)
    with pytest.raises(ValueError):
        candidates.generate_candidates(0)


def test_candidate_from_randomuser():
    first = candidates.candidate_from_randomuser(PERSON, 0, seed=1)
    assert tuple(first) == candidates.CANDIDATE_COLUMNS
    assert first["candidate_id"] == PERSON["login"]["uuid"]
    assert first["party_affiliation"] == candidates.PARTIES[0]
    assert "Billings, Michigan" in first["biography"]
    assert first == candidates.candidate_from_randomuser(PERSON, 0, seed=1)
    assert (
        candidates.candidate_from_randomuser(PERSON, 2, seed=1)["party_affiliation"]
        == candidates.PARTIES[2]
    )
    with pytest.raises(ValueError, match="no party"):
        candidates.candidate_from_randomuser(PERSON, len(candidates.PARTIES), seed=1)
    with pytest.raises(ValueError, match="'name.first'"):
        candidates.candidate_from_randomuser({"login": {"uuid": "x"}}, 0, seed=1)
