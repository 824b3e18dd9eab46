"""What an import takes from an RCTab configuration file: its rules, names and contests.

RCTab's configuration (BrightSpots/rcv, `*_config.json`) holds `rules` (the tabulation rules of
the ranked contest, kept as RCTab names them), `candidates` (each a `name` with its `aliases`:
the names a cast vote record report may give the candidate) and `cvrFileSources` (each naming,
in `contestId`, the report's contest it tabulates by that contest's `Name`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from election.cvr_fields import Place, checked_text, obj, objects, quoted, text

LONGEST_RULES = 100_000  # characters of JSON; RCTab's rules are a few dozen settings


@dataclass(frozen=True)
class Tabulation:
    rules: Mapping | None = None
    names: Mapping[str, str] = field(default_factory=dict)  # a report's name -> the config's
    ranked_contests: frozenset[str] = frozenset()  # contest Names the config tabulates


def read_config(config: Any) -> Tabulation:
    """The parts of an RCTab configuration an import uses; CvrError (one line) if malformed."""
    if config is None:
        return Tabulation()
    place = Place("configuration")
    config = obj(config, place)
    return Tabulation(_rules(config, place), _names(config, place), _contests(config, place))


def _rules(config: Mapping, place: Place) -> Mapping | None:
    if "rules" not in config:
        return None
    rules = obj(config["rules"], place / "rules")
    try:  # rules go to the contests table as JSON: text, numbers, booleans, lists, objects
        encoded = json.dumps(rules, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        (place / "rules").fail("holds a value JSON cannot write")
    if len(encoded) > LONGEST_RULES:
        (place / "rules").fail(f"is longer than {LONGEST_RULES} characters of JSON")
    return json.loads(encoded)  # a copy the caller cannot change under us


def _names(config: Mapping, place: Place) -> dict[str, str]:
    names: dict[str, str] = {}
    for at, candidate in objects(config, "candidates", place, required=False):
        name = text(candidate, "name", at)
        aliases = [name]
        given = candidate.get("aliases")
        if given is not None and not isinstance(given, list):
            (at / "aliases").fail("is not a list")
        for index, alias in enumerate(given or []):
            aliases.append(checked_text(alias, (at / "aliases")[index]))
        for alias in dict.fromkeys(aliases):
            if names.get(alias, name) != name:
                at.fail(f"gives the name {quoted(alias)} to two candidates")
            names[alias] = name
    return names


def _contests(config: Mapping, place: Place) -> frozenset[str]:
    return frozenset(
        text(source, "contestId", at)
        for at, source in objects(config, "cvrFileSources", place, required=False)
        if source.get("contestId") not in (None, "")
    )
