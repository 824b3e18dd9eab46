"""The ballot as it travels on votes_topic: building, bulk-encoding and validating messages.

Times are written as ISO-8601 UTC with microseconds and a "Z" suffix
("2024-11-05T14:03:27.123456Z"); any ISO-8601 time with an offset is read back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from election import contract, ids
from election.contests import NATIONAL_CONTEST
from election.json_values import json_type, valid_unicode
from election.selections import ShapeError, read_selections

# JSON strings must escape these; ids without them can be pasted between quotes as they are.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


# Deeper nesting is malformed: a fixed bound, where Python's recursion limit would vary.
MAX_NESTING = 64
# ISO-8601 date and time, optional seconds and fraction, optional Z or offset; ASCII digits.
VOTING_TIME_PATTERN = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
CANDIDATE_ID, SELECTIONS = "candidate_id", "selections"  # a ballot's choice: one or the other

_TWO_DIGITS = np.array([list(f"{k:02d}".encode()) for k in range(100)], dtype=np.uint8)


class BallotError(ValueError):
    """A message on votes_topic that is not a well-formed ballot."""

    def __init__(self, reason: str, detail: str, vote_id: str | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.vote_id = vote_id  # when the message carried one, for the rejection's key


def utc_iso(moment: dt.datetime) -> str:
    """A moment as the contract writes it: ISO-8601 UTC, microseconds, "Z". Naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_iso_many(moments: np.ndarray) -> np.ndarray:
    """Many moments (numpy datetime64, UTC) written as utc_iso writes one, built in bulk."""
    micros = np.asarray(moments, dtype="datetime64[us]").astype(np.int64)
    days, rest = np.divmod(micros, 86_400_000_000)
    first_day = int(days.min()) if len(days) else 0
    dates = [
        f"{np.datetime64(d, 'D')}T" for d in range(first_day, int(days.max(initial=first_day)) + 1)
    ]
    if any(len(d) != 11 for d in dates):
        raise ValueError("voting times must fall between the years 1000 and 9999")
    chars = np.empty((len(micros), 27), dtype=np.uint8)  # 2024-11-05T14:03:27.123456Z
    chars[:, :11] = np.frombuffer("".join(dates).encode(), np.uint8).reshape(-1, 11)[
        days - first_day
    ]
    hours, rest = np.divmod(rest, 3_600_000_000)
    minutes, rest = np.divmod(rest, 60_000_000)
    seconds, micro = np.divmod(rest, 1_000_000)
    for column, two_digits in (
        (11, hours),
        (14, minutes),
        (17, seconds),
        (20, micro // 10_000),
        (22, micro // 100 % 100),
        (24, micro % 100),
    ):
        chars[:, column : column + 2] = _TWO_DIGITS[two_digits]
    chars[:, [13, 16]] = ord(":")
    chars[:, 19] = ord(".")
    chars[:, 26] = ord("Z")
    return ids.numpy_strings(chars)


def parse_time(text: str) -> dt.datetime:
    """An ISO-8601 time as an aware UTC datetime; a time without an offset is taken as UTC."""
    if text.endswith("z"):
        text = text[:-1] + "Z"  # ISO-8601 allows a lowercase z; fromisoformat reads only "Z"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def ballot_message(
    vote_id: str, voter_id: str, candidate_id: str, voting_time: dt.datetime
) -> dict:
    """One ballot with exactly the contract's fields (contract.BALLOT_FIELDS)."""
    return {
        "vote_id": vote_id,
        "voter_id": voter_id,
        "candidate_id": candidate_id,
        "voting_time": utc_iso(voting_time),
    }


def selections_message(
    vote_id: str, voter_id: str, voting_time: dt.datetime, selections: Mapping[str, Sequence[str]]
) -> dict:
    """One ballot with selections, its fields in the canonical order (contests in ballot order)."""
    return {
        "vote_id": vote_id,
        "voter_id": voter_id,
        "voting_time": utc_iso(voting_time),
        SELECTIONS: {contest_id: list(choices) for contest_id, choices in selections.items()},
    }


def encode_selection_ballots(
    vote_ids, voter_ids, selections: pa.StringArray, voting_time_iso: str | Sequence[str]
) -> list[bytes]:
    """Many selections ballots as compact UTF-8 JSON, in selections_message's order.

    selections holds each ballot's selections object without its braces, as JSON
    ('"c1":["a"],"c2":[]': election.selection_draws.PlannedSelections.fragments); the ids are
    pasted between quotes by Arrow in bulk, or go through json.dumps when one needs escaping.
    """
    vote_ids, voter_ids = _strings(vote_ids), _strings(voter_ids)
    if not len(vote_ids) == len(voter_ids) == len(selections):
        raise ValueError(
            f"{len(vote_ids)} vote ids, {len(voter_ids)} voter ids and {len(selections)} "
            "selections: one of each per ballot"
        )
    one_time = isinstance(voting_time_iso, str)
    times = [voting_time_iso] * len(vote_ids) if one_time else _strings(voting_time_iso)
    if len(times) != len(vote_ids):
        raise ValueError(f"{len(times)} voting times for {len(vote_ids)} ballots")
    if not all(map(_json_safe, (vote_ids, voter_ids, times))):
        vote_ids, voter_ids, times = (
            [json.dumps(t, ensure_ascii=False)[1:-1] for t in texts]
            for texts in (vote_ids, voter_ids, times)
        )
    parts = (
        '{"vote_id":"',
        pa.array(vote_ids, pa.string()),
        '","voter_id":"',
        pa.array(voter_ids, pa.string()),
        '","voting_time":"',
        pa.array(times, pa.string()),
        '","selections":{',
        selections,
        "}}",
    )
    return pc.binary_join_element_wise(*parts, "").cast(pa.binary()).to_pylist()


def encode_ballots(
    vote_ids, voter_ids, candidate_ids, voting_time_iso: str | Sequence[str]
) -> list[bytes]:
    """Many ballots as UTF-8 JSON message values, in order; one voting time for all, or one each.

    Ids are pasted between quotes, several times faster than json.dumps per ballot; a batch
    holding any text that JSON must escape (quote, backslash, control character) goes through
    json.dumps instead, so the output is always valid JSON.
    """
    vote_ids, voter_ids, candidate_ids = (
        _strings(vote_ids),
        _strings(voter_ids),
        _strings(candidate_ids),
    )
    if not len(vote_ids) == len(voter_ids) == len(candidate_ids):
        raise ValueError(
            f"{len(vote_ids)} vote ids, {len(voter_ids)} voter ids and "
            f"{len(candidate_ids)} candidate ids: one of each per ballot"
        )
    one_time = isinstance(voting_time_iso, str)
    times = [voting_time_iso] if one_time else _strings(voting_time_iso)
    if not one_time and len(times) != len(vote_ids):
        raise ValueError(f"{len(times)} voting times for {len(vote_ids)} ballots")
    if all(map(_json_safe, (vote_ids, voter_ids, candidate_ids, times))):
        if one_time:
            t = voting_time_iso
            return [
                f'{{"vote_id":"{v}","voter_id":"{u}","candidate_id":"{c}","voting_time":"{t}"}}'.encode()
                for v, u, c in zip(vote_ids, voter_ids, candidate_ids, strict=True)
            ]
        return [
            f'{{"vote_id":"{v}","voter_id":"{u}","candidate_id":"{c}","voting_time":"{t}"}}'.encode()
            for v, u, c, t in zip(vote_ids, voter_ids, candidate_ids, times, strict=True)
        ]
    if one_time:
        times = [voting_time_iso] * len(vote_ids)
    return [
        json.dumps(
            dict(zip(contract.BALLOT_FIELDS, row, strict=True)),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        for row in zip(vote_ids, voter_ids, candidate_ids, times, strict=True)
    ]


def parse_ballot(value: bytes | str | None, key: bytes | str | None) -> dict:
    """A ballot read from votes_topic: the contract's fields, voting_time as an aware UTC datetime.

    The one definition of well-formed (DESIGN.md, counting rules): the value is exactly one
    UTF-8 JSON object, nothing after it but JSON whitespace, no byte order mark, no NaN or
    Infinity, no name twice in any object, nested at most MAX_NESTING deep; vote_id, voter_id
    and voting_time are non-empty JSON strings of valid Unicode, voting_time an ISO-8601 time
    (VOTING_TIME_PATTERN); the choice is either candidate_id, such a string, or selections, shaped
    as election.selections.read_selections says (a null field is a missing one; both or neither is
    malformed); and the message's key is its voter_id. Anything else raises
    BallotError("malformed", what). Extra fields are ignored.

    The ballot's "selections" map contest ids to entries; the seed's shape is the one selection
    (candidate_id,) in the national contest. "candidate_id" stays for the seed's readers: for a
    selections ballot it is the national contest's one choice id, or None.
    """
    if value is None:
        raise BallotError(contract.MALFORMED, "message has no value")
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BallotError(contract.MALFORMED, f"not UTF-8 (byte {error.start})") from None
    else:
        text = value
    if text.startswith("\ufeff"):
        raise BallotError(contract.MALFORMED, "starts with a byte order mark")
    try:
        message = _DECODER.decode(text)
    except _DuplicateName as error:
        raise BallotError(contract.MALFORMED, f"name {error.name!r} twice in an object") from None
    except (json.JSONDecodeError, _NotJson) as error:
        raise BallotError(contract.MALFORMED, f"not JSON: {error}") from None
    except RecursionError:  # far deeper than MAX_NESTING: the same verdict
        raise BallotError(contract.MALFORMED, f"nested deeper than {MAX_NESTING}") from None
    except Exception as error:  # judging is total: whatever the reader raises is a verdict
        raise BallotError(contract.MALFORMED, f"unreadable: {_said(error)}") from None
    if not isinstance(message, dict):
        raise BallotError(contract.MALFORMED, f"not a JSON object but {json_type(message)}")
    if _too_deep(message):
        raise BallotError(contract.MALFORMED, f"nested deeper than {MAX_NESTING}")
    vote_id = message.get("vote_id")
    vote_id = vote_id if isinstance(vote_id, str) and vote_id and valid_unicode(vote_id) else None
    # a null field is a missing one, for the choice's two shapes as for every field
    shape = CANDIDATE_ID if message.get(SELECTIONS) is None else SELECTIONS
    if shape == SELECTIONS and message.get(CANDIDATE_ID) is not None:
        raise BallotError(
            contract.MALFORMED, "both 'candidate_id' and 'selections': a ballot has one", vote_id
        )
    ballot = {}
    for field in contract.BALLOT_FIELDS:
        if field == CANDIDATE_ID and shape == SELECTIONS:
            try:
                ballot[SELECTIONS] = read_selections(message[SELECTIONS])
            except ShapeError as error:
                raise BallotError(contract.MALFORMED, str(error), vote_id) from None
            national = ballot[SELECTIONS].get(NATIONAL_CONTEST, ())
            only = national[0] if len(national) == 1 else None
            ballot[CANDIDATE_ID] = only if isinstance(only, str) else None
            continue
        field_value = message.get(field)
        if field_value is None:
            also = " (or 'selections')" if field == CANDIDATE_ID else ""
            raise BallotError(contract.MALFORMED, f"missing field {field!r}{also}", vote_id)
        if not isinstance(field_value, str):
            raise BallotError(contract.MALFORMED, f"field {field!r} is not a string", vote_id)
        if field_value == "":
            raise BallotError(contract.MALFORMED, f"field {field!r} is empty", vote_id)
        if not valid_unicode(field_value):
            raise BallotError(contract.MALFORMED, f"field {field!r} is not valid Unicode", vote_id)
        ballot[field] = field_value
    if shape == CANDIDATE_ID:
        ballot[SELECTIONS] = {NATIONAL_CONTEST: (ballot[CANDIDATE_ID],)}
    try:
        if not VOTING_TIME_PATTERN.fullmatch(ballot["voting_time"]):
            raise ValueError("not the pattern")
        ballot["voting_time"] = parse_time(ballot["voting_time"])
    except OverflowError:
        raise BallotError(
            contract.MALFORMED,
            f"voting_time {ballot['voting_time']!r} is outside the calendar in UTC",
            vote_id,
        ) from None
    except ValueError:
        raise BallotError(
            contract.MALFORMED,
            f"voting_time {ballot['voting_time']!r} is not an ISO-8601 time",
            vote_id,
        ) from None
    if isinstance(key, (bytes, bytearray, memoryview)):
        key_matches = bytes(key) == ballot["voter_id"].encode("utf-8")
    else:
        key_matches = key == ballot["voter_id"]
    if not key_matches:
        what = "has no key" if key is None else "is keyed by another id than its voter_id"
        raise BallotError(contract.MALFORMED, f"the message {what}", vote_id)
    return ballot


class _DuplicateName(ValueError):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _unique_names(pairs: list[tuple[str, object]]) -> dict:
    # JSON readers disagree on which of two equal names wins: a ballot may not have any
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _DuplicateName(name)
            seen.add(name)
    return found


class _NotJson(ValueError):
    """NaN or Infinity: Python's reader accepts them, JSON does not."""


def _a_number(_text: str) -> int:
    # int() refuses over 4,300 digits; a fraction's exponent can leave any float's range
    return 0


def _no_constant(name: str):
    raise _NotJson(f"{name} is not a JSON value")


# One reader for every message (json.loads would build it per call).
_DECODER = json.JSONDecoder(
    parse_constant=_no_constant,
    # a ballot holds no number the count reads: none is converted, so none can fail
    parse_int=_a_number,
    parse_float=_a_number,
    object_pairs_hook=_unique_names,
)


def _too_deep(value, level: int = 1) -> bool:
    """Whether objects and arrays nest deeper than MAX_NESTING (a bare object is level 1)."""
    for child in value.values() if isinstance(value, dict) else value:
        if isinstance(child, (dict, list)) and (
            level >= MAX_NESTING or _too_deep(child, level + 1)
        ):
            return True
    return False


def _said(error: Exception) -> str:
    """An exception as one short line: its type and the start of its message."""
    text = str(error).splitlines()[0][:200] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _json_safe(texts: list[str]) -> bool:
    """Whether every text can stand between JSON quotes as it is (str.join also rejects non-str)."""
    joined = "".join(texts)
    if '"' in joined or "\\" in joined:
        return False
    if joined.isascii():  # the common case, checked in bulk rather than by a regex
        return not (np.frombuffer(joined.encode("ascii"), dtype=np.uint8) < 0x20).any()
    return not _NEEDS_ESCAPE.search(joined)


def _strings(values) -> list[str]:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_pylist()
    if isinstance(values, np.ndarray):
        return values.tolist()
    return list(values)
