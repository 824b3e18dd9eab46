"""Reading randomuser.me result objects: a dotted path to a field, and one line when it is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def optional(person: Mapping[str, Any], path: str) -> Any:
    value: Any = person
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def field(person: Mapping[str, Any], path: str) -> Any:
    value = optional(person, path)
    if value is None or value == "":
        raise ValueError(f"randomuser record is missing field {path!r}")
    return value


def text(person: Mapping[str, Any], path: str) -> str:
    return str(field(person, path))
