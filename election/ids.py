"""Identifiers and fixed-width text made in bulk: UUID-formatted ids from seeded random bits.

Millions of ids are built as one byte matrix (one row per id) and handed to numpy or Arrow
as strings in a single step, rather than formatted one Python string at a time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Each byte's two hex digits, so a whole matrix converts with one lookup.
_HEX_PAIRS = np.array(
    [np.frombuffer(f"{b:02x}".encode(), dtype=np.uint16)[0] for b in range(256)], dtype=np.uint16
)
# (first, last) of the 16 bytes in each of the five dash-separated groups.
_UUID_GROUPS = ((0, 4), (4, 6), (6, 8), (8, 10), (10, 16))


def uuid_chars(raw: np.ndarray) -> np.ndarray:
    """UUID text (n x 36 ASCII bytes) of n x 16 bytes, marked as version 4 random UUIDs."""
    raw = np.array(raw, dtype=np.uint8, copy=True).reshape(-1, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = _HEX_PAIRS[raw].view(np.uint8)  # n x 32
    chars = np.full((raw.shape[0], 36), ord("-"), dtype=np.uint8)
    column = 0
    for first, last in _UUID_GROUPS:
        width = 2 * (last - first)
        chars[:, column : column + width] = digits[:, 2 * first : 2 * last]
        column += width + 1
    return chars


def random_uuid_chars(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random UUIDs drawn from a seeded generator, as an n x 36 byte matrix."""
    return uuid_chars(rng.integers(0, 256, size=(n, 16), dtype=np.uint8))


def arrow_strings(chars: np.ndarray) -> pa.StringArray:
    """An Arrow string array over the rows of an ASCII byte matrix, one string per row."""
    n, width = chars.shape
    if n * width >= 2**31:
        raise ValueError(f"{n} strings of {width} characters exceed one Arrow string array")
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def numpy_strings(chars: np.ndarray) -> np.ndarray:
    """A numpy unicode array over the rows of an ASCII byte matrix, one string per row."""
    n, width = chars.shape
    return (
        np.ascontiguousarray(chars, dtype=np.uint8).view(f"S{width}").reshape(n).astype(f"U{width}")
    )


def constant_strings(value: str, n: int) -> pa.StringArray:
    """An Arrow string array of n copies of one value."""
    encoded = np.frombuffer(value.encode("utf-8"), dtype=np.uint8)
    return arrow_strings(np.tile(encoded, (n, 1)))


def fill_template(
    template: str, rng: np.random.Generator, n: int, letters: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
) -> np.ndarray:
    """n copies of an ASCII template with '#' a digit, 'N' a digit 2-9 and 'L' one of letters."""
    chars = np.tile(np.frombuffer(template.encode("ascii"), dtype=np.uint8), (n, 1))
    alphabet = np.frombuffer(letters.encode("ascii"), dtype=np.uint8)
    for column, placeholder in enumerate(template):
        if placeholder == "#":
            chars[:, column] = rng.integers(ord("0"), ord("9") + 1, size=n, dtype=np.uint8)
        elif placeholder == "N":
            chars[:, column] = rng.integers(ord("2"), ord("9") + 1, size=n, dtype=np.uint8)
        elif placeholder == "L":
            chars[:, column] = alphabet[rng.integers(0, len(alphabet), size=n)]
    return chars
