"""The code location: loading it changes nothing around it, and services come from the settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_LOAD = """
import json, os
before = dict(os.environ)
from election_assets.definitions import defs
resources = defs.resources
print(json.dumps({
    "changed": sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)),
    "database_url": resources["postgres"].database_url,
    "bootstrap": resources["kafka"].bootstrap_servers,
    "bootstrap_kind": type(resources["kafka"].bootstrap_servers).__name__,
}))
"""


def load(environ: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _LOAD], env=environ, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_code_location_leaves_the_environment_alone():
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    loaded = load(environ)
    assert loaded["changed"] == []
    # unset, the catalogue's local defaults
    assert loaded["database_url"].endswith("@localhost:5432/voting")
    assert (loaded["bootstrap_kind"], loaded["bootstrap"]) == ("str", "localhost:9092")


def test_a_set_service_variable_is_read_from_the_environment():
    environ = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092"}
    loaded = load(environ)
    assert loaded["changed"] == []
    # as an EnvVar, whose value Dagster reads when the resource is used and never shows
    assert (loaded["bootstrap_kind"], loaded["bootstrap"]) == ("EnvVar", "KAFKA_BOOTSTRAP_SERVERS")
