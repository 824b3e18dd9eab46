"""The election definition: its districts and contests, read from a YAML file a user can write.

The districts are always the nation, the 50 states and DC (the roll's "states") and their
counties (election.counties); a file lists the contests, each in one of those districts:

    contests:
      - id: national             # the national race: its choices are the registered candidates
        name: President
        district: nation
      - id: senate-NV
        name: U.S. Senate, Nevada
        district: state:NV
        kind: plurality          # plurality (vote_for N), measure (yes/no) or ranked (rules)
        vote_for: 1
        choices:
          - {id: senate-NV-1, name: Ada Moss, party: Savior Party}

A file that is wrong in any way raises one DefinitionError whose message is one line per
problem, never a stack trace. Ballot order is the order of the file.
"""

from __future__ import annotations

import functools
import json
import re
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml

from election import counties, geography
from election.contests import (
    CONTEST_KINDS,
    COUNTY_KIND,
    MEASURE,
    MEASURE_CHOICES,
    NATION,
    NATION_KIND,
    NATIONAL_CONTEST,
    PLURALITY,
    RANKED,
    STATE_KIND,
    Choice,
    Contest,
    District,
    county_district,
    state_district,
)

MOST_PROBLEMS_SHOWN = 100
_HEAD = """\
# An election definition (election/definition.py). Ballot order is the order of the contests.
# district: nation, state:XX (two-letter code) or county:NNNNN (five-digit FIPS, as addfips has it)
# kind: plurality (with vote_for N), measure (choices yes and no) or ranked (with rules)
# The national contest's choices are the registered candidates (the candidates table).
"""
IDENTIFIER = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"
)  # safe in topic keys (contest|district)
_LONGEST_NAME = 200
_FIELDS = ("contests",)
_CONTEST_FIELDS = ("id", "name", "district", "kind", "vote_for", "choices", "rules")
_CHOICE_FIELDS = ("id", "name", "party")


