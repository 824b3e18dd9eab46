"""The national race's totals per district from the seed's totals per state and candidate.

The ledger keeps the seed's view (`tally_by_state`) until it keeps every contest's totals; this
turns it into the national contest's rows (the nation and each state), so its races are called
by the same rule, and keyed the same way, as every other contest's (election.race_call).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from election.contest_totals import ContestTotals, DistrictTotals, voters_by_district
from election.contests import NATIONAL_CONTEST, Contest, national_contest


class ContestCount(NamedTuple):
    """What race calls are made from: the totals, their contests and the voters per district."""

    results: dict[tuple[str, str], DistrictTotals]  # (contest_id, district_id) -> totals
    contests: tuple[Contest, ...]
    registered: dict[str, int]  # district_id -> registered voters


def national_count(
    per_state: Mapping[tuple[str, str], int],
    registered_by_state: Mapping[str, int],
    names: Mapping[str, str | None],
) -> ContestCount:
    """The national contest in the nation and every state with voters or votes.

    per_state: (address_state, candidate_id) -> votes, each a ballot (a seed ballot votes once);
    registered_by_state: voters per state as the roll names it; names: every candidate on the
    ballot (id -> name), so one without votes still stands at zero.
    """
    contest = national_contest([*names, *(c for _, c in per_state)], names)
    homes = {(state, None): int(n) for state, n in registered_by_state.items()}
    count = ContestTotals([contest], [*homes, *((state, None) for state, _ in per_state)])
    for (state, candidate), votes in sorted(per_state.items()):
        count.add_judged((state, None), {NATIONAL_CONTEST: ((candidate,), 0, 0)}, int(votes))
    return ContestCount(count.results, count.contests, voters_by_district(homes))
