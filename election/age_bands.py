"""Age bands for turnout reporting: the same bands for the roll's profile and the turnout's."""

from __future__ import annotations

# (label, lowest age, first age of the next band); the last band has no upper bound
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("18-29", 18, 30),
    ("30-44", 30, 45),
    ("45-64", 45, 65),
    ("65+", 65, None),
)


def age_band(age: int) -> str | None:
    """The band an age falls in; None under 18."""
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age < high):
            return label
    return None
