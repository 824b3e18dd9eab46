"""The rejections the page counts: each message of rejected_votes once, in one bit per offset.

The tally may publish a rejection again (a batch re-published after a crash) under the same
key, its place on votes_topic (`<partition>:<offset>`). Remembering every key read would grow
with each junk message an attacker sends; one bit per offset of the ballot log does not.
"""

from __future__ import annotations

from collections import Counter

# votes_topic's door is 64 KiB a message: no ballot log of ours reaches 2^40 offsets
MAX_OFFSET = 1 << 40


def rejection_place(key: str) -> tuple[int, int] | None:
    """(partition, offset) of a rejected_votes key; None when it is not one."""
    partition, colon, offset = key.partition(":")
    digits = partition + offset
    if not colon or not digits.isascii() or not partition.isdigit() or not offset.isdigit():
        return None
    if len(partition) > 9 or len(offset) > 13:  # int() of any text is never asked of it
        return None
    place = int(partition), int(offset)
    return place if place[1] < MAX_OFFSET else None


class RejectionTally:
    """Rejections by reason, each ballot-log place counted once however often it is read."""

    def __init__(self):
        self.by_reason: Counter[str] = Counter()
        self._seen: dict[int, bytearray] = {}  # partition -> one bit per offset
        self.unplaced = 0  # keys that name no place: counted each time, remembered never

    def add(self, key: str, reason: str) -> bool:
        """Count a rejection read under key; False when its place was counted already."""
        place = rejection_place(key)
        if place is None:
            self.unplaced += 1
        elif not self._mark(*place):
            return False
        self.by_reason[reason] += 1
        return True

    def _mark(self, partition: int, offset: int) -> bool:
        bits = self._seen.setdefault(partition, bytearray())
        byte, bit = divmod(offset, 8)
        if byte >= len(bits):
            bits.extend(bytes(max(byte + 1 - len(bits), len(bits))))  # doubling: amortized
        if bits[byte] >> bit & 1:
            return False
        bits[byte] |= 1 << bit
        return True

    def memory_bytes(self) -> int:
        """What the remembered places take: at most a bit per offset (twice, while growing)."""
        return sum(len(bits) for bits in self._seen.values())
