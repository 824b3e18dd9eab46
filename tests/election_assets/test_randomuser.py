"""The randomuser.me client against a local server that answers in the API's format."""

from __future__ import annotations

import pytest

from election_assets.resources.randomuser import RandomUserClient, RandomUserError
from tests.election_assets.fake_randomuser import FakeRandomUser


def client(url: str, **kwargs) -> RandomUserClient:
    return RandomUserClient(base_url=url, backoff_s=0.01, **kwargs)


def test_pages_seed_nationality_and_fields():
    with FakeRandomUser() as api:
        people = client(api.url, batch_size=4).fetch_people(10, "election-1", "us")
    assert len(people) == 10
    assert [r["page"] for r in api.requests] == ["1", "2", "3"]
    assert {r["seed"] for r in api.requests} == {"election-1"}
    assert {r["nat"] for r in api.requests} == {"us"}
    assert "login" in api.requests[0]["inc"] and "picture" in api.requests[0]["inc"]
    assert len({p["login"]["uuid"] for p in people}) == 10


def test_batches_never_exceed_the_api_limit():
    with FakeRandomUser() as api:
        client(api.url, batch_size=50_000).fetch_people(6000, "s", "us")
    assert [int(r["results"]) for r in api.requests] == [5000, 5000]


def test_retries_a_500_then_succeeds():
    with FakeRandomUser() as api:
        api.mode = "flaky500"
        people = client(api.url).fetch_people(3, "s", "us")
    assert len(people) == 3
    assert len(api.requests) == 2


def test_persistent_500_names_the_url():
    with FakeRandomUser() as api:
        api.mode = "error500"
        with pytest.raises(RandomUserError, match=r"127\.0\.0\.1.*HTTP 500"):
            client(api.url, retries=2).fetch_people(3, "s", "us")
    assert len(api.requests) == 3


def test_timeout_is_reported():
    with FakeRandomUser() as api:
        api.mode = "slow"
        with pytest.raises(RandomUserError, match="no answer within"):
            client(api.url, timeout_s=0.3, retries=1).fetch_people(3, "s", "us")


def test_truncated_body_is_not_json():
    with FakeRandomUser() as api:
        api.mode = "truncated"
        with pytest.raises(RandomUserError, match="not JSON"):
            client(api.url).fetch_people(3, "s", "us")


def test_wrong_shape_is_reported():
    with FakeRandomUser() as api:
        api.mode = "wrong_shape"
        with pytest.raises(RandomUserError, match="results"):
            client(api.url).fetch_people(3, "s", "us")


def test_unreachable_api():
    with pytest.raises(RandomUserError, match="unreachable"):
        client("http://127.0.0.1:9/api/", retries=0).fetch_people(3, "s", "us")
