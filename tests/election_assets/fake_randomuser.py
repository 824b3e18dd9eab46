"""A local HTTP server on loopback that answers in the randomuser.me format."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATES = ["California", "Texas", "Ohio", "Vermont"]


def person(i: int, nationality: str = "US") -> dict:
    """One randomuser.me result object, with the fields our `inc=` asks for."""
    female = i % 2 == 0
    return {
        "gender": "female" if female else "male",
        "name": {"title": "Ms" if female else "Mr", "first": f"First{i}", "last": f"Last{i}"},
        "location": {
            "street": {"number": 100 + i, "name": "Main Street"},
            "city": "Springfield",
            "state": STATES[i % len(STATES)],
            "country": "United States",
            "postcode": 10000 + i,
        },
        "email": f"first{i}.last{i}@example.com",
        "login": {"uuid": f"00000000-0000-4000-8000-{i:012d}"},
        "dob": {"date": "1980-05-17T10:00:00.000Z", "age": 46},
        "registered": {"date": "2010-01-01T00:00:00.000Z", "age": 16},
        "phone": "(555) 010-0000",
        "cell": "(555) 010-0001",
        "id": {"name": "SSN", "value": f"{i:03d}-00-0000"},
        "picture": {"large": f"https://randomuser.me/api/portraits/women/{i % 100}.jpg"},
        "nat": nationality,
    }


class FakeRandomUser:
    """Serves pages of people; `mode` makes it misbehave the way real servers do."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | error500 | flaky500 | slow | truncated | wrong_shape
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                outer.requests.append(query)
                mode = outer.mode
                if mode == "flaky500" and len(outer.requests) == 1:
                    mode = "error500"
                if mode == "error500":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"Internal Server Error")
                    return
                if mode == "slow":
                    time.sleep(2)
                size = int(query.get("results", 1))
                page = int(query.get("page", 1))
                people = [person((page - 1) * size + i) for i in range(size)]
                body = json.dumps({"results": people, "info": {"seed": query.get("seed")}})
                if mode == "wrong_shape":
                    body = json.dumps({"people": people})
                if mode == "truncated":
                    body = body[: len(body) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRandomUser:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
