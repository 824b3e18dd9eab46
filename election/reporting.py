"""Election-night reporting for a race: how much of the vote is in, and what the trailer needs.

"Expected vote" is the turnout the model expects of the registered roll (the counted ballots,
once the count is complete or when they already exceed it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from election.result_status import share


@dataclass(frozen=True)
class Reporting:
    counted: int
    registered: int
    expected: int  # ballots expected in all
    leader: str | None
    runner_up: str | None
    margin: int

    @property
    def share_of_roll(self) -> float:
        return share(self.counted, self.registered)

    @property
    def expected_reporting(self) -> float:
        """The share of the expected vote counted: "expected vote reporting"."""
        return share(self.counted, self.expected) if self.expected else 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.expected - self.counted)

    @property
    def runner_up_needs(self) -> float | None:
        """The share of the remaining expected vote the runner-up needs to draw level.

        Taken as if the remaining votes went to these two alone; above 1, out of reach; None
        when nothing remains or there is no race.
        """
        if self.runner_up is None or self.remaining == 0:
            return None
        return (self.remaining + self.margin) / (2 * self.remaining)


def report(
    totals: Mapping[str, int],
    registered: int,
    expected_turnout: float,
    complete: bool = False,
) -> Reporting:
    """The reporting of one race from its totals per candidate and the size of its roll."""
    if not 0.0 <= expected_turnout <= 1.0 or math.isnan(expected_turnout):
        raise ValueError(f"expected turnout is a share between 0 and 1, not {expected_turnout}")
    if registered < 0 or any(v < 0 for v in totals.values()):
        raise ValueError("registered voters and votes cannot be negative")
    counted = sum(totals.values())
    expected = counted if complete else max(counted, round(registered * expected_turnout))
    standing = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    leader = standing[0][0] if standing and standing[0][1] > 0 else None
    runner_up = standing[1][0] if leader and len(standing) > 1 else None
    margin = standing[0][1] - (standing[1][1] if len(standing) > 1 else 0) if leader else 0
    return Reporting(counted, registered, expected, leader, runner_up, margin)
