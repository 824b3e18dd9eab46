"""Where registered people come from: the randomuser.me API, or the offline generator."""

from __future__ import annotations

import time

import dagster as dg
import requests

# Only the fields we store (randomuser's `inc=`), so a 5,000-person page stays small.
INCLUDED_FIELDS = "gender,name,location,email,login,dob,registered,phone,cell,id,picture,nat"
MAX_BATCH = 5000  # the API's largest page


class RandomUserError(Exception):
    """The API could not give us people; the message names the URL and what was wrong."""


class RandomUserClient(dg.ConfigurableResource):
    """The randomuser.me API: one HTTP session, timeouts, retries with backoff, big pages."""

    base_url: str
    timeout_s: float = 20.0
    retries: int = 3
    backoff_s: float = 0.5
    batch_size: int = MAX_BATCH

    def fetch_people(self, count: int, seed: str, nationality: str) -> list[dict]:
        """`count` people, reproducible for a seed: pages of up to 5,000 from the API."""
        if count <= 0:
            return []
        size = max(1, min(self.batch_size, MAX_BATCH))
        people: list[dict] = []
        with requests.Session() as session:
            page = 1
            while len(people) < count:
                wanted = min(size, count - len(people))
                people.extend(self._page(session, page, size, seed, nationality)[:wanted])
                page += 1
        return people

    def _page(
        self, session: requests.Session, page: int, size: int, seed: str, nationality: str
    ) -> list[dict]:
        params = {
            "results": size,
            "page": page,
            "seed": seed,
            "nat": nationality,
            "inc": INCLUDED_FIELDS,
            "noinfo": "",
        }
        url = self.base_url
        last_problem = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = session.get(url, params=params, timeout=self.timeout_s)
            except requests.Timeout:
                last_problem = f"no answer within {self.timeout_s:g} s"
                continue
            except requests.ConnectionError as exc:
                last_problem = f"unreachable ({type(exc).__name__})"
                continue
            if response.status_code >= 500:
                last_problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise RandomUserError(f"{url} answered HTTP {response.status_code}")
            return self._people_from(response, url)
        raise RandomUserError(f"{url} failed after {self.retries + 1} attempts: {last_problem}")

    @staticmethod
    def _people_from(response: requests.Response, url: str) -> list[dict]:
        try:
            body = response.json()
        except ValueError as exc:
            raise RandomUserError(f"{url} answered with a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise RandomUserError(f"{url} answered JSON that is not an object")
        if "error" in body:
            raise RandomUserError(f"{url} answered an error: {body['error']}")
        results = body.get("results")
        if not isinstance(results, list) or not all(isinstance(p, dict) for p in results):
            raise RandomUserError(f"{url} answered without a `results` list of people")
        return results
