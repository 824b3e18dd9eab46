"""JSON values as a ballot's judging names them, and the text it refuses inside them."""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> bool:
    """No lone surrogate (JSON's \\ud800 escapes allow one; UTF-8 and PostgreSQL do not)."""
    return text.isascii() or not _SURROGATE.search(text)


def json_type(value) -> str:
    """A decoded JSON value's kind, as a detail says it: "an array", "null", ..."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
