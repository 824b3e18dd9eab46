"""How results are presented: their status as published, and numbers as people read them."""

from __future__ import annotations

from election import contract

PRE_ELECTION = "pre-election"
UNOFFICIAL_PARTIAL = "unofficial-partial"
UNOFFICIAL_COMPLETE = "unofficial-complete"
CERTIFIED = "certified"
RESULT_STATUSES = (PRE_ELECTION, UNOFFICIAL_PARTIAL, UNOFFICIAL_COMPLETE, CERTIFIED)

STATUS_LABELS = {
    PRE_ELECTION: "Pre-election: the polls have not opened",
    UNOFFICIAL_PARTIAL: "Unofficial partial results: counting continues",
    UNOFFICIAL_COMPLETE: "Unofficial complete results: every ballot counted, awaiting certification",
    CERTIFIED: "Certified results",
}


def results_status(election_status: str | None, drained: bool) -> str:
    """The published status of results, from the election's lifecycle status.

    drained: the tally has caught up with every ballot on votes_topic.
    """
    if election_status is None or election_status == contract.REGISTRATION:
        return PRE_ELECTION
    if election_status == contract.OPEN:
        return UNOFFICIAL_PARTIAL
    if election_status == contract.CLOSED:
        return UNOFFICIAL_COMPLETE if drained else UNOFFICIAL_PARTIAL
    if election_status == contract.CERTIFIED:
        return CERTIFIED
    raise ValueError(
        f"unknown election status {election_status!r}; expected one of {contract.LIFECYCLE}"
    )


def status_label(status: str) -> str:
    """The sentence a reader sees for a results status."""
    if status not in STATUS_LABELS:
        raise ValueError(f"unknown results status {status!r}; expected one of {RESULT_STATUSES}")
    return STATUS_LABELS[status]


def human_count(n: int, short: bool = False) -> str:
    """A count as people read it: "1,234,567", or with short=True "1.2M" (K, M, B)."""
    if not short or abs(n) < 1000:
        return f"{n:,}"
    for divisor, suffix in ((10**3, "K"), (10**6, "M"), (10**9, "B")):
        scaled = round(n / divisor, 1)
        # Rounding may carry into the next unit: 999,999 reads "1.0M", not "1000.0K".
        if abs(scaled) < 1000 or suffix == "B":
            return f"{scaled:.1f}{suffix}"
    raise AssertionError("unreachable")


def share(part: float, whole: float) -> float:
    """part as a fraction of whole, 0.0 when whole is nothing (no votes yet)."""
    return part / whole if whole else 0.0


def percent(part: float, whole: float, digits: int = 1) -> str:
    """part as a percentage of whole, e.g. "52.3%"."""
    return f"{100 * share(part, whole):.{digits}f}%"