class DefinitionError(ValueError):
    """A definition that cannot be used; the message is one line per problem."""

    def __init__(self, problems: Iterable[str]):
        self.problems = tuple(problems)
        shown = list(self.problems[:MOST_PROBLEMS_SHOWN])
        if len(self.problems) > MOST_PROBLEMS_SHOWN:
            shown.append(f"... and {len(self.problems) - MOST_PROBLEMS_SHOWN} more problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True)
class Definition:
    contests: tuple[Contest, ...]
    districts: tuple[District, ...]

    def contest(self, contest_id: str) -> Contest:
        return next(c for c in self.contests if c.contest_id == contest_id)


@functools.cache
def us_districts() -> tuple[District, ...]:
    """The nation, each state (and DC) and each county, widest first."""
    states = geography.country("us").regions
    return (
        District(NATION, NATION_KIND, "United States", None),
        *(District(state_district(s.code), STATE_KIND, s.name, NATION) for s in states),
        *(
            District(county_district(c.fips), COUNTY_KIND, c.name, state_district(c.state))
            for c in counties.all_counties()
        ),
    )


class _Loader(yaml.SafeLoader):
    """Safe YAML in which only true/false are booleans, so a measure's `yes` stays text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 3, 3, 50
_MOST_RULE_VALUES = 10_000  # a ranked contest's rules are a few dozen settings


def _shown(value: Any) -> str:
    """A value as a problem line quotes it: its repr, cut short (never walked whole)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_definition(text: str | bytes) -> Definition:
    """The definition a YAML text describes; DefinitionError (one line per problem) otherwise."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except Exception as exc:  # whatever the parser raises, the file is not YAML we can read
        raise DefinitionError([f"not YAML: {_one_line(exc)}"]) from None
    return definition_from_document(document)


def definition_from_document(document: Any) -> Definition:
    """The definition from a parsed document (mappings and lists), checked whole."""
    problems: list[str] = []
    if not isinstance(document, Mapping):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        raise DefinitionError([f"the definition must be a mapping with 'contests', not {kind}"])
    problems += [
        f"unknown field {_shown(k)} (expected contests)" for k in document if k not in _FIELDS
    ]
    entries = document.get("contests")
    if not isinstance(entries, list):
        problems.append(f"'contests' must be a list of contests, not {_shown(entries)}")
        raise DefinitionError(problems)
    districts = us_districts()
    known = {d.district_id for d in districts}
    found: list[Contest] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        contest = _contest(entry, index + 1, known, problems)
        given = entry.get("id") if isinstance(entry, Mapping) else None
        key = str(given) if isinstance(given, str | int) and not isinstance(given, bool) else None
        if key is not None and key in seen:
            problems.append(f"contest {index + 1}: duplicate contest id {key!r}")
        elif contest is not None:
            found.append(contest)
        if key is not None:
            seen.add(key)
    if NATIONAL_CONTEST not in seen:
        problems.append(f"the national contest (id {NATIONAL_CONTEST!r}) is missing")
    if problems:
        raise DefinitionError(problems)
    return Definition(tuple(found), districts)


def _text(value: Any, what: str, where: str, problems: list[str], pattern=None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: {what} must be text, not {_shown(value)}")
        return None
    if pattern is not None and not pattern.fullmatch(value):
        problems.append(
            f"{where}: {what} {_shown(value)} must be letters, digits, '_', '.', ':' or '-' "
            "(at most 100)"
        )
        return None
    if len(value) > _LONGEST_NAME or any(not ch.isprintable() for ch in value):
        problems.append(f"{where}: {what} must be one printable line of at most 200 characters")
        return None
    return value


def _identifier(value: Any, what: str, where: str, problems: list[str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # `id: 7` is the id "7"
    return _text(value, what, where, problems, IDENTIFIER)


def _contest(entry: Any, number: int, known: set[str], problems: list[str]) -> Contest | None:
    where = f"contest {number}"
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: a contest must be a mapping, not {_shown(entry)}")
        return None
    before = len(problems)
    contest_id = _identifier(entry.get("id"), "the id", where, problems)
    if contest_id is not None:
        where = f"contest {number} ({contest_id})"
    problems += [
        f"{where}: unknown field {_shown(k)} (expected {', '.join(_CONTEST_FIELDS)})"
        for k in entry
        if k not in _CONTEST_FIELDS
    ]
    name = _text(entry.get("name"), "the name", where, problems)
    district = entry.get("district")
    if not isinstance(district, str) or district not in known:
        problems.append(f"{where}: unknown district {_shown(district)}")
    kind = entry.get("kind", PLURALITY)
    if kind not in CONTEST_KINDS:
        problems.append(
            f"{where}: unknown kind {_shown(kind)} (expected {', '.join(CONTEST_KINDS)})"
        )
        return None
    vote_for = entry.get("vote_for", 1)
    if not isinstance(vote_for, int) or isinstance(vote_for, bool) or vote_for < 1:
        problems.append(
            f"{where}: vote_for must be a whole number of at least 1, not {_shown(vote_for)}"
        )
    elif kind != PLURALITY and vote_for != 1:
        problems.append(f"{where}: a {kind} contest has vote_for 1, not {vote_for}")
    rules = entry.get("rules")
    if rules is not None:
        _check_rules(rules, kind, where, problems)
    national = contest_id == NATIONAL_CONTEST
    if national and (district != NATION or kind != PLURALITY):
        problems.append(f"{where}: the national contest is a plurality contest of 'nation'")
    choices = _choices(entry, kind, national, where, problems)
    many = kind == PLURALITY and isinstance(vote_for, int) and vote_for > 1
    if many and choices and len(choices) <= vote_for:
        problems.append(
            f"{where}: vote_for {vote_for} with {len(choices)} choices elects every choice"
        )
    if len(problems) > before:
        return None
    return Contest(contest_id, name, district, kind, tuple(choices), vote_for, number, rules=rules)


def _check_rules(rules: Any, kind: str, where: str, problems: list[str]) -> None:
    if kind != RANKED:
        problems.append(f"{where}: only a ranked contest has rules")
    elif not isinstance(rules, Mapping):
        problems.append(f"{where}: rules must be a mapping, not {_shown(rules)}")
    elif _values(rules, _MOST_RULE_VALUES) > _MOST_RULE_VALUES:
        # YAML aliases can make a few lines hold billions of values
        problems.append(f"{where}: rules hold more than {_MOST_RULE_VALUES} values")
    else:
        try:
            json.dumps(rules, allow_nan=False)
        except (TypeError, ValueError):
            problems.append(
                f"{where}: rules must hold only text, numbers, true/false, lists, mappings"
            )


def _values(value: Any, budget: int) -> int:
    """How many values a document holds, counted up to just past `budget`."""
    seen, stack = 0, [value]
    while stack and seen <= budget:
        item = stack.pop()
        seen += 1
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return seen


def _choices(
    entry: Mapping, kind: str, national: bool, where: str, problems: list[str]
) -> list[Choice]:
    given = entry.get("choices")
    if national:
        if given is not None:
            problems.append(
                f"{where}: the national contest's choices are the registered candidates: leave them out"
            )
        return []
    if given is None and kind == MEASURE:
        given = [{"id": c} for c in MEASURE_CHOICES]
    if not isinstance(given, list) or not given:
        problems.append(f"{where}: a contest needs a list of choices, not {_shown(given)}")
        return []
    found: list[Choice] = []
    for position, item in enumerate(given, start=1):
        at = f"{where} choice {position}"
        if not isinstance(item, Mapping):
            problems.append(f"{at}: a choice must be a mapping, not {_shown(item)}")
            continue
        problems += [
            f"{at}: unknown field {_shown(k)} (expected id, name, party)"
            for k in item
            if k not in _CHOICE_FIELDS
        ]
        choice_id = _identifier(item.get("id"), "the id", at, problems)
        default_name = choice_id.capitalize() if kind == MEASURE and choice_id else None
        name = _text(item.get("name", default_name), "the name", at, problems)
        party = item.get("party")
        if party is not None:
            party = _text(party, "the party", at, problems)
        if choice_id is None or name is None:
            continue
        if any(c.choice_id == choice_id for c in found):
            problems.append(f"{at}: duplicate choice id {choice_id!r}")
            continue
        found.append(Choice(choice_id, name, party, position))
    if kind == MEASURE and sorted(c.choice_id for c in found) != sorted(MEASURE_CHOICES):
        problems.append(f"{where}: a measure's choices are 'yes' and 'no'")
    return found


def with_national_choices(
    definition: Definition, candidates: Iterable[tuple[str, str, str | None]]
) -> Definition:
    """The definition with the national contest's choices: the registered candidates, in order."""
    choices = tuple(
        Choice(str(cid), str(name), party, position)
        for position, (cid, name, party) in enumerate(candidates, start=1)
    )
    national = definition.contest(NATIONAL_CONTEST)
    if not choices:
        raise DefinitionError(["the national contest has no choices: register candidates first"])
    if national.vote_for > 1 and len(choices) <= national.vote_for:
        raise DefinitionError(
            [
                f"the national contest's vote_for {national.vote_for} elects all {len(choices)} candidates"
            ]
        )
    contests = tuple(
        replace(c, choices=choices) if c.contest_id == NATIONAL_CONTEST else c
        for c in definition.contests
    )
    return replace(definition, contests=contests)


def definition_document(definition: Definition) -> dict:
    """The definition as the file writes it (the national contest without its choices)."""
    contests = []
    for contest in sorted(definition.contests, key=lambda c: c.position):
        entry: dict[str, Any] = {
            "id": contest.contest_id,
            "name": contest.name,
            "district": contest.district_id,
            "kind": contest.kind,
        }
        if contest.kind == PLURALITY:
            entry["vote_for"] = contest.vote_for
        if contest.rules is not None:
            entry["rules"] = dict(contest.rules)
        if contest.contest_id != NATIONAL_CONTEST:
            entry["choices"] = [
                {"id": c.choice_id, "name": c.name}
                | ({"party": c.party} if c.party is not None else {})
                for c in sorted(contest.choices, key=lambda c: c.position)
            ]
        contests.append(entry)
    return {"contests": contests}


def dump_definition(definition: Definition) -> str:
    """The definition as a YAML file (parse_definition reads it back the same)."""
    body = yaml.safe_dump(
        definition_document(definition), sort_keys=False, allow_unicode=True, width=100
    )
    return _HEAD + body


def contest_counts(definition: Definition) -> dict[str, int]:
    """How many contests of each kind, and how many districts of each kind (metadata)."""
    found = {f"contests_{kind}": 0 for kind in CONTEST_KINDS}
    for contest in definition.contests:
        found[f"contests_{contest.kind}"] += 1
    for district in definition.districts:
        found[f"districts_{district.kind}"] = found.get(f"districts_{district.kind}", 0) + 1
    return found
