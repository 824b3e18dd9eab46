"""Reading a cast vote record report's fields, each failure one line naming where and which field.

A Place is a position in a parsed JSON document: `where` names the file or record a reader
knows it by (`CVR[12] (UniqueId "A-7")`), `path` the field inside it (`CVRSnapshot[0].Type`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from election.definition import IDENTIFIER
from election.json_values import json_type, valid_unicode

LONGEST_TEXT = 200  # a name, as the definition file allows it
QUOTED = 40  # a quoted value is cut here
STATUSES = ("yes", "no", "unknown")  # NIST's IndicationStatus and AllocationStatus


class CvrError(ValueError):
    """A report or configuration that cannot be imported; the message is one line."""


def quoted(value: str) -> str:
    """Text as a message quotes it: JSON-escaped (NUL and controls stay visible), cut short."""
    return json.dumps(value if len(value) <= QUOTED else value[:QUOTED] + "...")


class Place:
    """Built for every field read, so cheap: the path is spelled out only for a failure."""

    __slots__ = ("_step", "_up", "where")

    def __init__(self, where: str, path: str | int = "", up: Place | None = None):
        self.where, self._step, self._up = where, path, up

    def __truediv__(self, key: str) -> Place:
        return Place(self.where, key, self)

    def __getitem__(self, index: int) -> Place:
        return Place(self.where, index, self)

    @property
    def path(self) -> str:
        steps, place = [], self
        while place is not None:
            steps.append(place._step)
            place = place._up
        text = ""
        for step in reversed(steps):
            if isinstance(step, int):
                text += f"[{step}]"
            elif step:
                text = f"{text}.{step}" if text else step
        return text

    def fail(self, problem: str) -> NoReturn:
        head = f"{self.where}: " if self.where else ""
        raise CvrError(f"{head}{self.path or 'the document'} {problem}")


def obj(value: Any, place: Place) -> Mapping:
    if not isinstance(value, dict):  # parsed JSON; an ABC check costs 4x
        place.fail(f"is not an object but {json_type(value)}")
    return value


def items(parent: Mapping, key: str, place: Place, required: bool = True) -> list:
    """The list at `key` (a missing optional list is empty)."""
    if key not in parent:
        if required:
            (place / key).fail("is missing")
        return []
    value = parent[key]
    if not isinstance(value, list):
        (place / key).fail(f"is not a list but {json_type(value)}")
    return value


def objects(parent: Mapping, key: str, place: Place, required: bool = True):
    """(place, object) for each object in the list at `key`."""
    at = place / key
    for index, value in enumerate(items(parent, key, place, required)):
        item = at[index]
        yield item, obj(value, item)


def text(parent: Mapping, key: str, place: Place, default: str | None = None) -> str:
    """One printable line of at most 200 characters (missing: the default, if one is given)."""
    if key not in parent and default is not None:
        return default
    return checked_text(parent.get(key), place / key, key in parent)


def checked_text(value: Any, place: Place, present: bool = True) -> str:
    if not present:
        place.fail("is missing")
    if not isinstance(value, str):
        place.fail(f"is not a string but {json_type(value)}")
    if not value.strip():
        place.fail("is empty")
    if len(value) > LONGEST_TEXT or not valid_unicode(value):
        place.fail(f"is not at most {LONGEST_TEXT} characters of valid Unicode")
    if not value.isprintable():
        place.fail(f"{quoted(value)} is not one line of printable text")
    return value


def reference(parent: Mapping, key: str, place: Place) -> str:
    """An id that names another object (matched, never stored): any non-empty string."""
    if key not in parent:
        (place / key).fail("is missing")
    value = parent[key]
    if not isinstance(value, str) or not value:
        (place / key).fail(f"is not a non-empty string but {json_type(value)}")
    return value


def identifier(parent: Mapping, key: str, place: Place) -> str:
    """An id the election keeps (a contest, choice or precinct): safe in topic keys."""
    value = reference(parent, key, place)
    if not IDENTIFIER.fullmatch(value):
        (place / key).fail(
            f"{quoted(value)} is not letters, digits, '_', '.', ':' or '-' (at most 100)"
        )
    return value


def integer(parent: Mapping, key: str, place: Place, least: int, most: int) -> int | None:
    """A whole number from least to most, or None when the field is absent."""
    if key not in parent:
        return None
    value = parent[key]
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not least <= value <= most:
        (place / key).fail(f"is {_number(value)}, not a whole number from {least} to {most}")
    return value


def _number(value: Any) -> str:
    """A value as a message shows it: a whole number in digits unless it is huge."""
    if not isinstance(value, int) or isinstance(value, bool):
        return json_type(value)
    return str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"


def status(parent: Mapping, key: str, place: Place) -> str | None:
    """A NIST status (`yes`, `no`, `unknown`), or None when absent."""
    if key not in parent:
        return None
    value = parent[key]
    if value not in STATUSES or not isinstance(value, str):
        (place / key).fail("is not one of yes, no, unknown")
    return value


def flag(parent: Mapping, key: str, place: Place) -> bool:
    """A boolean (RCTab also reads the text "true"); absent is false."""
    value = parent.get(key, False)
    if value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        (place / key).fail(f"is not true or false but {json_type(value)}")
    return value
