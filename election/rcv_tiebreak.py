"""RCTab's tie-breaks, drawn as RCTab draws them so a seeded tabulation gives RCTab's rounds.

RCTab (BrightSpots/rcv, Tiebreak.java) sorts the tied candidates by name, then:
- `useCandidateOrder`: the winner is the one earliest in the configured candidate order, the
  loser the one latest;
- `random`: index floor(nextDouble() * n) of Java's `java.util.Random(seed)`, one generator for
  the whole tabulation;
- `previousRoundCountsThenRandom`: walk back from the round before, keeping the candidates with
  the most (winner) or fewest (loser) votes, until one is left; else `random` among those left.
  Java keeps those left in a HashSet's iteration order, which the draw depends on, so that order
  is reproduced here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

USE_CANDIDATE_ORDER = "useCandidateOrder"
RANDOM = "random"
PREVIOUS_ROUND_COUNTS_THEN_RANDOM = "previousRoundCountsThenRandom"
TIEBREAK_MODES = (USE_CANDIDATE_ORDER, RANDOM, PREVIOUS_ROUND_COUNTS_THEN_RANDOM)

_MULTIPLIER, _ADDEND, _MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1


class JavaRandom:
    """java.util.Random's linear congruential generator: the draws RCTab's seed gives."""

    def __init__(self, seed: int):
        self._seed = (seed ^ _MULTIPLIER) & _MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * _MULTIPLIER + _ADDEND) & _MASK
        return self._seed >> (48 - bits)

    def next_double(self) -> float:
        return ((self._next(26) << 27) + self._next(27)) * 2.0**-53


def java_string_hash(text: str) -> int:
    """String.hashCode over UTF-16 code units, as a signed 32-bit int."""
    units = text.encode("utf-16-be")
    value = 0
    for i in range(0, len(units), 2):
        value = (31 * value + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def java_hash_set_order(names: Sequence[str]) -> list[str]:
    """The iteration order of `new HashSet<>(names)` (names distinct and few: no tree bins)."""
    capacity = 1
    while capacity < max(int(len(names) / 0.75) + 1, 16):
        capacity *= 2
    buckets: dict[int, list[str]] = {}
    for name in names:
        h = java_string_hash(name) & 0xFFFFFFFF
        buckets.setdefault((h ^ (h >> 16)) & (capacity - 1), []).append(name)
    return [name for index in sorted(buckets) for name in buckets[index]]


class Tiebreaker:
    """Picks the winner or loser among tied candidates, by the rules' mode (see the module)."""

    def __init__(self, mode: str, candidate_order: Sequence[str], seed: int | None):
        if mode not in TIEBREAK_MODES:
            raise ValueError(f"tiebreakMode {mode!r} is not one of {', '.join(TIEBREAK_MODES)}")
        if mode != USE_CANDIDATE_ORDER and seed is None:
            raise ValueError(f"tiebreakMode {mode!r} needs a randomSeed")
        self.mode = mode
        self.order = list(candidate_order)
        self.random = JavaRandom(seed) if seed is not None else None

    def pick(
        self, tied: Sequence[str], winner: bool, earlier_tallies: Sequence[Mapping[str, int]]
    ) -> str:
        """The chosen one of `tied`; earlier_tallies are the rounds before, oldest first."""
        tied = sorted(tied)
        if self.mode == USE_CANDIDATE_ORDER:
            ranked = self.order if winner else self.order[::-1]
            return next(name for name in ranked if name in tied)
        if self.mode == PREVIOUS_ROUND_COUNTS_THEN_RANDOM:
            for tally in reversed(earlier_tallies):
                in_order = java_hash_set_order(tied)
                best = (max if winner else min)(tally[name] for name in in_order)
                tied = [name for name in in_order if tally[name] == best]
                if len(tied) == 1:
                    return tied[0]
        return tied[int(self.random.next_double() * len(tied))]
